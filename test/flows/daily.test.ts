// The daily loop on a small synthetic subset (real HDF5 files) in a local store with run
// records in SQLite: complete-training keeps the monitoring reference as run artifacts;
// daily-inference predicts a day, monitors it (reports, index, a tracking run per day with
// metrics at step = day) and, when a rule fires, retrains through complete-training with the
// labelled days added, recording the outcome; the cooldown holds the next retrain back; a day
// without predictions or a model without a reference is refused in one line; and the monitor
// leaves out of drift the configured columns that the model has.
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { silentLogger as silent } from "../../src/common/logger.ts";
import { type Config, configSchema } from "../../src/config/schema.ts";
import { type DailyInferenceResult, dailyInferenceFlow } from "../../src/flows/daily.ts";
import { setPipelineEnvironment } from "../../src/flows/environment.ts";
import {
  FEATURES_REFERENCE,
  type MonitorResult,
  monitorDriftOptions,
  monitorFlow,
  monitoringKey,
  PREDICTIONS_REFERENCE,
} from "../../src/flows/monitor.ts";
import { type CompleteTrainingResult, completeTrainingFlow } from "../../src/flows/pipeline.ts";
import type { DriftOptions } from "../../src/monitoring/drift.ts";
import type {
  ExcludedColumn,
  MonitoringDay,
  MonitoringReport,
} from "../../src/monitoring/types.ts";
import { generateSubset } from "../../src/msd/synth.ts";
import { Orchestrator } from "../../src/orchestration/runtime.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";
import type { TrackingClient } from "../../src/tracking/client.ts";
import { openTrackingClient } from "../../src/tracking/open.ts";

const TRACKS = 240;
/** The subset's newest two years hold 9 tracks: three days of 3. */
const SPLIT = { test_years: 2, batch_size: 3 };

describe("daily-inference with monitoring and retraining", () => {
  let cwd: string;
  let store: LocalObjectStore;
  let orchestrator: Orchestrator;
  let client: TrackingClient;
  let config: Config;

  function useConfig(monitoring: Partial<Config["monitoring"]>): void {
    config = configSchema.parse({
      dataDir: cwd,
      storage: { uri: `file://${join(cwd, "store")}` },
      tracking: { uri: `sqlite://${join(cwd, "tracking.db")}` },
      monitoring,
    });
    setPipelineEnvironment({ config, log: silent, openStore: () => store });
  }

  async function run<R>(definition: Parameters<Orchestrator["run"]>[0], parameters: object) {
    const outcome = await orchestrator.run(definition, parameters as never);
    assert.equal(outcome.state, "completed", outcome.error);
    return outcome.result as R;
  }

  async function json<T>(key: string): Promise<T> {
    return JSON.parse(new TextDecoder().decode(await store.get(key))) as T;
  }

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "gc-daily-"));
    await generateSubset({ tracks: TRACKS, outDir: join(cwd, "msd"), seed: 11 });
    store = new LocalObjectStore(join(cwd, "store"));
    // Every day drifts (a share of 0.01 is one column in a hundred), so the rules fire.
    useConfig({ driftShare: 0.01, cooldownDays: 2 });
    orchestrator = await Orchestrator.open({
      databaseUri: config.tracking.uri as string,
      store,
      log: silent,
      heartbeatMs: 500,
    });
    client = await openTrackingClient({ uri: config.tracking.uri as string }, () => store);
  });

  after(async () => {
    await orchestrator?.close();
    await client?.close();
    await rm(cwd, { recursive: true, force: true });
  });

  it("keeps the monitoring reference with the trained model", async () => {
    const trained = await run<CompleteTrainingResult>(completeTrainingFlow, {
      source: join(cwd, "msd", "data"),
      trees: 10,
      ...SPLIT,
    });
    assert.equal(trained.train.registration.version, "1");
    const files = (await client.listArtifacts(trained.train.runId, "monitoring"))
      .map((f) => f.path)
      .sort();
    assert.deepEqual(files, [
      `monitoring/${FEATURES_REFERENCE}`,
      `monitoring/${PREDICTIONS_REFERENCE}`,
    ]);
  });

  it("monitors day 1, decides to retrain, and records the retrain's outcome", async () => {
    const result = await run<DailyInferenceResult>(dailyInferenceFlow, { day: 1 });
    assert.equal(result.prediction.status, "written");
    const monitor = result.monitor as MonitorResult;
    assert.equal(monitor.day, 1);
    assert.equal(monitor.model.version, "1");
    assert.ok(monitor.drift.columns > 60, `${monitor.drift.columns} columns tested`);
    assert.equal(monitor.drift.drift, true);
    assert.equal(typeof monitor.jaccard, "number");
    assert.equal(monitor.retrain.retrain, true);
    assert.match(monitor.retrain.reasons[0] ?? "", /^data drift: \d+ of \d+ columns drifted/);

    // The champion's summaries are downloaded once, into the local cache, for every later day.
    const cached = join(cwd, "cache", "monitoring-reference", monitor.model.runId);
    assert.deepEqual((await readdir(cached)).sort(), [FEATURES_REFERENCE, PREDICTIONS_REFERENCE]);

    const report = await json<MonitoringReport>(monitoringKey(1, "report.json"));
    assert.equal(report.day, 1);
    assert.deepEqual(
      report.drift.excluded.map((e) => e.column),
      ["year", "artist_familiarity", "artist_hotttnesss", "song_hotttnesss"],
    );
    assert.equal(report.current.rows, 3);
    assert.ok(report.quality, "the day's labels are there");
    assert.ok(report.predictionDrift);
    assert.match(report.retrain?.outcome ?? "", /^complete-training, run [0-9a-f]{32}: /);
    const html = new TextDecoder().decode(await store.get(monitoringKey(1, "report.html")));
    assert.match(html, /^<!doctype html>/i);
    assert.doesNotMatch(html, /https?:\/\//);

    const days = await json<MonitoringDay[]>("reports/monitoring/days.json");
    assert.deepEqual(
      days.map((d) => [d.day, d.retrained]),
      [[1, true]],
    );
    assert.ok(await store.exists("reports/monitoring/index.html"));

    // The retrain fitted on the split plus day 1 with its labels.
    const retrained = result.retrain?.result as CompleteTrainingResult;
    const params = (await client.getRun(retrained.train.runId)).data.params;
    assert.equal(params.find((p) => p.key === "add_days")?.value, "1");
    assert.equal(params.find((p) => p.key === "forest.nTrees")?.value, "10");
    assert.equal(
      retrained.split.manifestDigest,
      (await json<{ digest: string }>("datasets/split/manifest.json")).digest,
    );

    const experiment = await client.getExperimentByName("genre-classifier-monitoring");
    assert.ok(experiment);
    const runs = await client.searchRuns({ experimentIds: [experiment.experimentId] });
    assert.equal(runs.items.length, 1);
    const share = runs.items[0]?.data.metrics.find((m) => m.key === "drift.share");
    assert.equal(share?.step, 1);
    assert.equal(share?.value, monitor.drift.share);
  });

  it("holds the next retrain back within the cooldown", async () => {
    const result = await run<DailyInferenceResult>(dailyInferenceFlow, { day: 2 });
    const monitor = result.monitor as MonitorResult;
    assert.equal(monitor.retrain.retrain, false);
    assert.match(
      monitor.retrain.reasons.at(-1) ?? "",
      /^cooldown: retrained on day 1, less than 2 days ago/,
    );
    assert.equal(result.retrain, null);
  });

  it("monitors a predicted day again from the monitor flow, and refuses a day without predictions", async () => {
    const again = await run<MonitorResult>(monitorFlow, { day: 2 });
    assert.equal(again.day, 2);
    assert.equal(again.skipped, true, "the same inputs are not monitored twice");
    const forced = await run<MonitorResult>(monitorFlow, { day: 2, force: true });
    assert.equal(forced.skipped, false);
    assert.notEqual(forced.runId, again.runId);
    const refused = await orchestrator.run(monitorFlow, { day: 3 } as never);
    assert.equal(refused.state, "failed");
    assert.match(refused.error ?? "", /day 3 has no predictions .*: run predict first/);
    const past = await orchestrator.run(monitorFlow, { day: 99 } as never);
    assert.equal(past.state, "failed");
    assert.match(past.error ?? "", /day 99: the split has \d+ daily batches/);
  });
});

describe("the daily monitor's drift options", () => {
  const excluded = (options: DriftOptions) => (options.exclude ?? []) as ExcludedColumn[];

  it("leave out the configured columns the model has, each with its reason", () => {
    const { monitoring } = configSchema.parse({});
    const all = excluded(monitorDriftOptions(monitoring));
    assert.deepEqual(
      all.map((e) => e.column),
      ["year", "artist_familiarity", "artist_hotttnesss", "song_hotttnesss"],
    );
    assert.match(all[3]?.reason ?? "", /better-known artists/);
    const seedFeatures = new Set(["duration", "key", "loudness", "mode", "tempo", "year"]);
    assert.deepEqual(
      excluded(monitorDriftOptions(monitoring, seedFeatures)).map((e) => e.column),
      ["year"],
    );
    assert.deepEqual(
      excluded(monitorDriftOptions({ ...monitoring, exclude: "tempo" }, seedFeatures)),
      [{ column: "tempo", reason: "left out by monitoring.exclude" }],
    );
  });
});
