/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// Pieces the tracking pages (an experiment's runs, a run, runs compared) share: a run's name and
// duration, values shortened or folded away, key-value tables, the order of metric keys, and the
// metric charts of one run or of several side by side.
import type { FC } from "hono/jsx";
import type { Metric, RunInfo } from "../../tracking/entities.ts";
import type { MetricChart } from "../../tracking/metric-sampling.ts";
import { LineChart } from "./charts.tsx";
import { formatDuration } from "./components.tsx";

/** Where a refused experiments, run or comparison page links back to. */
export const BACK_TO_EXPERIMENTS = { href: "/experiments", text: "All experiments" };
/** Metrics charted on a page at most, and the steps drawn of each. */
export const CHART_LIMITS = { maxCharts: 12, maxPoints: 500 };
/** Runs one comparison shows side by side at most. */
export const MAX_COMPARED_RUNS = 10;
/** Metrics a run or a comparison lists at once before the rest go behind a disclosure. */
export const METRICS_SHOWN = 40;
const LONG_VALUE = 80;

export function runNameOf(info: RunInfo): string {
  return info.runName || info.runId.slice(0, 12);
}

export function durationOf(info: RunInfo): string {
  if (info.endTime === undefined) return info.status === "RUNNING" ? "running" : "—";
  return formatDuration(info.endTime - info.startTime);
}

/** Keys without a dot (headline metrics) first, then the rest, each alphabetically. */
export function byHeadlineThenName(a: string, b: string): number {
  const dotted = Number(a.includes(".")) - Number(b.includes("."));
  return dotted || (a < b ? -1 : a > b ? 1 : 0);
}

/** A value in a table cell: the first 80 characters, the rest in its title. */
export const ShortValue: FC<{ value: string | undefined }> = ({ value }) => {
  if (value === undefined) return <span class="muted">—</span>;
  if (value.length <= LONG_VALUE) return <>{value}</>;
  return <span title={value.slice(0, 2000)}>{`${value.slice(0, LONG_VALUE)}…`}</span>;
};

const LongValue: FC<{ value: string }> = ({ value }) =>
  value.length <= 200 ? (
    <code>{value}</code>
  ) : (
    <details>
      <summary>
        <code>{`${value.slice(0, 120)}…`}</code> ({value.length} characters)
      </summary>
      <pre class="log">{value}</pre>
    </details>
  );

/** Params or tags, one row each, long values folded away. */
export const KeyValueTable: FC<{ rows: { key: string; value: string }[] }> = ({ rows }) => (
  <div class="table-wrap">
    <table>
      <tbody>
        {rows.map((row) => (
          <tr>
            <th>{row.key}</th>
            <td>
              <LongValue value={row.value} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);

/**
 * How a chart spreads a metric's history: by step when it has several steps, else by seconds
 * since its first value (several values logged at one step).
 */
function chartAxis(history: Metric[]): {
  label: string;
  points: (metrics: Metric[]) => { x: number; y: number }[];
} {
  const steps = new Set(history.map((m) => m.step));
  if (steps.size > 1)
    return { label: "step", points: (metrics) => metrics.map((m) => ({ x: m.step, y: m.value })) };
  const start = Math.min(...history.map((m) => m.timestamp));
  return {
    label: "seconds",
    points: (metrics) =>
      [...metrics]
        .sort((a, b) => a.timestamp - b.timestamp)
        .map((m) => ({ x: (m.timestamp - start) / 1000, y: m.value })),
  };
}

/** The charts of the runs' metrics, a series per run, saying when some metrics are left out. */
export const MetricCharts: FC<{
  charts: MetricChart[];
  keysWithHistory: number;
  runs: RunInfo[];
}> = ({ charts, keysWithHistory, runs }) => (
  <>
    <h2>Metric charts</h2>
    {keysWithHistory > charts.length ? (
      <p class="muted">
        The first {charts.length} of {keysWithHistory} metrics with more than one value, by name.
      </p>
    ) : null}
    <div class="charts">
      {charts.map(({ key, history }) => {
        const axis = chartAxis(history);
        const series = runs.map((run) => ({
          label: runNameOf(run),
          points: axis.points(history.filter((m) => m.runId === run.runId)),
        }));
        return <LineChart title={key} xLabel={axis.label} series={series} />;
      })}
    </div>
  </>
);
