/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The runs table of an experiment's page: a row per run with its status, start and duration and a
// column per chosen metric and param, headers that sort the search, checkboxes that pick runs to
// compare, and the form that chooses the columns (with the parsing of what it sends).
import type { FC } from "hono/jsx";
import { InputError } from "../../common/errors.ts";
import type { RunInfo } from "../../tracking/entities.ts";
import { fieldReference } from "../../tracking/filter.ts";
import { formatNumber } from "./charts.tsx";
import { StateBadge, Time } from "./components.tsx";
import {
  byHeadlineThenName,
  durationOf,
  MAX_COMPARED_RUNS,
  runNameOf,
  ShortValue,
} from "./tracking.tsx";

const DEFAULT_METRIC_COLUMNS = 8;
const DEFAULT_PARAM_COLUMNS = 6;
/** Columns of each kind a runs table shows at most, and keys offered to choose from. */
const MAX_COLUMNS = 30;
const MAX_COLUMN_CHOICES = 300;
const MAX_KEY_LENGTH = 250;

export interface ColumnChoice {
  /** Undefined: chosen from the page's runs. */
  metrics: string[] | undefined;
  params: string[] | undefined;
}

export interface TableColumns {
  metrics: string[];
  params: string[];
  allMetrics: string[];
  allParams: string[];
}

/** The page's runs' params and metrics, by run id. */
export type RunValues = Map<string, { params: Map<string, string>; metrics: Map<string, number> }>;

/** The sort the table's headers change: the page's address, query and order. */
interface Sorting {
  base: string;
  query: URLSearchParams;
  orderBy: string;
}

/** The columns the choice form sent (`columns=chosen` with `metric` and `param` keys), checked. */
export function chosenColumns(query: URLSearchParams): ColumnChoice {
  if (query.get("columns") !== "chosen") return { metrics: undefined, params: undefined };
  const keys = (name: string) => {
    const values = [...new Set(query.getAll(name))];
    if (values.length > MAX_COLUMNS)
      throw new InputError(
        `${name}: at most ${MAX_COLUMNS} columns may be shown; got ${values.length}`,
      );
    for (const value of values)
      if (value.length === 0 || value.length > MAX_KEY_LENGTH)
        throw new InputError(`${name}: a key must have 1 to ${MAX_KEY_LENGTH} characters`);
    return values;
  };
  return { metrics: keys("metric"), params: keys("param") };
}

/**
 * The runs table's columns: those chosen, else the page's headline metrics, and its params
 * whose values differ between the page's runs before the others.
 */
export function tableColumns(
  runCount: number,
  keys: { metrics: string[]; params: { key: string; runs: number; values: number }[] },
  choice: ColumnChoice,
): TableColumns {
  const allMetrics = [...new Set([...keys.metrics, ...(choice.metrics ?? [])])].sort(
    byHeadlineThenName,
  );
  const allParams = [
    ...new Set([...keys.params.map((p) => p.key), ...(choice.params ?? [])]),
  ].sort();
  const varying = new Set(
    keys.params.filter((p) => p.values > 1 || p.runs < runCount).map((p) => p.key),
  );
  const defaultParams = [
    ...allParams.filter((key) => varying.has(key)),
    ...allParams.filter((key) => !varying.has(key)),
  ].slice(0, DEFAULT_PARAM_COLUMNS);
  return {
    metrics: choice.metrics ?? allMetrics.slice(0, DEFAULT_METRIC_COLUMNS),
    params: choice.params ?? defaultParams,
    allMetrics,
    allParams,
  };
}

/** Hidden fields carrying the query's `names` parameters through a form. */
export const KeptParams: FC<{ query: URLSearchParams; names: string[] }> = ({ query, names }) => (
  <>
    {[...query.entries()]
      .filter(([name]) => names.includes(name))
      .map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
  </>
);

const KeyChoices: FC<{ title: string; name: string; keys: string[]; chosen: string[] }> = ({
  title,
  name,
  keys,
  chosen,
}) => (
  <>
    <h3>{title}</h3>
    <div class="columns-choice">
      {keys.slice(0, MAX_COLUMN_CHOICES).map((key) => (
        <label>
          <input type="checkbox" name={name} value={key} checked={chosen.includes(key)} />
          {key}
        </label>
      ))}
    </div>
  </>
);

/** The disclosure with the form that chooses the table's metric and param columns. */
export const ColumnsForm: FC<{ base: string; query: URLSearchParams; columns: TableColumns }> = ({
  base,
  query,
  columns,
}) => (
  <details>
    <summary>
      Columns: {columns.metrics.length} of {columns.allMetrics.length} metrics,{" "}
      {columns.params.length} of {columns.allParams.length} params
    </summary>
    <form method="get" action={base}>
      <KeptParams query={query} names={["filter", "order_by", "max_results"]} />
      <input type="hidden" name="columns" value="chosen" />
      <KeyChoices
        title="Metrics"
        name="metric"
        keys={columns.allMetrics}
        chosen={columns.metrics}
      />
      <KeyChoices title="Params" name="param" keys={columns.allParams} chosen={columns.params} />
      <p>
        <button type="submit">Show these columns</button> (at most {MAX_COLUMNS} of each)
      </p>
    </form>
  </details>
);

const SortHeader: FC<{
  sorting: Sorting;
  field: string;
  label: string;
  title?: string;
  ascendingFirst?: boolean;
  numeric?: boolean;
}> = ({ sorting, field, label, title, ascendingFirst = false, numeric = false }) => {
  const asc = `${field} ASC`;
  const desc = `${field} DESC`;
  const next = new URLSearchParams(sorting.query);
  next.delete("page_token");
  const current = sorting.orderBy === asc ? "asc" : sorting.orderBy === desc ? "desc" : undefined;
  next.set(
    "order_by",
    current === "desc" ? asc : current === "asc" ? desc : ascendingFirst ? asc : desc,
  );
  return (
    <th class={numeric ? "num" : undefined} title={title}>
      <a href={`${sorting.base}?${next}`} class={current ? "sorted" : undefined}>
        {label}
        {current === "asc" ? " ▲" : current === "desc" ? " ▼" : ""}
      </a>
    </th>
  );
};

/** The runs in a form that compares the ones checked. */
export const RunsTable: FC<{
  sorting: Sorting;
  runs: RunInfo[];
  values: RunValues;
  columns: TableColumns;
}> = ({ sorting, runs, values, columns }) => (
  <form method="get" action="/compare" id="compare-runs">
    <div class="table-wrap">
      <table class="runs">
        <thead>
          <tr>
            <th class="select">
              <span class="muted" title="select runs to compare">
                ✓
              </span>
            </th>
            <SortHeader sorting={sorting} field="attributes.run_name" label="Run" ascendingFirst />
            <SortHeader sorting={sorting} field="attributes.status" label="Status" ascendingFirst />
            <SortHeader sorting={sorting} field="attributes.start_time" label="Started" />
            <th>Duration</th>
            {(["metrics", "params"] as const).map((entity) =>
              columns[entity].map((key) => (
                <SortHeader
                  sorting={sorting}
                  field={fieldReference(entity, key)}
                  label={key}
                  title={`${entity}.${key}`}
                  numeric={entity === "metrics"}
                  ascendingFirst={entity === "params"}
                />
              )),
            )}
          </tr>
        </thead>
        <tbody>
          {runs.map((info) => {
            const { params, metrics } = values.get(info.runId) ?? {
              params: new Map<string, string>(),
              metrics: new Map<string, number>(),
            };
            return (
              <tr>
                <td class="select">
                  <input
                    type="checkbox"
                    name="runs"
                    value={info.runId}
                    aria-label={`select run ${runNameOf(info)}`}
                  />
                </td>
                <td>
                  <a href={`/runs/${info.runId}`}>{runNameOf(info)}</a>
                </td>
                <td>
                  <StateBadge state={info.status} />
                </td>
                <td>
                  <Time value={info.startTime} />
                </td>
                <td>{durationOf(info)}</td>
                {columns.metrics.map((key) => {
                  const value = metrics.get(key);
                  return (
                    <td class="num" title={value === undefined ? undefined : String(value)}>
                      {value === undefined ? <span class="muted">—</span> : formatNumber(value)}
                    </td>
                  );
                })}
                {columns.params.map((key) => (
                  <td>
                    <ShortValue value={params.get(key)} />
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
    <p>
      <button type="submit">Compare selected runs</button>{" "}
      <span class="muted">(2 to {MAX_COMPARED_RUNS})</span>
    </p>
  </form>
);
