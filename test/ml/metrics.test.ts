// Multi-label metrics against scikit-learn 1.2 on committed fixtures (and a live case when python3-sklearn is present).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { IndicatorMatrix, RealMatrix } from "../../src/ml/matrix.ts";
import {
  binarize,
  f1Macro,
  f1Micro,
  hammingLoss,
  jaccardSamples,
  multilabelReport,
  perLabelScores,
  rocAucPerLabel,
  type ZeroDivision,
} from "../../src/ml/metrics.ts";
import { Rng } from "../../src/ml/random.ts";

interface Expected {
  jaccardSamples: number;
  f1Micro: number;
  f1Macro: number;
  precision: number[];
  recall: number[];
  f1: number[];
  support: number[];
}

interface Case {
  name: string;
  rows: number;
  cols: number;
  yTrue: number[];
  yPred: number[];
  scores: number[];
  expected: {
    hammingLoss: number;
    jaccardSamplesWarn: number;
    zd0: Expected;
    zd1: Expected;
    rocAuc: (number | null)[];
  };
}

const fixturePath = fileURLToPath(new URL("./fixtures/metrics.json", import.meta.url));
const scriptPath = fileURLToPath(new URL("./fixtures/make_metrics_fixtures.py", import.meta.url));
const fixtures = JSON.parse(readFileSync(fixturePath, "utf8")) as { cases: Case[] };

const TOL = 1e-9;

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= TOL, `${what}: ${actual} vs sklearn ${expected}`);
}

function closeArray(actual: ArrayLike<number>, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    close(actual[i] as number, expected[i] as number, `${what}[${i}]`);
  }
}

function matrices(c: Case): { yTrue: IndicatorMatrix; yPred: IndicatorMatrix; scores: RealMatrix } {
  return {
    yTrue: { data: Uint8Array.from(c.yTrue), rows: c.rows, cols: c.cols },
    yPred: { data: Uint8Array.from(c.yPred), rows: c.rows, cols: c.cols },
    scores: { data: Float64Array.from(c.scores), rows: c.rows, cols: c.cols },
  };
}

function checkCase(c: Case): void {
  const { yTrue, yPred, scores } = matrices(c);
  const e = c.expected;
  close(hammingLoss(yTrue, yPred), e.hammingLoss, "hammingLoss");
  close(jaccardSamples(yTrue, yPred), e.jaccardSamplesWarn, "jaccardSamples default");
  for (const zd of [0, 1] as ZeroDivision[]) {
    const ez = zd === 0 ? e.zd0 : e.zd1;
    const opts = { zeroDivision: zd };
    close(jaccardSamples(yTrue, yPred, opts), ez.jaccardSamples, `jaccardSamples zd=${zd}`);
    close(f1Micro(yTrue, yPred, opts), ez.f1Micro, `f1Micro zd=${zd}`);
    close(f1Macro(yTrue, yPred, opts), ez.f1Macro, `f1Macro zd=${zd}`);
    const per = perLabelScores(yTrue, yPred, opts);
    closeArray(per.precision, ez.precision, `precision zd=${zd}`);
    closeArray(per.recall, ez.recall, `recall zd=${zd}`);
    closeArray(per.f1, ez.f1, `f1 zd=${zd}`);
    closeArray(per.support, ez.support, `support zd=${zd}`);
  }
  const auc = rocAucPerLabel(yTrue, scores);
  assert.equal(auc.length, e.rocAuc.length);
  e.rocAuc.forEach((want, k) => {
    if (want === null) assert.ok(Number.isNaN(auc[k]), `rocAuc[${k}] should be NaN`);
    else close(auc[k] as number, want, `rocAuc[${k}]`);
  });
  const f32 = rocAucPerLabel(yTrue, { ...scores, data: Float32Array.from(c.scores) });
  e.rocAuc.forEach((want, k) => {
    if (want !== null) assert.ok(Math.abs((f32[k] as number) - want) < 0.05);
  });
}

describe("metrics match scikit-learn (fixtures)", () => {
  it("covers the edge cases it claims to", () => {
    const names = fixtures.cases.map((c) => c.name);
    assert.ok(names.length >= 8);
    for (const wanted of ["all correct", "all empty", "tied scores"]) {
      assert.ok(names.includes(wanted), wanted);
    }
  });
  for (const c of fixtures.cases) {
    it(c.name, () => checkCase(c));
  }
});

function sklearnAvailable(): boolean {
  if (!existsSync("/usr/bin/python3")) return false;
  const r = spawnSync("/usr/bin/python3", ["-c", "import sklearn"], { encoding: "utf8" });
  return r.status === 0;
}

describe("metrics match scikit-learn (live)", () => {
  it("a fresh random case", {
    skip: !sklearnAvailable() && "no /usr/bin/python3 with sklearn",
  }, () => {
    const rng = new Rng(Date.now() >>> 0);
    const rows = 50 + rng.int(150);
    const cols = 2 + rng.int(10);
    const yTrue: number[] = [];
    const yPred: number[] = [];
    const scores: number[] = [];
    const density = 0.05 + 0.4 * rng.float();
    for (let i = 0; i < rows * cols; i++) {
      const t = rng.float() < density ? 1 : 0;
      yTrue.push(t);
      yPred.push(rng.float() < 0.2 ? 1 - t : t);
      scores.push(Math.round((0.3 * t + 0.7 * rng.float()) * 20) / 20);
    }
    for (let k = 0; k < cols; k++) yTrue[k] = yPred[k] = 0;
    const input = JSON.stringify({ name: "live", rows, cols, yTrue, yPred, scores });
    const r = spawnSync("/usr/bin/python3", [scriptPath, "--eval"], { input, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    checkCase(JSON.parse(r.stdout) as Case);
  });
});

describe("metrics API", () => {
  const yTrue = { data: Uint8Array.from([1, 0, 1, 0, 0, 0]), rows: 2, cols: 3 };
  const yPred = { data: Uint8Array.from([1, 1, 0, 0, 0, 0]), rows: 2, cols: 3 };

  it("scores an empty-vs-empty row as zeroDivision", () => {
    assert.equal(jaccardSamples(yTrue, yPred), (1 / 3 + 0) / 2);
    assert.equal(jaccardSamples(yTrue, yPred, { zeroDivision: 1 }), (1 / 3 + 1) / 2);
  });

  it("report gathers every metric", () => {
    const scores = { data: Float64Array.from([0.9, 0.6, 0.2, 0.1, 0.3, 0.4]), rows: 2, cols: 3 };
    const r = multilabelReport(yTrue, yPred, scores);
    assert.equal(r.hammingLoss, 2 / 6);
    assert.equal(r.f1Micro, f1Micro(yTrue, yPred));
    assert.ok(r.rocAuc !== undefined);
    assert.equal(r.rocAuc[0], 1);
    assert.ok(Number.isNaN(r.rocAuc[1]));
    assert.deepEqual(binarize(scores).data, Uint8Array.from([1, 1, 0, 0, 0, 0]));
  });

  it("rejects mismatched shapes and non-indicator values", () => {
    assert.throws(() => hammingLoss(yTrue, { ...yPred, rows: 3 }), /data has 6 values/);
    assert.throws(
      () => hammingLoss(yTrue, { data: new Uint8Array(4), rows: 2, cols: 2 }),
      /shapes differ/,
    );
    assert.throws(
      () => jaccardSamples(yTrue, { ...yPred, data: Uint8Array.from([2, 0, 0, 0, 0, 0]) }),
      /0 or 1/,
    );
    assert.throws(
      () => rocAucPerLabel(yTrue, { data: new Float64Array(6).fill(Number.NaN), rows: 2, cols: 3 }),
      /NaN/,
    );
  });
});
