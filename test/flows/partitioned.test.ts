// Partitioned preprocess and batch predict as they run in production: the command line in
// child processes, two `worker` processes taking the partitions from BullMQ on a real Redis,
// an S3 store on a local s3rver, runs recorded in PostgreSQL (POSTGRES_TEST_URL) or SQLite.
// The partitioned outputs are byte for byte the in-process run's, a partition that fails its
// first attempt (after writing its part) is retried and merged once, and no part is left.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { FeatureTable } from "../../src/features/feature-table.ts";
import { generateSubset } from "../../src/msd/synth.ts";
import { S3ObjectStore } from "../../src/storage/s3.ts";
import { StoreTrackingClient } from "../../src/tracking/client.ts";
import { fitModel } from "../../src/training/fit.ts";
import { saveModel } from "../../src/training/use.ts";
import { type CliProcess, cleanEnv, runCli, startCli } from "../helpers/cli.ts";
import { redisUnavailable, sharedRedis, testQueueSettings } from "../helpers/redis-server.ts";
import { type LocalS3Server, startLocalS3 } from "../helpers/s3-server.ts";
import { type Backend, backends } from "../tracking/backends.ts";

const TRACKS = 120;
const backend = (backends.find((b) => b.name === "postgres" && !b.skip) ?? backends[0]) as Backend;

interface TaskRun {
  task_name: string;
  state: string;
  attempt: number;
  worker: string | null;
}

describe(`partitioned preprocess and predict on 2 workers, S3 and ${backend.name}`, {
  skip: redisUnavailable(),
}, () => {
  let cwd: string;
  let s3: LocalS3Server;
  let store: S3ObjectStore;
  let database: { uri: string; drop(): Promise<void> };
  let redis: { url: string; stop(): Promise<void> };
  let inProcess: NodeJS.ProcessEnv;
  let onQueue: NodeJS.ProcessEnv;
  const workers: CliProcess[] = [];

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "gc-partitioned-"));
    [s3, database, redis] = await Promise.all([startLocalS3(), backend.create(), sharedRedis()]);
    store = new S3ObjectStore(s3.bucket, "gc", s3.settings);
    inProcess = cleanEnv({
      GENRE_CLASSIFIER_STORAGE_URI: `s3://${s3.bucket}/gc`,
      GENRE_CLASSIFIER_STORAGE_S3_ENDPOINT: s3.endpoint,
      GENRE_CLASSIFIER_STORAGE_S3_FORCE_PATH_STYLE: "true",
      GENRE_CLASSIFIER_STORAGE_S3_ACCESS_KEY_ID: "S3RVER",
      GENRE_CLASSIFIER_STORAGE_S3_SECRET_ACCESS_KEY: "S3RVER",
      GENRE_CLASSIFIER_TRACKING_URI: database.uri,
      GENRE_CLASSIFIER_ORCHESTRATION_HEARTBEAT_SECONDS: "0.5",
    });
    onQueue = {
      ...inProcess,
      GENRE_CLASSIFIER_ORCHESTRATION_EXECUTOR: "bullmq",
      GENRE_CLASSIFIER_ORCHESTRATION_REDIS_URL: redis.url,
      GENRE_CLASSIFIER_ORCHESTRATION_REDIS_PREFIX: testQueueSettings(redis.url).prefix,
    };
    await generateSubset({ tracks: TRACKS, outDir: join(cwd, "msd"), seed: 21, workers: 1 });
    const ingested = await runCli(["ingest", "--source", "msd"], { cwd, env: inProcess });
    assert.equal(ingested.code, 0, ingested.stderr);
    for (const name of ["w1", "w2"]) {
      const worker = startCli(["worker", "--name", name, "--concurrency", "1"], {
        cwd,
        env: { ...onQueue, GC_TEST_FAIL_PARTITION: "preprocess:1,predict:0" },
      });
      workers.push(worker);
    }
    await Promise.all(workers.map((w, i) => w.waitFor(new RegExp(`^worker w${i + 1}:`), 60_000)));
  });

  after(async () => {
    for (const worker of workers) worker.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.exited));
    await Promise.all([s3?.stop(), database?.drop(), redis?.stop()]);
    await store?.close();
    await rm(cwd, { recursive: true, force: true });
  });

  async function flowRun(args: string[], env: NodeJS.ProcessEnv) {
    const run = await runCli(["flows", "run", ...args, "--wait"], { cwd, env });
    assert.equal(run.code, 0, run.stderr + run.stdout);
    const id = /^flow run (\S+)/m.exec(run.stdout)?.[1] ?? "";
    const shown = await runCli(["flows", "runs", "show", id, "--json"], { cwd, env });
    assert.equal(shown.code, 0, shown.stderr);
    return {
      result: JSON.parse(/^result: (.*)$/m.exec(run.stdout)?.[1] ?? "null"),
      tasks: JSON.parse(shown.stdout).task_runs as TaskRun[],
    };
  }

  const bytes = async (key: string) => Buffer.from(await store.get(key));
  const partsLeft = async () => {
    const keys: string[] = [];
    for await (const info of store.listAll(""))
      if (info.key.includes("/.parts/")) keys.push(info.key);
    return keys;
  };

  it("preprocess: 4 partitions on both workers, one retried, give the in-process tables", async () => {
    const one = await flowRun(["preprocess"], inProcess);
    assert.deepEqual(
      one.tasks.map((t) => t.task_name),
      ["preprocess-inputs", "preprocess-features"],
    );
    const features = await bytes("datasets/features.parquet");
    const rejects = await bytes("datasets/rejects.parquet");
    await store.delete("datasets/features.parquet");

    const split = await flowRun(["preprocess", "--param", "partition_size=30"], onQueue);
    const parts = split.tasks.filter((t) => t.task_name === "preprocess-part");
    assert.equal(parts.length, 4);
    assert.ok(parts.every((t) => t.state === "completed"));
    assert.deepEqual(
      parts.map((t) => t.attempt),
      [1, 2, 1, 1],
      "partition 1 failed once and was retried",
    );
    assert.deepEqual(new Set(parts.map((t) => t.worker)), new Set(["w1", "w2"]));
    assert.equal(split.tasks.find((t) => t.task_name === "preprocess-merge")?.state, "completed");
    assert.equal(split.result.tracks, TRACKS);
    assert.ok((await bytes("datasets/features.parquet")).equals(features), "features.parquet");
    assert.ok((await bytes("datasets/rejects.parquet")).equals(rejects), "rejects.parquet");
    assert.deepEqual(await partsLeft(), []);

    const again = await flowRun(["preprocess", "--param", "partition_size=30"], onQueue);
    assert.deepEqual(
      again.tasks.map((t) => `${t.task_name} ${t.state}`),
      ["preprocess-inputs completed", "preprocess-merge cached"],
      "a second run reuses the merged table",
    );
  });

  it("predict: a day's rows in partitions on both workers give the in-process predictions", async () => {
    const split = await flowRun(
      ["split", "--param", "test_years=15", "--param", "batch_size=24"],
      inProcess,
    );
    const rows = split.result.counts.batchSize as number;
    assert.equal(rows, 24);
    await registerChampion(store, database.uri, join(cwd, "model"));

    const one = await runCli(["predict", "--day", "1"], { cwd, env: inProcess });
    assert.equal(one.code, 0, one.stderr + one.stdout);
    const predictions = await bytes("predictions/day=0001/predictions.parquet");

    const size = 8;
    const split3 = await flowRun(
      ["predict", "--param", "day=1", "--param", "force=true", "--param", `partition_size=${size}`],
      onQueue,
    );
    const parts = split3.tasks.filter((t) => t.task_name === "predict-part");
    assert.equal(parts.length, 3);
    assert.deepEqual(
      parts.map((t) => t.attempt),
      [2, 1, 1],
      "partition 0 failed once and was retried",
    );
    assert.deepEqual(new Set(parts.map((t) => t.worker)), new Set(["w1", "w2"]));
    assert.equal(split3.result.status, "rewritten");
    assert.equal(split3.result.tracks, rows);
    assert.ok(
      (await bytes("predictions/day=0001/predictions.parquet")).equals(predictions),
      "predictions.parquet",
    );
    assert.deepEqual(await partsLeft(), []);
  });
});

/** Fits 4 trees on the split's tables and registers them as the champion. */
async function registerChampion(store: S3ObjectStore, uri: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const table = async (name: string) => {
    const path = join(dir, name);
    await store.getFile(`datasets/split/${name}`, path);
    return FeatureTable.read(path, { text: ["track_id", "artist_id", "genres"] });
  };
  const { model } = await fitModel({
    train: await table("train.parquet"),
    valid: await table("valid.parquet"),
    topK: 8,
    unseenGenres: "ignore",
    forest: { nTrees: 4, seed: 3, workers: 1 },
  });
  const client = await StoreTrackingClient.open(uri, store);
  try {
    const experiment = await client.getOrCreateExperiment("genre-classifier");
    const run = await client.startRun(experiment.experimentId);
    const folder = join(dir, "saved");
    await saveModel(folder, model);
    await client.logArtifactFolder(run.info.runId, folder, "model");
    await client.endRun(run.info.runId);
    const version = await client.registerModelVersion("genre-classifier", run.info.runId, "model");
    await client.setAlias("genre-classifier", "champion", version.version);
  } finally {
    await client.close();
  }
}
