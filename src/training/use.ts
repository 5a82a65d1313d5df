// Using a fitted model on a feature table: saving and loading its file, predicting each track's
// genres with their probabilities, and evaluating against the table's genres beside the
// most-frequent baseline.
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { InputError } from "../common/errors.ts";
import {
  type FeatureTable,
  type OutputColumn,
  TRACK_ID_COLUMN,
  tableFormat,
  writeTable,
} from "../features/feature-table.ts";
import { mostFrequentPrediction } from "../ml/decision.ts";
import { decodeModel, encodeModel, type GenreModel } from "../ml/model.ts";
import {
  featureMatrix,
  type LabelMetrics,
  labelMetrics,
  type Metrics,
  summaryMetrics,
  tableLabels,
  type UnseenGenres,
} from "./tables.ts";

export const MODEL_FILE = "model.gcm";

/** Writes the model to DIR/model.gcm (through a temporary file) and returns that path. */
export async function saveModel(dir: string, model: GenreModel): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, MODEL_FILE);
  const partial = `${path}.${process.pid}.partial`;
  await writeFile(partial, encodeModel(model));
  await rename(partial, path);
  return path;
}

/** Reads a model from a folder holding model.gcm, or from the file itself. */
export async function loadModel(location: string): Promise<{ model: GenreModel; path: string }> {
  let path = location;
  try {
    if ((await stat(location)).isDirectory()) path = join(location, MODEL_FILE);
  } catch {
    throw new InputError(
      `model ${location}: no such file or folder (fit one with genre-classifier model fit)`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InputError(`model ${path}: cannot be read (${(error as Error).message})`);
  }
  try {
    return { model: decodeModel(bytes), path };
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`model ${path}: ${error.message}`);
    throw error;
  }
}

export interface Predictions {
  trackIds: string[];
  genres: string[][];
  /** Row-major, one column per label. */
  probabilities: Float64Array;
}

export async function predictTable(
  model: GenreModel,
  table: FeatureTable,
  workers?: number,
): Promise<Predictions> {
  if (!table.has(TRACK_ID_COLUMN)) {
    throw new InputError(
      `table ${table.path}: no "${TRACK_ID_COLUMN}" column to name the predictions`,
    );
  }
  checkColumns(model, table);
  const x = featureMatrix(table, model.features);
  const p = await model.predictProbaParallel(x, workers);
  const pred = model.decide(p);
  return {
    trackIds: table.text(TRACK_ID_COLUMN),
    genres: model.binarizer.decode(pred),
    probabilities: p.data,
  };
}

function checkColumns(model: GenreModel, table: FeatureTable): void {
  try {
    model.checkColumns(table.columns.map((c) => c.name));
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`table ${table.path}: ${error.message}`);
    throw error;
  }
}

/**
 * Refuses an output table that is the input table (the same file however it is named: `./`,
 * `..`, a symbolic or hard link), a folder, or a file in a folder that does not exist (no
 * folder is created). `label` names the output in messages, such as the option that gave it.
 */
export async function checkOutputTable(
  output: string,
  input: string,
  label = output,
): Promise<void> {
  tableFormat(output);
  const folder = dirname(output);
  const folderInfo = await stat(folder).catch(() => undefined);
  if (folderInfo === undefined) {
    throw new InputError(`${label}: the folder ${folder} does not exist (create it first)`);
  }
  if (!folderInfo.isDirectory()) throw new InputError(`${label}: ${folder} is not a folder`);
  const existing = await stat(output).catch(() => undefined);
  if (existing === undefined) return;
  if (existing.isDirectory()) throw new InputError(`${label} is a folder, not a table file`);
  const source = await stat(input).catch(() => undefined);
  if (source !== undefined && source.dev === existing.dev && source.ino === existing.ino) {
    throw new InputError(
      `${label} is the input table ${input}: name another file for the predictions`,
    );
  }
}

/** Writes predictions as track_id, genres and one `p(<genre>)` column per genre. */
export async function writePredictions(
  path: string,
  model: GenreModel,
  predictions: Predictions,
): Promise<void> {
  const L = model.labels.length;
  const n = predictions.trackIds.length;
  const columns: OutputColumn[] = [
    { name: TRACK_ID_COLUMN, kind: "text", values: predictions.trackIds },
    { name: "genres", kind: "list", values: predictions.genres },
  ];
  model.labels.forEach((genre, k) => {
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = predictions.probabilities[i * L + k] as number;
    columns.push({ name: `p(${genre})`, kind: "number", values });
  });
  await writeTable(path, columns);
}

export interface Evaluation {
  table: string;
  rows: number;
  /** Rows with at least one of the model's genres, the ones scored. */
  evaluated: number;
  droppedWithoutTopGenre: number;
  model: Metrics;
  baselines: Record<string, Metrics>;
  perGenre: LabelMetrics[];
}

export async function evaluateTable(
  model: GenreModel,
  table: FeatureTable,
  options: { unseenGenres?: UnseenGenres; baselineK?: number; workers?: number } = {},
): Promise<Evaluation> {
  checkColumns(model, table);
  const labels = tableLabels(
    table,
    model.binarizer,
    options.unseenGenres ?? "error",
    "the model's training table",
  );
  if (labels.y.rows === 0) {
    throw new InputError(
      `table ${table.path}: no track has one of the model's ${model.labels.length} genres`,
    );
  }
  const x = featureMatrix(table, model.features, labels.kept);
  const p = await model.predictProbaParallel(x, options.workers);
  const pred = model.decide(p);
  const k = options.baselineK ?? model.parts.baselineK;
  const y = labels.y;
  return {
    table: table.path,
    rows: table.rows,
    evaluated: y.rows,
    droppedWithoutTopGenre: labels.dropped,
    model: summaryMetrics(y, pred),
    baselines: {
      [`most-frequent-${k}`]: summaryMetrics(y, mostFrequentPrediction(y.rows, y.cols, k)),
    },
    perGenre: labelMetrics(y, pred, p, model.labels),
  };
}
