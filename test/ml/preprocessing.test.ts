// Preprocessing steps: the seed's outlier rules, and scaling and imputation against scikit-learn
// 1.2 on committed fixtures (and a live case when python3-sklearn is present).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { KnnImputer } from "../../src/ml/knn-imputer.ts";
import {
  type FeatureMatrix,
  fitPreprocessor,
  fitPreprocessorParallel,
  MedianImputer,
  MinMaxScaler,
  OutlierRules,
  Preprocessor,
} from "../../src/ml/preprocessing.ts";
import { Rng } from "../../src/ml/random.ts";

interface Case {
  name: string;
  cols: number;
  neighbors: number;
  /** Test values beyond the training range, clipped to 0 or 1 by the scaler. */
  clipped?: boolean;
  train: (number | null)[];
  test: (number | null)[];
  expected?: Record<"knn" | "scaled" | "scaledKnn" | "scaledMedian", (number | null)[]>;
}

const scriptPath = fileURLToPath(
  new URL("./fixtures/make_preprocessing_fixtures.py", import.meta.url),
);
const fixtures = JSON.parse(
  readFileSync(new URL("./fixtures/preprocessing.json", import.meta.url), "utf8"),
) as { cases: Case[] };

function m(values: (number | null)[], cols: number): FeatureMatrix {
  const data = Float64Array.from(values, (v) => (v === null ? Number.NaN : v));
  return { data, rows: data.length / cols, cols };
}

/** Equal to `tolerance`, relative to the value beyond 1 (distances carry rounding of |x|²). */
function assertClose(
  actual: Float64Array,
  expected: (number | null)[],
  what: string,
  tolerance = 1e-9,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  expected.forEach((want, i) => {
    const got = actual[i] as number;
    if (want === null) assert.ok(Number.isNaN(got), `${what}[${i}]: expected missing, got ${got}`);
    else
      assert.ok(
        Math.abs(got - want) <= tolerance * Math.max(1, Math.abs(want)),
        `${what}[${i}]: ${got} vs sklearn ${want}`,
      );
  });
}

function checkCase(c: Case): void {
  const e = c.expected;
  assert.ok(e);
  const train = m(c.train, c.cols);
  const test = m(c.test, c.cols);
  const knn = KnnImputer.fit(train, { neighbors: c.neighbors });
  const imputed = m(c.test, c.cols);
  knn.transformInPlace(imputed);
  assertClose(imputed.data, e.knn, "knn");

  const scaled = fitPreprocessor(train, { imputer: "knn", knn: { neighbors: c.neighbors } });
  const scaler = MinMaxScaler.fit(train);
  const onlyScaled = m(c.test, c.cols);
  scaler.transformInPlace(onlyScaled);
  assertClose(onlyScaled.data, e.scaled, "scaled");
  // A clipped value can tie a donor's at distance exactly 0, which sklearn's dot-product
  // distances compute as about 1e-9, mixing in the other donors with weights near 1e-8.
  const tolerance = c.clipped ? 1e-6 : 1e-9;
  assertClose(scaled.preprocessor.transform(test).data, e.scaledKnn, "scaled knn", tolerance);
  const median = fitPreprocessor(train, { imputer: "median" });
  assertClose(median.preprocessor.transform(test).data, e.scaledMedian, "scaled median");
}

function sklearnAvailable(): boolean {
  if (!existsSync("/usr/bin/python3")) return false;
  return spawnSync("/usr/bin/python3", ["-c", "import sklearn"]).status === 0;
}

describe("scaling and imputation match scikit-learn (fixtures)", () => {
  for (const c of fixtures.cases) it(c.name, () => checkCase(c));
});

describe("scaling and imputation match scikit-learn (live)", () => {
  it("a fresh random case", {
    skip: !sklearnAvailable() && "no /usr/bin/python3 with sklearn",
  }, () => {
    const rng = new Rng(Date.now() >>> 0);
    const cols = 2 + rng.int(7);
    const rows = 20 + rng.int(200);
    const testRows = 5 + rng.int(60);
    // Test values inside the training range: clipped values could tie at distance exactly 0,
    // which sklearn's dot-product distances compute as about 1e-9.
    const value = (lo: number, hi: number): number | null =>
      rng.float() < 0.15 ? null : lo + (hi - lo) * rng.float();
    const c: Case = {
      name: "live",
      cols,
      neighbors: 1 + rng.int(8),
      train: Array.from({ length: rows * cols }, () => value(-30, 70)),
      test: Array.from({ length: testRows * cols }, () => value(-20, 60)),
    };
    for (let j = 0; j < cols; j++) {
      c.train[j] = -30;
      c.train[cols + j] = 70;
    }
    const r = spawnSync("/usr/bin/python3", [scriptPath, "--eval"], {
      input: JSON.stringify(c),
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    checkCase(JSON.parse(r.stdout) as Case);
  });
});

describe("outlier rules", () => {
  it("make year 0 missing and fold tempo into [min, max] as the seed does", () => {
    const rules = new OutlierRules(2, [0], [{ column: 1, min: 70, max: 180 }]);
    const x = m([0, 34, 1999, 35, 2001, 69, 0, 70, 1, 180, 2, 181, 3, 360, 4, 361, 5, 0], 2);
    rules.transformInPlace(x);
    const want = [NaN, NaN, 1999, 70, 2001, 138, NaN, 70, 1, 180, 2, 90.5, 3, 180, 4, NaN, 5, NaN];
    assert.deepEqual(Array.from(x.data), want);
  });

  it("refuse bad bounds and unknown columns", () => {
    assert.throws(() => new OutlierRules(2, [2], []), /column 2 is not one of the 2 columns/);
    assert.throws(
      () => new OutlierRules(2, [], [{ column: 0, min: 180, max: 70 }]),
      /0 < min < max/,
    );
  });
});

describe("preprocessor", () => {
  it("refuses infinities and a wrong number of columns", () => {
    const x = m([1, 2, Number.POSITIVE_INFINITY, 4], 2);
    assert.throws(() => fitPreprocessor(x), /Infinity at row 1, column 0/);
    const { preprocessor } = fitPreprocessor(m([1, 2, 3, 4], 2));
    assert.throws(() => preprocessor.transform(m([1, 2, 3], 3)), /expected 2 columns, got 3/);
    assert.throws(() => preprocessor.transform(m([1, Number.NEGATIVE_INFINITY], 2)), /-Infinity/);
  });

  it("returns the transformed training rows, equal to transforming them again", () => {
    const rng = new Rng(3);
    const values = Array.from({ length: 300 }, () => (rng.float() < 0.1 ? null : rng.float()));
    const x = m(values, 3);
    for (const imputer of ["knn", "median"] as const) {
      const { preprocessor, transformed } = fitPreprocessor(x, {
        imputer,
        zeroAsMissing: [0],
        fold: [{ column: 2, min: 0.3, max: 0.6 }],
      });
      assert.deepEqual(preprocessor.transform(x).data, transformed.data);
      assert.ok(transformed.data.every((v) => v >= 0 && v <= 1));
      assert.deepEqual(
        Array.from(x.data.slice(0, 3)),
        values.slice(0, 3).map((v) => v ?? NaN),
      );
    }
  });

  it("survives its state, including the knn reference rows", () => {
    const rng = new Rng(5);
    const values = Array.from({ length: 400 }, () => (rng.float() < 0.2 ? null : 10 * rng.float()));
    const x = m(values, 4);
    const { preprocessor } = fitPreprocessor(x, { zeroAsMissing: [1], knn: { neighbors: 3 } });
    const state = JSON.parse(
      JSON.stringify(preprocessor.state(), (_k, v) =>
        v instanceof Float64Array ? { f64: Array.from(v, (n) => (Number.isNaN(n) ? null : n)) } : v,
      ),
      (_k, v) =>
        v !== null && typeof v === "object" && "f64" in v
          ? Float64Array.from(v.f64 as (number | null)[], (n) => n ?? Number.NaN)
          : v,
    );
    const again = Preprocessor.fromState(state);
    assert.deepEqual(again.transform(x).data, preprocessor.transform(x).data);
    assert.throws(
      () =>
        Preprocessor.fromState({ nFeatures: 4, steps: [{ kind: "pca", params: {}, arrays: {} }] }),
      /unknown step "pca"/,
    );
  });
});

describe("knn imputer at scale", () => {
  it("with more rows than maxReference equals the imputer fitted on its sample", () => {
    const rng = new Rng(11);
    const cols = 5;
    const values = Array.from({ length: 3000 * cols }, () =>
      rng.float() < 0.05 ? null : rng.float(),
    );
    const x = m(values, cols);
    const sampled = KnnImputer.fit(x, { maxReference: 400, seed: 9 });
    assert.equal(sampled.nReference, 400);
    assert.equal(sampled.trainingRows, 3000);
    const reference = { data: sampled.reference, rows: 400, cols };
    const exact = KnnImputer.fit(reference);
    const a = m(values, cols);
    const b = m(values, cols);
    sampled.transformInPlace(a);
    exact.transformInPlace(b);
    assert.deepEqual(a.data, b.data);
    assert.ok(a.data.every((v) => !Number.isNaN(v)));
    const again = KnnImputer.fit(x, { maxReference: 400, seed: 9 });
    assert.deepEqual(again.reference, sampled.reference);
    const other = KnnImputer.fit(x, { maxReference: 400, seed: 10 });
    assert.notDeepEqual(other.reference, sampled.reference);
  });

  it("gives the same values on worker threads", async () => {
    const rng = new Rng(12);
    const cols = 6;
    const values = Array.from({ length: 2000 * cols }, () =>
      rng.float() < 0.1 ? null : rng.float(),
    );
    const x = m(values, cols);
    const knn = KnnImputer.fit(x, { maxReference: 500, seed: 1 });
    const one = m(values, cols);
    knn.transformInPlace(one);
    const plain = m(values, cols);
    await knn.transformInPlaceParallel(plain, 2, 0);
    assert.deepEqual(plain.data, one.data);
    const shared = { ...x, data: new Float64Array(new SharedArrayBuffer(x.data.byteLength)) };
    shared.data.set(x.data);
    const imputed = { ...x, data: new Float64Array(new SharedArrayBuffer(x.data.byteLength)) };
    imputed.data.set(x.data);
    await knn.transformInPlaceParallel(imputed, 2, 0);
    assert.deepEqual(Array.from(imputed.data), Array.from(one.data));
    const inPlace = await fitPreprocessorParallel(shared, { knn: { maxReference: 500 } }, 2, true);
    assert.equal(inPlace.transformed.data, shared.data);
    const fitted = await fitPreprocessorParallel(x, { knn: { maxReference: 500 } });
    assert.deepEqual(
      Array.from(fitted.transformed.data),
      Array.from(fitPreprocessor(x, { knn: { maxReference: 500 } }).transformed.data),
    );
  });

  it("median imputer fills the median of the present values", () => {
    const imp = MedianImputer.fit(m([1, null, 5, null, 3, null, 10, null], 2));
    assert.deepEqual(Array.from(imp.fill), [4, 0]);
  });
});
