// The predict flow: tags one day's batch of the split
// (daily/day=NNNN/tracks.parquet) with the genres of the model behind a registry alias,
// downloaded through the tracking client, and writes predictions/day=NNNN/predictions.parquet
// with the model's lineage in every row, then predictions/day=NNNN/run.json describing the
// write. A day is one object put whole, so it never holds two models' rows; a day already
// predicted is left alone unless `force` is set. Bad input is a refusal the flow turns into an
// InputError in its own process, so the reason keeps its kind even when tasks run on workers.

import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { InputError } from "../common/errors.ts";
import { readSplitManifest, type SplitManifest } from "../datasets/manifest.ts";
import {
  FeatureTable,
  GENRES_COLUMN,
  type OutputColumn,
  TRACK_ID_COLUMN,
  writeTable,
} from "../features/feature-table.ts";
import { readTable } from "../features/table.ts";
import type { GenreModel } from "../ml/model.ts";
import { flow, task } from "../orchestration/api.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { ModelVersion } from "../tracking/entities.ts";
import { TrackingError } from "../tracking/errors.ts";
import { loadModel, predictTable } from "../training/use.ts";
import { pipelineEnvironment, pipelineStore, pipelineTracking } from "./environment.ts";

export const PREDICTIONS_PREFIX = "predictions";
export const PREDICTIONS_FILE = "predictions.parquet";
export const PREDICT_RUN_FILE = "run.json";

const LINEAGE_COLUMNS = ["model_name", "model_version", "run_id"] as const;

/** The key of a day's prediction output: `predictions/day=0001/predictions.parquet`. */
export function predictionKey(day: number, file = PREDICTIONS_FILE): string {
  return `${PREDICTIONS_PREFIX}/day=${String(day).padStart(4, "0")}/${file}`;
}

const flag = z
  .union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")])
  .default(false);

export const predictParameters = z.strictObject({
  day: z.coerce.number().int().min(1).optional(),
  alias: z.string().min(1).default("champion"),
  force: flag,
});

export type PredictParameters = z.output<typeof predictParameters>;

export interface ModelLineage {
  name: string;
  version: string;
  runId: string;
}

export type PredictResult =
  | { status: "refused"; message: string }
  | { status: "all-done"; days: number; message: string }
  | {
      /** written: a new day; rewritten: replaced with force; unchanged / kept: left alone. */
      status: "written" | "rewritten" | "unchanged" | "kept";
      day: number;
      key: string;
      tracks: number;
      model: ModelLineage;
      /** The model whose rows the day held before this run, if any. */
      previous: ModelLineage | null;
      message: string;
      seconds: number;
    };

const PARQUET = { contentType: "application/vnd.apache.parquet" };

/** The day a run works on: the one asked for, or the earliest without predictions. */
async function chooseDay(
  store: ObjectStore,
  manifest: SplitManifest,
  day: number | undefined,
): Promise<number | string> {
  const days = manifest.days.length;
  if (day !== undefined) {
    if (day > days)
      return `day ${day}: the split has ${days} daily batch${days === 1 ? "" : "es"} (days 1 to ${days})`;
    return day;
  }
  for (const d of manifest.days) if (!(await store.exists(predictionKey(d.day)))) return d.day;
  return 0;
}

/** The lineage of a day's existing predictions (read from its rows), or null. */
async function existingLineage(store: ObjectStore, day: number, scratch: string) {
  const key = predictionKey(day);
  if (!(await store.exists(key))) return null;
  let path = await store.localFile(key);
  if (path === undefined) {
    path = join(scratch, "existing.parquet");
    await store.getFile(key, path);
  }
  const { rows } = await readTable(path, [...LINEAGE_COLUMNS]);
  const first = rows[0];
  if (first === undefined) return null;
  return {
    name: String(first.model_name),
    version: String(first.model_version),
    runId: String(first.run_id),
  };
}

/** The single model file a downloaded model version holds. */
async function findModelFile(dir: string): Promise<string | undefined> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && e.name.endsWith(".gcm"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
  return files.length === 1 ? files[0] : undefined;
}

function predictionColumns(
  model: GenreModel,
  predictions: Awaited<ReturnType<typeof predictTable>>,
  lineage: ModelLineage,
): OutputColumn[] {
  const L = model.labels.length;
  const n = predictions.trackIds.length;
  const columns: OutputColumn[] = [
    { name: TRACK_ID_COLUMN, kind: "text", values: predictions.trackIds },
    { name: GENRES_COLUMN, kind: "list", values: predictions.genres },
  ];
  model.labels.forEach((genre, k) => {
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = predictions.probabilities[i * L + k] as number;
    columns.push({ name: `p_${genre}`, kind: "number", values });
  });
  const repeat = (value: string): string[] => new Array<string>(n).fill(value);
  columns.push(
    { name: "model_name", kind: "text", values: repeat(lineage.name) },
    { name: "model_version", kind: "text", values: repeat(lineage.version) },
    { name: "run_id", kind: "text", values: repeat(lineage.runId) },
  );
  return columns;
}

const modelText = (m: ModelLineage) => `${m.name} version ${m.version}`;

export const predictDay = task(
  "predict-day",
  async (parameters: { day?: number; alias: string; force: boolean }): Promise<PredictResult> => {
    const started = performance.now();
    const environment = pipelineEnvironment();
    const store = pipelineStore();
    const modelName = environment.config.pipeline.registeredModel;
    if (!(await store.exists("datasets/split/manifest.json")))
      return { status: "refused", message: "no split found: run split first" };
    let manifest: SplitManifest;
    try {
      manifest = await readSplitManifest(store);
    } catch (error) {
      if (error instanceof InputError) return { status: "refused", message: error.message };
      throw error;
    }
    const day = await chooseDay(store, manifest, parameters.day);
    if (typeof day === "string") return { status: "refused", message: day };
    if (day === 0)
      return {
        status: "all-done",
        days: manifest.days.length,
        message: `every day of the split (${manifest.days.length}) has predictions: nothing to do`,
      };

    const tracking = await pipelineTracking();
    let version: ModelVersion;
    try {
      version = await tracking.getModelVersionByAlias(modelName, parameters.alias);
    } catch (error) {
      if (error instanceof TrackingError && error.code === "RESOURCE_DOES_NOT_EXIST")
        return {
          status: "refused",
          message: `no model registered under alias ${parameters.alias}: run complete-training first`,
        };
      if (error instanceof TrackingError) return { status: "refused", message: error.message };
      throw error;
    }
    const lineage: ModelLineage = {
      name: version.name,
      version: version.version,
      runId: version.runId,
    };
    const key = predictionKey(day);
    const scratch = await mkdtemp(join(tmpdir(), "gc-predict-"));
    try {
      const previous = await existingLineage(store, day, scratch);
      const same = previous?.name === lineage.name && previous.version === lineage.version;
      const done = (status: "unchanged" | "kept", message: string): PredictResult => ({
        status,
        day,
        key,
        tracks: manifest.days[day - 1]?.tracks.rows ?? 0,
        model: previous ?? lineage,
        previous,
        message,
        seconds: (performance.now() - started) / 1000,
      });
      if (previous && !parameters.force) {
        if (same)
          return done(
            "unchanged",
            `day ${day} already holds the predictions of ${modelText(lineage)}: skipped`,
          );
        return done(
          "kept",
          `day ${day} holds the predictions of ${modelText(previous)}, not ${parameters.alias} ${modelText(lineage)}: skipped (force=true replaces them)`,
        );
      }

      const modelDir = join(scratch, "model");
      await tracking.downloadModelVersion(version.name, version.version, modelDir);
      const modelFile = await findModelFile(modelDir);
      if (modelFile === undefined)
        return {
          status: "refused",
          message: `${modelText(lineage)} (${version.source}): expected one model file (*.gcm) in its artifacts`,
        };
      const { model } = await loadModel(modelFile);

      const tracksKey = manifest.days[day - 1]?.tracks.key as string;
      const tracksPath = join(scratch, "tracks.parquet");
      await store.getFile(tracksKey, tracksPath);
      const table = await FeatureTable.read(tracksPath, { text: [TRACK_ID_COLUMN] });
      const missing = model.features.filter((f) => !table.has(f));
      if (missing.length > 0)
        return {
          status: "refused",
          message: `${store.uri}/${tracksKey}: missing feature column${missing.length > 1 ? "s" : ""} ${missing.map((m) => `"${m}"`).join(", ")} that ${modelText(lineage)} needs`,
        };
      const predictions = await predictTable(model, table);
      const outputPath = join(scratch, PREDICTIONS_FILE);
      await writeTable(outputPath, predictionColumns(model, predictions, lineage));
      await store.putFile(key, outputPath, PARQUET);
      const seconds = (performance.now() - started) / 1000;
      const record = {
        day,
        model: lineage,
        alias: parameters.alias,
        tracks: predictions.trackIds.length,
        input: tracksKey,
        output: key,
        replaced: previous,
        seconds: Math.round(seconds * 1000) / 1000,
        predicted_at: new Date().toISOString(),
      };
      await store.put(
        predictionKey(day, PREDICT_RUN_FILE),
        `${JSON.stringify(record, null, 2)}\n`,
        {
          contentType: "application/json",
        },
      );
      const status = previous ? "rewritten" : "written";
      return {
        status,
        day,
        key,
        tracks: predictions.trackIds.length,
        model: lineage,
        previous,
        message: `day ${day}: ${predictions.trackIds.length} tracks tagged by ${modelText(lineage)} → ${key}${previous ? ` (${status}, replacing ${modelText(previous)})` : ""}`,
        seconds,
      };
    } catch (error) {
      if (error instanceof InputError) return { status: "refused", message: error.message };
      throw error;
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  },
  { retries: 2, retryDelayMs: 1000, description: "tags one day's tracks with the aliased model" },
);

/** A prediction that was not refused; a refusal becomes the InputError it stands for. */
export function outcome(result: PredictResult): Exclude<PredictResult, { status: "refused" }> {
  if (result.status === "refused") throw new InputError(result.message);
  return result;
}

export const predictFlow = flow(
  "predict",
  async (parameters, context) => {
    const result = outcome(await predictDay(parameters));
    context.log(result.message);
    return result;
  },
  {
    parameters: predictParameters,
    description:
      "tags a day's tracks (the earliest without predictions, or day=N) with the model behind alias",
  },
);
