// Multi-label evaluation metrics on indicator matrices, computed as scikit-learn 1.2 does.
//
// `zeroDivision` is the value a ratio takes when its denominator is 0, as sklearn's
// `zero_division`; the default 0 matches sklearn's default "warn" (0, without the warning).
// Samples-averaged Jaccard therefore scores a row whose truth and prediction are both empty
// as `zeroDivision` (0 by default), and F1 is 2·P·R/(P+R) of the zero-division-adjusted P and R.
import { InputError } from "../common/errors.ts";
import {
  checkIndicator,
  checkSameShape,
  checkShape,
  type IndicatorMatrix,
  type RealMatrix,
} from "./matrix.ts";

export type ZeroDivision = 0 | 1;

export interface ZeroDivisionOptions {
  zeroDivision?: ZeroDivision;
}

export interface PerLabelScores {
  precision: Float64Array;
  recall: Float64Array;
  f1: Float64Array;
  /** Number of true positives in the ground truth, per label. */
  support: Float64Array;
}

export interface MultilabelReport {
  jaccardSamples: number;
  hammingLoss: number;
  f1Micro: number;
  f1Macro: number;
  perLabel: PerLabelScores;
  /** Present when scores were given; NaN for a label with a single class in the truth. */
  rocAuc?: Float64Array;
}

function checkPair(yTrue: IndicatorMatrix, yPred: IndicatorMatrix): void {
  checkIndicator(yTrue, "yTrue");
  checkIndicator(yPred, "yPred");
  checkSameShape(yTrue, yPred, "yTrue vs yPred");
}

function divide(num: number, den: number, zeroDivision: number): number {
  return den === 0 ? zeroDivision : num / den;
}

function fScore(precision: number, recall: number): number {
  const den = precision + recall;
  return den === 0 ? 0 : (2 * precision * recall) / den;
}

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return sum / values.length;
}

/** sklearn `jaccard_score(average="samples")`. */
export function jaccardSamples(
  yTrue: IndicatorMatrix,
  yPred: IndicatorMatrix,
  options: ZeroDivisionOptions = {},
): number {
  checkPair(yTrue, yPred);
  const zd = options.zeroDivision ?? 0;
  const { rows, cols } = yTrue;
  const t = yTrue.data;
  const p = yPred.data;
  const perRow = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let inter = 0;
    let union = 0;
    for (let j = i * cols, end = j + cols; j < end; j++) {
      const a = t[j] as number;
      const b = p[j] as number;
      inter += a & b;
      union += a | b;
    }
    perRow[i] = divide(inter, union, zd);
  }
  return mean(perRow);
}

/** sklearn `hamming_loss`: the fraction of wrong label indicators. */
export function hammingLoss(yTrue: IndicatorMatrix, yPred: IndicatorMatrix): number {
  checkPair(yTrue, yPred);
  const t = yTrue.data;
  const p = yPred.data;
  let wrong = 0;
  for (let i = 0; i < t.length; i++) wrong += (t[i] as number) ^ (p[i] as number);
  return wrong / (yTrue.rows * yTrue.cols);
}

interface Counts {
  tp: Float64Array;
  predicted: Float64Array;
  truth: Float64Array;
}

function labelCounts(yTrue: IndicatorMatrix, yPred: IndicatorMatrix): Counts {
  checkPair(yTrue, yPred);
  const { rows, cols } = yTrue;
  const t = yTrue.data;
  const p = yPred.data;
  const tp = new Float64Array(cols);
  const predicted = new Float64Array(cols);
  const truth = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const base = i * cols;
    for (let k = 0; k < cols; k++) {
      const a = t[base + k] as number;
      const b = p[base + k] as number;
      tp[k] = (tp[k] as number) + (a & b);
      predicted[k] = (predicted[k] as number) + b;
      truth[k] = (truth[k] as number) + a;
    }
  }
  return { tp, predicted, truth };
}

/** sklearn `precision_recall_fscore_support(average=None)`. */
export function perLabelScores(
  yTrue: IndicatorMatrix,
  yPred: IndicatorMatrix,
  options: ZeroDivisionOptions = {},
): PerLabelScores {
  const zd = options.zeroDivision ?? 0;
  const { tp, predicted, truth } = labelCounts(yTrue, yPred);
  const n = tp.length;
  const precision = new Float64Array(n);
  const recall = new Float64Array(n);
  const f1 = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const pr = divide(tp[k] as number, predicted[k] as number, zd);
    const rc = divide(tp[k] as number, truth[k] as number, zd);
    precision[k] = pr;
    recall[k] = rc;
    f1[k] = fScore(pr, rc);
  }
  return { precision, recall, f1, support: truth };
}

/** sklearn `f1_score(average="micro")`. */
export function f1Micro(
  yTrue: IndicatorMatrix,
  yPred: IndicatorMatrix,
  options: ZeroDivisionOptions = {},
): number {
  const zd = options.zeroDivision ?? 0;
  const { tp, predicted, truth } = labelCounts(yTrue, yPred);
  let tpSum = 0;
  let predSum = 0;
  let trueSum = 0;
  for (let k = 0; k < tp.length; k++) {
    tpSum += tp[k] as number;
    predSum += predicted[k] as number;
    trueSum += truth[k] as number;
  }
  return fScore(divide(tpSum, predSum, zd), divide(tpSum, trueSum, zd));
}

/** sklearn `f1_score(average="macro")`: the unweighted mean of per-label F1. */
export function f1Macro(
  yTrue: IndicatorMatrix,
  yPred: IndicatorMatrix,
  options: ZeroDivisionOptions = {},
): number {
  return mean(perLabelScores(yTrue, yPred, options).f1);
}

/**
 * sklearn `roc_auc_score` on each label column separately (ties count one half, as the
 * trapezoidal area under sklearn's ROC curve does). A label whose truth column holds a single
 * class, where sklearn raises, gets NaN.
 */
export function rocAucPerLabel(yTrue: IndicatorMatrix, scores: RealMatrix): Float64Array {
  checkIndicator(yTrue, "yTrue");
  checkShape(scores.data, scores.rows, scores.cols, "scores");
  checkSameShape(yTrue, scores, "yTrue vs scores");
  const { rows, cols } = yTrue;
  const t = yTrue.data;
  const s = scores.data;
  const out = new Float64Array(cols);
  const pos = new Float64Array(rows);
  const neg = new Float64Array(rows);
  for (let k = 0; k < cols; k++) {
    let np = 0;
    let nn = 0;
    for (let i = 0; i < rows; i++) {
      const v = s[i * cols + k] as number;
      if (Number.isNaN(v)) {
        throw new InputError(`scores: NaN at row ${i}, column ${k}`);
      }
      if (t[i * cols + k] === 1) pos[np++] = v;
      else neg[nn++] = v;
    }
    if (np === 0 || nn === 0) {
      out[k] = Number.NaN;
      continue;
    }
    const p = pos.subarray(0, np).sort();
    const q = neg.subarray(0, nn).sort();
    // Twice the Mann–Whitney U: each (positive, negative) pair scores 2 if ordered, 1 if tied.
    let u2 = 0;
    let below = 0;
    for (let i = 0; i < np; ) {
      const v = p[i] as number;
      let i2 = i;
      while (i2 < np && p[i2] === v) i2++;
      while (below < nn && (q[below] as number) < v) below++;
      let j = below;
      while (j < nn && q[j] === v) j++;
      u2 += (i2 - i) * (2 * below + (j - below));
      i = i2;
    }
    out[k] = u2 / (2 * np * nn);
  }
  return out;
}

/** All the metrics above at once; pass `scores` to include per-label ROC AUC. */
export function multilabelReport(
  yTrue: IndicatorMatrix,
  yPred: IndicatorMatrix,
  scores?: RealMatrix,
  options: ZeroDivisionOptions = {},
): MultilabelReport {
  const perLabel = perLabelScores(yTrue, yPred, options);
  const report: MultilabelReport = {
    jaccardSamples: jaccardSamples(yTrue, yPred, options),
    hammingLoss: hammingLoss(yTrue, yPred),
    f1Micro: f1Micro(yTrue, yPred, options),
    f1Macro: mean(perLabel.f1),
    perLabel,
  };
  if (scores !== undefined) report.rocAuc = rocAucPerLabel(yTrue, scores);
  return report;
}

/** Indicators `score > threshold`, as sklearn's forest `predict` does at 0.5. */
export function binarize(scores: RealMatrix, threshold = 0.5): IndicatorMatrix {
  checkShape(scores.data, scores.rows, scores.cols, "scores");
  const s = scores.data;
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = (s[i] as number) > threshold ? 1 : 0;
  return { data: out, rows: scores.rows, cols: scores.cols };
}
