// A flow run with its task runs and subflows (and theirs) as one tree, in the order they were
// created, bounded in depth and in the number of task runs read, for pages that draw it.
import type { FlowRunRow, RunStore, TaskRunRow } from "./run-store.ts";

export interface RunTreeNode {
  kind: "flow" | "task";
  id: string;
  /** The flow's name, or the task's name with its index among that task's calls. */
  name: string;
  state: string;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  attempt: number;
  error: string | null;
  /** Where a task run ran (host:pid); null for flows. */
  worker: string | null;
  children: RunTreeNode[];
  /** Task runs of this flow run left out to keep within the limit. */
  omittedTaskRuns: number;
  /** Subflows left out because the tree is deeper than the limit. */
  omittedSubflows: number;
}

export interface RunTreeLimits {
  /** Most task runs read over the whole tree (default 500). */
  taskRuns?: number;
  /** Most levels of subflows below the root (default 8). */
  depth?: number;
}

export async function flowRunTree(
  runs: RunStore,
  root: FlowRunRow,
  limits: RunTreeLimits = {},
): Promise<RunTreeNode> {
  let taskBudget = limits.taskRuns ?? 500;
  const maxDepth = limits.depth ?? 8;
  const build = async (run: FlowRunRow, depth: number): Promise<RunTreeNode> => {
    const [taskRuns, total, subflows] = await Promise.all([
      runs.listTaskRuns(run.id, Math.max(taskBudget, 0)),
      runs.countTaskRuns(run.id),
      runs.listSubflows(run.id),
    ]);
    const listed = taskRuns.slice(0, Math.max(taskBudget, 0));
    taskBudget -= listed.length;
    const node = flowNode(run);
    node.omittedTaskRuns = total - listed.length;
    const children: RunTreeNode[] = listed.map(taskNode);
    if (depth < maxDepth)
      for (const subflow of subflows) children.push(await build(subflow, depth + 1));
    else node.omittedSubflows = subflows.length;
    node.children = children.sort((a, b) => a.createdAt - b.createdAt);
    return node;
  };
  return build(root, 0);
}

/** The tree's nodes depth first, each with its depth (0 for the root). */
export function flattenRunTree(root: RunTreeNode): { node: RunTreeNode; depth: number }[] {
  const rows: { node: RunTreeNode; depth: number }[] = [];
  const visit = (node: RunTreeNode, depth: number): void => {
    rows.push({ node, depth });
    for (const child of node.children) visit(child, depth + 1);
  };
  visit(root, 0);
  return rows;
}

function flowNode(run: FlowRunRow): RunTreeNode {
  return {
    kind: "flow",
    id: run.id,
    name: run.flow_name,
    state: run.state,
    createdAt: Number(run.created_at),
    startedAt: run.started_at === null ? null : Number(run.started_at),
    endedAt: run.ended_at === null ? null : Number(run.ended_at),
    attempt: run.attempt,
    error: run.error_message,
    worker: null,
    children: [],
    omittedTaskRuns: 0,
    omittedSubflows: 0,
  };
}

function taskNode(run: TaskRunRow): RunTreeNode {
  return {
    kind: "task",
    id: run.id,
    name: `${run.task_name}-${run.task_index}`,
    state: run.state,
    createdAt: Number(run.created_at),
    startedAt: run.started_at === null ? null : Number(run.started_at),
    endedAt: run.ended_at === null ? null : Number(run.ended_at),
    attempt: run.attempt,
    error: run.state === "completed" || run.state === "cached" ? null : run.error_message,
    worker: run.worker,
    children: [],
    omittedTaskRuns: 0,
    omittedSubflows: 0,
  };
}
