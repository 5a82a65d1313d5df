// The reference summary: what it keeps, that drift against it (also after a round trip through
// bytes) is the drift against the whole reference table, and that hostile bytes are refused
// with an InputError rather than crashing or allocating what they claim.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import zlib from "node:zlib";
import { InputError } from "../../src/common/errors.ts";
import type { DriftTable } from "../../src/monitoring/columns.ts";
import { computeDrift, driftAgainstSummary } from "../../src/monitoring/drift.ts";
import {
  KEEP_COUNTS_UP_TO,
  parseReferenceSummary,
  REFERENCE_FORMAT_VERSION,
  serializeReferenceSummary,
  summarizeReference,
} from "../../src/monitoring/reference.ts";
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

function reseal(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setFloat64(24, bytes.length - 48, true);
  view.setUint32(32, zlib.crc32(bytes.subarray(48)) >>> 0, true);
  return bytes;
}

function refused(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => parseReferenceSummary(bytes),
    (e: unknown) => e instanceof InputError && pattern.test(e.message),
  );
}

/** One numeric column "x": its body starts at 48, the name at 56, the scalars at 64..128. */
function oneColumn(values: number[]): Uint8Array {
  return serializeReferenceSummary(summarizeReference({ x: Float64Array.from(values) }));
}

const SCALARS = {
  missing: 64,
  finite: 72,
  mean: 80,
  m2: 88,
  m3: 96,
  distinct: 104,
  kept: 112,
  std: 120,
};
const VALUES = 128;

describe("reference summary", () => {
  it("keeps sorted finite values, moments, counts of few values and text counts", () => {
    const summary = summarizeReference({
      a: new Float64Array([3, Number.NaN, 1, 2, Number.NEGATIVE_INFINITY, 2]),
      b: ["x", null, "y", "x", "", undefined],
    });
    assert.equal(summary.rows, 6);
    const [a, b] = summary.columns;
    assert.ok(a?.kind === "numeric" && b?.kind === "text");
    assert.deepEqual(Array.from(a.sorted), [1, 2, 2, 3]);
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
    const fresh = wassersteinReference(parsed.sorted);
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

  it("writes the format version and a CRC-32 of the body", () => {
    const bytes = oneColumn([1, 2, 3]);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), "GCREFSUM");
    const view = new DataView(bytes.buffer);
    assert.equal(view.getUint32(8, true), REFERENCE_FORMAT_VERSION);
    assert.equal(view.getUint32(32, true), zlib.crc32(bytes.subarray(48)) >>> 0);
    // three values, three kept values and counts, one block of Wasserstein areas
    assert.equal(bytes.length, VALUES + 3 * 8 + 2 * 3 * 8 + 2 * 8);
  });
});

describe("hostile bytes", () => {
  const good = () => oneColumn([1, 2, 2, 5]);

  it("refuses short, foreign, newer, truncated, padded and damaged files", () => {
    refused(new Uint8Array(10), /at least 48 bytes/);
    refused(new Uint8Array(200), /not a reference summary/);
    const newer = good();
    new DataView(newer.buffer).setUint32(8, 2, true);
    refused(newer, /format version 2, expected 1/);
    refused(good().subarray(0, 100), /header says \d+ body bytes but \d+ follow/);
    const padded = new Uint8Array(good().length + 8);
    padded.set(good());
    refused(padded, /body bytes but/);
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
        /not finite or not in ascending order/,
      ],
      ["NaN", (v) => v.setFloat64(VALUES + 8, Number.NaN, true), /not finite/],
      ["inf", (v) => v.setFloat64(VALUES + 24, Number.POSITIVE_INFINITY, true), /not finite/],
      ["rows", (v) => v.setFloat64(16, 0, true), /row count between 1/],
      ["fractional rows", (v) => v.setFloat64(16, 4.5, true), /row count/],
      ["columns 0", (v) => v.setUint32(12, 0, true), /column count 0/],
      ["columns huge", (v) => v.setUint32(12, 0xffffffff, true), /column count/],
      ["name length", (v) => v.setUint32(48, 1e9, true), /name of 1000000000 bytes/],
      ["name past end", (v) => v.setUint32(48, 4000, true), /past the end/],
      ["bad UTF-8", (_, b) => b.set([0xc3, 0x28], 56), /name: not valid UTF-8/],
      ["kind", (v) => v.setUint8(52, 9), /unknown kind 9/],
      ["reserved", (v) => v.setUint8(53, 1), /padding byte/],
      ["header reserved", (v) => v.setUint8(40, 1), /reserved header byte 40/],
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
        /values: needs 8796093022208 bytes/,
      ],
      ["distinct", (v) => v.setFloat64(SCALARS.distinct, 4, true), /keeps 3 value counts for 4/],
      ["kept", (v) => v.setFloat64(SCALARS.kept, 0, true), /kept exactly when/],
      ["kept value", (v) => v.setFloat64(VALUES + 4 * 8 + 8, 3, true), /kept value 2/],
      ["kept count", (v) => v.setFloat64(VALUES + 7 * 8, 7, true), /kept count of 1/],
      ["mean", (v) => v.setFloat64(SCALARS.mean, 99, true), /mean 99 outside/],
      ["m2", (v) => v.setFloat64(SCALARS.m2, -1, true), /m2 -1 impossible/],
      ["m3", (v) => v.setFloat64(SCALARS.m3, Number.NaN, true), /m3 NaN impossible/],
      ["std", (v) => v.setFloat64(SCALARS.std, 3, true), /std 3 is not the values'/],
      ["std NaN", (v) => v.setFloat64(SCALARS.std, Number.NaN, true), /std NaN/],
      ["area", (v) => v.setFloat64(VALUES + 10 * 8, 1, true), /first Wasserstein area is not 0/],
    ];
    for (const [name, change, pattern] of cases) {
      const bytes = good();
      change(new DataView(bytes.buffer), bytes);
      assert.throws(
        () => parseReferenceSummary(reseal(bytes)),
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
        bytes[48 + Math.floor(next() * (bytes.length - 48))] = Math.floor(next() * 256);
      }
      const cut = next() < 0.2 ? Math.floor(next() * bytes.length) : bytes.length;
      const candidate = reseal(bytes.slice(0, Math.max(cut, 48)));
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
