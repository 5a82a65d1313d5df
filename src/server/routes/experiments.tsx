/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The experiments pages: the experiments searched by name, and an experiment's runs searched with
// MLflow's filter syntax (sortable param and metric columns, pages, runs picked for comparison).
// A run's page is routes/runs.tsx, runs compared routes/compare.tsx.
import { Hono } from "hono";
import type { Experiment, RunInfo } from "../../tracking/entities.ts";
import { nameContainsFilter } from "../../tracking/filter.ts";
import type { ServerContext, ServerEnv } from "../context.ts";
import { Empty, Pager, SelectField, Table, Time } from "../ui/components.tsx";
import {
  type ColumnChoice,
  ColumnsForm,
  chosenColumns,
  KeptParams,
  RunsTable,
  tableColumns,
} from "../ui/experiment-runs.tsx";
import { Page } from "../ui/layout.tsx";
import { BACK_TO_EXPERIMENTS } from "../ui/tracking.tsx";
import { errorPage, parseMaxResults, statusOf } from "./field-error.tsx";

const EXPERIMENTS_PAGE_SIZE = 100;
const RUNS_PAGE_DEFAULT = 50;
const RUNS_PAGE_MAX = 100;

export function experimentsRoutes(context: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const tracking = context.tracking;
  const loggedIn = context.token !== undefined;
  const refused = { section: "experiments", loggedIn, back: BACK_TO_EXPERIMENTS } as const;

  app.get("/experiments", async (c) => {
    const nameQuery = c.req.query("name")?.trim() ?? "";
    const pageToken = c.req.query("page_token") || undefined;
    let page: Awaited<ReturnType<typeof tracking.searchExperiments>>;
    try {
      page = await tracking.searchExperiments({
        filter: nameQuery === "" ? undefined : nameContainsFilter(nameQuery),
        maxResults: EXPERIMENTS_PAGE_SIZE,
        pageToken,
      });
    } catch (error) {
      return errorPage(c, error, refused);
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
          <Table head={["Name", { numeric: "Id" }, { numeric: "Runs" }, "Last update", "Created"]}>
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
          </Table>
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
      return errorPage(c, error, refused);
    }
    const query = new URL(c.req.url).searchParams;
    const filter = query.get("filter") ?? "";
    const orderBy = query.get("order_by")?.trim() ?? "";
    const pageToken = query.get("page_token") || undefined;
    const base = `/experiments/${encodeURIComponent(experiment.experimentId)}`;
    let searchError: string | undefined;
    let runs: RunInfo[] = [];
    let nextPageToken: string | undefined;
    let choice: ColumnChoice;
    try {
      const maxResults = parseMaxResults(
        query.get("max_results"),
        RUNS_PAGE_DEFAULT,
        RUNS_PAGE_MAX,
      );
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
          <SelectField
            label="Per page"
            name="max_results"
            options={["25", "50", "100"]}
            selected={query.get("max_results") ?? String(RUNS_PAGE_DEFAULT)}
          />
          <KeptParams query={query} names={["metric", "param", "columns"]} />
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
            <ColumnsForm base={base} query={query} columns={columns} />
            <RunsTable
              sorting={{ base, query, orderBy }}
              runs={runs}
              values={values}
              columns={columns}
            />
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

  return app;
}

function withoutPageToken(query: URLSearchParams): URLSearchParams {
  const next = new URLSearchParams(query);
  next.delete("page_token");
  return next;
}
