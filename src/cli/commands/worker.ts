// `worker`: takes task runs from the BullMQ queues in Redis and runs them until interrupted,
// writing its status (slots, busy slots) into Redis for `serve`'s metrics and `doctor`, and with
// --health-port serving /healthz, /readyz and its own /metrics. The first SIGTERM or Ctrl-C
// turns /healthz 503, gives the running task runs most of the shutdown timeout to end, then
// hands the others back to their queues for another worker; a second one stops at once.
import type { Command } from "commander";
import { doneBy } from "../../common/deadline.ts";
import { InputError, OperationError } from "../../common/errors.ts";
import { Progress } from "../../common/progress.ts";
import type { TaskWorker as TaskWorkerType } from "../../orchestration/queue-worker.ts";
import { maskPassword } from "../../tracking/uri.ts";
import { type HealthFlags, startHealthListener, withHealthOptions } from "../health.ts";
import { positiveInteger } from "../options.ts";
import { recordingContext } from "../orchestrator.ts";
import { printLine } from "../output.ts";
import { DEFAULT_SHUTDOWN_SECONDS, SHUTDOWN_OPTION, watchStopSignals } from "../shutdown.ts";

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
  const workerCommand = program
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
    .option(...SHUTDOWN_OPTION);
  withHealthOptions(workerCommand).action(
    async (
      flags: {
        queues?: string[];
        concurrency?: number;
        name?: string;
        shutdownTimeout?: number;
      } & HealthFlags,
      command: Command,
    ) => {
      const { context, databaseUri: uri } = await recordingContext(
        command,
        "workers record task runs",
      );
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
      const { HealthState, objectStoreCheck, redisCheck } = await import(
        "../../operations/health.ts"
      );
      const { WorkerMetrics } = await import("../../operations/worker-metrics.ts");
      const { WorkerStatusPublisher } = await import("../../operations/workers.ts");
      const slots = concurrency * queues.length;
      let worker: TaskWorkerType | undefined;
      const metrics = new WorkerMetrics(() => ({ busy: worker?.counts.running ?? 0, slots }));
      const health = new HealthState();
      const listener = await startHealthListener(flags, {
        what: "worker",
        config: context.config,
        state: health,
        checks: [
          objectStoreCheck(store),
          {
            name: "tracking database",
            probe: () =>
              worker ? worker.pingDatabase() : Promise.reject(new Error("the worker is starting")),
          },
          redisCheck(settings.redisUrl),
        ],
        registry: metrics.registry,
        log: context.log,
      }).catch(async (error) => {
        await store.close();
        throw error;
      });
      worker = await TaskWorker.start({
        settings,
        databaseUri: uri,
        store,
        queues,
        concurrency,
        log: context.log,
        ...(flags.name ? { name: flags.name } : {}),
        onTaskEnd: (end) => {
          progress.tick();
          metrics.taskRunEnded(end);
        },
      }).catch(async (error) => {
        await listener?.close();
        await store.close();
        throw error;
      });
      const started = worker;
      const status = WorkerStatusPublisher.start(
        settings,
        () => ({
          name: started.name,
          queues: [...queues],
          slots,
          busy: started.counts.running,
          completed: started.counts.completed,
          failed: started.counts.failed,
        }),
        context.log,
      );
      const seconds = flags.shutdownTimeout ?? DEFAULT_SHUTDOWN_SECONDS;
      const lockSeconds = context.config.orchestration.worker.lockSeconds;
      const stop = watchStopSignals(`worker ${worker.name}`, seconds, () =>
        started.unfinished > 0
          ? `${started.unfinished} running task runs left for another worker once their locks expire (${lockSeconds} s)`
          : undefined,
      );
      printLine(
        `worker ${worker.name}: queues ${queues.join(", ")} (concurrency ${concurrency}) on ${maskPassword(settings.redisUrl)}, prefix ${settings.prefix}`,
      );
      printLine(
        `SIGTERM or Ctrl-C: running task runs get up to ${seconds} s to end, then go back to their queues; twice stops it at once`,
      );
      await stop.requested;
      health.beginStopping();
      const ms = seconds * 1000;
      const deadline = stop.deadline - Math.min(1_000, ms / 5);
      const drainUntil = deadline - Math.min(2_000, ms / 3);
      await status.stop(Math.min(drainUntil, Date.now() + 500));
      printLine(
        `stopping: ${worker.unfinished} running task runs get ${Math.max(0, Math.round((drainUntil - Date.now()) / 100) / 10)} s to end`,
      );
      const report = await worker.shutdown({ drainUntil, deadline });
      progress.finish();
      await doneBy(listener?.close() ?? Promise.resolve(), stop.deadline);
      if (!(await doneBy(store.close(), stop.deadline))) report.unanswered.push("the object store");
      stop.finished();
      const handedBack =
        report.handedBack > 0
          ? `, handed ${report.handedBack} running task run${report.handedBack === 1 ? "" : "s"} back to the queue`
          : "";
      printLine(
        `worker ${worker.name} stopped: ${worker.counts.completed} task runs completed, ${worker.counts.failed} failed${handedBack}`,
      );
      const unanswered = report.unanswered.join(" and ");
      if (report.abandoned > 0)
        throw new OperationError(
          `worker ${worker.name}: ${report.abandoned} running task run${report.abandoned === 1 ? "" : "s"} could not be handed back (${unanswered ? `${unanswered} did not answer` : "no time left"}); another worker takes ${report.abandoned === 1 ? "it" : "them"} over once ${report.abandoned === 1 ? "its lock expires" : "their locks expire"} (${lockSeconds} s)`,
        );
      if (report.unanswered.includes("the tracking database"))
        throw new OperationError(
          `worker ${worker.name}: ${unanswered} did not answer while stopping: run states or log lines may be unrecorded`,
        );
      if (unanswered)
        context.log.warn(`${unanswered} did not answer while stopping; connections dropped`);
    },
  );
}
