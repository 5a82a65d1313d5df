// The monitor step: a day's data drift (the day's tracks against the champion's training table),
// prediction drift (the day's predictions against the validation predictions) and, once the
// day's labels are there, its multi-label quality; the retrain decision with its reasons; a
// tracking run per day (experiment monitoring.experiment, metrics with step = day); and the
// self-contained reports reports/monitoring/day=NNNN/report.{html,json} with the index
// reports/monitoring/index.html. The reference side is summarized once, when the model is
// trained, and kept as the training run's artifacts monitoring/*.reference.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { InputError } from "../common/errors.ts";
import type { Config } from "../config/schema.ts";
import { readSplitManifest } from "../datasets/manifest.ts";
import { FeatureTable, TRACK_ID_COLUMN } from "../features/feature-table.ts";
import { readTable } from "../features/table.ts";
import type { GenreModel } from "../ml/model.ts";
import { type DriftOptions, driftAgainstSummary } from "../monitoring/drift.ts";
import { dayQuality, predictionColumns } from "../monitoring/quality.ts";
import { type ReferenceSummary, summarizeReference } from "../monitoring/reference.ts";
import {
  type OpenedReferenceSummary,
  openReferenceSummary,
  serializeReferenceSummary,
} from "../monitoring/reference-file.ts";
import { renderDayReport, renderIndex } from "../monitoring/report.ts";
import type {
  DriftTestName,
  MonitoringDay,
  MonitoringReport,
  QualityScores,
  RetrainDecision,
} from "../monitoring/types.ts";
import { flow, task } from "../orchestration/api.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { TrackingClient } from "../tracking/client.ts";
import type { Run } from "../tracking/entities.ts";
import { predictTable } from "../training/use.ts";
import { pipelineEnvironment, pipelineStore, pipelineTracking } from "./environment.ts";
import { PREDICTIONS_FILE, predictionKey } from "./predict.ts";

export const MONITORING_PREFIX = "reports/monitoring";
export const REFERENCE_ARTIFACT_DIR = "monitoring";
export const FEATURES_REFERENCE = "features.reference";
export const PREDICTIONS_REFERENCE = "predictions.reference";
const DAYS_FILE = "days.json";
const RESULT_FILE = "result.json";

const pad = (day: number) => String(day).padStart(4, "0");

/** The key of a day's report file: `reports/monitoring/day=0001/report.html`. */
export function monitoringKey(day: number, file: string): string {
  return `${MONITORING_PREFIX}/day=${pad(day)}/${file}`;
}

// ---- the reference, made when a model is trained ------------------------------------------

/**
 * Writes the reference summaries a trained model's monitoring compares with: its training
 * table's feature columns, and its predictions on the validation table as the prediction
 * columns. Gives the files, to be logged under the run's `monitoring/` artifacts.
 */
export async function writeMonitoringReference(
  model: GenreModel,
  train: FeatureTable,
  valid: FeatureTable,
  dir: string,
): Promise<string[]> {
  const features = new Map(model.features.map((name) => [name, train.numeric(name)]));
  const predicted = await predictTable(model, valid);
  const files: [string, ReferenceSummary][] = [
    [FEATURES_REFERENCE, summarizeReference(features)],
    [PREDICTIONS_REFERENCE, summarizeReference(predictionColumns(model.labels, predicted.genres))],
  ];
  const paths: string[] = [];
  for (const [name, summary] of files) {
    const path = join(dir, name);
    await writeFile(path, serializeReferenceSummary(summary));
    paths.push(path);
  }
  return paths;
}

// ---- options from the configuration ---------------------------------------------------------

function pairs(text: string): [string, string][] {
  if (text.trim() === "") return [];
  return text.split(",").map((pair) => {
    const at = pair.indexOf("=");
    return [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
  });
}

const POPULARITY_REASON =
  "the days' releases have a known year, and in the MSD tracks with one come from better-known artists than the training table's tracks without one, so popularity drifts by construction";

const EXCLUDE_REASONS: Record<string, string> = {
  year: "the test days are the newest release years, so year drifts by construction",
  artist_familiarity: POPULARITY_REASON,
  artist_hotttnesss: POPULARITY_REASON,
  song_hotttnesss: POPULARITY_REASON,
};

/**
 * The drift options of the daily monitor, from `monitoring.*`; of the excluded columns, only
 * those among `columns` (the model's features) when given.
 */
export function monitorDriftOptions(
  settings: Config["monitoring"],
  columns?: ReadonlySet<string>,
): DriftOptions {
  const exclude = settings.exclude
    .split(",")
    .map((c) => c.trim())
    .filter((c) => c !== "" && (columns === undefined || columns.has(c)))
    .map((column) => ({
      column,
      reason: EXCLUDE_REASONS[column] ?? "left out by monitoring.exclude",
    }));
  return {
    exclude,
    tests: Object.fromEntries(pairs(settings.columnTests)) as Record<string, DriftTestName>,
    thresholds: Object.fromEntries(
      pairs(settings.columnThresholds).map(([c, t]) => [c, Number(t)]),
    ),
    driftShare: settings.driftShare,
    testChoice: settings.tests,
  };
}

// ---- the monitor step ---------------------------------------------------------------------

interface Lineage {
  name: string;
  version: string;
  runId: string;
}

export interface MonitorResult {
  day: number;
  model: Lineage;
  drift: { drift: boolean; share: number; drifted: number; columns: number };
  predictionDrift: { drift: boolean; share: number };
  jaccard: number | null;
  retrain: RetrainDecision;
  runId: string;
  report: string;
  index: string;
  storeUri: string;
  /** True when the day had been monitored with the same inputs and was left as it was. */
  skipped: boolean;
}

async function localCopy(store: ObjectStore, key: string, path: string): Promise<string> {
  const local = await store.localFile(key);
  if (local !== undefined) return local;
  await store.getFile(key, path);
  return path;
}

async function loadReference(
  client: TrackingClient,
  lineage: Lineage,
  cacheDir: string,
): Promise<{ features: OpenedReferenceSummary; predictions: OpenedReferenceSummary }> {
  const names = (await client.listArtifacts(lineage.runId, REFERENCE_ARTIFACT_DIR)).map((f) =>
    f.path.split("/").pop(),
  );
  if (!names.includes(FEATURES_REFERENCE) || !names.includes(PREDICTIONS_REFERENCE))
    throw new InputError(
      `${lineage.name} version ${lineage.version} (run ${lineage.runId}) has no monitoring reference (${REFERENCE_ARTIFACT_DIR}/${FEATURES_REFERENCE}): it was trained before monitoring existed; train it again (complete-training with retrain=true)`,
    );
  // A model version's summaries never change: they are downloaded once into the local cache
  // (a temporary folder renamed into place) and opened from there on every later day.
  if (!/^[0-9a-zA-Z_-]{1,64}$/.test(lineage.runId))
    throw new InputError(
      `run id ${JSON.stringify(lineage.runId)} of the day's predictions is not a run id`,
    );
  const local = join(cacheDir, lineage.runId);
  if (
    !existsSync(join(local, FEATURES_REFERENCE)) ||
    !existsSync(join(local, PREDICTIONS_REFERENCE))
  ) {
    await mkdir(cacheDir, { recursive: true });
    const incoming = await mkdtemp(join(cacheDir, `.incoming-${lineage.runId}-`));
    try {
      const downloaded = await client.downloadArtifacts(
        lineage.runId,
        REFERENCE_ARTIFACT_DIR,
        incoming,
      );
      await rm(local, { recursive: true, force: true });
      await rename(downloaded, local);
    } finally {
      await rm(incoming, { recursive: true, force: true });
    }
  }
  // Opened, not read: a day's drift reads only the pages of the summary its searches touch.
  const features = openReferenceSummary(join(local, FEATURES_REFERENCE));
  try {
    return { features, predictions: openReferenceSummary(join(local, PREDICTIONS_REFERENCE)) };
  } catch (error) {
    features.close();
    throw error;
  }
}

function metric(run: Run, key: string): number | undefined {
  return run.data.metrics.find((m) => m.key === key)?.value;
}

function scoresFrom(run: Run, prefix: string): QualityScores | undefined {
  const jaccardSamples = metric(run, `${prefix}jaccard_samples`);
  const hammingLoss = metric(run, `${prefix}hamming_loss`);
  const f1Micro = metric(run, `${prefix}f1_micro`);
  const f1Macro = metric(run, `${prefix}f1_macro`);
  if (
    jaccardSamples === undefined ||
    hammingLoss === undefined ||
    f1Micro === undefined ||
    f1Macro === undefined
  )
    return undefined;
  return { jaccardSamples, hammingLoss, f1Micro, f1Macro };
}

/** The day of the last retrain the monitoring runs record before `day`, if any. */
async function lastRetrainDay(
  client: TrackingClient,
  experimentId: string,
  day: number,
): Promise<number | undefined> {
  const page = await client.searchRuns({
    experimentIds: [experimentId],
    filter: "tags.`retrain.decision` = 'retrain'",
    maxResults: 1000,
  });
  const days = page.items
    .map((run) => Number(run.data.tags.find((t) => t.key === "day")?.value))
    .filter((d) => Number.isInteger(d) && d < day);
  return days.length > 0 ? Math.max(...days) : undefined;
}

async function decideRetrain(
  settings: Config["monitoring"],
  report: MonitoringReport,
  earlier: () => Promise<number | undefined>,
  day: number,
): Promise<RetrainDecision> {
  const reasons: string[] = [];
  const { dataset } = report.drift;
  if (dataset.drift)
    reasons.push(
      `data drift: ${dataset.drifted} of ${dataset.columns} columns drifted (share ${dataset.share.toFixed(3)} ≥ ${dataset.threshold})`,
    );
  const quality = report.quality;
  if (quality?.validation !== undefined) {
    const floor = settings.jaccardFloor * quality.validation.jaccardSamples;
    if (quality.current.jaccardSamples < floor)
      reasons.push(
        `quality: Jaccard ${quality.current.jaccardSamples.toFixed(4)} < ${settings.jaccardFloor} × validation ${quality.validation.jaccardSamples.toFixed(4)} = ${floor.toFixed(4)}`,
      );
  }
  if (reasons.length === 0) return { retrain: false, reasons: ["no rule fired"] };
  if (!settings.retrain)
    return { retrain: false, reasons: [...reasons, "retraining is off (monitoring.retrain)"] };
  const last = await earlier();
  if (last !== undefined && day - last < settings.cooldownDays)
    return {
      retrain: false,
      reasons: [
        ...reasons,
        `cooldown: retrained on day ${last}, less than ${settings.cooldownDays} days ago (monitoring.cooldownDays)`,
      ],
    };
  return { retrain: true, reasons };
}

/** Records the day in `days.json` and writes the index page from it. */
async function writeIndex(store: ObjectStore, entry: MonitoringDay): Promise<string> {
  const daysKey = `${MONITORING_PREFIX}/${DAYS_FILE}`;
  let days: MonitoringDay[] = [];
  if (await store.exists(daysKey)) {
    const parsed = JSON.parse(new TextDecoder().decode(await store.get(daysKey))) as unknown;
    if (Array.isArray(parsed)) days = parsed as MonitoringDay[];
  }
  days = [...days.filter((d) => d.day !== entry.day), entry].sort((a, b) => a.day - b.day);
  await store.put(daysKey, `${JSON.stringify(days, null, 2)}\n`, {
    contentType: "application/json",
  });
  const indexKey = `${MONITORING_PREFIX}/index.html`;
  await store.put(indexKey, renderIndex(days, { title: "genre-classifier monitoring" }), {
    contentType: "text/html; charset=utf-8",
  });
  return indexKey;
}

function dayEntry(report: MonitoringReport, retrained: boolean): MonitoringDay {
  const { dataset } = report.drift;
  return {
    day: report.day as number,
    href: `day=${pad(report.day as number)}/report.html`,
    createdAt: report.createdAt,
    driftShare: dataset.share,
    driftedColumns: dataset.drifted,
    columns: dataset.columns,
    drift: dataset.drift,
    ...(report.quality ? { jaccard: report.quality.current.jaccardSamples } : {}),
    ...(report.model ? { modelVersion: report.model.version } : {}),
    retrained,
  };
}

/** Writes a day's report.json and report.html, and the index. */
async function writeReports(store: ObjectStore, report: MonitoringReport): Promise<string> {
  const day = report.day as number;
  await store.put(monitoringKey(day, "report.json"), `${JSON.stringify(report)}\n`, {
    contentType: "application/json",
  });
  await store.put(
    monitoringKey(day, "report.html"),
    renderDayReport(report, { indexHref: "../index.html" }),
    {
      contentType: "text/html; charset=utf-8",
    },
  );
  return writeIndex(store, dayEntry(report, report.retrain?.retrain === true));
}

/** What a day's monitoring depends on: when it has not changed, the day is not monitored again. */
async function monitorInputs(
  store: ObjectStore,
  day: number,
  keys: string[],
  settings: Config["monitoring"],
): Promise<string> {
  const etags = [];
  for (const key of keys) etags.push([key, (await store.head(key))?.etag ?? null]);
  return createHash("sha256")
    .update(JSON.stringify({ day, etags, settings, version: 1 }))
    .digest("hex");
}

export const monitorDay = task(
  "monitor-day",
  async (input: { day: number; force?: boolean }, context): Promise<MonitorResult> => {
    const { day } = input;
    const { config } = pipelineEnvironment();
    const settings = config.monitoring;
    const store = pipelineStore();
    const client = await pipelineTracking();
    const manifest = await readSplitManifest(store);
    const batch = manifest.days[day - 1];
    if (batch === undefined)
      throw new InputError(
        `day ${day}: the split has ${manifest.days.length} daily batches (days 1 to ${manifest.days.length})`,
      );
    const predictionsKey = predictionKey(day);
    if (!(await store.exists(predictionsKey)))
      throw new InputError(`day ${day} has no predictions (${predictionsKey}): run predict first`);

    const digest = await monitorInputs(
      store,
      day,
      [predictionsKey, batch.tracks.key, batch.labels.key],
      settings,
    );
    const resultKey = monitoringKey(day, RESULT_FILE);
    if (!input.force && (await store.exists(resultKey))) {
      const earlier = JSON.parse(new TextDecoder().decode(await store.get(resultKey))) as {
        digest?: string;
        result?: MonitorResult;
      };
      if (earlier.digest === digest && earlier.result !== undefined) {
        context.log(
          `day ${day} was monitored with the same predictions, labels and settings: skipped (${earlier.result.report})`,
        );
        return { ...earlier.result, skipped: true };
      }
    }

    const dir = await mkdtemp(join(tmpdir(), "gc-monitor-"));
    try {
      const predictions = await readTable(
        await localCopy(store, predictionsKey, join(dir, PREDICTIONS_FILE)),
      );
      const first = predictions.rows[0];
      if (first === undefined) throw new InputError(`${store.uri}/${predictionsKey} has no rows`);
      const lineage: Lineage = {
        name: String(first.model_name),
        version: String(first.model_version),
        runId: String(first.run_id),
      };
      const genres = predictions.columns.filter((c) => c.startsWith("p_")).map((c) => c.slice(2));
      const predictedIds = predictions.rows.map((r) => String(r[TRACK_ID_COLUMN]));
      const predicted = predictions.rows.map((r) => (r.genres ?? []) as string[]);

      const tracksPath = await localCopy(store, batch.tracks.key, join(dir, "tracks.parquet"));
      const tracks = await FeatureTable.read(tracksPath, { text: [TRACK_ID_COLUMN] });
      const trackIds = tracks.text(TRACK_ID_COLUMN);
      if (
        trackIds.length !== predictedIds.length ||
        trackIds.some((id, i) => id !== predictedIds[i])
      )
        throw new InputError(
          `${store.uri}/${predictionsKey} does not hold the tracks of ${store.uri}/${batch.tracks.key} in order: run predict --day ${day} --force`,
        );

      const reference = await loadReference(
        client,
        lineage,
        join(config.dataDir, "cache", "monitoring-reference"),
      );
      const options = monitorDriftOptions(
        settings,
        new Set(reference.features.columns.map((c) => c.name)),
      );
      const current = new Map<string, Float64Array>();
      for (const column of reference.features.columns)
        if (tracks.kind(column.name) === "number")
          current.set(column.name, tracks.numeric(column.name));
      const { drift, predictionDrift } = (() => {
        try {
          return {
            drift: driftAgainstSummary(reference.features, current, options),
            predictionDrift: driftAgainstSummary(
              reference.predictions,
              predictionColumns(genres, predicted),
              { driftShare: settings.driftShare, testChoice: settings.tests },
            ),
          };
        } finally {
          reference.features.close();
          reference.predictions.close();
        }
      })();

      const run = await client.getRun(lineage.runId);
      const baselineK = Number(run.data.params.find((p) => p.key === "baseline_k")?.value ?? 5);
      let quality: MonitoringReport["quality"];
      if (await store.exists(batch.labels.key)) {
        const labels = await readTable(
          await localCopy(store, batch.labels.key, join(dir, "labels.parquet")),
        );
        const truthById = new Map(
          labels.rows.map((r) => [String(r[TRACK_ID_COLUMN]), (r.genres ?? []) as string[]]),
        );
        const validationModel = scoresFrom(run, "");
        const genreF1: Record<string, number> = {};
        for (const genre of genres) {
          const f1 = metric(run, `genre.${genre.replace(/[^\p{L}\p{N}_.\- /]/gu, "_")}.f1`);
          if (f1 !== undefined) genreF1[genre] = f1;
        }
        const baseline = scoresFrom(run, "baseline.");
        quality = dayQuality({
          genres,
          truth: predictedIds.map((id) => truthById.get(id) ?? []),
          predicted,
          baselineK,
          ...(validationModel
            ? {
                validation: {
                  model: validationModel,
                  ...(baseline ? { baseline } : {}),
                  genreF1,
                },
              }
            : {}),
        });
      }

      const experiment = await client.getOrCreateExperiment(settings.experiment);
      const report: MonitoringReport = {
        title: `genre-classifier monitoring: day ${day}`,
        createdAt: new Date().toISOString(),
        day,
        model: lineage,
        reference: {
          rows: reference.features.rows,
          source: `${lineage.name} version ${lineage.version}: training table (run ${lineage.runId})`,
        },
        current: { rows: trackIds.length, source: `${store.uri}/${batch.tracks.key}` },
        drift,
        predictionDrift,
        ...(quality ? { quality } : {}),
      };
      report.retrain = await decideRetrain(
        settings,
        report,
        () => lastRetrainDay(client, experiment.experimentId, day),
        day,
      );

      const monitoringRun = await client.startRun(experiment.experimentId, {
        runName: `day-${pad(day)}`,
        tags: {
          day: String(day),
          "model.name": lineage.name,
          "model.version": lineage.version,
          "model.run_id": lineage.runId,
          "drift.detected": String(drift.dataset.drift),
          "retrain.decision": report.retrain.retrain ? "retrain" : "none",
          "retrain.reasons": report.retrain.reasons.join("; "),
          "orchestration.flow_run_id": context.flowRunId,
        },
      });
      const runId = monitoringRun.info.runId;
      const metrics: [string, number][] = [
        ["tracks", trackIds.length],
        ["drift.share", drift.dataset.share],
        ["drift.drifted_columns", drift.dataset.drifted],
        ["drift.columns", drift.dataset.columns],
        ["prediction_drift.share", predictionDrift.dataset.share],
      ];
      if (quality)
        metrics.push(
          ["quality.jaccard_samples", quality.current.jaccardSamples],
          ["quality.hamming_loss", quality.current.hammingLoss],
          ["quality.f1_micro", quality.current.f1Micro],
          ["quality.f1_macro", quality.current.f1Macro],
        );
      const timestamp = Date.now();
      await client.logBatch(runId, {
        metrics: metrics
          .filter(([, value]) => Number.isFinite(value))
          .map(([key, value]) => ({ key, value, timestamp, step: day })),
      });
      const index = await writeReports(store, report);
      await client.logArtifactBytes(runId, "report.json", JSON.stringify(report));
      await client.endRun(runId, "FINISHED");

      const result: MonitorResult = {
        day,
        model: lineage,
        drift: {
          drift: drift.dataset.drift,
          share: drift.dataset.share,
          drifted: drift.dataset.drifted,
          columns: drift.dataset.columns,
        },
        predictionDrift: {
          drift: predictionDrift.dataset.drift,
          share: predictionDrift.dataset.share,
        },
        jaccard: quality?.current.jaccardSamples ?? null,
        retrain: report.retrain,
        runId,
        report: monitoringKey(day, "report.html"),
        index,
        storeUri: store.uri,
        skipped: false,
      };
      await store.put(resultKey, `${JSON.stringify({ digest, result }, null, 2)}\n`, {
        contentType: "application/json",
      });
      context.log(
        `day ${day}: ${drift.dataset.drifted} of ${drift.dataset.columns} columns drifted (share ${drift.dataset.share.toFixed(3)}${drift.dataset.drift ? ", dataset drift" : ""})${quality ? `, Jaccard ${quality.current.jaccardSamples.toFixed(4)}` : ""}; ${report.retrain.retrain ? "retrain" : "no retrain"}: ${report.retrain.reasons.join("; ")} → ${result.report}`,
      );
      return result;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
  {
    retries: 1,
    retryDelayMs: 1000,
    retryIf: (error) => !(error instanceof InputError),
    description:
      "measures a day's drift and quality against the champion's reference, writes its report",
  },
);

/** Adds a retrain's outcome to the day's report, the index and the monitoring run. */
export const recordRetrain = task(
  "monitor-record-retrain",
  async (input: { day: number; runId: string; outcome: string }) => {
    const store = pipelineStore();
    const client = await pipelineTracking();
    const key = monitoringKey(input.day, "report.json");
    const report = JSON.parse(new TextDecoder().decode(await store.get(key))) as MonitoringReport;
    report.retrain = {
      ...(report.retrain ?? { retrain: true, reasons: [] }),
      outcome: input.outcome,
    };
    await writeReports(store, report);
    await client.setTag(input.runId, "retrain.outcome", input.outcome);
    return { day: input.day, outcome: input.outcome };
  },
  { retries: 2, retryDelayMs: 500, description: "records a retrain's outcome in the day's report" },
);

// ---- the monitor flow (genre-classifier monitor) --------------------------------------------

export const monitorParameters = z.strictObject({
  day: z.coerce.number().int().min(1).optional(),
  force: z
    .union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")])
    .default(false),
});

/** The latest day with predictions. */
async function latestPredictedDay(store: ObjectStore): Promise<number> {
  const manifest = await readSplitManifest(store);
  for (let d = manifest.days.length; d >= 1; d--)
    if (await store.exists(predictionKey(d))) return d;
  throw new InputError("no day has predictions yet: run predict first");
}

export const monitorFlow = flow(
  "monitor",
  async (parameters, context): Promise<MonitorResult> => {
    const day = parameters.day ?? (await latestPredictedDay(pipelineStore()));
    const result = await monitorDay({ day, force: parameters.force });
    context.log(`report: ${result.storeUri}/${result.report}`);
    return result;
  },
  {
    parameters: monitorParameters,
    description:
      "measures a day's data and prediction drift and quality against the champion's reference (default: the latest predicted day) and writes its report",
  },
);
