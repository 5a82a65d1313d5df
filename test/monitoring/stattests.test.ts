// The drift tests and their special functions against scipy 1.10 on committed fixtures
// (scripts/drift-fixtures.py), a live regeneration of those fixtures when /usr/bin/python3 has
// scipy, randomized checks of the fast K-S and Wasserstein paths against scipy's plain
// algorithms, hostile input, and the cost of a call against a large cached reference.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { InputError } from "../../src/common/errors.ts";
import { Rng } from "../../src/ml/random.ts";
import {
  chi2Sf,
  gammaincc,
  ks2SampExactPValue,
  kstwoSf,
  lgamma,
  normalCdf,
  normalSf,
  smirnovSf,
} from "../../src/monitoring/distributions.ts";
import {
  chiSquare,
  jensenShannon,
  ksTwoSample,
  wassersteinDistance,
  wassersteinNormed,
  wassersteinReference,
  zTest,
} from "../../src/monitoring/stattests.ts";

type Num = number | string;
type Generator =
  | { kind: "normal"; seed: number; n: number; mean: number; sd: number }
  | { kind: "uniform"; seed: number; n: number; low: number; high: number }
  | { kind: "integer"; seed: number; n: number; low: number; high: number }
  | { kind: "skewed"; seed: number; n: number; low: number; scale: number };
type SampleSpec = { values: number[] } | Generator;

interface Fixtures {
  scipy: string;
  normal: [Num, Num, Num][];
  chi2Sf: [Num, number, Num][];
  kstwoSf: [Num, number, Num][];
  smirnovSf: [number, Num, Num][];
  ksExact: [Num, number, number, Num, Num | null][];
  ks: {
    name: string;
    reference: SampleSpec;
    current: SampleSpec;
    statistic: Num;
    pValue: Num;
    method: "exact" | "asymp";
  }[];
  chiSquare: {
    name: string;
    reference: number[];
    current: number[];
    statistic: Num;
    pValue: Num;
  }[];
  zTest: {
    name: string;
    referenceOnes: number;
    referenceRows: number;
    currentOnes: number;
    currentRows: number;
    statistic: Num;
    pValue: Num;
    evidentlyPValue: Num;
  }[];
  wasserstein: {
    name: string;
    reference: SampleSpec;
    current: SampleSpec;
    distance: Num;
    std: Num;
    normed: Num;
  }[];
  jensenShannon: { name: string; reference: number[]; current: number[]; distance: Num }[];
}

const fixturePath = fileURLToPath(new URL("./fixtures/stattests.json", import.meta.url));
const scriptPath = fileURLToPath(new URL("../../scripts/drift-fixtures.py", import.meta.url));
const fixtures = JSON.parse(readFileSync(fixturePath, "utf8")) as Fixtures;

/** Relative tolerance against scipy; values below ABS_FLOOR (subnormal territory) compare absolutely. */
const REL = 1e-9;
const ABS_FLOOR = 1e-300;

function num(x: Num): number {
  if (typeof x === "number") return x;
  if (x === "Infinity") return Number.POSITIVE_INFINITY;
  if (x === "-Infinity") return Number.NEGATIVE_INFINITY;
  if (x === "NaN") return Number.NaN;
  throw new Error(`bad fixture number ${x}`);
}

function close(actual: number, expectedRaw: Num, what: string): void {
  const expected = num(expectedRaw);
  if (Number.isNaN(expected)) {
    assert.ok(Number.isNaN(actual), `${what}: ${actual} vs scipy NaN`);
    return;
  }
  if (actual === expected) return;
  const tolerance = REL * Math.max(Math.abs(actual), Math.abs(expected)) + ABS_FLOOR;
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} vs scipy ${expected} (relative error ${Math.abs(actual - expected) / Math.abs(expected)})`,
  );
}

/** The fixture script's generator: NR's 32-bit LCG, uniforms (state + 0.5)/2^32. */
function lcgUniforms(seed: number, n: number): Float64Array {
  const out = new Float64Array(n);
  let state = seed >>> 0;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(1664525, state) + 1013904223) >>> 0;
    out[i] = (state + 0.5) / 4294967296;
  }
  return out;
}

const sampleCache = new Map<string, Float64Array>();

function sample(spec: SampleSpec): Float64Array {
  const key = JSON.stringify(spec);
  const cached = sampleCache.get(key);
  if (cached) return cached;
  let values: Float64Array;
  if ("values" in spec) {
    values = Float64Array.from(spec.values);
  } else if (spec.kind === "normal") {
    const u = lcgUniforms(spec.seed, 12 * spec.n);
    values = new Float64Array(spec.n);
    for (let i = 0; i < spec.n; i++) {
      let total = 0;
      for (let k = 0; k < 12; k++) total = total + (u[12 * i + k] as number);
      values[i] = spec.mean + spec.sd * (total - 6);
    }
  } else {
    const u = lcgUniforms(spec.seed, spec.n);
    if (spec.kind === "uniform") values = u.map((x) => spec.low + (spec.high - spec.low) * x);
    else if (spec.kind === "integer") {
      values = u.map((x) => Math.floor(spec.low + (spec.high - spec.low + 1) * x));
    } else values = u.map((x) => spec.low + spec.scale * (x * x * x));
  }
  values.sort();
  sampleCache.set(key, values);
  return values;
}

describe("special functions match scipy", () => {
  it("normal survival function and CDF (ndtr), far into both tails", () => {
    assert.ok(fixtures.normal.length > 150);
    for (const [z, sf, cdf] of fixtures.normal) {
      close(normalSf(num(z)), sf, `norm.sf(${z})`);
      close(normalCdf(num(z)), cdf, `norm.cdf(${z})`);
    }
  });

  it("chi-square survival function over df 1..50 and x from 1e-3 to 1e3, and large df", () => {
    const dfs = new Set(fixtures.chi2Sf.map((row) => row[1]));
    for (let df = 1; df <= 50; df++) assert.ok(dfs.has(df), `df ${df} covered`);
    assert.ok(dfs.has(2000));
    for (const [x, df, sf] of fixtures.chi2Sf)
      close(chi2Sf(num(x), df), sf, `chi2.sf(${x}, ${df})`);
  });

  it("kstwo survival function across Simard–L'Ecuyer's regions", () => {
    const ns = new Set(fixtures.kstwoSf.map((row) => row[1]));
    for (const n of [1, 140, 141, 100000, 100001]) assert.ok(ns.has(n), `n ${n} covered`);
    for (const [d, n, sf] of fixtures.kstwoSf)
      close(kstwoSf(num(d), n), sf, `kstwo.sf(${d}, ${n})`);
  });

  it("one-sided Smirnov survival function", () => {
    for (const [n, d, sf] of fixtures.smirnovSf)
      close(smirnovSf(n, num(d)), sf, `smirnov(${n}, ${d})`);
  });

  it("exact two-sample K-S p-values, including scipy's failures (rounding above 1)", () => {
    let failures = 0;
    for (const [d, n1, n2, snapped, p] of fixtures.ksExact) {
      const got = ks2SampExactPValue(num(d), n1, n2);
      const what = `exact(${d}, ${n1}, ${n2})`;
      if (p === null) {
        failures++;
        assert.equal(got, undefined, `${what}: scipy's exact computation fails here`);
      } else {
        assert.ok(got, `${what}: expected a value`);
        assert.equal(got.statistic, num(snapped), `${what}: snapped statistic`);
        close(got.pValue, p, `${what}: p`);
      }
    }
    assert.ok(failures > 0, "the grid holds cases where scipy falls back");
  });

  it("rejects parameters outside their domain", () => {
    assert.throws(() => chi2Sf(1, 0), /degrees of freedom/);
    assert.throws(() => chi2Sf(1, Number.NaN), InputError);
    assert.throws(() => kstwoSf(0.1, 2.5), /positive integer n/);
    assert.throws(() => smirnovSf(0, 0.1), InputError);
    assert.throws(() => ks2SampExactPValue(1.5, 3, 4), /statistic in \[0, 1\]/);
    assert.throws(() => lgamma(-1), InputError);
    assert.throws(() => gammaincc(-1, 1), InputError);
    assert.ok(Number.isNaN(chi2Sf(Number.NaN, 3)));
    assert.equal(chi2Sf(Number.POSITIVE_INFINITY, 3), 0);
    assert.equal(chi2Sf(-1, 3), 1);
  });
});

describe("drift tests match scipy / Evidently (fixtures)", () => {
  it("K-S two-sample: statistic, p-value and method", () => {
    const methods = new Set(fixtures.ks.map((c) => c.method));
    assert.deepEqual([...methods].sort(), ["asymp", "exact"]);
    for (const c of fixtures.ks) {
      const got = ksTwoSample(sample(c.reference), sample(c.current));
      assert.equal(got.statistic, num(c.statistic), `${c.name}: statistic`);
      close(got.pValue, c.pValue, `${c.name}: p`);
      assert.equal(got.method, c.method, `${c.name}: method`);
    }
  });

  it("chi-square, including a current-only category", () => {
    assert.ok(fixtures.chiSquare.some((c) => c.statistic === "Infinity"));
    for (const c of fixtures.chiSquare) {
      const got = chiSquare(c.reference, c.current);
      close(got.statistic, c.statistic, `${c.name}: statistic`);
      close(got.pValue, c.pValue, `${c.name}: p`);
    }
  });

  it("Z-test: statistic, p-value, and Evidently's own p where it has digits", () => {
    for (const c of fixtures.zTest) {
      const got = zTest(c.referenceOnes, c.referenceRows, c.currentOnes, c.currentRows);
      close(got.statistic, c.statistic, `${c.name}: z`);
      close(got.pValue, c.pValue, `${c.name}: p`);
      const evidently = num(c.evidentlyPValue);
      if (evidently > 1e-6) close(got.pValue, evidently, `${c.name}: Evidently's p`);
      else assert.ok(got.pValue < 1e-6, `${c.name}: tiny p stays tiny`);
    }
  });

  it("Wasserstein and Evidently's normed Wasserstein, with and without a cached prefix", () => {
    for (const c of fixtures.wasserstein) {
      const reference = sample(c.reference);
      const current = sample(c.current);
      const span = (reference.at(-1) as number) - (reference[0] as number) || 1;
      const distance = wassersteinDistance(reference, current);
      // W1 = 0 for identical distributions: compare absolutely against the values' span there.
      if (num(c.distance) === 0) assert.ok(distance <= 1e-12 * span, `${c.name}: ${distance}`);
      else close(distance, c.distance, `${c.name}: W1`);
      const prefix = wassersteinReference(reference);
      close(prefix.std, c.std, `${c.name}: std`);
      const normed = wassersteinNormed(reference, current, prefix);
      assert.equal(normed.statistic, distance, `${c.name}: same W1 with the prefix`);
      if (num(c.normed) !== 0) close(normed.distance, c.normed, `${c.name}: normed`);
    }
  });

  it("Jensen–Shannon, including the spec's check value 0.2572004323", () => {
    const check = jensenShannon([600, 400, 200, 0], [200, 200, 100, 100]);
    assert.equal(check.toFixed(10), "0.2572004323");
    for (const c of fixtures.jensenShannon) {
      close(jensenShannon(c.reference, c.current), c.distance, `${c.name}: JS`);
    }
  });
});

/** scipy's ks_2samp statistic as written: every pooled point, searchsorted on both sides. */
function naiveKsStatistic(a: Float64Array, b: Float64Array): number {
  const upper = (s: Float64Array, x: number) => s.filter((v) => v <= x).length;
  let max = Number.NEGATIVE_INFINITY;
  let min = Number.POSITIVE_INFINITY;
  for (const x of [...a, ...b]) {
    const diff = upper(a, x) / a.length - upper(b, x) / b.length;
    max = Math.max(max, diff);
    min = Math.min(min, diff);
  }
  const minS = Math.min(Math.max(-min, 0), 1);
  return Math.max(minS, max);
}

/** scipy's _cdf_distance(1, u, v) as written. */
function naiveWasserstein(u: Float64Array, v: Float64Array): number {
  const all = Float64Array.from([...u, ...v]).sort();
  const upper = (s: Float64Array, x: number) => s.filter((y) => y <= x).length;
  let total = 0;
  for (let i = 0; i + 1 < all.length; i++) {
    const x = all[i] as number;
    total +=
      Math.abs(upper(u, x) / u.length - upper(v, x) / v.length) * ((all[i + 1] as number) - x);
  }
  return total;
}

describe("fast paths agree with scipy's plain algorithms (randomized, ties)", () => {
  it("K-S statistic by binary search equals the pooled-points statistic, bit for bit", () => {
    const rng = new Rng(12345);
    for (let trial = 0; trial < 400; trial++) {
      const n1 = 1 + rng.int(40);
      const n2 = 1 + rng.int(25);
      const levels = 1 + rng.int(12);
      const a = Float64Array.from({ length: n1 }, () => rng.int(levels) * 0.5).sort();
      const b = Float64Array.from(
        { length: n2 },
        () => rng.int(levels) * 0.5 + (rng.float() < 0.3 ? 0.25 : 0),
      ).sort();
      const d = naiveKsStatistic(a, b);
      const got = ksTwoSample(a, b);
      const exact = ks2SampExactPValue(d, n1, n2);
      assert.equal(got.statistic, exact ? exact.statistic : got.statistic, `trial ${trial}`);
      // Above 10,000 values the asymptotic path reports the raw statistic: check that path too.
      assert.ok(Math.abs((exact?.statistic ?? d) - d) < 1e-12, `trial ${trial}: ${d}`);
    }
  });

  it("Wasserstein from the block prefix equals the merge over all points", () => {
    const rng = new Rng(777);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + rng.int(trial < 150 ? 30 : 200);
      const m = 1 + rng.int(20);
      const levels = 1 + rng.int(30);
      const shift = rng.float() * 4 - 2;
      const u = Float64Array.from({ length: n }, () => rng.int(levels) * 0.37).sort();
      const v = Float64Array.from(
        { length: m },
        () => rng.int(levels) * 0.37 + shift * (rng.float() < 0.5 ? 1 : 0),
      ).sort();
      const want = naiveWasserstein(u, v);
      const got = wassersteinDistance(u, v);
      const span =
        Math.max(u.at(-1) as number, v.at(-1) as number) - Math.min(u[0] as number, v[0] as number);
      assert.ok(
        Math.abs(got - want) <= 1e-12 * Math.max(want, span),
        `trial ${trial}: ${got} vs ${want}`,
      );
    }
  });
});

describe("hostile input", () => {
  const ok = Float64Array.from([1, 2, 3]);
  it("K-S and Wasserstein: empty, NaN, ±inf, unsorted, wrong type", () => {
    for (const f of [ksTwoSample, wassersteinDistance, wassersteinNormed] as const) {
      assert.throws(() => f(new Float64Array(0), ok), /reference: expected at least one value/);
      assert.throws(() => f(ok, new Float64Array(0)), /current: expected at least one value/);
      assert.throws(
        () => f(Float64Array.from([1, Number.NaN]), ok),
        /expected finite values, got NaN at index 1/,
      );
      assert.throws(
        () => f(ok, Float64Array.from([Number.NEGATIVE_INFINITY, 0])),
        /expected finite values, got -Infinity/,
      );
      assert.throws(() => f(ok, Float64Array.from([0, Number.POSITIVE_INFINITY])), InputError);
      assert.throws(() => f(Float64Array.from([3, 1]), ok), /sorted ascending/);
      assert.throws(() => f([1, 2] as unknown as Float64Array, ok), /Float64Array/);
    }
    const other = Float64Array.from([1, 2, 3]);
    assert.throws(
      () => wassersteinDistance(ok, ok, wassersteinReference(other)),
      /another reference array/,
    );
  });

  it("chi-square and Jensen–Shannon: misaligned, negative, non-finite, empty, all-zero counts", () => {
    for (const f of [chiSquare, jensenShannon] as const) {
      assert.throws(() => f([1, 2], [1]), /aligned by category, got 2 and 1/);
      assert.throws(() => f([], []), /at least one category/);
      assert.throws(() => f([1, -1], [1, 1]), /count ≥ 0, got reference -1 at category 1/);
      assert.throws(() => f([1, 1], [Number.NaN, 1]), /got current NaN/);
      assert.throws(() => f([1, Number.POSITIVE_INFINITY], [1, 1]), InputError);
      assert.throws(() => f([0, 0], [1, 1]), /reference counts are all zero/);
      assert.throws(() => f([1, 1], [0, 0]), /current counts are all zero/);
    }
  });

  it("Z-test: counts outside their range", () => {
    assert.throws(() => zTest(5, 4, 1, 2), /reference ones between 0 and 4, got 5/);
    assert.throws(() => zTest(1, 0, 1, 2), /positive whole number of reference rows/);
    assert.throws(() => zTest(1, 2, 1.5, 2), /current ones/);
    assert.throws(() => zTest(1, 2, 1, Number.NaN), /current rows/);
  });

  it("edges: one category, one row, both sides one value", () => {
    assert.deepEqual(chiSquare([5], [3]), { statistic: 0, pValue: 1 });
    const absent = chiSquare([5, 0, 5], [2, 0, 3]);
    assert.deepEqual(
      absent,
      chiSquare([5, 5], [2, 3]),
      "a category absent on both sides is skipped",
    );
    assert.deepEqual(zTest(0, 10, 0, 3), { statistic: 0, pValue: 1 });
    assert.deepEqual(zTest(10, 10, 3, 3), { statistic: 0, pValue: 1 });
    assert.equal(jensenShannon([3, 1], [6, 2]), 0);
    const one = Float64Array.from([2]);
    assert.deepEqual(ksTwoSample(one, one), { statistic: 0, pValue: 1, method: "exact" });
    assert.equal(wassersteinDistance(one, Float64Array.from([5])), 3);
    assert.deepEqual(
      wassersteinNormed(one, Float64Array.from([2.001])).distance.toFixed(6),
      "1.000000",
    );
    // numpy: std overflows to inf near ±1e308, so the normed distance is 0 while W1 is finite.
    assert.deepEqual(
      wassersteinNormed(Float64Array.from([-1e308, 1e308]), Float64Array.from([0])),
      {
        distance: 0,
        statistic: 1e308,
      },
    );
  });
});

describe("cost against a large cached reference", () => {
  it("K-S and Wasserstein cost as much against 1,000,000 reference values as against 20,001", () => {
    // O(m log n) per call: 50 times more reference values should barely change the time (an
    // O(n) merge would make it ~50 times slower). Rounds interleave so machine load hits both.
    const uniform = (n: number) => Float64Array.from({ length: n }, (_, i) => (i + 0.5) / n);
    const references = [uniform(20_001), uniform(1_000_000)];
    const prefixes = references.map((r) => wassersteinReference(r));
    const currents = Array.from({ length: 20 }, (_, i) =>
      sample({ kind: "uniform", seed: 100 + i, n: 100, low: 0.1 * (i % 3), high: 1 }),
    );
    const best = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
    for (let round = 0; round < 6; round++) {
      references.forEach((reference, k) => {
        const start = process.hrtime.bigint();
        for (const current of currents) {
          ksTwoSample(reference, current);
          wassersteinNormed(reference, current, prefixes[k]);
        }
        const ms = Number(process.hrtime.bigint() - start) / 1e6 / currents.length;
        best[k] = Math.min(best[k] as number, ms);
      });
    }
    const [small, large] = best as [number, number];
    assert.ok(
      large < 5 * small + 0.05,
      `per column: ${large.toFixed(3)} ms vs ${small.toFixed(3)} ms`,
    );
  });
});

function scipyAvailable(): boolean {
  if (!existsSync("/usr/bin/python3")) return false;
  return spawnSync("/usr/bin/python3", ["-c", "import scipy, numpy"]).status === 0;
}

describe("fixtures are current (live scipy)", () => {
  it("scripts/drift-fixtures.py regenerates the committed values exactly", {
    skip: !scipyAvailable() && "no /usr/bin/python3 with scipy",
    timeout: 120_000,
  }, () => {
    const dir = mkdtempSync(join(tmpdir(), "drift-fixtures-"));
    try {
      const out = join(dir, "stattests.json");
      const r = spawnSync("/usr/bin/python3", [scriptPath, "--out", out], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      // The committed file is the same JSON laid out by Biome: compare the parsed values.
      const fresh = JSON.parse(readFileSync(out, "utf8")) as Fixtures;
      assert.equal(fresh.scipy, fixtures.scipy, "the fixtures' scipy version: regenerate them");
      assert.deepStrictEqual(fresh, fixtures);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
