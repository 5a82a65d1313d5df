// The authoring API: `flow(name, fn, options)` and `task(name, fn, options)`, typed from
// parameters to results. Calling a task or a flow inside a running flow records it as a task
// run or a subflow run of that flow; `task.submit` starts it concurrently and returns a handle.
import { AsyncLocalStorage } from "node:async_hooks";
import type { z } from "zod";
import { OperationError } from "../common/errors.ts";
import type { RetryDelay } from "./policy.ts";
import type { RunState } from "./states.ts";

export type RunLogger = (message: string, level?: "debug" | "info" | "warn" | "error") => void;

export interface TaskContext {
  taskRunId: string;
  flowRunId: string;
  /** 1 on the first attempt, 2 on the first retry, … */
  attempt: number;
  /** Aborted when the run is cancelled or times out. */
  signal: AbortSignal;
  log: RunLogger;
}

export interface FlowContext {
  flowRunId: string;
  attempt: number;
  signal: AbortSignal;
  log: RunLogger;
}

export interface CacheOptions<I> {
  /** Cached results older than this are recomputed (default: never expire). */
  expiresInMs?: number;
  /** Recompute and overwrite even when a cached result exists. */
  refresh?: boolean;
  /** What the key hashes, instead of the whole input; undefined skips the cache for that call. */
  key?: (input: I) => unknown;
}

export interface TaskOptions<I, O> {
  /** Part of the cache key: change it when the function's meaning changes. */
  version?: string;
  tags?: readonly string[];
  retries?: number;
  retryDelayMs?: RetryDelay;
  /** Share of the delay added or removed at random, 0 to 1. */
  retryJitter?: number;
  /** Retry only failures this accepts (default: every failure). */
  retryIf?: (error: unknown, attempt: number) => boolean;
  timeoutMs?: number;
  cache?: boolean | CacheOptions<I>;
  /** Write every result to the object store, not only cached ones. */
  persistResult?: boolean;
  /** At most this many runs of this task at once in one orchestrator process. */
  concurrencyLimit?: number;
  /** The queue its runs go to with the BullMQ executor (default: orchestration.queue). */
  queue?: string;
  input?: z.ZodType<I>;
  output?: z.ZodType<O>;
  description?: string;
}

export interface TaskDefinition<I, O> {
  readonly kind: "task";
  readonly name: string;
  readonly fn: (input: I, context: TaskContext) => Promise<O> | O;
  readonly options: TaskOptions<I, O>;
}

export interface TaskFuture<O> {
  /** The result, or the task run's error. */
  result(): Promise<O>;
  /** Waits for the run to end and gives its final state, without throwing. */
  wait(): Promise<RunState>;
}

export interface SubmitOptions {
  /** Start only after these have ended; when one failed, this run fails without starting. */
  waitFor?: readonly TaskFuture<unknown>[];
}

export interface Task<I, O> extends TaskDefinition<I, O> {
  (input: I): Promise<O>;
  submit(input: I, options?: SubmitOptions): TaskFuture<O>;
  /** Starts one run per input, concurrently. */
  map(inputs: readonly I[], options?: SubmitOptions): TaskFuture<O>[];
}

export interface FlowOptions<P extends z.ZodType> {
  parameters: P;
  description?: string;
  retries?: number;
  retryDelayMs?: RetryDelay;
  timeoutMs?: number;
  /** Also record console output made inside the run as its log lines (default true). */
  captureLogs?: boolean;
  persistResult?: boolean;
}

export interface FlowDefinition<P extends z.ZodType, R> {
  readonly kind: "flow";
  readonly name: string;
  readonly fn: (parameters: z.output<P>, context: FlowContext) => Promise<R> | R;
  readonly options: FlowOptions<P>;
}

export interface Flow<P extends z.ZodType, R> extends FlowDefinition<P, R> {
  /** Runs as a subflow of the flow run this is called from. */
  (parameters: z.input<P>): Promise<R>;
}

// biome-ignore lint/suspicious/noExplicitAny: registries hold every flow and task type
export type AnyFlow = Flow<z.ZodType, any>;
// biome-ignore lint/suspicious/noExplicitAny: registries hold every flow and task type
export type AnyTask = Task<any, any>;

/** What a running flow run offers to the tasks and subflows called inside it. */
export interface FlowRunScope {
  readonly flowRunId: string;
  runTask<I, O>(task: Task<I, O>, input: I, options?: SubmitOptions): TaskFuture<O>;
  runSubflow<P extends z.ZodType, R>(flow: Flow<P, R>, parameters: z.input<P>): Promise<R>;
  log(message: string, level: string, taskRunId?: string): void;
  readonly captureConsole: boolean;
}

export const currentScope = new AsyncLocalStorage<{ scope: FlowRunScope; taskRunId?: string }>();

const flows = new Map<string, AnyFlow>();
const tasks = new Map<string, AnyTask>();

export function task<I, O>(
  name: string,
  fn: (input: I, context: TaskContext) => Promise<O> | O,
  options: TaskOptions<I, O> = {},
): Task<I, O> {
  const call = (input: I): Promise<O> => scopeFor(name).runTask(defined, input).result();
  const defined: Task<I, O> = Object.assign(call, {
    kind: "task" as const,
    fn,
    options,
    submit: (input: I, submitOptions?: SubmitOptions): TaskFuture<O> =>
      scopeFor(name).runTask(defined, input, submitOptions),
    map: (inputs: readonly I[], submitOptions?: SubmitOptions): TaskFuture<O>[] =>
      inputs.map((input) => scopeFor(name).runTask(defined, input, submitOptions)),
  });
  Object.defineProperty(defined, "name", { value: name });
  if (tasks.has(name)) throw new OperationError(`task ${JSON.stringify(name)} is defined twice`);
  tasks.set(name, defined as Task<I, O>);
  return defined as Task<I, O>;
}

export function flow<P extends z.ZodType, R>(
  name: string,
  fn: (parameters: z.output<P>, context: FlowContext) => Promise<R> | R,
  options: FlowOptions<P>,
): Flow<P, R> {
  const call = (parameters: z.input<P>): Promise<R> =>
    scopeFor(name).runSubflow(defined, parameters);
  const defined = Object.assign(call, { kind: "flow" as const, fn, options });
  Object.defineProperty(defined, "name", { value: name });
  if (flows.has(name)) throw new OperationError(`flow ${JSON.stringify(name)} is defined twice`);
  flows.set(name, defined as unknown as AnyFlow);
  return defined as unknown as Flow<P, R>;
}

function scopeFor(name: string): FlowRunScope {
  const current = currentScope.getStore();
  if (!current)
    throw new OperationError(
      `${name}: tasks and subflows run inside a flow run; start a flow with Orchestrator.run`,
    );
  return current.scope;
}

export function registeredFlows(): AnyFlow[] {
  return [...flows.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function findFlow(name: string): AnyFlow | undefined {
  return flows.get(name);
}

export function registeredTasks(): AnyTask[] {
  return [...tasks.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function findTask(name: string): AnyTask | undefined {
  return tasks.get(name);
}
