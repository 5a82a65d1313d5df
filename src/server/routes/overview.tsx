/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The overview page and GET /api/v1/overview: the champion model (version, validation metrics,
// since when), the latest predicted day, the drift and quality timeline once monitoring ran,
// recent flow runs, and the runs that failed or crashed lately as alerts; empty states say
// what to run first.
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import {
  type ChampionStatus,
  championStatus,
  latestPredictedDay,
  monitoringTimeline,
  type PredictedDay,
} from "../../flows/status.ts";
import type { MonitoringDay } from "../../monitoring/types.ts";
import { checkCrashedRuns } from "../../orchestration/crash-check.ts";
import { flowRunToJson } from "../../orchestration/run-json.ts";
import type { FlowRunRow } from "../../orchestration/run-store.ts";
import type { ServerContext, ServerEnv } from "../context.ts";
import { Empty, KeyValues, StateBadge, Time } from "../ui/components.tsx";
import { DriftChart } from "../ui/drift-chart.tsx";
import { FlowRunTable, shortId } from "../ui/flow-runs.tsx";
import { Page } from "../ui/layout.tsx";

const PROBLEM_WINDOW_MS = 7 * 24 * 3600 * 1000;
const TIMELINE_DAYS = 60;
const METRICS_SHOWN = ["jaccard_samples", "f1_micro", "f1_macro", "hamming_loss"];

interface Overview {
  champion: ChampionStatus | undefined;
  predicted: PredictedDay | undefined;
  timeline: MonitoringDay[];
  recent: FlowRunRow[];
  problems: FlowRunRow[];
  moreProblems: boolean;
}

/** The day's report under /reports (served from the store), or the reports' list for an odd href. */
function reportHref(day: MonitoringDay): string {
  return /^day=\d{1,6}\/[\w.-]{1,100}$/.test(day.href)
    ? `/reports/monitoring/${day.href}`
    : "/reports";
}

export function overviewRoutes(context: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const runs = context.orchestrator.runs;
  const loggedIn = context.token !== undefined;

  const load = async (): Promise<Overview> => {
    await checkCrashedRuns(context.orchestrator);
    const now = Date.now();
    const [champion, predicted, timeline, recent, problems] = await Promise.all([
      championStatus(context.tracking, context.config.pipeline.registeredModel),
      latestPredictedDay(context.store),
      monitoringTimeline(context.store, TIMELINE_DAYS),
      runs.pageFlowRuns({ topLevel: true, limit: 10 }),
      runs.pageFlowRuns({
        states: ["failed", "crashed"],
        createdSince: now - PROBLEM_WINDOW_MS,
        limit: 5,
      }),
    ]);
    return {
      champion,
      predicted,
      timeline,
      recent: recent.runs,
      problems: problems.runs,
      moreProblems: problems.next !== undefined,
    };
  };

  app.get("/", async (c) => {
    const overview = await load();
    const { champion, predicted, timeline, recent, problems } = overview;
    const latestDay = timeline.at(-1);
    const nothingYet = recent.length === 0 && !champion && !predicted;
    return c.html(
      <Page
        title="Overview"
        section="overview"
        subtitle="The model in service, the latest predictions, monitoring and recent runs."
        loggedIn={loggedIn}
      >
        {nothingYet ? (
          <div class="alert warn">
            Nothing has run here yet. Start with <code>genre-classifier demo</code>: it makes a
            small synthetic data set and runs the whole pipeline (training, registration, daily
            predictions, monitoring) in about a minute.
          </div>
        ) : null}
        {problems.length > 0 ? (
          <section aria-label="Alerts">
            {problems.map((run) => (
              <div class="alert bad" role="alert">
                <StateBadge state={run.state} />{" "}
                <a href={`/flow-runs/${encodeURIComponent(run.id)}`}>
                  {run.flow_name} <code>{shortId(run.id)}</code>
                </a>{" "}
                <Time value={Number(run.created_at)} />
                {run.error_message || run.state_message ? (
                  <>: {run.error_message ?? run.state_message}</>
                ) : null}
              </div>
            ))}
            {overview.moreProblems ? (
              <p>
                <a href="/flow-runs?state=failed">More failed runs →</a>
              </p>
            ) : null}
          </section>
        ) : null}
        {latestDay?.drift ? (
          <div class="alert warn">
            Day {latestDay.day}: drift detected in {latestDay.driftedColumns} of {latestDay.columns}{" "}
            feature columns{latestDay.retrained ? "; retraining started" : ""}.{" "}
            <a href={reportHref(latestDay)}>See the report</a>.
          </div>
        ) : null}
        <div class="grid">
          <ChampionCard
            champion={champion}
            registeredModel={context.config.pipeline.registeredModel}
          />
          <PredictedCard predicted={predicted} />
          <MonitoringCard latest={latestDay} />
        </div>
        <h2>Drift and quality</h2>
        {timeline.length === 0 ? (
          <Empty>
            No monitoring yet. After a day is predicted, <code>genre-classifier monitor</code>{" "}
            compares it with the training data (the demo does this for you).
          </Empty>
        ) : (
          <div class="card">
            <DriftChart days={timeline} reportHref={reportHref} />
            <p>
              <a href="/reports">All monitoring reports →</a>
            </p>
          </div>
        )}
        <h2>Recent flow runs</h2>
        {recent.length === 0 ? (
          <Empty>
            No flow runs yet: <code>genre-classifier demo</code> runs the pipeline,{" "}
            <code>genre-classifier flows run selfcheck</code> checks the runtime.
          </Empty>
        ) : (
          <>
            <FlowRunTable runs={recent} now={Date.now()} />
            <p>
              <a href="/flow-runs">All flow runs →</a>
            </p>
          </>
        )}
      </Page>,
    );
  });

  app.get("/api/v1/overview", async (c) => {
    const overview = await load();
    const { champion, predicted } = overview;
    return c.json({
      champion: champion
        ? {
            registered_model: champion.registeredModel,
            alias: champion.alias,
            version: champion.version,
            run_id: champion.runId,
            registered_at: champion.registeredAt,
            since: champion.since.at,
            since_exact: champion.since.exact,
            metrics: champion.metrics,
            baseline_jaccard: champion.baselineJaccard ?? null,
            gate: champion.gate ?? null,
          }
        : null,
      latest_prediction: predicted
        ? {
            day: predicted.day,
            days: predicted.days,
            tracks: predicted.tracks ?? null,
            model: predicted.model ?? null,
            predicted_at: predicted.predictedAt ?? null,
          }
        : null,
      monitoring: overview.timeline,
      recent_flow_runs: overview.recent.map(flowRunToJson),
      problems: overview.problems.map(flowRunToJson),
    });
  });

  return app;
}

const ChampionCard: FC<{ champion: ChampionStatus | undefined; registeredModel: string }> = ({
  champion,
  registeredModel,
}) => (
  <div class="card" data-card="champion">
    <h2>Champion model</h2>
    {champion ? (
      <>
        <p class="big">
          <a href={`/models/${encodeURIComponent(champion.registeredModel)}`}>
            {champion.registeredModel}
          </a>{" "}
          v{champion.version}
        </p>
        <KeyValues
          items={[
            ...METRICS_SHOWN.filter((key) => champion.metrics[key] !== undefined).map(
              (key): [string, string] => [key, (champion.metrics[key] as number).toFixed(4)],
            ),
            ...(champion.baselineJaccard === undefined
              ? []
              : [["baseline jaccard", champion.baselineJaccard.toFixed(4)] as [string, string]]),
            [
              champion.since.exact ? "champion since" : "champion after",
              <Time value={champion.since.at} />,
            ],
            [
              "source run",
              <a href={`/runs/${encodeURIComponent(champion.runId)}`}>
                <code>{champion.runId.slice(0, 12)}</code>
              </a>,
            ],
          ]}
        />
        {champion.since.exact ? null : (
          <p class="muted">
            The alias was moved by hand; the registry keeps no time for alias moves.
          </p>
        )}
      </>
    ) : (
      <Empty>
        No version of <code>{registeredModel}</code> is champion yet. Run{" "}
        <code>genre-classifier demo</code>, or train on your data with{" "}
        <code>genre-classifier flows run complete-training</code>.
      </Empty>
    )}
  </div>
);

const PredictedCard: FC<{ predicted: PredictedDay | undefined }> = ({ predicted }) => (
  <div class="card" data-card="predictions">
    <h2>Latest predictions</h2>
    {predicted ? (
      <>
        <p class="big">
          <a href={`/predictions/day/${predicted.day}`}>Day {predicted.day}</a>
        </p>
        <KeyValues
          items={[
            ["tracks", predicted.tracks === undefined ? "—" : String(predicted.tracks)],
            [
              "model",
              predicted.model ? `${predicted.model.name} v${predicted.model.version}` : "—",
            ],
            ["predicted", <Time value={predicted.predictedAt} />],
            ["days predicted", String(predicted.days)],
          ]}
        />
      </>
    ) : (
      <Empty>
        No day predicted yet: <code>genre-classifier predict</code> tags the next day's tracks with
        the champion (the demo predicts a few days).
      </Empty>
    )}
  </div>
);

const MonitoringCard: FC<{ latest: MonitoringDay | undefined }> = ({ latest }) => (
  <div class="card" data-card="monitoring">
    <h2>Monitoring</h2>
    {latest ? (
      <>
        <p class="big">
          <a href={reportHref(latest)}>Day {latest.day}</a>{" "}
          {latest.drift ? (
            <span class="badge bad">drift</span>
          ) : (
            <span class="badge ok">no drift</span>
          )}
        </p>
        <KeyValues
          items={[
            [
              "drifted columns",
              `${latest.driftedColumns} of ${latest.columns} (${(latest.driftShare * 100).toFixed(1)}%)`,
            ],
            ["jaccard", typeof latest.jaccard === "number" ? latest.jaccard.toFixed(4) : "—"],
            ["model", latest.modelVersion ? `v${latest.modelVersion}` : "—"],
            ["retrained", latest.retrained ? "yes" : "no"],
          ]}
        />
      </>
    ) : (
      <Empty>No day monitored yet.</Empty>
    )}
  </div>
);
