/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// Runs compared: GET /compare?runs=<id>,<id>… (2 to 10 runs, of any experiments) charts their
// metrics together and shows their params and metrics side by side, differences highlighted.
import { Hono } from "hono";
import { InputError } from "../../common/errors.ts";
import type { Run } from "../../tracking/entities.ts";
import { metricCharts } from "../../tracking/metric-sampling.ts";
import { checkRunId } from "../../tracking/validation.ts";
import type { ServerContext, ServerEnv } from "../context.ts";
import { CompareTables, comparedValues } from "../ui/compare.tsx";
import { Page } from "../ui/layout.tsx";
import {
  BACK_TO_EXPERIMENTS,
  CHART_LIMITS,
  MAX_COMPARED_RUNS,
  MetricCharts,
} from "../ui/tracking.tsx";
import { errorPage } from "./field-error.tsx";

export function compareRoutes(context: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const tracking = context.tracking;
  const loggedIn = context.token !== undefined;

  app.get("/compare", async (c) => {
    let runs: Run[];
    try {
      const ids = comparedRunIds(c.req.queries("runs") ?? []);
      runs = await Promise.all(ids.map((id) => tracking.getRun(id)));
    } catch (error) {
      return errorPage(c, error, {
        section: "experiments",
        loggedIn,
        title: "Cannot compare",
        back: BACK_TO_EXPERIMENTS,
      });
    }
    const onlyDifferences = c.req.query("differences") === "only";
    const charts = await metricCharts(
      tracking.tracking,
      runs.map((r) => r.info.runId),
      CHART_LIMITS,
    );
    const experimentNames = new Map<string, string>();
    for (const id of new Set(runs.map((r) => r.info.experimentId)))
      experimentNames.set(id, (await tracking.getExperiment(id)).name);
    const { params, metrics } = comparedValues(runs);
    const toggle = new URLSearchParams(new URL(c.req.url).search);
    if (onlyDifferences) toggle.delete("differences");
    else toggle.set("differences", "only");
    const differing =
      params.filter((r) => r.differs).length + metrics.filter((r) => r.differs).length;
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
        {charts.charts.length > 0 ? (
          <MetricCharts {...charts} runs={runs.map((r) => r.info)} />
        ) : (
          <p class="muted">
            No metric of these runs has more than one value, so there is nothing to chart; the
            latest values are in the table.
          </p>
        )}
        <h2>Side by side</h2>
        <CompareTables
          runs={runs}
          experimentNames={experimentNames}
          params={params}
          metrics={metrics}
          onlyDifferences={onlyDifferences}
        />
      </Page>,
    );
  });

  return app;
}

/** The run ids of `runs=a,b,c` (or runs repeated), checked: 2 to MAX_COMPARED_RUNS of them. */
function comparedRunIds(values: string[]): string[] {
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
