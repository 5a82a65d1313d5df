/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// Pieces of the flow-run pages: a run's duration so far, its task runs and subflows as a tree
// beside a Gantt-like timeline of CSS bars, and log lines.
import type { FC } from "hono/jsx";
import type { RunLogRow } from "../../orchestration/run-store.ts";
import { flattenRunTree, type RunTreeNode } from "../../orchestration/run-tree.ts";
import { formatDuration, formatTime, StateBadge } from "./components.tsx";

const BAR_CLASS: Record<string, string> = {
  completed: "ok",
  cached: "ok",
  failed: "bad",
  crashed: "bad",
  retrying: "warn",
  cancelled: "muted",
  pending: "muted",
  scheduled: "muted",
};

/** From start to end, or to `now` while it runs; undefined before it started. */
export function runDuration(
  startedAt: number | null,
  endedAt: number | null,
  now = Date.now(),
): number | undefined {
  if (startedAt === null) return undefined;
  return Number(endedAt ?? now) - Number(startedAt);
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}

export const RunTreeTable: FC<{ root: RunTreeNode; now: number }> = ({ root, now }) => {
  const rows = flattenRunTree(root);
  const start = root.createdAt;
  let end = start;
  for (const { node } of rows) end = Math.max(end, node.endedAt ?? now, node.startedAt ?? 0);
  const span = Math.max(end - start, 1);
  const percent = (value: number) => Math.min(Math.max(((value - start) / span) * 100, 0), 100);
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Flow / task run</th>
            <th>State</th>
            <th class="num">Duration</th>
            <th>
              Timeline <span class="muted">({formatDuration(span)})</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ node, depth }) => {
            const from = node.startedAt ?? node.createdAt;
            const to = node.endedAt ?? (node.startedAt === null ? from : now);
            const left = percent(from);
            const width = Math.max(percent(to) - left, 0.4);
            const duration = runDuration(node.startedAt, node.endedAt, now);
            const label = `${node.name}: ${node.state}, ${formatDuration(duration)}`;
            return (
              <>
                <tr>
                  <td class="tree" style={`padding-left:${(0.6 + depth * 1.1).toFixed(1)}rem`}>
                    {depth > 0 ? <span class="muted">└ </span> : null}
                    {node.kind === "flow" && depth > 0 ? (
                      <a href={`/flow-runs/${encodeURIComponent(node.id)}`}>{node.name}</a>
                    ) : (
                      <span>{node.name}</span>
                    )}
                    {node.kind === "flow" && depth > 0 ? <span class="muted"> subflow</span> : null}
                    {node.attempt > 1 ? (
                      <span class="muted"> ({node.attempt} attempts)</span>
                    ) : null}
                    {node.error && depth > 0 ? (
                      <div class="muted" style="white-space:normal;max-width:36rem">
                        {node.error}
                      </div>
                    ) : null}
                  </td>
                  <td>
                    <StateBadge state={node.state} />
                  </td>
                  <td class="num">{formatDuration(duration)}</td>
                  <td style="min-width:10rem;width:40%">
                    <div class="gantt" title={label}>
                      <div
                        class={`bar ${BAR_CLASS[node.state] ?? ""}`}
                        style={`left:${left.toFixed(2)}%;width:${width.toFixed(2)}%`}
                      />
                    </div>
                  </td>
                </tr>
                {node.omittedTaskRuns > 0 || node.omittedSubflows > 0 ? (
                  <tr>
                    <td
                      class="muted"
                      colspan={4}
                      style={`padding-left:${(1.7 + depth * 1.1).toFixed(1)}rem`}
                    >
                      {node.omittedTaskRuns > 0
                        ? `… ${node.omittedTaskRuns} more task runs not shown`
                        : ""}
                      {node.omittedSubflows > 0
                        ? ` … ${node.omittedSubflows} deeper subflows (open ${node.name} to see them)`
                        : ""}
                    </td>
                  </tr>
                ) : null}
              </>
            );
          })}
        </tbody>
      </table>
    </div>
  );
};

const LEVEL_STYLE: Record<string, string> = {
  error: "color:var(--bad)",
  warn: "color:var(--warn)",
  debug: "color:var(--muted)",
};

/** Log lines as text lines, one span each (errors and warnings marked). */
export const LogLines: FC<{ lines: RunLogRow[] }> = ({ lines }) => (
  <>
    {lines.map((line) => (
      <span style={LEVEL_STYLE[line.level]}>
        {`${formatTime(new Date(Number(line.at))).slice(11, 19)} ${line.level.toUpperCase().padEnd(5)} ${line.task_run_id ? `[${shortId(line.task_run_id)}] ` : ""}${line.message}\n`}
      </span>
    ))}
  </>
);
