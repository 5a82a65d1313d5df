// Per-label threshold tuning and the most-frequent baseline.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  applyDecision,
  type DecisionMetric,
  expectedJaccardSets,
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

describe("threshold shrinkage", () => {
  it("pulls each label's threshold toward the common one by positives / (positives + shrinkage)", () => {
    const { y, p } = problem(400, 5, 3);
    const free = tuneDecision(y, p, { metric: "jaccard" });
    const shrunk = tuneDecision(y, p, { metric: "jaccard", shrinkage: 50 });
    assert.equal(shrunk.common, free.common);
    for (let k = 0; k < 5; k++) {
      let positives = 0;
      for (let i = 0; i < 400; i++) positives += y.data[i * 5 + k] as number;
      const expected =
        (positives * (free.thresholds[k] as number) + 50 * free.common) / (positives + 50);
      assert.ok(Math.abs((shrunk.thresholds[k] as number) - expected) < 1e-12, `label ${k}`);
    }
    const huge = tuneDecision(y, p, { metric: "jaccard", shrinkage: 1e12 });
    for (const t of huge.thresholds) assert.ok(Math.abs(t - huge.common) < 1e-6);
    assert.throws(() => tuneDecision(y, p, { shrinkage: -1 }), /shrinkage must be a number ≥ 0/);
  });
});

describe("expected-Jaccard sets", () => {
  /** Exact E[J(S)] for independent labels, by enumerating every truth (few labels). */
  function exactExpectedJaccard(p: number[], set: number[]): number {
    const L = p.length;
    let e = 0;
    for (let mask = 0; mask < 1 << L; mask++) {
      let prob = 1;
      let inter = 0;
      let union = 0;
      for (let k = 0; k < L; k++) {
        const truth = (mask >> k) & 1;
        prob *= truth ? (p[k] as number) : 1 - (p[k] as number);
        inter += truth & (set[k] as number);
        union += truth | (set[k] as number);
      }
      e += prob * (union === 0 ? 0 : inter / union);
    }
    return e;
  }

  it("takes the top k labels, k maximizing Σ inside / (k + Σ outside), at least one", () => {
    const rows = [
      [0.9, 0.1, 0.05, 0.02],
      [0.45, 0.44, 0.43, 0.05],
      [0.01, 0.02, 0.03, 0.04],
      [0.6, 0.6, 0.6, 0.6],
    ];
    const p = { data: Float64Array.from(rows.flat()), rows: 4, cols: 4 };
    const sets = applyDecision(p, {
      rule: "expected-jaccard",
      thresholds: new Float64Array(4),
      atLeastOne: false,
    });
    assert.deepEqual(Array.from(sets.data), [1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  });

  it("chooses sets whose exact expected Jaccard is near the best top-k set's", () => {
    const rng = new Rng(5);
    const L = 8;
    let chosenSum = 0;
    let bestSum = 0;
    for (let r = 0; r < 200; r++) {
      const p = Array.from({ length: L }, () => rng.float() ** 3);
      const pred = expectedJaccardSets({ data: Float64Array.from(p), rows: 1, cols: L });
      chosenSum += exactExpectedJaccard(p, Array.from(pred.data));
      const order = [...p.keys()].sort((a, b) => (p[b] as number) - (p[a] as number));
      let best = 0;
      for (let k = 1; k <= L; k++) {
        const set = new Array(L).fill(0);
        for (const j of order.slice(0, k)) set[j] = 1;
        best = Math.max(best, exactExpectedJaccard(p, set));
      }
      bestSum += best;
    }
    assert.ok(chosenSum / bestSum > 0.99, `${chosenSum / bestSum} of the best`);
  });
});
