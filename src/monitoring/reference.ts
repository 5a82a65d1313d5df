// The reference side of drift, computed once per model version and kept: per numeric column
// its sorted finite values (K-S and Wasserstein need them exactly), moments and, when it has
// few distinct values, their counts; per text column its value counts. A daily run reads this
// instead of the training table. Serialized as a compact binary with a versioned header and a
// CRC-32, every part of which is checked when parsed (the bytes may come from anywhere).

import { endianness } from "node:os";
import zlib from "node:zlib";
import { InputError } from "../common/errors.ts";
import {
  centralMoments,
  compareCodePoints,
  countAtMost,
  type DriftTable,
  finiteSorted,
  runs,
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
  /** The finite values, ascending. */
  sorted: Float64Array;
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

function distinctCount(sorted: Float64Array): number {
  let distinct = sorted.length > 0 ? 1 : 0;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  return distinct;
}

/** The values per block of stattests.ts's Wasserstein areas. */
const AREA_BLOCK = 64;

function areaBlocks(n: number): number {
  return n === 0 ? 0 : Math.floor((n - 1) / AREA_BLOCK) + 1;
}

// ---------------------------------------------------------------------------------------------
// Binary form, little-endian, every section 8-byte aligned:
//   header (48 bytes): magic "GCREFSUM", u32 format version, u32 column count, f64 rows,
//     f64 body length, u32 CRC-32 of the body, 20 bytes zero
//   body, per column: u32 name length, u8 kind (1 numeric, 2 text), 3 zero bytes, name (UTF-8),
//     padding to 8; then
//     numeric: f64 missing, finite count n, mean, m2, m3, distinct, kept counts k (0 or distinct),
//              std; n f64 sorted values; k f64 values; k f64 counts; b = ⌈n / 64⌉ f64 Wasserstein
//              block areas (high parts) and b f64 (low parts)
//     text:    f64 missing, f64 distinct d; d f64 counts; d u32 byte lengths (padded to 8);
//              the values' UTF-8 bytes (padded to 8)

const MAGIC = "GCREFSUM";
export const REFERENCE_FORMAT_VERSION = 1;
const HEADER_BYTES = 48;
const KIND_NUMERIC = 1;
const KIND_TEXT = 2;
const MAX_NAME_BYTES = 4096;
/** Rows are counted in doubles: beyond 2^53 counts stop being exact. */
const MAX_ROWS = 2 ** 53;
const littleEndian = endianness() === "LE";
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function pad8(n: number): number {
  return (n + 7) & ~7;
}

export function serializeReferenceSummary(summary: ReferenceSummary): Uint8Array {
  const encodedNames = summary.columns.map((c) => utf8.encode(c.name));
  const encodedValues = summary.columns.map((c) =>
    c.kind === "text" ? c.values.map((v) => utf8.encode(v)) : [],
  );
  let bodyBytes = 0;
  summary.columns.forEach((column, i) => {
    bodyBytes += 8 + pad8((encodedNames[i] as Uint8Array).length);
    if (column.kind === "numeric") {
      const kept = column.counts?.values.length ?? 0;
      const blocks = areaBlocks(column.sorted.length);
      bodyBytes += 8 * 8 + 8 * column.sorted.length + 16 * kept + 16 * blocks;
    } else {
      const texts = encodedValues[i] as Uint8Array[];
      const textBytes = texts.reduce((s, t) => s + t.length, 0);
      bodyBytes += 16 + 8 * texts.length + pad8(4 * texts.length) + pad8(textBytes);
    }
  });
  const out = new Uint8Array(HEADER_BYTES + bodyBytes);
  const view = new DataView(out.buffer);
  let at = HEADER_BYTES;
  const putF64 = (v: number) => {
    view.setFloat64(at, v, true);
    at += 8;
  };
  const putF64s = (values: ArrayLike<number>) => {
    for (let i = 0; i < values.length; i++) view.setFloat64(at + 8 * i, values[i] as number, true);
    at += 8 * values.length;
  };
  summary.columns.forEach((column, i) => {
    const name = encodedNames[i] as Uint8Array;
    view.setUint32(at, name.length, true);
    view.setUint8(at + 4, column.kind === "numeric" ? KIND_NUMERIC : KIND_TEXT);
    out.set(name, at + 8);
    at += 8 + pad8(name.length);
    putF64(column.missing);
    if (column.kind === "numeric") {
      const kept = column.counts;
      for (const v of [column.sorted.length, column.mean, column.m2, column.m3, column.distinct]) {
        putF64(v);
      }
      putF64(kept?.values.length ?? 0);
      const prefix = column.sorted.length > 0 ? wassersteinPrefix(column) : undefined;
      putF64(prefix?.std ?? 0);
      putF64s(column.sorted);
      if (kept) {
        putF64s(kept.values);
        putF64s(kept.counts);
      }
      if (prefix) {
        putF64s(prefix.areaHi);
        putF64s(prefix.areaLo);
      }
    } else {
      const texts = encodedValues[i] as Uint8Array[];
      putF64(texts.length);
      putF64s(column.counts);
      texts.forEach((t, k) => {
        view.setUint32(at + 4 * k, t.length, true);
      });
      at += pad8(4 * texts.length);
      const start = at;
      for (const t of texts) {
        out.set(t, at);
        at += t.length;
      }
      at = start + pad8(at - start);
    }
  });
  out.set(utf8.encode(MAGIC), 0);
  view.setUint32(8, REFERENCE_FORMAT_VERSION, true);
  view.setUint32(12, summary.columns.length, true);
  view.setFloat64(16, summary.rows, true);
  view.setFloat64(24, bodyBytes, true);
  view.setUint32(32, crc32(out.subarray(HEADER_BYTES)), true);
  return out;
}

function bad(what: string): InputError {
  return new InputError(`reference summary: ${what}`);
}

/** Reads bytes written by serializeReferenceSummary, refusing anything malformed. */
export function parseReferenceSummary(bytes: Uint8Array): ReferenceSummary {
  if (!(bytes instanceof Uint8Array)) throw bad("expected bytes (a Uint8Array)");
  if (bytes.length < HEADER_BYTES) {
    throw bad(`expected at least ${HEADER_BYTES} bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw bad(`not a reference summary (no "${MAGIC}" header)`);
  }
  const version = view.getUint32(8, true);
  if (version !== REFERENCE_FORMAT_VERSION) {
    throw bad(`format version ${version}, expected ${REFERENCE_FORMAT_VERSION}`);
  }
  const columnCount = view.getUint32(12, true);
  const rows = view.getFloat64(16, true);
  const bodyBytes = view.getFloat64(24, true);
  if (!(Number.isInteger(rows) && rows >= 1 && rows <= MAX_ROWS)) {
    throw bad(`expected a row count between 1 and 2^53, got ${rows}`);
  }
  if (bodyBytes !== bytes.length - HEADER_BYTES) {
    throw bad(
      `the header says ${bodyBytes} body bytes but ${bytes.length - HEADER_BYTES} follow it (truncated or padded?)`,
    );
  }
  for (let i = 36; i < HEADER_BYTES; i++) {
    if (bytes[i] !== 0) throw bad(`reserved header byte ${i} is not zero`);
  }
  if (columnCount < 1 || columnCount > bodyBytes / 16) {
    throw bad(`column count ${columnCount} does not fit in ${bodyBytes} body bytes`);
  }
  const expectedCrc = view.getUint32(32, true);
  const actualCrc = crc32(bytes.subarray(HEADER_BYTES));
  if (actualCrc !== expectedCrc) {
    throw bad(
      `checksum mismatch (CRC-32 ${hex(actualCrc)}, header says ${hex(expectedCrc)}): the file is damaged`,
    );
  }
  const reader = new BodyReader(bytes, view, HEADER_BYTES);
  const columns: ColumnReference[] = [];
  const names = new Set<string>();
  for (let c = 0; c < columnCount; c++) {
    const column = readColumn(reader, rows, c);
    if (names.has(column.name)) throw bad(`column "${column.name}" appears twice`);
    names.add(column.name);
    columns.push(column);
  }
  if (reader.at !== bytes.length) {
    throw bad(`${bytes.length - reader.at} bytes left over after the last column`);
  }
  return { rows, columns };
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}

class BodyReader {
  constructor(
    readonly bytes: Uint8Array,
    readonly view: DataView,
    public at: number,
  ) {}

  need(n: number, what: string): void {
    if (!(n >= 0) || this.at + n > this.bytes.length) {
      throw bad(
        `${what}: needs ${n} bytes at offset ${this.at}, past the end (${this.bytes.length})`,
      );
    }
  }

  f64(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.at, true);
    this.at += 8;
    return v;
  }

  /** A whole number in [0, max], read as f64. */
  count(what: string, max: number): number {
    const v = this.f64(what);
    if (!(Number.isInteger(v) && v >= 0 && v <= max)) {
      throw bad(`${what}: expected a whole number between 0 and ${max}, got ${v}`);
    }
    return v;
  }

  f64s(n: number, what: string): Float64Array {
    this.need(8 * n, what);
    const offset = this.bytes.byteOffset + this.at;
    let out: Float64Array;
    if (littleEndian && offset % 8 === 0) {
      out = new Float64Array(this.bytes.buffer, offset, n);
    } else {
      out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = this.view.getFloat64(this.at + 8 * i, true);
    }
    this.at += 8 * n;
    return out;
  }

  padding(n: number, what: string): void {
    this.need(n, what);
    for (let i = 0; i < n; i++) {
      if (this.bytes[this.at + i] !== 0) throw bad(`${what}: padding byte is not zero`);
    }
    this.at += n;
  }

  utf8(n: number, what: string): string {
    this.need(n, what);
    try {
      const s = strictUtf8.decode(this.bytes.subarray(this.at, this.at + n));
      this.at += n;
      return s;
    } catch {
      throw bad(`${what}: not valid UTF-8`);
    }
  }
}

function readColumn(reader: BodyReader, rows: number, index: number): ColumnReference {
  const where = `column ${index + 1}`;
  reader.need(8, where);
  const nameBytes = reader.view.getUint32(reader.at, true);
  const kind = reader.view.getUint8(reader.at + 4);
  reader.at += 5;
  reader.padding(3, where);
  if (nameBytes > MAX_NAME_BYTES) throw bad(`${where}: name of ${nameBytes} bytes is too long`);
  const name = reader.utf8(nameBytes, `${where} name`);
  reader.padding(pad8(nameBytes) - nameBytes, `${where} name`);
  const what = `column "${name}"`;
  const missing = reader.count(`${what} missing rows`, rows);
  if (kind === KIND_NUMERIC) return readNumeric(reader, rows, name, missing);
  if (kind === KIND_TEXT) return readText(reader, rows, name, missing);
  throw bad(`${what}: unknown kind ${kind}`);
}

function readNumeric(
  reader: BodyReader,
  rows: number,
  name: string,
  missing: number,
): NumericReference {
  const what = `column "${name}"`;
  const n = reader.count(`${what} finite values`, rows);
  if (n + missing !== rows) {
    throw bad(`${what}: ${n} values and ${missing} missing do not make the table's ${rows} rows`);
  }
  const mean = reader.f64(`${what} mean`);
  const m2 = reader.f64(`${what} m2`);
  const m3 = reader.f64(`${what} m3`);
  const distinct = reader.count(`${what} distinct values`, n);
  const kept = reader.count(`${what} kept counts`, KEEP_COUNTS_UP_TO);
  if (kept !== 0 && kept !== distinct) {
    throw bad(`${what}: keeps ${kept} value counts for ${distinct} distinct values`);
  }
  if ((n === 0 || distinct <= KEEP_COUNTS_UP_TO) !== (kept === distinct)) {
    throw bad(`${what}: value counts are kept exactly when there are at most ${KEEP_COUNTS_UP_TO}`);
  }
  if (n === 0 ? distinct !== 0 : distinct < 1) {
    throw bad(`${what}: ${distinct} distinct values for ${n} values`);
  }
  const std = reader.f64(`${what} std`);
  const sorted = reader.f64s(n, `${what} values`);
  const counts =
    kept > 0 ? { values: reader.f64s(kept, what), counts: reader.f64s(kept, what) } : undefined;
  const blocks = areaBlocks(n);
  const areaHi = reader.f64s(blocks, `${what} Wasserstein areas`);
  const areaLo = reader.f64s(blocks, `${what} Wasserstein areas`);
  checkSortedValues(sorted, distinct, counts, what);
  const column: NumericReference = {
    kind: "numeric",
    name,
    missing,
    sorted,
    mean,
    m2,
    m3,
    distinct,
  };
  if (counts) column.counts = counts;
  if (n > 0) {
    checkMoments(sorted, mean, m2, m3, what);
    checkAreas(areaHi, areaLo, std, m2 / n, what);
    column.prefix = { sorted, areaHi, areaLo, std };
  } else if (std !== 0) {
    throw bad(`${what}: a std of ${std} without values`);
  }
  return column;
}

/** Finite and ascending with the stored distinct count (one tight pass); kept runs as stored. */
function checkSortedValues(
  sorted: Float64Array,
  distinct: number,
  kept: { values: Float64Array; counts: Float64Array } | undefined,
  what: string,
): void {
  const n = sorted.length;
  if (n === 0) return;
  const notInOrder = (i: number) =>
    bad(`${what}: value ${i + 1} (${sorted[i]}) is not finite or not in ascending order`);
  let previous = sorted[0] as number;
  if (!(previous > Number.NEGATIVE_INFINITY)) throw notInOrder(0);
  let seen = 1;
  for (let i = 1; i < n; i++) {
    const v = sorted[i] as number;
    if (!(v >= previous)) throw notInOrder(i);
    seen += v !== previous ? 1 : 0; // a select, not a branch: ties come at random
    previous = v;
  }
  if (!(previous < Number.POSITIVE_INFINITY)) throw notInOrder(n - 1);
  if (seen !== distinct) throw bad(`${what}: says ${distinct} distinct values but holds ${seen}`);
  if (!kept) return;
  let at = 0;
  for (let k = 0; k < kept.values.length; k++) {
    const value = kept.values[k] as number;
    if (sorted[at] !== value) {
      throw bad(`${what}: kept value ${k + 1} is not the column's distinct value ${sorted[at]}`);
    }
    const end = countAtMost(sorted, value);
    if (kept.counts[k] !== end - at) {
      throw bad(`${what}: kept count of ${value} is not its number of values (${end - at})`);
    }
    at = end;
  }
}

function checkMoments(
  sorted: Float64Array,
  mean: number,
  m2: number,
  m3: number,
  what: string,
): void {
  const low = sorted[0] as number;
  const high = sorted[sorted.length - 1] as number;
  if (!(mean >= low && mean <= high)) throw bad(`${what}: mean ${mean} outside its values`);
  const spread = (high - low) ** 2 * sorted.length;
  if (!(m2 >= 0 && m2 <= spread * 1.000001)) throw bad(`${what}: m2 ${m2} impossible`);
  if (!(Number.isFinite(m3) && Math.abs(m3) <= spread * (high - low) * 1.000001)) {
    throw bad(`${what}: m3 ${m3} impossible`);
  }
}

/**
 * Wasserstein's areas start at 0 and never decrease (they sum non-negative terms); the std is
 * the root of m2 / n. Recomputing the areas would cost a pass over the values, which the CRC
 * already guards against damage.
 */
function checkAreas(
  areaHi: Float64Array,
  areaLo: Float64Array,
  std: number,
  variance: number,
  what: string,
): void {
  if (areaHi[0] !== 0 || areaLo[0] !== 0) throw bad(`${what}: the first Wasserstein area is not 0`);
  for (let b = 1; b < areaHi.length; b++) {
    const hi = areaHi[b] as number;
    if (!(hi >= (areaHi[b - 1] as number)) || !Number.isFinite(areaLo[b])) {
      throw bad(`${what}: Wasserstein area ${b + 1} is not finite or decreases`);
    }
  }
  const expected = Math.sqrt(variance);
  const close =
    std === expected || Math.abs(std - expected) <= 1e-9 * Math.max(std, expected) + 1e-300;
  if (!(std >= 0) || !(close || !Number.isFinite(variance))) {
    throw bad(`${what}: std ${std} is not the values' (${expected})`);
  }
}

/** The Wasserstein areas of a numeric reference column (made once if a summary lacks them). */
export function wassersteinPrefix(column: NumericReference): ReferencePrefix {
  if (!column.prefix) column.prefix = wassersteinReference(column.sorted);
  return column.prefix;
}

function readText(reader: BodyReader, rows: number, name: string, missing: number): TextReference {
  const what = `column "${name}"`;
  const present = rows - missing;
  const distinct = reader.count(`${what} distinct values`, present);
  if ((present === 0) !== (distinct === 0)) {
    throw bad(`${what}: ${distinct} distinct values for ${present} present rows`);
  }
  const counts = Array.from(reader.f64s(distinct, `${what} counts`));
  let total = 0;
  for (const c of counts) {
    if (!(Number.isInteger(c) && c >= 1)) throw bad(`${what}: a value count of ${c}`);
    total += c;
  }
  if (total !== present) {
    throw bad(`${what}: value counts add up to ${total}, expected ${present} present rows`);
  }
  reader.need(4 * distinct, `${what} value lengths`);
  const lengths: number[] = [];
  let textBytes = 0;
  for (let k = 0; k < distinct; k++) {
    const length = reader.view.getUint32(reader.at + 4 * k, true);
    if (length === 0) throw bad(`${what}: an empty value (empty text is a missing value)`);
    lengths.push(length);
    textBytes += length;
  }
  reader.at += 4 * distinct;
  reader.padding(pad8(4 * distinct) - 4 * distinct, `${what} value lengths`);
  reader.need(textBytes, `${what} values`);
  const values: string[] = [];
  for (const length of lengths) values.push(reader.utf8(length, `${what} values`));
  reader.padding(pad8(textBytes) - textBytes, `${what} values`);
  for (let k = 1; k < values.length; k++) {
    if (compareCodePoints(values[k - 1] as string, values[k] as string) >= 0) {
      throw bad(`${what}: values are not distinct and in code point order at ${k + 1}`);
    }
  }
  return { kind: "text", name, missing, values, counts };
}

// ---------------------------------------------------------------------------------------------
// CRC-32 (IEEE), zlib's when the runtime has it (Node ≥ 20.15), else a table.

let crcTable: Uint32Array | undefined;

function crc32(bytes: Uint8Array): number {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  if (typeof native === "function") return native(bytes) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    crc = (crcTable[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
