// The five drift tests on plain arrays, number for number with Evidently 0.4 (which calls scipy):
// two-sample K-S, Pearson's chi-square, the Z-test for proportions, Wasserstein (plain and
// normed by the reference's standard deviation) and the Jensen–Shannon distance. Which test a
// column gets and what counts as drift is the drift engine's business; these give the values.
// The numerical ones are built for a large, sorted, reused reference and a small current batch:
// K-S binary-searches the current values into the reference (O(m log n)), and Wasserstein works
// from a block summary of the reference (`wassersteinReference`, O(n) once, then O(m (log n + 64))).
// A sorted sample is checked in full (finite, ascending) the first time it is passed and then
// remembered by identity, so a cached reference must not be modified after its first use. The
// reference may also be a kept summary's paged column (columns.ts's PagedSorted), which checks
// each page as it reads it.

import { InputError } from "../common/errors.ts";
import {
  countAtMost,
  countBelow,
  type IndexedValues,
  type SortedValues,
  valueAt,
} from "./columns.ts";
import {
  chi2Sf,
  gcd,
  ks2SampExactPValue,
  kstwoSf,
  normalSf,
  roundHalfEven,
} from "./distributions.ts";

export interface TestValue {
  statistic: number;
  pValue: number;
}

/** scipy's ks_2samp(method="auto") computes the exact distribution up to this sample size. */
const KS_MAX_EXACT_N = 10000;

// ---------------------------------------------------------------------------------------------
// Input checks

/** Sorted arrays already checked in full; a checked array must not be changed afterwards. */
const checkedSorted = new WeakSet<Float64Array>();

function checkSortedSample(values: SortedValues, what: string): void {
  const paged =
    values !== null &&
    typeof values === "object" &&
    typeof (values as { countBelow?: unknown }).countBelow === "function";
  if (!(values instanceof Float64Array) && !paged) {
    throw new InputError(`${what}: expected a Float64Array of sorted finite values`);
  }
  if (!(values.length >= 1)) throw new InputError(`${what}: expected at least one value, got none`);
  if (!(values instanceof Float64Array) || checkedSorted.has(values)) return;
  let previous = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) {
      throw new InputError(`${what}: expected finite values, got ${v} at index ${i}`);
    }
    if (v < previous) {
      throw new InputError(
        `${what}: expected values sorted ascending, but index ${i} (${v}) is below the one before (${previous})`,
      );
    }
    previous = v;
  }
  checkedSorted.add(values);
}

/** Counts aligned by category: same length ≥ 1, finite, non-negative, each side summing to > 0. */
function checkCounts(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  what: string,
): { referenceTotal: number; currentTotal: number } {
  if (reference.length !== current.length) {
    throw new InputError(
      `${what}: expected reference and current counts aligned by category, got ${reference.length} and ${current.length} entries`,
    );
  }
  if (reference.length === 0) throw new InputError(`${what}: expected at least one category`);
  let referenceTotal = 0;
  let currentTotal = 0;
  for (let k = 0; k < reference.length; k++) {
    const r = reference[k] as number;
    const c = current[k] as number;
    if (!(Number.isFinite(r) && r >= 0)) {
      throw new InputError(
        `${what}: expected a finite count ≥ 0, got reference ${r} at category ${k}`,
      );
    }
    if (!(Number.isFinite(c) && c >= 0)) {
      throw new InputError(
        `${what}: expected a finite count ≥ 0, got current ${c} at category ${k}`,
      );
    }
    referenceTotal += r;
    currentTotal += c;
  }
  if (!(referenceTotal > 0)) throw new InputError(`${what}: the reference counts are all zero`);
  if (!(currentTotal > 0)) throw new InputError(`${what}: the current counts are all zero`);
  return { referenceTotal, currentTotal };
}

// ---------------------------------------------------------------------------------------------
// Kolmogorov–Smirnov

/**
 * D = sup |F_ref − F_cur|, evaluated as scipy does (cdf1 − cdf2 in doubles at the pooled data
 * points) but only where an extreme can occur: just below and at each distinct current value.
 */
function ksStatistic(reference: SortedValues, current: Float64Array): number {
  const n1 = reference.length;
  const n2 = current.length;
  let maxDiff = 0; // reached at the largest pooled value, where both CDFs are 1
  let minDiff = 0;
  let currentBefore = 0;
  let j = 0;
  while (j < n2) {
    const u = current[j] as number;
    let end = j + 1;
    while (end < n2 && current[end] === u) end++;
    // Just below u the current CDF is still currentBefore/n2 and the reference's is at its highest.
    const below = countBelow(reference, u) / n1 - currentBefore / n2;
    if (below > maxDiff) maxDiff = below;
    // At u both have jumped; on [u, next) the reference's CDF only grows, so its lowest is here.
    const at = countAtMost(reference, u) / n1 - end / n2;
    if (at > maxDiff) maxDiff = at;
    if (at < minDiff) minDiff = at;
    currentBefore = end;
    j = end;
  }
  const minS = Math.min(Math.max(-minDiff, 0), 1);
  return Math.max(minS, maxDiff);
}

/**
 * Two-sample two-sided K-S as scipy.stats.ks_2samp(method="auto"): exact when max(n1,n2) ≤ 10000
 * (falling back as scipy does when the exact computation fails), else kstwo.sf(D, round(n1*n2/(n1+n2))).
 * Both inputs sorted ascending, finite, non-empty. In the exact case the statistic is D snapped
 * to the lattice of lcm(n1, n2), as scipy reports it.
 */
export function ksTwoSample(
  referenceSorted: SortedValues,
  currentSorted: Float64Array,
): TestValue & { method: "exact" | "asymp" } {
  checkSortedSample(referenceSorted, "K-S test reference");
  checkSortedSample(currentSorted, "K-S test current");
  const n1 = referenceSorted.length;
  const n2 = currentSorted.length;
  let d = ksStatistic(referenceSorted, currentSorted);
  if (Math.max(n1, n2) <= KS_MAX_EXACT_N) {
    const exact = ks2SampExactPValue(d, n1, n2);
    if (exact) return { statistic: exact.statistic, pValue: exact.pValue, method: "exact" };
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    d = roundHalfEven(d * lcm) / lcm;
  }
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  const pValue = Math.min(Math.max(kstwoSf(d, roundHalfEven(en)), 0), 1);
  return { statistic: d, pValue, method: "asymp" };
}

// ---------------------------------------------------------------------------------------------
// Chi-square and Z

/**
 * Evidently's chi-square: expected_k = referenceCounts[k] * (sum(current)/sum(reference)), observed =
 * currentCounts[k], aligned by category over the union; df = k-1; a category with expected 0 and
 * observed > 0 gives statistic Infinity, p 0 (scipy.stats.chisquare(f_obs, f_exp)).
 * A category absent on both sides is not part of the union and is skipped. With a single
 * category the statistic is 0 and scipy's p-value NaN (df 0); this returns p = 1 (no drift,
 * which is also what Evidently concludes from NaN).
 */
export function chiSquare(
  referenceCounts: ArrayLike<number>,
  currentCounts: ArrayLike<number>,
): TestValue {
  const { referenceTotal, currentTotal } = checkCounts(
    referenceCounts,
    currentCounts,
    "chi-square test",
  );
  const scale = currentTotal / referenceTotal;
  let statistic = 0;
  let categories = 0;
  for (let k = 0; k < referenceCounts.length; k++) {
    const observed = currentCounts[k] as number;
    const expected = (referenceCounts[k] as number) * scale;
    if (expected === 0 && observed === 0) continue;
    categories++;
    statistic += ((observed - expected) * (observed - expected)) / expected;
  }
  if (categories < 2) return { statistic, pValue: 1 };
  return { statistic, pValue: chi2Sf(statistic, categories - 1) };
}

function checkProportion(ones: number, rows: number, side: string): void {
  if (!(Number.isInteger(rows) && rows >= 1)) {
    throw new InputError(`Z-test: expected a positive whole number of ${side} rows, got ${rows}`);
  }
  if (!(Number.isInteger(ones) && ones >= 0 && ones <= rows)) {
    throw new InputError(
      `Z-test: expected a whole number of ${side} ones between 0 and ${rows}, got ${ones}`,
    );
  }
}

/**
 * Evidently's Z-test for two proportions: the ones are the rows holding something other than
 * the smallest value of the union. z = (p1 − p2)/√(P(1−P)(1/n1 + 1/n2)) with the pooled P, and
 * p = 2·(1 − Φ(|z|)), computed as 2·Φ̄(|z|) so that small p-values keep their digits
 * (Evidently's own subtraction rounds them to 0 below ~1e-16). When P is 0 or 1 both sides
 * hold one and the same value: Evidently returns p = 1 there, and so does this (statistic 0).
 */
export function zTest(
  referenceOnes: number,
  referenceRows: number,
  currentOnes: number,
  currentRows: number,
): TestValue {
  checkProportion(referenceOnes, referenceRows, "reference");
  checkProportion(currentOnes, currentRows, "current");
  const n1 = referenceRows;
  const n2 = currentRows;
  const p1 = referenceOnes / n1;
  const p2 = currentOnes / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  if (pooled <= 0 || pooled >= 1) return { statistic: 0, pValue: 1 };
  const statistic = (p1 - p2) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  return { statistic, pValue: Math.min(2 * normalSf(Math.abs(statistic)), 1) };
}

// ---------------------------------------------------------------------------------------------
// Wasserstein

const BLOCK = 64;

/**
 * What Wasserstein needs from a sorted reference, computed once (O(n)) and reusable for every
 * current batch: the area under the reference's count function N(x) = #{r ≤ x} from the first
 * value up to the start of each block of 64 values, kept as an unevaluated sum hi + lo so that
 * differences of areas keep full precision; and the population standard deviation.
 */
export interface ReferencePrefix {
  readonly sorted: SortedValues;
  /** areaHi[b] + areaLo[b] = Σ_{i=1}^{64·b} i·(r_i − r_{i−1}). */
  readonly areaHi: IndexedValues;
  readonly areaLo: IndexedValues;
  /** numpy.std(reference): divide by n. */
  readonly std: number;
}

/** Builds the reference summary Wasserstein uses; pass it to skip the O(n) pass per call. */
export function wassersteinReference(referenceSorted: Float64Array): ReferencePrefix {
  checkSortedSample(referenceSorted, "Wasserstein reference");
  const r = referenceSorted;
  const n = r.length;
  const blocks = Math.floor((n - 1) / BLOCK) + 1;
  const areaHi = new Float64Array(blocks);
  const areaLo = new Float64Array(blocks);
  let hi = 0;
  let lo = 0;
  for (let i = 1; i < n; i++) {
    const term = i * ((r[i] as number) - (r[i - 1] as number));
    const sum = hi + term; // Neumaier's compensated sum
    lo += hi >= term ? hi - sum + term : term - sum + hi;
    hi = sum;
    if (i % BLOCK === 0) {
      areaHi[i / BLOCK] = hi;
      areaLo[i / BLOCK] = lo;
    }
  }
  return { sorted: r, areaHi, areaLo, std: populationStd(r) };
}

function populationStd(values: Float64Array): number {
  const n = values.length;
  let sum = 0;
  let compensation = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    const t = sum + v;
    compensation += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum;
    sum = t;
  }
  const mean = Number.isFinite(sum) ? (sum + compensation) / n : sum / n;
  let squares = 0;
  compensation = 0;
  for (let i = 0; i < n; i++) {
    const dev = (values[i] as number) - mean;
    const sq = dev * dev;
    const t = squares + sq;
    compensation += squares >= sq ? squares - t + sq : sq - t + squares;
    squares = t;
  }
  // Values near ±1e308 overflow the squares (numpy gives inf too); the compensation is then NaN.
  if (!Number.isFinite(squares)) return Number.POSITIVE_INFINITY;
  return Math.sqrt((squares + compensation) / n);
}

/** Σ_{i=from+1}^{to} i·(r_i − r_{i−1}) for 0 ≤ from ≤ to ≤ n−1. */
function segmentArea(prefix: ReferencePrefix, from: number, to: number): number {
  if (to <= from) return 0;
  const fromBlock = Math.floor(from / BLOCK);
  const toBlock = Math.floor(to / BLOCK);
  if (fromBlock === toBlock) return stepsArea(prefix.sorted, from, to);
  // (from, next block start] + whole blocks + (last block start, to]
  const head = stepsArea(prefix.sorted, from, (fromBlock + 1) * BLOCK);
  const tail = stepsArea(prefix.sorted, toBlock * BLOCK, to);
  const { areaHi, areaLo } = prefix;
  const middle =
    valueAt(areaHi, toBlock) -
    valueAt(areaHi, fromBlock + 1) +
    (valueAt(areaLo, toBlock) - valueAt(areaLo, fromBlock + 1));
  return head + middle + tail;
}

/** Σ_{i=from+1}^{to} i·(r_i − r_{i−1}) term by term (at most one block). */
function stepsArea(r: SortedValues, from: number, to: number): number {
  let s = 0;
  if (r instanceof Float64Array) {
    for (let i = from + 1; i <= to; i++) s += i * ((r[i] as number) - (r[i - 1] as number));
    return s;
  }
  let previous = r.at(from);
  for (let i = from + 1; i <= to; i++) {
    const v = r.at(i);
    s += i * (v - previous);
    previous = v;
  }
  return s;
}

/** ∫_a^b N(x) dx for a ≤ b, N the reference's count function; ka, kb = N(a), N(b). */
function countArea(prefix: ReferencePrefix, a: number, ka: number, b: number, kb: number): number {
  if (b <= a) return 0;
  if (ka === kb) return ka * (b - a);
  const r = prefix.sorted;
  // [a, r_ka) at height ka, whole segments up to r_(kb−1), then [r_(kb−1), b] at height kb.
  return (
    ka * (valueAt(r, ka) - a) + segmentArea(prefix, ka, kb - 1) + kb * (b - valueAt(r, kb - 1))
  );
}

/**
 * scipy.stats.wasserstein_distance(u, v) on sorted finite samples (equal weights): the area
 * between the two empirical CDFs. `prefix` (from `wassersteinReference(referenceSorted)`) saves
 * the O(n) pass over the reference when the same reference meets many current batches.
 */
export function wassersteinDistance(
  referenceSorted: SortedValues,
  currentSorted: Float64Array,
  prefix?: ReferencePrefix,
): number {
  const summary = usablePrefix(referenceSorted, prefix);
  checkSortedSample(currentSorted, "Wasserstein current");
  const r = referenceSorted;
  const c = currentSorted;
  const n = r.length;
  const m = c.length;
  const high = Math.max(valueAt(r, n - 1), c[m - 1] as number);
  let total = 0;
  // Between consecutive distinct current values the current CDF is a constant `level`/m; the
  // reference CDF N/n crosses it at most once, at r_(k*−1) with k* = ⌈level·n/m⌉.
  let start = Math.min(valueAt(r, 0), c[0] as number);
  let startCount = countAtMost(r, start);
  let level = 0;
  let j = 0;
  while (true) {
    let end: number;
    let next = j;
    if (j < m) {
      end = c[j] as number;
      next = j + 1;
      while (next < m && c[next] === end) next++;
    } else {
      end = high;
    }
    if (end > start) {
      const endCount = countAtMost(r, end);
      const crossingCount = Math.ceil((level * n) / m);
      let crossing: number;
      if (crossingCount <= 0) crossing = start;
      else if (crossingCount > n) crossing = end;
      else crossing = Math.min(Math.max(valueAt(r, crossingCount - 1), start), end);
      const crossingCountAt =
        crossing === start ? startCount : crossing === end ? endCount : countAtMost(r, crossing);
      const cdf = level / m;
      const below =
        cdf * (crossing - start) -
        countArea(summary, start, startCount, crossing, crossingCountAt) / n;
      const above =
        countArea(summary, crossing, crossingCountAt, end, endCount) / n - cdf * (end - crossing);
      total += Math.max(below, 0) + Math.max(above, 0);
      startCount = endCount;
    }
    if (j >= m) break;
    start = end;
    level = next;
    j = next;
  }
  return total;
}

function usablePrefix(
  referenceSorted: SortedValues,
  prefix: ReferencePrefix | undefined,
): ReferencePrefix {
  if (prefix === undefined) {
    if (referenceSorted instanceof Float64Array) return wassersteinReference(referenceSorted);
    checkSortedSample(referenceSorted, "Wasserstein reference");
    throw new InputError("Wasserstein: a paged reference needs its kept block areas");
  }
  if (prefix.sorted !== referenceSorted) {
    throw new InputError(
      "Wasserstein: the reference prefix was built from another reference array",
    );
  }
  return prefix;
}

/**
 * Evidently's normed Wasserstein: W1 / max(population std of reference, 0.001). `distance` is
 * the normed value (Evidently's drift score, compared with the threshold), `statistic` W1 itself.
 */
export function wassersteinNormed(
  referenceSorted: SortedValues,
  currentSorted: Float64Array,
  prefix?: ReferencePrefix,
): { distance: number; statistic: number } {
  const summary = usablePrefix(referenceSorted, prefix);
  const statistic = wassersteinDistance(referenceSorted, currentSorted, summary);
  return { distance: statistic / Math.max(summary.std, 0.001), statistic };
}

// ---------------------------------------------------------------------------------------------
// Jensen–Shannon

function relativeEntropyTerm(p: number, m: number): number {
  return p > 0 ? p * Math.log(p / m) : 0;
}

/**
 * Jensen–Shannon distance over aligned counts, natural log (scipy.spatial.distance.jensenshannon
 * of the two shares, as Evidently calls it): √((KL(p‖m) + KL(q‖m))/2), m = (p+q)/2. Rounding
 * can make the sum a hair below 0 for identical shares, where scipy returns NaN; this returns 0.
 */
export function jensenShannon(
  referenceCounts: ArrayLike<number>,
  currentCounts: ArrayLike<number>,
): number {
  const { referenceTotal, currentTotal } = checkCounts(
    referenceCounts,
    currentCounts,
    "Jensen–Shannon distance",
  );
  let left = 0;
  let right = 0;
  for (let k = 0; k < referenceCounts.length; k++) {
    const p = (referenceCounts[k] as number) / referenceTotal;
    const q = (currentCounts[k] as number) / currentTotal;
    const m = (p + q) / 2;
    left += relativeEntropyTerm(p, m);
    right += relativeEntropyTerm(q, m);
  }
  return Math.sqrt(Math.max((left + right) / 2, 0));
}
