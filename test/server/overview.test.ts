// The overview page and /api/v1/overview on the whole serve application: what a new user is
// told to run in a fresh folder; then the champion with its validation metrics and since when
// (exact when the train flow's gate moved the alias, a lower bound after a move by hand), the
// latest predicted day, the monitoring timeline as an SVG chart linking to the reports, recent
// runs, and failed or crashed runs as alerts with hostile messages shown as text; in chromium.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import { findFlow, flow } from "../../src/orchestration/api.ts";
import { noBrowser, openWatchedPage, screenshot, withBrowser } from "../helpers/browser.ts";
import { startTestServer, type TestServer } from "../helpers/serve.ts";

const HOSTILE = "<script>alert(1)</script>";

const failing = flow(
  "overview-failing",
  async ({ message }) => {
    throw new Error(message);
  },
  { parameters: z.object({ message: z.string() }) },
);

interface OverviewJson {
  champion: {
    version: string;
    run_id: string;
    registered_at: number;
    since: number;
    since_exact: boolean;
    metrics: Record<string, number>;
    baseline_jaccard: number | null;
  } | null;
  latest_prediction: {
    day: number;
    days: number;
    tracks: number;
    model: { version: string };
  } | null;
  monitoring: { day: number; drift: boolean }[];
  recent_flow_runs: { flow_name: string; parent_flow_run_id: string | null }[];
  problems: { id: string; state: string; error_message: string | null }[];
}

async function overview(server: TestServer): Promise<OverviewJson> {
  const answer = await server.request("/api/v1/overview");
  assert.equal(answer.status, 200);
  return (await answer.json()) as OverviewJson;
}

/** A training run with validation metrics, registered as the train flow's gate does it. */
async function trainedVersion(server: TestServer, jaccard: number): Promise<string> {
  const { tracking } = server;
  const name = server.config.pipeline.registeredModel;
  const experiment = await tracking.getOrCreateExperiment("genre-classifier");
  const run = await tracking.startRun(experiment.experimentId);
  const runId = run.info.runId;
  await tracking.logMetrics(runId, {
    jaccard_samples: jaccard,
    f1_micro: jaccard + 0.1,
    f1_macro: jaccard + 0.05,
    hamming_loss: 0.08,
    "baseline.jaccard_samples": 0.15,
    "genre.rock.f1": 0.7,
  });
  await tracking.endRun(runId);
  const version = await tracking.registerModelVersion(name, runId, "model", {
    tags: { "gate.decision": "registered", "gate.reason": "passed" },
  });
  await tracking.setAlias(name, "champion", version.version);
  return runId;
}

describe("overview", () => {
  let server: TestServer;
  let freshPage: string;
  let fresh: OverviewJson;
  let failedRunId: string;

  before(async () => {
    server = await startTestServer();
    freshPage = await (await server.request("/")).text();
    fresh = await overview(server);

    await trainedVersion(server, 0.41);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await trainedVersion(server, 0.47);
    const { store } = server;
    for (const day of [1, 2]) {
      const summary = {
        day,
        model: { name: "genre-classifier", version: "1", runId: "r" },
        alias: "champion",
        tracks: 40 + day,
        predicted_at: new Date(Date.now() - (3 - day) * 86_400_000).toISOString(),
      };
      await store.put(`predictions/day=000${day}/run.json`, JSON.stringify(summary));
      await store.put(`predictions/day=000${day}/predictions.parquet`, "not read here");
    }
    const days = [1, 2, 3].map((day) => ({
      day,
      href: `day=000${day}/report.html`,
      createdAt: new Date().toISOString(),
      driftShare: day === 3 ? 0.8 : 0.05 * day,
      driftedColumns: day === 3 ? 8 : day,
      columns: 10,
      drift: day === 3,
      jaccard: day === 3 ? 0.22 : 0.41,
      modelVersion: "1",
      retrained: day === 3,
    }));
    await store.put("reports/monitoring/days.json", JSON.stringify(days));

    const failed = await server.orchestrator.run(failing, { message: HOSTILE });
    assert.equal(failed.state, "failed");
    failedRunId = failed.flowRunId;
    const crashedId = randomUUID();
    await server.orchestrator.runs.createFlowRun({
      id: crashedId,
      flowName: "overview-crashed",
      parameters: {},
      state: "pending",
    });
    await server.orchestrator.runs.setFlowState(crashedId, {
      state: "crashed",
      message: "process 1 on elsewhere is gone",
    });
    const selfcheck = findFlow("selfcheck");
    assert.ok(selfcheck);
    assert.equal((await server.orchestrator.run(selfcheck, { tasks: 2 })).state, "completed");
  });
  after(async () => {
    await server?.close();
  });

  it("tells a new user what to run in a fresh folder", () => {
    assert.equal(fresh.champion, null);
    assert.equal(fresh.latest_prediction, null);
    assert.deepEqual(fresh.monitoring, []);
    assert.deepEqual(fresh.recent_flow_runs, []);
    assert.match(freshPage, /Nothing has run here yet/);
    assert.match(freshPage, /genre-classifier demo/);
    assert.match(freshPage, /No version of <code>genre-classifier<\/code> is champion yet/);
  });

  it("shows the champion with its validation metrics and since when the gate made it champion", async () => {
    const { champion } = await overview(server);
    assert.ok(champion);
    assert.equal(champion.version, "2");
    assert.deepEqual(champion.metrics, {
      jaccard_samples: 0.47,
      f1_micro: 0.57,
      f1_macro: 0.52,
      hamming_loss: 0.08,
    });
    assert.equal(champion.baseline_jaccard, 0.15);
    assert.equal(champion.since_exact, true);
    assert.equal(champion.since, champion.registered_at);
    const page = await (await server.request("/")).text();
    assert.match(page, /v2/);
    assert.match(page, /<dt>jaccard_samples<\/dt><dd>0\.4700<\/dd>/);
    assert.match(page, /champion since/);
  });

  it("says the time is a lower bound once the alias was moved back by hand", async () => {
    const name = server.config.pipeline.registeredModel;
    const v2 = await server.tracking.getModelVersion(name, "2");
    await server.tracking.setAlias(name, "champion", "1");
    try {
      const { champion } = await overview(server);
      assert.equal(champion?.version, "1");
      assert.equal(champion?.since_exact, false);
      assert.equal(champion?.since, v2.creationTimestamp);
      assert.match(await (await server.request("/")).text(), /champion after/);
    } finally {
      await server.tracking.setAlias(name, "champion", "2");
    }
  });

  it("shows the latest predicted day and the monitoring timeline linking to the reports", async () => {
    const { latest_prediction, monitoring } = await overview(server);
    assert.deepEqual(
      latest_prediction && [
        latest_prediction.day,
        latest_prediction.days,
        latest_prediction.tracks,
      ],
      [2, 2, 42],
    );
    assert.deepEqual(
      monitoring.map((d) => [d.day, d.drift]),
      [
        [1, false],
        [2, false],
        [3, true],
      ],
    );
    const page = await (await server.request("/")).text();
    assert.match(page, /href="\/predictions\/day\/2"/);
    assert.match(page, /Day 3: drift detected in 8 of 10 feature columns; retraining started/);
    assert.equal(
      page.match(/<a href="\/reports\/monitoring\/day=000\d\/report.html"><circle/g)?.length,
      3,
    );
    assert.match(page, /<polyline points="[\d., ]+"[^>]*data-series="jaccard"/);
  });

  it("lists failed and crashed runs as alerts, showing their messages as text", async () => {
    const { problems, recent_flow_runs } = await overview(server);
    assert.deepEqual(problems.map((p) => p.state).sort(), ["crashed", "failed"]);
    assert.equal(problems.find((p) => p.state === "failed")?.id, failedRunId);
    assert.ok(recent_flow_runs.every((r) => r.parent_flow_run_id === null));
    assert.equal(recent_flow_runs[0]?.flow_name, "selfcheck");
    const page = await (await server.request("/")).text();
    assert.doesNotMatch(page, /<script>alert/);
    assert.match(page, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(page, /process 1 on elsewhere is gone/);
  });

  it("opens in chromium with a clean console and nothing from another host", {
    skip: noBrowser,
  }, async () => {
    await withBrowser(async (browser) => {
      const { page, watch, dialogs } = await openWatchedPage(browser, server.url);
      await page.goto(`${server.url}/`);
      assert.equal(
        await page.locator("[data-card=champion] .big").textContent(),
        "genre-classifier v2",
      );
      assert.equal(await page.locator("svg circle").count(), 6);
      assert.equal(await page.locator("[role=alert]").count(), 2);
      await screenshot(page, "overview");
      await page.setViewportSize({ width: 390, height: 844 });
      await screenshot(page, "overview-phone");
      const width = await page.evaluate("document.documentElement.scrollWidth");
      assert.ok(Number(width) <= 390, `the page fits a phone's width (${width} px)`);
      assert.deepEqual(dialogs, []);
      assert.deepEqual(watch.problems, []);
    });
  });
});
