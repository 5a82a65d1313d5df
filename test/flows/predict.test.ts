// The predict flow on a small split in a local store, with models fitted
// here and registered in a SQLite tracking store: days written in order with exactly their
// tracks and the champion's lineage, re-runs that write nothing, force that rewrites the same
// bytes, a new champion that does not mix into a predicted day, every refusal (exit 2, nothing
// written), and a model read through an HTTP tracking server.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { silentLogger as silent } from "../../src/common/logger.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import { readSplitManifest, type SplitManifest } from "../../src/datasets/manifest.ts";
import { dayKey, splitDataset } from "../../src/datasets/split.ts";
import { FeatureTable, writeTable } from "../../src/features/feature-table.ts";
import { readTable } from "../../src/features/table.ts";
import { setPipelineEnvironment } from "../../src/flows/environment.ts";
import { type PredictResult, predictFlow, predictionKey } from "../../src/flows/predict.ts";
import { Orchestrator } from "../../src/orchestration/runtime.ts";
import { startTrackingServer } from "../../src/server/tracking-server.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";
import type { ObjectStore } from "../../src/storage/object-store.ts";
import { StoreTrackingClient } from "../../src/tracking/client.ts";
import { fitModel } from "../../src/training/fit.ts";
import { saveModel } from "../../src/training/use.ts";
import { cleanEnv, runCli } from "../helpers/cli.ts";

const MODEL = "genre-classifier";
/**
 * A feature table of 300 tracks, 60 of them from the newest year (2010): 3 days of 25; with
 * `brightness`, one more feature column than the split's tables have.
 */
async function writeFeatures(path: string, brightness = false): Promise<void> {
  let state = 7;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const n = 300;
  const ids: string[] = [];
  const artists: string[] = [];
  const genres: string[][] = [];
  const year = new Float64Array(n);
  const tempo = new Float64Array(n);
  const loudness = new Float64Array(n);
  const energy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    ids.push(`TRP${String(i).padStart(5, "0")}`);
    artists.push(`AR${String(Math.floor(next() * 40)).padStart(3, "0")}`);
    year[i] = i % 5 === 0 ? 2010 : 1980 + Math.floor(next() * 25);
    tempo[i] = 60 + next() * 120;
    energy[i] = next();
    loudness[i] = -25 + 20 * (energy[i] as number) + next();
    const g = [(energy[i] as number) > 0.5 ? "rock" : "folk"];
    if ((tempo[i] as number) > 120) g.push("jazz");
    genres.push(g);
  }
  await writeTable(path, [
    { name: "track_id", kind: "text", values: ids },
    { name: "artist_id", kind: "text", values: artists },
    { name: "year", kind: "number", values: year },
    { name: "tempo", kind: "number", values: tempo },
    { name: "loudness", kind: "number", values: loudness },
    { name: "energy", kind: "number", values: energy },
    ...(brightness
      ? [{ name: "brightness", kind: "number" as const, values: tempo.map((t) => t / 200) }]
      : []),
    { name: "genres", kind: "list", values: genres },
  ]);
}

async function localTable(store: ObjectStore, key: string, dir: string): Promise<FeatureTable> {
  const path = join(dir, key.replaceAll("/", "_"));
  await store.getFile(key, path);
  return FeatureTable.read(path, { text: ["track_id", "genres"] });
}

/** Fits a small forest on the split (or on a table with one more column) and registers it. */
async function registerModel(
  client: StoreTrackingClient,
  store: ObjectStore,
  dir: string,
  options: { seed: number; alias: string; extraFeature?: boolean },
): Promise<string> {
  let train: FeatureTable;
  let valid: FeatureTable;
  if (options.extraFeature) {
    const path = join(dir, "wider.parquet");
    await writeFeatures(path, true);
    train = await FeatureTable.read(path, { text: ["track_id", "artist_id", "genres"] });
    valid = train;
  } else {
    train = await localTable(store, "datasets/split/train.parquet", dir);
    valid = await localTable(store, "datasets/split/valid.parquet", dir);
  }
  const { model } = await fitModel({
    train,
    valid,
    forest: { nTrees: 4, seed: options.seed, maxFeatures: 0.5, minSamplesLeaf: 3 },
  });
  const experiment = await client.getOrCreateExperiment("genre-classifier");
  const run = await client.startRun(experiment.experimentId);
  const folder = join(dir, `model-${run.info.runId}`);
  await saveModel(folder, model);
  await client.logArtifactFolder(run.info.runId, folder, "model");
  await client.endRun(run.info.runId);
  const version = await client.registerModelVersion(MODEL, run.info.runId, "model");
  await client.setAlias(MODEL, options.alias, version.version);
  return version.version;
}

describe("predict and daily-inference flows", () => {
  let cwd: string;
  let dir: string;
  let config: Config;
  let store: LocalObjectStore;
  let client: StoreTrackingClient;
  let manifest: SplitManifest;
  let orchestrator: Orchestrator;
  let firstRunId: string;

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "gc-predict-"));
    dir = join(cwd, "scratch");
    await mkdir(dir, { recursive: true });
    config = loadConfig({ cwd, env: {} }).config;
    store = new LocalObjectStore(new URL(config.storage.uri as string).pathname);
    await store.check().catch(() => {});
    const features = join(cwd, "features.parquet");
    await writeFeatures(features);
    await store.putFile("datasets/features.parquet", features);
    await splitDataset(store, { batchSize: 25 });
    manifest = await readSplitManifest(store);
    assert.equal(manifest.days.length, 3);
    client = await StoreTrackingClient.open(config.tracking.uri as string, store);
    await registerModel(client, store, dir, { seed: 1, alias: "champion" });
    firstRunId = (await client.getModelVersionByAlias(MODEL, "champion")).runId;
    setPipelineEnvironment({ config, log: silent, openStore: () => store });
    orchestrator = await Orchestrator.open({
      databaseUri: config.tracking.uri as string,
      store,
      heartbeatMs: 500,
    });
  });

  after(async () => {
    await orchestrator?.close();
    await client?.close();
    await rm(cwd, { recursive: true, force: true });
  });

  const predictionsOf = async (day: number) => {
    const path = join(new URL(config.storage.uri as string).pathname, predictionKey(day));
    return { path, ...(await readTable(path)) };
  };
  const dayTrackIds = async (day: number) => {
    const path = join(
      new URL(config.storage.uri as string).pathname,
      dayKey(day, "tracks.parquet"),
    );
    return (await readTable(path, ["track_id"])).rows.map((r) => r.track_id);
  };
  const listPredictions = async () =>
    (await store.list("predictions/", { recursive: true })).objects.map(
      (o) => `${o.key} ${o.etag} ${o.lastModified.getTime()}`,
    );
  const predict = async (parameters: Record<string, unknown>) => {
    const outcome = await orchestrator.run(predictFlow, parameters);
    assert.equal(outcome.state, "completed", outcome.error);
    return outcome.result as PredictResult & { status: string; day: number };
  };

  it("writes day 1 from the CLI, then day 2, each with exactly that day's tracks and the champion's lineage", async () => {
    const first = await runCli(["predict", "-q"], { cwd, env: cleanEnv() });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /day: +1 \(written\)/);
    assert.match(first.stdout, /tracks: 25/);
    assert.match(first.stdout, /model: +genre-classifier version 1/);
    assert.match(first.stdout, /output: .*predictions\/day=0001\/predictions\.parquet/);

    const second = await predict({});
    assert.equal(second.status, "written");
    assert.equal(second.day, 2);

    for (const day of [1, 2]) {
      const { rows, columns } = await predictionsOf(day);
      assert.deepEqual(
        rows.map((r) => r.track_id),
        await dayTrackIds(day),
      );
      assert.deepEqual(columns.slice(0, 2), ["track_id", "genres"]);
      assert.ok(columns.includes("p_rock") && columns.includes("p_folk"), columns.join());
      assert.deepEqual(columns.slice(-3), ["model_name", "model_version", "run_id"]);
      for (const row of rows) {
        assert.equal(row.model_name, MODEL);
        assert.equal(row.model_version, "1");
        assert.equal(row.run_id, firstRunId);
        assert.ok(Array.isArray(row.genres));
        const p = row.p_rock as number;
        assert.ok(p >= 0 && p <= 1);
      }
      const record = JSON.parse(
        await readFile(
          join(new URL(config.storage.uri as string).pathname, predictionKey(day, "run.json")),
          "utf8",
        ),
      );
      assert.equal(record.day, day);
      assert.equal(record.model.version, "1");
      assert.equal(record.tracks, manifest.days[day - 1]?.tracks.rows);
    }
  });

  it("leaves a predicted day alone, and force rewrites the same bytes", async () => {
    const { path } = await predictionsOf(1);
    const bytes = await readFile(path);
    const listed = await listPredictions();
    const again = await predict({ day: 1 });
    assert.equal(again.status, "unchanged");
    assert.match(again.message, /already holds the predictions of genre-classifier version 1/);
    assert.deepEqual(await listPredictions(), listed);

    const mtime = (await stat(path)).mtimeMs;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const forced = await predict({ day: 1, force: "true" });
    assert.equal(forced.status, "rewritten");
    assert.ok((await stat(path)).mtimeMs > mtime, "force writes the file again");
    assert.deepEqual(await readFile(path), bytes);
  });

  it("does not mix a new champion into a day predicted by the old one unless forced", async () => {
    const listed = await listPredictions();
    const version = await registerModel(client, store, dir, { seed: 2, alias: "champion" });
    assert.equal(version, "2");
    const kept = await predict({ day: 1 });
    assert.equal(kept.status, "kept");
    assert.match(
      kept.message,
      /day 1 holds the predictions of genre-classifier version 1, not champion genre-classifier version 2: skipped \(force=true replaces them\)/,
    );
    assert.deepEqual(await listPredictions(), listed);
    const replaced = await predict({ day: 1, force: true });
    assert.equal(replaced.status, "rewritten");
    const versions = new Set((await predictionsOf(1)).rows.map((r) => r.model_version));
    assert.deepEqual([...versions], ["2"]);
  });

  it("refuses bad input with one line and exit 2, writing nothing", async () => {
    await registerModel(client, store, dir, { seed: 3, alias: "odd", extraFeature: true });
    const listed = await listPredictions();
    const cases: [string[], RegExp][] = [
      [["predict", "--day", "4"], /day 4: the split has 3 daily batches \(days 1 to 3\)/],
      [
        ["predict", "--alias", "nosuch"],
        /no model registered under alias nosuch: run complete-training first/,
      ],
      [
        ["predict", "--alias", "odd"],
        /missing feature column "brightness" that genre-classifier version 3 needs/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runCli([...args, "-q"], { cwd, env: cleanEnv() });
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    }
    assert.deepEqual(await listPredictions(), listed);

    const empty = await mkdtemp(join(tmpdir(), "gc-predict-empty-"));
    try {
      const result = await runCli(["predict", "-q"], { cwd: empty, env: cleanEnv() });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /no split found: run split first/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it("reads the model through an HTTP tracking server", async () => {
    const server = await startTrackingServer({ client, host: "127.0.0.1", port: 0 });
    try {
      setPipelineEnvironment({
        config: { ...config, tracking: { ...config.tracking, uri: server.url } },
        log: silent,
        openStore: () => store,
      });
      await store.delete(predictionKey(2));
      const result = await predict({});
      assert.equal(result.status, "written");
      assert.equal(result.day, 2);
      const versions = new Set((await predictionsOf(2)).rows.map((r) => r.model_version));
      assert.deepEqual([...versions], ["2"]);
    } finally {
      setPipelineEnvironment({ config, log: silent, openStore: () => store });
      await server.close();
    }
  });
});
