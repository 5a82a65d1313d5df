import {
  allValues,
  centralMoments,
  type DriftTable,
  finiteSorted,
  runs,
  type SortedValues,
  tableColumns,
  textCounts,
} from "./columns.ts";
import { type ReferencePrefix, wassersteinReference } from "./stattests.ts";

/** Numeric columns with at most this many distinct values keep their value counts. */
export const KEEP_COUNTS_UP_TO = 1000;

export interface NumericReference {
  kind: "numeric";
  name: string;
  /** Rows without a finite value (NaN, ±inf). */
  missing: number;
  /** The finite values, ascending: in memory, or paged from an opened summary file. */
  sorted: SortedValues;
  mean: number;
  /** Σ(x − mean)² and Σ(x − mean)³ over the finite values. */
  m2: number;
  m3: number;
  distinct: number;
  /** The distinct values and their counts, when there are at most KEEP_COUNTS_UP_TO. */
  counts?: { values: Float64Array; counts: Float64Array };
  /** Wasserstein's block areas of the sorted values and their std, when there is a value. */
  prefix?: ReferencePrefix;
}

export interface TextReference {
  kind: "text";
  name: string;
  missing: number;
  /** Present values in code point order and how often each occurs. */
  values: string[];
  counts: number[];
}

export type ColumnReference = NumericReference | TextReference;

export interface ReferenceSummary {
  rows: number;
  columns: ColumnReference[];
}

/** Summarizes a reference table: O(n log n) once, so that each daily run is O(m log n). */
export function summarizeReference(table: DriftTable): ReferenceSummary {
  const { columns, rows } = tableColumns(table, "reference");
  return {
    rows,
    columns: columns.map(({ name, values }) => {
      if (values instanceof Float64Array) return numericReference(name, values);
      return { kind: "text", name, ...textCounts(values) };
    }),
  };
}

function numericReference(name: string, values: Float64Array): NumericReference {
  const sorted = finiteSorted(values);
  const { mean, m2, m3 } = centralMoments(sorted);
  const distinct = distinctCount(sorted);
  const summary: NumericReference = {
    kind: "numeric",
    name,
    missing: values.length - sorted.length,
    sorted,
    mean,
    m2,
    m3,
    distinct,
  };
  if (distinct > 0 && distinct <= KEEP_COUNTS_UP_TO) summary.counts = runs(sorted);
  if (sorted.length > 0) {
    summary.prefix = wassersteinReference(sorted);
    if (summary.prefix.areaHi.length !== areaBlocks(sorted.length)) {
      throw new Error("reference summary: the Wasserstein block size changed; update AREA_BLOCK");
    }
  }
  return summary;
}

export function distinctCount(sorted: Float64Array): number {
  let distinct = sorted.length > 0 ? 1 : 0;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  return distinct;
}

/** The values per block of stattests.ts's Wasserstein areas. */
export const AREA_BLOCK = 64;

export function areaBlocks(n: number): number {
  return n === 0 ? 0 : Math.floor((n - 1) / AREA_BLOCK) + 1;
}

/** The Wasserstein areas of a numeric reference column (made once if a summary lacks them). */
export function wassersteinPrefix(column: NumericReference): ReferencePrefix {
  if (!column.prefix) column.prefix = wassersteinReference(allValues(column.sorted));
  return column.prefix;
}
