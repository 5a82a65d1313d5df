// Per-label threshold tuning and the most-frequent baseline.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  applyDecision,
  type DecisionMetric,
  mostFrequentPrediction,
  scoreMetric,
  tuneDecision,
} from "../../src/ml/decision.ts";
import type { IndicatorMatrix, Matrix } from "../../src/ml/matrix.ts";
import { Rng } from "../../src/ml/random.ts";

/** Labels with different base rates; probabilities informative but miscalibrated. */
function problem(
  n: number,
  L: number,
  seed: number,
): { y: IndicatorMatrix; p: Matrix<Float64Array> } {
  const rng = new Rng(seed);
  const y = new Uint8Array(n * L);
  const p = new Float64Array(n * L);
  for (let k = 0; k < L; k++) {
    const rate = 0.05 + 0.4 * rng.float();
    for (let i = 0; i < n; i++) {
      const truth = rng.float() < rate ? 1 : 0;
      y[i * L + k] = truth;
      p[i * L + k] = Math.min(
        1,
        Math.max(0, 0.3 * rate + 0.35 * truth * rng.float() + 0.2 * rng.float()),
      );
    }
  }
  return { y: { data: y, rows: n, cols: L }, p: { data: p, rows: n, cols: L } };
}

describe("threshold tuning", () => {
  for (const metric of ["jaccard", "f1-micro", "f1-macro"] as DecisionMetric[]) {
    it(`reaches a point no single threshold move improves (${metric})`, () => {
      const { y, p } = problem(300, 6, 1);
      const tuned = tuneDecision(y, p, { metric, grid: 40 });
      const plain = { thresholds: tuned.thresholds, atLeastOne: false };
      const score = (t: Float64Array) =>
        scoreMetric(metric, y, applyDecision(p, { thresholds: t, atLeastOne: false }));
      const at = score(tuned.thresholds);
      assert.equal(tuned.score, scoreMetric(metric, y, applyDecision(p, tuned)));
      assert.ok(tuned.score >= at);
      assert.ok(tuned.score > tuned.scoreAtHalf, `${tuned.score} > ${tuned.scoreAtHalf}`);
      for (let k = 0; k < 6; k++) {
        for (let g = 0; g < 40; g++) {
          const t = Float64Array.from(plain.thresholds);
          t[k] = (g + 0.5) / 40;
          assert.ok(score(t) <= at + 1e-12, `label ${k} at ${t[k]}: ${score(t)} > ${at}`);
        }
      }
    });
  }

  it("keeps thresholds on the grid and predicts above them", () => {
    const { y, p } = problem(200, 4, 2);
    const tuned = tuneDecision(y, p);
    for (const t of tuned.thresholds)
      assert.ok(Math.abs(t * 100 - 0.5 - Math.round(t * 100 - 0.5)) < 1e-9);
    const pred = applyDecision(p, { thresholds: tuned.thresholds, atLeastOne: false });
    for (let j = 0; j < pred.data.length; j++) {
      assert.equal(
        pred.data[j],
        (p.data[j] as number) > (tuned.thresholds[j % 4] as number) ? 1 : 0,
      );
    }
  });

  it("predicts the most probable label when none passes, if asked", () => {
    const p = { data: Float64Array.from([0.1, 0.3, 0.2, 0.9, 0.1, 0.1]), rows: 2, cols: 3 };
    const t = new Float64Array(3).fill(0.5);
    assert.deepEqual(
      Array.from(applyDecision(p, { thresholds: t, atLeastOne: true }).data),
      [0, 1, 0, 1, 0, 0],
    );
    assert.deepEqual(
      Array.from(applyDecision(p, { thresholds: t, atLeastOne: false }).data),
      [0, 0, 0, 1, 0, 0],
    );
  });

  it("refuses empty validation data and unknown metrics", () => {
    const empty = { data: new Uint8Array(0), rows: 0, cols: 3 };
    assert.throws(
      () => tuneDecision(empty, { data: new Float64Array(0), rows: 0, cols: 3 }),
      /no validation rows/,
    );
    const { y, p } = problem(10, 2, 3);
    assert.throws(
      () => tuneDecision(y, p, { metric: "accuracy" as DecisionMetric }),
      /metric must be one of/,
    );
  });
});

describe("most-frequent baseline", () => {
  it("predicts the first k labels for every row", () => {
    assert.deepEqual(Array.from(mostFrequentPrediction(2, 4, 2).data), [1, 1, 0, 0, 1, 1, 0, 0]);
    assert.deepEqual(Array.from(mostFrequentPrediction(1, 2, 5).data), [1, 1]);
    assert.throws(() => mostFrequentPrediction(1, 2, 0), /k must be an integer ≥ 1/);
  });
});
