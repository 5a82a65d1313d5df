// Run states as Prefect names them, which of them are final, and the transitions a run
// record accepts; shared by flow runs and task runs.
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
