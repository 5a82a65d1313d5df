// A small real genre model for the online prediction tests: synthetic MSD tracks turned into
// feature rows exactly as preprocess does, a forest of a few trees fitted on them, saved as a
// model file and registered in the tracking store with an alias, as complete-training does.
import { join } from "node:path";
import { extractFeatures, FEATURE_COLUMNS } from "../../src/features/extract.ts";
import { FeatureTable, type OutputColumn, writeTable } from "../../src/features/feature-table.ts";
import type { Row } from "../../src/features/table.ts";
import { defaultVocabulary } from "../../src/features/vocabulary.ts";
import type { GenreModel } from "../../src/ml/model.ts";
import { generateTrack } from "../../src/msd/synth.ts";
import type { TrackingClient } from "../../src/tracking/client.ts";
import { fitModel } from "../../src/training/fit.ts";
import { saveModel } from "../../src/training/use.ts";

/** The numeric columns preprocess writes: the features a model trained on its table knows. */
export const MSD_FEATURES = FEATURE_COLUMNS.filter(
  (c) => c.type === "DOUBLE" || c.type === "INT32",
).map((c) => c.name);

/** Feature rows of synthetic tracks `from … from + count` of catalogue `seed`. */
export function syntheticRows(seed: number, from: number, count: number): Row[] {
  const vocabulary = defaultVocabulary();
  const rows: Row[] = [];
  for (let i = from; i < from + count; i++) {
    const extraction = extractFeatures(generateTrack(seed, i), { vocabulary });
    if ("row" in extraction) rows.push(extraction.row);
  }
  return rows;
}

/**
 * The first feature row of catalogue `seed` from track `from` on with every feature present
 * (many tracks lack coordinates or a song_hotttnesss, as in the real data).
 */
export function completeRow(seed: number, from: number): Row {
  for (let i = from; ; i++) {
    const [row] = syntheticRows(seed, i, 1);
    if (row && MSD_FEATURES.every((name) => Number.isFinite(row[name]))) return row;
  }
}

/** Rows as a feature table file (as preprocess writes datasets/features.parquet), read back. */
export async function writeFeatureTable(path: string, rows: readonly Row[]): Promise<FeatureTable> {
  const columns: OutputColumn[] = [
    { name: "track_id", kind: "text", values: rows.map((r) => String(r.track_id)) },
    { name: "artist_id", kind: "text", values: rows.map((r) => String(r.artist_id)) },
    ...MSD_FEATURES.map(
      (name): OutputColumn => ({
        name,
        kind: "number",
        values: Float64Array.from(rows, (r) => Number(r[name])),
      }),
    ),
    { name: "genres", kind: "list", values: rows.map((r) => r.genres as string[]) },
  ];
  await writeTable(path, columns);
  return FeatureTable.read(path, { text: ["track_id", "artist_id", "genres"] });
}

/** A forest of `trees` trees on 150 synthetic tracks (8 most frequent genres), in a few seconds. */
export async function fitSmallModel(
  dir: string,
  options: { seed: number; trees?: number; tracks?: number },
): Promise<GenreModel> {
  const rows = syntheticRows(11, 0, options.tracks ?? 150);
  const cut = Math.floor(rows.length * 0.75);
  const train = await writeFeatureTable(
    join(dir, `train-${options.seed}.parquet`),
    rows.slice(0, cut),
  );
  const valid = await writeFeatureTable(
    join(dir, `valid-${options.seed}.parquet`),
    rows.slice(cut),
  );
  const { model } = await fitModel({
    train,
    valid,
    topK: 8,
    unseenGenres: "ignore",
    forest: { nTrees: options.trees ?? 4, seed: options.seed, workers: 1 },
  });
  return model;
}

/** Logs the model in a run of experiment `genre-classifier`, registers it and sets `alias`. */
export async function registerModel(
  tracking: TrackingClient,
  modelName: string,
  model: GenreModel,
  dir: string,
  alias = "champion",
): Promise<string> {
  const experiment = await tracking.getOrCreateExperiment("genre-classifier");
  const run = await tracking.startRun(experiment.experimentId);
  const folder = join(dir, `model-${run.info.runId}`);
  await saveModel(folder, model);
  await tracking.logArtifactFolder(run.info.runId, folder, "model");
  await tracking.endRun(run.info.runId);
  const version = await tracking.registerModelVersion(modelName, run.info.runId, "model");
  await tracking.setAlias(modelName, alias, version.version);
  return version.version;
}
