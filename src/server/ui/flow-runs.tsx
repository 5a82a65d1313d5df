/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// Pieces of the flow-run pages: the list's filters and table, a run's duration so far, the part
// of its page that follows it while it runs (state, details, error, result, its task runs and
// subflows as a tree beside a Gantt-like timeline of CSS bars, state history), and log lines
// with the element that polls for more.
import type { FC } from "hono/jsx";
import type { FlowRunRow, RunLogRow, RunStateRow } from "../../orchestration/run-store.ts";
import { flattenRunTree, type RunTreeNode } from "../../orchestration/run-tree.ts";
import { ACTIVE_STATES, isFinal, RUN_STATES } from "../../orchestration/states.ts";
import {
  Empty,
  formatDuration,
  formatTime,
  KeyValues,
  SelectField,
  StateBadge,
  Table,
  Time,
} from "./components.tsx";

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

export interface RunView {
  run: FlowRunRow;
  history: RunStateRow[];
  tree: RunTreeNode;
  parent: FlowRunRow | undefined;
  result: { shown: string; truncated: boolean } | undefined;
  now: number;
}

/** Polls for the log lines after `after`, replaced by them (and by a next poller). */
export const LogTail: FC<{ id: string; after: number }> = ({ id, after }) => (
  <span
    hx-get={`/flow-runs/${encodeURIComponent(id)}/log?after=${after}`}
    hx-trigger="every 1s"
    hx-swap="outerHTML"
  />
);

export const FlowRunTable: FC<{ runs: FlowRunRow[]; now: number }> = ({ runs, now }) => (
  <Table head={["Flow", "Run", "State", "Deployment", "Started", { numeric: "Duration" }]}>
    {runs.map((run) => (
      <tr>
        <td>{run.flow_name}</td>
        <td>
          <a href={`/flow-runs/${encodeURIComponent(run.id)}`}>
            <code>{shortId(run.id)}</code>
          </a>
          {run.parent_flow_run_id ? (
            <span class="muted">
              {" "}
              subflow of{" "}
              <a href={`/flow-runs/${encodeURIComponent(run.parent_flow_run_id)}`}>
                <code>{shortId(run.parent_flow_run_id)}</code>
              </a>
            </span>
          ) : null}
        </td>
        <td>
          <StateBadge state={run.state} />
        </td>
        <td>
          {run.deployment_name ? (
            <a href={`/deployments/${encodeURIComponent(run.deployment_name)}`}>
              {run.deployment_name}
            </a>
          ) : (
            <span class="muted">—</span>
          )}
        </td>
        <td>
          <Time value={run.started_at === null ? null : Number(run.started_at)} />
        </td>
        <td class="num">{formatDuration(runDuration(run.started_at, run.ended_at, now))}</td>
      </tr>
    ))}
  </Table>
);

/** The part of a run's page that changes while it runs; it polls itself until the run ended. */
export const RunLive: FC<{ view: RunView }> = ({ view }) => {
  const { run, history, tree, parent, result, now } = view;
  const active = !isFinal(run.state);
  const cancellable =
    run.cancel_requested !== 1 &&
    (run.state === "scheduled" || (ACTIVE_STATES as readonly string[]).includes(run.state));
  const live = active
    ? {
        "hx-get": `/flow-runs/${encodeURIComponent(run.id)}/live`,
        "hx-trigger": "every 1500ms",
        "hx-swap": "outerHTML",
      }
    : {};
  return (
    <div id="run-live" {...live}>
      <div class="grid">
        <div class="card">
          <p data-state={run.state}>
            <StateBadge state={run.state} />
            {run.cancel_requested === 1 && active ? (
              <>
                {" "}
                <span class="badge warn">cancel requested</span>
              </>
            ) : null}
          </p>
          <p class="big">{formatDuration(runDuration(run.started_at, run.ended_at, now))}</p>
          <p class="muted">
            {active
              ? run.started_at === null
                ? "waiting to start"
                : "running; this page follows it"
              : `ended ${run.state}`}
          </p>
          {run.state_message ? <p class="muted">{run.state_message}</p> : null}
          {cancellable ? (
            <form
              method="post"
              action={`/flow-runs/${encodeURIComponent(run.id)}/cancel`}
              data-confirm={`Cancel this ${run.flow_name} run?`}
            >
              <button type="submit" class="danger">
                Cancel run
              </button>
            </form>
          ) : null}
        </div>
        <div class="card">
          <KeyValues
            items={[
              ["Flow", run.flow_name],
              [
                "Deployment",
                run.deployment_name ? (
                  <a href={`/deployments/${encodeURIComponent(run.deployment_name)}`}>
                    {run.deployment_name}
                  </a>
                ) : (
                  "—"
                ),
              ],
              [
                "Subflow of",
                run.parent_flow_run_id ? (
                  <a href={`/flow-runs/${encodeURIComponent(run.parent_flow_run_id)}`}>
                    {parent?.flow_name ?? "run"} <code>{shortId(run.parent_flow_run_id)}</code>
                  </a>
                ) : (
                  "—"
                ),
              ],
              ["Created", <Time value={Number(run.created_at)} />],
              ["Started", <Time value={run.started_at === null ? null : Number(run.started_at)} />],
              ["Ended", <Time value={run.ended_at === null ? null : Number(run.ended_at)} />],
              ["Duration", formatDuration(runDuration(run.started_at, run.ended_at, now))],
              ["Attempt", String(run.attempt)],
              ["Host", run.host ? `${run.host} (pid ${run.pid ?? "?"})` : "—"],
            ]}
          />
        </div>
      </div>
      {run.error_message ? (
        <div class="alert bad" role="alert">
          <strong>Error:</strong> {run.error_message}
          {run.error_stack ? (
            <details>
              <summary>Stack trace</summary>
              <pre style="white-space:pre-wrap">{run.error_stack}</pre>
            </details>
          ) : null}
        </div>
      ) : null}
      {result ? (
        <>
          <h2>Result</h2>
          <pre class="log">{result.shown}</pre>
          {result.truncated ? (
            <p class="muted">
              Shortened; the whole result is <code>{run.result_key}</code> in the object store.
            </p>
          ) : null}
        </>
      ) : null}
      <h2>Task runs and subflows</h2>
      {tree.children.length === 0 && tree.omittedTaskRuns === 0 ? (
        <Empty>{active ? "No task runs yet." : "This run ran no tasks or subflows."}</Empty>
      ) : (
        <RunTreeTable root={tree} now={now} />
      )}
      <h2>State history</h2>
      <Table head={["When", "State", "Message"]}>
        {history.map((entry) => (
          <tr>
            <td>
              <Time value={Number(entry.at)} />
            </td>
            <td>
              <StateBadge state={entry.state} />
            </td>
            <td>{entry.message ?? ""}</td>
          </tr>
        ))}
      </Table>
    </div>
  );
};

/** The list's filters: flow, state, deployment, top-level runs only, and a link clearing them. */
export const FlowRunFilters: FC<{
  flows: string[];
  deployments: string[];
  filters:
    | { flowName?: string; state?: string; deploymentName?: string; topLevel: boolean }
    | undefined;
  filtered: boolean;
}> = ({ flows, deployments, filters, filtered }) => (
  <form method="get" action="/flow-runs" class="inline" aria-label="Filters">
    <SelectField
      label="Flow"
      name="flow"
      blank="all flows"
      options={flows}
      selected={filters?.flowName}
    />
    <SelectField
      label="State"
      name="state"
      blank="all states"
      options={RUN_STATES}
      selected={filters?.state}
    />
    <SelectField
      label="Deployment"
      name="deployment"
      blank="any or none"
      options={deployments}
      selected={filters?.deploymentName}
    />
    <label>
      Runs
      <select name="top_level">
        <option value="">with subflows</option>
        <option value="true" selected={filters?.topLevel === true}>
          top-level only
        </option>
      </select>
    </label>
    <button type="submit">Filter</button>
    {filtered ? (
      <a class="button secondary" href="/flow-runs">
        Clear
      </a>
    ) : null}
  </form>
);
