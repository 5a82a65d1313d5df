// Quantile binning of real features into uint8 bin codes, stored column-major for split search.
//
// Feature f has `nBins[f]` bins and `nBins[f] - 1` increasing thresholds t_0 < t_1 < …; a value
// x falls in bin b exactly when t_{b-1} < x ≤ t_b, so "bin ≤ b" is the same test as "x ≤ t_b" and a
// tree trained on bins predicts from raw values with the thresholds alone.
import { InputError } from "../common/errors.ts";
import { checkNoNaN, type RealMatrix } from "./matrix.ts";
import { Rng } from "./random.ts";

export const MAX_BINS = 255;

export interface Binning {
  nFeatures: number;
  maxBins: number;
  nBins: Uint16Array;
  /** `maxBins - 1` slots per feature; feature f's thresholds start at f * (maxBins - 1). */
  thresholds: Float64Array;
}

export interface BinningOptions {
  maxBins?: number;
  /** Rows sampled to place the quantiles when there are more (default 100,000). */
  sampleSize?: number;
  seed?: number;
}

export function fitBinning(x: RealMatrix, options: BinningOptions = {}): Binning {
  const maxBins = options.maxBins ?? MAX_BINS;
  if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > MAX_BINS) {
    throw new InputError(`maxBins must be an integer in [2, ${MAX_BINS}], got ${maxBins}`);
  }
  checkNoNaN(x, "features");
  const { rows: n, cols: d, data } = x;
  const rows = sampleRows(n, options.sampleSize ?? 100_000, options.seed ?? 0);
  const m = rows.length;
  const stride = maxBins - 1;
  const nBins = new Uint16Array(d);
  const thresholds = new Float64Array(d * stride);
  // Gather GATHER_FEATURES columns per pass over the sampled rows, which reads each row's
  // cache line once per pass rather than once per feature.
  const width = Math.min(GATHER_FEATURES, d);
  const columns = new Float64Array(m * width);
  for (let f0 = 0; f0 < d; f0 += width) {
    const f1 = Math.min(d, f0 + width);
    for (let r = 0; r < m; r++) {
      const base = (rows[r] as number) * d;
      for (let f = f0; f < f1; f++) columns[(f - f0) * m + r] = data[base + f] as number;
    }
    for (let f = f0; f < f1; f++) {
      const sorted = columns.subarray((f - f0) * m, (f - f0 + 1) * m).sort();
      nBins[f] = featureThresholds(sorted, maxBins, thresholds, f * stride) + 1;
    }
  }
  return { nFeatures: d, maxBins, nBins, thresholds };
}

const GATHER_FEATURES = 8;
function sampleRows(n: number, size: number, seed: number): Uint32Array {
  const all = new Uint32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  if (n <= size) return all;
  const rng = new Rng(seed);
  for (let i = 0; i < size; i++) {
    const j = i + rng.int(n - i);
    const t = all[i] as number;
    all[i] = all[j] as number;
    all[j] = t;
  }
  return all.subarray(0, size).sort();
}

/** Writes the thresholds of one sorted column at `out[offset…]` and returns how many. */
function featureThresholds(
  sorted: Float64Array,
  maxBins: number,
  out: Float64Array,
  offset: number,
): number {
  const m = sorted.length;
  if (m === 0) return 0;
  let distinct = 1;
  for (let i = 1; i < m; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  let count = 0;
  if (distinct <= maxBins) {
    for (let i = 1; i < m; i++) {
      const prev = sorted[i - 1] as number;
      const cur = sorted[i] as number;
      if (cur !== prev) out[offset + count++] = midpoint(prev, cur);
    }
    return count;
  }
  let last = Number.NEGATIVE_INFINITY;
  for (let j = 1; j < maxBins; j++) {
    const v = sorted[Math.ceil((j * m) / maxBins) - 1] as number;
    if (v === sorted[m - 1]) break;
    const next = sorted[upperBound(sorted, v)] as number;
    const t = midpoint(v, next);
    if (t > last) {
      out[offset + count++] = t;
      last = t;
    }
  }
  return count;
}

function midpoint(lo: number, hi: number): number {
  const t = lo + (hi - lo) / 2;
  return t < hi && t >= lo ? t : lo;
}

function upperBound(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Bin codes, column-major (`out[f * rows + i]`), optionally into a caller's (shared) buffer. */
export function applyBinning(binning: Binning, x: RealMatrix, out?: Uint8Array): Uint8Array {
  const { rows: n, cols: d, data } = x;
  if (d !== binning.nFeatures) {
    throw new InputError(`features: expected ${binning.nFeatures} columns, got ${d}`);
  }
  const codes = out ?? new Uint8Array(n * d);
  if (codes.length !== n * d) throw new InputError("binning output buffer has the wrong size");
  // Branch-free binary search over 255 slots per feature, unused slots padded with +Infinity:
  // the bin is the number of thresholds below the value.
  const stride = binning.maxBins - 1;
  const table = new Float64Array(d * 255).fill(Number.POSITIVE_INFINITY);
  for (let f = 0; f < d; f++) {
    const nt = (binning.nBins[f] as number) - 1;
    table.set(binning.thresholds.subarray(f * stride, f * stride + nt), f * 255);
  }
  const block = 4096;
  for (let i0 = 0; i0 < n; i0 += block) {
    const i1 = Math.min(n, i0 + block);
    for (let f = 0; f < d; f++) {
      const t = table.subarray(f * 255, f * 255 + 255);
      const col = f * n;
      for (let i = i0; i < i1; i++) {
        const v = data[i * d + f] as number;
        let b = +(v > (t[127] as number)) << 7;
        b |= +(v > (t[b | 63] as number)) << 6;
        b |= +(v > (t[b | 31] as number)) << 5;
        b |= +(v > (t[b | 15] as number)) << 4;
        b |= +(v > (t[b | 7] as number)) << 3;
        b |= +(v > (t[b | 3] as number)) << 2;
        b |= +(v > (t[b | 1] as number)) << 1;
        b |= +(v > (t[b] as number));
        codes[col + i] = b;
      }
    }
  }
  return codes;
}
