// Multi-label quality of a day whose labels have arrived (samples Jaccard, Hamming loss, micro
// and macro F1, per genre precision/recall/F1) beside the champion's validation figures and the
// most-frequent baseline, and the columns prediction drift tests when labels have not arrived:
// each genre's predicted indicator and the number of genres per track.
import { InputError } from "../common/errors.ts";
import type { IndicatorMatrix } from "../ml/matrix.ts";
import { multilabelReport } from "../ml/metrics.ts";
import type { DayQuality, GenreQuality, QualityScores } from "./types.ts";

export const GENRES_PER_TRACK = "genres_per_track";

/** The prediction-drift column of a genre's predicted indicator. */
export function predictedGenreColumn(genre: string): string {
  return `predicted:${genre}`;
}

/** One row per track, one column per genre of `genres`; genres outside it are left out. */
function indicator(genres: readonly string[], lists: readonly (readonly string[])[]) {
  const index = new Map(genres.map((g, k) => [g, k]));
  const cols = genres.length;
  const data = new Uint8Array(lists.length * cols);
  lists.forEach((list, i) => {
    for (const genre of list) {
      const k = index.get(genre);
      if (k !== undefined) data[i * cols + k] = 1;
    }
  });
  return { data, rows: lists.length, cols } satisfies IndicatorMatrix;
}

function scoresOf(report: ReturnType<typeof multilabelReport>): QualityScores {
  return {
    jaccardSamples: report.jaccardSamples,
    hammingLoss: report.hammingLoss,
    f1Micro: report.f1Micro,
    f1Macro: report.f1Macro,
  };
}

export interface DayQualityInput {
  /** The model's genres, most frequent in training first (the baseline predicts the first k). */
  genres: readonly string[];
  /** Each track's true genres; genres the model does not know are ignored, as in validation. */
  truth: readonly (readonly string[])[];
  /** Each track's predicted genres, in the same track order. */
  predicted: readonly (readonly string[])[];
  baselineK: number;
  /** The champion's validation figures, from its training run. */
  validation?: { model: QualityScores; baseline?: QualityScores; genreF1?: Record<string, number> };
}

export function dayQuality(input: DayQualityInput): DayQuality {
  const { genres, truth, predicted, baselineK } = input;
  if (truth.length !== predicted.length)
    throw new InputError(
      `quality: ${truth.length} labelled tracks but ${predicted.length} predicted ones (expected the same tracks)`,
    );
  if (truth.length === 0) throw new InputError("quality: the day has no tracks to score");
  if (genres.length === 0) throw new InputError("quality: the model has no genres");
  if (!Number.isInteger(baselineK) || baselineK < 1)
    throw new InputError(`quality: baselineK ${baselineK}: expected a whole number of at least 1`);
  const y = indicator(genres, truth);
  const current = multilabelReport(y, indicator(genres, predicted));
  const top = genres.slice(0, baselineK);
  const baseline = multilabelReport(
    y,
    indicator(
      genres,
      truth.map(() => top),
    ),
  );
  const genreQuality: GenreQuality[] = genres.map((genre, k) => {
    const validationF1 = input.validation?.genreF1?.[genre];
    return {
      genre,
      precision: current.perLabel.precision[k] as number,
      recall: current.perLabel.recall[k] as number,
      f1: current.perLabel.f1[k] as number,
      support: current.perLabel.support[k] as number,
      ...(validationF1 === undefined ? {} : { validationF1 }),
    };
  });
  return {
    tracks: truth.length,
    current: scoresOf(current),
    ...(input.validation === undefined ? {} : { validation: input.validation.model }),
    baseline: scoresOf(baseline),
    genres: genreQuality,
  };
}

/**
 * The columns prediction drift compares: each genre's predicted indicator (0/1) and the number
 * of genres per track, for the reference (validation predictions) and a day alike.
 */
export function predictionColumns(
  genres: readonly string[],
  predicted: readonly (readonly string[])[],
): Map<string, Float64Array> {
  const y = indicator(genres, predicted);
  const columns = new Map<string, Float64Array>();
  const perTrack = new Float64Array(y.rows);
  genres.forEach((genre, k) => {
    const values = new Float64Array(y.rows);
    for (let i = 0; i < y.rows; i++) {
      const v = y.data[i * y.cols + k] as number;
      values[i] = v;
      perTrack[i] = (perTrack[i] as number) + v;
    }
    columns.set(predictedGenreColumn(genre), values);
  });
  columns.set(GENRES_PER_TRACK, perTrack);
  return columns;
}
