/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// A tracked run's page (info, the registration gate, metrics with charts, the per-genre table,
// params, datasets, tags, artifacts to browse) and its artifacts' downloads.
import { Readable } from "node:stream";
import { type Context, Hono } from "hono";
import { InputError } from "../../common/errors.ts";
import { PER_GENRE_ARTIFACT } from "../../flows/train.ts";
import { readPerGenreTable } from "../../flows/train-files.ts";
import { checkArtifactPath } from "../../tracking/artifact-uri.ts";
import type { FileInfo, Run } from "../../tracking/entities.ts";
import { TrackingError } from "../../tracking/errors.ts";
import { filterString } from "../../tracking/filter.ts";
import { metricCharts } from "../../tracking/metric-sampling.ts";
import { checkRunId } from "../../tracking/validation.ts";
import type { ServerContext, ServerEnv } from "../context.ts";
import { Empty } from "../ui/components.tsx";
import { Page } from "../ui/layout.tsx";
import {
  ArtifactListing,
  CsvTable,
  DatasetsTable,
  GateCard,
  RunCard,
  RunMetrics,
} from "../ui/run-sections.tsx";
import {
  BACK_TO_EXPERIMENTS,
  CHART_LIMITS,
  KeyValueTable,
  MetricCharts,
  runNameOf,
} from "../ui/tracking.tsx";
import { errorPage, statusOf } from "./field-error.tsx";

export function runsRoutes(context: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const tracking = context.tracking;
  const loggedIn = context.token !== undefined;
  const refused = { section: "experiments", loggedIn, back: BACK_TO_EXPERIMENTS } as const;

  /** A folder's entries, or why they cannot be listed (a bad or missing path). */
  const listFolder = async (runId: string, folder: string): Promise<FileInfo[] | string> => {
    try {
      return await tracking.listArtifacts(runId, folder);
    } catch (error) {
      if (statusOf(error) === undefined) throw error;
      return (error as Error).message;
    }
  };

  app.get("/runs/:id", async (c) => {
    let run: Run;
    try {
      run = await tracking.getRun(c.req.param("id"));
    } catch (error) {
      return errorPage(c, error, refused);
    }
    const runId = run.info.runId;
    const folder = c.req.query("artifacts") ?? "";
    const [experiment, versions, charts, perGenre, entries] = await Promise.all([
      tracking.getExperiment(run.info.experimentId),
      tracking.searchModelVersions({ filter: `run_id = ${filterString(runId)}`, maxResults: 100 }),
      metricCharts(tracking.tracking, [runId], CHART_LIMITS),
      readPerGenreTable(tracking, run),
      listFolder(runId, folder),
    ]);
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
          <RunCard run={run} versions={versions.items} />
          <GateCard run={run} versions={versions.items} />
        </div>

        {charts.charts.length > 0 ? <MetricCharts {...charts} runs={[run.info]} /> : null}

        <h2>Metrics</h2>
        <RunMetrics metrics={run.data.metrics} />

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
            <DatasetsTable inputs={run.inputs.datasetInputs} />
          </>
        ) : null}

        <h2>Tags</h2>
        {run.data.tags.length === 0 ? (
          <Empty>No tags.</Empty>
        ) : (
          <KeyValueTable rows={run.data.tags} />
        )}

        <h2 id="artifacts">Artifacts</h2>
        <ArtifactListing runId={runId} folder={folder} entries={entries} />
      </Page>,
    );
  });

  app.get("/runs/:id/artifacts/*", async (c) => {
    let runId: string;
    let path: string;
    let run: Run;
    try {
      runId = checkRunId(c.req.param("id"));
      path = artifactPathOf(c, runId);
      run = await tracking.getRun(runId);
    } catch (error) {
      return errorPage(c, error, refused);
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
        refused,
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

  return app;
}

/** The artifact path after `/runs/<id>/artifacts/`, as sent (not resolved), decoded and checked. */
function artifactPathOf(c: Context<ServerEnv>, runId: string): string {
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
