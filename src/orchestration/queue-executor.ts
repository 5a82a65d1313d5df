// The BullMQ executor, on the flow's side: each task run becomes a job (its id is the task
// run's id) on the task's queue, and the flow waits for the job's completed or failed event.
// A sweep re-reads jobs whose events may have been missed, and queues again the jobs Redis
// lost (a restart without persistence), so that a flow never waits for ever on a job that
// no longer exists; a lost job whose task run the record says ended is finished from the
// record (workers keep every result in the result store), never queued again. Cancelling a
// flow run removes its waiting jobs and tells the workers running the others to abort them.
import { Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { errorMessage } from "../common/errors.ts";
import { type Logger, silentLogger } from "../common/logger.ts";
import type { AnyTask } from "./api.ts";
import {
  type CancelMessage,
  cancelChannel,
  checkRedis,
  connectRedis,
  type QueueSettings,
  type TaskJobData,
} from "./queue.ts";
import type { TaskExecutor } from "./runtime.ts";
import { CancelledError, isFinal } from "./states.ts";
import { recordedOutcome, type TaskRunDeps, type TaskRunRequest } from "./task-run.ts";

interface Waiter {
  data: TaskJobData;
  queueName: string;
  queuedAt: number;
  requeued: number;
  settled: boolean;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface QueueHandle {
  queue: Queue;
  events: QueueEvents;
  /** QueueEvents blocks on its reads, so it has a connection of its own. */
  eventsConnection: Redis;
}

/** Jobs lost by the queue this many times fail instead of being queued again. */
const MAX_REQUEUES = 3;
/** Each sweep re-reads at most this many of the oldest waiting jobs. */
const SWEEP_BATCH = 500;

export interface QueueExecutorOptions {
  settings: QueueSettings;
  log?: Logger;
  /** How often jobs without news are re-read (default 5 s). */
  sweepMs?: number;
}

export class QueueExecutor implements TaskExecutor {
  readonly kind = "bullmq";
  private readonly queues = new Map<string, Promise<QueueHandle>>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly cancelledFlowRuns = new Set<string>();
  private readonly log: Logger;
  private readonly sweepMs: number;
  private readonly sweepTimer: NodeJS.Timeout;
  private sweeping: Promise<void> | undefined;
  private disconnected = false;
  private closed = false;

  private constructor(
    private readonly settings: QueueSettings,
    private readonly deps: TaskRunDeps,
    private readonly connection: Redis,
    options: QueueExecutorOptions,
  ) {
    this.log = options.log ?? silentLogger;
    this.sweepMs = options.sweepMs ?? 5_000;
    this.sweepTimer = setInterval(() => void this.sweep(false), this.sweepMs);
    this.sweepTimer.unref();
    connection.on("close", () => {
      this.disconnected = true;
    });
    connection.on("ready", () => {
      if (!this.disconnected) return;
      this.disconnected = false;
      this.log.warn("Redis is back: checking every queued task run");
      void this.sweep(true);
    });
  }

  static async open(options: QueueExecutorOptions, deps: TaskRunDeps): Promise<QueueExecutor> {
    await checkRedis(options.settings);
    let warned = false;
    const connection = connectRedis(options.settings, "flow", (error) => {
      if (warned) return;
      warned = true;
      options.log?.warn({ err: errorMessage(error) }, "Redis unavailable; retrying");
    });
    connection.on("ready", () => {
      warned = false;
    });
    return new QueueExecutor(options.settings, deps, connection, options);
  }

  execute(definition: AnyTask, request: TaskRunRequest, signal: AbortSignal): Promise<unknown> {
    const queueName = definition.options.queue ?? this.settings.defaultQueue;
    const data: TaskJobData = {
      taskRunId: request.taskRunId,
      flowRunId: request.flowRunId,
      taskName: request.taskName,
      input: request.input,
      cacheKey: request.cacheKey,
    };
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        data,
        queueName,
        queuedAt: Date.now(),
        requeued: 0,
        settled: false,
        resolve,
        reject,
      };
      this.waiters.set(data.taskRunId, waiter);
      const onAbort = () => void this.cancel(waiter, signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      const settle = (finish: () => void) => {
        signal.removeEventListener("abort", onAbort);
        this.waiters.delete(data.taskRunId);
        waiter.settled = true;
        finish();
      };
      waiter.resolve = (value) => settle(() => resolve(value));
      waiter.reject = (error) => settle(() => reject(error));
      this.enqueue(waiter).catch((error) => this.fail(waiter, error));
      if (signal.aborted) onAbort();
    });
  }

  private async enqueue(waiter: Waiter): Promise<void> {
    const { queue } = await this.handle(waiter.queueName);
    await queue.add(waiter.data.taskName, waiter.data, {
      jobId: waiter.data.taskRunId,
      removeOnComplete: { age: 3600 },
      removeOnFail: { age: 24 * 3600 },
    });
  }

  private handle(queueName: string): Promise<QueueHandle> {
    let handle = this.queues.get(queueName);
    if (!handle) {
      handle = this.openQueue(queueName);
      this.queues.set(queueName, handle);
    }
    return handle;
  }

  private async openQueue(queueName: string): Promise<QueueHandle> {
    const queue = new Queue(queueName, {
      connection: this.connection,
      prefix: this.settings.prefix,
      streams: { events: { maxLen: 100_000 } },
    });
    queue.on("error", (error) => this.log.debug({ err: errorMessage(error) }, "queue error"));
    // Start reading events from the stream's newest entry, so that none written after this
    // point is missed, whenever the blocking read begins.
    const newest = (
      await this.connection.xrevrange(queue.keys.events as string, "+", "-", "COUNT", 1)
    )[0];
    const eventsConnection = this.connection.duplicate();
    eventsConnection.on("error", () => {});
    const events = new QueueEvents(queueName, {
      connection: eventsConnection,
      prefix: this.settings.prefix,
      lastEventId: newest?.[0] ?? "0-0",
    });
    events.on("error", (error) => this.log.debug({ err: errorMessage(error) }, "events error"));
    events.on("completed", ({ jobId, returnvalue }) => {
      this.waiters.get(jobId)?.resolve(returnvalue);
    });
    events.on("failed", ({ jobId, failedReason }) => {
      const waiter = this.waiters.get(jobId);
      if (waiter) void this.failed(waiter, failedReason);
    });
    await events.waitUntilReady();
    if ((await queue.getWorkersCount()) === 0)
      this.log.warn(
        { queue: queueName },
        "no worker takes task runs from this queue yet: start one with `genre-classifier worker`",
      );
    return { queue, events, eventsConnection };
  }

  /** A job ended failed: the worker recorded why, unless the queue gave up on it. */
  private async failed(waiter: Waiter, reason: string): Promise<void> {
    try {
      const write = await this.deps.runs.setTaskState(waiter.data.taskRunId, {
        state: "failed",
        error: new Error(reason),
      });
      if (write.state === "completed" || write.state === "cached")
        return await this.finishFromRecord(waiter, write.state);
      waiter.reject(write.state === "cancelled" ? new CancelledError(reason) : new Error(reason));
    } catch (error) {
      waiter.reject(error);
    }
  }

  private async fail(waiter: Waiter, error: unknown): Promise<void> {
    if (waiter.settled) return;
    const write = await this.deps.runs
      .setTaskState(waiter.data.taskRunId, { state: "failed", error })
      .catch(() => undefined);
    if (write && !write.written) return this.finishFromRecord(waiter, write.state);
    waiter.reject(error);
  }

  /** Settles a waiter with what the task run's record holds: it ended, whatever the queue says. */
  private async finishFromRecord(waiter: Waiter, state: string): Promise<void> {
    await recordedOutcome(this.deps, waiter.data.taskRunId, state).then(
      (value) => waiter.resolve(value),
      (error) => waiter.reject(error),
    );
  }

  private async cancel(waiter: Waiter, reason: unknown): Promise<void> {
    const message = errorMessage(reason ?? "cancelled");
    const { flowRunId, taskRunId } = waiter.data;
    if (!this.cancelledFlowRuns.has(flowRunId)) {
      this.cancelledFlowRuns.add(flowRunId);
      const note: CancelMessage = { flowRunId, reason: message };
      await this.connection
        .publish(cancelChannel(this.settings), JSON.stringify(note))
        .catch(() => 0);
    }
    const removed = await this.handle(waiter.queueName)
      .then(({ queue }) => queue.remove(taskRunId))
      .catch(() => 0);
    if (removed === 1) {
      const write = await this.deps.runs
        .setTaskState(taskRunId, { state: "cancelled", message: `${message} (before it started)` })
        .catch(() => undefined);
      if (write && !write.written) return this.finishFromRecord(waiter, write.state);
      waiter.reject(new CancelledError(message));
      return;
    }
    // A worker has it: it aborts on the cancel message and reports the job failed. Should
    // that worker be gone, stop waiting once its lock must have expired.
    setTimeout(async () => {
      if (waiter.settled) return;
      const write = await this.deps.runs
        .setTaskState(taskRunId, { state: "cancelled", message })
        .catch(() => undefined);
      if (write && !write.written) return this.finishFromRecord(waiter, write.state);
      waiter.reject(new CancelledError(message));
    }, this.settings.lockMs * 2).unref();
  }

  /** Re-reads jobs without news: all of them after Redis came back, else the oldest few. */
  private sweep(all: boolean): Promise<void> {
    if (this.sweeping || this.closed) return this.sweeping ?? Promise.resolve();
    this.sweeping = (async () => {
      const due = [...this.waiters.values()].filter(
        (w) => all || Date.now() - w.queuedAt >= this.sweepMs,
      );
      const batch = all ? due : due.slice(0, SWEEP_BATCH);
      await Promise.all(batch.map((waiter) => this.recheck(waiter)));
    })()
      .catch((error) => this.log.debug({ err: errorMessage(error) }, "sweep failed"))
      .finally(() => {
        this.sweeping = undefined;
      });
    return this.sweeping;
  }

  private async recheck(waiter: Waiter): Promise<void> {
    const { queue } = await this.handle(waiter.queueName);
    const id = waiter.data.taskRunId;
    const state = await queue.getJobState(id);
    if (waiter.settled) return;
    if (state === "completed") {
      const job = await queue.getJob(id);
      if (job) waiter.resolve(job.returnvalue);
    } else if (state === "failed") {
      const job = await queue.getJob(id);
      await this.failed(waiter, job?.failedReason ?? "failed on a worker");
    } else if (state === "unknown") {
      await this.lost(waiter);
    }
  }

  /**
   * The queue no longer has the job (Redis lost its data): a task run the record says ended is
   * finished from the record; only one still active is queued again.
   */
  private async lost(waiter: Waiter): Promise<void> {
    const id = waiter.data.taskRunId;
    const row = await this.deps.runs.getTaskRun(id);
    if (waiter.settled) return;
    if (row && isFinal(row.state)) return this.finishFromRecord(waiter, row.state);
    if (waiter.requeued >= MAX_REQUEUES)
      return this.fail(
        waiter,
        new Error(
          `the queue lost task run ${id} ${MAX_REQUEUES + 1} times (is Redis losing its data?)`,
        ),
      );
    waiter.requeued++;
    waiter.queuedAt = Date.now();
    const write = await this.deps.runs.setTaskState(id, {
      state: "pending",
      message: "the queue lost its job (Redis restarted without its data?); queued again",
    });
    if (!write.written) return this.finishFromRecord(waiter, write.state);
    this.log.warn(
      { taskRunId: id, queue: waiter.queueName },
      "the queue lost a task run; queued again",
    );
    await this.enqueue(waiter);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    if (this.connection.status !== "ready") {
      // Redis is away: commands would wait for it for ever, so drop the connections first.
      this.connection.disconnect();
      for (const opening of this.queues.values())
        void opening.then((handle) => handle.eventsConnection.disconnect()).catch(() => {});
    }
    await this.sweeping;
    for (const opening of this.queues.values()) {
      const handle = await opening.catch(() => undefined);
      if (!handle) continue;
      await handle.events.close().catch(() => {});
      await handle.queue.close().catch(() => {});
      handle.eventsConnection.disconnect();
    }
    this.connection.disconnect();
  }
}
