// `worker`: takes task runs from the BullMQ queues in Redis and runs them until interrupted;
// the first Ctrl-C lets the running task runs finish, a second one stops at once.
import type { Command } from "commander";
import { InputError } from "../../common/errors.ts";
import { Progress } from "../../common/progress.ts";
import { maskPassword } from "../../tracking/uri.ts";
import { createContext } from "../context.ts";
import { loadFlowCatalog } from "../flow-catalog.ts";
import { positiveInteger } from "../options.ts";
import { printLine } from "../output.ts";

function queueList(value: string): string[] {
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  const bad = names.find((name) => !/^[A-Za-z0-9_.-]+$/.test(name));
  if (names.length === 0 || bad !== undefined)
    throw new InputError(
      `--queues ${value}: expected queue names separated by commas (letters, digits, '_', '.', '-')`,
    );
  return names;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command("worker")
    .description(
      "run task runs from the BullMQ queues in Redis (orchestration.redis.url) until interrupted",
    )
    .option(
      "--queues <names>",
      "queues to take task runs from, separated by commas (default orchestration.queue)",
      queueList,
    )
    .option(
      "--concurrency <n>",
      "task runs at once, per queue (default orchestration.worker.concurrency)",
      positiveInteger,
    )
    .option("--name <name>", "name recorded on the task runs it runs (default host:pid)")
    .action(
      async (
        flags: { queues?: string[]; concurrency?: number; name?: string },
        command: Command,
      ) => {
        const context = createContext(command);
        const uri = context.config.tracking.uri as string;
        if (/^https?:/i.test(uri))
          throw new InputError(
            `workers record task runs in the tracking database; tracking.uri ${uri} is a server (use sqlite:///… or postgres://…)`,
          );
        await loadFlowCatalog();
        const { queueSettings } = await import("../../orchestration/queue.ts");
        const { TaskWorker } = await import("../../orchestration/queue-worker.ts");
        const settings = queueSettings(context.config);
        const queues = flags.queues ?? [settings.defaultQueue];
        const concurrency = flags.concurrency ?? context.config.orchestration.worker.concurrency;
        const store = context.openStore();
        const progress = new Progress({
          label: "worker",
          unit: "task runs",
          quiet: context.quiet,
        });
        const worker = await TaskWorker.start({
          settings,
          databaseUri: uri,
          store,
          queues,
          concurrency,
          log: context.log,
          ...(flags.name ? { name: flags.name } : {}),
          onTaskEnd: () => progress.tick(),
        }).catch(async (error) => {
          await store.close();
          throw error;
        });
        printLine(
          `worker ${worker.name}: queues ${queues.join(", ")} (concurrency ${concurrency}) on ${maskPassword(settings.redisUrl)}, prefix ${settings.prefix}`,
        );
        printLine("Ctrl-C stops it once the running task runs end; twice stops it at once");
        await new Promise<void>((resolve) => {
          let stops = 0;
          const stop = () => {
            stops++;
            if (stops === 1) {
              printLine(`stopping: waiting for ${worker.counts.running} running task runs`);
              worker.close(false).then(resolve, resolve);
            } else {
              printLine("stopping now");
              worker.close(true).then(resolve, resolve);
            }
          };
          process.on("SIGINT", stop);
          process.on("SIGTERM", stop);
        });
        progress.finish();
        await store.close();
        printLine(
          `worker ${worker.name} stopped: ${worker.counts.completed} task runs completed, ${worker.counts.failed} failed`,
        );
      },
    );
}
