// Fitted, serializable feature preprocessing: outlier rules, min-max scaling with clipping, and
// imputation of missing values (NaN) by the median or by k nearest neighbours (knn-imputer.ts).
// Steps run in that order on a row-major Float64 matrix; each is fitted on the training rows
// and can be written to plain JSON plus typed arrays and read back.
import { InputError } from "../common/errors.ts";
import { KnnImputer, type KnnImputerOptions } from "./knn-imputer.ts";
import type { Matrix, RealMatrix } from "./matrix.ts";

export type FeatureMatrix = Matrix<Float64Array>;

/** A rule folding a column into [min, max] by octaves, as the seed does for tempo. */
export interface FoldRule {
  column: number;
  min: number;
  max: number;
}

export interface PreprocessingOptions {
  /** Columns where 0 means "unknown" (the seed's year): 0 becomes missing. */
  zeroAsMissing?: number[];
  /**
   * Columns folded into [min, max]: below min/2 or above max×2 becomes missing, below min is
   * doubled, above max is halved (the seed's tempo rule, 70 and 180).
   */
  fold?: FoldRule[];
  /** Min-max scaling to [0, 1] fitted on the training rows, clipping new values (default true). */
  scale?: boolean;
  /** How missing values are filled (default "knn"). */
  imputer?: "knn" | "median";
  knn?: KnnImputerOptions;
}

/** A step's fitted state: small parameters as JSON, large ones as named arrays. */
export interface StepState {
  kind: string;
  params: Record<string, unknown>;
  arrays: Record<string, Float64Array>;
}

export interface PreprocessorState {
  nFeatures: number;
  steps: StepState[];
}

export interface FittedStep {
  readonly kind: string;
  /** Transforms `x` (NaN = missing) in place. */
  transformInPlace(x: FeatureMatrix): void;
  state(): StepState;
}

/** Checks that every value is finite or NaN (missing); ±Infinity is refused. */
export function checkFiniteOrMissing(x: RealMatrix, what: string): void {
  const { data, cols } = x;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (v === Number.POSITIVE_INFINITY || v === Number.NEGATIVE_INFINITY) {
      throw new InputError(
        `${what}: ${v} at row ${Math.floor(i / cols)}, column ${i % cols} (only finite numbers or missing values)`,
      );
    }
  }
}

function columnIndex(value: unknown, nFeatures: number, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value >= nFeatures) {
    throw new InputError(`${what}: column ${String(value)} is not one of the ${nFeatures} columns`);
  }
  return value;
}

export class OutlierRules implements FittedStep {
  readonly kind = "outliers";

  constructor(
    readonly nFeatures: number,
    readonly zeroAsMissing: readonly number[],
    readonly fold: readonly FoldRule[],
  ) {
    for (const c of zeroAsMissing) columnIndex(c, nFeatures, "zeroAsMissing");
    for (const r of fold) {
      columnIndex(r.column, nFeatures, "fold");
      if (!(Number.isFinite(r.min) && Number.isFinite(r.max) && r.min > 0 && r.max > r.min)) {
        throw new InputError(
          `fold: min and max must satisfy 0 < min < max, got ${r.min}, ${r.max}`,
        );
      }
    }
  }

  transformInPlace(x: FeatureMatrix): void {
    const { data, rows, cols } = x;
    for (const c of this.zeroAsMissing) {
      for (let i = 0, j = c; i < rows; i++, j += cols) if (data[j] === 0) data[j] = Number.NaN;
    }
    for (const { column, min, max } of this.fold) {
      const low = min / 2;
      const high = max * 2;
      for (let i = 0, j = column; i < rows; i++, j += cols) {
        const v = data[j] as number;
        if (v < low || v > high) data[j] = Number.NaN;
        else if (v < min) data[j] = v * 2;
        else if (v > max) data[j] = v / 2;
      }
    }
  }

  state(): StepState {
    return {
      kind: this.kind,
      params: { zeroAsMissing: [...this.zeroAsMissing], fold: this.fold.map((r) => ({ ...r })) },
      arrays: {},
    };
  }

  static fromState(s: StepState, nFeatures: number): OutlierRules {
    const zero = s.params.zeroAsMissing;
    const fold = s.params.fold;
    if (!Array.isArray(zero) || !Array.isArray(fold)) throw new InputError("outliers: bad state");
    return new OutlierRules(nFeatures, zero as number[], fold as FoldRule[]);
  }
}

/**
 * scikit-learn's MinMaxScaler(clip=True): per column x·scale + offset with scale 1/(max - min)
 * (1 when max = min) and offset -min·scale, fitted ignoring missing values, results clipped to
 * [0, 1]. A constant column gets scale 1; a column with no value in training becomes missing.
 */
/** sklearn treats a range below 10 machine epsilons as constant. */
const TINY_RANGE = 10 * Number.EPSILON;

export class MinMaxScaler implements FittedStep {
  readonly kind = "min-max";

  constructor(
    readonly scale: Float64Array,
    readonly offset: Float64Array,
  ) {}

  static fit(x: FeatureMatrix): MinMaxScaler {
    const { data, rows, cols } = x;
    const lo = new Float64Array(cols).fill(Number.POSITIVE_INFINITY);
    const hi = new Float64Array(cols).fill(Number.NEGATIVE_INFINITY);
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      for (let c = 0; c < cols; c++) {
        const v = data[base + c] as number;
        if (v < (lo[c] as number)) lo[c] = v;
        if (v > (hi[c] as number)) hi[c] = v;
      }
    }
    const scale = new Float64Array(cols);
    const offset = new Float64Array(cols);
    for (let c = 0; c < cols; c++) {
      const min = lo[c] as number;
      const range = (hi[c] as number) - min;
      if (!Number.isFinite(min)) {
        scale[c] = Number.NaN;
        offset[c] = Number.NaN;
        continue;
      }
      const s = range < TINY_RANGE ? 1 : 1 / range;
      scale[c] = s;
      offset[c] = -min * s;
    }
    return new MinMaxScaler(scale, offset);
  }

  transformInPlace(x: FeatureMatrix): void {
    const { data, rows, cols } = x;
    const { scale, offset } = this;
    for (let i = 0; i < rows; i++) {
      const base = i * cols;
      for (let c = 0; c < cols; c++) {
        const v = data[base + c] as number;
        if (Number.isNaN(v)) continue;
        const t = v * (scale[c] as number) + (offset[c] as number);
        data[base + c] = t < 0 ? 0 : Math.min(t, 1);
      }
    }
  }

  state(): StepState {
    return { kind: this.kind, params: {}, arrays: { scale: this.scale, offset: this.offset } };
  }

  static fromState(s: StepState, nFeatures: number): MinMaxScaler {
    const { scale, offset } = s.arrays;
    if (scale?.length !== nFeatures || offset?.length !== nFeatures) {
      throw new InputError("min-max: scale and offset must have one value per feature");
    }
    return new MinMaxScaler(scale, offset);
  }
}

/** Median of the present values per column (scikit-learn's SimpleImputer(strategy="median")). */
export class MedianImputer implements FittedStep {
  readonly kind = "median";

  /** One fill value per column; 0 for a column with no value in training. */
  constructor(readonly fill: Float64Array) {}

  static fit(x: FeatureMatrix): MedianImputer {
    const { data, rows, cols } = x;
    const fill = new Float64Array(cols);
    const column = new Float64Array(rows);
    for (let c = 0; c < cols; c++) {
      let m = 0;
      for (let i = 0, j = c; i < rows; i++, j += cols) {
        const v = data[j] as number;
        if (!Number.isNaN(v)) column[m++] = v;
      }
      if (m === 0) continue;
      const sorted = column.subarray(0, m).sort();
      const mid = m >> 1;
      fill[c] =
        m % 2 === 1
          ? (sorted[mid] as number)
          : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
    }
    return new MedianImputer(fill);
  }

  transformInPlace(x: FeatureMatrix): void {
    const { data, cols } = x;
    for (let j = 0; j < data.length; j++) {
      if (Number.isNaN(data[j])) data[j] = this.fill[j % cols] as number;
    }
  }

  state(): StepState {
    return { kind: this.kind, params: {}, arrays: { fill: this.fill } };
  }

  static fromState(s: StepState, nFeatures: number): MedianImputer {
    const fill = s.arrays.fill;
    if (fill?.length !== nFeatures) throw new InputError("median: one fill value per feature");
    return new MedianImputer(fill);
  }
}

export class Preprocessor {
  constructor(
    readonly nFeatures: number,
    readonly steps: readonly FittedStep[],
  ) {}

  /** A transformed copy of `x`; the input is left as it is. */
  transform(x: RealMatrix): FeatureMatrix {
    if (x.cols !== this.nFeatures) {
      throw new InputError(`features: expected ${this.nFeatures} columns, got ${x.cols}`);
    }
    checkFiniteOrMissing(x, "features");
    const out: FeatureMatrix = { data: Float64Array.from(x.data), rows: x.rows, cols: x.cols };
    for (const step of this.steps) step.transformInPlace(out);
    return out;
  }

  /** As transform, with the knn imputer on up to `workers` threads; the copy is in shared memory. */
  async transformParallel(x: RealMatrix, workers?: number): Promise<FeatureMatrix> {
    if (x.cols !== this.nFeatures) {
      throw new InputError(`features: expected ${this.nFeatures} columns, got ${x.cols}`);
    }
    checkFiniteOrMissing(x, "features");
    const out = sharedCopy(x);
    for (const step of this.steps) {
      if (step instanceof KnnImputer) await step.transformInPlaceParallel(out, workers);
      else step.transformInPlace(out);
    }
    return out;
  }

  state(): PreprocessorState {
    return { nFeatures: this.nFeatures, steps: this.steps.map((s) => s.state()) };
  }

  static fromState(s: PreprocessorState): Preprocessor {
    const d = s.nFeatures;
    if (!Number.isInteger(d) || d < 1) throw new InputError(`preprocessing: nFeatures is ${d}`);
    const steps = s.steps.map((step): FittedStep => {
      switch (step.kind) {
        case "outliers":
          return OutlierRules.fromState(step, d);
        case "min-max":
          return MinMaxScaler.fromState(step, d);
        case "median":
          return MedianImputer.fromState(step, d);
        case "knn":
          return KnnImputer.fromState(step, d);
        default:
          throw new InputError(`preprocessing: unknown step "${step.kind}"`);
      }
    });
    return new Preprocessor(d, steps);
  }
}

function sharedCopy(x: RealMatrix): FeatureMatrix {
  const data = new Float64Array(new SharedArrayBuffer(x.data.length * 8));
  data.set(x.data);
  return { data, rows: x.rows, cols: x.cols };
}

/**
 * Fits the steps on the training rows in order (each on the output of the ones before) and
 * returns them with the transformed training rows.
 */
export function fitPreprocessor(
  x: RealMatrix,
  options: PreprocessingOptions = {},
): { preprocessor: Preprocessor; transformed: FeatureMatrix } {
  checkTrainingRows(x);
  const out: FeatureMatrix = { data: Float64Array.from(x.data), rows: x.rows, cols: x.cols };
  const steps = fitRules(out, options);
  const imputer = fitImputer(out, options);
  imputer.transformInPlace(out);
  return { preprocessor: new Preprocessor(x.cols, [...steps, imputer]), transformed: out };
}

/**
 * As fitPreprocessor, with the knn imputer on up to `workers` threads (default: one per core).
 * With `inPlace`, a Float64Array in shared memory is transformed where it is, saving a copy.
 */
export async function fitPreprocessorParallel(
  x: RealMatrix,
  options: PreprocessingOptions = {},
  workers?: number,
  inPlace = false,
): Promise<{ preprocessor: Preprocessor; transformed: FeatureMatrix }> {
  checkTrainingRows(x);
  const data = x.data;
  const whole =
    data instanceof Float64Array &&
    data.buffer instanceof SharedArrayBuffer &&
    data.byteOffset === 0 &&
    data.byteLength === data.buffer.byteLength;
  const out = inPlace && whole ? { data, rows: x.rows, cols: x.cols } : sharedCopy(x);
  const steps = fitRules(out, options);
  const imputer = fitImputer(out, options);
  if (imputer instanceof KnnImputer) await imputer.transformInPlaceParallel(out, workers);
  else imputer.transformInPlace(out);
  return { preprocessor: new Preprocessor(x.cols, [...steps, imputer]), transformed: out };
}

function checkTrainingRows(x: RealMatrix): void {
  if (x.rows === 0) throw new InputError("preprocessing: no training rows");
  if (x.cols === 0) throw new InputError("preprocessing: no features");
  checkFiniteOrMissing(x, "features");
}

/** Fits the outlier rules and the scaler, applying each to `out` in turn. */
function fitRules(out: FeatureMatrix, options: PreprocessingOptions): FittedStep[] {
  const steps: FittedStep[] = [];
  const zero = options.zeroAsMissing ?? [];
  const fold = options.fold ?? [];
  if (zero.length > 0 || fold.length > 0) steps.push(new OutlierRules(out.cols, zero, fold));
  for (const step of steps) step.transformInPlace(out);
  if (options.scale ?? true) {
    const scaler = MinMaxScaler.fit(out);
    scaler.transformInPlace(out);
    steps.push(scaler);
  }
  return steps;
}

function fitImputer(out: FeatureMatrix, options: PreprocessingOptions): FittedStep {
  const imputer = options.imputer ?? "knn";
  if (imputer === "knn") return KnnImputer.fit(out, options.knn);
  if (imputer === "median") return MedianImputer.fit(out);
  throw new InputError(`imputer must be "knn" or "median", got ${String(imputer)}`);
}
