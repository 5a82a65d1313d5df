// The ingest, preprocess, split and complete-training flows on a small synthetic subset (real
// HDF5 files) in a local store, with run records in SQLite: each step's outputs, the cached
// state of every step on a second run and recomputation when an input or an output changed,
// the flows and their typed parameters in `flows list`, the project's deployments from
// `deploy`, bad input as one line and exit 2 with nothing written, and complete-training with
// its tasks on a `worker` process through BullMQ when Redis is there.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { silentLogger as silent } from "../../src/common/logger.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import { readSplitManifest } from "../../src/datasets/manifest.ts";
import { setPipelineEnvironment } from "../../src/flows/environment.ts";
import {
  type IngestResult,
  ingestFlow,
  type PreprocessResult,
  preprocessFlow,
  type SplitResult,
  splitFlow,
} from "../../src/flows/pipeline.ts";
import { generateSubset } from "../../src/msd/synth.ts";
import { Orchestrator } from "../../src/orchestration/runtime.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";
import { type CliProcess, cleanEnv, runCli, startCli } from "../helpers/cli.ts";
import { redisUnavailable, sharedRedis, testQueueSettings } from "../helpers/redis-server.ts";

const TRACKS = 240;
/** The synthetic subset's newest two years hold 10 tracks: days of 4, the last one of 2. */
const SPLIT = { test_years: 2, batch_size: 4 };

/** `flows run complete-training` on ./msd with the small split and `trees` trees, waiting. */
function completeTrainingArgs(trees: number): string[] {
  const parameters = { source: "msd", ...SPLIT, trees };
  return [
    "flows",
    "run",
    "complete-training",
    ...Object.entries(parameters).flatMap(([k, v]) => ["--param", `${k}=${v}`]),
    "--wait",
  ];
}

describe("pipeline flows", () => {
  let cwd: string;
  let source: string;
  let config: Config;
  let store: LocalObjectStore;
  let orchestrator: Orchestrator;

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "gc-pipeline-"));
    source = join(cwd, "msd");
    await generateSubset({ tracks: TRACKS, outDir: source, seed: 11 });
    config = loadConfig({ cwd, env: {} }).config;
    store = new LocalObjectStore(new URL(config.storage.uri as string).pathname);
    setPipelineEnvironment({ config, log: silent, openStore: () => store });
    orchestrator = await Orchestrator.open({
      databaseUri: config.tracking.uri as string,
      store,
      heartbeatMs: 500,
    });
  });

  after(async () => {
    await orchestrator?.close();
    await rm(cwd, { recursive: true, force: true });
  });

  /** Runs a flow to completion and gives its result and its task runs' states by task name. */
  async function run<R>(
    definition: Parameters<Orchestrator["run"]>[0],
    parameters: Record<string, unknown>,
  ): Promise<{ result: R; states: Record<string, string> }> {
    const outcome = await orchestrator.run(definition, parameters);
    assert.equal(outcome.state, "completed", outcome.error);
    const states: Record<string, string> = {};
    for (const t of await orchestrator.runs.listTaskRuns(outcome.flowRunId))
      states[t.task_name] = t.state;
    return { result: outcome.result as R, states };
  }

  it("ingests, preprocesses and splits, then reuses every cached step on a second run", async () => {
    const ingested = await run<IngestResult>(ingestFlow, { source });
    assert.equal(ingested.result.found, TRACKS);
    assert.equal(ingested.result.copied, TRACKS);
    assert.equal(ingested.result.stored, TRACKS);
    assert.deepEqual(ingested.states, {
      "ingest-inputs": "completed",
      "ingest-files": "completed",
    });

    const features = await run<PreprocessResult>(preprocessFlow, { workers: 2 });
    assert.equal(features.result.files, TRACKS);
    assert.equal(features.result.tracks + features.result.rejects, TRACKS);
    assert.equal(features.states["preprocess-features"], "completed");
    assert.ok(await store.exists("datasets/features.parquet"));

    const split = await run<SplitResult>(splitFlow, SPLIT);
    const manifest = await readSplitManifest(store);
    assert.equal(split.result.manifestDigest, manifest.digest);
    const { tracks } = split.result.counts;
    assert.equal(tracks.train + tracks.valid + tracks.test, features.result.tracks);
    assert.equal(manifest.parameters.batchSize, 4);
    assert.equal(manifest.parameters.testYears, 2);
    assert.equal(split.result.counts.days, Math.ceil(tracks.test / 4));
    assert.ok(await store.exists("daily/day=0001/tracks.parquet"));
    assert.ok(await store.exists("daily/day=0001/labels.parquet"));
    const splitEtag = (await store.head("datasets/split/manifest.json"))?.etag;

    const again = [
      await run<IngestResult>(ingestFlow, { source }),
      await run<PreprocessResult>(preprocessFlow, { workers: 2 }),
      await run<SplitResult>(splitFlow, SPLIT),
    ];
    assert.equal(again[0]?.states["ingest-files"], "cached");
    assert.equal(again[1]?.states["preprocess-features"], "cached");
    assert.equal(again[2]?.states["split-tables"], "cached");
    assert.deepEqual(again[2]?.result, split.result);
    assert.equal((await store.head("datasets/split/manifest.json"))?.etag, splitEtag);
  });

  it("recomputes a step whose parameters, inputs or outputs changed", async () => {
    const reseeded = await run<SplitResult>(splitFlow, { ...SPLIT, seed: 5 });
    assert.equal(reseeded.states["split-tables"], "completed");
    assert.equal((await readSplitManifest(store)).parameters.seed, 5);

    // The store now holds the seed-5 split: the seed-42 split's cached result no longer
    // describes it, so asking for seed 42 again writes it again.
    const back = await run<SplitResult>(splitFlow, SPLIT);
    assert.equal(back.states["split-tables"], "completed");
    assert.equal((await readSplitManifest(store)).parameters.seed, 42);

    await store.delete("datasets/features.parquet");
    const rebuilt = await run<PreprocessResult>(preprocessFlow, { workers: 2 });
    assert.equal(rebuilt.states["preprocess-features"], "completed");
    assert.ok(await store.exists("datasets/features.parquet"));

    // More track files in the store: a new source is ingested and preprocess reads them all.
    const more = join(cwd, "more");
    await generateSubset({ tracks: 20, outDir: more, seed: 12, workers: 1 });
    const added = await run<IngestResult>(ingestFlow, { source: more });
    assert.equal(added.states["ingest-files"], "completed");
    const grown = await run<PreprocessResult>(preprocessFlow, { workers: 2 });
    assert.equal(grown.states["preprocess-features"], "completed");
    assert.equal(grown.result.files, added.result.stored);
    assert.ok(grown.result.files > TRACKS, `${grown.result.files} files`);
  });

  it("lists the flows with their typed parameters", async () => {
    const listed = await runCli(["flows", "list", "--json"], { cwd, env: cleanEnv() });
    assert.equal(listed.code, 0, listed.stderr);
    const flows = JSON.parse(listed.stdout).flows as {
      name: string;
      parameters: { name: string; type: string; required: boolean; default?: unknown }[];
    }[];
    const byName = new Map(flows.map((f) => [f.name, f]));
    for (const name of ["ingest", "preprocess", "split", "complete-training", "train"])
      assert.ok(byName.has(name), `flows list names ${name}`);
    const param = (flow: string, name: string) =>
      byName.get(flow)?.parameters.find((p) => p.name === name);
    assert.deepEqual(param("ingest", "source"), { name: "source", type: "string", required: true });
    assert.deepEqual(param("split", "batch_size"), {
      name: "batch_size",
      type: "integer",
      required: false,
      default: 100,
    });
    assert.equal(param("split", "split")?.type, "artist|random");
    for (const name of ["source", "test_years", "split_seed", "trees", "seed"])
      assert.ok(param("complete-training", name), `complete-training takes ${name}`);
    assert.equal(param("complete-training", "source")?.required, false);

    const table = await runCli(["flows", "list"], { cwd, env: cleanEnv() });
    assert.match(table.stdout, /^split +test_years\?: integer = 1, batch_size\?: integer = 100/m);
  });

  it("deploys daily-inference on the configured cron and complete-training without a schedule", async () => {
    const env = cleanEnv({
      GENRE_CLASSIFIER_PIPELINE_DAILY_INFERENCE_CRON: "30 5 * * *",
      GENRE_CLASSIFIER_PIPELINE_TIME_ZONE: "Europe/Berlin",
    });
    const deployed = await runCli(["deploy"], { cwd, env });
    assert.equal(deployed.code, 0, deployed.stderr);
    const listed = await runCli(["deployments", "list", "--json"], { cwd, env });
    const rows = JSON.parse(listed.stdout).deployments as {
      name: string;
      flow_name: string;
      cron: string | null;
      interval_ms: number | null;
      timezone: string;
    }[];
    assert.deepEqual(
      rows
        .map(({ name, flow_name, cron, interval_ms, timezone }) => ({
          name,
          flow_name,
          cron,
          interval_ms,
          timezone,
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
      [
        {
          name: "complete-training",
          flow_name: "complete-training",
          cron: null,
          interval_ms: null,
          timezone: "UTC",
        },
        {
          name: "daily-inference",
          flow_name: "daily-inference",
          cron: "30 5 * * *",
          interval_ms: null,
          timezone: "Europe/Berlin",
        },
      ],
    );
    const table = await runCli(["deployments", "list"], { cwd, env });
    assert.match(table.stdout, /complete-training +complete-training +when triggered/);
    // The scheduler starts nothing for the deployment without a schedule.
    const tick = await runCli(["scheduler", "--once"], { cwd, env });
    assert.equal(tick.code, 0, tick.stderr);
    assert.doesNotMatch(tick.stdout, /complete-training/);
  });

  it("refuses bad split input with one line and exit 2, writing nothing", async () => {
    const before = (await store.head("datasets/split/manifest.json"))?.etag;
    assert.ok(before);
    const tooBig = await runCli(["split", "--test-years", "2", "--batch-size", "1000"], {
      cwd,
      env: cleanEnv(),
    });
    assert.equal(tooBig.code, 2, tooBig.stderr);
    assert.equal(tooBig.stderr.trim().split("\n").length, 1, tooBig.stderr);
    assert.match(tooBig.stderr, /smaller than one batch of batch_size 1000/);

    const viaFlows = await runCli(
      ["flows", "run", "split", "--param", "batch_size=1000", "--param", "test_years=2", "--wait"],
      { cwd, env: cleanEnv() },
    );
    assert.equal(viaFlows.code, 2, viaFlows.stderr);
    assert.match(viaFlows.stderr, /smaller than one batch of batch_size 1000/);

    const badFraction = await runCli(["split", "--valid-fraction", "1"], { cwd, env: cleanEnv() });
    assert.equal(badFraction.code, 2);
    assert.match(badFraction.stderr, /--valid-fraction/);

    assert.equal((await store.head("datasets/split/manifest.json"))?.etag, before);

    const empty = await mkdtemp(join(tmpdir(), "gc-pipeline-empty-"));
    try {
      const noFeatures = await runCli(["split"], { cwd: empty, env: cleanEnv() });
      assert.equal(noFeatures.code, 2, noFeatures.stderr);
      assert.match(
        noFeatures.stderr,
        /no feature table at .*datasets\/features\.parquet: run preprocess first/,
      );
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it("split prints the counts, the days and where the outputs are", async () => {
    const result = await runCli(["split", "--test-years", "2", "--batch-size", "4", "-q"], {
      cwd,
      env: cleanEnv(),
    });
    assert.equal(result.code, 0, result.stderr);
    const manifest = await readSplitManifest(store);
    const { tracks } = manifest.counts;
    assert.match(result.stdout, new RegExp(`train +${tracks.train} tracks`));
    assert.match(result.stdout, new RegExp(`test +${tracks.test} tracks`));
    assert.match(result.stdout, new RegExp(`days +${manifest.counts.days} of 4 tracks`));
    assert.match(result.stdout, /datasets\/split\/manifest\.json/);
    assert.match(result.stdout, /daily\/day=NNNN\/\{tracks,labels\}\.parquet/);
  });
});

describe("complete-training with its tasks on a worker (BullMQ)", {
  skip: redisUnavailable(),
}, () => {
  let cwd: string;
  let redis: { url: string; stop(): Promise<void> };
  let worker: CliProcess | undefined;

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "gc-pipeline-queue-"));
    await generateSubset({ tracks: TRACKS, outDir: join(cwd, "msd"), seed: 11 });
    redis = await sharedRedis();
  });

  after(async () => {
    worker?.child.kill("SIGKILL");
    if (worker) await worker.exited;
    await redis?.stop();
    await rm(cwd, { recursive: true, force: true });
  });

  it("runs ingest → preprocess → split → train as subflows, then reuses the cached steps", async () => {
    const env = cleanEnv({
      GENRE_CLASSIFIER_ORCHESTRATION_EXECUTOR: "bullmq",
      GENRE_CLASSIFIER_ORCHESTRATION_REDIS_URL: redis.url,
      GENRE_CLASSIFIER_ORCHESTRATION_REDIS_PREFIX: testQueueSettings(redis.url).prefix,
    });
    worker = startCli(["worker", "--name", "pipeline-worker", "--concurrency", "2"], { cwd, env });
    await worker.waitFor(/^worker pipeline-worker:/, 30_000);
    const args = completeTrainingArgs(5);
    const first = await runCli(args, { cwd, env });
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const result = JSON.parse(/^result: (.*)$/m.exec(first.stdout)?.[1] ?? "null");
    assert.equal(result.ingest.found, TRACKS);
    assert.equal(result.split.counts.batchSize, 4);
    assert.match(result.train.runId, /^[0-9a-f]{32}$/);

    const flowRunId = /^flow run (\S+)/m.exec(first.stdout)?.[1] ?? "";
    const shown = await runCli(["flows", "runs", "show", flowRunId, "--json"], { cwd, env });
    const subflows = (JSON.parse(shown.stdout).subflows as { flow_name: string; state: string }[])
      .map((f) => `${f.flow_name} ${f.state}`)
      .sort();
    assert.deepEqual(subflows, [
      "ingest completed",
      "preprocess completed",
      "split completed",
      "train completed",
    ]);

    const second = await runCli(args, { cwd, env });
    assert.equal(second.code, 0, second.stderr + second.stdout);
    const list = await runCli(["flows", "runs", "list", "--json", "--max", "5"], { cwd, env });
    const latest = (
      JSON.parse(list.stdout).flow_runs as { id: string; flow_name: string }[]
    ).filter((r) => r.flow_name !== "complete-training");
    const states: Record<string, { state: string; worker: string | null }> = {};
    for (const run of latest) {
      const detail = await runCli(["flows", "runs", "show", run.id, "--json"], { cwd, env });
      for (const t of JSON.parse(detail.stdout).task_runs as {
        task_name: string;
        state: string;
        worker: string | null;
      }[])
        states[t.task_name] = { state: t.state, worker: t.worker };
    }
    assert.equal(states["ingest-files"]?.state, "cached");
    assert.equal(states["preprocess-features"]?.state, "cached");
    assert.equal(states["split-tables"]?.state, "cached");
    assert.equal(states["train-fit"]?.state, "cached");
    assert.equal(states["split-inputs"]?.worker, "pipeline-worker");
  });
});

describe("complete-training killed with SIGKILL midway, then run again (in-process)", () => {
  let cwd: string;

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "gc-pipeline-kill-"));
    await generateSubset({ tracks: TRACKS, outDir: join(cwd, "msd"), seed: 11 });
  });

  after(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  it("completes the second time, reusing the cached ingest and preprocess, and registers one version", async () => {
    const args = completeTrainingArgs(300);
    const killed = startCli(args, { cwd });
    await killed.waitFor(/growing (the )?forest/, 60_000);
    killed.child.kill("SIGKILL");
    assert.equal(await killed.exited, 128);

    const before = await runCli(["models", "list", "--json"], { cwd });
    assert.equal(before.code, 0, before.stderr);
    assert.deepEqual(JSON.parse(before.stdout).registered_models ?? [], []);

    const again = await runCli(args, { cwd });
    assert.equal(again.code, 0, again.stderr + again.stdout);
    const flowRunId = /^flow run (\S+)/m.exec(again.stdout)?.[1] ?? "";
    const shown = await runCli(["flows", "runs", "show", flowRunId, "--json"], { cwd });
    const states: Record<string, string> = {};
    for (const subflow of JSON.parse(shown.stdout).subflows as { id: string }[]) {
      const detail = await runCli(["flows", "runs", "show", subflow.id, "--json"], { cwd });
      for (const t of JSON.parse(detail.stdout).task_runs as { task_name: string; state: string }[])
        states[t.task_name] = t.state;
    }
    assert.equal(states["ingest-files"], "cached");
    assert.equal(states["preprocess-features"], "cached");
    assert.equal(states["split-tables"], "cached");
    assert.equal(states["train-fit"], "completed");
    assert.equal(states["train-register"], "completed");

    const models = await runCli(["models", "show", "genre-classifier", "--json"], { cwd });
    const shownModel = JSON.parse(models.stdout);
    assert.deepEqual(
      (shownModel.model_versions as { version: string }[]).map((v) => v.version),
      ["1"],
    );
    assert.deepEqual(shownModel.registered_model.aliases, [{ alias: "champion", version: "1" }]);
  });
});
