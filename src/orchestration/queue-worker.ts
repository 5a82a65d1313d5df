// A queue worker: takes task runs from BullMQ queues and runs them through the same
// `executeTaskRun` as the in-process executor, recording states and logs in the tracking
// database. The tasks it can run are the ones defined by the modules its process imported.
// A worker that dies mid-task stops renewing the job's lock; BullMQ then hands the job to
// another worker, which continues the task run's attempt count. A worker asked to stop
// (`shutdown`) gives its running task runs a grace period, then hands the others back to
// their queues at once, so that another worker takes them over the same way.
import { type Job, UnrecoverableError, WaitingError, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { doneBy } from "../common/deadline.ts";
import { errorMessage, OperationError } from "../common/errors.ts";
import { type Logger, silentLogger } from "../common/logger.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { currentScope, type FlowRunScope, findTask, type TaskFuture } from "./api.ts";
import { RunLogBuffer } from "./log-buffer.ts";
import {
  type CancelMessage,
  cancelChannel,
  checkRedis,
  connectRedis,
  type QueueSettings,
  type TaskJobData,
} from "./queue.ts";
import { ResultStore } from "./results.ts";
import { HOST, RunStore } from "./run-store.ts";
import { captureConsole } from "./runtime.ts";
import { isFinal } from "./states.ts";
import { executeTaskRun, recordedOutcome, type TaskRunDeps } from "./task-run.ts";

export interface TaskWorkerOptions {
  settings: QueueSettings;
  databaseUri: string;
  store: ObjectStore;
  queues: readonly string[];
  /** Task runs at once, per queue. */
  concurrency: number;
  /** Recorded on each task run it runs (default host:pid). */
  name?: string;
  log?: Logger;
  onTaskEnd?: (outcome: {
    taskName: string;
    taskRunId: string;
    queue: string;
    ok: boolean;
    seconds: number;
  }) => void;
}

export interface WorkerCounts {
  running: number;
  completed: number;
  failed: number;
}

/** How a `shutdown` went. */
export interface ShutdownReport {
  /** Task runs sent back to their queues for another worker. */
  handedBack: number;
  /**
   * Task runs it could not hand back in time (Redis did not answer): another worker takes
   * each over once its lock expires, as from a worker that died.
   */
  abandoned: number;
  /**
   * What did not answer while stopping: Redis, and "the tracking database" when states or
   * log lines may have gone unrecorded.
   */
  unanswered: string[];
}

export class TaskWorker {
  readonly name: string;
  readonly counts: WorkerCounts = { running: 0, completed: 0, failed: 0 };
  private readonly workers: Worker[] = [];
  private readonly active = new Map<string, string>();
  /** Jobs being processed, by job id: each function hands its job back. */
  private readonly handBacks = new Map<string, () => HandBack>();
  private readonly logs: RunLogBuffer;
  private readonly deps: TaskRunDeps;
  private readonly log: Logger;

  private constructor(
    private readonly options: TaskWorkerOptions,
    private readonly runs: RunStore,
    private readonly connection: Redis,
    private readonly subscriber: Redis,
  ) {
    this.name = options.name ?? `${HOST}:${process.pid}`;
    this.log = options.log ?? silentLogger;
    this.logs = new RunLogBuffer(runs, this.log);
    this.deps = {
      runs,
      results: new ResultStore(options.store),
      worker: this.name,
      keepResults: true,
      log: (taskRunId, flowRunId, message, level) =>
        this.logs.record({ flowRunId, taskRunId, at: Date.now(), level, message }),
    };
  }

  static async start(options: TaskWorkerOptions): Promise<TaskWorker> {
    const { settings } = options;
    await checkRedis(settings);
    const runs = await RunStore.open(options.databaseUri);
    const log = options.log ?? silentLogger;
    let warned = false;
    const connection = connectRedis(settings, "worker", (error) => {
      if (!warned) log.warn({ err: errorMessage(error) }, "Redis unavailable; retrying");
      warned = true;
    });
    connection.on("ready", () => {
      warned = false;
    });
    const subscriber = connectRedis(settings, "worker-cancel");
    const worker = new TaskWorker(options, runs, connection, subscriber);
    captureConsole();
    await subscriber.subscribe(cancelChannel(settings));
    subscriber.on("message", (_channel: string, text: string) => worker.onCancel(text));
    for (const queueName of options.queues) worker.listen(queueName);
    await Promise.all(worker.workers.map((w) => w.waitUntilReady()));
    return worker;
  }

  private listen(queueName: string): void {
    const { settings } = this.options;
    const worker = new Worker(
      queueName,
      (job: Job<TaskJobData>, token: string | undefined, signal: AbortSignal | undefined) =>
        this.processOrHandBack(job, token, signal ?? new AbortController().signal),
      {
        connection: this.connection,
        prefix: settings.prefix,
        concurrency: this.options.concurrency,
        lockDuration: settings.lockMs,
        stalledInterval: settings.lockMs,
        maxStalledCount: 5,
        name: this.name,
      },
    );
    worker.on("error", (error) => this.log.debug({ err: errorMessage(error) }, "worker error"));
    this.workers.push(worker);
  }

  /**
   * Processes a job unless the worker hands it back first: then the task run is recorded
   * pending and the job goes back to waiting, and the attempt left running here is dropped
   * (the worker closes its database connection and its process exits right after).
   */
  private async processOrHandBack(
    job: Job<TaskJobData>,
    token: string | undefined,
    signal: AbortSignal,
  ): Promise<unknown> {
    const id = job.id ?? job.data.taskRunId;
    let handBack!: () => void;
    const handed = new Promise<typeof HANDED_BACK>((resolve) => {
      handBack = () => resolve(HANDED_BACK);
    });
    let handedBack: HandBack | undefined;
    this.handBacks.set(id, () => {
      if (!handedBack) {
        handBack();
        const recorded = this.runs.setTaskState(job.data.taskRunId, {
          state: "pending",
          message: `handed back to queue ${job.queueName}: worker ${this.name} is stopping`,
        });
        handedBack = { recorded, moved: job.moveToWait(token) };
      }
      return handedBack;
    });
    const processing = this.process(job, signal);
    try {
      const outcome = await Promise.race([processing, handed]);
      if (outcome !== HANDED_BACK) return outcome;
    } finally {
      if (!handedBack) this.handBacks.delete(id);
    }
    processing.catch(() => {});
    await Promise.allSettled([handedBack?.recorded, handedBack?.moved]);
    this.handBacks.delete(id);
    throw new WaitingError();
  }

  private async process(job: Job<TaskJobData>, signal: AbortSignal): Promise<unknown> {
    const data = job.data;
    const definition = findTask(data.taskName);
    if (!definition) {
      const error = new UnrecoverableError(
        `worker ${this.name} does not know the task ${JSON.stringify(data.taskName)} (is it running the same version of the code?)`,
      );
      await this.runs.setTaskState(data.taskRunId, { state: "failed", error });
      throw error;
    }
    const [flowRun, taskRun] = await Promise.all([
      this.runs.findFlowRun(data.flowRunId),
      this.runs.getTaskRun(data.taskRunId),
    ]);
    if (taskRun && isFinal(taskRun.state)) {
      // A job queued again after its run ended (Redis lost it after the run was recorded):
      // the record's outcome is the job's, and the task is not run again.
      this.log.warn(
        { taskRunId: data.taskRunId, state: taskRun.state },
        "skipping a job whose task run already ended",
      );
      try {
        const value = await recordedOutcome(this.deps, data.taskRunId, taskRun.state);
        return value === undefined ? null : value;
      } catch (error) {
        throw new UnrecoverableError(errorMessage(error));
      }
    }
    if (flowRun && isFinal(flowRun.state)) {
      const message = `its flow run ended ${flowRun.state} before it started`;
      if (taskRun && !isFinal(taskRun.state))
        await this.runs.setTaskState(data.taskRunId, { state: "cancelled", message });
      throw new UnrecoverableError(message);
    }
    const attemptsBefore = taskRun?.attempt ?? 0;
    if (attemptsBefore > 0 && taskRun && !isFinal(taskRun.state))
      this.log.warn(
        { taskRunId: data.taskRunId, lostWorker: taskRun.worker },
        "taking over a task run whose worker was lost",
      );
    this.active.set(data.taskRunId, data.flowRunId);
    this.counts.running++;
    const startedAt = performance.now();
    let ok = false;
    try {
      const value = await currentScope.run(
        { scope: new WorkerScope(data.flowRunId, this.logs), taskRunId: data.taskRunId },
        () => executeTaskRun(this.deps, definition, { ...data, attemptsBefore }, signal),
      );
      ok = true;
      return value === undefined ? null : value;
    } catch (error) {
      throw new UnrecoverableError(errorMessage(error));
    } finally {
      this.active.delete(data.taskRunId);
      this.counts.running--;
      if (ok) this.counts.completed++;
      else this.counts.failed++;
      this.options.onTaskEnd?.({
        taskName: data.taskName,
        taskRunId: data.taskRunId,
        queue: job.queueName,
        ok,
        seconds: (performance.now() - startedAt) / 1000,
      });
    }
  }

  private onCancel(text: string): void {
    let note: CancelMessage;
    try {
      note = JSON.parse(text) as CancelMessage;
    } catch {
      return;
    }
    for (const [taskRunId, flowRunId] of this.active)
      if (flowRunId === note.flowRunId)
        for (const worker of this.workers) worker.cancelJob(taskRunId, note.reason);
  }

  /**
   * Stops taking jobs and lets the running ones end until `drainUntil`; hands the others back
   * to their queues; then closes its connections, dropping them at `deadline` (ms since the
   * epoch) or at once when Redis is away, so that it returns by `deadline` whatever Redis and
   * the database are doing.
   */
  async shutdown(options: { drainUntil: number; deadline: number }): Promise<ShutdownReport> {
    const { deadline } = options;
    const drainUntil = Math.min(options.drainUntil, deadline);
    const report: ShutdownReport = { handedBack: 0, abandoned: 0, unanswered: [] };
    const closing = Promise.all(this.workers.map((w) => w.close(false)));
    closing.catch(() => {});
    while (this.handBacks.size > 0 && Date.now() < drainUntil)
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, drainUntil - Date.now())));
    const redisUp = () => this.connection.status === "ready";
    const handBackBy = redisUp() ? deadline : Math.min(deadline, Date.now() + 1_000);
    const handingBack = [...this.handBacks.values()].map(async (handBack) => {
      const { recorded, moved } = handBack();
      const [wasRecorded, wasMoved] = await Promise.all([
        doneBy(recorded, deadline),
        doneBy(moved, handBackBy),
      ]);
      if (wasMoved) report.handedBack++;
      else report.abandoned++;
      return wasRecorded;
    });
    if ((await Promise.all(handingBack)).includes(false))
      report.unanswered.push("the tracking database");
    if (!(await doneBy(closing, redisUp() ? deadline : Math.min(deadline, Date.now() + 500))))
      report.unanswered.push("Redis");
    this.subscriber.disconnect();
    this.connection.disconnect();
    const flushed = await doneBy(this.logs.flush(), deadline);
    const closed = flushed && (await doneBy(this.runs.close(), deadline));
    if (!closed && !report.unanswered.includes("the tracking database"))
      report.unanswered.push("the tracking database");
    return report;
  }

  /** Answers when its tracking database does (for readiness). */
  pingDatabase(): Promise<void> {
    return this.runs.ping();
  }

  /** Task runs being processed or being handed back. */
  get unfinished(): number {
    return this.handBacks.size;
  }

  /** Stops taking jobs; waits for the running ones unless `force`. */
  async close(force = false): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close(force).catch(() => {})));
    await this.logs.flush();
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
    this.connection.disconnect();
    await this.runs.close();
  }
}

const HANDED_BACK = Symbol("handed back");

/** Handing a job back: the task run recorded pending, the job moved back to waiting. */
interface HandBack {
  recorded: Promise<unknown>;
  moved: Promise<unknown>;
}

/** What a task running on a worker sees of its flow run: its log, and no nested runs. */
class WorkerScope implements FlowRunScope {
  readonly captureConsole = true;
  constructor(
    readonly flowRunId: string,
    private readonly logs: RunLogBuffer,
  ) {}
  runTask(): TaskFuture<never> {
    throw new OperationError("tasks and subflows are called from flows, not from inside a task");
  }
  runSubflow(): Promise<never> {
    throw new OperationError("tasks and subflows are called from flows, not from inside a task");
  }
  log(message: string, level: string, taskRunId?: string): void {
    this.logs.record({ flowRunId: this.flowRunId, taskRunId, at: Date.now(), level, message });
  }
}
