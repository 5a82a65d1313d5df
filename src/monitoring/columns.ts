// The tables drift compares, as plain columns (numbers as Float64Array with NaN for a missing
// value, text as strings with null, undefined or "" for a missing one), and what is known of a
// column before any test: its rows, its finite values sorted, its value counts.

import { InputError } from "../common/errors.ts";

export type TextValues = readonly (string | null | undefined)[];
export type DriftColumnValues = Float64Array | TextValues;
/** Column name → values; every column of a table has the same number of rows. */
export type DriftTable =
  | ReadonlyMap<string, DriftColumnValues>
  | Readonly<Record<string, DriftColumnValues>>;

export interface NamedColumn {
  name: string;
  values: DriftColumnValues;
}

/** The columns of a table in its order, checked to be numbers or text of one length. */
export function tableColumns(
  table: DriftTable,
  side: string,
): { columns: NamedColumn[]; rows: number } {
  if (table === null || typeof table !== "object") {
    throw new InputError(`the ${side} table: expected columns by name, got ${String(table)}`);
  }
  const entries: [string, unknown][] =
    table instanceof Map ? [...table.entries()] : Object.entries(table);
  const columns: NamedColumn[] = [];
  let rows: number | undefined;
  let firstName = "";
  for (const [name, values] of entries) {
    if (!(values instanceof Float64Array || Array.isArray(values))) {
      throw new InputError(
        `the ${side} table, column "${name}": expected a Float64Array or an array of strings`,
      );
    }
    if (rows === undefined) {
      rows = values.length;
      firstName = name;
    } else if (values.length !== rows) {
      throw new InputError(
        `the ${side} table, column "${name}": has ${values.length} rows but column "${firstName}" has ${rows}`,
      );
    }
    if (Array.isArray(values)) checkText(values, name, side);
    columns.push({ name, values: values as DriftColumnValues });
  }
  if (rows === undefined) throw new InputError(`the ${side} table has no columns`);
  if (rows === 0) throw new InputError(`the ${side} table has no rows`);
  return { columns, rows };
}

function checkText(values: readonly unknown[], name: string, side: string): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined && typeof v !== "string") {
      throw new InputError(
        `the ${side} table, column "${name}", row ${i + 1}: expected text or a missing value, got ${typeof v}`,
      );
    }
  }
}

export function isMissingText(value: string | null | undefined): value is null | undefined | "" {
  return value === null || value === undefined || value === "";
}

/** A text column whose every value is missing: it may stand beside a numeric column. */
export function isEmptyText(values: TextValues): boolean {
  for (const v of values) if (!isMissingText(v)) return false;
  return true;
}

/** The finite values (NaN and ±inf dropped, as Evidently does), sorted ascending. */
export function finiteSorted(values: Float64Array): Float64Array {
  let finite = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite++;
  const out = new Float64Array(finite);
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (Number.isFinite(v)) out[k++] = v === 0 ? 0 : v; // -0 and 0 are one value
  }
  return out.sort();
}

/**
 * Sorted finite values that are not all in memory: a kept reference summary's column, whose
 * pages are read from its file when a position is asked for. Searches go through an index of
 * the pages' first values, so each touches one page.
 */
export interface PagedSorted {
  readonly length: number;
  /** The value at position i, 0 ≤ i < length. */
  at(i: number): number;
  countBelow(x: number): number;
  countAtMost(x: number): number;
}

/** A sorted column of the reference: in memory, or paged from a kept summary. */
export type SortedValues = Float64Array | PagedSorted;

/** Values by position: an array, or a paged array of a kept summary (Wasserstein's areas). */
export type IndexedValues = Float64Array | { readonly length: number; at(i: number): number };

function isPaged(values: ArrayLike<number> | PagedSorted): values is PagedSorted {
  return typeof (values as PagedSorted).countBelow === "function";
}

/** The value at position i of a sorted column (in range). */
export function valueAt(sorted: SortedValues | IndexedValues, i: number): number {
  return sorted instanceof Float64Array ? (sorted[i] as number) : sorted.at(i);
}

/** The whole column in memory (reads every page of a paged one). */
export function allValues(sorted: SortedValues | IndexedValues): Float64Array {
  if (sorted instanceof Float64Array) return sorted;
  const out = new Float64Array(sorted.length);
  for (let i = 0; i < out.length; i++) out[i] = sorted.at(i);
  return out;
}

/** Distinct values of a sorted array with their counts. */
export function runs(column: SortedValues): { values: Float64Array; counts: Float64Array } {
  const sorted = allValues(column);
  let distinct = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  const values = new Float64Array(distinct);
  const counts = new Float64Array(distinct);
  let k = -1;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) {
      k++;
      values[k] = sorted[i] as number;
    }
    counts[k] = (counts[k] as number) + 1;
  }
  return { values, counts };
}

/** Present text values and their counts, sorted by code point (Python's string order). */
export function textCounts(values: TextValues): {
  values: string[];
  counts: number[];
  missing: number;
} {
  const counts = new Map<string, number>();
  let missing = 0;
  for (const v of values) {
    if (isMissingText(v)) missing++;
    else counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const keys = [...counts.keys()].sort(compareCodePoints);
  return { values: keys, counts: keys.map((k) => counts.get(k) as number), missing };
}

/** Orders strings by Unicode code point, as Python compares them (JS's < compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Number of values < x in a sorted array. */
export function countBelow(sorted: ArrayLike<number> | PagedSorted, x: number): number {
  if (isPaged(sorted)) return sorted.countBelow(x);
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of values ≤ x in a sorted array. */
export function countAtMost(sorted: ArrayLike<number> | PagedSorted, x: number): number {
  if (isPaged(sorted)) return sorted.countAtMost(x);
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Mean and the sums of squared and cubed deviations, with compensated sums. */
export function centralMoments(values: Float64Array): { mean: number; m2: number; m3: number } {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, m2: Number.NaN, m3: Number.NaN };
  const sum = new CompensatedSum();
  for (let i = 0; i < n; i++) sum.add(values[i] as number);
  const mean = sum.value() / n;
  const squares = new CompensatedSum();
  const cubes = new CompensatedSum();
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - mean;
    const d2 = d * d;
    squares.add(d2);
    cubes.add(d2 * d);
  }
  return { mean, m2: squares.value(), m3: cubes.value() };
}

/** Neumaier's compensated summation. */
export class CompensatedSum {
  private sum = 0;
  private compensation = 0;
  add(v: number): void {
    const t = this.sum + v;
    this.compensation += Math.abs(this.sum) >= Math.abs(v) ? this.sum - t + v : v - t + this.sum;
    this.sum = t;
  }
  value(): number {
    return this.sum + this.compensation;
  }
}
