// Run states as Prefect names them, which of them are final, and the one table of the
// transitions a run record accepts; shared by flow runs and task runs.
export const RUN_STATES = [
  "scheduled",
  "pending",
  "running",
  "retrying",
  "completed",
  "cached",
  "failed",
  "crashed",
  "cancelled",
] as const;

export type RunState = (typeof RUN_STATES)[number];

export const FINAL_STATES: ReadonlySet<RunState> = new Set([
  "completed",
  "cached",
  "failed",
  "crashed",
  "cancelled",
]);

export const ACTIVE_STATES: readonly RunState[] = ["pending", "running", "retrying"];

/**
 * The states a run may move to from each state. A run only moves forward: a final state is
 * never left, so a run recorded completed is never set back to pending or running, nor
 * overwritten as crashed. Among the active states: `pending` again when the queue lost the
 * run's job and it is queued again (from `running` too: the job went with Redis), `running`
 * again when another worker takes over from a lost one, `retrying` again when a flow run
 * starts its next attempt. A task run may end `completed` from `pending` because a worker
 * can finish it after the queue lost its job and the run was marked pending to be queued again.
 *
 * Every state write is an update guarded by this table (`where state in` the states allowed
 * before it) that counts the rows it changed. A refused write means another writer already
 * ended the run: that state stands, and the refused writer reads it and finishes from it
 * (a task run that stands completed or cached gives its recorded result; any other final
 * state ends the writer's work with that state). It never runs or records the run again.
 */
export const TRANSITIONS: Readonly<Record<RunState, readonly RunState[]>> = {
  scheduled: ["pending", "running", "failed", "crashed", "cancelled"],
  pending: ["pending", "running", "completed", "cached", "failed", "crashed", "cancelled"],
  running: ["pending", "running", "retrying", "completed", "failed", "crashed", "cancelled"],
  retrying: ["pending", "running", "retrying", "failed", "crashed", "cancelled"],
  completed: [],
  cached: [],
  failed: [],
  crashed: [],
  cancelled: [],
};

export function canMove(from: string, to: RunState): boolean {
  return isRunState(from) && TRANSITIONS[from].includes(to);
}

/** The states from which a run may move to `to`: the guard of every state write. */
export function statesBefore(to: RunState): RunState[] {
  return RUN_STATES.filter((from) => TRANSITIONS[from].includes(to));
}

export function isFinal(state: string): boolean {
  return FINAL_STATES.has(state as RunState);
}

export function isRunState(value: string): value is RunState {
  return (RUN_STATES as readonly string[]).includes(value);
}

/** Thrown inside a run that was asked to stop. */
export class CancelledError extends Error {
  override name = "CancelledError";
}

/** Thrown when a task or flow runs longer than its timeout. */
export class RunTimeoutError extends Error {
  override name = "RunTimeoutError";
}
