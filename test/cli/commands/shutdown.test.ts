// The long-running commands (`worker`, `scheduler`, `tracking serve`) as processes, stopped
// with SIGTERM or SIGINT while their Redis or database is gone or hangs: each exits within
// 10 s; a worker hands its running task run back to the queue, where another worker
// completes it once; a second signal stops a command at once. Redis is a private
// redis-server killed with SIGKILL, or the shared test Redis; PostgreSQL is the test server
// behind a TCP relay that is cut (the database is gone) or frozen (the database hangs).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { RunStore } from "../../../src/orchestration/run-store.ts";
import { sqliteUri } from "../../../src/tracking/uri.ts";
import { type CliProcess, cleanEnv, startCli } from "../../helpers/cli.ts";
import {
  type RedisServer,
  redisUnavailable,
  sharedRedis,
  startRedis,
  testQueueSettings,
} from "../../helpers/redis-server.ts";
import { startTcpProxy, type TcpProxy } from "../../helpers/tcp-proxy.ts";
import { backends } from "../../tracking/backends.ts";

const postgres = backends.find((b) => b.name === "postgres");
const postgresSkip = postgres?.skip ?? "no PostgreSQL backend";
const STOP_LIMIT_MS = 10_000;

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
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends `signal` and waits for the exit, failing (and killing the process) after `limitMs`. */
async function stopWithin(
  process: CliProcess,
  signal: NodeJS.Signals,
  limitMs = STOP_LIMIT_MS,
): Promise<{ code: number; ms: number }> {
  const sent = Date.now();
  process.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), limitMs);
  });
  const outcome = await Promise.race([process.exited, limit]);
  clearTimeout(timer);
  if (outcome === "late") {
    process.child.kill("SIGKILL");
    await process.exited;
    assert.fail(`still running ${limitMs} ms after ${signal}:\n${process.output()}`);
  }
  const ms = Date.now() - sent;
  console.log(`exit ${outcome} ${ms} ms after ${signal}`);
  return { code: outcome, ms };
}

/** The lines a stopped command wrote after the signal that start with the CLI's error prefix. */
function errorLines(process: CliProcess): string[] {
  return process
    .output()
    .split("\n")
    .filter((line) => line.startsWith("genre-classifier:"));
}

interface Place {
  dir: string;
  storeUri: string;
  cleanup(): Promise<void>;
}

async function makePlace(): Promise<Place> {
  const dir = await mkdtemp(join(tmpdir(), "gc-shutdown-"));
  return {
    dir,
    storeUri: pathToFileURL(join(dir, "store")).href,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

function baseEnv(place: Place, databaseUri: string, extra: Record<string, string> = {}) {
  return cleanEnv({
    GENRE_CLASSIFIER_TRACKING_URI: databaseUri,
    GENRE_CLASSIFIER_STORAGE_URI: place.storeUri,
    GENRE_CLASSIFIER_ORCHESTRATION_HEARTBEAT_SECONDS: "0.5",
    ...extra,
  });
}

function queueEnv(place: Place, databaseUri: string, redisUrl: string, prefix: string) {
  return baseEnv(place, databaseUri, {
    GENRE_CLASSIFIER_ORCHESTRATION_EXECUTOR: "bullmq",
    GENRE_CLASSIFIER_ORCHESTRATION_REDIS_URL: redisUrl,
    GENRE_CLASSIFIER_ORCHESTRATION_REDIS_PREFIX: prefix,
    GENRE_CLASSIFIER_ORCHESTRATION_WORKER_LOCK_SECONDS: "2",
  });
}

/** The task runs of the selfcheck items that are running, and on which worker. */
async function runningItems(runs: RunStore, flowRunId: string) {
  const taskRuns = await runs.listTaskRuns(flowRunId);
  const running = taskRuns.filter((t) => t.task_name === "selfcheck-item" && t.state === "running");
  return running.length > 0 ? running : undefined;
}

describe("worker shutdown", { skip: redisUnavailable() }, () => {
  let place: Place;
  let databaseUri: string;
  const processes: CliProcess[] = [];
  const servers: RedisServer[] = [];

  before(async () => {
    place = await makePlace();
    databaseUri = sqliteUri(join(place.dir, "tracking.db"));
  });
  after(async () => {
    for (const p of processes) p.child.kill("SIGKILL");
    await Promise.all(processes.map((p) => p.exited));
    await Promise.all(servers.map((s) => s.stop()));
    await place.cleanup();
  });

  function start(args: string[], env: NodeJS.ProcessEnv): CliProcess {
    const started = startCli(args, { env });
    processes.push(started);
    return started;
  }

  async function flowStarted(flow: CliProcess): Promise<string> {
    return /flow run (\S+)/.exec(await flow.waitFor(/^flow run /))?.[1] ?? "";
  }

  it("exits within 10 s of SIGTERM when its Redis is gone", async () => {
    const redis = await startRedis();
    servers.push(redis);
    const env = queueEnv(place, databaseUri, redis.url, "gone-idle");
    const worker = start(["worker", "--name", "idle"], env);
    await worker.waitFor(/^worker idle:/);
    await redis.stop();
    await new Promise((r) => setTimeout(r, 500));
    const stopped = await stopWithin(worker, "SIGTERM");
    assert.equal(stopped.code, 0, worker.output());
  });

  it("exits within 10 s of SIGINT when its Redis goes away under a running task run", async () => {
    const redis = await startRedis();
    servers.push(redis);
    const env = queueEnv(place, databaseUri, redis.url, "gone-busy");
    const worker = start(["worker", "--name", "busy"], env);
    await worker.waitFor(/^worker busy:/);
    const flow = start(
      ["flows", "run", "selfcheck", "--param", "tasks=1", "--param", "sleep_ms=60000"],
      env,
    );
    const flowRunId = await flowStarted(flow);
    const runs = await RunStore.open(databaseUri);
    try {
      await until("the task run running", () => runningItems(runs, flowRunId));
      await redis.stop();
      const stopped = await stopWithin(worker, "SIGINT");
      assert.equal(stopped.code, 1, worker.output());
      const lines = errorLines(worker);
      assert.equal(lines.length, 1, worker.output());
      assert.match(lines[0] ?? "", /1 running task run .*another worker/);
      const [item] = (await runs.listTaskRuns(flowRunId)).filter(
        (t) => t.task_name === "selfcheck-item",
      );
      assert.equal(item?.state, "pending", "the task run is left for another worker");
    } finally {
      await runs.close();
    }
  });

  it("hands a running task run back on SIGTERM, and another worker completes it once", async () => {
    const redis = await sharedRedis();
    const { prefix } = testQueueSettings(redis.url);
    const env = queueEnv(place, databaseUri, redis.url, prefix);
    const first = start(["worker", "--name", "first", "--shutdown-timeout", "3"], env);
    await first.waitFor(/^worker first:/);
    const flow = start(
      ["flows", "run", "selfcheck", "--param", "tasks=1", "--param", "sleep_ms=5000", "--wait"],
      env,
    );
    const flowRunId = await flowStarted(flow);
    const runs = await RunStore.open(databaseUri);
    try {
      const [taken] = await until("the task run running", () => runningItems(runs, flowRunId));
      assert.equal(taken?.worker, "first");
      const stopped = await stopWithin(first, "SIGTERM", 6_000);
      assert.equal(stopped.code, 0, first.output());
      assert.match(first.output(), /handed 1 running task run back/);
      const second = start(["worker", "--name", "second"], env);
      assert.equal(await flow.exited, 0, flow.output());
      assert.match(flow.output(), /state: completed/);
      const item = await runs.getTaskRun(taken?.id ?? "");
      assert.equal(item?.state, "completed");
      assert.equal(item?.worker, "second");
      const history = await runs.stateHistory(taken?.id ?? "");
      const states = history.map((h) => h.state);
      assert.equal(states.filter((s) => s === "completed").length, 1, states.join(" "));
      assert.equal(states.filter((s) => s === "running").length, 2, states.join(" "));
      assert.ok(
        history.some((h) => h.state === "pending" && /handed back/.test(h.message ?? "")),
        states.join(" "),
      );
      assert.equal((await stopWithin(second, "SIGTERM")).code, 0, second.output());
    } finally {
      await runs.close();
    }
  });

  it("stops at once on a second SIGTERM", async () => {
    const redis = await sharedRedis();
    const { prefix } = testQueueSettings(redis.url);
    const env = queueEnv(place, databaseUri, redis.url, prefix);
    const worker = start(["worker", "--name", "twice", "--shutdown-timeout", "60"], env);
    await worker.waitFor(/^worker twice:/);
    const flow = start(
      ["flows", "run", "selfcheck", "--param", "tasks=1", "--param", "sleep_ms=60000"],
      env,
    );
    const flowRunId = await flowStarted(flow);
    const runs = await RunStore.open(databaseUri);
    try {
      await until("the task run running", () => runningItems(runs, flowRunId));
      worker.child.kill("SIGTERM");
      await worker.waitFor(/^stopping/);
      const stopped = await stopWithin(worker, "SIGTERM", 2_000);
      assert.notEqual(stopped.code, 0, worker.output());
      assert.equal(errorLines(worker).length, 1, worker.output());
    } finally {
      await runs.close();
    }
  });

  it("exits within 10 s of SIGTERM when its PostgreSQL hangs", { skip: postgresSkip }, async () => {
    const database = await (postgres as (typeof backends)[number]).create();
    const relay = await startTcpProxy(tcpTarget(database.uri));
    const redis = await sharedRedis();
    const { prefix } = testQueueSettings(redis.url);
    const env = queueEnv(place, relay.via(database.uri), redis.url, prefix);
    try {
      const worker = start(["worker", "--name", "pg"], env);
      await worker.waitFor(/^worker pg:/);
      const flow = start(
        ["flows", "run", "selfcheck", "--param", "tasks=1", "--param", "sleep_ms=60000"],
        env,
      );
      const flowRunId = await flowStarted(flow);
      const runs = await RunStore.open(database.uri);
      try {
        await until("the task run running", () => runningItems(runs, flowRunId));
      } finally {
        await runs.close();
      }
      relay.freeze();
      const stopped = await stopWithin(worker, "SIGTERM");
      assert.equal(stopped.code, 1, worker.output());
      assert.equal(errorLines(worker).length, 1, worker.output());
      flow.child.kill("SIGKILL");
      await flow.exited;
    } finally {
      await relay.close();
      await database.drop();
    }
  });
});

function tcpTarget(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port || 5432) };
}

describe("scheduler shutdown", () => {
  let place: Place;
  const processes: CliProcess[] = [];

  before(async () => {
    place = await makePlace();
  });
  after(async () => {
    for (const p of processes) p.child.kill("SIGKILL");
    await Promise.all(processes.map((p) => p.exited));
    await place.cleanup();
  });

  async function deployAndSchedule(env: NodeJS.ProcessEnv): Promise<CliProcess> {
    const { runCli } = await import("../../helpers/cli.ts");
    const deployed = await runCli(
      [
        "deploy",
        "--name",
        "slow",
        "--flow",
        "selfcheck",
        "--interval",
        "1",
        "--param",
        "tasks=1",
        "--param",
        "sleep_ms=60000",
      ],
      { env },
    );
    assert.equal(deployed.code, 0, deployed.stderr);
    const scheduler = startCli(["scheduler"], { env });
    processes.push(scheduler);
    await scheduler.waitFor(/^slow .*flow run/);
    return scheduler;
  }

  it("exits within 10 s of SIGTERM when its Redis is gone", {
    skip: redisUnavailable(),
  }, async () => {
    const redis = await startRedis();
    try {
      const env = queueEnv(
        place,
        sqliteUri(join(place.dir, "redis-gone.db")),
        redis.url,
        "scheduler-gone",
      );
      const worker = startCli(["worker", "--name", "for-scheduler"], { env });
      processes.push(worker);
      await worker.waitFor(/^worker for-scheduler:/);
      const scheduler = await deployAndSchedule({
        ...env,
        GENRE_CLASSIFIER_ORCHESTRATION_SCHEDULER_INTERVAL_SECONDS: "0.2",
      });
      await redis.stop();
      await new Promise((r) => setTimeout(r, 300));
      const stopped = await stopWithin(scheduler, "SIGTERM");
      assert.equal(stopped.code, 1, scheduler.output());
      assert.match(errorLines(scheduler).join("\n"), /1 flow run/);
      worker.child.kill("SIGKILL");
    } finally {
      await redis.stop();
    }
  });

  it("exits within 10 s of SIGINT when its PostgreSQL hangs", { skip: postgresSkip }, async () => {
    const database = await (postgres as (typeof backends)[number]).create();
    const relay = await startTcpProxy(tcpTarget(database.uri));
    try {
      const env = baseEnv(place, relay.via(database.uri), {
        GENRE_CLASSIFIER_ORCHESTRATION_SCHEDULER_INTERVAL_SECONDS: "0.2",
      });
      const scheduler = await deployAndSchedule(env);
      relay.freeze();
      const stopped = await stopWithin(scheduler, "SIGINT");
      assert.equal(stopped.code, 1, scheduler.output());
      assert.equal(errorLines(scheduler).length, 1, scheduler.output());
    } finally {
      await relay.close();
      await database.drop();
    }
  });

  it("exits 0 at once on SIGTERM when it has nothing running", async () => {
    const env = baseEnv(place, sqliteUri(join(place.dir, "idle.db")));
    const scheduler = startCli(["scheduler"], { env });
    processes.push(scheduler);
    await scheduler.waitFor(/^scheduler: /);
    const stopped = await stopWithin(scheduler, "SIGTERM", 3_000);
    assert.equal(stopped.code, 0, scheduler.output());
  });
});

describe("tracking serve shutdown", () => {
  let place: Place;
  const processes: CliProcess[] = [];

  before(async () => {
    place = await makePlace();
  });
  after(async () => {
    for (const p of processes) p.child.kill("SIGKILL");
    await Promise.all(processes.map((p) => p.exited));
    await place.cleanup();
  });

  async function serve(databaseUri: string): Promise<{ server: CliProcess; url: string }> {
    const server = startCli(["tracking", "serve", "--port", "0"], {
      env: baseEnv(place, databaseUri),
    });
    processes.push(server);
    const url = /listening on (\S+)/.exec(await server.waitFor(/listening on /))?.[1] ?? "";
    return { server, url };
  }

  /** Starts a search request and leaves it waiting for its answer. */
  function searchInFlight(url: string): void {
    const call = request(`${url}/api/2.0/mlflow/experiments/search?max_results=10`);
    call.on("error", () => {});
    call.on("response", (response) => response.resume());
    call.end();
  }

  for (const [fault, signal] of [
    ["is gone", "SIGTERM"],
    ["hangs", "SIGINT"],
  ] as const)
    it(`exits within 10 s of ${signal} when its PostgreSQL ${fault}`, {
      skip: postgresSkip,
    }, async () => {
      const database = await (postgres as (typeof backends)[number]).create();
      const relay: TcpProxy = await startTcpProxy(tcpTarget(database.uri));
      try {
        const { server, url } = await serve(relay.via(database.uri));
        if (fault === "hangs") relay.freeze();
        else await relay.cut();
        searchInFlight(url);
        await new Promise((r) => setTimeout(r, 300));
        const stopped = await stopWithin(server, signal);
        assert.ok(stopped.code === 0 || errorLines(server).length === 1, server.output());
      } finally {
        await relay.close();
        await database.drop();
      }
    });

  it("exits 0 at once on SIGTERM with its SQLite database", async () => {
    const { server } = await serve(sqliteUri(join(place.dir, "tracking.db")));
    const stopped = await stopWithin(server, "SIGTERM", 3_000);
    assert.equal(stopped.code, 0, server.output());
  });
});
