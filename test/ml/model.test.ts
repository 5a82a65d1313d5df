// Genre models and their file format: round trips, compact leaves, and refusals.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InputError } from "../../src/common/errors.ts";
import { mostFrequentPrediction, tuneDecision } from "../../src/ml/decision.ts";
import {
  type ForestArrays,
  type RandomForest,
  serializeForest,
  trainForestInThread,
} from "../../src/ml/forest.ts";
import { LabelBinarizer } from "../../src/ml/labels.ts";
import type { RealMatrix } from "../../src/ml/matrix.ts";
import {
  decodeModel,
  encodeModel,
  GenreModel,
  MODEL_FORMAT_VERSION,
  quantizeLeaves,
} from "../../src/ml/model.ts";
import { fitPreprocessor } from "../../src/ml/preprocessing.ts";
import { Rng } from "../../src/ml/random.ts";
import { headerText, withHeader } from "./model-file.ts";

const GENRES = ["rock", "pop", "jazz", "blues", "folk"];

function data(n: number, seed: number): { x: Float64Array; genres: string[][] } {
  const rng = new Rng(seed);
  const d = 3;
  const x = new Float64Array(n * d);
  const genres: string[][] = [];
  for (let i = 0; i < n; i++) {
    const a = rng.float();
    const b = rng.float();
    x[i * d] = rng.float() < 0.1 ? Number.NaN : 100 * a;
    x[i * d + 1] = b;
    x[i * d + 2] = rng.int(4) === 0 ? 0 : 1990 + rng.int(20);
    const g = GENRES.filter((_, k) => (k % 2 === 0 ? a : b) > 0.3 + 0.12 * k);
    genres.push(g.length > 0 ? g : ["folk"]);
  }
  return { x, genres };
}

function fit(): { model: GenreModel; x: Float64Array } {
  const { x, genres } = data(400, 1);
  const labels = LabelBinarizer.fit(genres, 4);
  const { y, kept } = labels.transform(genres);
  const rows = Float64Array.from(
    Array.from(kept).flatMap((i) => Array.from(x.subarray(i * 3, i * 3 + 3))),
  );
  const { preprocessor, transformed } = fitPreprocessor(
    { data: rows, rows: kept.length, cols: 3 },
    { zeroAsMissing: [2], knn: { neighbors: 3 } },
  );
  const forest = quantizeLeaves(trainForestInThread(transformed, y, { nTrees: 8, seed: 3 }));
  const p = forest.predictProba(transformed);
  const tuned = tuneDecision(y, p);
  const model = new GenreModel({
    kind: "forest",
    features: ["a", "b", "year"],
    labels,
    preprocessor,
    forest,
    decision: { metric: "jaccard", thresholds: tuned.thresholds, atLeastOne: tuned.atLeastOne },
    baselineK: 2,
    metadata: { note: "test", rows: kept.length },
  });
  return { model, x };
}

function header(bytes: Uint8Array): {
  arrays: { name: string; type: string; length: number }[];
  forest: { leafEncoding: string };
} {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length)));
}

describe("genre model file", () => {
  const { model, x } = fit();
  const input = { data: x, rows: x.length / 3, cols: 3 };

  it("gives the same probabilities and genres after a round trip", () => {
    const bytes = encodeModel(model);
    const again = decodeModel(bytes);
    assert.deepEqual(again.features, ["a", "b", "year"]);
    assert.deepEqual(again.labels, model.labels);
    assert.deepEqual(again.parts.metadata, { note: "test", rows: model.parts.metadata.rows });
    const p1 = model.predictProba(input);
    const p2 = again.predictProba(input);
    assert.deepEqual(p2.data, p1.data);
    assert.deepEqual(again.decide(p2).data, model.decide(p1).data);
    assert.deepEqual(encodeModel(again), bytes);
    // As node reads files: a Buffer, possibly a view into a larger pooled buffer.
    const pooled = Buffer.concat([Buffer.from("padding"), Buffer.from(bytes)]).subarray(7);
    assert.deepEqual(decodeModel(pooled).predictProba(input).data, p1.data);
  });

  it("keeps leaves sparse and quantized, smaller than dense float32", () => {
    const forest = model.parts.forest;
    assert.ok(forest);
    for (const t of forest.trees) {
      for (const v of t.values) assert.ok(Math.abs(v * 255 - Math.round(v * 255)) < 1e-4);
    }
    const q = quantizeLeaves(forest);
    assert.deepEqual(
      q.trees.map((t) => t.values),
      forest.trees.map((t) => t.values),
    );
    const dense = serializeForest(forest).arrays.values.byteLength;
    const leafBytes = header(encodeModel(model))
      .arrays.filter((a) => a.name.startsWith("forest.leaf"))
      .reduce((sum, a) => sum + a.length * (a.type === "u8" ? 1 : 2), 0);
    assert.ok(leafBytes <= dense / 4, `${leafBytes} bytes of leaves vs ${dense} dense`);
  });

  it("refuses other versions, other files and damaged files", () => {
    const bytes = encodeModel(model);
    const length = new DataView(bytes.buffer).getUint32(8, true);
    const header = new TextDecoder().decode(bytes.subarray(12, 12 + length));
    const bumped = header.replace(
      `"version":${MODEL_FORMAT_VERSION},`,
      `"version":${MODEL_FORMAT_VERSION + 1},`,
    );
    assert.equal(bumped.length, header.length);
    const other = Uint8Array.from(bytes);
    other.set(new TextEncoder().encode(bumped), 12);
    assert.throws(
      () => decodeModel(other),
      new RegExp(
        `model file format version ${MODEL_FORMAT_VERSION + 1} is not supported: this genre-classifier reads version ${MODEL_FORMAT_VERSION}`,
      ),
    );
    assert.throws(
      () => decodeModel(new TextEncoder().encode("track_id,genres\n")),
      /does not start with the model file signature/,
    );
    const damaged = Uint8Array.from(bytes);
    damaged[damaged.length - 3] = (damaged[damaged.length - 3] as number) ^ 0xff;
    assert.throws(() => decodeModel(damaged), /checksum/);
    assert.throws(() => decodeModel(bytes.subarray(0, bytes.length - 8)), /truncated/);
  });

  it("refuses a file whose header was changed, even one digit of a threshold", () => {
    const bytes = encodeModel(model);
    const { text } = headerText(bytes);
    const changed = text.replace(
      /("thresholds":\[\d\.)(\d)/,
      (_, before: string, digit: string) => `${before}${digit === "9" ? "1" : Number(digit) + 1}`,
    );
    assert.notEqual(changed, text);
    assert.equal(changed.length, text.length);
    const edited = Uint8Array.from(bytes);
    edited.set(new TextEncoder().encode(changed), 12);
    assert.throws(() => decodeModel(edited), /damaged.*checksum|checksum.*damaged/);
    const renamed = Uint8Array.from(bytes);
    renamed.set(new TextEncoder().encode(text.replace('"a"', '"z"')), 12);
    assert.throws(() => decodeModel(renamed), /checksum/);
  });

  it("refuses a well-formed file whose header lacks a field or has one of the wrong shape", () => {
    const bytes = encodeModel(model);
    assert.doesNotThrow(() => decodeModel(withHeader(bytes, () => {})));
    const cases: [(h: Record<string, unknown>) => void, RegExp][] = [
      [(h) => delete h.labels, /header field "labels"/],
      [(h) => delete h.decision, /header field "decision"/],
      [
        (h) => {
          (h.decision as { thresholds: unknown[] }).thresholds[1] = "0.5";
        },
        /header field "decision\.thresholds\.1"/,
      ],
      [(h) => (h.features = "a,b,year"), /header field "features"/],
      [(h) => (h.arrays = [{ name: "x" }]), /header field "arrays\.0\./],
    ];
    for (const [edit, pattern] of cases) {
      assert.throws(
        () => decodeModel(withHeader(bytes, edit)),
        (error: Error) => error instanceof InputError && pattern.test(error.message),
        String(pattern),
      );
    }
  });

  it("names the feature columns a table lacks", () => {
    model.checkColumns(["year", "b", "a", "extra"]);
    assert.throws(() => model.checkColumns(["a", "title"]), /missing feature columns "b", "year"/);
  });

  it("serves the most-frequent baseline as a model kind", () => {
    const baseline = new GenreModel({
      ...model.parts,
      kind: "most-frequent",
      forest: null,
      preprocessor: null,
      decision: { metric: null, thresholds: new Float64Array(4), atLeastOne: false },
      baselineK: 2,
    });
    const again = decodeModel(encodeModel(baseline));
    const p = again.predictProba(input);
    assert.equal(
      p.data[1],
      (model.binarizer.state.counts[1] as number) / model.binarizer.state.trainingRows,
    );
    assert.deepEqual(again.decide(p).data, mostFrequentPrediction(input.rows, 4, 2).data);
  });
});

/** A forest model on `n` rows of two features, each row with one or two of `nLabels` genres. */
function manyGenres(nLabels: number, minSamplesLeaf: number): { model: GenreModel; x: RealMatrix } {
  const rng = new Rng(5);
  const n = 600;
  const x = new Float64Array(n * 2);
  const genres: string[][] = [];
  for (let i = 0; i < n; i++) {
    const a = rng.float();
    const b = rng.float();
    x[i * 2] = a;
    x[i * 2 + 1] = rng.float() < 0.05 ? Number.NaN : b;
    const g = [`g${Math.floor(a * nLabels)}`];
    if (b > 0.7) g.push(`g${Math.floor(b * nLabels)}`);
    genres.push(g);
  }
  const labels = LabelBinarizer.fit(genres, nLabels);
  const { y } = labels.transform(genres);
  const input = { data: x, rows: n, cols: 2 };
  const { preprocessor, transformed } = fitPreprocessor(input, { knn: { neighbors: 3 } });
  const forest = quantizeLeaves(
    trainForestInThread(transformed, y, { nTrees: 6, seed: 2, minSamplesLeaf }),
  );
  const tuned = tuneDecision(y, forest.predictProba(transformed));
  const model = new GenreModel({
    kind: "forest",
    features: ["a", "b"],
    labels,
    preprocessor,
    forest,
    decision: { metric: "jaccard", thresholds: tuned.thresholds, atLeastOne: tuned.atLeastOne },
    baselineK: 2,
    metadata: {},
  });
  return { model, x: input };
}

describe("a fitted forest's model file", () => {
  for (const [encoding, nLabels, minSamplesLeaf] of [
    ["sparse-uint8", 30, 1],
    ["dense-uint8", 30, 40],
    ["dense-uint8", 4, 1],
  ] as const) {
    it(`holds the forest's own trees and gives its predictions (${nLabels} genres, ${encoding} leaves)`, () => {
      const { model, x } = manyGenres(nLabels, minSamplesLeaf);
      const bytes = encodeModel(model);
      assert.equal(header(bytes).forest.leafEncoding, encoding);
      const again = decodeModel(bytes);
      const fitted = serializeForest(model.parts.forest as RandomForest);
      const stored = serializeForest(again.parts.forest as RandomForest);
      assert.deepEqual(stored.header, fitted.header);
      for (const [name, array] of Object.entries(fitted.arrays)) {
        assert.deepEqual(stored.arrays[name as keyof ForestArrays], array, name);
      }
      const p = model.predictProba(x);
      assert.deepEqual(again.predictProba(x).data, p.data);
      assert.deepEqual(again.decide(p).data, model.decide(p).data);
    });
  }
});
