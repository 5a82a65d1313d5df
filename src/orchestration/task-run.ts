// One task run from its first attempt to its final state: retries with their delays and
// condition, the timeout, persisting the result, and every state recorded. Both executors
// run tasks through this, in the flow's process or on a queue worker.
import { setMaxListeners } from "node:events";
import { errorMessage } from "../common/errors.ts";
import type { AnyTask, TaskContext } from "./api.ts";
import { retryDelayMs } from "./policy.ts";
import { cachedResultKey, type ResultStore, taskResultKey } from "./results.ts";
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
  for (;;) {
    attempt++;
    if (signal.aborted) {
      await deps.runs.setTaskState(request.taskRunId, { state: "cancelled", attempt });
      throw new CancelledError("cancelled before it started");
    }
    await deps.runs.setTaskState(request.taskRunId, {
      state: "running",
      attempt,
      worker: deps.worker,
      message: attempt > 1 ? `attempt ${attempt}` : undefined,
    });
    const attemptController = new AbortController();
    setMaxListeners(0, attemptController.signal);
    const onAbort = () => attemptController.abort(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    const context: TaskContext = {
      taskRunId: request.taskRunId,
      flowRunId: request.flowRunId,
      attempt,
      signal: attemptController.signal,
      log: (message, level = "info") =>
        deps.log(request.taskRunId, request.flowRunId, message, level),
    };
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
      } else if (options.persistResult) {
        resultKey = taskResultKey(request.flowRunId, request.taskRunId);
        await deps.results.write(resultKey, value);
      }
      await deps.runs.setTaskState(request.taskRunId, { state: "completed", resultKey });
      return value;
    } catch (error) {
      if (signal.aborted || error instanceof CancelledError) {
        await deps.runs.setTaskState(request.taskRunId, {
          state: "cancelled",
          message: errorMessage(signal.reason ?? error),
        });
        throw error instanceof CancelledError ? error : new CancelledError(errorMessage(error));
      }
      const retryable = attempt <= retries && (options.retryIf?.(error, attempt) ?? true);
      if (!retryable) {
        await deps.runs.setTaskState(request.taskRunId, { state: "failed", error });
        throw error;
      }
      const delay = retryDelayMs(options.retryDelayMs, attempt, options.retryJitter ?? 0);
      await deps.runs.setTaskState(request.taskRunId, {
        state: "retrying",
        error,
        message: `attempt ${attempt} failed: ${errorMessage(error)}; retrying in ${Math.round(delay)} ms`,
      });
      await sleep(delay, signal);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
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
