// The reference summary: what it keeps, that drift against it (also after a round trip through
// bytes, and opened from a file page by page) is the drift against the whole reference table,
// and that hostile bytes are refused with an InputError rather than crashing or allocating what
// they claim.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import zlib from "node:zlib";
import { InputError } from "../../src/common/errors.ts";
import { allValues, type DriftTable } from "../../src/monitoring/columns.ts";
import {
  computeDrift,
  type DriftOptions,
  driftAgainstSummary,
} from "../../src/monitoring/drift.ts";
import { KEEP_COUNTS_UP_TO, summarizeReference } from "../../src/monitoring/reference.ts";
import {
  openReferenceSummary,
  PAGE_VALUES,
  parseReferenceSummary,
  REFERENCE_FORMAT_VERSION,
  serializeReferenceSummary,
} from "../../src/monitoring/reference-file.ts";
import { wassersteinReference } from "../../src/monitoring/stattests.ts";

/** A deterministic pseudo-random stream (xorshift32) in [0, 1). */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

function sample(rows: number, seed: number, shift = 0): DriftTable {
  const next = random(seed);
  const genres = ["rock", "pop", "jazz", "électro", "hip hop", "😀 emoji", "folk"];
  return {
    tempo: Float64Array.from({ length: rows }, (_, i) =>
      i % 97 === 0 ? Number.NaN : 60 + 120 * next() + shift,
    ),
    loudness: Float64Array.from({ length: rows }, (_, i) =>
      i === 5 ? Number.POSITIVE_INFINITY : -30 * next() ** 2,
    ),
    mode: Float64Array.from({ length: rows }, () => (next() < 0.6 + shift / 100 ? 1 : 0)),
    key: Float64Array.from({ length: rows }, () => Math.floor(next() * 12)),
    genre: Array.from({ length: rows }, (_, i) =>
      i % 13 === 0 ? null : (genres[Math.floor(next() * genres.length)] as string),
    ),
    nothing: new Float64Array(rows).fill(Number.NaN),
    blank: Array.from({ length: rows }, () => ""),
  };
}

const folder = mkdtempSync(join(tmpdir(), "reference-test-"));
after(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;

function writeSummary(bytes: Uint8Array): string {
  const path = join(folder, `summary-${files++}.bin`);
  writeFileSync(path, bytes);
  return path;
}

const pad8 = (n: number) => (n + 7) & ~7;

/**
 * Where a well-formed summary keeps its checksums: [checksum offset, from, to] for the
 * directory and for each page (format version 2, reference.ts).
 */
function checksums(bytes: Uint8Array): [number, number, number][] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const directory = view.getFloat64(24, true);
  const out: [number, number, number][] = [[32, 64, 64 + directory]];
  let at = 64;
  let page = 64 + directory;
  for (let c = 0; c < view.getUint32(12, true); c++) {
    const kind = view.getUint8(at + 4);
    at += 8 + pad8(view.getUint32(at, true)) + 8;
    if (kind === 1) {
      const n = view.getFloat64(at, true);
      const kept = view.getFloat64(at + 40, true);
      const pages = Math.ceil(n / PAGE_VALUES);
      at += 8 * 8 + 16 * kept + 8 * pages;
      for (let j = 0; j < pages; j++) {
        const values = Math.min(PAGE_VALUES, n - j * PAGE_VALUES);
        const size = 8 * values + 16 * Math.ceil(values / 64);
        out.push([at + 4 * j, page, page + size]);
        page += size;
      }
      at += pad8(4 * pages);
    } else {
      const distinct = view.getFloat64(at, true);
      let text = 0;
      for (let k = 0; k < distinct; k++)
        text += view.getUint32(at + 8 + 8 * distinct + 4 * k, true);
      at += 8 + 8 * distinct + pad8(4 * distinct) + pad8(text);
    }
  }
  return out;
}

/**
 * Damaged bytes made to pass the checksums again, as laid out in `layout` (a well-formed
 * summary; default the bytes themselves): the header's lengths fit what is there and every
 * checksum that lies within it is recomputed.
 */
function reseal(bytes: Uint8Array, layout: Uint8Array = bytes): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const directory = new DataView(layout.buffer, layout.byteOffset).getFloat64(24, true);
  view.setFloat64(24, directory, true);
  view.setFloat64(40, Math.max(bytes.length - 64 - directory, 0), true);
  // the pages' checksums first: the directory holds them
  for (const [crcAt, from, to] of checksums(layout).reverse()) {
    if (to <= bytes.length) view.setUint32(crcAt, zlib.crc32(bytes.subarray(from, to)) >>> 0, true);
  }
  return bytes;
}

function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => parseReferenceSummary(bytes),
    (e: unknown) => e instanceof InputError && pattern.test(e.message),
  );
}

/**
 * One numeric column "x": its directory starts at 64, the name at 72, the scalars at 80..152,
 * then the kept values and counts, the page index and checksum; its one page follows.
 */
function oneColumn(values: number[]): Uint8Array {
  return serializeReferenceSummary(summarizeReference({ x: Float64Array.from(values) }));
}

const SCALARS = {
  missing: 80,
  finite: 88,
  mean: 96,
  m2: 104,
  m3: 112,
  distinct: 120,
  kept: 128,
  std: 136,
  max: 144,
};
/** Where [1, 2, 2, 5]'s kept values, kept counts and page start. */
const KEPT = 152;
const KEPT_COUNTS = 176;
const VALUES = 216;

describe("reference summary", () => {
  it("keeps sorted finite values, moments, counts of few values and text counts", () => {
    const summary = summarizeReference({
      a: new Float64Array([3, Number.NaN, 1, 2, Number.NEGATIVE_INFINITY, 2]),
      b: ["x", null, "y", "x", "", undefined],
    });
    assert.equal(summary.rows, 6);
    const [a, b] = summary.columns;
    assert.ok(a?.kind === "numeric" && b?.kind === "text");
    assert.deepEqual(Array.from(allValues(a.sorted)), [1, 2, 2, 3]);
    assert.equal(a.missing, 2);
    assert.equal(a.mean, 2);
    assert.equal(a.m2, 2);
    assert.equal(a.m3, 0);
    assert.equal(a.distinct, 3);
    assert.deepEqual(a.counts && [Array.from(a.counts.values), Array.from(a.counts.counts)], [
      [1, 2, 3],
      [1, 2, 1],
    ]);
    assert.deepEqual([b.values, b.counts, b.missing], [["x", "y"], [2, 1], 3]);
    // Wasserstein's block areas are kept as stattests.ts makes them
    const long = summarizeReference({ d: Float64Array.from({ length: 1000 }, (_, i) => i ** 1.5) });
    const parsed = parseReferenceSummary(serializeReferenceSummary(long)).columns[0];
    assert.ok(parsed?.kind === "numeric" && parsed.prefix);
    const fresh = wassersteinReference(allValues(parsed.sorted));
    assert.deepEqual([parsed.prefix.areaHi, parsed.prefix.areaLo], [fresh.areaHi, fresh.areaLo]);
    assert.equal(parsed.prefix.std, fresh.std);
    const many = summarizeReference({ c: Float64Array.from({ length: 5000 }, (_, i) => i % 1001) });
    assert.equal(many.columns[0]?.kind === "numeric" && many.columns[0].counts, undefined);
    assert.equal(KEEP_COUNTS_UP_TO, 1000);
  });

  it("round-trips through bytes, and drift against it equals drift against the table", () => {
    for (const [referenceRows, currentRows] of [
      [3000, 120],
      [600, 40],
    ] as const) {
      const reference = sample(referenceRows, 7);
      const current = sample(currentRows, 11, 8);
      const summary = summarizeReference(reference);
      const bytes = serializeReferenceSummary(summary);
      const parsed = parseReferenceSummary(bytes);
      assert.deepEqual(parsed, summary);
      const direct = JSON.stringify(computeDrift(reference, current));
      assert.equal(JSON.stringify(driftAgainstSummary(parsed, current)), direct);
      // at any byte offset (a Buffer slice of a larger pool, say)
      const shifted = new Uint8Array(bytes.length + 3);
      shifted.set(bytes, 3);
      const unaligned = parseReferenceSummary(shifted.subarray(3));
      assert.equal(JSON.stringify(driftAgainstSummary(unaligned, current)), direct);
      const result = JSON.parse(direct) as { columns: { column: string; test: string | null }[] };
      const tests = Object.fromEntries(result.columns.map((c) => [c.column, c.test]));
      assert.deepEqual(
        tests,
        referenceRows > 1000
          ? {
              tempo: "wasserstein",
              loudness: "wasserstein",
              mode: "jensen-shannon",
              key: "wasserstein",
              genre: "jensen-shannon",
              nothing: null,
              blank: null,
            }
          : {
              tempo: "ks",
              loudness: "ks",
              mode: "z",
              key: "ks",
              genre: "chi-square",
              nothing: null,
              blank: null,
            },
      );
    }
  });

  it("writes the format version and a CRC-32 of the directory and of each page", () => {
    const bytes = oneColumn([1, 2, 3]);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), "GCREFSUM");
    const view = new DataView(bytes.buffer);
    assert.equal(view.getUint32(8, true), REFERENCE_FORMAT_VERSION);
    assert.equal(view.getUint32(32, true), zlib.crc32(bytes.subarray(64, VALUES)) >>> 0);
    assert.equal(view.getUint32(VALUES - 8, true), zlib.crc32(bytes.subarray(VALUES)) >>> 0);
    // the directory: three kept values and counts, one page's first value and checksum; the
    // page: three values and one block of Wasserstein areas
    assert.equal(bytes.length, VALUES + 3 * 8 + 2 * 8);
    // a column in pages of 512 values, each with the areas of the 8 blocks of 64 starting in it
    const pages = serializeReferenceSummary(
      summarizeReference({ x: Float64Array.from({ length: 1500 }, (_, i) => i) }),
    );
    const layout = checksums(pages);
    assert.deepEqual(
      layout.slice(1).map(([, from, to]) => to - from),
      [512 * 8 + 16 * 8, 512 * 8 + 16 * 8, 476 * 8 + 16 * 8],
    );
    assert.equal(layout.at(-1)?.[2], pages.length);
  });
});

describe("hostile bytes", () => {
  const good = () => oneColumn([1, 2, 2, 5]);

  it("refuses short, foreign, newer, truncated, padded and damaged files", () => {
    refused(new Uint8Array(10), /at least 64 bytes/);
    refused(new Uint8Array(200), /not a reference summary/);
    const newer = good();
    new DataView(newer.buffer).setUint32(8, 3, true);
    refused(newer, /format version 3, expected 2$/);
    const older = good();
    new DataView(older.buffer).setUint32(8, 1, true);
    refused(older, /format version 1, expected 2 \(written by an older genre-classifier/);
    refused(good().subarray(0, 100), /header says \d+ directory and \d+ page bytes but \d+ follow/);
    const padded = new Uint8Array(good().length + 8);
    padded.set(good());
    refused(padded, /page bytes but/);
    const damaged = good();
    damaged[VALUES + 3] = (damaged[VALUES + 3] as number) ^ 1;
    refused(damaged, /checksum mismatch/);
    refused("not bytes" as never, /expected bytes/);
  });

  it("refuses a well-sealed file whose contents are wrong", () => {
    const cases: [string, (view: DataView, bytes: Uint8Array) => void, RegExp][] = [
      [
        "unsorted",
        (v) => v.setFloat64(VALUES + 16, 1, true),
        /page 1: value 3 \(1\) is not finite or not in ascending order/,
      ],
      ["NaN", (v) => v.setFloat64(VALUES + 8, Number.NaN, true), /not finite/],
      [
        "inf",
        (v) => v.setFloat64(VALUES + 24, Number.POSITIVE_INFINITY, true),
        /ends at Infinity, but the column's largest value is 5/,
      ],
      ["first", (v) => v.setFloat64(VALUES, 0, true), /starts at 0, the directory says 1/],
      ["largest", (v) => v.setFloat64(SCALARS.max, 4, true), /kept values run from 1 to 5/],
      ["page index", (v) => v.setFloat64(VALUES - 16, Number.NaN, true), /page 1's first value/],
      ["rows", (v) => v.setFloat64(16, 0, true), /row count between 1/],
      ["fractional rows", (v) => v.setFloat64(16, 4.5, true), /row count/],
      ["columns 0", (v) => v.setUint32(12, 0, true), /column count 0/],
      ["columns huge", (v) => v.setUint32(12, 0xffffffff, true), /column count/],
      ["name length", (v) => v.setUint32(64, 1e9, true), /name of 1000000000 bytes/],
      ["name past end", (v) => v.setUint32(64, 4000, true), /past the end/],
      ["bad UTF-8", (_, b) => b.set([0xc3, 0x28], 72), /name: not valid UTF-8/],
      ["kind", (v) => v.setUint8(68, 9), /unknown kind 9/],
      ["reserved", (v) => v.setUint8(69, 1), /padding byte/],
      ["header reserved", (v) => v.setUint8(50, 1), /reserved header byte 50/],
      ["page size", (v) => v.setUint32(36, 256, true), /pages of 256 values, expected 512/],
      ["missing", (v) => v.setFloat64(SCALARS.missing, 1, true), /do not make the table's 4 rows/],
      [
        "negative",
        (v) => v.setFloat64(SCALARS.missing, -1, true),
        /missing rows: expected a whole number/,
      ],
      [
        "huge claims",
        (v) => {
          v.setFloat64(16, 2 ** 40, true);
          v.setFloat64(SCALARS.finite, 2 ** 40, true);
        },
        /page index: needs 17179869184 bytes/,
      ],
      ["distinct", (v) => v.setFloat64(SCALARS.distinct, 4, true), /keeps 3 value counts for 4/],
      ["kept", (v) => v.setFloat64(SCALARS.kept, 0, true), /kept exactly when/],
      ["kept value", (v) => v.setFloat64(KEPT + 8, 3, true), /kept value 2/],
      [
        "kept count",
        (v) => {
          v.setFloat64(KEPT_COUNTS, 2, true);
          v.setFloat64(KEPT_COUNTS + 8, 1, true);
        },
        /kept count of 1 is not its number of values/,
      ],
      ["kept sum", (v) => v.setFloat64(KEPT_COUNTS, 7, true), /kept counts add up to 10/],
      ["mean", (v) => v.setFloat64(SCALARS.mean, 99, true), /mean 99 outside/],
      ["m2", (v) => v.setFloat64(SCALARS.m2, -1, true), /m2 -1 impossible/],
      ["m3", (v) => v.setFloat64(SCALARS.m3, Number.NaN, true), /m3 NaN impossible/],
      ["std", (v) => v.setFloat64(SCALARS.std, 3, true), /std 3 is not the values'/],
      ["std NaN", (v) => v.setFloat64(SCALARS.std, Number.NaN, true), /std NaN/],
      ["area", (v) => v.setFloat64(VALUES + 4 * 8, 1, true), /first Wasserstein area is not 0/],
    ];
    for (const [name, change, pattern] of cases) {
      const bytes = good();
      change(new DataView(bytes.buffer), bytes);
      assert.throws(
        () => parseReferenceSummary(reseal(bytes, good())),
        (e: unknown) => e instanceof InputError && pattern.test(e.message),
        name,
      );
    }
  });

  it("refuses duplicate columns and wrong text sections", () => {
    const twice = serializeReferenceSummary({
      rows: 1,
      columns: [
        { kind: "text", name: "a", missing: 0, values: ["x"], counts: [1] },
        { kind: "text", name: "a", missing: 0, values: ["x"], counts: [1] },
      ],
    });
    refused(twice, /column "a" appears twice/);
    const text = (values: string[], counts: number[], rows: number) =>
      serializeReferenceSummary({
        rows,
        columns: [{ kind: "text", name: "t", missing: 0, values, counts }],
      });
    refused(text(["b", "a"], [1, 1], 2), /not distinct and in code point order at 2/);
    refused(text(["a", "a"], [1, 1], 2), /not distinct/);
    refused(text(["a"], [2], 3), /add up to 2, expected 3/);
    refused(text(["a", "b"], [0, 3], 3), /a value count of 0/);
    refused(text(["a", ""], [1, 1], 2), /an empty value/);
    refused(text(["\u{1F600}", "\uFFFF"], [1, 1], 2), /code point order/);
    assert.doesNotThrow(() => parseReferenceSummary(text(["\uFFFF", "\u{1F600}"], [1, 1], 2)));
  });

  it("never fails otherwise on random damage (resealed) or truncation", () => {
    const original = serializeReferenceSummary(summarizeReference(sample(200, 3)));
    const next = random(99);
    let accepted = 0;
    for (let trial = 0; trial < 3000; trial++) {
      const bytes = original.slice();
      const changes = 1 + Math.floor(next() * 3);
      for (let k = 0; k < changes; k++) {
        bytes[64 + Math.floor(next() * (bytes.length - 64))] = Math.floor(next() * 256);
      }
      const cut = next() < 0.2 ? Math.floor(next() * bytes.length) : bytes.length;
      const candidate = reseal(bytes.slice(0, Math.max(cut, 64)), original);
      try {
        const summary = parseReferenceSummary(candidate);
        accepted++;
        // whatever got through is a usable summary
        driftAgainstSummary(summary, sample(30, 5), { charts: true });
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
      }
    }
    assert.ok(accepted < 3000);
  });
});

describe("a summary opened from a file", () => {
  /** The sample with a column of ties that run across pages and more than 1,000 values. */
  function withTies(rows: number, seed: number, shift = 0): DriftTable {
    const next = random(seed + 1);
    return {
      ...sample(rows, seed, shift),
      quantized: Float64Array.from({ length: rows }, () => Math.round(next() ** 2 * 1500 + shift)),
    };
  }

  it("gives the drift of the whole table, reading a part of the file", () => {
    const reference = withTies(20_000, 7);
    const current = withTies(150, 11, 8);
    const bytes = serializeReferenceSummary(summarizeReference(reference));
    const path = writeSummary(bytes);
    const choices: DriftOptions[] = [
      {},
      { testChoice: "p-values" },
      {
        tests: { tempo: "jensen-shannon", quantized: "z", loudness: "chi-square" },
        columnTypes: { key: "cat" },
      },
    ];
    for (const [k, options] of choices.entries()) {
      // read whole (the file is small), page by page, and page by page with a cache of two
      // pages (read again, each into the buffer of another)
      const opened = openReferenceSummary(
        path,
        [{}, { readWholeUpTo: 0 }, { readWholeUpTo: 0, cachedPages: 2 }][k],
      );
      try {
        assert.equal(
          JSON.stringify(driftAgainstSummary(opened, current, options)),
          JSON.stringify(computeDrift(reference, current, options)),
          JSON.stringify(options),
        );
      } finally {
        opened.close();
      }
    }
    // a batch of a few rows without charts reads a few pages of each column
    const opened = openReferenceSummary(path, { readWholeUpTo: 0 });
    const few = withTies(3, 12, 8);
    const pages = checksums(bytes).length - 1;
    for (const options of [{ charts: false }, { charts: false, testChoice: "p-values" as const }]) {
      const before = opened.reads.pages;
      assert.equal(
        JSON.stringify(driftAgainstSummary(opened, few, options)),
        JSON.stringify(computeDrift(reference, few, options)),
      );
      const read = opened.reads.pages - before;
      assert.ok(read > 0 && read < pages / 3, `read ${read} of ${pages} pages`);
    }
    opened.close();
  });

  it("refuses a damaged directory when opened and a damaged page when read", () => {
    const reference = withTies(3000, 7);
    const bytes = serializeReferenceSummary(summarizeReference(reference));
    const pages = checksums(bytes);
    const directoryEnd = (pages[0] as [number, number, number])[2];
    const damagedDirectory = bytes.slice();
    damagedDirectory[directoryEnd - 3] = (damagedDirectory[directoryEnd - 3] as number) ^ 4;
    const path = writeSummary(damagedDirectory);
    assert.throws(
      () => openReferenceSummary(path),
      (e: unknown) =>
        e instanceof InputError &&
        e.message.startsWith(`reference summary ${path}: directory: checksum mismatch`),
    );
    const damagedPage = bytes.slice();
    damagedPage[directoryEnd + 100] = (damagedPage[directoryEnd + 100] as number) ^ 1;
    const damagedPath = writeSummary(damagedPage);
    for (const readWholeUpTo of [0, Number.POSITIVE_INFINITY]) {
      const opened = openReferenceSummary(damagedPath, { readWholeUpTo });
      assert.throws(
        () => driftAgainstSummary(opened, withTies(100, 5)),
        (e: unknown) =>
          e instanceof InputError &&
          /^reference summary \S+summary-\d+\.bin: column "tempo" page 1: checksum mismatch/.test(
            e.message,
          ),
      );
      opened.close();
    }
    assert.throws(
      () => openReferenceSummary(folder),
      (e: unknown) => e instanceof InputError && /expected a file, got a folder/.test(e.message),
    );
    assert.throws(
      () => openReferenceSummary(join(folder, "no-such-summary.bin")),
      (e: unknown) => e instanceof InputError && /no-such-summary\.bin: ENOENT/.test(e.message),
    );
    assert.throws(
      () => openReferenceSummary(writeSummary(bytes.subarray(0, bytes.length - 8))),
      (e: unknown) => e instanceof InputError && /but \d+ follow it/.test(e.message),
    );
  });

  it("never fails otherwise on random damage (resealed) or truncation", () => {
    const original = serializeReferenceSummary(summarizeReference(withTies(1500, 3)));
    const next = random(17);
    let accepted = 0;
    const trials = 300;
    for (let trial = 0; trial < trials; trial++) {
      const bytes = original.slice();
      const changes = 1 + Math.floor(next() * 3);
      for (let k = 0; k < changes; k++) {
        bytes[64 + Math.floor(next() * (bytes.length - 64))] = Math.floor(next() * 256);
      }
      const cut = next() < 0.2 ? Math.floor(next() * bytes.length) : bytes.length;
      const path = writeSummary(reseal(bytes.slice(0, Math.max(cut, 64)), original));
      try {
        const opened = openReferenceSummary(path, trial % 2 === 0 ? {} : { readWholeUpTo: 0 });
        try {
          driftAgainstSummary(opened, withTies(30, 5), { charts: true });
          driftAgainstSummary(opened, withTies(30, 5), { testChoice: "p-values" });
          accepted++;
        } finally {
          opened.close();
        }
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
      }
      rmSync(path);
    }
    assert.ok(accepted > 0 && accepted < trials, `${accepted} of ${trials} accepted`);
  });
});
