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
import { PartFileWriter, readPartFile } from "../features/part-file.ts";
import { PART_CONTENT_TYPE } from "../features/preprocess.ts";
import { readTable } from "../features/table.ts";
import type { GenreModel } from "../ml/model.ts";
import { flow, task } from "../orchestration/api.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { ModelVersion } from "../tracking/entities.ts";
import { TrackingError } from "../tracking/errors.ts";
import { loadModel, type Predictions, predictTable } from "../training/use.ts";
import { pipelineEnvironment, pipelineStore, pipelineTracking } from "./environment.ts";
import { deleteParts, injectedPartitionFailure, runsPartitioned } from "./partitions.ts";

export const PREDICTIONS_PREFIX = "predictions";
export const PREDICTIONS_FILE = "predictions.parquet";
export const PREDICT_RUN_FILE = "run.json";

const LINEAGE_COLUMNS = ["model_name", "model_version", "run_id"] as const;

/** The key of a day's prediction output: `predictions/day=0001/predictions.parquet`. */
export function predictionKey(day: number, file = PREDICTIONS_FILE): string {
  return `${PREDICTIONS_PREFIX}/day=${String(day).padStart(4, "0")}/${file}`;
}

/** Rows per partition when predict runs on queue workers. */
export const DEFAULT_PREDICT_PARTITION = 10_000;

const flag = z
  .union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")])
  .default(false);

export const predictParameters = z.strictObject({
  day: z.coerce.number().int().min(1).optional(),
  alias: z.string().min(1).default("champion"),
  force: flag,
  /** Rows per partition on queue workers; 0 predicts the day in one task. */
  partition_size: z.coerce.number().int().min(0).max(10_000_000).default(DEFAULT_PREDICT_PARTITION),
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

/** What a run does once it knows its day and model: write the day, or say why not. */
/** What a run needs of a model version (task inputs and results travel as JSON). */
type VersionRef = Pick<ModelVersion, "name" | "version" | "runId" | "source">;

type Decision =
  | { done: PredictResult }
  | {
      done?: undefined;
      day: number;
      key: string;
      tracksKey: string;
      rows: number;
      version: VersionRef;
      lineage: ModelLineage;
      previous: ModelLineage | null;
    };

/**
 * Chooses the day, finds the model behind the alias and the day's present predictions, and
 * decides: refused, nothing to do, left alone, or to be written.
 */
async function decide(parameters: {
  day?: number | undefined;
  alias: string;
  force: boolean;
}): Promise<Decision> {
  const started = performance.now();
  const environment = pipelineEnvironment();
  const store = pipelineStore();
  const modelName = environment.config.pipeline.registeredModel;
  if (!(await store.exists("datasets/split/manifest.json")))
    return { done: { status: "refused", message: "no split found: run split first" } };
  let manifest: SplitManifest;
  try {
    manifest = await readSplitManifest(store);
  } catch (error) {
    if (error instanceof InputError) return { done: { status: "refused", message: error.message } };
    throw error;
  }
  const day = await chooseDay(store, manifest, parameters.day);
  if (typeof day === "string") return { done: { status: "refused", message: day } };
  if (day === 0)
    return {
      done: {
        status: "all-done",
        days: manifest.days.length,
        message: `every day of the split (${manifest.days.length}) has predictions: nothing to do`,
      },
    };

  const tracking = await pipelineTracking();
  let version: ModelVersion;
  try {
    version = await tracking.getModelVersionByAlias(modelName, parameters.alias);
  } catch (error) {
    if (error instanceof TrackingError && error.code === "RESOURCE_DOES_NOT_EXIST")
      return {
        done: {
          status: "refused",
          message: `no model registered under alias ${parameters.alias}: run complete-training first`,
        },
      };
    if (error instanceof TrackingError)
      return { done: { status: "refused", message: error.message } };
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
    const rows = manifest.days[day - 1]?.tracks.rows ?? 0;
    const done = (status: "unchanged" | "kept", message: string): Decision => ({
      done: {
        status,
        day,
        key,
        tracks: rows,
        model: previous ?? lineage,
        previous,
        message,
        seconds: (performance.now() - started) / 1000,
      },
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
    const tracksKey = manifest.days[day - 1]?.tracks.key as string;
    const ref = {
      name: version.name,
      version: version.version,
      runId: version.runId,
      source: version.source,
    };
    return { day, key, tracksKey, rows, version: ref, lineage, previous };
  } catch (error) {
    if (error instanceof InputError) return { done: { status: "refused", message: error.message } };
    throw error;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

type WriteDecision = Exclude<Decision, { done: PredictResult }>;

/** The model of a version, downloaded and loaded once per process (workers predict many parts). */
let loadedModel: { id: string; model: GenreModel } | undefined;

async function modelOf(version: VersionRef): Promise<{ model: GenreModel } | { refused: string }> {
  const id = `${version.name}\n${version.version}\n${version.runId}`;
  if (loadedModel?.id === id) return { model: loadedModel.model };
  const tracking = await pipelineTracking();
  const scratch = await mkdtemp(join(tmpdir(), "gc-predict-model-"));
  try {
    await tracking.downloadModelVersion(version.name, version.version, scratch);
    const modelFile = await findModelFile(scratch);
    if (modelFile === undefined)
      return {
        refused: `${version.name} version ${version.version} (${version.source}): expected one model file (*.gcm) in its artifacts`,
      };
    const { model } = await loadModel(modelFile);
    loadedModel = { id, model };
    return { model };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** A day's tracks table, read once per process and version of the object. */
let loadedTable: { id: string; table: FeatureTable } | undefined;

async function tracksTable(store: ObjectStore, tracksKey: string): Promise<FeatureTable> {
  const info = await store.head(tracksKey);
  const id = `${store.uri}/${tracksKey}\n${info?.etag}`;
  if (loadedTable?.id === id) return loadedTable.table;
  loadedTable = undefined;
  const scratch = await mkdtemp(join(tmpdir(), "gc-predict-tracks-"));
  try {
    const path = join(scratch, "tracks.parquet");
    await store.getFile(tracksKey, path);
    const table = await FeatureTable.read(path, { text: [TRACK_ID_COLUMN] });
    loadedTable = { id, table };
    return table;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function missingFeatures(
  store: ObjectStore,
  decision: WriteDecision,
  model: GenreModel,
  table: FeatureTable,
): string | undefined {
  const missing = model.features.filter((f) => !table.has(f));
  if (missing.length === 0) return undefined;
  return `${store.uri}/${decision.tracksKey}: missing feature column${missing.length > 1 ? "s" : ""} ${missing.map((m) => `"${m}"`).join(", ")} that ${modelText(decision.lineage)} needs`;
}

/** Puts a day's predictions and its run.json, and says what was done. */
async function writeDay(
  store: ObjectStore,
  decision: WriteDecision,
  alias: string,
  model: GenreModel,
  predictions: Predictions,
  /** When the run started, as Date.now(). */
  started: number,
): Promise<PredictResult> {
  const { day, key, lineage, previous, tracksKey } = decision;
  const scratch = await mkdtemp(join(tmpdir(), "gc-predict-out-"));
  try {
    const outputPath = join(scratch, PREDICTIONS_FILE);
    await writeTable(outputPath, predictionColumns(model, predictions, lineage));
    await store.putFile(key, outputPath, PARQUET);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const seconds = (Date.now() - started) / 1000;
  const tracks = predictions.trackIds.length;
  const record = {
    day,
    model: lineage,
    alias,
    tracks,
    input: tracksKey,
    output: key,
    replaced: previous,
    seconds: Math.round(seconds * 1000) / 1000,
    predicted_at: new Date().toISOString(),
  };
  await store.put(predictionKey(day, PREDICT_RUN_FILE), `${JSON.stringify(record, null, 2)}\n`, {
    contentType: "application/json",
  });
  const status = previous ? "rewritten" : "written";
  return {
    status,
    day,
    key,
    tracks,
    model: lineage,
    previous,
    message: `day ${day}: ${tracks} tracks tagged by ${modelText(lineage)} → ${key}${previous ? ` (${status}, replacing ${modelText(previous)})` : ""}`,
    seconds,
  };
}

export const predictDay = task(
  "predict-day",
  async (parameters: { day?: number; alias: string; force: boolean }): Promise<PredictResult> => {
    const started = Date.now();
    const store = pipelineStore();
    const decision = await decide(parameters);
    if (decision.done) return decision.done;
    try {
      const loaded = await modelOf(decision.version);
      if ("refused" in loaded) return { status: "refused", message: loaded.refused };
      const { model } = loaded;
      const table = await tracksTable(store, decision.tracksKey);
      const missing = missingFeatures(store, decision, model, table);
      if (missing) return { status: "refused", message: missing };
      const predictions = await predictTable(model, table);
      return await writeDay(store, decision, parameters.alias, model, predictions, started);
    } catch (error) {
      if (error instanceof InputError) return { status: "refused", message: error.message };
      throw error;
    }
  },
  { retries: 2, retryDelayMs: 1000, description: "tags one day's tracks with the aliased model" },
);

// ---- partitioned: rows of the day's table predicted on workers, merged into the same bytes ----

/** Where the parts of a partitioned prediction lie until the merge has read them. */
export const PREDICT_PARTS_PREFIX = "predictions/.parts";

export interface PredictPartHeader {
  step: "predict";
  day: number;
  index: number;
  partitions: number;
  /** Rows `start` to `end` (not included) of the day's tracks table. */
  start: number;
  end: number;
  model: ModelLineage;
}

interface PredictPlan {
  decision: WriteDecision;
  alias: string;
  started: number;
  parts: { key: string; header: PredictPartHeader }[];
}

type PlanResult = { done: PredictResult } | { plan: PredictPlan };

const predictPlan = task(
  "predict-plan",
  async (parameters: {
    day?: number;
    alias: string;
    force: boolean;
    partitionSize: number;
  }): Promise<PlanResult> => {
    const started = Date.now();
    const decision = await decide(parameters);
    if (decision.done) return { done: decision.done };
    const size = parameters.partitionSize;
    const partitions = Math.ceil(decision.rows / size);
    const folder = `${PREDICT_PARTS_PREFIX}/day=${String(decision.day).padStart(4, "0")}/${decision.lineage.name}-${decision.lineage.version}`;
    const parts = Array.from({ length: partitions }, (_, index) => ({
      key: `${folder}/part-${String(index).padStart(5, "0")}.gcpart`,
      header: {
        step: "predict",
        day: decision.day,
        index,
        partitions,
        start: index * size,
        end: Math.min(decision.rows, (index + 1) * size),
        model: decision.lineage,
      } satisfies PredictPartHeader,
    }));
    return { plan: { decision, alias: parameters.alias, started, parts } };
  },
  {
    retries: 2,
    retryDelayMs: 1000,
    description: "chooses the day and the model, and cuts the day's rows into partitions",
  },
);

type PartResult = { refused: string } | { key: string; rows: number; seconds: number };

const predictPart = task(
  "predict-part",
  async (
    input: { decision: WriteDecision; key: string; header: PredictPartHeader },
    context,
  ): Promise<PartResult> => {
    const started = performance.now();
    const store = pipelineStore();
    const { decision, header } = input;
    try {
      const loaded = await modelOf(decision.version);
      if ("refused" in loaded) return { refused: loaded.refused };
      const { model } = loaded;
      const table = await tracksTable(store, decision.tracksKey);
      const missing = missingFeatures(store, decision, model, table);
      if (missing) return { refused: missing };
      if (table.rows !== decision.rows)
        return {
          refused: `${store.uri}/${decision.tracksKey}: ${table.rows} rows, the split's manifest says ${decision.rows}; run split again`,
        };
      const rows = Uint32Array.from(
        { length: header.end - header.start },
        (_, i) => header.start + i,
      );
      const slice = table.select(rows, `${table.path} rows ${header.start + 1}–${header.end}`);
      const predictions = await predictTable(model, slice, 1);
      const scratch = await mkdtemp(join(tmpdir(), "gc-predict-part-"));
      try {
        const path = join(scratch, "part.gcpart");
        const part = new PartFileWriter(path, header);
        part.append(predictions);
        part.close();
        // A retried partition writes the same key again: the merge reads one part per range.
        await store.putFile(input.key, path, { contentType: PART_CONTENT_TYPE });
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
      injectedPartitionFailure("predict", header.index, context.attempt);
      const seconds = (performance.now() - started) / 1000;
      context.log(
        `partition ${header.index + 1}/${header.partitions}: rows ${header.start + 1}–${header.end} in ${seconds.toFixed(1)} s`,
      );
      return { key: input.key, rows: rows.length, seconds };
    } catch (error) {
      if (error instanceof InputError) return { refused: error.message };
      throw error;
    }
  },
  {
    retries: 2,
    retryDelayMs: 1000,
    retryIf: (error) => !(error instanceof InputError),
    description: "tags one range of a day's rows and puts them as a part for the merge",
  },
);

/** A part's predictions, checked against the rows and labels it was planned for. */
function partPredictions(
  bytes: Uint8Array,
  name: string,
  header: PredictPartHeader,
  labels: number,
): Predictions {
  const part = readPartFile(bytes, name);
  if (JSON.stringify(part.header) !== JSON.stringify(header))
    throw new InputError(
      `part ${name}: its header ${JSON.stringify(part.header)} is not the planned ${JSON.stringify(header)}`,
    );
  const [record] = part.records as Partial<Predictions>[];
  const rows = header.end - header.start;
  const { trackIds, genres, probabilities } = record ?? {};
  const ok =
    part.records.length === 1 &&
    Array.isArray(trackIds) &&
    trackIds.length === rows &&
    trackIds.every((id) => typeof id === "string") &&
    Array.isArray(genres) &&
    genres.length === rows &&
    genres.every((g) => Array.isArray(g) && g.every((x) => typeof x === "string")) &&
    probabilities instanceof Float64Array &&
    probabilities.length === rows * labels;
  if (!ok)
    throw new InputError(`part ${name}: not the predictions of ${rows} rows and ${labels} genres`);
  return { trackIds, genres, probabilities } as Predictions;
}

const predictMerge = task(
  "predict-merge",
  async (input: { plan: PredictPlan }, context): Promise<PredictResult> => {
    const store = pipelineStore();
    const { plan } = input;
    try {
      const loaded = await modelOf(plan.decision.version);
      if ("refused" in loaded) return { status: "refused", message: loaded.refused };
      const { model } = loaded;
      const labels = model.labels.length;
      const parts: Predictions[] = [];
      for (const { key, header } of plan.parts)
        parts.push(partPredictions(await store.get(key), `${store.uri}/${key}`, header, labels));
      const rows = parts.reduce((n, p) => n + p.trackIds.length, 0);
      const probabilities = new Float64Array(rows * labels);
      let offset = 0;
      for (const part of parts) {
        probabilities.set(part.probabilities, offset);
        offset += part.probabilities.length;
      }
      const predictions: Predictions = {
        trackIds: parts.flatMap((p) => p.trackIds),
        genres: parts.flatMap((p) => p.genres),
        probabilities,
      };
      const result = await writeDay(
        store,
        plan.decision,
        plan.alias,
        model,
        predictions,
        plan.started,
      );
      await deleteParts(
        store,
        plan.parts.map((p) => p.key),
      );
      context.log(`${plan.parts.length} parts merged: ${rows} rows`);
      return result;
    } catch (error) {
      if (error instanceof InputError) return { status: "refused", message: error.message };
      throw error;
    }
  },
  {
    retries: 1,
    retryDelayMs: 1000,
    description: "merges the parts of a partitioned prediction into the day's predictions",
  },
);

/** A prediction that was not refused; a refusal becomes the InputError it stands for. */
export function outcome(result: PredictResult): Exclude<PredictResult, { status: "refused" }> {
  if (result.status === "refused") throw new InputError(result.message);
  return result;
}

/** Predicts a day in one task, or as partitions on queue workers merged into the same bytes. */
export async function predictStep(parameters: PredictParameters): Promise<PredictResult> {
  const { partition_size: partitionSize, ...day } = parameters;
  if (!runsPartitioned(Number.POSITIVE_INFINITY, partitionSize)) return predictDay(day);
  const planned = await predictPlan({ ...day, partitionSize });
  if ("done" in planned) return planned.done;
  const { plan } = planned;
  if (plan.parts.length <= 1) return predictDay({ ...day, day: plan.decision.day });
  const parts = await Promise.all(
    predictPart
      .map(plan.parts.map((part) => ({ decision: plan.decision, ...part })))
      .map((run) => run.result()),
  );
  const refused = parts.find((p) => "refused" in p);
  if (refused && "refused" in refused) return { status: "refused", message: refused.refused };
  return predictMerge({ plan });
}

export const predictFlow = flow(
  "predict",
  async (parameters, context) => {
    const result = outcome(await predictStep(parameters));
    context.log(result.message);
    return result;
  },
  {
    parameters: predictParameters,
    description:
      "tags a day's tracks (the earliest without predictions, or day=N) with the model behind alias; on queue workers in partitions of `partition_size` rows (0: one task) merged into the same table",
  },
);
