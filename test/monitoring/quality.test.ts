// A day's multi-label quality against its labels and the baseline, and the prediction-drift
// columns, on small cases worked out by hand.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InputError } from "../../src/common/errors.ts";
import {
  dayQuality,
  GENRES_PER_TRACK,
  predictedGenreColumn,
  predictionColumns,
} from "../../src/monitoring/quality.ts";

const GENRES = ["rock", "pop", "jazz"];

describe("day quality", () => {
  it("scores the predictions and the most-frequent baseline against the labels", () => {
    const truth = [["rock"], ["rock", "jazz"], ["pop"], ["ambient"]];
    const predicted = [["rock"], ["rock"], ["jazz"], []];
    const q = dayQuality({
      genres: GENRES,
      truth,
      predicted,
      baselineK: 1,
      validation: {
        model: { jaccardSamples: 0.5, hammingLoss: 0.2, f1Micro: 0.6, f1Macro: 0.4 },
        genreF1: { rock: 0.9 },
      },
    });
    assert.equal(q.tracks, 4);
    // Rows: 1, 1/2, 0, and 0 for the track whose only genre the model does not know.
    assert.equal(q.current.jaccardSamples, (1 + 0.5 + 0 + 0) / 4);
    // Wrong cells: row 2 misses jazz, row 3 misses pop and adds jazz: 3 of 12.
    assert.equal(q.current.hammingLoss, 3 / 12);
    // tp 2, fp 1, fn 2: micro F1 = 4 / (4 + 3).
    assert.ok(Math.abs(q.current.f1Micro - 4 / 7) < 1e-12);
    const rock = q.genres.find((g) => g.genre === "rock");
    assert.deepEqual(rock, {
      genre: "rock",
      precision: 1,
      recall: 1,
      f1: 1,
      support: 2,
      validationF1: 0.9,
    });
    assert.equal(q.genres.find((g) => g.genre === "pop")?.validationF1, undefined);
    // The baseline predicts "rock" everywhere: rows 1, 1/2, 0, 0.
    assert.equal(q.baseline?.jaccardSamples, 1.5 / 4);
    assert.equal(q.validation?.jaccardSamples, 0.5);
  });

  it("refuses mismatched or empty input with one line", () => {
    assert.throws(
      () => dayQuality({ genres: GENRES, truth: [["rock"]], predicted: [], baselineK: 1 }),
      (e) => e instanceof InputError && /1 labelled tracks but 0 predicted/.test(e.message),
    );
    assert.throws(
      () => dayQuality({ genres: GENRES, truth: [], predicted: [], baselineK: 1 }),
      /no tracks to score/,
    );
    assert.throws(
      () => dayQuality({ genres: GENRES, truth: [[]], predicted: [[]], baselineK: 0 }),
      /baselineK 0/,
    );
  });
});

describe("prediction columns", () => {
  it("gives each genre's indicator and the genres per track", () => {
    const columns = predictionColumns(GENRES, [["rock", "jazz"], [], ["pop", "unknown"]]);
    assert.deepEqual([...(columns.get(predictedGenreColumn("rock")) ?? [])], [1, 0, 0]);
    assert.deepEqual([...(columns.get(predictedGenreColumn("pop")) ?? [])], [0, 0, 1]);
    assert.deepEqual([...(columns.get(GENRES_PER_TRACK) ?? [])], [2, 0, 1]);
    assert.equal(columns.size, GENRES.length + 1);
  });
});
