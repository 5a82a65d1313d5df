// The reference summary's binary form: a versioned header, a directory and pages of sorted
// values, each with a CRC-32, every part checked when read (the bytes may come from anywhere).
// serializeReferenceSummary writes it, parseReferenceSummary reads it whole, and
// openReferenceSummary opens a file and reads only the pages a day's binary searches land in,
// so a daily run reads a few MiB of a 1,000,000-row summary, not all of it.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { endianness } from "node:os";
import zlib from "node:zlib";
import { InputError } from "../common/errors.ts";
import {
  compareCodePoints,
  countAtMost,
  countBelow,
  type IndexedValues,
  type PagedSorted,
  type SortedValues,
  valueAt,
} from "./columns.ts";
import {
  AREA_BLOCK,
  areaBlocks,
  type ColumnReference,
  KEEP_COUNTS_UP_TO,
  type NumericReference,
  type ReferenceSummary,
  type TextReference,
  wassersteinPrefix,
} from "./reference.ts";
import type { ReferencePrefix } from "./stattests.ts";

// ---------------------------------------------------------------------------------------------
// Binary form, little-endian, every section 8-byte aligned. A daily run reads the header and
// the directory, then only the pages its searches land in (openReferenceSummary), so the
// directory holds what locates a value: each page's first value and checksum.
//   header (64 bytes): magic "GCREFSUM", u32 format version, u32 column count, f64 rows,
//     f64 directory length, u32 CRC-32 of the directory, u32 values per page (512),
//     f64 length of the pages, 16 bytes zero
//   directory, per column: u32 name length, u8 kind (1 numeric, 2 text), 3 zero bytes, name
//     (UTF-8), padding to 8; then
//     numeric: f64 missing, finite count n, mean, m2, m3, distinct, kept counts k (0 or
//              distinct), std, largest value (0 without values); k f64 values; k f64 counts;
//              p = ⌈n / 512⌉ f64 first values of the pages; p u32 CRC-32s of the pages (padded
//              to 8)
//     text:    f64 missing, f64 distinct d; d f64 counts; d u32 byte lengths (padded to 8);
//              the values' UTF-8 bytes (padded to 8)
//   pages, the numeric columns' in directory order, each column's in value order: page j holds
//     the sorted values j·512 … (up to 512 f64), then Wasserstein's areas of the blocks of 64
//     that start in it (up to 8 f64 high parts, then as many low parts).

const MAGIC = "GCREFSUM";
export const REFERENCE_FORMAT_VERSION = 2;
const HEADER_BYTES = 64;
const KIND_NUMERIC = 1;
const KIND_TEXT = 2;
const MAX_NAME_BYTES = 4096;
/** Sorted values per page: 4 KiB of values and 8 blocks of Wasserstein areas. */
export const PAGE_VALUES = 512;
const PAGE_BLOCKS = PAGE_VALUES / AREA_BLOCK;
const FULL_PAGE_BYTES = 8 * PAGE_VALUES + 16 * PAGE_BLOCKS;
/** An opened summary up to this size is read whole at once (its pages checked when used). */
const READ_WHOLE_UP_TO = 16 * 2 ** 20;
/** Pages of an opened summary kept in memory at once by default (about 2.1 MiB). */
const CACHED_PAGES = 512;
/** Rows are counted in doubles: beyond 2^53 counts stop being exact. */
const MAX_ROWS = 2 ** 53;
const littleEndian = endianness() === "LE";
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function pad8(n: number): number {
  return (n + 7) & ~7;
}

function pageCount(n: number): number {
  return Math.ceil(n / PAGE_VALUES);
}

/** Values in page j of a column of n, and the blocks of areas that start in it. */
function pageShape(n: number, j: number): { values: number; blocks: number } {
  const values = Math.min(PAGE_VALUES, n - j * PAGE_VALUES);
  return { values, blocks: Math.ceil(values / AREA_BLOCK) };
}

function pagesBytes(n: number): number {
  if (n === 0) return 0;
  const last = pageShape(n, pageCount(n) - 1);
  return (pageCount(n) - 1) * FULL_PAGE_BYTES + 8 * last.values + 16 * last.blocks;
}

export function serializeReferenceSummary(summary: ReferenceSummary): Uint8Array {
  const encodedNames = summary.columns.map((c) => utf8.encode(c.name));
  const encodedValues = summary.columns.map((c) =>
    c.kind === "text" ? c.values.map((v) => utf8.encode(v)) : [],
  );
  let directoryBytes = 0;
  let pageBytes = 0;
  summary.columns.forEach((column, i) => {
    directoryBytes += 8 + pad8((encodedNames[i] as Uint8Array).length);
    if (column.kind === "numeric") {
      const kept = column.counts?.values.length ?? 0;
      const pages = pageCount(column.sorted.length);
      directoryBytes += 9 * 8 + 16 * kept + 8 * pages + pad8(4 * pages);
      pageBytes += pagesBytes(column.sorted.length);
    } else {
      const texts = encodedValues[i] as Uint8Array[];
      const textBytes = texts.reduce((s, t) => s + t.length, 0);
      directoryBytes += 16 + 8 * texts.length + pad8(4 * texts.length) + pad8(textBytes);
    }
  });
  const out = new Uint8Array(HEADER_BYTES + directoryBytes + pageBytes);
  const view = new DataView(out.buffer);
  let at = HEADER_BYTES;
  let pageAt = HEADER_BYTES + directoryBytes;
  const putF64 = (v: number) => {
    view.setFloat64(at, v, true);
    at += 8;
  };
  const putF64s = (values: ArrayLike<number>) => {
    for (let i = 0; i < values.length; i++) view.setFloat64(at + 8 * i, values[i] as number, true);
    at += 8 * values.length;
  };
  const putPageF64s = (values: IndexedValues, from: number, to: number) => {
    for (let i = from; i < to; i++)
      view.setFloat64(pageAt + 8 * (i - from), valueAt(values, i), true);
    pageAt += 8 * (to - from);
  };
  summary.columns.forEach((column, i) => {
    const name = encodedNames[i] as Uint8Array;
    view.setUint32(at, name.length, true);
    view.setUint8(at + 4, column.kind === "numeric" ? KIND_NUMERIC : KIND_TEXT);
    out.set(name, at + 8);
    at += 8 + pad8(name.length);
    putF64(column.missing);
    if (column.kind === "numeric") {
      const n = column.sorted.length;
      const kept = column.counts;
      for (const v of [n, column.mean, column.m2, column.m3, column.distinct]) putF64(v);
      putF64(kept?.values.length ?? 0);
      const prefix = n > 0 ? wassersteinPrefix(column) : undefined;
      putF64(prefix?.std ?? 0);
      putF64(n > 0 ? valueAt(column.sorted, n - 1) : 0);
      if (kept) {
        putF64s(kept.values);
        putF64s(kept.counts);
      }
      const pages = pageCount(n);
      const crcAt = at + 8 * pages;
      for (let j = 0; j < pages; j++) {
        putF64(valueAt(column.sorted, j * PAGE_VALUES));
        const start = pageAt;
        const { values, blocks } = pageShape(n, j);
        const firstBlock = j * PAGE_BLOCKS;
        putPageF64s(column.sorted, j * PAGE_VALUES, j * PAGE_VALUES + values);
        putPageF64s((prefix as ReferencePrefix).areaHi, firstBlock, firstBlock + blocks);
        putPageF64s((prefix as ReferencePrefix).areaLo, firstBlock, firstBlock + blocks);
        view.setUint32(crcAt + 4 * j, crc32(out.subarray(start, pageAt)), true);
      }
      at = crcAt + pad8(4 * pages);
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
  view.setFloat64(24, directoryBytes, true);
  view.setUint32(32, crc32(out.subarray(HEADER_BYTES, HEADER_BYTES + directoryBytes)), true);
  view.setUint32(36, PAGE_VALUES, true);
  view.setFloat64(40, pageBytes, true);
  return out;
}

function bad(what: string): InputError {
  return new InputError(`reference summary: ${what}`);
}

interface Header {
  columnCount: number;
  rows: number;
  directoryBytes: number;
  directoryCrc: number;
  pageBytes: number;
}

/** The header's fields, checked against the summary's whole length. */
function readHeader(bytes: Uint8Array, totalBytes: number): Header {
  if (totalBytes < HEADER_BYTES) {
    throw bad(`expected at least ${HEADER_BYTES} bytes, got ${totalBytes}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw bad(`not a reference summary (no "${MAGIC}" header)`);
  }
  const version = view.getUint32(8, true);
  if (version !== REFERENCE_FORMAT_VERSION) {
    throw bad(
      `format version ${version}, expected ${REFERENCE_FORMAT_VERSION}${version < REFERENCE_FORMAT_VERSION ? " (written by an older genre-classifier: train the model again)" : ""}`,
    );
  }
  const columnCount = view.getUint32(12, true);
  const rows = view.getFloat64(16, true);
  const directoryBytes = view.getFloat64(24, true);
  const pageValues = view.getUint32(36, true);
  const pageBytes = view.getFloat64(40, true);
  if (!(Number.isInteger(rows) && rows >= 1 && rows <= MAX_ROWS)) {
    throw bad(`expected a row count between 1 and 2^53, got ${rows}`);
  }
  if (pageValues !== PAGE_VALUES) {
    throw bad(`pages of ${pageValues} values, expected ${PAGE_VALUES}`);
  }
  const sizes = [directoryBytes, pageBytes];
  if (!sizes.every((s) => Number.isInteger(s) && s >= 0 && s % 8 === 0)) {
    throw bad(
      `directory and pages lengths ${directoryBytes} and ${pageBytes} are not whole 8-byte units`,
    );
  }
  if (HEADER_BYTES + directoryBytes + pageBytes !== totalBytes) {
    throw bad(
      `the header says ${directoryBytes} directory and ${pageBytes} page bytes but ${totalBytes - HEADER_BYTES} follow it (truncated or padded?)`,
    );
  }
  for (let i = 48; i < HEADER_BYTES; i++) {
    if (bytes[i] !== 0) throw bad(`reserved header byte ${i} is not zero`);
  }
  if (columnCount < 1 || columnCount > directoryBytes / 16) {
    throw bad(`column count ${columnCount} does not fit in ${directoryBytes} directory bytes`);
  }
  return { columnCount, rows, directoryBytes, directoryCrc: view.getUint32(32, true), pageBytes };
}

function checkCrc(bytes: Uint8Array, expected: number, what: string): void {
  const actual = crc32(bytes);
  if (actual !== expected) {
    throw bad(
      `${what}: checksum mismatch (CRC-32 ${hex(actual)}, expected ${hex(expected)}): the file is damaged`,
    );
  }
}

/** A numeric column as the directory describes it; its values are in its pages. */
interface NumericLayout {
  kind: "numeric";
  name: string;
  missing: number;
  n: number;
  mean: number;
  m2: number;
  m3: number;
  distinct: number;
  std: number;
  counts?: { values: Float64Array; counts: Float64Array };
  /** First value of each page, and the largest value. */
  firsts: Float64Array;
  max: number;
  crcs: Uint32Array;
  /** Where its first page starts, from the start of the summary. */
  pagesAt: number;
}

interface Directory {
  rows: number;
  columns: (NumericLayout | TextReference)[];
}

/** Reads and checks the header and the directory (everything but the pages). */
function readDirectory(header: Header, directory: Uint8Array): Directory {
  checkCrc(directory, header.directoryCrc, "directory");
  const view = new DataView(directory.buffer, directory.byteOffset, directory.byteLength);
  const reader = new BodyReader(directory, view, 0);
  const columns: (NumericLayout | TextReference)[] = [];
  const names = new Set<string>();
  let pagesAt = HEADER_BYTES + header.directoryBytes;
  for (let c = 0; c < header.columnCount; c++) {
    const column = readColumn(reader, header.rows, c, pagesAt);
    if (names.has(column.name)) throw bad(`column "${column.name}" appears twice`);
    names.add(column.name);
    if (column.kind === "numeric") pagesAt += pagesBytes(column.n);
    columns.push(column);
  }
  if (reader.at !== directory.length) {
    throw bad(`${directory.length - reader.at} bytes left over after the last column`);
  }
  if (pagesAt !== HEADER_BYTES + header.directoryBytes + header.pageBytes) {
    throw bad(
      `the columns' pages take ${pagesAt - HEADER_BYTES - header.directoryBytes} bytes, the header says ${header.pageBytes}`,
    );
  }
  return { rows: header.rows, columns };
}

/** Reads bytes written by serializeReferenceSummary, checking every part, the values included. */
export function parseReferenceSummary(bytes: Uint8Array): ReferenceSummary {
  if (!(bytes instanceof Uint8Array)) throw bad("expected bytes (a Uint8Array)");
  const header = readHeader(bytes, bytes.length);
  const directory = readDirectory(
    header,
    bytes.subarray(HEADER_BYTES, HEADER_BYTES + header.directoryBytes),
  );
  return {
    rows: directory.rows,
    columns: directory.columns.map((layout) => {
      if (layout.kind === "text") return layout;
      const { n } = layout;
      const sorted = new Float64Array(n);
      const areaHi = new Float64Array(areaBlocks(n));
      const areaLo = new Float64Array(areaBlocks(n));
      let at = layout.pagesAt;
      for (let j = 0; j < layout.firsts.length; j++) {
        const length = pageBytesOf(n, j);
        const page = readPage(layout, j, bytes.subarray(at, at + length));
        sorted.set(page.values, j * PAGE_VALUES);
        areaHi.set(page.areaHi, j * PAGE_BLOCKS);
        areaLo.set(page.areaLo, j * PAGE_BLOCKS);
        at += length;
      }
      const what = `column "${layout.name}"`;
      checkSortedValues(sorted, layout.distinct, layout.counts, what);
      const column = numericColumn(layout, sorted);
      if (n > 0) {
        checkAreas(areaHi, areaLo, what);
        column.prefix = { sorted, areaHi, areaLo, std: layout.std };
      }
      return column;
    }),
  };
}

function numericColumn(layout: NumericLayout, sorted: SortedValues): NumericReference {
  const column: NumericReference = {
    kind: "numeric",
    name: layout.name,
    missing: layout.missing,
    sorted,
    mean: layout.mean,
    m2: layout.m2,
    m3: layout.m3,
    distinct: layout.distinct,
  };
  if (layout.counts) column.counts = layout.counts;
  return column;
}

function pageBytesOf(n: number, j: number): number {
  const { values, blocks } = pageShape(n, j);
  return 8 * values + 16 * blocks;
}

interface Page {
  values: Float64Array;
  areaHi: Float64Array;
  areaLo: Float64Array;
  /** An opened summary's page whose bytes went to another page. */
  evicted?: boolean;
}

/**
 * Page j of a column from its bytes: its checksum, values finite and ascending from the
 * directory's first value up to the next page's (or the largest value), areas finite and not
 * decreasing, the column's first area 0.
 */
function readPage(layout: NumericLayout, j: number, bytes: Uint8Array): Page {
  const what = `column "${layout.name}" page ${j + 1}`;
  checkCrc(bytes, layout.crcs[j] as number, what);
  const { values: count, blocks } = pageShape(layout.n, j);
  const read = (from: number, length: number) => {
    const offset = bytes.byteOffset + from;
    if (littleEndian && offset % 8 === 0) return new Float64Array(bytes.buffer, offset, length);
    const out = new Float64Array(length);
    const view = new DataView(bytes.buffer, offset, 8 * length);
    for (let i = 0; i < length; i++) out[i] = view.getFloat64(8 * i, true);
    return out;
  };
  const values = read(0, count);
  const areaHi = read(8 * count, blocks);
  const areaLo = read(8 * (count + blocks), blocks);
  const first = layout.firsts[j] as number;
  const next = j + 1 < layout.firsts.length ? (layout.firsts[j + 1] as number) : layout.max;
  if (values[0] !== first) {
    throw bad(`${what}: starts at ${values[0]}, the directory says ${first}`);
  }
  let previous = first;
  for (let i = 1; i < count; i++) {
    const v = values[i] as number;
    if (!(v >= previous)) {
      throw bad(`${what}: value ${i + 1} (${v}) is not finite or not in ascending order`);
    }
    previous = v;
  }
  if (j + 1 < layout.firsts.length && !(previous <= next)) {
    throw bad(`${what}: ends at ${previous}, past the next page's first value ${next}`);
  }
  if (j + 1 === layout.firsts.length && previous !== next) {
    throw bad(`${what}: ends at ${previous}, but the column's largest value is ${next}`);
  }
  if (j === 0 && (areaHi[0] !== 0 || areaLo[0] !== 0)) {
    throw bad(`${what}: the first Wasserstein area is not 0`);
  }
  for (let b = 0; b < blocks; b++) {
    const hi = areaHi[b] as number;
    if (
      !(
        Number.isFinite(hi) &&
        Number.isFinite(areaLo[b]) &&
        (b === 0 || hi >= (areaHi[b - 1] as number))
      )
    ) {
      throw bad(`${what}: Wasserstein area ${b + 1} is not finite or decreases`);
    }
  }
  return { values, areaHi, areaLo };
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

  u32s(n: number, what: string): Uint32Array {
    this.need(4 * n, what);
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.view.getUint32(this.at + 4 * i, true);
    this.at += 4 * n;
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

function readColumn(
  reader: BodyReader,
  rows: number,
  index: number,
  pagesAt: number,
): NumericLayout | TextReference {
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
  if (kind === KIND_NUMERIC) return readNumeric(reader, rows, name, missing, pagesAt);
  if (kind === KIND_TEXT) return readText(reader, rows, name, missing);
  throw bad(`${what}: unknown kind ${kind}`);
}

/**
 * A numeric column's directory entry, checked as far as it goes without its values: counts
 * add up, kept values ascend from the first page's first value to the largest, page first
 * values ascend, moments are possible for that range, the std is the root of m2 / n.
 */
function readNumeric(
  reader: BodyReader,
  rows: number,
  name: string,
  missing: number,
  pagesAt: number,
): NumericLayout {
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
  const max = reader.f64(`${what} largest value`);
  const counts =
    kept > 0 ? { values: reader.f64s(kept, what), counts: reader.f64s(kept, what) } : undefined;
  const pages = pageCount(n);
  const firsts = reader.f64s(pages, `${what} page index`);
  const crcs = reader.u32s(pages, `${what} page checksums`);
  reader.padding(pad8(4 * pages) - 4 * pages, `${what} page checksums`);
  const layout: NumericLayout = {
    kind: "numeric",
    name,
    missing,
    n,
    mean,
    m2,
    m3,
    distinct,
    std,
    firsts,
    max,
    crcs,
    pagesAt,
  };
  if (counts) layout.counts = counts;
  if (n === 0) {
    if (std !== 0 || max !== 0) throw bad(`${what}: a std or largest value without values`);
    return layout;
  }
  const notInOrder = (i: number) =>
    bad(
      `${what}: page ${i + 1}'s first value (${firsts[i]}) is not finite or not in ascending order`,
    );
  if (!Number.isFinite(firsts[0])) throw notInOrder(0);
  for (let j = 1; j < pages; j++)
    if (!((firsts[j] as number) >= (firsts[j - 1] as number))) throw notInOrder(j);
  if (!(Number.isFinite(max) && max >= (firsts[pages - 1] as number))) {
    throw bad(`${what}: largest value ${max} is not finite or below the last page's first value`);
  }
  if (counts) checkKeptCounts(counts, n, firsts[0] as number, max, what);
  checkMoments(firsts[0] as number, max, n, mean, m2, m3, what);
  checkStd(std, m2 / n, what);
  return layout;
}

function checkKeptCounts(
  kept: { values: Float64Array; counts: Float64Array },
  n: number,
  min: number,
  max: number,
  what: string,
): void {
  const k = kept.values.length;
  let total = 0;
  for (let i = 0; i < k; i++) {
    const value = kept.values[i] as number;
    const count = kept.counts[i] as number;
    if (i > 0 && !(value > (kept.values[i - 1] as number))) {
      throw bad(`${what}: kept value ${i + 1} (${value}) is not above the one before`);
    }
    if (!(Number.isInteger(count) && count >= 1)) {
      throw bad(`${what}: kept count of ${value} is ${count}`);
    }
    total += count;
  }
  if (kept.values[0] !== min || kept.values[k - 1] !== max) {
    throw bad(
      `${what}: kept values run from ${kept.values[0]} to ${kept.values[k - 1]}, the values from ${min} to ${max}`,
    );
  }
  if (total !== n) throw bad(`${what}: kept counts add up to ${total}, expected ${n} values`);
}

/** Distinct count and kept runs as stored, in one tight pass (the pages checked the order). */
function checkSortedValues(
  sorted: Float64Array,
  distinct: number,
  kept: { values: Float64Array; counts: Float64Array } | undefined,
  what: string,
): void {
  const n = sorted.length;
  if (n === 0) return;
  let seen = 1;
  for (let i = 1; i < n; i++) seen += sorted[i] !== sorted[i - 1] ? 1 : 0; // a select: ties come at random
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
  low: number,
  high: number,
  n: number,
  mean: number,
  m2: number,
  m3: number,
  what: string,
): void {
  if (!(mean >= low && mean <= high)) throw bad(`${what}: mean ${mean} outside its values`);
  const spread = (high - low) ** 2 * n;
  if (!(m2 >= 0 && m2 <= spread * 1.000001)) throw bad(`${what}: m2 ${m2} impossible`);
  if (!(Number.isFinite(m3) && Math.abs(m3) <= spread * (high - low) * 1.000001)) {
    throw bad(`${what}: m3 ${m3} impossible`);
  }
}

function checkStd(std: number, variance: number, what: string): void {
  const expected = Math.sqrt(variance);
  const close =
    std === expected || Math.abs(std - expected) <= 1e-9 * Math.max(std, expected) + 1e-300;
  if (!(std >= 0) || !(close || !Number.isFinite(variance))) {
    throw bad(`${what}: std ${std} is not the values' (${expected})`);
  }
}

/**
 * Wasserstein's areas never decrease across the whole column (each page checked its own).
 * Recomputing them would cost a pass over the values, which the checksums guard against damage.
 */
function checkAreas(areaHi: Float64Array, areaLo: Float64Array, what: string): void {
  for (let b = 1; b < areaHi.length; b++) {
    if (!((areaHi[b] as number) >= (areaHi[b - 1] as number)) || !Number.isFinite(areaLo[b])) {
      throw bad(`${what}: Wasserstein area ${b + 1} is not finite or decreases`);
    }
  }
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
// An opened summary: the directory in memory, the pages read from the file when needed.

/** A reference summary read from a file page by page; close it when done. */
export interface OpenedReferenceSummary extends ReferenceSummary {
  /**
   * Pages read from the file so far, and the bytes read (with the header and directory; the
   * whole file for one read in one go).
   */
  readonly reads: { pages: number; bytes: number };
  close(): void;
}

/**
 * Opens a summary file written by serializeReferenceSummary without reading its values: the
 * header and directory are read and checked now (a few bytes per 512 values), each page when a
 * drift test first looks into it (its checksum, order and bounds; a damaged page is an
 * InputError then). Statistics kept for the whole column (distinct values, moments, areas) are
 * checked to be possible, not recomputed: parseReferenceSummary checks everything. A file up to
 * `readWholeUpTo` bytes (16 MiB) is read in one go, its pages still checked as they are used;
 * a larger one page by page, keeping at most `cachedPages` (512, about 2.1 MiB) in memory.
 */
export function openReferenceSummary(
  path: string,
  options: { cachedPages?: number; readWholeUpTo?: number } = {},
): OpenedReferenceSummary {
  const cachedPages = options.cachedPages ?? CACHED_PAGES;
  const readWholeUpTo = options.readWholeUpTo ?? READ_WHOLE_UP_TO;
  if (!(Number.isInteger(cachedPages) && cachedPages >= 1)) {
    throw new InputError(
      `reference summary option cachedPages: expected a whole number ≥ 1, got ${cachedPages}`,
    );
  }
  if (!(readWholeUpTo >= 0)) {
    throw new InputError(
      `reference summary option readWholeUpTo: expected a number of bytes ≥ 0, got ${readWholeUpTo}`,
    );
  }
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw new InputError(`reference summary ${path}: ${(error as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw bad("expected a file, got a folder or device");
    const size = stat.size;
    // A small summary is read in one go: a page read each would cost more than the bytes.
    const whole = size <= readWholeUpTo ? new Uint8Array(size) : undefined;
    if (whole) readFully(fd, whole, 0);
    const head = whole ?? new Uint8Array(HEADER_BYTES);
    if (!whole) readSync(fd, head, 0, Math.min(HEADER_BYTES, size), 0);
    const header = readHeader(head, size);
    const directoryEnd = HEADER_BYTES + header.directoryBytes;
    let directoryBytes: Uint8Array;
    if (whole) directoryBytes = whole.subarray(HEADER_BYTES, directoryEnd);
    else {
      directoryBytes = new Uint8Array(header.directoryBytes);
      readFully(fd, directoryBytes, HEADER_BYTES);
    }
    const directory = readDirectory(header, directoryBytes);
    const reads = { pages: 0, bytes: whole ? size : directoryEnd };
    const cache = new PageCache(cachedPages);
    /** The pages of a summary read whole, once checked. */
    const checked = new Map<number, Page>();
    const cached = (at: number) => (whole ? checked.get(at) : cache.get(at));
    let open = true;
    const readPageAt = (layout: NumericLayout, j: number, at: number): Page => {
      if (!open) throw new Error(`reference summary ${path} was closed`);
      const length = pageBytesOf(layout.n, j);
      try {
        if (whole) {
          const page = readPage(layout, j, whole.subarray(at, at + length));
          checked.set(at, page);
          return page;
        }
        const { slot, bytes } = cache.take();
        const pageBytes = bytes.subarray(0, length);
        readFully(fd, pageBytes, at);
        reads.pages++;
        reads.bytes += length;
        const page = readPage(layout, j, pageBytes);
        cache.set(at, slot, page);
        return page;
      } catch (error) {
        throw naming(path, error);
      }
    };
    const columns = directory.columns.map((layout): ColumnReference => {
      if (layout.kind === "text") return layout;
      if (layout.n === 0) return numericColumn(layout, new Float64Array(0));
      const paged = new PagedColumn(layout, cached, readPageAt);
      const column = numericColumn(layout, paged);
      column.prefix = {
        sorted: paged,
        areaHi: paged.areas("hi"),
        areaLo: paged.areas("lo"),
        std: layout.std,
      };
      return column;
    });
    return {
      rows: directory.rows,
      columns,
      reads,
      close() {
        if (!open) return;
        open = false;
        closeSync(fd);
      },
    };
  } catch (error) {
    closeSync(fd);
    throw naming(path, error);
  }
}

/** A summary's InputError with the file's path in its message. */
function naming(path: string, error: unknown): unknown {
  if (!(error instanceof InputError)) return error;
  return new InputError(error.message.replace(/^reference summary/, `reference summary ${path}`));
}

function readFully(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n === 0) throw bad(`the file ended at ${position + done} bytes (changed while open?)`);
    done += n;
  }
}

/**
 * The pages of an opened summary read last, at most `capacity`, in one buffer allocated on first
 * use: a page read past that takes the slot of the one read longest ago (a day's run reads a
 * column's pages, then the next column's, so the oldest is the one done with).
 */
class PageCache {
  private readonly slots = new Map<number, number>();
  private readonly keys: (number | undefined)[] = [];
  private readonly pages: Page[] = [];
  private buffer: Uint8Array | undefined;
  private next = 0;

  constructor(private readonly capacity: number) {}

  get(at: number): Page | undefined {
    const slot = this.slots.get(at);
    return slot === undefined ? undefined : this.pages[slot];
  }

  /** The slot for a page about to be read, and its bytes. */
  take(): { slot: number; bytes: Uint8Array } {
    this.buffer ??= new Uint8Array(this.capacity * FULL_PAGE_BYTES);
    const slot = this.next;
    this.next = (slot + 1) % this.capacity;
    const old = this.keys[slot];
    if (old !== undefined) {
      this.slots.delete(old);
      (this.pages[slot] as Page).evicted = true;
      this.keys[slot] = undefined;
    }
    const from = slot * FULL_PAGE_BYTES;
    return { slot, bytes: this.buffer.subarray(from, from + FULL_PAGE_BYTES) };
  }

  set(at: number, slot: number, page: Page): void {
    this.keys[slot] = at;
    this.pages[slot] = page;
    this.slots.set(at, slot);
  }
}

/** A numeric column's sorted values in pages; searches go through the first values. */
class PagedColumn implements PagedSorted {
  readonly length: number;
  private lastIndex = -1;
  private lastPage: Page | undefined;

  constructor(
    private readonly layout: NumericLayout,
    private readonly cached: (at: number) => Page | undefined,
    private readonly load: (layout: NumericLayout, j: number, at: number) => Page,
  ) {
    this.length = layout.n;
  }

  page(j: number): Page {
    if (j === this.lastIndex && !this.lastPage?.evicted) return this.lastPage as Page;
    const at = this.layout.pagesAt + j * FULL_PAGE_BYTES;
    const page = this.cached(at) ?? this.load(this.layout, j, at);
    this.lastIndex = j;
    this.lastPage = page;
    return page;
  }

  at(i: number): number {
    if (!(i >= 0 && i < this.length))
      throw new RangeError(`position ${i} outside 0..${this.length - 1}`);
    const j = Math.floor(i / PAGE_VALUES);
    return this.page(j).values[i - j * PAGE_VALUES] as number;
  }

  /** The last page whose first value is below x (or at most x), -1 when none. */
  private lastPageStarting(x: number, orEqual: boolean): number {
    const firsts = this.layout.firsts;
    const count = orEqual ? countAtMost(firsts, x) : countBelow(firsts, x);
    return count - 1;
  }

  countBelow(x: number): number {
    if (x > this.layout.max) return this.length;
    const j = this.lastPageStarting(x, false);
    if (j < 0) return 0;
    return j * PAGE_VALUES + countBelow(this.page(j).values, x);
  }

  countAtMost(x: number): number {
    if (x >= this.layout.max) return this.length;
    const j = this.lastPageStarting(x, true);
    if (j < 0) return 0;
    return j * PAGE_VALUES + countAtMost(this.page(j).values, x);
  }

  /** Wasserstein's block areas (high or low parts), read from the pages they start in. */
  areas(part: "hi" | "lo"): { length: number; at(b: number): number } {
    const length = areaBlocks(this.length);
    return {
      length,
      at: (b: number) => {
        if (!(b >= 0 && b < length)) throw new RangeError(`block ${b} outside 0..${length - 1}`);
        const j = Math.floor(b / PAGE_BLOCKS);
        const page = this.page(j);
        return (part === "hi" ? page.areaHi : page.areaLo)[b - j * PAGE_BLOCKS] as number;
      },
    };
  }
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
