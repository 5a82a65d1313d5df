// The operations endpoints of the serve application over HTTP: /healthz and /readyz without
// the token (and 503 once stopping), /readyz naming a check that fails or hangs past its
// timeout, /metrics behind the token unless server.metricsPublic, with requests labelled by
// route pattern (two paths of one route are one series; unknown paths are "unmatched"), flow
// and task runs by state and each flow's newest run read from the database at scrape time,
// and the tracks the online prediction API answered.
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { findFlow } from "../../src/orchestration/api.ts";
import { completeRow, fitSmallModel, registerModel } from "../helpers/genre-model.ts";
import { startTestServer, type TestServer } from "../helpers/serve.ts";

/** A TCP server that accepts connections and never answers (a hung Redis). */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `redis://:hunter2@127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The value of one sample line of Prometheus text, or undefined without one. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = /\{(.*)\}/.exec(line)?.[1] ?? "";
    const present = labelText.split(/,(?=[a-z_]+=")/);
    if (wanted.every((pair) => present.includes(pair))) return Number(line.split(" ").at(-1));
  }
  return undefined;
}

describe("serve's operations endpoints", () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ token: "ops-token-0123456789" });
  });
  after(async () => {
    await server?.close();
  });

  it("answers /healthz and /readyz without the token", async () => {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "ok" });
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as {
      status: string;
      checks: Record<string, { ok: boolean; ms: number }>;
    };
    assert.equal(body.status, "ok");
    assert.deepEqual(Object.keys(body.checks).sort(), ["object store", "tracking database"]);
    for (const check of Object.values(body.checks)) {
      assert.equal(check.ok, true);
      assert.ok(check.ms >= 0 && check.ms < 2000, String(check.ms));
    }
  });

  it("needs the token for /metrics, and answers 401 (not the login page) without it", async () => {
    const refused = await fetch(`${server.url}/metrics`, { redirect: "manual" });
    assert.equal(refused.status, 401);
    const metrics = await server.request("/metrics");
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await metrics.text();
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  });

  it("labels requests by route pattern and status, never by raw path", async () => {
    for (const id of ["aaaa1111", "bbbb2222"])
      await (await server.request(`/api/v1/flow-runs/${id}`)).arrayBuffer();
    for (const junk of ["/no/such/a1", "/no/such/b2", "/api/v1/nothing-here"])
      await (await server.request(junk)).arrayBuffer();
    const text = await (await server.request("/metrics")).text();
    assert.doesNotMatch(text, /aaaa1111|bbbb2222|no\/such|nothing-here/);
    const name = "genre_classifier_http_request_duration_seconds_count";
    assert.equal(
      sample(text, name, { method: "GET", route: "/api/v1/flow-runs/:id", status: "404" }),
      2,
    );
    assert.equal(sample(text, name, { method: "GET", route: "unmatched", status: "404" }), 3);
    assert.ok((sample(text, name, { route: "/healthz", status: "200" }) ?? 0) >= 1);
    const refused = sample(text, name, { route: "/metrics", status: "401" });
    assert.ok(
      refused !== undefined && refused >= 1,
      "the refused scrape is counted under /metrics",
    );
  });

  it("counts flow and task runs by state from the database, with each flow's newest run", async () => {
    const selfcheck = findFlow("selfcheck");
    assert.ok(selfcheck);
    const before = Date.now() / 1000;
    const outcome = await server.orchestrator.run(selfcheck, { tasks: 3, sleep_ms: 1 });
    assert.equal(outcome.state, "completed");
    // A scrape reuses the database's counts for 5 s: the run shows within that.
    let text = "";
    const deadline = Date.now() + 8_000;
    while (Date.now() < deadline) {
      text = await (await server.request("/metrics")).text();
      if (sample(text, "genre_classifier_flow_runs", { flow: "selfcheck" }) !== undefined) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(
      sample(text, "genre_classifier_flow_runs", { flow: "selfcheck", state: "completed" }),
      1,
    );
    assert.equal(sample(text, "genre_classifier_task_runs", { state: "completed" }), 4);
    const duration = sample(text, "genre_classifier_flow_run_last_duration_seconds", {
      flow: "selfcheck",
      state: "completed",
    });
    assert.ok(duration !== undefined && duration >= 0 && duration < 30, String(duration));
    const ended = sample(text, "genre_classifier_flow_run_last_completed_timestamp_seconds", {
      flow: "selfcheck",
    });
    assert.ok(ended !== undefined && ended >= before - 1 && ended <= Date.now() / 1000 + 1);
    assert.equal(
      sample(text, "genre_classifier_metrics_source_up", { source: "tracking database" }),
      1,
    );
  });

  it("counts the tracks the prediction API answered and times the answers", async () => {
    const model = await fitSmallModel(server.dir, { seed: 3, trees: 2 });
    await registerModel(server.tracking, server.config.pipeline.registeredModel, model, server.dir);
    await server.onlineModel.refresh();
    const row = completeRow(11, 400);
    const track = Object.fromEntries(model.features.map((f) => [f, row[f] as number]));
    const answer = await server.request("/api/v1/predict", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tracks: [track, track, track] }),
    });
    assert.equal(answer.status, 200, await answer.clone().text());
    const refused = await server.request("/api/v1/predict", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tracks: [{ tempo: "fast" }] }),
    });
    assert.equal(refused.status, 400);
    const text = await (await server.request("/metrics")).text();
    assert.equal(sample(text, "genre_classifier_predicted_tracks_total", { source: "json" }), 3);
    assert.equal(
      sample(text, "genre_classifier_prediction_duration_seconds_count", { source: "json" }),
      1,
    );
  });

  it("answers 503 on /healthz and /readyz once stopping", async () => {
    server.operations?.health.beginStopping();
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 503);
    assert.deepEqual(await health.json(), { status: "stopping" });
    assert.equal((await fetch(`${server.url}/readyz`)).status, 503);
  });
});

describe("serve's readiness with a failing and a hanging dependency", () => {
  let server: TestServer;
  let hung: Awaited<ReturnType<typeof silentServer>>;

  before(async () => {
    hung = await silentServer();
    server = await startTestServer({
      token: "ops-token-9876543210",
      configure: (config) => {
        config.orchestration.executor = "bullmq";
        config.orchestration.redis.url = hung.url;
        config.server.metricsPublic = true;
      },
    });
  });
  after(async () => {
    await server?.close();
    await hung?.close();
  });

  it("answers 503 naming Redis when it does not answer within the check's 2 s, passwords masked", async () => {
    const started = Date.now();
    const ready = await fetch(`${server.url}/readyz`);
    const ms = Date.now() - started;
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as {
      status: string;
      failed: string[];
      checks: Record<string, { ok: boolean; error?: string }>;
    };
    assert.deepEqual(body.failed, ["redis"]);
    assert.equal(body.checks["tracking database"]?.ok, true);
    assert.match(body.checks.redis?.error ?? "", /no answer within 2 s/);
    assert.doesNotMatch(JSON.stringify(body), /hunter2/);
    assert.ok(ms < 4000, `answered in ${ms} ms`);
  });

  it("serves /metrics without the token when server.metricsPublic is set", async () => {
    const metrics = await fetch(`${server.url}/metrics`);
    assert.equal(metrics.status, 200);
  });
});
