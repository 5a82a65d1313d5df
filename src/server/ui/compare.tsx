/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// Runs compared side by side: a column per run with its experiment, status, start and duration,
// then a row per metric and per param, the rows whose values differ between the runs marked (and
// optionally the only ones shown); past 40 metrics, the headline ones with all of them folded.
import type { Child, FC } from "hono/jsx";
import type { Run } from "../../tracking/entities.ts";
import { formatNumber } from "./charts.tsx";
import { StateBadge, Time } from "./components.tsx";
import {
  byHeadlineThenName,
  durationOf,
  METRICS_SHOWN,
  runNameOf,
  ShortValue,
} from "./tracking.tsx";

interface CompareRow {
  key: string;
  values: (string | undefined)[];
  differs: boolean;
}

function compareRows(runs: Run[], entries: (run: Run) => [string, string][]): CompareRow[] {
  const maps = runs.map((run) => new Map(entries(run)));
  const keys = [...new Set(maps.flatMap((m) => [...m.keys()]))].sort(byHeadlineThenName);
  return keys.map((key) => {
    const values = maps.map((m) => m.get(key));
    return { key, values, differs: new Set(values).size > 1 };
  });
}

/** The runs' params and metrics (formatted) as rows of their values, run by run. */
export function comparedValues(runs: Run[]): { params: CompareRow[]; metrics: CompareRow[] } {
  return {
    params: compareRows(runs, (run) => run.data.params.map((p) => [p.key, p.value])),
    metrics: compareRows(runs, (run) =>
      run.data.metrics.map((m) => [m.key, formatNumber(m.value)]),
    ),
  };
}

const CompareSection: FC<{ title: string; rows: CompareRow[]; width: number }> = ({
  title,
  rows,
  width,
}) => (
  <>
    <tr>
      <th colspan={width + 1}>
        <h3>{title}</h3>
      </th>
    </tr>
    {rows.length === 0 ? (
      <tr>
        <td colspan={width + 1} class="muted">
          none
        </td>
      </tr>
    ) : (
      rows.map((row) => (
        <tr class={row.differs ? "differs" : undefined}>
          <th>{row.key}</th>
          {row.values.map((value) => (
            <td>
              <ShortValue value={value} />
            </td>
          ))}
        </tr>
      ))
    )}
  </>
);

/** A row of the runs' info: `title`, then each run's cell. */
const InfoRow: FC<{ title: string; runs: Run[]; children: (run: Run) => Child }> = ({
  title,
  runs,
  children,
}) => (
  <tr>
    <th>{title}</th>
    {runs.map((run) => (
      <td>{children(run)}</td>
    ))}
  </tr>
);

export const CompareTables: FC<{
  runs: Run[];
  experimentNames: Map<string, string>;
  params: CompareRow[];
  metrics: CompareRow[];
  onlyDifferences: boolean;
}> = ({ runs, experimentNames, params, metrics, onlyDifferences }) => {
  const shown = (rows: CompareRow[]) => (onlyDifferences ? rows.filter((r) => r.differs) : rows);
  const many = metrics.length > METRICS_SHOWN;
  return (
    <>
      <div class="table-wrap">
        <table class="compare">
          <thead>
            <tr>
              <th>Run</th>
              {runs.map((run) => (
                <th>
                  <a href={`/runs/${run.info.runId}`}>{runNameOf(run.info)}</a>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            <InfoRow title="Experiment" runs={runs}>
              {(run) => (
                <a href={`/experiments/${encodeURIComponent(run.info.experimentId)}`}>
                  {experimentNames.get(run.info.experimentId)}
                </a>
              )}
            </InfoRow>
            <InfoRow title="Status" runs={runs}>
              {(run) => <StateBadge state={run.info.status} />}
            </InfoRow>
            <InfoRow title="Started" runs={runs}>
              {(run) => <Time value={run.info.startTime} />}
            </InfoRow>
            <InfoRow title="Duration" runs={runs}>
              {(run) => durationOf(run.info)}
            </InfoRow>
            <CompareSection
              title={many ? "Headline metrics" : "Metrics"}
              rows={shown(many ? metrics.filter((r) => !r.key.includes(".")) : metrics)}
              width={runs.length}
            />
            <CompareSection title="Params" rows={shown(params)} width={runs.length} />
          </tbody>
        </table>
      </div>
      {many ? (
        <details>
          <summary>
            All {metrics.length} metrics ({metrics.filter((r) => r.differs).length} differ)
          </summary>
          <div class="table-wrap">
            <table class="compare">
              <thead>
                <tr>
                  <th>Metric</th>
                  {runs.map((run) => (
                    <th>{runNameOf(run.info)}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                <CompareSection title="Metrics" rows={shown(metrics)} width={runs.length} />
              </tbody>
            </table>
          </div>
        </details>
      ) : null}
    </>
  );
};
