// From feature tables to the arrays ml/ works on: feature columns chosen and checked, rows as a
// row-major matrix, genres as label indicators with unseen genres refused or dropped, and the
// metrics report in genre names.
import { InputError } from "../common/errors.ts";
import { type FeatureTable, GENRES_COLUMN } from "../features/feature-table.ts";
import type { BinarizedLabels, LabelBinarizer } from "../ml/labels.ts";
import type { IndicatorMatrix, Matrix, RealMatrix } from "../ml/matrix.ts";
import { multilabelReport } from "../ml/metrics.ts";

/** The seed's six features. */
export const SEED_FEATURES = ["duration", "key", "loudness", "mode", "tempo", "year"] as const;

/** `requested`, checked against the table, or every numeric column but ids and labels. */
export function chooseFeatures(table: FeatureTable, requested?: readonly string[]): string[] {
  if (requested !== undefined && requested.length > 0) {
    const seen = new Set<string>();
    for (const name of requested) {
      if (seen.has(name)) throw new InputError(`feature "${name}" is listed twice`);
      seen.add(name);
      if (name === GENRES_COLUMN)
        throw new InputError(`"${name}" holds the labels and cannot be a feature`);
      if (!table.has(name)) {
        throw new InputError(`table ${table.path}: no column "${name}" (asked for as a feature)`);
      }
      table.numeric(name);
    }
    return [...requested];
  }
  const features = table.featureColumns();
  if (features.length === 0) {
    throw new InputError(
      `table ${table.path}: no numeric feature columns (besides ids and genres)`,
    );
  }
  for (const name of features) table.numeric(name);
  return features;
}

/**
 * Rows `rows` (all by default) of the feature columns as one row-major matrix, in shared memory
 * when `shared` (for worker threads).
 */
export function featureMatrix(
  table: FeatureTable,
  features: readonly string[],
  rows?: Uint32Array,
  shared = false,
): Matrix<Float64Array> {
  const missing = features.filter((f) => !table.has(f));
  if (missing.length > 0) {
    throw new InputError(
      `table ${table.path}: missing feature column${missing.length > 1 ? "s" : ""} ${missing.map((m) => `"${m}"`).join(", ")}`,
    );
  }
  const n = rows?.length ?? table.rows;
  const d = features.length;
  const out = new Float64Array(
    shared ? new SharedArrayBuffer(n * d * 8) : new ArrayBuffer(n * d * 8),
  );
  features.forEach((name, f) => {
    const column = table.numeric(name);
    if (rows === undefined) for (let i = 0; i < n; i++) out[i * d + f] = column[i] as number;
    else for (let i = 0; i < n; i++) out[i * d + f] = column[rows[i] as number] as number;
  });
  return { data: out, rows: n, cols: d };
}

export type UnseenGenres = "error" | "ignore";

/** The table's genres as indicators of the model's labels, with unseen genres handled. */
export function tableLabels(
  table: FeatureTable,
  labels: LabelBinarizer,
  unseen: UnseenGenres,
  trainedOn: string,
): BinarizedLabels {
  const out = labels.transform(table.genres());
  if (unseen === "error" && out.unseen.size > 0) {
    const [genre, row] = [...out.unseen][0] as [string, number];
    const more = out.unseen.size > 1 ? ` (and ${out.unseen.size - 1} more unseen genres)` : "";
    throw new InputError(
      `table ${table.path}: row ${row + 1} has genre "${genre}", which ${trainedOn} never had${more}; pass --ignore-unseen-genres to drop such genres`,
    );
  }
  return out;
}

export interface Metrics {
  jaccardSamples: number;
  hammingLoss: number;
  f1Micro: number;
  f1Macro: number;
}

export interface LabelMetrics {
  genre: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
  rocAuc: number | null;
}

export function summaryMetrics(y: IndicatorMatrix, pred: IndicatorMatrix): Metrics {
  const r = multilabelReport(y, pred);
  return {
    jaccardSamples: r.jaccardSamples,
    hammingLoss: r.hammingLoss,
    f1Micro: r.f1Micro,
    f1Macro: r.f1Macro,
  };
}

export function labelMetrics(
  y: IndicatorMatrix,
  pred: IndicatorMatrix,
  scores: RealMatrix,
  genres: readonly string[],
): LabelMetrics[] {
  const r = multilabelReport(y, pred, scores);
  return genres.map((genre, k) => {
    const auc = r.rocAuc?.[k] as number;
    return {
      genre,
      precision: r.perLabel.precision[k] as number,
      recall: r.perLabel.recall[k] as number,
      f1: r.perLabel.f1[k] as number,
      support: r.perLabel.support[k] as number,
      rocAuc: Number.isNaN(auc) ? null : auc,
    };
  });
}
