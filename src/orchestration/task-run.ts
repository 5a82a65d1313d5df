// One task run from its first attempt to its final state: retries with their delays and
// condition, the timeout, persisting the result, and every state recorded. Both executors
// run tasks through this, in the flow's process or on a queue worker. A state write refused
// because the run already ended elsewhere ends the work with the recorded outcome.
import { setMaxListeners } from "node:events";
import { errorMessage } from "../common/errors.ts";
import type { AnyTask, TaskContext } from "./api.ts";
import { retryDelayMs } from "./policy.ts";
import { cachedResultKey, newTaskResultKey, type ResultStore } from "./results.ts";
import type { RunStore } from "./run-store.ts";
import { CancelledError, RunTimeoutError } from "./states.ts";

export interface TaskRunRequest {
  taskRunId: string;
  flowRunId: string;
  taskName: string;
  input: unknown;
  cacheKey?: string | undefined;
  /** Attempts already made by a worker that was lost (a queue redelivery). */
  attemptsBefore?: number | undefined;
}

export interface TaskRunDeps {
  runs: RunStore;
  results: ResultStore;
  /** Who runs it: host and pid, or a queue worker's name. */
  worker: string;
  /**
   * Keep every result in the result store, named by the record: a queue worker's result
   * otherwise lives only in Redis, and is lost with it.
   */
  keepResults?: boolean | undefined;
  log(taskRunId: string, flowRunId: string, message: string, level: string): void;
}

export async function executeTaskRun(
  deps: TaskRunDeps,
  definition: AnyTask,
  request: TaskRunRequest,
  signal: AbortSignal,
): Promise<unknown> {
  const { options } = definition;
  const retries = options.retries ?? 0;
  const cache = typeof options.cache === "object" ? options.cache : {};
  let attempt = request.attemptsBefore ?? 0;
  const id = request.taskRunId;
  for (;;) {
    attempt++;
    if (signal.aborted) {
      const write = await deps.runs.setTaskState(id, { state: "cancelled", attempt });
      if (!write.written) return recordedOutcome(deps, id, write.state);
      throw new CancelledError("cancelled before it started");
    }
    const start = await deps.runs.setTaskState(id, {
      state: "running",
      attempt,
      worker: deps.worker,
      message: attempt > 1 ? `attempt ${attempt}` : undefined,
    });
    if (!start.written) return recordedOutcome(deps, id, start.state);
    const attemptController = new AbortController();
    setMaxListeners(0, attemptController.signal);
    const onAbort = () => attemptController.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const context: TaskContext = {
      taskRunId: id,
      flowRunId: request.flowRunId,
      attempt,
      signal: attemptController.signal,
      log: (message, level = "info") => deps.log(id, request.flowRunId, message, level),
    };
    let outcome: { ok: true; value: unknown; resultKey?: string } | { ok: false; error: unknown };
    try {
      let value = await withDeadline(
        () => definition.fn(request.input, context),
        options.timeoutMs,
        attemptController,
        `task ${definition.name}`,
      );
      if (options.output) value = options.output.parse(value);
      let resultKey: string | undefined;
      if (request.cacheKey) {
        resultKey = cachedResultKey(request.cacheKey);
        await deps.results.write(resultKey, value, cache.expiresInMs);
      } else if (options.persistResult || deps.keepResults) {
        resultKey = newTaskResultKey(request.flowRunId, id, attempt);
        await deps.results.write(resultKey, value);
      }
      outcome = { ok: true, value, resultKey };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
    if (outcome.ok) {
      const { resultKey } = outcome;
      const end = await deps.runs.setTaskState(id, { state: "completed", resultKey });
      if (end.written) return outcome.value;
      // Another execution ended it first: its outcome stands, and this result is dropped.
      if (resultKey && !request.cacheKey) await deps.results.remove(resultKey).catch(() => {});
      return recordedOutcome(deps, id, end.state);
    }
    const { error } = outcome;
    if (signal.aborted || error instanceof CancelledError) {
      const end = await deps.runs.setTaskState(id, {
        state: "cancelled",
        message: errorMessage(signal.reason ?? error),
      });
      if (!end.written) return recordedOutcome(deps, id, end.state);
      throw error instanceof CancelledError ? error : new CancelledError(errorMessage(error));
    }
    const retryable = attempt <= retries && (options.retryIf?.(error, attempt) ?? true);
    if (!retryable) {
      const end = await deps.runs.setTaskState(id, { state: "failed", error });
      if (!end.written) return recordedOutcome(deps, id, end.state);
      throw error;
    }
    const delay = retryDelayMs(options.retryDelayMs, attempt, options.retryJitter ?? 0);
    const retrying = await deps.runs.setTaskState(id, {
      state: "retrying",
      error,
      message: `attempt ${attempt} failed: ${errorMessage(error)}; retrying in ${Math.round(delay)} ms`,
    });
    if (!retrying.written) return recordedOutcome(deps, id, retrying.state);
    await sleep(delay, signal);
  }
}

/**
 * The outcome a task run's record holds, for a writer whose state write was refused or a
 * worker handed a job whose run already ended: the recorded result of a completed or cached
 * run, else the run's end as an error. A run that ended is never run again.
 */
export async function recordedOutcome(
  deps: Pick<TaskRunDeps, "runs" | "results">,
  taskRunId: string,
  state: string,
): Promise<unknown> {
  const row = await deps.runs.getTaskRun(taskRunId);
  if (state === "completed" || state === "cached") {
    const stored = row?.result_key ? await deps.results.read(row.result_key) : undefined;
    if (stored) return stored.value;
    throw new Error(`task run ${taskRunId} already ended ${state}, and its result was not kept`);
  }
  const reason = row?.error_message ?? row?.state_message;
  const message = `task run ${taskRunId} already ended ${state}${reason ? `: ${reason}` : ""}`;
  throw state === "cancelled" ? new CancelledError(message) : new Error(message);
}

/** Runs `work`, failing with RunTimeoutError (and aborting `controller`) after `timeoutMs`. */
export async function withDeadline<T>(
  work: () => Promise<T> | T,
  timeoutMs: number | undefined,
  controller: AbortController,
  what: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const { signal } = controller;
  const stopped = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason ?? new CancelledError(`${what} was cancelled`));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs !== undefined)
      timer = setTimeout(
        () => controller.abort(new RunTimeoutError(`${what} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
  });
  try {
    return await Promise.race([Promise.resolve().then(work), stopped]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError(errorMessage(signal?.reason ?? "cancelled")));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
