/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The experiments pages: experiments, an experiment's runs searched with MLflow's filter syntax
// (sortable param and metric columns, pages, runs picked for comparison), a run's page (info,
// params, metrics with charts, tags, datasets, the per-genre table, artifacts to browse and
// download), runs compared side by side, and artifact downloads.
import { Readable } from "node:stream";
import { type Context, Hono } from "hono";
import type { Child } from "hono/jsx";
import { InputError } from "../../common/errors.ts";
import { parseCsv } from "../../features/csv.ts";
import { PER_GENRE_ARTIFACT } from "../../flows/train.ts";
import { checkArtifactPath } from "../../tracking/artifact-uri.ts";
import {
  DATASET_CONTEXT_TAG,
  type Experiment,
  type FileInfo,
  type Metric,
  type ModelVersion,
  type Run,
  type RunInfo,
} from "../../tracking/entities.ts";
import { TrackingError } from "../../tracking/errors.ts";
import { metricHistoryBulkInterval } from "../../tracking/metric-sampling.ts";
import { checkRunId } from "../../tracking/validation.ts";
import type { ServerContext, ServerEnv } from "../context.ts";
import { type ChartSeries, formatNumber, LineChart } from "../ui/charts.tsx";
import { Empty, formatDuration, KeyValues, Pager, StateBadge, Time } from "../ui/components.tsx";
import { Page } from "../ui/layout.tsx";

const EXPERIMENTS_PAGE_SIZE = 100;
const RUNS_PAGE_DEFAULT = 50;
const RUNS_PAGE_MAX = 100;
const DEFAULT_METRIC_COLUMNS = 8;
const DEFAULT_PARAM_COLUMNS = 6;
/** Columns of each kind a runs table shows at most, and keys offered to choose from. */
const MAX_COLUMNS = 30;
const MAX_COLUMN_CHOICES = 300;
const MAX_KEY_LENGTH = 250;
export const MAX_COMPARED_RUNS = 10;
const MAX_CHARTS = 12;
const CHART_POINTS = 500;
const MAX_ARTIFACT_ENTRIES = 500;
/** Metrics a run page lists at once before the rest go behind a disclosure. */
const METRICS_SHOWN = 40;
const MAX_TABLE_ARTIFACT_BYTES = 1024 * 1024;
const LONG_VALUE = 80;

type C = Context<ServerEnv>;

export function experimentsRoutes(context: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const tracking = context.tracking;
  const loggedIn = context.token !== undefined;

  const errorPage = (c: C, error: unknown, title = "Error") => {
    const status = statusOf(error);
    if (status === undefined) throw error;
    return c.html(
      <Page title={status === 404 ? "Not found" : title} section="experiments" loggedIn={loggedIn}>
        <p class="alert bad">{(error as Error).message}</p>
        <p>
          <a href="/experiments">All experiments</a>
        </p>
      </Page>,
      status,
    );
  };

  app.get("/experiments", async (c) => {
    const nameQuery = c.req.query("name")?.trim() ?? "";
    const pageToken = c.req.query("page_token") || undefined;
    let page: Awaited<ReturnType<typeof tracking.searchExperiments>>;
    try {
      page = await tracking.searchExperiments({
        filter:
          nameQuery === "" ? undefined : `name ILIKE ${filterString(`%${likeText(nameQuery)}%`)}`,
        maxResults: EXPERIMENTS_PAGE_SIZE,
        pageToken,
      });
    } catch (error) {
      return errorPage(c, error);
    }
    const counts = await tracking.tracking.runCountsByExperiment(
      page.items.map((e) => e.experimentId),
    );
    const query = new URL(c.req.url).searchParams;
    return c.html(
      <Page
        title="Experiments"
        section="experiments"
        loggedIn={loggedIn}
        subtitle="Tracked training and monitoring runs, grouped by experiment."
      >
        <form method="get" action="/experiments" class="inline">
          <label>
            Name contains
            <input type="search" name="name" value={nameQuery} maxlength={250} />
          </label>
          <button type="submit">Search</button>
        </form>
        {page.items.length === 0 ? (
          <Empty>No experiments{nameQuery ? " match that name" : ""}.</Empty>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Name</th>
                  <th class="num">Id</th>
                  <th class="num">Runs</th>
                  <th>Last update</th>
                  <th>Created</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((experiment) => {
                  const stats = counts.get(experiment.experimentId);
                  const lastUpdate = Math.max(experiment.lastUpdateTime, stats?.lastStartTime ?? 0);
                  return (
                    <tr>
                      <td>
                        <a href={`/experiments/${encodeURIComponent(experiment.experimentId)}`}>
                          {experiment.name}
                        </a>
                      </td>
                      <td class="num">{experiment.experimentId}</td>
                      <td class="num">{stats?.runs ?? 0}</td>
                      <td>
                        <Time value={lastUpdate} />
                      </td>
                      <td>
                        <Time value={experiment.creationTime} />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        <Pager base="/experiments" query={query} next={page.nextPageToken} />
      </Page>,
    );
  });

  app.get("/experiments/:id", async (c) => {
    let experiment: Experiment;
    try {
      experiment = await tracking.getExperiment(c.req.param("id"));
    } catch (error) {
      return errorPage(c, error);
    }
    const url = new URL(c.req.url);
    const query = url.searchParams;
    const filter = query.get("filter") ?? "";
    const orderBy = query.get("order_by")?.trim() ?? "";
    const pageToken = query.get("page_token") || undefined;
    const base = `/experiments/${encodeURIComponent(experiment.experimentId)}`;
    let searchError: string | undefined;
    let runs: RunInfo[] = [];
    let nextPageToken: string | undefined;
    let choice: ColumnChoice;
    try {
      const maxResults = pageSize(query.get("max_results"));
      choice = chosenColumns(query);
      const page = await tracking.tracking.searchRunInfos({
        experimentIds: [experiment.experimentId],
        filter,
        orderBy: orderBy === "" ? undefined : [orderBy],
        maxResults,
        pageToken,
      });
      runs = page.items;
      nextPageToken = page.nextPageToken;
    } catch (error) {
      if (statusOf(error) === undefined) throw error;
      searchError = (error as Error).message;
      choice = { metrics: undefined, params: undefined };
    }
    const stats = (await tracking.tracking.runCountsByExperiment([experiment.experimentId])).get(
      experiment.experimentId,
    );
    const runIds = runs.map((run) => run.runId);
    const columns = tableColumns(runs.length, await tracking.tracking.runKeys(runIds), choice);
    const values = await tracking.tracking.runValues(runIds, columns);
    const sortLink = (field: string, ascendingFirst: boolean) => {
      const asc = `${field} ASC`;
      const desc = `${field} DESC`;
      const next = new URLSearchParams(query);
      next.delete("page_token");
      const current = orderBy === asc ? "asc" : orderBy === desc ? "desc" : undefined;
      next.set(
        "order_by",
        current === "desc" ? asc : current === "asc" ? desc : ascendingFirst ? asc : desc,
      );
      return { href: `${base}?${next}`, current };
    };
    const SortHeader = ({
      field,
      label,
      title,
      ascendingFirst = false,
      numeric = false,
    }: {
      field: string;
      label: string;
      title?: string;
      ascendingFirst?: boolean;
      numeric?: boolean;
    }) => {
      const link = sortLink(field, ascendingFirst);
      return (
        <th class={numeric ? "num" : undefined} title={title}>
          <a href={link.href} class={link.current ? "sorted" : undefined}>
            {label}
            {link.current === "asc" ? " ▲" : link.current === "desc" ? " ▼" : ""}
          </a>
        </th>
      );
    };
    const kept = (names: string[]) =>
      [...query.entries()]
        .filter(([name]) => names.includes(name))
        .map(([name, value]) => <input type="hidden" name={name} value={value} />);
    return c.html(
      <Page
        title={experiment.name}
        section="experiments"
        loggedIn={loggedIn}
        subtitle={
          <>
            <a href="/experiments">Experiments</a> · experiment {experiment.experimentId} ·{" "}
            {stats?.runs ?? 0} runs
            {experiment.lifecycleStage === "deleted" ? (
              <>
                {" "}
                · <span class="badge muted">deleted</span>
              </>
            ) : null}
          </>
        }
      >
        <form method="get" action={base} class="inline">
          <label style="flex:1 1 24rem">
            Filter (MLflow syntax)
            <input
              type="search"
              name="filter"
              value={filter}
              maxlength={50_000}
              placeholder="metrics.jaccard_samples > 0.4 and params.seed = '0'"
            />
          </label>
          <label>
            Order by
            <input
              type="text"
              name="order_by"
              value={orderBy}
              maxlength={1000}
              placeholder="metrics.jaccard_samples DESC"
            />
          </label>
          <label>
            Per page
            <select name="max_results">
              {[25, 50, 100].map((size) => (
                <option
                  value={String(size)}
                  selected={
                    String(size) === (query.get("max_results") ?? String(RUNS_PAGE_DEFAULT))
                  }
                >
                  {size}
                </option>
              ))}
            </select>
          </label>
          {kept(["metric", "param", "columns"])}
          <button type="submit">Search</button>
        </form>
        {searchError !== undefined ? (
          <p class="alert bad" role="alert">
            {searchError}
          </p>
        ) : runs.length === 0 ? (
          <Empty>No runs{filter.trim() ? " match this filter" : " in this experiment yet"}.</Empty>
        ) : (
          <>
            <details>
              <summary>
                Columns: {columns.metrics.length} of {columns.allMetrics.length} metrics,{" "}
                {columns.params.length} of {columns.allParams.length} params
              </summary>
              <form method="get" action={base}>
                {kept(["filter", "order_by", "max_results"])}
                <input type="hidden" name="columns" value="chosen" />
                <h3>Metrics</h3>
                <div class="columns-choice">
                  {columns.allMetrics.slice(0, MAX_COLUMN_CHOICES).map((key) => (
                    <label>
                      <input
                        type="checkbox"
                        name="metric"
                        value={key}
                        checked={columns.metrics.includes(key)}
                      />
                      {key}
                    </label>
                  ))}
                </div>
                <h3>Params</h3>
                <div class="columns-choice">
                  {columns.allParams.slice(0, MAX_COLUMN_CHOICES).map((key) => (
                    <label>
                      <input
                        type="checkbox"
                        name="param"
                        value={key}
                        checked={columns.params.includes(key)}
                      />
                      {key}
                    </label>
                  ))}
                </div>
                <p>
                  <button type="submit">Show these columns</button> (at most {MAX_COLUMNS} of each)
                </p>
              </form>
            </details>
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
                      <SortHeader field="attributes.run_name" label="Run" ascendingFirst />
                      <SortHeader field="attributes.status" label="Status" ascendingFirst />
                      <SortHeader field="attributes.start_time" label="Started" />
                      <th>Duration</th>
                      {columns.metrics.map((key) => (
                        <SortHeader
                          field={fieldReference("metrics", key)}
                          label={key}
                          title={`metrics.${key}`}
                          numeric
                        />
                      ))}
                      {columns.params.map((key) => (
                        <SortHeader
                          field={fieldReference("params", key)}
                          label={key}
                          title={`params.${key}`}
                          ascendingFirst
                        />
                      ))}
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
                              <td
                                class="num"
                                title={value === undefined ? undefined : String(value)}
                              >
                                {value === undefined ? (
                                  <span class="muted">—</span>
                                ) : (
                                  formatNumber(value)
                                )}
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
            <nav class="pager">
              {pageToken !== undefined ? (
                <a href={`${base}?${withoutPageToken(query)}`}>← First page</a>
              ) : null}
            </nav>
            <Pager base={base} query={query} next={nextPageToken} />
          </>
        )}
      </Page>,
      searchError === undefined ? 200 : 400,
    );
  });

  app.get("/runs/:id", async (c) => {
    let run: Run;
    try {
      run = await tracking.getRun(c.req.param("id"));
    } catch (error) {
      return errorPage(c, error);
    }
    const runId = run.info.runId;
    const folder = c.req.query("artifacts") ?? "";
    const [experiment, versions, historyKeys, perGenre, listing] = await Promise.all([
      tracking.getExperiment(run.info.experimentId),
      tracking.searchModelVersions({ filter: `run_id = ${filterString(runId)}`, maxResults: 100 }),
      tracking.tracking.metricKeysWithHistory([runId]),
      readTableArtifact(context, run, PER_GENRE_ARTIFACT),
      listArtifactFolder(context, runId, folder),
    ]);
    const keysWithHistory = historyKeys.get(runId) ?? [];
    const chartKeys = keysWithHistory.slice(0, MAX_CHARTS);
    const charts = await Promise.all(
      chartKeys.map(async (key) => ({
        key,
        history: await metricHistoryBulkInterval(tracking.tracking, {
          runIds: [runId],
          metricKey: key,
          maxResults: CHART_POINTS,
        }),
      })),
    );
    const metrics = run.data.metrics;
    const headline =
      metrics.length > METRICS_SHOWN ? metrics.filter((m) => !m.key.includes(".")) : metrics;
    return c.html(
      <Page
        title={runNameOf(run.info)}
        section="experiments"
        loggedIn={loggedIn}
        subtitle={
          <>
            <a href="/experiments">Experiments</a> ·{" "}
            <a href={`/experiments/${encodeURIComponent(experiment.experimentId)}`}>
              {experiment.name}
            </a>{" "}
            · run <code>{runId}</code>
          </>
        }
      >
        <div class="grid">
          <section class="card">
            <h2>Run</h2>
            <KeyValues
              items={[
                ["Status", <StateBadge state={run.info.status} />],
                ["Started", <Time value={run.info.startTime} />],
                ["Ended", <Time value={run.info.endTime} />],
                ["Duration", durationOf(run.info)],
                ["User", run.info.userId],
                ["Artifacts", <code>{run.info.artifactUri}</code>],
                ...(run.info.lifecycleStage === "deleted"
                  ? ([["Lifecycle", <span class="badge muted">deleted</span>]] as [string, Child][])
                  : []),
                ...(versions.items.length > 0
                  ? ([
                      [
                        "Registered as",
                        versions.items.map((v) => (
                          <>
                            <a href={`/models/${encodeURIComponent(v.name)}`}>
                              {v.name} v{v.version}
                            </a>
                            {v.aliases.map((alias) => (
                              <>
                                {" "}
                                <span class="badge ok">{alias}</span>
                              </>
                            ))}{" "}
                          </>
                        )),
                      ],
                    ] as [string, Child][])
                  : []),
              ]}
            />
          </section>
          <GateCard run={run} versions={versions.items} />
        </div>

        {charts.length > 0 ? (
          <>
            <h2>Metric charts</h2>
            <ChartsLeftOut shown={chartKeys.length} all={keysWithHistory.length} />
            <div class="charts">
              {charts.map(({ key, history }) => {
                const axis = chartAxis(history);
                return (
                  <LineChart
                    title={key}
                    xLabel={axis.label}
                    series={[{ label: runNameOf(run.info), points: axis.points(history) }]}
                  />
                );
              })}
            </div>
          </>
        ) : null}

        <h2>Metrics</h2>
        {metrics.length === 0 ? (
          <Empty>No metrics logged.</Empty>
        ) : (
          <>
            {headline.length > 0 ? <MetricsTable metrics={headline} /> : null}
            {headline.length < metrics.length ? (
              <details>
                <summary>All {metrics.length} metrics</summary>
                <MetricsTable metrics={metrics} />
              </details>
            ) : null}
          </>
        )}

        {perGenre !== undefined ? (
          <>
            <h2 id="per-genre">Per genre</h2>
            <p class="muted">
              Validation scores per genre, from the run's <code>{PER_GENRE_ARTIFACT}</code>.
            </p>
            <CsvTable table={perGenre} />
          </>
        ) : null}

        <h2>Params</h2>
        {run.data.params.length === 0 ? (
          <Empty>No params logged.</Empty>
        ) : (
          <KeyValueTable rows={run.data.params} />
        )}

        {run.inputs.datasetInputs.length > 0 ? (
          <>
            <h2>Datasets</h2>
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Role</th>
                    <th>Digest</th>
                    <th>Source</th>
                    <th>Profile</th>
                  </tr>
                </thead>
                <tbody>
                  {run.inputs.datasetInputs.map((input) => (
                    <tr>
                      <td>{input.dataset.name}</td>
                      <td>
                        {input.tags.find((t) => t.key === DATASET_CONTEXT_TAG)?.value ?? (
                          <span class="muted">—</span>
                        )}
                      </td>
                      <td>
                        <code>{input.dataset.digest}</code>
                      </td>
                      <td>
                        <code>{input.dataset.source}</code>
                      </td>
                      <td>
                        <ShortValue value={input.dataset.profile} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        ) : null}

        <h2>Tags</h2>
        {run.data.tags.length === 0 ? (
          <Empty>No tags.</Empty>
        ) : (
          <KeyValueTable rows={run.data.tags} />
        )}

        <h2 id="artifacts">Artifacts</h2>
        <ArtifactListing runId={runId} folder={listing.folder} entries={listing.entries} />
      </Page>,
    );
  });

  app.get("/runs/:id/artifacts/*", async (c) => {
    let runId: string;
    let path: string;
    try {
      runId = checkRunId(c.req.param("id"));
      path = artifactPathOf(c, runId);
    } catch (error) {
      return errorPage(c, error);
    }
    let run: Run;
    try {
      run = await tracking.getRun(runId);
    } catch (error) {
      return errorPage(c, error);
    }
    const artifacts = tracking.artifacts;
    const location = artifacts.locate(run.info.artifactUri, path);
    const info = await artifacts.head(location);
    if (info === undefined) {
      const inside = await artifacts.list(location);
      if (inside.length > 0)
        return c.redirect(`/runs/${runId}?artifacts=${encodeURIComponent(path)}#artifacts`, 303);
      return errorPage(
        c,
        new TrackingError(
          "RESOURCE_DOES_NOT_EXIST",
          `run ${runId} has no artifact ${JSON.stringify(path)}`,
        ),
      );
    }
    const stream = await artifacts.getStream(location);
    const name = path.split("/").at(-1) as string;
    return new Response(Readable.toWeb(stream) as ReadableStream, {
      status: 200,
      headers: {
        "Content-Type": "application/octet-stream",
        "Content-Length": String(info.size),
        "Content-Disposition": attachment(name),
        "Cache-Control": "private, no-store",
      },
    });
  });

  app.get("/compare", async (c) => {
    let runs: Run[];
    try {
      const ids = comparedRunIds(c.req.queries("runs") ?? []);
      runs = await Promise.all(ids.map((id) => tracking.getRun(id)));
    } catch (error) {
      return errorPage(c, error, "Cannot compare");
    }
    const onlyDifferences = c.req.query("differences") === "only";
    const runIds = runs.map((r) => r.info.runId);
    const historyKeys = await tracking.tracking.metricKeysWithHistory(runIds);
    const keysWithHistory = [...new Set([...historyKeys.values()].flat())].sort();
    const chartKeys = keysWithHistory.slice(0, MAX_CHARTS);
    const charts = await Promise.all(
      chartKeys.map(async (key) => ({
        key,
        history: await metricHistoryBulkInterval(tracking.tracking, {
          runIds,
          metricKey: key,
          maxResults: CHART_POINTS,
        }),
      })),
    );
    const experimentNames = new Map<string, string>();
    for (const id of new Set(runs.map((r) => r.info.experimentId)))
      experimentNames.set(id, (await tracking.getExperiment(id)).name);
    const paramRows = compareRows(runs, (run) => run.data.params.map((p) => [p.key, p.value]));
    const metricRows = compareRows(runs, (run) =>
      run.data.metrics.map((m) => [m.key, formatNumber(m.value)]),
    );
    const query = new URLSearchParams(new URL(c.req.url).search);
    const toggle = new URLSearchParams(query);
    if (onlyDifferences) toggle.delete("differences");
    else toggle.set("differences", "only");
    const shown = (rows: CompareRow[]) => (onlyDifferences ? rows.filter((r) => r.differs) : rows);
    const differing =
      paramRows.filter((r) => r.differs).length + metricRows.filter((r) => r.differs).length;
    return c.html(
      <Page
        title={`Comparing ${runs.length} runs`}
        section="experiments"
        loggedIn={loggedIn}
        subtitle={
          <>
            <a href="/experiments">Experiments</a> · {differing} params and metrics differ
            (highlighted) ·{" "}
            <a href={`/compare?${toggle}`}>
              {onlyDifferences ? "show everything" : "show only differences"}
            </a>
          </>
        }
      >
        {charts.length > 0 ? (
          <>
            <h2>Metric charts</h2>
            <ChartsLeftOut shown={chartKeys.length} all={keysWithHistory.length} />
            <div class="charts">
              {charts.map(({ key, history }) => {
                const axis = chartAxis(history);
                const series: ChartSeries[] = runs.map((run) => ({
                  label: runNameOf(run.info),
                  points: axis.points(history.filter((m) => m.runId === run.info.runId)),
                }));
                return <LineChart title={key} xLabel={axis.label} series={series} />;
              })}
            </div>
          </>
        ) : (
          <p class="muted">
            No metric of these runs has more than one value, so there is nothing to chart; the
            latest values are in the table.
          </p>
        )}
        <h2>Side by side</h2>
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
              <tr>
                <th>Experiment</th>
                {runs.map((run) => (
                  <td>
                    <a href={`/experiments/${encodeURIComponent(run.info.experimentId)}`}>
                      {experimentNames.get(run.info.experimentId)}
                    </a>
                  </td>
                ))}
              </tr>
              <tr>
                <th>Status</th>
                {runs.map((run) => (
                  <td>
                    <StateBadge state={run.info.status} />
                  </td>
                ))}
              </tr>
              <tr>
                <th>Started</th>
                {runs.map((run) => (
                  <td>
                    <Time value={run.info.startTime} />
                  </td>
                ))}
              </tr>
              <tr>
                <th>Duration</th>
                {runs.map((run) => (
                  <td>{durationOf(run.info)}</td>
                ))}
              </tr>
              <CompareSection
                title={metricRows.length > METRICS_SHOWN ? "Headline metrics" : "Metrics"}
                rows={shown(
                  metricRows.length > METRICS_SHOWN
                    ? metricRows.filter((r) => !r.key.includes("."))
                    : metricRows,
                )}
                width={runs.length}
              />
              <CompareSection title="Params" rows={shown(paramRows)} width={runs.length} />
            </tbody>
          </table>
        </div>
        {metricRows.length > METRICS_SHOWN ? (
          <details>
            <summary>
              All {metricRows.length} metrics ({metricRows.filter((r) => r.differs).length} differ)
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
                  <CompareSection title="Metrics" rows={shown(metricRows)} width={runs.length} />
                </tbody>
              </table>
            </div>
          </details>
        ) : null}
      </Page>,
    );
  });

  return app;
}

// ---- request values

/** 400 for bad input, 404 for what does not exist; undefined for anything else (a 500). */
export function statusOf(error: unknown): 400 | 404 | undefined {
  if (error instanceof TrackingError) return error.code === "RESOURCE_DOES_NOT_EXIST" ? 404 : 400;
  if (error instanceof InputError) return 400;
  return undefined;
}

function pageSize(value: string | null): number {
  if (value === null || value === "") return RUNS_PAGE_DEFAULT;
  const size = Number(value);
  if (!/^\d+$/.test(value) || size < 1 || size > RUNS_PAGE_MAX)
    throw new InputError(
      `max_results: expected a whole number from 1 to ${RUNS_PAGE_MAX}, got ${JSON.stringify(value.slice(0, 40))}`,
    );
  return size;
}

interface ColumnChoice {
  /** Undefined: chosen from the page's runs. */
  metrics: string[] | undefined;
  params: string[] | undefined;
}

function chosenColumns(query: URLSearchParams): ColumnChoice {
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

/** The run ids of `runs=a,b,c` (or runs repeated), checked: 2 to MAX_COMPARED_RUNS of them. */
export function comparedRunIds(values: string[]): string[] {
  const ids = [
    ...new Set(
      values
        .flatMap((v) => v.split(","))
        .map((v) => v.trim())
        .filter((v) => v !== ""),
    ),
  ];
  if (ids.length > MAX_COMPARED_RUNS)
    throw new InputError(
      `runs: at most ${MAX_COMPARED_RUNS} runs can be compared at once; got ${ids.length}`,
    );
  if (ids.length < 2)
    throw new InputError(
      `runs: choose at least 2 runs to compare (runs=<id>,<id>…); got ${ids.length}`,
    );
  return ids.map((id) => checkRunId(id));
}

/** The artifact path after `/runs/<id>/artifacts/`, as sent (not resolved), decoded and checked. */
function artifactPathOf(c: C, runId: string): string {
  const sent = c.env?.incoming?.url ?? new URL(c.req.url).pathname;
  const path = sent.split("?")[0] as string;
  const prefix = path.indexOf("/artifacts/");
  const rest = prefix < 0 ? "" : path.slice(prefix + "/artifacts/".length);
  let decoded: string;
  try {
    decoded = rest.split("/").map(decodeURIComponent).join("/");
  } catch {
    throw new InputError(`artifact path of run ${runId}: not valid percent-encoding`);
  }
  return checkArtifactPath(decoded, "artifact path");
}

function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** A string in MLflow's filter syntax. */
export function filterString(value: string): string {
  return `'${value.replace(/[\\']/g, "\\$&")}'`;
}

/** Text matched literally inside a LIKE pattern. */
function likeText(value: string): string {
  return value.replace(/[\\%_]/g, "\\$&");
}

/** `metrics.<key>` in MLflow's syntax, quoted so that any key works. */
function fieldReference(entity: "metrics" | "params", key: string): string {
  return `${entity}.\`${key.replace(/[\\`]/g, "\\$&")}\``;
}

function withoutPageToken(query: URLSearchParams): URLSearchParams {
  const next = new URLSearchParams(query);
  next.delete("page_token");
  return next;
}

// ---- what the pages show

function runNameOf(info: RunInfo): string {
  return info.runName || info.runId.slice(0, 12);
}

function durationOf(info: RunInfo): string {
  if (info.endTime === undefined) return info.status === "RUNNING" ? "running" : "—";
  return formatDuration(info.endTime - info.startTime);
}

/** Keys without a dot (headline metrics) first, then the rest, each alphabetically. */
function byHeadlineThenName(a: string, b: string): number {
  const dotted = Number(a.includes(".")) - Number(b.includes("."));
  return dotted || (a < b ? -1 : a > b ? 1 : 0);
}

interface TableColumns {
  metrics: string[];
  params: string[];
  allMetrics: string[];
  allParams: string[];
}

/**
 * The runs table's columns: those chosen, else the page's headline metrics, and its params
 * whose values differ between the page's runs before the others.
 */
function tableColumns(
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

interface CsvTableData {
  header: string[];
  rows: string[][];
}

/** A small CSV artifact of the run as a table; undefined when the run has none. */
async function readTableArtifact(
  context: ServerContext,
  run: Run,
  path: string,
): Promise<CsvTableData | undefined> {
  const artifacts = context.tracking.artifacts;
  let location: string;
  try {
    location = artifacts.locate(run.info.artifactUri, path);
  } catch {
    return undefined;
  }
  const info = await artifacts.head(location);
  if (info === undefined || info.size > MAX_TABLE_ARTIFACT_BYTES) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of await artifacts.getStream(location)) chunks.push(chunk as Buffer);
  const [header, ...rows] = parseCsv(Buffer.concat(chunks).toString("utf8"), path);
  return header === undefined ? undefined : { header, rows };
}

async function listArtifactFolder(
  context: ServerContext,
  runId: string,
  folder: string,
): Promise<{ folder: string; entries: FileInfo[] | string }> {
  try {
    return { folder, entries: await context.tracking.listArtifacts(runId, folder) };
  } catch (error) {
    if (statusOf(error) === undefined) throw error;
    return { folder, entries: (error as Error).message };
  }
}

// ---- page pieces

const ChartsLeftOut = ({ shown, all }: { shown: number; all: number }) =>
  all > shown ? (
    <p class="muted">
      The first {shown} of {all} metrics with more than one value, by name.
    </p>
  ) : null;

const ShortValue = ({ value }: { value: string | undefined }) => {
  if (value === undefined) return <span class="muted">—</span>;
  if (value.length <= LONG_VALUE) return <>{value}</>;
  return <span title={value.slice(0, 2000)}>{`${value.slice(0, LONG_VALUE)}…`}</span>;
};

const LongValue = ({ value }: { value: string }) =>
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

const KeyValueTable = ({ rows }: { rows: { key: string; value: string }[] }) => (
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

const MetricsTable = ({ metrics }: { metrics: Metric[] }) => (
  <div class="table-wrap">
    <table>
      <thead>
        <tr>
          <th>Metric</th>
          <th class="num">Latest value</th>
          <th class="num">Step</th>
          <th>Logged</th>
        </tr>
      </thead>
      <tbody>
        {metrics.map((m) => (
          <tr>
            <td>{m.key}</td>
            <td class="num" title={String(m.value)}>
              {formatNumber(m.value)}
            </td>
            <td class="num">{m.step}</td>
            <td>
              <Time value={m.timestamp} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);

const CsvTable = ({ table }: { table: CsvTableData }) => (
  <div class="table-wrap">
    <table>
      <thead>
        <tr>
          {table.header.map((name) => (
            <th>{name}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {table.rows.map((row) => (
          <tr>
            {table.header.map((_, i) => {
              const cell = row[i] ?? "";
              const number = cell.trim() === "" ? Number.NaN : Number(cell);
              return Number.isFinite(number) ? (
                <td class="num" title={cell}>
                  {formatNumber(number)}
                </td>
              ) : (
                <td>{cell}</td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);

/** The registration gate's decision, from the run's `gate.*` tags, when the train flow set them. */
const GateCard = ({ run, versions }: { run: Run; versions: ModelVersion[] }) => {
  const tags = new Map(run.data.tags.map((t) => [t.key, t.value]));
  const decision = tags.get("gate.decision");
  if (decision === undefined) return null;
  return (
    <section class="card">
      <h2>Registration gate</h2>
      <p>
        <span class={`badge ${decision === "registered" ? "ok" : "bad"}`}>{decision}</span>
        {versions.length > 0 ? ` as version ${versions.map((v) => v.version).join(", ")}` : ""}
      </p>
      <p>{tags.get("gate.reason") ?? ""}</p>
    </section>
  );
};

const ArtifactListing = ({
  runId,
  folder,
  entries,
}: {
  runId: string;
  folder: string;
  entries: FileInfo[] | string;
}) => {
  const segments = folder === "" ? [] : folder.split("/");
  const folderLink = (path: string) =>
    path === ""
      ? `/runs/${runId}#artifacts`
      : `/runs/${runId}?artifacts=${encodeURIComponent(path)}#artifacts`;
  return (
    <>
      <p class="muted">
        <a href={folderLink("")}>artifacts</a>
        {segments.map((segment, i) => (
          <>
            {" / "}
            <a href={folderLink(segments.slice(0, i + 1).join("/"))}>{segment}</a>
          </>
        ))}
      </p>
      {typeof entries === "string" ? (
        <p class="alert bad">{entries}</p>
      ) : entries.length === 0 ? (
        <Empty>No artifacts{folder ? " in this folder" : ""}.</Empty>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th class="num">Size</th>
              </tr>
            </thead>
            <tbody>
              {entries.slice(0, MAX_ARTIFACT_ENTRIES).map((entry) => {
                const name = entry.path.split("/").at(-1) as string;
                const href = entry.isDir
                  ? folderLink(entry.path)
                  : `/runs/${runId}/artifacts/${entry.path.split("/").map(encodeURIComponent).join("/")}`;
                return (
                  <tr>
                    <td>
                      {entry.isDir ? (
                        <a href={href}>{`${name}/`}</a>
                      ) : (
                        <a href={href} download={name}>
                          {name}
                        </a>
                      )}
                    </td>
                    <td class="num">{entry.isDir ? "" : formatBytes(entry.fileSize)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {typeof entries !== "string" && entries.length > MAX_ARTIFACT_ENTRIES ? (
        <p class="muted">
          The first {MAX_ARTIFACT_ENTRIES} of {entries.length} entries; download the others by their
          path.
        </p>
      ) : null}
    </>
  );
};

const CompareSection = ({
  title,
  rows,
  width,
}: {
  title: string;
  rows: CompareRow[];
  width: number;
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

function formatBytes(size: number | undefined): string {
  if (size === undefined) return "";
  if (size < 1024) return `${size} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
