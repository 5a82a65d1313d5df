// A loaded model's online predictor on a real small forest: JSON and form tracks checked field
// by field, predictions equal to the model's own on the same rows, imputed features listed
// (left out, null, or unknown to training's rules: year 0, a tempo beyond folding), and the
// batch path equal to the one-track path.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { GenreModel } from "../../src/ml/model.ts";
import { PredictInputError } from "../../src/serving/errors.ts";
import { ModelPredictor } from "../../src/serving/predictor.ts";
import { completeRow, fitSmallModel } from "../helpers/genre-model.ts";

describe("online predictor", () => {
  let dir: string;
  let model: GenreModel;
  let predictor: ModelPredictor;
  let track: Record<string, number>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gc-predictor-"));
    model = await fitSmallModel(dir, { seed: 1 });
    predictor = new ModelPredictor(model);
    const row = completeRow(11, 500);
    track = Object.fromEntries(model.features.map((f) => [f, row[f] as number]));
    track.year = 1994;
    track.tempo = 121;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The model's own probabilities for one row of named values (absent: NaN). */
  const offline = (values: Record<string, number | null>): Float64Array => {
    const x = Float64Array.from(model.features, (f) => values[f] ?? Number.NaN);
    return model.predictProba({ data: x, rows: 1, cols: x.length }).data;
  };

  const refusal = (run: () => unknown, field: string, message: RegExp) => {
    assert.throws(run, (error: unknown) => {
      assert.ok(error instanceof PredictInputError, String(error));
      assert.equal(error.field, field);
      assert.match(error.message, message);
      return true;
    });
  };

  it("predicts a full track as the model does, genres above their thresholds, nothing imputed", () => {
    const [answer] = predictor.predictNow(
      predictor.parseJson({ tracks: [{ track_id: "TR1", ...track }] }, 10),
    );
    assert.ok(answer);
    assert.equal(answer.track_id, "TR1");
    assert.deepEqual(answer.imputed, []);
    const expected = offline(track);
    const labels = model.labels;
    assert.deepEqual(Object.keys(answer.probabilities).sort(), [...labels].sort());
    labels.forEach((genre, k) => {
      assert.equal(answer.probabilities[genre], expected[k], genre);
    });
    const values = Object.values(answer.probabilities);
    assert.deepEqual(
      values,
      [...values].sort((a, b) => b - a),
    );
    const thresholds = model.parts.decision.thresholds;
    const above = labels.filter((_genre, k) => (expected[k] as number) > (thresholds[k] as number));
    if (above.length > 0) assert.deepEqual([...answer.genres].sort(), [...above].sort());
    else assert.ok(answer.genres.length <= 1);
  });

  it("imputes a left-out or null feature, year 0 and a tempo beyond folding as training does, and lists them", () => {
    const partial: Record<string, number | null> = { ...track, loudness: null, year: 0 };
    delete partial.duration;
    partial.tempo = 900;
    const [answer] = predictor.predictNow(predictor.parseJson({ tracks: [partial] }, 10));
    assert.ok(answer);
    assert.deepEqual([...answer.imputed].sort(), ["duration", "loudness", "tempo", "year"]);
    const expected = offline(partial);
    model.labels.forEach((genre, k) => {
      assert.equal(answer.probabilities[genre], expected[k], genre);
    });
    const [empty] = predictor.predictNow(predictor.parseJson({ tracks: [{}] }, 10));
    assert.equal(empty?.imputed.length, model.features.length);
  });

  it("gives a batch the same answers as one track at a time", async () => {
    const tracks = Array.from({ length: 30 }, (_, i) => ({
      ...track,
      tempo: 70 + i * 4,
      ...(i % 3 === 0 ? { loudness: null } : {}),
    }));
    const batch = await predictor.predict(predictor.parseJson({ tracks }, 100));
    assert.equal(batch.length, 30);
    tracks.forEach((t, i) => {
      const [one] = predictor.predictNow(predictor.parseJson({ tracks: [t] }, 1));
      assert.deepEqual(batch[i], one, `track ${i}`);
    });
  });

  it("refuses a body that is not {tracks: [...]}, naming the field", () => {
    refusal(() => predictor.parseJson([], 10), "body", /expected a JSON object/);
    refusal(() => predictor.parseJson({ tracks: [{}], model: 2 }, 10), "model", /unknown field/);
    refusal(() => predictor.parseJson({ tracks: "x" }, 10), "tracks", /expected an array/);
    refusal(() => predictor.parseJson({}, 10), "tracks", /got nothing/);
    refusal(() => predictor.parseJson({ tracks: [] }, 10), "tracks", /no tracks/);
    refusal(() => predictor.parseJson({ tracks: [{}, 5] }, 10), "tracks[1]", /got 5/);
  });

  it("refuses an unknown feature, a non-numeric or non-finite value and a bad track id, naming the field", () => {
    refusal(
      () => predictor.parseJson({ tracks: [track, { ...track, energy: 0.5 }] }, 10),
      "tracks[1].energy",
      /^tracks\[1\]\.energy: unknown feature "energy"; the model knows \d+ features/,
    );
    refusal(
      () => predictor.parseJson({ tracks: [{ Tempo: 1 }] }, 10),
      "tracks[0].Tempo",
      /did you mean "tempo"\?/,
    );
    refusal(
      () => predictor.parseJson({ tracks: [track, track, track, { tempo: "fast" }] }, 10),
      "tracks[3].tempo",
      /^tracks\[3\]\.tempo: expected a number, got "fast"$/,
    );
    refusal(
      () => predictor.parseJson({ tracks: [{ tempo: true }] }, 10),
      "tracks[0].tempo",
      /expected a number, got true/,
    );
    refusal(
      () => predictor.parseJson({ tracks: [{ tempo: [1] }] }, 10),
      "tracks[0].tempo",
      /got an array/,
    );
    refusal(
      () => predictor.parseJson(JSON.parse('{"tracks":[{"tempo":1e999}]}'), 10),
      "tracks[0].tempo",
      /not a finite number/,
    );
    refusal(
      () => predictor.parseJson({ tracks: [{ track_id: 7 }] }, 10),
      "tracks[0].track_id",
      /expected a text/,
    );
  });

  it("refuses more tracks than the batch allows", () => {
    refusal(
      () => predictor.parseJson({ tracks: [{}, {}, {}] }, 2),
      "tracks",
      /3 tracks, more than the 2 one request may hold \(server\.predict\.maxBatch\)/,
    );
  });

  it("reads a form's text fields: empty is imputed, text that is no number is refused", () => {
    const fields = Object.fromEntries(
      Object.entries(track).map(([name, value]) => [name, String(value)]),
    );
    fields.loudness = " ";
    const [answer] = predictor.predictNow(predictor.parseForm(fields));
    assert.deepEqual(answer?.imputed, ["loudness"]);
    const expected = offline({ ...track, loudness: null });
    model.labels.forEach((genre, k) => {
      assert.equal(answer?.probabilities[genre], expected[k], genre);
    });
    refusal(
      () => predictor.parseForm({ tempo: "fast" }),
      "tempo",
      /^tempo: expected a number, got "fast"$/,
    );
    refusal(() => predictor.parseForm({ bogus: "1" }), "bogus", /unknown feature "bogus"/);
  });
});
