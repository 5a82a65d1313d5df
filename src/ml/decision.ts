// Turning per-label probabilities into genre sets: per-label thresholds tuned on held-out rows
// to maximize a metric (each label's threshold shrunk toward the best common one by how few
// positives it had), an optional "at least one genre" rule, the alternative rule that picks each
// track's set of highest expected Jaccard, and the constant baseline that predicts the k most
// frequent training genres for every track.
//
// Tuning searches thresholds on a grid of midpoints (0.005, 0.015, …, 0.995 by default), so a
// forest's vote fractions never sit on a threshold. It starts from the best single threshold
// for every label, then improves one label at a time (coordinate ascent) until a pass changes
// nothing: for one label, each row's score as a function of the threshold takes two values, so
// every grid threshold is scored exactly in O(rows + grid) from per-cell sums.
import { InputError } from "../common/errors.ts";
import {
  checkIndicator,
  checkSameShape,
  checkShape,
  type IndicatorMatrix,
  type RealMatrix,
} from "./matrix.ts";
import { f1Macro, f1Micro, jaccardSamples } from "./metrics.ts";

export type DecisionMetric = "jaccard" | "f1-micro" | "f1-macro";
export const DECISION_METRICS: readonly DecisionMetric[] = ["jaccard", "f1-micro", "f1-macro"];

export type DecisionRule = "thresholds" | "expected-jaccard";
export const DECISION_RULES: readonly DecisionRule[] = ["thresholds", "expected-jaccard"];

export interface Decision {
  /**
   * "thresholds" (default): a label is predicted when its probability exceeds its threshold;
   * "expected-jaccard": each row's k most probable labels, k chosen for the highest expected
   * Jaccard (thresholds unused).
   */
  rule?: DecisionRule;
  /** A label is predicted when its probability exceeds its threshold. */
  thresholds: Float64Array;
  /** When no label passes, predict the most probable one. */
  atLeastOne: boolean;
}

export interface TuneOptions {
  /** What to maximize (default "jaccard": samples-averaged Jaccard). */
  metric?: DecisionMetric;
  /** Grid cells in (0, 1) (default 100). */
  grid?: number;
  /** Most coordinate-ascent passes over the labels (default 10). */
  maxPasses?: number;
  /**
   * Pulls each label's threshold toward the best common threshold: a label with `positives`
   * positive tuning rows keeps `positives / (positives + shrinkage)` of its own (default 0: none).
   */
  shrinkage?: number;
}

export interface TunedDecision extends Decision {
  metric: DecisionMetric;
  /** The metric on the tuning rows with the tuned decision. */
  score: number;
  /** The metric on the tuning rows at threshold 0.5, without the at-least-one rule. */
  scoreAtHalf: number;
  /** The best threshold common to every label, toward which the others were shrunk. */
  common: number;
  passes: number;
}

export function scoreMetric(
  metric: DecisionMetric,
  y: IndicatorMatrix,
  pred: IndicatorMatrix,
): number {
  if (metric === "jaccard") return jaccardSamples(y, pred);
  if (metric === "f1-micro") return f1Micro(y, pred);
  return f1Macro(y, pred);
}

export function applyDecision(p: RealMatrix, decision: Decision): IndicatorMatrix {
  checkShape(p.data, p.rows, p.cols, "probabilities");
  if (decision.rule === "expected-jaccard") return expectedJaccardSets(p);
  const { rows: n, cols: L, data } = p;
  const t = decision.thresholds;
  if (t.length !== L) {
    throw new InputError(`decision: ${t.length} thresholds for ${L} labels`);
  }
  const out = new Uint8Array(n * L);
  for (let i = 0; i < n; i++) {
    const base = i * L;
    let any = false;
    let best = 0;
    for (let k = 0; k < L; k++) {
      const v = data[base + k] as number;
      if (v > (t[k] as number)) {
        out[base + k] = 1;
        any = true;
      }
      if (v > (data[base + best] as number)) best = k;
    }
    if (!any && decision.atLeastOne && L > 0) out[base + best] = 1;
  }
  return { data: out, rows: n, cols: L };
}

/** Tunes per-label thresholds on (truth, probabilities) of validation rows. */
export function tuneDecision(
  y: IndicatorMatrix,
  p: RealMatrix,
  options: TuneOptions = {},
): TunedDecision {
  checkIndicator(y, "labels");
  checkShape(p.data, p.rows, p.cols, "probabilities");
  checkSameShape(y, p, "labels vs probabilities");
  const metric = options.metric ?? "jaccard";
  if (!DECISION_METRICS.includes(metric)) {
    throw new InputError(`metric must be one of ${DECISION_METRICS.join(", ")}, got ${metric}`);
  }
  const G = options.grid ?? 100;
  if (!Number.isInteger(G) || G < 2 || G > 255) {
    throw new InputError(`grid must be an integer in [2, 255], got ${G}`);
  }
  const maxPasses = options.maxPasses ?? 10;
  const shrinkage = options.shrinkage ?? 0;
  if (!(shrinkage >= 0 && Number.isFinite(shrinkage))) {
    throw new InputError(`shrinkage must be a number ≥ 0, got ${shrinkage}`);
  }
  const { rows: n, cols: L } = y;
  if (n === 0) throw new InputError("thresholds: no validation rows to tune on");
  const grid = Float64Array.from({ length: G }, (_, g) => (g + 0.5) / G);
  // cell[i·L + k] = the number of grid thresholds below p: predicted at grid g iff g < cell.
  const cell = new Uint8Array(n * L);
  for (let j = 0; j < cell.length; j++) {
    const v = p.data[j] as number;
    if (Number.isNaN(v)) throw new InputError(`probabilities: NaN at row ${Math.floor(j / L)}`);
    let c = Math.ceil(v * G - 0.5);
    if (c < 0) c = 0;
    if (c > G) c = G;
    while (c > 0 && !(v > (grid[c - 1] as number))) c--;
    while (c < G && v > (grid[c] as number)) c++;
    cell[j] = c;
  }
  const state = new Tuner(y, cell, G, metric);
  // Start from the best common threshold.
  let bestG = 0;
  let best = Number.NEGATIVE_INFINITY;
  for (let g = 0; g < G; g++) {
    state.setAll(g);
    const s = state.score();
    if (s > best) {
      best = s;
      bestG = g;
    }
  }
  state.setAll(bestG);
  let passes = 0;
  for (; passes < maxPasses; passes++) {
    let changed = false;
    for (let k = 0; k < L; k++) if (state.improveLabel(k)) changed = true;
    if (!changed) break;
  }
  const common = grid[bestG] as number;
  const positives = state.positives();
  const thresholds = Float64Array.from(state.at, (g, k) => {
    const own = grid[g] as number;
    const pos = positives[k] as number;
    return shrinkage === 0 ? own : (pos * own + shrinkage * common) / (pos + shrinkage);
  });
  const half = applyDecision(p, { thresholds: new Float64Array(L).fill(0.5), atLeastOne: false });
  const without = scoreMetric(metric, y, applyDecision(p, { thresholds, atLeastOne: false }));
  const withOne = scoreMetric(metric, y, applyDecision(p, { thresholds, atLeastOne: true }));
  return {
    metric,
    thresholds,
    atLeastOne: withOne > without,
    score: Math.max(without, withOne),
    scoreAtHalf: scoreMetric(metric, y, half),
    common,
    passes,
  };
}

/**
 * For each row, the k most probable labels with k maximizing the expected Jaccard index, the
 * labels taken as independent with the given probabilities and the expectation of the ratio
 * approximated by the ratio of expectations: E[J(top k)] ≈ Σ_{j≤k} p_(j) / (k + Σ_{j>k} p_(j)).
 * Always at least one label.
 */
export function expectedJaccardSets(p: RealMatrix): IndicatorMatrix {
  const { rows: n, cols: L, data } = p;
  const out = new Uint8Array(n * L);
  const order = new Int32Array(L);
  const sorted = new Float64Array(L);
  for (let i = 0; i < n; i++) {
    const base = i * L;
    for (let k = 0; k < L; k++) order[k] = k;
    order.sort((a, b) => (data[base + b] as number) - (data[base + a] as number) || a - b);
    let rest = 0;
    for (let j = 0; j < L; j++) {
      sorted[j] = data[base + (order[j] as number)] as number;
      rest += sorted[j] as number;
    }
    let inside = 0;
    let best = -1;
    let bestK = 1;
    for (let k = 1; k <= L; k++) {
      const v = sorted[k - 1] as number;
      inside += v;
      rest -= v;
      const score = inside / (k + rest);
      if (score > best) {
        best = score;
        bestK = k;
      }
    }
    for (let j = 0; j < bestK; j++) out[base + (order[j] as number)] = 1;
  }
  return { data: out, rows: n, cols: L };
}

/** The state of a coordinate ascent: each label's grid index and the counts the metric needs. */
class Tuner {
  readonly at: Int32Array;
  private readonly n: number;
  private readonly L: number;
  /** Per row: |truth ∩ predicted| and |truth ∪ predicted| (jaccard). */
  private readonly inter: Int32Array;
  private readonly union: Int32Array;
  /** Per label: true positives, predicted positives, actual positives. */
  private readonly tp: Float64Array;
  private readonly predicted: Float64Array;
  private readonly actual: Float64Array;
  private readonly sumD: Float64Array;
  private readonly sumT: Float64Array;
  private readonly sumP: Float64Array;

  constructor(
    private readonly y: IndicatorMatrix,
    private readonly cell: Uint8Array,
    private readonly G: number,
    private readonly metric: DecisionMetric,
  ) {
    this.n = y.rows;
    this.L = y.cols;
    this.at = new Int32Array(this.L);
    this.inter = new Int32Array(this.n);
    this.union = new Int32Array(this.n);
    this.tp = new Float64Array(this.L);
    this.predicted = new Float64Array(this.L);
    this.actual = new Float64Array(this.L);
    for (let i = 0; i < this.n; i++) {
      for (let k = 0; k < this.L; k++) {
        this.actual[k] = (this.actual[k] as number) + (y.data[i * this.L + k] as number);
      }
    }
    this.sumD = new Float64Array(G + 1);
    this.sumT = new Float64Array(G + 1);
    this.sumP = new Float64Array(G + 1);
  }

  /** Positive tuning rows per label. */
  positives(): Float64Array {
    return this.actual;
  }

  setAll(g: number): void {
    const { n, L, cell } = this;
    const t = this.y.data;
    this.at.fill(g);
    this.tp.fill(0);
    this.predicted.fill(0);
    for (let i = 0; i < n; i++) {
      let inter = 0;
      let union = 0;
      for (let k = 0, j = i * L; k < L; k++, j++) {
        const truth = t[j] as number;
        const pred = (cell[j] as number) > g ? 1 : 0;
        inter += truth & pred;
        union += truth | pred;
        this.tp[k] = (this.tp[k] as number) + (truth & pred);
        this.predicted[k] = (this.predicted[k] as number) + pred;
      }
      this.inter[i] = inter;
      this.union[i] = union;
    }
  }

  score(): number {
    const { n, L } = this;
    if (this.metric === "jaccard") {
      let sum = 0;
      for (let i = 0; i < n; i++) {
        const u = this.union[i] as number;
        if (u > 0) sum += (this.inter[i] as number) / u;
      }
      return sum / n;
    }
    if (this.metric === "f1-micro") {
      let tp = 0;
      let pp = 0;
      let ap = 0;
      for (let k = 0; k < L; k++) {
        tp += this.tp[k] as number;
        pp += this.predicted[k] as number;
        ap += this.actual[k] as number;
      }
      return f1(tp, pp, ap);
    }
    let sum = 0;
    for (let k = 0; k < L; k++) {
      sum += f1(this.tp[k] as number, this.predicted[k] as number, this.actual[k] as number);
    }
    return sum / L;
  }

  /** Moves label k to its best grid threshold given the others; true when it moved. */
  improveLabel(k: number): boolean {
    const { n, L, G, cell, sumD, sumT, sumP } = this;
    const t = this.y.data;
    const current = this.at[k] as number;
    sumD.fill(0);
    sumT.fill(0);
    sumP.fill(0);
    // Score(g) = base + Σ over rows predicted at g (cell > g) of that row's gain.
    let base = 0;
    for (let i = 0; i < n; i++) {
      const j = i * L + k;
      const truth = t[j] as number;
      const c = cell[j] as number;
      sumT[c] = (sumT[c] as number) + truth;
      sumP[c] = (sumP[c] as number) + 1;
      if (this.metric === "jaccard") {
        const was = (c > current ? 1 : 0) as number;
        const inter = (this.inter[i] as number) - (truth & was);
        const union = (this.union[i] as number) - (truth | was);
        const off = union + truth > 0 ? inter / (union + truth) : 0;
        const on = (inter + truth) / (union + 1);
        base += off;
        sumD[c] = (sumD[c] as number) + on - off;
      }
    }
    const tpOthers = this.metric === "f1-micro" ? this.sumExcept(this.tp, k) : 0;
    const ppOthers = this.metric === "f1-micro" ? this.sumExcept(this.predicted, k) : 0;
    const apAll = this.metric === "f1-micro" ? this.sumExcept(this.actual, -1) : 0;
    const scores = new Float64Array(G);
    let gainD = 0;
    let tpK = 0;
    let ppK = 0;
    for (let g = G - 1; g >= 0; g--) {
      // Rows with cell > g are predicted at g.
      gainD += sumD[g + 1] as number;
      tpK += sumT[g + 1] as number;
      ppK += sumP[g + 1] as number;
      if (this.metric === "jaccard") scores[g] = (base + gainD) / n;
      else if (this.metric === "f1-micro") scores[g] = f1(tpOthers + tpK, ppOthers + ppK, apAll);
      else scores[g] = f1(tpK, ppK, this.actual[k] as number);
    }
    let best = scores[current] as number;
    let bestG = current;
    for (let g = 0; g < G; g++) {
      if ((scores[g] as number) > best + 1e-12) {
        best = scores[g] as number;
        bestG = g;
      }
    }
    if (bestG === current) return false;
    // Centre of the plateau of equal best scores, for a threshold away from the data.
    let lo = bestG;
    let hi = bestG;
    while (lo > 0 && Math.abs((scores[lo - 1] as number) - best) <= 1e-12) lo--;
    while (hi < G - 1 && Math.abs((scores[hi + 1] as number) - best) <= 1e-12) hi++;
    const chosen = (lo + hi) >> 1;
    this.setLabel(k, chosen);
    return chosen !== current;
  }

  private sumExcept(a: Float64Array, k: number): number {
    let s = 0;
    for (let j = 0; j < a.length; j++) if (j !== k) s += a[j] as number;
    return s;
  }

  private setLabel(k: number, g: number): void {
    const { n, L, cell } = this;
    const t = this.y.data;
    const old = this.at[k] as number;
    for (let i = 0; i < n; i++) {
      const j = i * L + k;
      const truth = t[j] as number;
      const c = cell[j] as number;
      const was = c > old ? 1 : 0;
      const now = c > g ? 1 : 0;
      if (was === now) continue;
      this.inter[i] = (this.inter[i] as number) - (truth & was) + (truth & now);
      this.union[i] = (this.union[i] as number) - (truth | was) + (truth | now);
      this.tp[k] = (this.tp[k] as number) - (truth & was) + (truth & now);
      this.predicted[k] = (this.predicted[k] as number) - was + now;
    }
    this.at[k] = g;
  }
}

/** F1 from true positives, predicted and actual positives, 0 when undefined (sklearn's default). */
function f1(tp: number, predicted: number, actual: number): number {
  const den = predicted + actual;
  return den === 0 ? 0 : (2 * tp) / den;
}

/** Indicators of the labels `0 … k-1` (the k most frequent) for every one of `rows` rows. */
export function mostFrequentPrediction(rows: number, nLabels: number, k: number): IndicatorMatrix {
  if (!Number.isInteger(k) || k < 1) throw new InputError(`k must be an integer ≥ 1, got ${k}`);
  const out = new Uint8Array(rows * nLabels);
  const top = Math.min(k, nLabels);
  for (let i = 0; i < rows; i++) out.fill(1, i * nLabels, i * nLabels + top);
  return { data: out, rows, cols: nLabels };
}
