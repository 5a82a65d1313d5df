// k-nearest-neighbour imputation as scikit-learn's KNNImputer(weights="distance") computes it,
// over a bounded set of donor rows so that it stays practical at a million rows.
//
// Distances are sklearn's nan_euclidean: over the coordinates present in both rows,
// sqrt(d / present · Σ (a - b)²), undefined when no coordinate is shared. For each missing value
// of a row, the donors are the reference rows that have that column; the k nearest with a
// defined distance are averaged with weights 1/distance (only the donors at distance 0 when
// there are any). With no such donor the value is the column's mean over the reference rows.
// A column with no value at all in the reference rows becomes 0 in every row (sklearn's
// keep_empty_features=True).
//
// The reference rows are the training rows when there are at most `maxReference` of them, which
// makes the result sklearn's `KNNImputer(n_neighbors=k, weights="distance").fit(train)`
// exactly. Beyond that they are a seeded uniform sample of `maxReference` training rows: the
// result is then sklearn's imputer fitted on that sample, and a row's neighbours are the
// nearest among the sample rather than among all training rows. The cost of a transform is
// (rows with a missing value) × maxReference × features.
import { availableParallelism } from "node:os";
import { InputError } from "../common/errors.ts";
import { WorkerPool } from "../common/worker-pool.ts";
import type { FeatureMatrix, FittedStep, StepState } from "./preprocessing.ts";
import { Rng } from "./random.ts";

export interface KnnImputerOptions {
  /** Neighbours averaged per missing value (default 5). */
  neighbors?: number;
  /** Most training rows kept as donors (default 10,000). */
  maxReference?: number;
  /** Seed of the reference sample (default 0). */
  seed?: number;
}

export const DEFAULT_MAX_REFERENCE = 10_000;

/** What a knn-worker thread starts from. */
export interface KnnWorkerSetup {
  nFeatures: number;
  neighbors: number;
  reference: Float64Array;
  trainingRows: number;
}

/** Rows `from … to` of the row-major matrix in `buffer`. */
export interface KnnTask {
  buffer: SharedArrayBuffer;
  from: number;
  to: number;
}

/** Below this many distance terms (receivers × reference rows × features) one thread is faster. */
const PARALLEL_WORK = 3e8;

export class KnnImputer implements FittedStep {
  readonly kind = "knn";
  readonly nReference: number;
  /** Mean of each column over the reference rows; NaN when the column has no value there. */
  readonly mean: Float64Array;
  /** Every reference row, ready for distances. */
  readonly all: ReferenceView;
  /** The buffers of a search over every reference row, kept for the next call. */
  private allBlock: Block | undefined;

  constructor(
    readonly nFeatures: number,
    readonly neighbors: number,
    /** Row-major donor rows, NaN where missing. */
    readonly reference: Float64Array,
    /** Training rows the reference was drawn from. */
    readonly trainingRows: number,
  ) {
    if (!Number.isInteger(neighbors) || neighbors < 1) {
      throw new InputError(`knn: neighbors must be an integer ≥ 1, got ${neighbors}`);
    }
    if (reference.length % nFeatures !== 0) {
      throw new InputError("knn: the reference rows do not match the number of features");
    }
    const d = nFeatures;
    const r = reference.length / d;
    this.nReference = r;
    this.mean = new Float64Array(d);
    const count = new Float64Array(d);
    for (let i = 0; i < r * d; i++) {
      const v = reference[i] as number;
      if (!Number.isNaN(v)) {
        this.mean[i % d] = (this.mean[i % d] as number) + v;
        count[i % d] = (count[i % d] as number) + 1;
      }
    }
    for (let c = 0; c < d; c++) {
      this.mean[c] = count[c] === 0 ? Number.NaN : (this.mean[c] as number) / (count[c] as number);
    }
    this.all = referenceView(reference, d, null);
  }

  static fit(x: FeatureMatrix, options: KnnImputerOptions = {}): KnnImputer {
    const neighbors = options.neighbors ?? 5;
    const maxReference = options.maxReference ?? DEFAULT_MAX_REFERENCE;
    if (!Number.isInteger(maxReference) || maxReference < 1) {
      throw new InputError(`knn: maxReference must be an integer ≥ 1, got ${maxReference}`);
    }
    const { data, rows, cols } = x;
    let reference: Float64Array;
    if (rows <= maxReference) {
      reference = Float64Array.from(data);
    } else {
      const picked = sampleIndices(rows, maxReference, options.seed ?? 0);
      reference = new Float64Array(maxReference * cols);
      for (let j = 0; j < maxReference; j++) {
        const from = (picked[j] as number) * cols;
        reference.set(data.subarray(from, from + cols), j * cols);
      }
    }
    return new KnnImputer(cols, neighbors, reference, rows);
  }

  transformInPlace(x: FeatureMatrix): void {
    if (x.cols !== this.nFeatures) {
      throw new InputError(`knn: expected ${this.nFeatures} columns, got ${x.cols}`);
    }
    this.imputeRows(x, 0, x.rows);
  }

  /**
   * As transformInPlace, on up to `workers` threads (default: one per core) when there are at
   * least `minWork` distance terms (receivers × reference rows × features); `x.data` is copied
   * into shared memory and back unless it is there already.
   */
  async transformInPlaceParallel(
    x: FeatureMatrix,
    workers = availableParallelism(),
    minWork = PARALLEL_WORK,
  ): Promise<void> {
    if (x.cols !== this.nFeatures) {
      throw new InputError(`knn: expected ${this.nFeatures} columns, got ${x.cols}`);
    }
    let receivers = 0;
    const { data, rows, cols } = x;
    for (let i = 0; i < rows; i++) {
      for (let c = i * cols, end = c + cols; c < end; c++) {
        if (Number.isNaN(data[c])) {
          receivers++;
          break;
        }
      }
    }
    if (workers <= 1 || receivers * this.nReference * cols < minWork) {
      this.imputeRows(x, 0, rows);
      return;
    }
    const isShared =
      data.buffer instanceof SharedArrayBuffer &&
      data.byteOffset === 0 &&
      data.byteLength === data.buffer.byteLength;
    const shared = isShared
      ? new Float64Array(data.buffer as SharedArrayBuffer, data.byteOffset, data.length)
      : new Float64Array(new SharedArrayBuffer(data.byteLength));
    if (!isShared) shared.set(data);
    const buffer = shared.buffer as SharedArrayBuffer;
    const setup: KnnWorkerSetup = {
      nFeatures: cols,
      neighbors: this.neighbors,
      reference: this.reference,
      trainingRows: this.trainingRows,
    };
    const pool = new WorkerPool<KnnTask, number>(import.meta.url, "knn-worker", workers, setup);
    try {
      const chunk = Math.max(256, Math.ceil(rows / (workers * 16)));
      const tasks: Promise<number>[] = [];
      for (let from = 0; from < rows; from += chunk) {
        const to = Math.min(rows, from + chunk);
        tasks.push(pool.run({ buffer, from, to }));
      }
      await Promise.all(tasks);
    } finally {
      await pool.close();
    }
    if (!isShared) data.set(shared);
  }

  /** Fills the missing values of rows `from … to` of `x` in place. */
  imputeRows(x: FeatureMatrix, from: number, to: number): void {
    const d = this.nFeatures;
    const data = x.data;
    // Receivers grouped by the columns they miss: a reference row missing all of them can
    // give none of their values, so a large group searches only the rows that can.
    const groups = new Map<string, number[]>();
    const missing: number[] = [];
    for (let i = from; i < to; i++) {
      missing.length = 0;
      for (let c = 0; c < d; c++) if (Number.isNaN(data[i * d + c])) missing.push(c);
      if (missing.length === 0) continue;
      const key = missing.join(",");
      const group = groups.get(key);
      if (group) group.push(i);
      else groups.set(key, [i]);
    }
    for (const [key, rows] of groups) {
      let view = this.all;
      if (rows.length >= VIEW_MIN_RECEIVERS) {
        const columns = key.split(",").map(Number);
        const useful: number[] = [];
        for (let r = 0; r < this.nReference; r++) {
          if (columns.some((c) => !Number.isNaN(this.reference[r * d + c]))) useful.push(r);
        }
        if (useful.length < this.nReference) {
          view = referenceView(this.reference, d, Int32Array.from(useful));
        }
      }
      let block: Block;
      if (view !== this.all) block = new Block(this, view);
      else {
        this.allBlock ??= new Block(this, view);
        block = this.allBlock;
      }
      for (let b = 0; b < rows.length; b += BLOCK) {
        const part = rows.slice(b, b + BLOCK);
        block.load(data, part);
        block.distances();
        for (let j = 0; j < part.length; j++) block.impute(j, data, part[j] as number);
      }
    }
    for (let c = 0; c < d; c++) {
      if (Number.isNaN(this.mean[c])) for (let i = from; i < to; i++) data[i * d + c] = 0;
    }
  }

  state(): StepState {
    return {
      kind: this.kind,
      params: { neighbors: this.neighbors, trainingRows: this.trainingRows },
      arrays: { reference: this.reference },
    };
  }

  static fromState(s: StepState, nFeatures: number): KnnImputer {
    const reference = s.arrays.reference;
    const { neighbors, trainingRows } = s.params;
    if (reference === undefined || typeof neighbors !== "number") {
      throw new InputError("knn: the state lacks its reference rows or neighbours");
    }
    return new KnnImputer(nFeatures, neighbors, reference, Number(trainingRows ?? 0));
  }
}

const BLOCK = 4;

/** A group of receivers this large searches only the reference rows that can give values. */
const VIEW_MIN_RECEIVERS = 64;

/** Reference rows laid out for distances: nan-zeroed, squared norms, missing columns. */
interface ReferenceView {
  rows: number;
  /** The rows as they are, NaN where missing (the donors' values). */
  values: Float64Array;
  zeroed: Float64Array;
  norm2: Float64Array;
  /** Column-major squares of the zeroed values. */
  squares: Float64Array;
  /** Row r misses `missingColumns[missingStart[r] … missingStart[r + 1])`. */
  missingStart: Uint32Array;
  missingColumns: Int32Array;
  /** The rows missing any value. */
  incomplete: Int32Array;
}

/** The view of reference rows `rows` (all when null), in their order. */
function referenceView(reference: Float64Array, d: number, rows: Int32Array | null): ReferenceView {
  const n = rows === null ? reference.length / d : rows.length;
  const values = new Float64Array(n * d);
  const zeroed = new Float64Array(n * d);
  const norm2 = new Float64Array(n);
  const squares = new Float64Array(n * d);
  const missingStart = new Uint32Array(n + 1);
  const missing: number[] = [];
  const incomplete: number[] = [];
  for (let i = 0; i < n; i++) {
    const from = (rows === null ? i : (rows[i] as number)) * d;
    let norm = 0;
    for (let c = 0; c < d; c++) {
      const v = reference[from + c] as number;
      values[i * d + c] = v;
      if (Number.isNaN(v)) {
        missing.push(c);
        continue;
      }
      zeroed[i * d + c] = v;
      squares[c * n + i] = v * v;
      norm += v * v;
    }
    norm2[i] = norm;
    missingStart[i + 1] = missing.length;
    if (missing.length > (missingStart[i] as number)) incomplete.push(i);
  }
  return {
    rows: n,
    values,
    zeroed,
    norm2,
    squares,
    missingStart,
    missingColumns: Int32Array.from(missing),
    incomplete: Int32Array.from(incomplete),
  };
}

/**
 * Distances from up to BLOCK receiver rows to every reference row at once, as sklearn's
 * nan_euclidean_distances computes them: with missing values set to 0, the squared distance over
 * the shared coordinates is |a|² + |b|² - 2a·b less the squares of each row's values where the
 * other is missing, clipped at 0, then scaled by d / shared.
 */
class Block {
  private readonly d: number;
  private readonly R: number;
  private readonly q: Float64Array;
  private readonly qNorm2 = new Float64Array(BLOCK);
  private readonly qMissing: Int32Array;
  private readonly qIsMissing: Uint8Array;
  private readonly nMissing = new Int32Array(BLOCK);
  private readonly dot: Float64Array;
  private readonly dist: Float64Array;
  private readonly bestD: Float64Array;
  private readonly bestV: Float64Array;
  /** Rows loaded by the last load(). */
  private loaded = 0;

  constructor(
    private readonly imp: KnnImputer,
    private readonly view: ReferenceView,
  ) {
    this.d = imp.nFeatures;
    this.R = view.rows;
    this.q = new Float64Array(BLOCK * this.d);
    this.qMissing = new Int32Array(BLOCK * this.d);
    this.qIsMissing = new Uint8Array(BLOCK * this.d);
    this.dot = new Float64Array(BLOCK * this.R);
    this.dist = new Float64Array(this.R);
    this.bestD = new Float64Array(imp.neighbors);
    this.bestV = new Float64Array(imp.neighbors);
  }

  load(data: Float64Array, rows: number[]): void {
    const d = this.d;
    this.q.fill(0);
    this.qIsMissing.fill(0);
    this.loaded = rows.length;
    for (let j = 0; j < rows.length; j++) {
      const base = (rows[j] as number) * d;
      let norm = 0;
      let m = 0;
      for (let c = 0; c < d; c++) {
        const v = data[base + c] as number;
        if (!Number.isNaN(v)) {
          this.q[j * d + c] = v;
          norm += v * v;
        } else {
          this.qMissing[j * d + m++] = c;
          this.qIsMissing[j * d + c] = 1;
        }
      }
      this.qNorm2[j] = norm;
      this.nMissing[j] = m;
    }
  }

  /**
   * Dot products of the loaded rows with every reference row (unused rows are zeros); one row
   * alone (an online request) is not multiplied by three rows of zeros.
   */
  distances(): void {
    if (this.loaded === 1) dot1(this.view.zeroed, this.q, this.d, this.R, this.dot);
    else dot4(this.view.zeroed, this.q, this.d, this.R, this.dot);
  }

  /** Fills the missing values of loaded row `j`, which is row `row` of `data`. */
  impute(j: number, data: Float64Array, row: number): void {
    const { d, R, q, dist, bestD, bestV } = this;
    const isMissing = this.qIsMissing;
    const imp = this.imp;
    const view = this.view;
    const { norm2, missingStart, missingColumns } = view;
    const k = imp.neighbors;
    const qb = j * d;
    const mb = j * d;
    const nm = this.nMissing[j] as number;
    const qNorm = this.qNorm2[j] as number;
    const dot = this.dot;
    const db = j * R;
    const qMissing = this.qMissing;
    const squares = view.squares;
    const scale = nm === d ? Number.NaN : d / (d - nm);
    if (nm === 1) {
      const from = (qMissing[mb] as number) * R;
      for (let r = 0; r < R; r++) {
        const sq =
          qNorm +
          (norm2[r] as number) -
          2 * (dot[db + r] as number) -
          (squares[from + r] as number);
        dist[r] = Math.max(sq, 0) * scale;
      }
    } else {
      for (let r = 0; r < R; r++) {
        dist[r] = qNorm + (norm2[r] as number) - 2 * (dot[db + r] as number);
      }
      for (let m = 0; m < nm; m++) {
        const from = (qMissing[mb + m] as number) * R;
        for (let r = 0; r < R; r++) dist[r] = (dist[r] as number) - (squares[from + r] as number);
      }
      for (let r = 0; r < R; r++) dist[r] = Math.max(dist[r] as number, 0) * scale;
    }
    // Reference rows with missing values share fewer coordinates.
    for (const r of view.incomplete) {
      let sq = qNorm + (norm2[r] as number) - 2 * (dot[db + r] as number);
      let shared = d - nm;
      for (let m = 0; m < nm; m++) sq -= squares[(qMissing[mb + m] as number) * R + r] as number;
      for (let p = missingStart[r] as number, pe = missingStart[r + 1] as number; p < pe; p++) {
        const c = missingColumns[p] as number;
        const v = q[qb + c] as number;
        sq -= v * v;
        if (isMissing[qb + c] === 0) shared--;
      }
      dist[r] = shared === 0 ? Number.NaN : (Math.max(sq, 0) * d) / shared;
    }
    const base = row * d;
    for (let m = 0; m < nm; m++) {
      const c = this.qMissing[mb + m] as number;
      const mean = imp.mean[c] as number;
      if (Number.isNaN(mean)) {
        data[base + c] = 0;
        continue;
      }
      // The k nearest donors having column c, kept sorted by distance.
      let found = 0;
      let worst = Number.POSITIVE_INFINITY;
      const values = view.values;
      for (let r = 0, rc = c; r < R; r++, rc += d) {
        const dr = dist[r] as number;
        if (!(dr <= worst)) continue;
        if (found === k && dr === worst) continue;
        const v = values[rc] as number;
        if (Number.isNaN(v)) continue;
        let at = found < k ? found++ : k - 1;
        while (at > 0 && (bestD[at - 1] as number) > dr) {
          bestD[at] = bestD[at - 1] as number;
          bestV[at] = bestV[at - 1] as number;
          at--;
        }
        bestD[at] = dr;
        bestV[at] = v;
        if (found === k) worst = bestD[k - 1] as number;
      }
      if (found === 0) {
        data[base + c] = mean;
        continue;
      }
      if (bestD[0] === 0) {
        let sum = 0;
        let n = 0;
        for (; n < found && bestD[n] === 0; n++) sum += bestV[n] as number;
        data[base + c] = sum / n;
        continue;
      }
      let num = 0;
      let den = 0;
      for (let t = 0; t < found; t++) {
        const w = 1 / Math.sqrt(bestD[t] as number);
        num += w * (bestV[t] as number);
        den += w;
      }
      data[base + c] = num / den;
    }
  }
}

/** dot[j·R + r] = q_j · ref_r for the four rows q_0 … q_3 of `q` and every reference row. */
function dot4(ref: Float64Array, q: Float64Array, d: number, R: number, dot: Float64Array): void {
  const o1 = d;
  const o2 = 2 * d;
  const o3 = 3 * d;
  for (let r = 0; r < R; r++) {
    const rb = r * d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let c = 0; c < d; c++) {
      const v = ref[rb + c] as number;
      s0 += (q[c] as number) * v;
      s1 += (q[o1 + c] as number) * v;
      s2 += (q[o2 + c] as number) * v;
      s3 += (q[o3 + c] as number) * v;
    }
    dot[r] = s0;
    dot[R + r] = s1;
    dot[2 * R + r] = s2;
    dot[3 * R + r] = s3;
  }
}

/** dot[r] = q_0 · ref_r for every reference row: dot4's first row, summed in the same order. */
function dot1(ref: Float64Array, q: Float64Array, d: number, R: number, dot: Float64Array): void {
  for (let r = 0; r < R; r++) {
    const rb = r * d;
    let s0 = 0;
    for (let c = 0; c < d; c++) s0 += (q[c] as number) * (ref[rb + c] as number);
    dot[r] = s0;
  }
}

/** `m` distinct indices of `0 … n-1`, drawn uniformly with a seed, in increasing order. */
function sampleIndices(n: number, m: number, seed: number): Uint32Array {
  const rng = new Rng(seed);
  const picked = new Map<number, number>();
  const out = new Uint32Array(m);
  // Partial Fisher–Yates over a virtual 0 … n-1, remembering only the swapped slots.
  for (let j = 0; j < m; j++) {
    const t = j + rng.int(n - j);
    out[j] = picked.get(t) ?? t;
    picked.set(t, picked.get(j) ?? j);
  }
  return out.sort();
}
