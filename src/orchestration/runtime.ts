// The orchestrator: starts flow runs (validated parameters, retries, timeout, heartbeats,
// cancellation, log capture), turns task calls inside them into recorded task runs (cache
// lookups, waitFor, concurrency limits) and hands each to the executor that runs it.
import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { format } from "node:util";
import type { z } from "zod";
import { doneBy } from "../common/deadline.ts";
import { errorMessage, InputError } from "../common/errors.ts";
import { type Logger, silentLogger } from "../common/logger.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import {
  type AnyFlow,
  type AnyTask,
  currentScope,
  type Flow,
  type FlowContext,
  type FlowRunScope,
  type SubmitOptions,
  type Task,
  type TaskFuture,
} from "./api.ts";
import { ConcurrencyLimiter } from "./limiter.ts";
import { RunLogBuffer } from "./log-buffer.ts";
import { cacheKeyOf, retryDelayMs } from "./policy.ts";
import { cachedResultKey, flowResultKey, ResultStore } from "./results.ts";
import {
  type FlowRunRow,
  HOST,
  type LogLine,
  type RunLogRow,
  RunStore,
  type StateWrite,
} from "./run-store.ts";
import { CancelledError, isFinal, type RunState } from "./states.ts";
import {
  executeTaskRun,
  recordedOutcome,
  sleep,
  type TaskRunDeps,
  type TaskRunRequest,
  withDeadline,
} from "./task-run.ts";

/** Runs task runs: in this process, or on queue workers. */
export interface TaskExecutor {
  readonly kind: string;
  execute(definition: AnyTask, request: TaskRunRequest, signal: AbortSignal): Promise<unknown>;
  close(): Promise<void>;
}

export class InProcessExecutor implements TaskExecutor {
  readonly kind = "in-process";
  constructor(private readonly deps: TaskRunDeps) {}
  execute(definition: AnyTask, request: TaskRunRequest, signal: AbortSignal): Promise<unknown> {
    return executeTaskRun(this.deps, definition, request, signal);
  }
  async close(): Promise<void> {}
}

export interface OrchestratorOptions {
  /** The tracking database: sqlite:///… or postgres://… */
  databaseUri: string;
  store: ObjectStore;
  log?: Logger;
  /** Default: in-process. */
  executor?: (deps: TaskRunDeps) => TaskExecutor | Promise<TaskExecutor>;
  heartbeatMs?: number;
  /** A run without a heartbeat for this long is marked crashed. */
  crashAfterMs?: number;
  /** Concurrency limits by tag. */
  tagLimits?: Record<string, number>;
  /** Hears each flow run started here end (for metrics), with its time from start to end. */
  onFlowRunEnd?: (end: { flow: string; state: RunState; seconds: number }) => void;
}

export interface StartOptions {
  idempotencyKey?: string | undefined;
  deploymentName?: string | undefined;
  parentFlowRunId?: string | undefined;
}

export interface FlowRunOutcome<R> {
  flowRunId: string;
  state: RunState;
  result?: R;
  error?: string;
  /** False when an idempotency key matched an earlier run, which is returned instead. */
  created: boolean;
}

export class Orchestrator {
  readonly runs: RunStore;
  readonly results: ResultStore;
  readonly limiter = new ConcurrencyLimiter();
  readonly heartbeatMs: number;
  readonly crashAfterMs: number;
  private executor!: TaskExecutor;
  private readonly log: Logger;
  private readonly logs: RunLogBuffer;
  private readonly active = new Set<Promise<unknown>>();
  private readonly onFlowRunEnd: OrchestratorOptions["onFlowRunEnd"];

  private constructor(runs: RunStore, options: OrchestratorOptions) {
    this.runs = runs;
    this.onFlowRunEnd = options.onFlowRunEnd;
    this.results = new ResultStore(options.store);
    this.log = options.log ?? silentLogger;
    this.logs = new RunLogBuffer(runs, this.log);
    this.heartbeatMs = options.heartbeatMs ?? 2_000;
    this.crashAfterMs = options.crashAfterMs ?? Math.max(this.heartbeatMs * 5, 10_000);
    for (const [tag, limit] of Object.entries(options.tagLimits ?? {}))
      this.limiter.setLimit(`tag:${tag}`, limit);
  }

  static async open(options: OrchestratorOptions): Promise<Orchestrator> {
    const runs = await RunStore.open(options.databaseUri);
    const orchestrator = new Orchestrator(runs, options);
    const deps = orchestrator.taskRunDeps(`${HOST}:${process.pid}`);
    try {
      orchestrator.executor = options.executor
        ? await options.executor(deps)
        : new InProcessExecutor(deps);
    } catch (error) {
      await runs.close();
      throw error;
    }
    await runs.markCrashed(orchestrator.crashAfterMs);
    captureConsole();
    return orchestrator;
  }

  get executorKind(): string {
    return this.executor.kind;
  }

  taskRunDeps(worker: string): TaskRunDeps {
    return {
      runs: this.runs,
      results: this.results,
      worker,
      log: (taskRunId, flowRunId, message, level) =>
        this.record({ flowRunId, taskRunId, at: Date.now(), level, message }),
    };
  }

  /** Runs a flow to its end and gives its final state and result. */
  async run<P extends z.ZodType, R>(
    definition: Flow<P, R>,
    parameters: z.input<P>,
    options: StartOptions = {},
  ): Promise<FlowRunOutcome<R>> {
    const started = await this.start(definition, parameters, options);
    return started.outcome;
  }

  /**
   * Waits for a flow run started elsewhere (another process, an earlier trigger with the same
   * idempotency key) to end, marking crashed runs on the way so a dead owner cannot hang it.
   */
  async waitForEnd(flowRunId: string, pollMs = 250): Promise<FlowRunOutcome<unknown>> {
    const row = await this.pollUntilEnded(flowRunId, pollMs);
    return {
      flowRunId,
      state: row.state as RunState,
      created: false,
      ...(row.error_message ? { error: row.error_message } : {}),
    };
  }

  /**
   * Gives the log lines of a flow run to `print`, in order, in batches. With `follow`, keeps
   * reading new lines until the run has ended (waiting as waitForEnd does) and its last lines
   * are read.
   */
  async followLogs(
    flowRunId: string,
    print: (lines: RunLogRow[]) => void,
    options: { follow?: boolean | undefined; pollMs?: number } = {},
  ): Promise<void> {
    let after = 0;
    const readNew = async (): Promise<void> => {
      for (;;) {
        const lines = await this.runs.logs(flowRunId, after);
        const last = lines.at(-1);
        if (last === undefined) return;
        print(lines);
        after = last.id;
      }
    };
    await readNew();
    if (!options.follow) return;
    await this.pollUntilEnded(flowRunId, options.pollMs ?? 250, readNew);
    await readNew();
  }

  /** Polls a flow run until it is in a final state, calling `onPoll` between checks. */
  private async pollUntilEnded(
    flowRunId: string,
    pollMs: number,
    onPoll?: () => Promise<void>,
  ): Promise<FlowRunRow> {
    let checkedCrashes = 0;
    for (;;) {
      if (Date.now() - checkedCrashes >= this.heartbeatMs) {
        await this.runs.markCrashed(this.crashAfterMs);
        checkedCrashes = Date.now();
      }
      const row = await this.runs.getFlowRun(flowRunId);
      if (isFinal(row.state)) return row;
      await onPoll?.();
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  /**
   * A run that did not complete and, while it is one that ended on a subflow's failure, that
   * subflow, and so on down: the run itself first, the subflow that failed first last.
   */
  async failureChain(flowRunId: string): Promise<FlowRunRow[]> {
    const chain = [await this.runs.getFlowRun(flowRunId)];
    for (let depth = 0; depth < 20; depth++) {
      const row = chain[chain.length - 1] as FlowRunRow;
      const subflowId = failedSubflowId(row.error_message);
      const child = subflowId === undefined ? undefined : await this.runs.findFlowRun(subflowId);
      if (child === undefined || child.parent_flow_run_id !== row.id) break;
      chain.push(child);
    }
    return chain;
  }

  /** Records a flow run and starts it; `outcome` settles when it ends. */
  async start<P extends z.ZodType, R>(
    definition: Flow<P, R>,
    parameters: z.input<P>,
    options: StartOptions = {},
  ): Promise<{ flowRunId: string; created: boolean; outcome: Promise<FlowRunOutcome<R>> }> {
    const parsed = definition.options.parameters.safeParse(parameters);
    if (!parsed.success)
      throw new InputError(
        `flow ${definition.name}: bad parameters: ${parsed.error.issues
          .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
          .join("; ")}`,
      );
    const { row, created } = await this.runs.createFlowRun({
      id: randomUUID(),
      flowName: definition.name,
      parameters: parsed.data,
      state: "pending",
      parentFlowRunId: options.parentFlowRunId,
      deploymentName: options.deploymentName,
      idempotencyKey: options.idempotencyKey,
    });
    if (!created)
      return {
        flowRunId: row.id,
        created: false,
        outcome: Promise.resolve({
          flowRunId: row.id,
          state: row.state as RunState,
          created: false,
          ...(row.error_message ? { error: row.error_message } : {}),
        }),
      };
    const startedAt = performance.now();
    const outcome = this.execute(definition, row.id, parsed.data as z.output<P>);
    this.active.add(outcome);
    void outcome.finally(() => this.active.delete(outcome));
    const onEnd = this.onFlowRunEnd;
    if (onEnd)
      outcome.then(
        ({ state }) =>
          onEnd({ flow: definition.name, state, seconds: (performance.now() - startedAt) / 1000 }),
        () => {},
      );
    return { flowRunId: row.id, created: true, outcome };
  }

  private async execute<P extends z.ZodType, R>(
    definition: Flow<P, R>,
    flowRunId: string,
    parameters: z.output<P>,
  ): Promise<FlowRunOutcome<R>> {
    const { options } = definition;
    const retries = options.retries ?? 0;
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    const beat = setInterval(() => {
      this.runs.heartbeat(flowRunId).then(
        ({ cancelRequested }) => {
          if (cancelRequested && !controller.signal.aborted)
            controller.abort(new CancelledError("cancel requested"));
        },
        (error) => this.log.warn({ flowRunId, err: errorMessage(error) }, "heartbeat failed"),
      );
    }, this.heartbeatMs);
    beat.unref();
    const scope = new RunScope(this, flowRunId, controller.signal, options.captureLogs !== false);
    // A refused state write: the run already ended elsewhere (marked crashed, cancelled before
    // it started); the state that stands is the outcome.
    const standing = async (write: StateWrite): Promise<FlowRunOutcome<R>> => {
      const row = await this.runs.getFlowRun(flowRunId);
      const error = `flow run ${flowRunId} already ended ${write.state}${row.state_message ? `: ${row.state_message}` : ""}`;
      this.log.warn({ flowRunId, state: write.state }, "the flow run already ended elsewhere");
      return { flowRunId, state: write.state as RunState, error, created: true };
    };
    try {
      for (let attempt = 1; ; attempt++) {
        const start = await this.runs.startFlowRun(flowRunId, attempt);
        if (!start.written) return await standing(start);
        const context: FlowContext = {
          flowRunId,
          attempt,
          signal: controller.signal,
          log: (message, level = "info") => scope.log(message, level),
        };
        try {
          const result = await currentScope.run({ scope }, () =>
            withDeadline(
              () => definition.fn(parameters, context),
              options.timeoutMs,
              controller,
              `flow ${definition.name}`,
            ),
          );
          await scope.settled();
          // Every line is recorded before the run is seen ended (followLogs reads to that point).
          await this.flushLogs();
          let resultKey: string | undefined;
          if (options.persistResult) {
            resultKey = flowResultKey(flowRunId);
            await this.results.write(resultKey, result);
          }
          const end = await this.runs.setFlowState(flowRunId, { state: "completed", resultKey });
          if (!end.written) return await standing(end);
          return { flowRunId, state: "completed", result, created: true };
        } catch (error) {
          await scope.settled();
          await this.flushLogs();
          if (controller.signal.aborted && controller.signal.reason instanceof CancelledError) {
            const end = await this.runs.setFlowState(flowRunId, {
              state: "cancelled",
              message: errorMessage(controller.signal.reason),
            });
            if (!end.written) return await standing(end);
            return { flowRunId, state: "cancelled", error: errorMessage(error), created: true };
          }
          if (attempt > retries || controller.signal.aborted) {
            const end = await this.runs.setFlowState(flowRunId, { state: "failed", error });
            if (!end.written) return await standing(end);
            return { flowRunId, state: "failed", error: errorMessage(error), created: true };
          }
          const delay = retryDelayMs(options.retryDelayMs, attempt);
          scope.log(
            `attempt ${attempt} failed: ${errorMessage(error)}; retrying in ${delay} ms`,
            "warn",
          );
          const retrying = await this.runs.setFlowState(flowRunId, {
            state: "retrying",
            error,
            message: `attempt ${attempt} failed`,
          });
          if (!retrying.written) return await standing(retrying);
          await sleep(delay, controller.signal).catch(() => {});
        }
      }
    } finally {
      clearInterval(beat);
      await this.flushLogs();
    }
  }

  /** Runs a task call of a flow run: cache lookup, limits, then the executor. */
  async runTask(
    definition: AnyTask,
    flowRunId: string,
    taskIndex: number,
    input: unknown,
    signal: AbortSignal,
    waitFor: readonly TaskFuture<unknown>[],
  ): Promise<{ taskRunId: string; value: unknown }> {
    const { options } = definition;
    const taskRunId = randomUUID();
    let cacheKey: string | undefined;
    if (options.cache) {
      const keyOf = typeof options.cache === "object" ? options.cache.key : undefined;
      const material = keyOf ? keyOf(input) : input;
      if (material !== undefined)
        cacheKey = cacheKeyOf(definition.name, options.version ?? "1", material);
    }
    await this.runs.createTaskRun({
      id: taskRunId,
      flowRunId,
      taskName: definition.name,
      taskIndex,
      inputs: input,
      cacheKey,
    });
    if (waitFor.length > 0) {
      const states = await Promise.all(waitFor.map((f) => f.wait()));
      if (states.some((s) => s !== "completed" && s !== "cached")) {
        const error = new Error(
          `an upstream task run ended ${states.filter((s) => s !== "completed" && s !== "cached").join(", ")}`,
        );
        await this.runs.setTaskState(taskRunId, { state: "failed", error });
        throw error;
      }
    }
    if (options.input) input = options.input.parse(input);
    const limitKeys = [`task:${definition.name}`, ...(options.tags ?? []).map((t) => `tag:${t}`)];
    if (options.concurrencyLimit !== undefined)
      this.limiter.setLimit(`task:${definition.name}`, options.concurrencyLimit);
    const release = await this.limiter.acquire(limitKeys);
    try {
      const refresh = typeof options.cache === "object" && options.cache.refresh === true;
      if (cacheKey && !refresh) {
        const resultKey = cachedResultKey(cacheKey);
        const cached = await this.results.read(resultKey);
        if (cached) {
          const write = await this.runs.setTaskState(taskRunId, { state: "cached", resultKey });
          if (!write.written)
            return { taskRunId, value: await recordedOutcome(this, taskRunId, write.state) };
          return { taskRunId, value: cached.value };
        }
      }
      const request = { taskRunId, flowRunId, taskName: definition.name, input, cacheKey };
      const scope = currentScope.getStore()?.scope;
      const value = scope
        ? await currentScope.run({ scope, taskRunId }, () =>
            this.executor.execute(definition, request, signal),
          )
        : await this.executor.execute(definition, request, signal);
      return { taskRunId, value };
    } finally {
      release();
    }
  }

  record(line: LogLine): void {
    this.logs.record(line);
  }

  flushLogs(): Promise<void> {
    return this.logs.flush();
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.active]);
    await this.flushLogs();
    await this.executor.close();
    await this.runs.close();
  }

  /** Flow runs started by this orchestrator that have not ended. */
  get activeFlowRuns(): number {
    return this.active.size;
  }

  /**
   * `close` in bounded time: waits for the flow runs still going until `drainUntil`, then
   * closes the executor and the database, giving up on them at `deadline` (ms since the
   * epoch). The flow runs still going are left to the crash check, as when a process dies.
   */
  async shutdown(
    drainUntil: number,
    deadline: number,
  ): Promise<{ unfinished: number; unanswered: string[] }> {
    await doneBy(Promise.allSettled([...this.active]), Math.min(drainUntil, deadline));
    const unfinished = this.active.size;
    const unanswered: string[] = [];
    const [flushed, executorClosed] = await Promise.all([
      doneBy(this.flushLogs(), deadline),
      doneBy(this.executor.close(), deadline),
    ]);
    if (!executorClosed) unanswered.push("Redis");
    if (!(flushed && (await doneBy(this.runs.close(), deadline))))
      unanswered.push("the tracking database");
    return { unfinished, unanswered };
  }
}

/** One flow run's scope: numbers its task calls and keeps track of those still running. */
class RunScope implements FlowRunScope {
  private readonly indexes = new Map<string, number>();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly orchestrator: Orchestrator,
    readonly flowRunId: string,
    private readonly signal: AbortSignal,
    readonly captureConsole: boolean,
  ) {}

  runTask<I, O>(definition: Task<I, O>, input: I, options: SubmitOptions = {}): TaskFuture<O> {
    const index = this.indexes.get(definition.name) ?? 0;
    this.indexes.set(definition.name, index + 1);
    const running = (async () => {
      if (this.signal.aborted) throw new CancelledError("the flow run was cancelled");
      const { taskRunId, value } = await this.orchestrator.runTask(
        definition as AnyTask,
        this.flowRunId,
        index,
        input,
        this.signal,
        options.waitFor ?? [],
      );
      return { taskRunId, value: value as O };
    })();
    const settledState: Promise<RunState> = running.then(
      () => "completed",
      (error) => (error instanceof CancelledError ? "cancelled" : "failed"),
    );
    this.inFlight.add(settledState);
    void settledState.finally(() => this.inFlight.delete(settledState));
    running.catch(() => {});
    return {
      result: async () => (await running).value,
      wait: () => settledState,
    };
  }

  async runSubflow<P extends z.ZodType, R>(
    definition: Flow<P, R>,
    parameters: z.input<P>,
  ): Promise<R> {
    const started = await this.orchestrator.start(definition, parameters, {
      parentFlowRunId: this.flowRunId,
    });
    const outcome = await currentScope.exit(() => started.outcome);
    if (outcome.state !== "completed") throw new Error(subflowFailure(definition.name, outcome));
    return outcome.result as R;
  }

  log(message: string, level: string, taskRunId?: string): void {
    this.orchestrator.record({
      flowRunId: this.flowRunId,
      taskRunId,
      at: Date.now(),
      level,
      message,
    });
  }

  /** Waits for every task run this flow run started, so none outlives it unrecorded. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}

/** The error a flow run ends with when a subflow it called did not complete. */
function subflowFailure(name: string, outcome: FlowRunOutcome<unknown>): string {
  return `subflow ${name} (${outcome.flowRunId}) ended ${outcome.state}: ${outcome.error ?? ""}`;
}

/** The subflow's id in an error made by subflowFailure. */
function failedSubflowId(errorMessage: string | null): string | undefined {
  return /^subflow \S+ \(([0-9a-f-]{36})\) ended /.exec(errorMessage ?? "")?.[1];
}

let consoleCaptured = false;

/** Routes console output made inside a flow run that captures logs to that run's log lines. */
export function captureConsole(): void {
  if (consoleCaptured) return;
  consoleCaptured = true;
  for (const [method, level] of [
    ["log", "info"],
    ["info", "info"],
    ["warn", "warn"],
    ["error", "error"],
    ["debug", "debug"],
  ] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      const current = currentScope.getStore();
      if (current?.scope.captureConsole)
        current.scope.log(format(...args), level, current.taskRunId);
      original(...args);
    };
  }
}

export type { AnyFlow };
