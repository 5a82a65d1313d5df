// The JSON shape of flow runs, task runs, their state history and deployments, as `flows runs
// list|show --json` and `deployments list --json` print them (documented field by field in
// docs/orchestration.md): the records' snake_case columns, like the MLflow JSON of tracking
// runs, with parameters and inputs as JSON values instead of JSON text, flags as booleans,
// times in milliseconds since the epoch and null where a value is absent.
import type { DeploymentRow, FlowRunRow, RunStateRow, TaskRunRow } from "./run-store.ts";

export type FlowRunJson = Omit<FlowRunRow, "parameters" | "cancel_requested"> & {
  parameters: Record<string, unknown>;
  cancel_requested: boolean;
};

export type TaskRunJson = Omit<TaskRunRow, "inputs"> & { inputs: unknown };

export type RunStateJson = Pick<RunStateRow, "state" | "message" | "at">;

export type DeploymentJson = Omit<DeploymentRow, "parameters" | "paused" | "allow_overlap"> & {
  parameters: Record<string, unknown>;
  paused: boolean;
  allow_overlap: boolean;
};

/** `flows runs show --json`: one flow run with its states, task runs and subflows. */
export interface FlowRunDetailJson {
  flow_run: FlowRunJson;
  history: RunStateJson[];
  task_runs: TaskRunJson[];
  subflows: FlowRunJson[];
}

export function flowRunToJson(row: FlowRunRow): FlowRunJson {
  return {
    ...row,
    parameters: JSON.parse(row.parameters) as Record<string, unknown>,
    cancel_requested: row.cancel_requested === 1,
  };
}

export function taskRunToJson(row: TaskRunRow): TaskRunJson {
  return { ...row, inputs: JSON.parse(row.inputs) as unknown };
}

export function runStateToJson(row: RunStateRow): RunStateJson {
  return { state: row.state, message: row.message, at: row.at };
}

export function deploymentToJson(row: DeploymentRow): DeploymentJson {
  return {
    ...row,
    parameters: JSON.parse(row.parameters) as Record<string, unknown>,
    paused: row.paused === 1,
    allow_overlap: row.allow_overlap === 1,
  };
}
