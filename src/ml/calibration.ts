// Whether per-label probabilities mean what they say: Brier scores (overall and per label) beside
// those of a constant prediction of each label's training frequency, and a reliability table over
// equal-width probability bins with its expected calibration error. The bins are scikit-learn's
// `calibration_curve(strategy="uniform")`'s: bin i holds the probabilities in (i/n, (i+1)/n],
// the first also 0, with its inner edges computed as numpy's `linspace` computes them.
import { InputError } from "../common/errors.ts";
import {
  checkIndicator,
  checkSameShape,
  checkShape,
  type IndicatorMatrix,
  type RealMatrix,
} from "./matrix.ts";

export interface CalibrationBin {
  from: number;
  to: number;
  /** (row, label) pairs whose probability falls in the bin. */
  pairs: number;
  /** Mean probability of those pairs; NaN when the bin is empty. */
  meanProbability: number;
  /** Share of those pairs whose label is true; NaN when the bin is empty. */
  observed: number;
}

export interface GenreCalibration {
  /** The label's column. */
  label: number;
  positives: number;
  brier: number;
  brierBaseline: number;
  meanProbability: number;
  observed: number;
}

export interface Calibration {
  /** Mean squared error of the probabilities over every (row, label) pair. */
  brier: number;
  /** The same for a constant prediction of each label's training frequency. */
  brierBaseline: number;
  /** Expected calibration error over the bins: Σ share × |mean probability − observed rate|. */
  ece: number;
  /** The reliability table over every (row, label) pair; empty bins are kept with 0 pairs. */
  bins: CalibrationBin[];
  genres: GenreCalibration[];
}

export const DEFAULT_CALIBRATION_BINS = 10;

function checkInputs(
  y: IndicatorMatrix,
  p: RealMatrix,
  priors: ArrayLike<number>,
  bins: number,
): void {
  checkIndicator(y, "calibration: labels");
  checkShape(p.data, p.rows, p.cols, "calibration: probabilities");
  checkSameShape(y, p, "calibration: labels vs probabilities");
  if (y.rows === 0) throw new InputError("calibration: no rows to check the probabilities on");
  for (let i = 0; i < p.data.length; i++) {
    const v = p.data[i] as number;
    if (!(v >= 0 && v <= 1)) {
      throw new InputError(
        `calibration: probability ${v} at row ${Math.floor(i / p.cols)}, column ${i % p.cols} is not in [0, 1]`,
      );
    }
  }
  if (priors.length !== y.cols) {
    throw new InputError(
      `calibration: ${priors.length} training frequencies given for ${y.cols} labels`,
    );
  }
  for (let k = 0; k < priors.length; k++) {
    const v = priors[k] as number;
    if (!(v >= 0 && v <= 1)) {
      throw new InputError(`calibration: training frequency ${v} of label ${k} is not in [0, 1]`);
    }
  }
  if (!Number.isInteger(bins) || bins < 1) {
    throw new InputError(`calibration: bins must be a whole number ≥ 1, got ${bins}`);
  }
}

/** The bin's index for a probability: how many inner edges lie below it. */
function binOf(probability: number, innerEdges: Float64Array): number {
  let lo = 0;
  let hi = innerEdges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((innerEdges[mid] as number) < probability) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Calibration of probabilities `p` against label indicators `y` (rows × labels), with `priors`
 * each label's frequency in the training rows (the constant prediction the Brier score is
 * compared with) and `bins` equal-width bins for the reliability table.
 */
export function calibration(
  y: IndicatorMatrix,
  p: RealMatrix,
  priors: ArrayLike<number>,
  bins = DEFAULT_CALIBRATION_BINS,
): Calibration {
  checkInputs(y, p, priors, bins);
  const { rows, cols } = y;
  const step = 1 / bins;
  const innerEdges = new Float64Array(bins - 1);
  for (let i = 1; i < bins; i++) innerEdges[i - 1] = i * step;
  const binPairs = new Float64Array(bins);
  const binProbability = new Float64Array(bins);
  const binPositives = new Float64Array(bins);
  const positives = new Float64Array(cols);
  const probabilitySum = new Float64Array(cols);
  const squaredError = new Float64Array(cols);
  const baselineSquaredError = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const offset = i * cols;
    for (let k = 0; k < cols; k++) {
      const truth = y.data[offset + k] as number;
      const probability = p.data[offset + k] as number;
      const prior = priors[k] as number;
      positives[k] = (positives[k] as number) + truth;
      probabilitySum[k] = (probabilitySum[k] as number) + probability;
      squaredError[k] = (squaredError[k] as number) + (probability - truth) ** 2;
      baselineSquaredError[k] = (baselineSquaredError[k] as number) + (prior - truth) ** 2;
      const b = binOf(probability, innerEdges);
      binPairs[b] = (binPairs[b] as number) + 1;
      binProbability[b] = (binProbability[b] as number) + probability;
      binPositives[b] = (binPositives[b] as number) + truth;
    }
  }
  const pairs = rows * cols;
  let brier = 0;
  let brierBaseline = 0;
  const genres: GenreCalibration[] = [];
  for (let k = 0; k < cols; k++) {
    brier += squaredError[k] as number;
    brierBaseline += baselineSquaredError[k] as number;
    genres.push({
      label: k,
      positives: positives[k] as number,
      brier: (squaredError[k] as number) / rows,
      brierBaseline: (baselineSquaredError[k] as number) / rows,
      meanProbability: (probabilitySum[k] as number) / rows,
      observed: (positives[k] as number) / rows,
    });
  }
  let ece = 0;
  const table: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const n = binPairs[b] as number;
    ece += Math.abs((binProbability[b] as number) - (binPositives[b] as number)) / pairs;
    table.push({
      from: b === 0 ? 0 : (innerEdges[b - 1] as number),
      to: b === bins - 1 ? 1 : (innerEdges[b] as number),
      pairs: n,
      meanProbability: n === 0 ? Number.NaN : (binProbability[b] as number) / n,
      observed: n === 0 ? Number.NaN : (binPositives[b] as number) / n,
    });
  }
  return {
    brier: cols === 0 ? Number.NaN : brier / pairs,
    brierBaseline: cols === 0 ? Number.NaN : brierBaseline / pairs,
    ece: cols === 0 ? Number.NaN : ece,
    bins: table,
    genres,
  };
}
