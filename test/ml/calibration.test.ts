// The calibration check: Brier scores beside the training-frequency baseline, the reliability
// table and its expected calibration error, by hand and against scikit-learn on random data.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { calibration } from "../../src/ml/calibration.ts";
import type { IndicatorMatrix, Matrix } from "../../src/ml/matrix.ts";
import { Rng } from "../../src/ml/random.ts";
import { hasPythonModules, PYTHON } from "../helpers/python.ts";

const TOL = 1e-12;

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= TOL, `${what}: ${actual} vs ${expected}`);
}

function labels(rows: number, cols: number, values: number[]): IndicatorMatrix {
  return { data: Uint8Array.from(values), rows, cols };
}

function probabilities(rows: number, cols: number, values: number[]): Matrix<Float64Array> {
  return { data: Float64Array.from(values), rows, cols };
}

describe("calibration", () => {
  it("computes Brier scores, the reliability table and its error by hand", () => {
    // 3 rows × 2 labels; label 0 true in rows 0 and 1, label 1 in row 2.
    const y = labels(3, 2, [1, 0, 1, 0, 0, 1]);
    const p = probabilities(3, 2, [0.9, 0.15, 0.65, 0.05, 0.15, 0.55]);
    const c = calibration(y, p, Float64Array.from([0.5, 0.25]), 4);
    const squared = [0.01, 0.0225, 0.1225, 0.0025, 0.0225, 0.2025];
    close(c.brier, squared.reduce((a, b) => a + b) / 6, "brier");
    close(c.brierBaseline, (3 * 0.25 + 2 * 0.0625 + 0.5625) / 6, "baseline");
    const [g0, g1] = c.genres;
    assert.ok(g0 && g1);
    assert.equal(g0.label, 0);
    assert.equal(g0.positives, 2);
    close(g0.brier, (0.01 + 0.1225 + 0.0225) / 3, "brier of label 0");
    close(g0.brierBaseline, 0.25, "baseline of label 0");
    close(g0.meanProbability, (0.9 + 0.65 + 0.15) / 3, "mean probability of label 0");
    close(g0.observed, 2 / 3, "observed rate of label 0");
    close(g1.brier, (0.0225 + 0.0025 + 0.2025) / 3, "brier of label 1");
    close(g1.brierBaseline, (0.0625 * 2 + 0.5625) / 3, "baseline of label 1");

    assert.deepEqual(
      c.bins.map((b) => [b.from, b.to, b.pairs]),
      [
        [0, 0.25, 3],
        [0.25, 0.5, 0],
        [0.5, 0.75, 2],
        [0.75, 1, 1],
      ],
    );
    const [low, empty, mid, high] = c.bins;
    assert.ok(low && empty && mid && high);
    close(low.meanProbability, (0.15 + 0.05 + 0.15) / 3, "bin 0 mean");
    close(low.observed, 0, "bin 0 observed");
    assert.ok(Number.isNaN(empty.meanProbability) && Number.isNaN(empty.observed));
    close(mid.meanProbability, 0.6, "bin 2 mean");
    close(mid.observed, 1, "bin 2 observed");
    close(high.observed, 1, "bin 3 observed");
    const ece = (3 / 6) * (0.35 / 3) + (2 / 6) * Math.abs(0.6 - 1) + (1 / 6) * 0.1;
    close(c.ece, ece, "ece");
  });

  it("scores probabilities equal to each bin's observed rate as perfectly calibrated", () => {
    // In the bin (0.2, 0.3]: four pairs at 0.25, one of them true; in (0.7, 0.8]: four at 0.75,
    // three true.
    const y = labels(4, 2, [1, 1, 0, 1, 0, 1, 0, 0]);
    const p = probabilities(4, 2, [0.25, 0.75, 0.25, 0.75, 0.25, 0.75, 0.25, 0.75]);
    const c = calibration(y, p, Float64Array.from([0.25, 0.75]));
    assert.equal(c.ece, 0);
    assert.equal(c.bins.length, 10);
    assert.deepEqual(
      c.bins.map((b) => b.pairs),
      [0, 0, 4, 0, 0, 0, 0, 4, 0, 0],
    );
    // The constant training frequency is here the same prediction.
    close(c.brier, c.brierBaseline, "brier vs baseline");
  });

  it("puts a probability on an edge in the bin below it, as scikit-learn does", () => {
    const values = [0, 0.1, 0.1 + 1e-12, 0.3, 0.30000000000000004, 0.5, 0.9, 1];
    const n = values.length;
    const c = calibration(
      labels(n, 1, new Array(n).fill(0)),
      probabilities(n, 1, values),
      Float64Array.of(0),
    );
    // numpy's linspace makes the third inner edge 3 × 0.1 = 0.30000000000000004.
    assert.deepEqual(
      c.bins.map((b) => b.pairs),
      [2, 1, 2, 0, 1, 0, 0, 0, 1, 1],
    );
    assert.equal(c.bins[2]?.to, 0.30000000000000004);
    assert.equal(c.bins[9]?.to, 1);
  });

  it("refuses bad input naming what is wrong", () => {
    const y = labels(2, 2, [1, 0, 0, 1]);
    const p = probabilities(2, 2, [0.5, 0.5, 0.5, 0.5]);
    const priors = Float64Array.of(0.5, 0.5);
    assert.throws(() => calibration(y, probabilities(1, 2, [0.5, 0.5]), priors), /shapes differ/);
    assert.throws(() => calibration(y, { ...p, rows: 3 }, priors), /data has 4 values/);
    assert.throws(
      () => calibration(y, probabilities(2, 2, [0.5, Number.NaN, 0.5, 0.5]), priors),
      /probability NaN at row 0, column 1 is not in \[0, 1\]/,
    );
    assert.throws(
      () => calibration(y, probabilities(2, 2, [0.5, 0.5, 1.5, 0.5]), priors),
      /probability 1.5 at row 1, column 0/,
    );
    assert.throws(() => calibration(labels(2, 2, [2, 0, 0, 1]), p, priors), /0 or 1/);
    assert.throws(() => calibration(y, p, Float64Array.of(0.5)), /1 training frequencies.*2/);
    assert.throws(
      () => calibration(y, p, Float64Array.of(0.5, Number.NaN)),
      /training frequency NaN of label 1/,
    );
    assert.throws(() => calibration(y, p, priors, 0), /bins must be a whole number/);
    assert.throws(() => calibration(labels(0, 2, []), probabilities(0, 2, []), priors), /no rows/);
  });
});

const SKLEARN_SCRIPT = `
import json, sys
import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss
case = json.load(sys.stdin)
rows, cols, n_bins = case["rows"], case["cols"], case["bins"]
y = np.array(case["y"], dtype=int).reshape(rows, cols)
p = np.array(case["p"], dtype=float).reshape(rows, cols)
priors = np.array(case["priors"], dtype=float)
prob_true, prob_pred = calibration_curve(y.ravel(), p.ravel(), n_bins=n_bins, strategy="uniform")
json.dump({
    "brier": brier_score_loss(y.ravel(), p.ravel(), pos_label=1),
    "brierBaseline": brier_score_loss(y.ravel(), np.tile(priors, rows), pos_label=1),
    "genreBrier": [brier_score_loss(y[:, k], p[:, k], pos_label=1) for k in range(cols)],
    "genreBaseline": [
        brier_score_loss(y[:, k], np.full(rows, priors[k]), pos_label=1) for k in range(cols)
    ],
    "observed": prob_true.tolist(),
    "meanProbability": prob_pred.tolist(),
}, sys.stdout)
`;

interface SklearnCalibration {
  brier: number;
  brierBaseline: number;
  genreBrier: number[];
  genreBaseline: number[];
  observed: number[];
  meanProbability: number[];
}

describe("calibration matches scikit-learn (live)", () => {
  it("Brier scores per label and the uniform calibration curve on a fresh random case", {
    skip: !hasPythonModules("sklearn") && `no ${PYTHON} with sklearn`,
  }, () => {
    const seed = Date.now() >>> 0;
    const rng = new Rng(seed);
    const rows = 100 + rng.int(400);
    const cols = 2 + rng.int(12);
    const bins = [5, 10, 15][rng.int(3)] as number;
    const y = new Uint8Array(rows * cols);
    const p = new Float64Array(rows * cols);
    const priors = new Float64Array(cols);
    for (let k = 0; k < cols; k++) {
      const rate = k === 0 ? 0 : 0.02 + 0.5 * rng.float();
      priors[k] = Math.min(1, Math.max(0, rate + 0.1 * (rng.float() - 0.5)));
      const sharpness = rng.float();
      for (let i = 0; i < rows; i++) {
        const truth = rng.float() < rate ? 1 : 0;
        y[i * cols + k] = truth;
        // Overconfident for some labels, underconfident for others; a share on the bin edges,
        // at 0 and at 1, as byte-quantized forest probabilities can be.
        const raw = rate + sharpness * (truth - rate) + 0.3 * (rng.float() - 0.5);
        const roll = rng.float();
        p[i * cols + k] =
          roll < 0.1
            ? rng.int(bins + 1) / bins
            : roll < 0.15
              ? rng.int(2)
              : Math.min(1, Math.max(0, raw));
      }
    }
    const input = JSON.stringify({ rows, cols, bins, y: [...y], p: [...p], priors: [...priors] });
    const r = spawnSync(PYTHON, ["-c", SKLEARN_SCRIPT], { input, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const expected = JSON.parse(r.stdout) as SklearnCalibration;
    const ours = calibration({ data: y, rows, cols }, { data: p, rows, cols }, priors, bins);
    const what = `seed ${seed}, ${rows}×${cols}, ${bins} bins`;
    close(ours.brier, expected.brier, `brier (${what})`);
    close(ours.brierBaseline, expected.brierBaseline, `baseline brier (${what})`);
    ours.genres.forEach((g, k) => {
      close(g.brier, expected.genreBrier[k] as number, `brier of label ${k} (${what})`);
      close(g.brierBaseline, expected.genreBaseline[k] as number, `baseline of ${k} (${what})`);
    });
    const filled = ours.bins.filter((b) => b.pairs > 0);
    assert.equal(filled.length, expected.observed.length, `non-empty bins (${what})`);
    filled.forEach((b, i) => {
      close(b.observed, expected.observed[i] as number, `observed rate of bin ${i} (${what})`);
      close(
        b.meanProbability,
        expected.meanProbability[i] as number,
        `mean probability of bin ${i} (${what})`,
      );
    });
    assert.equal(
      ours.bins.reduce((sum, b) => sum + b.pairs, 0),
      rows * cols,
    );
    const ece = filled.reduce(
      (sum, b) => sum + (b.pairs / (rows * cols)) * Math.abs(b.meanProbability - b.observed),
      0,
    );
    close(ours.ece, ece, `ece (${what})`);
  });
});
