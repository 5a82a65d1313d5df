// `scheduler`: starts the deployments' due runs until interrupted, or once with --once; with
// --health-port it serves /healthz, /readyz and its /metrics (runs started, flow-run
// durations). The first SIGTERM or Ctrl-C turns /healthz 503, stops it starting runs and gives
// the ones it started most of the shutdown timeout to end; the rest are left to the crash check.
import type { Command } from "commander";
import { doneBy } from "../../common/deadline.ts";
import { InputError, OperationError } from "../../common/errors.ts";
import type { TickResult } from "../../orchestration/scheduler.ts";
import { type HealthFlags, startHealthListener, withHealthOptions } from "../health.ts";
import { openOrchestrator, withOrchestrator } from "../orchestrator.ts";
import { printLine } from "../output.ts";
import { DEFAULT_SHUTDOWN_SECONDS, SHUTDOWN_OPTION, watchStopSignals } from "../shutdown.ts";

type SchedulerFlags = { once?: boolean; shutdownTimeout?: number } & HealthFlags;

export function registerSchedulerCommand(program: Command): void {
  const scheduler = program
    .command("scheduler")
    .description("start due deployment runs until interrupted (missed ticks make one run)")
    .option("--once", "check once, wait for the runs started, and exit")
    .option(...SHUTDOWN_OPTION);
  withHealthOptions(scheduler).action(async (flags: SchedulerFlags, command: Command) => {
    if (flags.once) {
      if (flags.healthPort !== undefined || flags.healthHost !== undefined)
        throw new InputError(
          "--health-port and --health-host: not with --once (nothing stays up to answer)",
        );
      await withOrchestrator(command, async (orchestrator, context) => {
        const { schedulerTick } = await import("../../orchestration/scheduler.ts");
        for (const started of await schedulerTick(orchestrator, context.log))
          printLine(tickLine(started));
      });
      return;
    }
    await runScheduler(command, flags.shutdownTimeout ?? DEFAULT_SHUTDOWN_SECONDS, flags);
  });
}

function tickLine(started: TickResult): string {
  return `${started.deployment} ${new Date(started.tick).toISOString()}: ${started.flowRunId ? `flow run ${started.flowRunId}` : `skipped (${started.skipped})`}`;
}

/**
 * The scheduler until SIGTERM or Ctrl-C: then it starts nothing more, gives the flow runs it
 * started most of the shutdown timeout to end, and leaves the others to the crash check (their
 * process is gone); a check stuck on an unanswering database does not hold it.
 */
async function runScheduler(command: Command, seconds: number, flags: HealthFlags): Promise<void> {
  const { SchedulerMetrics } = await import("../../operations/scheduler-metrics.ts");
  const { HealthState, databaseCheck, objectStoreCheck, redisCheck } = await import(
    "../../operations/health.ts"
  );
  let active = () => 0;
  const metrics = new SchedulerMetrics(() => active());
  const { orchestrator, context, store } = await openOrchestrator(command, {
    onFlowRunEnd: (end) => metrics.flowRunEnded(end),
  });
  active = () => orchestrator.activeFlowRuns;
  const health = new HealthState();
  const { config } = context;
  const listener = await startHealthListener(flags, {
    what: "scheduler",
    config,
    state: health,
    checks: [
      objectStoreCheck(store),
      databaseCheck(orchestrator.runs),
      ...(config.orchestration.executor === "bullmq"
        ? [redisCheck(config.orchestration.redis.url)]
        : []),
    ],
    registry: metrics.registry,
    log: context.log,
  }).catch(async (error) => {
    await orchestrator.close();
    await store.close();
    throw error;
  });
  const { schedulerTick } = await import("../../orchestration/scheduler.ts");
  const stop = watchStopSignals("scheduler", seconds, () =>
    orchestrator.activeFlowRuns > 0
      ? `${orchestrator.activeFlowRuns} running flow runs left to be marked crashed`
      : undefined,
  );
  const intervalSeconds = context.config.orchestration.schedulerIntervalSeconds;
  printLine(
    `scheduler: checking deployments every ${intervalSeconds} s; SIGTERM or Ctrl-C: running flow runs get up to ${seconds} s to end; twice stops it at once`,
  );
  let stopping = false;
  const stopped = stop.requested.then(() => {
    stopping = true;
  });
  let failure: unknown;
  try {
    while (!stopping) {
      const tick = schedulerTick(orchestrator, context.log);
      tick.catch(() => {});
      await Promise.race([tick, stopped]);
      if (stopping) break;
      for (const started of await tick) {
        printLine(tickLine(started));
        if (started.flowRunId) metrics.runStarted(started.deployment);
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        stopped,
        new Promise((resolve) => {
          timer = setTimeout(resolve, intervalSeconds * 1000);
        }),
      ]);
      clearTimeout(timer);
    }
  } catch (error) {
    failure = error;
  }
  health.beginStopping();
  const deadline =
    (stopping ? stop.deadline : Date.now() + seconds * 1000) - Math.min(1_000, seconds * 200);
  const drainUntil =
    failure === undefined ? deadline - Math.min(2_000, (seconds * 1000) / 3) : Date.now();
  if (orchestrator.activeFlowRuns > 0)
    printLine(
      `stopping: ${orchestrator.activeFlowRuns} running flow runs get ${Math.max(0, Math.round((drainUntil - Date.now()) / 100) / 10)} s to end`,
    );
  const report = await orchestrator.shutdown(drainUntil, deadline);
  await doneBy(listener?.close() ?? Promise.resolve(), deadline);
  if (!(await doneBy(store.close(), deadline))) report.unanswered.push("the object store");
  stop.finished();
  if (failure !== undefined) throw failure;
  const unanswered = report.unanswered.join(" and ");
  if (report.unfinished > 0)
    throw new OperationError(
      `scheduler: ${report.unfinished} flow run${report.unfinished === 1 ? " was" : "s were"} still running when it stopped${unanswered ? ` (${unanswered} did not answer)` : ""}; ${report.unfinished === 1 ? "it is" : "they are"} marked crashed by the next command or scheduler`,
    );
  if (report.unanswered.includes("the tracking database"))
    throw new OperationError(
      `scheduler: ${unanswered} did not answer while stopping: run states or log lines may be unrecorded`,
    );
  if (unanswered)
    context.log.warn(`${unanswered} did not answer while stopping; connections dropped`);
  printLine("scheduler stopped");
}
