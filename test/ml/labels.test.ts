// The top-K genre label binarizer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LabelBinarizer } from "../../src/ml/labels.ts";

describe("label binarizer", () => {
  const train = [["rock", "pop"], ["rock"], ["jazz", "rock"], ["pop"], ["blues"], [], ["jazz"]];

  it("keeps the top K genres by training frequency, ties by name", () => {
    const labels = LabelBinarizer.fit(train, 3);
    assert.deepEqual(labels.labels, ["rock", "jazz", "pop"]);
    assert.deepEqual(labels.state.counts, [3, 2, 2]);
    assert.deepEqual(labels.state.known, ["blues", "jazz", "pop", "rock"]);
    assert.equal(labels.state.trainingRows, 7);
    assert.deepEqual(LabelBinarizer.fit(train, 50).labels, ["rock", "jazz", "pop", "blues"]);
  });

  it("drops rows without a top-K genre and reports genres never seen", () => {
    const labels = LabelBinarizer.fit(train, 2);
    const out = labels.transform([
      ["pop", "jazz"],
      ["blues"],
      ["rock", "rock"],
      ["zydeco", "rock"],
      [],
    ]);
    assert.deepEqual(Array.from(out.kept), [0, 2, 3]);
    assert.equal(out.dropped, 2);
    assert.deepEqual(Array.from(out.y.data), [0, 1, 1, 0, 1, 0]);
    assert.deepEqual([...out.unseen], [["zydeco", 3]]);
    assert.deepEqual(labels.decode(out.y), [["jazz"], ["rock"], ["rock"]]);
  });

  it("refuses a K below 1 and training rows without genres", () => {
    assert.throws(() => LabelBinarizer.fit(train, 0), /top-k must be an integer ≥ 1/);
    assert.throws(() => LabelBinarizer.fit([[], []]), /no training track has a genre/);
  });
});
