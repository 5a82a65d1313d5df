// The drift engine: Evidently's DataDriftPreset on two tables of plain columns. It types each
// column, picks its test by Evidently's rules (or the options' overrides), runs it against the
// reference summary, decides drift per column and for the dataset, and gathers the charts'
// data. Work per column is O(m log n) for a current batch of m rows against a reference of n,
// so a daily run against a kept summary does not depend on the training table's size.

import { InputError } from "../common/errors.ts";
import {
  centralMoments,
  compareCodePoints,
  countAtMost,
  countBelow,
  type DriftColumnValues,
  type DriftTable,
  finiteSorted,
  isEmptyText,
  runs,
  type SortedValues,
  tableColumns,
  textCounts,
  valueAt,
} from "./columns.ts";
import {
  alignedTopValueCounts,
  combineMoments,
  countInBins,
  doaneEdges,
  orderBuckets,
  ownRangeHistogram,
  sturgesEdges,
  topValueCounts,
} from "./drift-charts.ts";
import {
  type ColumnReference,
  type NumericReference,
  type ReferenceSummary,
  summarizeReference,
  type TextReference,
  wassersteinPrefix,
} from "./reference.ts";
import { chiSquare, jensenShannon, ksTwoSample, wassersteinNormed, zTest } from "./stattests.ts";
import type {
  ColumnCharts,
  ColumnDrift,
  ColumnType,
  DriftResult,
  DriftTestName,
  ExcludedColumn,
} from "./types.ts";

export const DRIFT_TESTS: readonly DriftTestName[] = [
  "ks",
  "chi-square",
  "z",
  "wasserstein",
  "jensen-shannon",
];

/** Evidently's default threshold per test. */
export const DEFAULT_THRESHOLDS: Readonly<Record<DriftTestName, number>> = {
  ks: 0.05,
  "chi-square": 0.05,
  z: 0.05,
  wasserstein: 0.1,
  "jensen-shannon": 0.1,
};

/** Evidently's drift_share: the dataset drifts when this share of tested columns or more drifts. */
export const DEFAULT_DRIFT_SHARE = 0.5;

/** Up to this many reference rows Evidently uses the statistical tests, above it the distances. */
export const SMALL_REFERENCE_ROWS = 1000;

/** Tests scored by a p-value (drift when small); the others by a distance (drift when large). */
export function isPValueTest(test: DriftTestName): boolean {
  return test === "ks" || test === "chi-square" || test === "z";
}

export type TestChoice = "evidently" | "p-values";

export interface DriftOptions {
  /** Test only these columns (each must be in both tables). Default: every common column. */
  columns?: readonly string[];
  /** Columns left out, with the reason shown in the report. */
  exclude?: readonly (string | ExcludedColumn)[];
  /** "num" or "cat" per column; default num for numbers, cat for text. */
  columnTypes?: Readonly<Record<string, ColumnType>>;
  /** One test for every column (Evidently's stattest). */
  test?: DriftTestName;
  /** One test for every numerical / categorical column (num_stattest, cat_stattest). */
  numTest?: DriftTestName;
  catTest?: DriftTestName;
  /**
   * How the default test is chosen: "evidently" (DataDriftPreset: distances above 1,000 reference
   * rows) or "p-values" (K-S, chi-square or Z whatever the reference size). Default "evidently".
   */
  testChoice?: TestChoice;
  /** A test per column (per_column_stattest); wins over the others. */
  tests?: Readonly<Record<string, DriftTestName>>;
  /** Thresholds per test, replacing Evidently's defaults. */
  defaultThresholds?: Readonly<Partial<Record<DriftTestName, number>>>;
  /** A threshold per column; wins over defaultThresholds. */
  thresholds?: Readonly<Record<string, number>>;
  /** The dataset drifts when drifted / tested ≥ driftShare (default 0.5). */
  driftShare?: number;
  /** Compute the charts' data (default true). */
  charts?: boolean;
}

/**
 * Evidently's default test from the reference's rows (values left after dropping NaN and ±inf),
 * the column's type and the number of distinct values of both sides together.
 */
export function defaultTest(
  type: ColumnType,
  referenceRows: number,
  uniqueValues: number,
  choice: TestChoice = "evidently",
): DriftTestName {
  if (referenceRows <= SMALL_REFERENCE_ROWS || choice === "p-values") {
    if (type === "num" && uniqueValues > 5) return "ks";
    return uniqueValues > 2 ? "chi-square" : "z";
  }
  if (type === "num" && uniqueValues > 5) return "wasserstein";
  return "jensen-shannon";
}

/** Evidently's comparison: p ≤ t for K-S, p < t for chi-square and Z, d ≥ t for the distances. */
export function isDrift(test: DriftTestName, score: number, threshold: number): boolean {
  if (test === "ks") return score <= threshold;
  if (test === "chi-square" || test === "z") return score < threshold;
  return score >= threshold;
}

/** Drift of `current` against a reference table: the summary is made here and not kept. */
export function computeDrift(
  reference: DriftTable,
  current: DriftTable,
  options: DriftOptions = {},
): DriftResult {
  return driftAgainstSummary(summarizeReference(reference), current, options);
}

interface CurrentNumeric {
  kind: "numeric";
  values: Float64Array;
  sorted: Float64Array;
  missing: number;
}

interface CurrentText {
  kind: "text";
  values: string[];
  counts: number[];
  missing: number;
}

type CurrentColumn = CurrentNumeric | CurrentText;

/** Drift of `current` against a kept reference summary. */
export function driftAgainstSummary(
  summary: ReferenceSummary,
  current: DriftTable,
  options: DriftOptions = {},
): DriftResult {
  const settings = checkOptions(options);
  const { columns: currentColumns } = tableColumns(current, "current");
  const currentByName = new Map(currentColumns.map((c) => [c.name, c.values]));
  const referenceByName = new Map(summary.columns.map((c) => [c.name, c]));
  const known = (name: string) => referenceByName.has(name) || currentByName.has(name);
  for (const [option, names] of settings.namedColumns) {
    for (const name of names) {
      if (!known(name))
        throw new InputError(`drift option ${option}: no column "${name}" in either table`);
    }
  }

  const excluded: ExcludedColumn[] = [];
  const excludedNames = new Set<string>();
  for (const entry of settings.exclude) {
    if (excludedNames.has(entry.column)) continue;
    excludedNames.add(entry.column);
    excluded.push(entry);
  }
  let names: string[];
  if (settings.columns) {
    for (const name of settings.columns) {
      if (!referenceByName.has(name) || !currentByName.has(name)) {
        const side = referenceByName.has(name) ? "current" : "reference";
        throw new InputError(`drift option columns: column "${name}" is not in the ${side} table`);
      }
    }
    names = [...new Set(settings.columns)].filter((name) => !excludedNames.has(name));
  } else {
    names = [];
    for (const column of summary.columns) {
      if (excludedNames.has(column.name)) continue;
      if (currentByName.has(column.name)) names.push(column.name);
      else excluded.push({ column: column.name, reason: "not in the current table" });
    }
    for (const { name } of currentColumns) {
      if (!referenceByName.has(name) && !excludedNames.has(name)) {
        excluded.push({ column: name, reason: "not in the reference table" });
      }
    }
    const common = summary.columns.some((c) => currentByName.has(c.name));
    if (!common) {
      throw new InputError(
        "the reference and current tables have no column in common (drift compares columns by name)",
      );
    }
  }

  const results = names.map((name) =>
    columnDrift(
      name,
      referenceByName.get(name) as ColumnReference,
      currentByName.get(name) as DriftColumnValues,
      summary.rows,
      settings,
    ),
  );
  results.sort(compareDrift);
  const tested = results.filter((r) => r.test !== null);
  const drifted = tested.filter((r) => r.drift).length;
  const share = tested.length > 0 ? drifted / tested.length : 0;
  return {
    dataset: {
      drift: tested.length > 0 && share >= settings.driftShare,
      share,
      drifted,
      columns: tested.length,
      threshold: settings.driftShare,
    },
    columns: results,
    excluded,
  };
}

/**
 * The table's order: drifted columns first, then by how far each score lies past its threshold
 * (distance / threshold, or threshold / p-value), highest first, then by name; untestable
 * columns last. Evidently sorts by the raw score, which puts the least drifted p-values on top
 * when a table mixes p-values and distances; on a table of one test this is its order for
 * distances and the reverse for p-values, "most drifted first" in both cases.
 */
function compareDrift(a: ColumnDrift, b: ColumnDrift): number {
  const testedA = a.test !== null;
  const testedB = b.test !== null;
  if (testedA !== testedB) return testedA ? -1 : 1;
  if (a.drift !== b.drift) return a.drift ? -1 : 1;
  const byStrength = driftStrength(b) - driftStrength(a);
  if (byStrength > 0 || byStrength < 0) return byStrength;
  return compareCodePoints(a.column, b.column);
}

function driftStrength(column: ColumnDrift): number {
  if (column.test === null || column.score === null || Number.isNaN(column.score)) {
    return Number.NEGATIVE_INFINITY;
  }
  if (isPValueTest(column.test)) {
    return column.score > 0 ? column.threshold / column.score : Number.POSITIVE_INFINITY;
  }
  return column.threshold > 0 ? column.score / column.threshold : column.score;
}

// ---------------------------------------------------------------------------------------------
// Options

interface Settings {
  columns: readonly string[] | undefined;
  exclude: ExcludedColumn[];
  columnTypes: Readonly<Record<string, ColumnType>>;
  testChoice: TestChoice;
  test: DriftTestName | undefined;
  numTest: DriftTestName | undefined;
  catTest: DriftTestName | undefined;
  tests: Readonly<Record<string, DriftTestName>>;
  defaultThresholds: Record<DriftTestName, number>;
  thresholds: Readonly<Record<string, number>>;
  driftShare: number;
  charts: boolean;
  /** Option name → the columns it names, all of which must exist. */
  namedColumns: [string, string[]][];
}

function checkTestName(value: unknown, option: string): DriftTestName | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string" && (DRIFT_TESTS as readonly string[]).includes(value)) {
    return value as DriftTestName;
  }
  throw new InputError(
    `drift option ${option}: expected one of ${DRIFT_TESTS.join(", ")}, got ${JSON.stringify(value)}`,
  );
}

function checkThreshold(value: unknown, test: DriftTestName | undefined, option: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new InputError(
      `drift option ${option}: expected a finite threshold ≥ 0, got ${JSON.stringify(value)}`,
    );
  }
  if (test !== undefined && isPValueTest(test) && value > 1) {
    throw new InputError(
      `drift option ${option}: a p-value threshold for ${test} is between 0 and 1, got ${value}`,
    );
  }
  return value;
}

/** A column's entry in an option object, never one inherited (a column named "constructor"). */
function own<T>(values: Readonly<Record<string, T>>, column: string): T | undefined {
  return Object.hasOwn(values, column) ? values[column] : undefined;
}

function record(value: unknown, option: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InputError(`drift option ${option}: expected an object of column → value`);
  }
  return value as Record<string, unknown>;
}

function columnList(value: unknown, option: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw new InputError(`drift option ${option}: expected a list of column names`);
  }
  return value as string[];
}

function checkOptions(options: DriftOptions): Settings {
  if (options === null || typeof options !== "object") {
    throw new InputError("drift options: expected an object");
  }
  const columns = columnList(options.columns, "columns");
  if (columns && columns.length === 0) {
    throw new InputError("drift option columns: expected at least one column name");
  }
  if (options.exclude !== undefined && !Array.isArray(options.exclude)) {
    throw new InputError(
      "drift option exclude: expected a list of column names or {column, reason}",
    );
  }
  const exclude = (options.exclude ?? []).map((entry): ExcludedColumn => {
    if (typeof entry === "string") return { column: entry, reason: "excluded by option" };
    if (
      entry !== null &&
      typeof entry === "object" &&
      typeof entry.column === "string" &&
      typeof entry.reason === "string"
    ) {
      return { column: entry.column, reason: entry.reason };
    }
    throw new InputError(
      `drift option exclude: expected a column name or {column, reason}, got ${JSON.stringify(entry)}`,
    );
  });
  const columnTypes = record(options.columnTypes, "columnTypes");
  for (const [column, type] of Object.entries(columnTypes)) {
    if (type !== "num" && type !== "cat") {
      throw new InputError(
        `drift option columnTypes, column "${column}": expected "num" or "cat", got ${JSON.stringify(type)}`,
      );
    }
  }
  const tests = record(options.tests, "tests");
  for (const [column, test] of Object.entries(tests))
    checkTestName(test, `tests, column "${column}"`);
  const defaultThresholds = { ...DEFAULT_THRESHOLDS };
  for (const [test, value] of Object.entries(
    record(options.defaultThresholds, "defaultThresholds"),
  )) {
    const name = checkTestName(test, "defaultThresholds") as DriftTestName;
    if (value !== undefined)
      defaultThresholds[name] = checkThreshold(value, name, `defaultThresholds.${name}`);
  }
  const thresholds = record(options.thresholds, "thresholds");
  for (const [column, value] of Object.entries(thresholds)) {
    checkThreshold(value, undefined, `thresholds, column "${column}"`);
  }
  const driftShare = options.driftShare ?? DEFAULT_DRIFT_SHARE;
  if (typeof driftShare !== "number" || !(driftShare >= 0 && driftShare <= 1)) {
    throw new InputError(
      `drift option driftShare: expected a share between 0 and 1, got ${JSON.stringify(driftShare)}`,
    );
  }
  const testChoice = options.testChoice ?? "evidently";
  if (testChoice !== "evidently" && testChoice !== "p-values") {
    throw new InputError(
      `drift option testChoice: expected "evidently" or "p-values", got ${JSON.stringify(testChoice)}`,
    );
  }
  if (options.charts !== undefined && typeof options.charts !== "boolean") {
    throw new InputError("drift option charts: expected true or false");
  }
  return {
    columns,
    exclude,
    columnTypes: columnTypes as Record<string, ColumnType>,
    testChoice,
    test: checkTestName(options.test, "test"),
    numTest: checkTestName(options.numTest, "numTest"),
    catTest: checkTestName(options.catTest, "catTest"),
    tests: tests as Record<string, DriftTestName>,
    defaultThresholds,
    thresholds: thresholds as Record<string, number>,
    driftShare,
    charts: options.charts ?? true,
    namedColumns: [
      ["exclude", exclude.map((e) => e.column)],
      ["columnTypes", Object.keys(columnTypes)],
      ["tests", Object.keys(tests)],
      ["thresholds", Object.keys(thresholds)],
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// One column

const emptyNumeric = (name: string, rows: number): NumericReference => ({
  kind: "numeric",
  name,
  missing: rows,
  sorted: new Float64Array(0),
  mean: Number.NaN,
  m2: Number.NaN,
  m3: Number.NaN,
  distinct: 0,
});

function currentColumn(values: DriftColumnValues): CurrentColumn {
  if (values instanceof Float64Array) {
    const sorted = finiteSorted(values);
    return { kind: "numeric", values, sorted, missing: values.length - sorted.length };
  }
  return { kind: "text", ...textCounts(values) };
}

/** Both sides as one kind: a side with no value at all takes the other side's kind. */
function sameKind(
  name: string,
  reference: ColumnReference,
  currentValues: DriftColumnValues,
  referenceRows: number,
): { reference: ColumnReference; current: CurrentColumn } {
  const currentIsNumeric = currentValues instanceof Float64Array;
  if ((reference.kind === "numeric") === currentIsNumeric) {
    return { reference, current: currentColumn(currentValues) };
  }
  if (reference.kind === "text" && reference.values.length === 0) {
    return { reference: emptyNumeric(name, referenceRows), current: currentColumn(currentValues) };
  }
  if (!currentIsNumeric && isEmptyText(currentValues)) {
    const values = new Float64Array(currentValues.length).fill(Number.NaN);
    return { reference, current: currentColumn(values) };
  }
  const [referenceKind, currentKind] =
    reference.kind === "numeric" ? ["numbers", "text"] : ["text", "numbers"];
  throw new InputError(
    `column "${name}" holds ${referenceKind} in the reference table but ${currentKind} in the current table`,
  );
}

const referenceRuns = new WeakMap<SortedValues, { values: Float64Array; counts: Float64Array }>();

function numericCounts(column: NumericReference): { values: Float64Array; counts: Float64Array } {
  if (column.counts) return column.counts;
  let counted = referenceRuns.get(column.sorted);
  if (!counted) {
    counted = runs(column.sorted);
    referenceRuns.set(column.sorted, counted);
  }
  return counted;
}

/** Counts of both sides over the union of their values, in ascending (code point) order. */
function alignedCounts(
  reference: ColumnReference,
  current: CurrentColumn,
): { values: (string | number)[]; reference: number[]; current: number[] } {
  let referenceValues: ArrayLike<string | number>;
  let referenceCounts: ArrayLike<number>;
  let currentValues: ArrayLike<string | number>;
  let currentCounts: ArrayLike<number>;
  let compare: (a: string | number, b: string | number) => number;
  if (reference.kind === "numeric" && current.kind === "numeric") {
    const r = numericCounts(reference);
    const c = runs(current.sorted);
    referenceValues = r.values;
    referenceCounts = r.counts;
    currentValues = c.values;
    currentCounts = c.counts;
    compare = (a, b) => (a as number) - (b as number);
  } else if (reference.kind === "text" && current.kind === "text") {
    referenceValues = reference.values;
    referenceCounts = reference.counts;
    currentValues = current.values;
    currentCounts = current.counts;
    compare = (a, b) => compareCodePoints(a as string, b as string);
  } else {
    throw new Error("alignedCounts: sides of different kinds");
  }
  const out = {
    values: [] as (string | number)[],
    reference: [] as number[],
    current: [] as number[],
  };
  let i = 0;
  let j = 0;
  while (i < referenceValues.length || j < currentValues.length) {
    const order =
      i >= referenceValues.length
        ? 1
        : j >= currentValues.length
          ? -1
          : compare(referenceValues[i] as string | number, currentValues[j] as string | number);
    if (order <= 0) {
      out.values.push(referenceValues[i] as string | number);
      out.reference.push(referenceCounts[i] as number);
      out.current.push(order === 0 ? (currentCounts[j++] as number) : 0);
      i++;
    } else {
      out.values.push(currentValues[j] as string | number);
      out.reference.push(0);
      out.current.push(currentCounts[j] as number);
      j++;
    }
  }
  return out;
}

/** Distinct values of both sides, exact up to 5 (all the rules ask), else at least 6. */
function uniqueValues(reference: ColumnReference, current: CurrentColumn): number {
  const referenceDistinct =
    reference.kind === "numeric" ? reference.distinct : reference.values.length;
  if (referenceDistinct > 5) return referenceDistinct;
  return alignedCounts(reference, current).values.length;
}

function presentRows(column: ColumnReference | CurrentColumn): number {
  if (column.kind === "numeric") return column.sorted.length;
  let n = 0;
  for (const c of column.counts) n += c;
  return n;
}

function chooseTest(
  name: string,
  type: ColumnType,
  reference: ColumnReference,
  current: CurrentColumn,
  settings: Settings,
): DriftTestName {
  const chosen =
    own(settings.tests, name) ??
    (type === "num" ? settings.numTest : settings.catTest) ??
    settings.test ??
    defaultTest(
      type,
      presentRows(reference),
      uniqueValues(reference, current),
      settings.testChoice,
    );
  if ((chosen === "ks" || chosen === "wasserstein") && type !== "num") {
    throw new InputError(
      `column "${name}": the ${chosen} test needs a numerical column, but this one is categorical`,
    );
  }
  return chosen;
}

function columnDrift(
  name: string,
  referenceColumn: ColumnReference,
  currentValues: DriftColumnValues,
  referenceRows: number,
  settings: Settings,
): ColumnDrift {
  const { reference, current } = sameKind(name, referenceColumn, currentValues, referenceRows);
  const type = own(settings.columnTypes, name) ?? (reference.kind === "numeric" ? "num" : "cat");
  if (type === "num" && reference.kind === "text") {
    throw new InputError(
      `drift option columnTypes: column "${name}" holds text and cannot be "num"`,
    );
  }
  const test = chooseTest(name, type, reference, current, settings);
  const threshold = own(settings.thresholds, name) ?? settings.defaultThresholds[test];
  if (isPValueTest(test)) checkThreshold(threshold, test, `thresholds, column "${name}"`);
  const referencePresent = presentRows(reference);
  const currentPresent = presentRows(current);
  const result: ColumnDrift = {
    column: name,
    type,
    test,
    score: null,
    threshold,
    drift: false,
    referenceRows: referencePresent,
    currentRows: currentPresent,
    referenceMissing: reference.missing,
    currentMissing: current.missing,
  };
  if (referencePresent === 0 || currentPresent === 0) {
    result.test = null;
    result.untestable =
      referencePresent === 0 && currentPresent === 0
        ? "no value on either side"
        : referencePresent === 0
          ? "no value in the reference table"
          : "no value in the current table";
  } else {
    const { score, statistic } = runTest(test, type, reference, current);
    result.score = score;
    result.statistic = statistic;
    result.drift = isDrift(test, score, threshold);
  }
  if (settings.charts) result.charts = charts(type, reference, current);
  return result;
}

function runTest(
  test: DriftTestName,
  type: ColumnType,
  reference: ColumnReference,
  current: CurrentColumn,
): { score: number; statistic: number } {
  if (test === "ks" || test === "wasserstein") {
    const r = reference as NumericReference;
    const c = current as CurrentNumeric;
    if (test === "ks") {
      const { statistic, pValue } = ksTwoSample(r.sorted, c.sorted);
      return { score: pValue, statistic };
    }
    const { distance, statistic } = wassersteinNormed(r.sorted, c.sorted, wassersteinPrefix(r));
    return { score: distance, statistic };
  }
  if (test === "z") {
    const { referenceOnes, currentOnes } = proportions(reference, current);
    const { statistic, pValue } = zTest(
      referenceOnes,
      presentRows(reference),
      currentOnes,
      presentRows(current),
    );
    return { score: pValue, statistic };
  }
  if (test === "jensen-shannon" && type === "num" && reference.kind === "numeric") {
    // Evidently bins a numerical column with more than 20 distinct reference values ("sturges"
    // over both sides); the default rules never get here with so many.
    if (reference.distinct > 20 && current.kind === "numeric") {
      const c = current.sorted;
      const r = reference.sorted;
      const edges = sturgesEdges(
        r.length + c.length,
        Math.min(valueAt(r, 0), c[0] as number),
        Math.max(valueAt(r, r.length - 1), c[c.length - 1] as number),
      );
      const distance = jensenShannon(countInBins(r, edges), countInBins(c, edges));
      return { score: distance, statistic: distance };
    }
  }
  const counts = alignedCounts(reference, current);
  if (test === "chi-square") {
    const { statistic, pValue } = chiSquare(counts.reference, counts.current);
    return { score: pValue, statistic };
  }
  const distance = jensenShannon(counts.reference, counts.current);
  return { score: distance, statistic: distance };
}

/** Evidently's Z-test encoding: 0 for the smallest value of both sides together, 1 for any other. */
function proportions(
  reference: ColumnReference,
  current: CurrentColumn,
): { referenceOnes: number; currentOnes: number } {
  if (reference.kind === "numeric" && current.kind === "numeric") {
    const smallest = Math.min(valueAt(reference.sorted, 0), current.sorted[0] as number);
    const equalCount = (sorted: SortedValues) =>
      countAtMost(sorted, smallest) - countBelow(sorted, smallest);
    return {
      referenceOnes: reference.sorted.length - equalCount(reference.sorted),
      currentOnes: current.sorted.length - equalCount(current.sorted),
    };
  }
  const r = reference as TextReference;
  const c = current as CurrentText;
  const first =
    compareCodePoints(r.values[0] as string, c.values[0] as string) <= 0
      ? r.values[0]
      : c.values[0];
  const ones = (values: string[], counts: number[]) => {
    let total = 0;
    for (let k = 0; k < values.length; k++) if (values[k] !== first) total += counts[k] as number;
    return total;
  };
  return { referenceOnes: ones(r.values, r.counts), currentOnes: ones(c.values, c.counts) };
}

// ---------------------------------------------------------------------------------------------
// Charts

function charts(
  type: ColumnType,
  reference: ColumnReference,
  current: CurrentColumn,
): ColumnCharts {
  if (type === "cat" || reference.kind === "text" || current.kind === "text") {
    const referenceCounts =
      reference.kind === "numeric"
        ? (({ values, counts }) => ({ values: Array.from(values), counts }))(
            numericCounts(reference),
          )
        : reference;
    const currentCounts =
      current.kind === "numeric"
        ? (({ values, counts }) => ({ values: Array.from(values), counts }))(runs(current.sorted))
        : current;
    const union = alignedCounts(reference, current);
    return {
      sparkline: {
        reference: topValueCounts(referenceCounts.values, referenceCounts.counts),
        current: topValueCounts(currentCounts.values, currentCounts.counts),
      },
      distribution: alignedTopValueCounts(union.values, union.reference, union.current),
    };
  }
  const r = reference.sorted;
  const c = current.sorted;
  const currentMoments = centralMoments(c);
  const both = combineMoments(
    { n: r.length, mean: reference.mean, m2: reference.m2, m3: reference.m3 },
    { n: c.length, ...currentMoments },
  );
  const min = Math.min(r.length ? valueAt(r, 0) : Infinity, c.length ? (c[0] as number) : Infinity);
  const max = Math.max(
    r.length ? valueAt(r, r.length - 1) : -Infinity,
    c.length ? (c[c.length - 1] as number) : -Infinity,
  );
  const edges = doaneEdges(both, min, max);
  const result: ColumnCharts = {
    sparkline: { reference: ownRangeHistogram(r), current: ownRangeHistogram(c) },
    distribution: {
      reference: { edges, counts: countInBins(r, edges) },
      current: { edges, counts: countInBins(c, edges) },
    },
  };
  result.order = {
    buckets: orderBuckets(current.values),
    referenceMean: reference.mean,
    referenceStd: Math.sqrt(reference.m2 / r.length),
  };
  return result;
}
