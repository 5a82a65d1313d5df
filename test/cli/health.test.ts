// `worker --health-port` and `scheduler --health-port` as processes, with `serve` beside them on
// the BullMQ executor: /healthz, /readyz and /metrics on each listener; serve's /metrics showing
// the queue's waiting jobs while no worker runs, then the worker's slots and utilization once
// one does; the worker's own task-run counts and the scheduler's started runs and flow-run
// durations; and SIGTERM with work running: /healthz turns 503 while the work finishes within
// the shutdown timeout, and the process exits 0.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { sqliteUri } from "../../src/tracking/uri.ts";
import { type CliProcess, cleanEnv, runCli, startCli } from "../helpers/cli.ts";
import { redisUnavailable, sharedRedis, testQueueSettings } from "../helpers/redis-server.ts";

/** The value of one sample line of Prometheus text, or undefined without one. */
function sample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const present = (/\{(.*)\}/.exec(line)?.[1] ?? "").split(/,(?=[a-z_]+=")/);
    if (wanted.every((pair) => present.includes(pair))) return Number(line.split(" ").at(-1));
  }
  return undefined;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function metricsOf(url: string, token?: string): Promise<string> {
  const response = await fetch(`${url}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  assert.equal(response.status, 200);
  return response.text();
}

/** The base URL a command printed for its health listener. */
async function healthUrl(process: CliProcess): Promise<string> {
  const line = await process.waitFor(/^health http:\/\/127\.0\.0\.1:\d+\/healthz/);
  return /(http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1] as string;
}

/** Polls /healthz after SIGTERM and gives the statuses seen until the process exits. */
async function healthWhileStopping(process: CliProcess, url: string): Promise<number[]> {
  const seen: number[] = [];
  let exited = false;
  void process.exited.then(() => {
    exited = true;
  });
  process.child.kill("SIGTERM");
  while (!exited) {
    const status = await fetch(`${url}/healthz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status !== 0) seen.push(status);
    await new Promise((r) => setTimeout(r, 100));
  }
  return seen;
}

describe("worker and serve with the BullMQ executor", { skip: redisUnavailable() }, () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const processes: CliProcess[] = [];
  let stopRedis: () => Promise<void> = async () => {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gc-health-"));
    const redis = await sharedRedis();
    stopRedis = () => redis.stop();
    env = cleanEnv({
      GENRE_CLASSIFIER_TRACKING_URI: sqliteUri(join(dir, "tracking.db")),
      GENRE_CLASSIFIER_STORAGE_URI: pathToFileURL(join(dir, "store")).href,
      GENRE_CLASSIFIER_ORCHESTRATION_EXECUTOR: "bullmq",
      GENRE_CLASSIFIER_ORCHESTRATION_REDIS_URL: redis.url,
      GENRE_CLASSIFIER_ORCHESTRATION_REDIS_PREFIX: testQueueSettings(redis.url).prefix,
      GENRE_CLASSIFIER_ORCHESTRATION_HEARTBEAT_SECONDS: "0.5",
      GENRE_CLASSIFIER_SERVER_TOKEN: "health-token-0123456789",
    });
  });
  after(async () => {
    for (const p of processes) p.child.kill("SIGKILL");
    await Promise.all(processes.map((p) => p.exited));
    await stopRedis();
    await rm(dir, { recursive: true, force: true });
  });

  function start(args: string[]): CliProcess {
    const started = startCli(args, { env });
    processes.push(started);
    return started;
  }

  it("reports waiting jobs, then the worker's slots; the worker finishes its task run on SIGTERM with /healthz at 503, and exits 0", async () => {
    const serve = start(["serve", "--port", "0"]);
    const serveUrl = /(http:\/\/127\.0\.0\.1:\d+)/.exec(
      await serve.waitFor(/serving on http:/),
    )?.[1] as string;
    const token = "health-token-0123456789";
    const ready = await fetch(`${serveUrl}/readyz`);
    const readiness = (await ready.json()) as { checks: Record<string, { ok: boolean }> };
    assert.equal(ready.status, 200, JSON.stringify(readiness));
    assert.deepEqual(Object.keys(readiness.checks).sort(), [
      "object store",
      "redis",
      "tracking database",
    ]);

    const flow = start(["flows", "run", "selfcheck", "--param", "tasks=3", "--wait"]);
    const waiting = await until("3 waiting jobs on serve's /metrics", async () => {
      const text = await metricsOf(serveUrl, token);
      return sample(text, "genre_classifier_queue_jobs", { queue: "tasks", state: "waiting" }) === 3
        ? text
        : undefined;
    });
    assert.equal(sample(waiting, "genre_classifier_workers"), 0);
    assert.equal(sample(waiting, "genre_classifier_workers_utilization"), 0);

    const worker = start([
      "worker",
      "--name",
      "health-w",
      "--concurrency",
      "2",
      "--health-port",
      "0",
      "--shutdown-timeout",
      "8",
    ]);
    const url = await healthUrl(worker);
    assert.equal(await flow.exited, 0, flow.output());
    assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: "ok" });
    const workerReady = await fetch(`${url}/readyz`);
    assert.equal(workerReady.status, 200, await workerReady.clone().text());
    assert.equal((await fetch(`${url}/metrics`)).status, 401);
    const own = await metricsOf(url, token);
    assert.equal(sample(own, "genre_classifier_worker_slots"), 2);
    assert.equal(
      sample(own, "genre_classifier_worker_task_runs_total", {
        queue: "tasks",
        task: "selfcheck-item",
        outcome: "completed",
      }),
      3,
    );
    assert.equal(
      sample(own, "genre_classifier_worker_task_run_duration_seconds_count", {
        task: "selfcheck-summary",
      }),
      1,
    );
    const seen = await until("the worker on serve's /metrics", async () => {
      const text = await metricsOf(serveUrl, token);
      return sample(text, "genre_classifier_workers") === 1 ? text : undefined;
    });
    assert.equal(sample(seen, "genre_classifier_workers_slots"), 2);
    assert.equal(
      sample(seen, "genre_classifier_queue_jobs", { queue: "tasks", state: "waiting" }),
      0,
    );

    const slow = start([
      "flows",
      "run",
      "selfcheck",
      "--param",
      "tasks=1",
      "--param",
      "sleep_ms=2000",
      "--wait",
    ]);
    await until("the slow task run busy on the worker", async () => {
      const text = await metricsOf(url, token);
      return sample(text, "genre_classifier_worker_busy_slots") === 1 ? true : undefined;
    });
    const statuses = await healthWhileStopping(worker, url);
    assert.ok(statuses.includes(503), `saw ${statuses.join(" ")}`);
    assert.equal(await worker.exited, 0, worker.output());
    assert.match(worker.output(), /stopped: 5 task runs completed, 0 failed\n/);
    assert.doesNotMatch(worker.output(), /handed .* back/);

    const after = await until(
      "the stopped worker gone from serve's /metrics",
      async () => {
        const text = await metricsOf(serveUrl, token);
        return sample(text, "genre_classifier_workers") === 0 ? text : undefined;
      },
      10_000,
    );
    assert.equal(sample(after, "genre_classifier_workers_slots"), 0);
    slow.child.kill("SIGKILL");
    serve.child.kill("SIGTERM");
    assert.equal(await serve.exited, 0, serve.output());
  });
});

describe("scheduler --health-port", () => {
  let dir: string;
  const processes: CliProcess[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gc-health-scheduler-"));
  });
  after(async () => {
    for (const p of processes) p.child.kill("SIGKILL");
    await Promise.all(processes.map((p) => p.exited));
    await rm(dir, { recursive: true, force: true });
  });

  it("serves health, readiness and its metrics, and on SIGTERM lets its flow run finish with /healthz at 503, then exits 0", async () => {
    const env = cleanEnv({
      GENRE_CLASSIFIER_TRACKING_URI: sqliteUri(join(dir, "tracking.db")),
      GENRE_CLASSIFIER_STORAGE_URI: pathToFileURL(join(dir, "store")).href,
      GENRE_CLASSIFIER_ORCHESTRATION_SCHEDULER_INTERVAL_SECONDS: "0.2",
    });
    const deployed = await runCli(
      [
        "deploy",
        "--name",
        "beat",
        "--flow",
        "selfcheck",
        "--interval",
        "1",
        "--param",
        "tasks=1",
        "--param",
        "sleep_ms=1500",
      ],
      { env },
    );
    assert.equal(deployed.code, 0, deployed.stderr);
    const scheduler = startCli(["scheduler", "--health-port", "0"], { env });
    processes.push(scheduler);
    const url = await healthUrl(scheduler);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200, await ready.clone().text());
    assert.equal((await fetch(`${url}/nothing`)).status, 404);
    assert.equal((await fetch(`${url}/healthz`, { method: "POST" })).status, 405);
    const text = await until("a finished flow run on the scheduler's /metrics", async () => {
      const metrics = await metricsOf(url);
      return (sample(metrics, "genre_classifier_flow_run_duration_seconds_count", {
        flow: "selfcheck",
        state: "completed",
      }) ?? 0) >= 1
        ? metrics
        : undefined;
    });
    assert.ok(
      (sample(text, "genre_classifier_scheduler_started_runs_total", { deployment: "beat" }) ??
        0) >= 1,
    );
    await until("a flow run running", async () =>
      sample(await metricsOf(url), "genre_classifier_scheduler_active_flow_runs") === 1
        ? true
        : undefined,
    );
    const statuses = await healthWhileStopping(scheduler, url);
    assert.ok(statuses.includes(503), `saw ${statuses.join(" ")}`);
    assert.equal(await scheduler.exited, 0, scheduler.output());
    assert.match(scheduler.output(), /scheduler stopped/);
  });

  it("refuses --health-port with --once, naming both", async () => {
    const result = await runCli(["scheduler", "--once", "--health-port", "0"], {
      env: cleanEnv({ GENRE_CLASSIFIER_DATA_DIR: dir }),
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--health-port and --health-host: not with --once/);
  });
});
