// Fitting, predicting and evaluating genre models on feature tables, in process.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { InputError } from "../../src/common/errors.ts";
import { seededHash } from "../../src/datasets/assign.ts";
import { FeatureTable, type OutputColumn, writeTable } from "../../src/features/feature-table.ts";
import { MODEL_FORMAT_VERSION } from "../../src/ml/model.ts";
import { fitModel } from "../../src/training/fit.ts";
import { SEED_FEATURES } from "../../src/training/tables.ts";
import {
  evaluateTable,
  loadModel,
  predictTable,
  saveModel,
  writePredictions,
} from "../../src/training/use.ts";
import { writeGenreTable } from "./tables.ts";

let dir: string;
let train: FeatureTable;
let valid: FeatureTable;
const quick = { nTrees: 12, workers: 0, seed: 1 };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "gc-training-"));
  await writeGenreTable(join(dir, "train.csv"), 600, 1);
  await writeGenreTable(join(dir, "valid.parquet"), 200, 2);
  train = await FeatureTable.read(join(dir, "train.csv"), { text: ["track_id", "genres"] });
  valid = await FeatureTable.read(join(dir, "valid.parquet"), { text: ["track_id", "genres"] });
});
after(() => rm(dir, { recursive: true, force: true }));

describe("fit", () => {
  it("beats the most-frequent baseline and the seed's model on validation", async () => {
    const { model, summary } = await fitModel({
      train,
      valid,
      forest: quick,
      baselineK: 2,
      seedBaseline: true,
    });
    assert.deepEqual(summary.features, [...SEED_FEATURES, "brightness", "energy"]);
    assert.deepEqual([...model.labels].sort(), ["blues", "folk", "jazz", "metal", "pop", "rock"]);
    const counts = model.binarizer.state.counts;
    assert.ok(counts.every((c, k) => k === 0 || c <= (counts[k - 1] as number)));
    assert.equal(summary.train.used + summary.train.droppedWithoutTopGenre, 600);
    const v = summary.validation;
    const tuned = v.model;
    const baseline = v["most-frequent-2"];
    const seed = v["seed model (balanced forest, 0.5)"];
    assert.ok(tuned && baseline && seed && v["model at threshold 0.5"]);
    assert.ok(tuned.jaccardSamples > baseline.jaccardSamples + 0.1, JSON.stringify(v));
    assert.ok(tuned.jaccardSamples > seed.jaccardSamples, JSON.stringify(v));
    assert.ok(tuned.f1Micro > baseline.f1Micro && tuned.f1Micro > seed.f1Micro, JSON.stringify(v));
    assert.equal(Object.keys(summary.decision.thresholds).length, 6);
  });

  it("works on the seed's six features alone, and as the most-frequent kind", async () => {
    const six = await fitModel({ train, valid, features: [...SEED_FEATURES], forest: quick });
    assert.deepEqual(six.model.features, SEED_FEATURES);
    const constant = await fitModel({ train, valid, kind: "most-frequent", baselineK: 2 });
    assert.equal(constant.model.parts.forest, null);
    assert.deepEqual(
      constant.summary.validation.model,
      constant.summary.validation["most-frequent-2"],
    );
  });

  it("uses a feature a Parquet table stores as text as the CSV's, and names a text cell in it", async () => {
    const asText = async (name: string, energy: (value: number, row: number) => string) => {
      const path = join(dir, name);
      const columns: OutputColumn[] = [
        { name: "track_id", kind: "text", values: train.text("track_id") },
        { name: "genres", kind: "list", values: train.genres() },
      ];
      for (const feature of train.featureColumns()) {
        const values = train.numeric(feature);
        columns.push(
          feature === "energy"
            ? { name: feature, kind: "text", values: Array.from(values, energy) }
            : { name: feature, kind: "number", values },
        );
      }
      await writeTable(path, columns);
      return FeatureTable.read(path, { text: ["track_id", "genres"] });
    };
    const stored = await asText("energy-text.parquet", (v) => String(v));
    const fromText = await fitModel({ train: stored, valid, forest: quick });
    const fromNumbers = await fitModel({ train, valid, forest: quick });
    assert.deepEqual(fromText.summary.features, fromNumbers.summary.features);
    assert.ok(fromText.summary.features.includes("energy"));
    assert.deepEqual(fromText.summary.validation, fromNumbers.summary.validation);
    const typo = await asText("energy-typo.parquet", (v, i) => (i === 4 ? "high" : String(v)));
    await assert.rejects(
      fitModel({ train: typo, valid, forest: quick }),
      /energy-typo\.parquet: column "energy": row 5: "high" is not a number/,
    );
  });

  it("refuses unknown features, missing validation columns and unseen validation genres", async () => {
    await assert.rejects(
      fitModel({ train, valid, features: ["tempo", "bpm"] }),
      /no column "bpm" \(asked for as a feature\)/,
    );
    await assert.rejects(fitModel({ train, valid, features: ["genres"] }), /holds the labels/);
    const path = join(dir, "narrow.csv");
    await writeFile(path, "track_id,tempo,genres\nT1,120,rock|zydeco\nT2,99,pop\n");
    const narrow = await FeatureTable.read(path, { text: ["track_id", "genres"] });
    await assert.rejects(
      fitModel({ train, valid: narrow }),
      /narrow\.csv: missing feature columns "duration", "key"/,
    );
    await assert.rejects(
      fitModel({ train, valid: narrow, features: ["tempo"], forest: quick }),
      /narrow\.csv: row 1 has genre "zydeco", which the training table .* never had; pass --ignore-unseen-genres/,
    );
    const ignored = await fitModel({
      train,
      valid: narrow,
      features: ["tempo"],
      forest: quick,
      unseenGenres: "ignore",
    });
    assert.equal(ignored.summary.valid.used, 2);
  });
});

describe("predict and evaluate", () => {
  it("predicts the same genres after saving and loading, and evaluates beside the baseline", async () => {
    const { model } = await fitModel({ train, valid, forest: quick });
    const saved = await saveModel(join(dir, "model"), model);
    const { model: loaded, path } = await loadModel(join(dir, "model"));
    assert.equal(path, saved);
    const before = await predictTable(model, valid);
    const afterLoad = await predictTable(loaded, valid);
    assert.deepEqual(afterLoad, before);
    assert.equal(before.trackIds[0], "V2-0");
    const out = join(dir, "predictions.csv");
    await writePredictions(out, loaded, afterLoad);
    const text = await readFile(out, "utf8");
    const header = ["track_id", "genres", ...loaded.labels.map((g) => `p(${g})`)].join(",");
    assert.equal(text.split("\n")[0], header);
    assert.equal(text.trim().split("\n").length, 201);
    const evaluation = await evaluateTable(loaded, valid, { baselineK: 1 });
    assert.equal(evaluation.evaluated + evaluation.droppedWithoutTopGenre, 200);
    assert.ok(
      evaluation.model.jaccardSamples >
        (evaluation.baselines["most-frequent-1"]?.jaccardSamples ?? 1),
    );
    assert.deepEqual(
      evaluation.perGenre.map((g) => g.genre),
      loaded.labels,
    );
    assert.ok(
      evaluation.perGenre.every((g) => g.rocAuc === null || (g.rocAuc > 0.5 && g.rocAuc <= 1)),
    );
  });

  it("names a missing feature column, a missing file and another format version", async () => {
    const { model } = await fitModel({ train, valid, forest: quick });
    const path = join(dir, "few.csv");
    await writeFile(path, "track_id,tempo,year,genres\nT1,120,1999,rock\n");
    const few = await FeatureTable.read(path, { text: ["track_id", "genres"] });
    await assert.rejects(
      predictTable(model, few),
      /few\.csv: missing feature columns "duration", "key", "loudness", "mode", "brightness", "energy"/,
    );
    await assert.rejects(
      loadModel(join(dir, "nowhere")),
      /model .*nowhere: no such file or folder/,
    );
    const file = await saveModel(join(dir, "old"), model);
    const bytes = await readFile(file);
    const text = bytes
      .toString("latin1")
      .replace(`"version":${MODEL_FORMAT_VERSION},`, `"version":${MODEL_FORMAT_VERSION + 1},`);
    await writeFile(file, Buffer.from(text, "latin1"));
    await assert.rejects(
      loadModel(file),
      new RegExp(
        `old/model\\.gcm: model file format version ${MODEL_FORMAT_VERSION + 1} is not supported`,
      ),
    );
  });

  it("refuses a saved model with one digit of a threshold changed, naming the file", async () => {
    const { model } = await fitModel({ train, valid, forest: quick });
    const file = await saveModel(join(dir, "edited"), model);
    const text = (await readFile(file)).toString("latin1");
    const changed = text.replace(
      /("thresholds":\[\d\.)(\d)/,
      (_, before: string, digit: string) => `${before}${digit === "9" ? "1" : Number(digit) + 1}`,
    );
    assert.notEqual(changed, text);
    await writeFile(file, Buffer.from(changed, "latin1"));
    await assert.rejects(loadModel(file), (error: Error) => {
      assert.ok(error instanceof InputError, String(error));
      assert.match(error.message, /^model .*edited\/model\.gcm: .*damaged/);
      return true;
    });
  });
});

describe("fit settings", () => {
  it("tunes leaf size and features per split, reporting every trial, and keeps the best", async () => {
    const { model, summary } = await fitModel({
      train,
      valid,
      forest: quick,
      tune: { minSamplesLeaf: [1, 40], maxFeatures: ["sqrt", 0.9] },
    });
    assert.equal(summary.tuning.length, 4);
    const best = summary.tuning.reduce((a, b) => (b.score > a.score ? b : a));
    assert.equal(summary.forest?.minSamplesLeaf, best.minSamplesLeaf);
    assert.equal(summary.forest?.maxFeatures, best.maxFeatures);
    assert.equal(model.parts.forest?.info.options.minSamplesLeaf, best.minSamplesLeaf);
    assert.ok(new Set(summary.tuning.map((t) => t.score)).size > 1, "settings differ in score");
    await assert.rejects(
      fitModel({
        train,
        valid,
        forest: quick,
        tune: { minSamplesLeaf: [], maxFeatures: ["sqrt"] },
      }),
      /tune: give at least one leaf size/,
    );
  });

  it("tunes on validation rows alone without artist_id, and refuses out-of-bag tuning then", async () => {
    const { summary } = await fitModel({ train, valid, forest: quick });
    assert.equal(summary.decision.tunedOn, "validation");
    assert.equal(summary.decision.tuningRows, summary.valid.used);
    assert.equal(summary.refit, false);
    assert.deepEqual(
      summary.tuning.map((t) => t.minSamplesLeaf),
      [20, 3],
      "the leaf sizes tried without --min-samples-leaf",
    );
    assert.equal(summary.perGenre.length, summary.labels);
    assert.ok(summary.calibration && summary.calibration.bins.length === 10);
    await assert.rejects(
      fitModel({ train, valid, forest: quick, tuneOn: "validation+out-of-bag" }),
      (error: Error) => error instanceof InputError && /no artist_id column/.test(error.message),
    );
  });

  const realTracks = join(import.meta.dirname, "../../../shared/msd-10k-dev/tracks.csv");
  it("on real tracks of unseen artists: out-of-bag tuning by artist, refit, calibrated, above the baseline", {
    skip: existsSync(realTracks) ? false : "no ../shared/msd-10k-dev",
  }, async () => {
    const text = ["track_id", "artist_id", "artist_name", "title", "genres"];
    const all = await FeatureTable.read(realTracks, { text });
    const artists = all.text("artist_id");
    const inValid = (i: number) => seededHash(3, artists[i] as string) < "4";
    const rows = (pick: boolean) =>
      Uint32Array.from(
        Array.from({ length: 3000 }, (_, i) => i).filter((i) => inValid(i) === pick),
      );
    const realTrain = all.select(rows(false), "real training rows");
    const realValid = all.select(rows(true), "real validation rows");
    const { summary } = await fitModel({
      train: realTrain,
      valid: realValid,
      features: [...SEED_FEATURES],
      forest: { workers: 0, nTrees: 40 },
      unseenGenres: "ignore",
      refit: true,
      tuneOn: "auto",
      shrinkage: 100,
    });
    assert.equal(summary.decision.tunedOn, "validation+out-of-bag");
    assert.ok(summary.decision.tuningRows > summary.valid.used + 0.9 * summary.train.used);
    assert.equal(summary.refit, true);
    const v = summary.validation;
    assert.ok(
      (v.model?.jaccardSamples as number) > (v["most-frequent-5"]?.jaccardSamples as number),
      JSON.stringify(v),
    );
    const cal = summary.calibration;
    assert.ok(cal && cal.brier < cal.brierBaseline, JSON.stringify(cal));
  });
});
