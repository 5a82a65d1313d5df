// The train flow on a small synthetic split (written with the project's table writer and split
// with splitDataset) in a local store, recorded in a SQLite tracking store: the run's params,
// metrics, artifacts and inputs; the first model registered as champion; the gates refusing a
// worse one with the reason on the run; the champion re-scored on the same validation table;
// and no second version when the same training runs again or resumes after a crash.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { silentLogger } from "../../src/common/logger.ts";
import { type Config, configSchema } from "../../src/config/schema.ts";
import { readSplitManifest } from "../../src/datasets/manifest.ts";
import { splitDataset } from "../../src/datasets/split.ts";
import { type ColumnSpec, type Row, TableWriter } from "../../src/features/table.ts";
import { setPipelineEnvironment } from "../../src/flows/environment.ts";
import { type TrainResult, trainFlow } from "../../src/flows/train.ts";
import { Orchestrator } from "../../src/orchestration/runtime.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";
import type { TrackingClient } from "../../src/tracking/client.ts";
import { openTrackingClient } from "../../src/tracking/open.ts";

const COLUMNS: ColumnSpec[] = [
  { name: "track_id", type: "STRING" },
  { name: "artist_id", type: "STRING" },
  { name: "year", type: "INT32" },
  { name: "tempo", type: "DOUBLE" },
  { name: "loudness", type: "DOUBLE" },
  { name: "energy", type: "DOUBLE" },
  { name: "genres", type: "STRING_LIST" },
];
const GROUPS = [
  ["rock", "metal"],
  ["pop", "folk"],
  ["jazz", "blues"],
];

/** Tracks whose genres follow their artist's group, which the features show through noise. */
function syntheticRows(tracks = 600, artists = 60): Row[] {
  let state = 987654;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const rows: Row[] = [];
  for (let i = 0; i < tracks; i++) {
    const artist = Math.floor(next() * artists);
    const group = artist % 3;
    rows.push({
      track_id: `TR${String(i).padStart(6, "0")}X`,
      artist_id: `AR${String(artist).padStart(4, "0")}`,
      year: i % 6 === 0 ? 2010 : 1990 + Math.floor(next() * 20),
      tempo: 80 + 25 * group + next() * 50,
      loudness: -20 + 4 * group + next() * 10,
      energy: next(),
      genres: GROUPS[group] as string[],
    });
  }
  return rows;
}

let dir: string;
let store: LocalObjectStore;
let config: Config;
let orchestrator: Orchestrator;
let client: TrackingClient;

function useConfig(gates: Partial<Config["pipeline"]["gates"]> = {}): void {
  const databaseUri = `sqlite://${join(dir, "tracking.db")}`;
  config = configSchema.parse({
    dataDir: dir,
    storage: { uri: `file://${join(dir, "store")}` },
    tracking: { uri: databaseUri },
    pipeline: { gates },
  });
  setPipelineEnvironment({ config, log: silentLogger, openStore: () => store });
}

async function train(parameters: Record<string, unknown>) {
  return orchestrator.run(trainFlow, parameters as never);
}

async function trained(parameters: Record<string, unknown>): Promise<TrainResult> {
  const outcome = await train(parameters);
  assert.equal(outcome.state, "completed", outcome.error);
  return outcome.result as TrainResult;
}

async function versions(): Promise<string[]> {
  const page = await client.searchModelVersions({ filter: "name = 'genre-classifier'" });
  return page.items.map((v) => v.version).sort();
}

async function alias(name: string): Promise<string | undefined> {
  return client
    .getModelVersionByAlias("genre-classifier", name)
    .then((v) => v.version)
    .catch(() => undefined);
}

const tag = (tags: { key: string; value: string }[], key: string) =>
  tags.find((t) => t.key === key)?.value;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "gc-train-flow-"));
  store = new LocalObjectStore(join(dir, "store"));
  useConfig();
  orchestrator = await Orchestrator.open({
    databaseUri: config.tracking.uri as string,
    store,
    log: silentLogger,
    heartbeatMs: 200,
  });
  client = await openTrackingClient({ uri: config.tracking.uri as string }, () => store);
});

after(async () => {
  await orchestrator.close();
  await client.close();
  await rm(dir, { recursive: true, force: true });
});

describe("train flow", () => {
  it("refuses to train without a split, in one line", async () => {
    const outcome = await train({ trees: 5 });
    assert.equal(outcome.state, "failed");
    assert.match(outcome.error ?? "", /no split found: run split first/);
  });

  it("records the fit as a run and registers the first model as champion", async () => {
    const file = join(dir, "features.parquet");
    const writer = new TableWriter(file, COLUMNS, 128);
    for (const row of syntheticRows()) writer.add(row);
    writer.close();
    await store.putFile("datasets/features.parquet", file);
    const split = await splitDataset(store, { batchSize: 50 });

    const result = await trained({ trees: 20, seed: 3 });
    assert.equal(result.registration.decision, "registered", result.registration.reason);
    assert.equal(result.registration.version, "1");
    assert.match(
      result.registration.reason,
      /^passed: baseline ok .*champion ok \(no champion yet\)/,
    );
    assert.deepEqual(await versions(), ["1"]);
    assert.equal(await alias("champion"), "1");
    assert.equal(await alias("previous"), undefined);

    const run = await client.getRun(result.runId);
    const experiment = await client.getExperiment(run.info.experimentId);
    assert.equal(experiment.name, "genre-classifier");
    const params = Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
    assert.equal(params["forest.nTrees"], "20");
    assert.equal(params["forest.seed"], "3");
    assert.equal(params.top_k, "50");
    assert.equal(params.features, "year,tempo,loudness,energy");
    assert.equal(params["split.batchSize"], "50");
    assert.equal(params["split.strategy"], "artist");
    const metrics = Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]));
    assert.equal(metrics.jaccard_samples, result.validation.model.jaccardSamples);
    for (const key of ["hamming_loss", "f1_micro", "f1_macro", "baseline.jaccard_samples"])
      assert.equal(typeof metrics[key], "number", key);
    for (const genre of GROUPS.flat())
      for (const what of ["f1", "precision", "recall", "support"]) {
        assert.equal(typeof metrics[`genre.${genre}.${what}`], "number", `${genre}.${what}`);
        assert.equal(typeof metrics[`baseline.genre.${genre}.${what}`], "number");
      }
    // The model must clearly beat the constant baseline on this signal.
    assert.ok(
      (metrics.jaccard_samples as number) > (metrics["baseline.jaccard_samples"] as number) + 0.1,
      JSON.stringify(result.validation),
    );
    assert.equal(tag(run.data.tags, "split.manifest_digest"), split.manifest.digest);
    assert.match(tag(run.data.tags, "code.version") ?? "", /^\d+\.\d+\.\d+/);
    assert.equal(tag(run.data.tags, "gate.decision"), "registered");
    const inputs = run.inputs.datasetInputs.map((i) => ({
      name: i.dataset.name,
      context: tag(i.tags, "mlflow.data.context"),
      source: i.dataset.source,
      digest: i.dataset.digest,
    }));
    assert.deepEqual(
      inputs.sort((a, b) => a.name.localeCompare(b.name)),
      [
        {
          name: "train",
          context: "training",
          source: `${store.uri}/datasets/split/train.parquet`,
          digest: split.manifest.outputs.train.sha256.slice(0, 32),
        },
        {
          name: "valid",
          context: "validation",
          source: `${store.uri}/datasets/split/valid.parquet`,
          digest: split.manifest.outputs.valid.sha256.slice(0, 32),
        },
      ],
    );
    const artifacts = (await client.listArtifacts(result.runId)).map((a) => a.path).sort();
    assert.deepEqual(artifacts, [
      "feature_importances.csv",
      "metrics.json",
      "model",
      "model-card.md",
      "monitoring",
      "per_genre.csv",
      "thresholds.json",
    ]);
    const card = await readFile(
      await client.downloadArtifacts(result.runId, "model-card.md", join(dir, "card")),
      "utf8",
    );
    assert.match(card, /^# Model card/);
    assert.ok(card.includes("`year`, `tempo`, `loudness`, `energy`"), card);
    assert.ok(card.includes(`| training | ${store.uri}/datasets/split/train.parquet |`), card);
    assert.match(
      card,
      /by artist, about \d+% of the artists to validation\. None of the \d+ validation artists/,
    );
    assert.match(card, /genre-classifier flows run train --param trees=20 .*--param seed=3/);
    assert.ok(
      card.includes(`| **model** | ${result.validation.model.jaccardSamples.toFixed(4)} |`),
    );
    assert.deepEqual(
      (await client.listArtifacts(result.runId, "model")).map((a) => a.path),
      ["model/model.gcm"],
    );
    const version = await client.getModelVersion("genre-classifier", "1");
    assert.equal(version.runId, result.runId);
    assert.equal(tag(version.tags, "gate.decision"), "registered");
  });

  it("registers no second version when the same training runs again", async () => {
    const first = (await client.getModelVersion("genre-classifier", "1")).runId;
    const result = await trained({ trees: 20, seed: 3 });
    assert.equal(result.runId, first);
    assert.equal(result.registration.decision, "already registered");
    assert.deepEqual(await versions(), ["1"]);
    assert.equal(await alias("champion"), "1");
  });

  it("refuses a worse model, re-scoring the champion on the same validation table", async () => {
    const champion = await client.getRun(
      (await client.getModelVersion("genre-classifier", "1")).runId,
    );
    const championJaccard = champion.data.metrics.find((m) => m.key === "jaccard_samples")?.value;
    const result = await trained({ trees: 1, seed: 3 });
    assert.equal(result.registration.decision, "refused", result.registration.reason);
    assert.match(result.registration.reason, /^refused by champion: champion FAILED \(jaccard /);
    assert.equal(result.registration.champion?.jaccard, championJaccard);
    const run = await client.getRun(result.runId);
    assert.equal(tag(run.data.tags, "gate.decision"), "refused");
    assert.equal(tag(run.data.tags, "gate.reason"), result.registration.reason);
    assert.equal(tag(run.data.tags, "gate.champion_version"), "1");
    assert.equal(Number(tag(run.data.tags, "gate.champion_jaccard")), championJaccard);
    assert.deepEqual(await versions(), ["1"]);
    assert.equal(await alias("champion"), "1");
  });

  it("finishes moving the aliases after a crash, without a second version", async () => {
    useConfig({ championTolerance: 1 });
    const result = await trained({ trees: 5, seed: 11 });
    assert.equal(result.registration.decision, "registered", result.registration.reason);
    assert.equal(result.registration.version, "2");
    assert.equal(await alias("champion"), "2");
    assert.equal(await alias("previous"), "1");
    // As if the process died after registering version 2 but before moving the aliases.
    await client.setAlias("genre-classifier", "champion", "1");
    await client.deleteAlias("genre-classifier", "previous");
    const again = await trained({ trees: 5, seed: 11 });
    assert.equal(again.runId, result.runId);
    assert.equal(again.registration.decision, "already registered");
    assert.deepEqual(await versions(), ["1", "2"]);
    assert.equal(await alias("champion"), "2");
    assert.equal(await alias("previous"), "1");
    useConfig();
  });

  it("retrains with the labelled days added to the training table", async () => {
    const manifest = await readSplitManifest(store);
    const result = await trained({ trees: 5, seed: 4, add_days: 2 });
    const run = await client.getRun(result.runId);
    const params = Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
    assert.equal(params.add_days, "2");
    const added = (manifest.days[0]?.tracks.rows ?? 0) + (manifest.days[1]?.tracks.rows ?? 0);
    assert.ok(added > 0);
    assert.equal(Number(params.train_rows), manifest.outputs.train.rows + added);
    const inputs = run.inputs.datasetInputs.map((i) => [i.dataset.name, i.dataset.source]);
    assert.deepEqual(
      inputs.filter(([name]) => name?.startsWith("day-")),
      [
        ["day-0001-labels", `${store.uri}/daily/day=0001/labels.parquet`],
        ["day-0002-labels", `${store.uri}/daily/day=0002/labels.parquet`],
      ],
    );

    const days = manifest.days.length;
    const pastLast = await train({ trees: 5, add_days: days + 1 });
    assert.equal(pastLast.state, "failed");
    assert.match(
      pastLast.error ?? "",
      new RegExp(`add_days ${days + 1}: expected a day of the split, 1 to ${days}`),
    );
  });

  it("refuses features the split's tables do not have", async () => {
    const outcome = await train({ trees: 2, features: "tempo,danceability" });
    assert.equal(outcome.state, "failed");
    assert.match(
      outcome.error ?? "",
      /^table file:\/\/.*\/datasets\/split\/train.parquet: no column "danceability"/,
    );
  });
});
