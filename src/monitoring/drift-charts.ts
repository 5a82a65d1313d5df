// What the report draws for a column, computed from the reference summary and the current batch
// without touching every reference value: histograms on numpy's bin edges (10 bins over each
// side's own range for the sparklines, "doane" bins over both sides for the overlay, counted by
// binary search in the sorted reference), value counts cut to the top 30, and the current values'
// mean ± std over the rows' order.

import {
  countAtMost,
  countBelow,
  type PagedSorted,
  type SortedValues,
  valueAt,
} from "./columns.ts";
import type { Histogram, ValueCount } from "./types.ts";

export const SPARKLINE_BINS = 10;
export const ORDER_BUCKETS = 150;
export const TOP_VALUES = 30;

/** Count, mean and sums of squared and cubed deviations of a sample. */
export interface Moments {
  n: number;
  mean: number;
  m2: number;
  m3: number;
}

/** The moments of two samples together (Chan's and Pébay's pairwise formulas). */
export function combineMoments(a: Moments, b: Moments): Moments {
  if (a.n === 0) return b;
  if (b.n === 0) return a;
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  const mean = a.mean + (delta * b.n) / n;
  const m2 = a.m2 + b.m2 + (delta * delta * a.n * b.n) / n;
  const m3 =
    a.m3 +
    b.m3 +
    (delta * delta * delta * a.n * b.n * (a.n - b.n)) / (n * n) +
    (3 * delta * (a.n * b.m2 - b.n * a.m2)) / n;
  return { n, mean, m2, m3 };
}

/** numpy's range for bins: the data's min and max, widened by 0.5 each way when equal; (0, 1) for no data. */
function outerEdges(n: number, min: number, max: number): [number, number] {
  if (n === 0) return [0, 1];
  if (min === max) return [min - 0.5, max + 0.5];
  return [min, max];
}

/** numpy.linspace(first, last, bins + 1), with the last edge exactly `last`. */
export function linspaceEdges(first: number, last: number, bins: number): number[] {
  const edges: number[] = [];
  const delta = last - first;
  if (!Number.isFinite(delta)) {
    // Only for ranges wider than the largest double, where numpy's edges overflow: half steps.
    const halfStep = (last / 2 - first / 2) / bins;
    for (let i = 0; i < bins; i++) edges.push(first + i * halfStep + i * halfStep);
  } else {
    const step = delta / bins;
    for (let i = 0; i < bins; i++) {
      edges.push(step === 0 ? (i / bins) * delta + first : i * step + first);
    }
  }
  edges.push(last);
  return edges;
}

/** numpy.histogram's counts of a sorted sample on given edges (the last bin includes its right edge). */
export function countInBins(
  sorted: ArrayLike<number> | PagedSorted,
  edges: readonly number[],
): number[] {
  const last = edges.length - 1;
  const cumulative = edges.map((e, i) =>
    i < last ? countBelow(sorted, e) : countAtMost(sorted, e),
  );
  const counts: number[] = [];
  for (let i = 0; i < last; i++)
    counts.push((cumulative[i + 1] as number) - (cumulative[i] as number));
  return counts;
}

/** numpy.histogram(sample, bins=10): ten bins over the sample's own range. */
export function ownRangeHistogram(sorted: SortedValues): Histogram {
  const n = sorted.length;
  const [first, last] =
    n === 0 ? outerEdges(0, 0, 0) : outerEdges(n, valueAt(sorted, 0), valueAt(sorted, n - 1));
  const edges = linspaceEdges(first, last, SPARKLINE_BINS);
  return { edges, counts: countInBins(sorted, edges) };
}

/** numpy.histogram_bin_edges(both sides, bins="doane"). */
export function doaneEdges(moments: Moments, min: number, max: number): number[] {
  const { n } = moments;
  const [first, last] = outerEdges(n, min, max);
  let width = 0;
  if (n > 2) {
    const sg1 = Math.sqrt((6 * (n - 2)) / ((n + 1) * (n + 3)));
    const sigma = Math.sqrt(moments.m2 / n);
    if (sigma > 0) {
      const g1 = moments.m3 / n / (sigma * sigma * sigma);
      width = (max - min) / (1 + Math.log2(n) + Math.log2(1 + Math.abs(g1) / sg1));
    }
  }
  return linspaceEdges(first, last, equalBins(first, last, width));
}

/** numpy.histogram_bin_edges(both sides, bins="sturges"), as Evidently bins a numerical column for Jensen–Shannon. */
export function sturgesEdges(n: number, min: number, max: number): number[] {
  const [first, last] = outerEdges(n, min, max);
  const width = n > 0 ? (max - min) / (Math.log2(n) + 1) : 0;
  return linspaceEdges(first, last, equalBins(first, last, width));
}

function equalBins(first: number, last: number, width: number): number {
  if (!(width > 0)) return 1;
  const bins = Math.ceil((last - first) / width);
  return Number.isFinite(bins) && bins >= 1 ? Math.min(bins, 10_000) : 1;
}

/** The current values' mean and population std over the rows' order, in at most 150 buckets of rows. */
export function orderBuckets(
  values: Float64Array,
): { start: number; end: number; mean: number; std: number }[] {
  const rows = values.length;
  const buckets = Math.min(ORDER_BUCKETS, rows);
  const out: { start: number; end: number; mean: number; std: number }[] = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor((b * rows) / buckets);
    const end = Math.floor(((b + 1) * rows) / buckets);
    let n = 0;
    let sum = 0;
    for (let i = start; i < end; i++) {
      const v = values[i] as number;
      if (Number.isFinite(v)) {
        n++;
        sum += v;
      }
    }
    if (n === 0) continue;
    const mean = sum / n;
    let squares = 0;
    for (let i = start; i < end; i++) {
      const v = values[i] as number;
      if (Number.isFinite(v)) squares += (v - mean) * (v - mean);
    }
    out.push({ start, end, mean, std: Math.sqrt(squares / n) });
  }
  return out;
}

/** One side's value counts, its 30 most frequent values then one bucket for the rest. */
export function topValueCounts(
  values: readonly (string | number)[],
  counts: ArrayLike<number>,
): ValueCount[] {
  const order = values.map((_, i) => i);
  order.sort((a, b) => (counts[b] as number) - (counts[a] as number) || a - b);
  return foldRest(order, values, counts);
}

/**
 * Both sides' counts over the union of values, aligned: the 30 values with the largest share on
 * either side (in union order), then one bucket for the rest on each side.
 */
export function alignedTopValueCounts(
  values: readonly (string | number)[],
  referenceCounts: ArrayLike<number>,
  currentCounts: ArrayLike<number>,
): { reference: ValueCount[]; current: ValueCount[] } {
  const referenceTotal = total(referenceCounts);
  const currentTotal = total(currentCounts);
  const share = (i: number) =>
    Math.max(
      referenceTotal > 0 ? (referenceCounts[i] as number) / referenceTotal : 0,
      currentTotal > 0 ? (currentCounts[i] as number) / currentTotal : 0,
    );
  let order = values.map((_, i) => i);
  if (order.length > TOP_VALUES) {
    const kept = [...order].sort((a, b) => share(b) - share(a) || a - b).slice(0, TOP_VALUES);
    const keep = new Set(kept);
    order = [...kept.sort((a, b) => a - b), ...order.filter((i) => !keep.has(i))];
  }
  return {
    reference: foldRest(order, values, referenceCounts),
    current: foldRest(order, values, currentCounts),
  };
}

function total(counts: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < counts.length; i++) sum += counts[i] as number;
  return sum;
}

function foldRest(
  order: readonly number[],
  values: readonly (string | number)[],
  counts: ArrayLike<number>,
): ValueCount[] {
  const out: ValueCount[] = order
    .slice(0, TOP_VALUES)
    .map((i) => ({ value: values[i] as string | number, count: counts[i] as number }));
  if (order.length > TOP_VALUES) {
    let rest = 0;
    for (const i of order.slice(TOP_VALUES)) rest += counts[i] as number;
    out.push({ value: "other", count: rest, others: order.length - TOP_VALUES });
  }
  return out;
}
