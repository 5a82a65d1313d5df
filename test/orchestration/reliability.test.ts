// The runtime's promises under failure, with real processes: the `worker`, `flows run`,
// `scheduler` and `deployments run` commands as separate processes on one SQLite or
// PostgreSQL database, one object store and (for the queue cases) a real Redis. A worker
// killed with SIGKILL mid-task, a flow process killed and started again, a scheduler
// restarted after a gap, two triggers with one idempotency key racing each other, and a
// Redis restarted without its data mid-flow.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { QueueExecutor } from "../../src/orchestration/queue-executor.ts";
import { RunStore } from "../../src/orchestration/run-store.ts";
import { Orchestrator } from "../../src/orchestration/runtime.ts";
import { selfcheck } from "../../src/orchestration/selfcheck.ts";
import { isFinal } from "../../src/orchestration/states.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";
import { type CliProcess, cleanEnv, runCli, startCli } from "../helpers/cli.ts";
import {
  type RedisServer,
  redisUnavailable,
  sharedRedis,
  startRedis,
  testQueueSettings,
} from "../helpers/redis-server.ts";
import { type Backend, backends } from "./fixture.ts";

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Place {
  dir: string;
  drop(): Promise<void>;
  databaseUri: string;
  storeRoot: string;
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
}

async function makePlace(backend: Backend): Promise<Place> {
  const dir = await mkdtemp(join(tmpdir(), "gc-reliability-"));
  const database = await backend.create();
  const databaseUri = database.uri;
  const storeRoot = join(dir, "store");
  return {
    dir,
    async drop() {
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    },
    databaseUri,
    storeRoot,
    env: (extra = {}) =>
      cleanEnv({
        GENRE_CLASSIFIER_TRACKING_URI: databaseUri,
        GENRE_CLASSIFIER_STORAGE_URI: pathToFileURL(storeRoot).href,
        GENRE_CLASSIFIER_ORCHESTRATION_HEARTBEAT_SECONDS: "0.5",
        ...extra,
      }),
  };
}

for (const backend of backends)
  describe(`reliability with a real Redis and worker processes (${backend.name})`, {
    skip: redisUnavailable() ?? backend.skip,
  }, () => {
    let place: Place;
    let redis: { url: string; stop(): Promise<void> };
    const processes: CliProcess[] = [];

    before(async () => {
      place = await makePlace(backend);
      redis = await sharedRedis();
    });
    after(async () => {
      for (const p of processes) p.child.kill("SIGKILL");
      await Promise.all(processes.map((p) => p.exited));
      await redis.stop();
      await place.drop();
    });

    function queueEnv(prefix: string): NodeJS.ProcessEnv {
      return place.env({
        GENRE_CLASSIFIER_ORCHESTRATION_EXECUTOR: "bullmq",
        GENRE_CLASSIFIER_ORCHESTRATION_REDIS_URL: redis.url,
        GENRE_CLASSIFIER_ORCHESTRATION_REDIS_PREFIX: prefix,
        GENRE_CLASSIFIER_ORCHESTRATION_WORKER_LOCK_SECONDS: "1",
      });
    }

    function startWorker(name: string, prefix: string): CliProcess {
      const worker = startCli(["worker", "--name", name, "--concurrency", "2"], {
        env: queueEnv(prefix),
      });
      processes.push(worker);
      return worker;
    }

    it("retries on another worker the task runs of a worker killed with SIGKILL", async () => {
      const settings = testQueueSettings(redis.url, 1_000);
      const doomed = startWorker("doomed", settings.prefix);
      const survivor = startWorker("survivor", settings.prefix);
      await Promise.all([doomed.waitFor(/^worker doomed:/), survivor.waitFor(/^worker survivor:/)]);
      const orchestrator = await Orchestrator.open({
        databaseUri: place.databaseUri,
        store: new LocalObjectStore(place.storeRoot),
        heartbeatMs: 500,
        executor: (deps) => QueueExecutor.open({ settings, sweepMs: 1_000 }, deps),
      });
      try {
        const started = await orchestrator.start(selfcheck, { tasks: 6, sleep_ms: 2_500 });
        const taken = await until("a task run on the doomed worker", async () => {
          const runs = await orchestrator.runs.listTaskRuns(started.flowRunId);
          const mine = runs.filter((t) => t.worker === "doomed" && t.state === "running");
          return mine.length > 0 ? mine.map((t) => t.id) : undefined;
        });
        doomed.child.kill("SIGKILL");
        await doomed.exited;
        const outcome = await started.outcome;
        assert.equal(outcome.state, "completed", outcome.error);
        assert.equal((outcome.result as { tasks: number }).tasks, 6);
        const taskRuns = await orchestrator.runs.listTaskRuns(started.flowRunId);
        assert.equal(taskRuns.length, 7);
        assert.ok(taskRuns.every((t) => t.state === "completed"));
        for (const id of taken) {
          const run = taskRuns.find((t) => t.id === id);
          assert.equal(run?.worker, "survivor");
          assert.equal(run?.attempt, 2);
          const history = await orchestrator.runs.stateHistory(id);
          assert.equal(history.filter((h) => h.state === "running").length, 2);
        }
      } finally {
        await orchestrator.close();
      }
    });

    it("does not redo cached task runs when a killed flow process is started again", async () => {
      const settings = testQueueSettings(redis.url, 1_000);
      startWorker("steady", settings.prefix);
      const args = [
        "flows",
        "run",
        "selfcheck",
        "--param",
        "tasks=12",
        "--param",
        "sleep_ms=400",
        "--param",
        "cache_key=reliability",
      ];
      const first = startCli(args, { env: queueEnv(settings.prefix) });
      processes.push(first);
      const firstId = /flow run (\S+)/.exec(await first.waitFor(/^flow run /))?.[1] ?? "";
      const runs = await RunStore.open(place.databaseUri);
      try {
        await until("four completed task runs", async () => {
          const done = (await runs.listTaskRuns(firstId)).filter((t) => t.state === "completed");
          return done.length >= 4 ? done : undefined;
        });
        first.child.kill("SIGKILL");
        await first.exited;
        const doneBefore = (await runs.listTaskRuns(firstId)).filter(
          (t) => t.state === "completed",
        ).length;
        const second = await runCli([...args, "--wait"], { env: queueEnv(settings.prefix) });
        assert.equal(second.code, 0, second.stderr);
        const secondId = /flow run (\S+)/.exec(second.stdout)?.[1] ?? "";
        const crashed = await runs.getFlowRun(firstId);
        assert.equal(crashed.state, "crashed");
        const again = await runs.listTaskRuns(secondId);
        const cached = again.filter((t) => t.state === "cached").length;
        assert.ok(cached >= doneBefore, `${cached} cached, ${doneBefore} done before the kill`);
        assert.ok(again.every((t) => isFinal(t.state)));
        const left = (await runs.listTaskRuns(firstId)).filter((t) => !isFinal(t.state));
        assert.deepEqual(left, [], "task runs of the crashed run left active");
      } finally {
        await runs.close();
      }
    });
  });

for (const backend of backends)
  describe(`reliability of the scheduler and triggers, as processes (${backend.name})`, {
    skip: backend.skip,
  }, () => {
    let place: Place;
    before(async () => {
      place = await makePlace(backend);
    });
    after(async () => {
      await place.drop();
    });

    it("starts one run, not one per missed tick, when the scheduler comes back after a gap", async () => {
      const env = place.env({ GENRE_CLASSIFIER_ORCHESTRATION_SCHEDULER_INTERVAL_SECONDS: "0.2" });
      const deployed = await runCli(
        ["deploy", "--name", "gap", "--flow", "selfcheck", "--interval", "1", "--param", "tasks=1"],
        { env },
      );
      assert.equal(deployed.code, 0, deployed.stderr);
      const scheduler = startCli(["scheduler"], { env });
      await scheduler.waitFor(/^gap .*flow run/);
      scheduler.child.kill("SIGKILL");
      await scheduler.exited;
      const runs = await RunStore.open(place.databaseUri);
      try {
        const before = (await runs.listFlowRuns({ deploymentName: "gap" })).length;
        await new Promise((r) => setTimeout(r, 4_500));
        const once = await runCli(["scheduler", "--once"], { env });
        assert.equal(once.code, 0, once.stderr);
        const after = await runs.listFlowRuns({ deploymentName: "gap" });
        assert.equal(after.length, before + 1, once.stdout);
      } finally {
        await runs.close();
      }
    });

    it("starts one run for two racing triggers with the same idempotency key", async () => {
      const env = place.env();
      const deployed = await runCli(
        ["deploy", "--name", "twice", "--flow", "selfcheck", "--interval", "3600"],
        { env },
      );
      assert.equal(deployed.code, 0, deployed.stderr);
      const trigger = () =>
        runCli(["deployments", "run", "twice", "--idempotency-key", "same-key", "--wait"], { env });
      const [a, b] = await Promise.all([trigger(), trigger()]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      const ids = [a, b].map((r) => /flow run (\S+)/.exec(r.stdout)?.[1]);
      assert.equal(ids[0], ids[1]);
      // The trigger that found the run waited for it to end, as --wait asks.
      for (const r of [a, b]) assert.match(r.stdout, /state: completed/, r.stdout);
      assert.equal(
        [a, b].filter((r) => /exists for this idempotency key/.test(r.stdout)).length,
        1,
      );
      const runs = await RunStore.open(place.databaseUri);
      try {
        assert.equal((await runs.listFlowRuns({ deploymentName: "twice" })).length, 1);
      } finally {
        await runs.close();
      }
    });
  });

for (const backend of backends)
  describe(`a Redis restart mid-flow, with worker and flow processes (${backend.name})`, {
    skip: redisUnavailable() ?? backend.skip,
  }, () => {
    let place: Place;
    let redis: RedisServer;
    const processes: CliProcess[] = [];

    before(async () => {
      place = await makePlace(backend);
      redis = await startRedis();
    });
    after(async () => {
      for (const p of processes) p.child.kill("SIGKILL");
      await Promise.all(processes.map((p) => p.exited));
      await redis.stop();
      await place.drop();
    });

    it("completes every task run exactly once when Redis restarts without its data", async () => {
      const env = place.env({
        GENRE_CLASSIFIER_ORCHESTRATION_EXECUTOR: "bullmq",
        GENRE_CLASSIFIER_ORCHESTRATION_REDIS_URL: redis.url,
        GENRE_CLASSIFIER_ORCHESTRATION_REDIS_PREFIX: "restart",
      });
      for (const name of ["left", "right"]) {
        const worker = startCli(["worker", "--name", name, "--concurrency", "4"], { env });
        processes.push(worker);
        await worker.waitFor(new RegExp(`^worker ${name}:`));
      }
      const tasks = 200;
      const failOnce = 0.2;
      const flowProcess = startCli(
        [
          "flows",
          "run",
          "selfcheck",
          "--param",
          `tasks=${tasks}`,
          "--param",
          `fail_once=${failOnce}`,
          "--param",
          "sleep_ms=300",
          "--wait",
        ],
        { env },
      );
      processes.push(flowProcess);
      const flowRunId = /flow run (\S+)/.exec(await flowProcess.waitFor(/^flow run /))?.[1] ?? "";
      const runs = await RunStore.open(place.databaseUri);
      try {
        // Stop Redis while task runs are in flight, some of them already past their retries.
        await until("a third of the task runs completed", async () => {
          const done = (await runs.listTaskRuns(flowRunId)).filter((t) => t.state === "completed");
          return done.length >= tasks / 3 ? done : undefined;
        });
        await redis.restart(2_000);
        const code = await flowProcess.exited;
        assert.equal(code, 0, flowProcess.output());
        const result = JSON.parse(/^result: (.*)$/m.exec(flowProcess.output())?.[1] ?? "null") as {
          tasks: number;
          retried: number;
        };
        assert.equal(result.tasks, tasks);
        assert.equal(result.retried, Math.round(tasks * failOnce), flowProcess.output());
        const items = (await runs.listTaskRuns(flowRunId)).filter(
          (t) => t.task_name === "selfcheck-item",
        );
        assert.equal(items.length, tasks);
        const requeued: string[] = [];
        const twice: string[] = [];
        for (const item of items) {
          const history = await runs.stateHistory(item.id);
          if (history.some((h) => /queue lost its job/.test(h.message ?? "")))
            requeued.push(item.id);
          const completions = history.filter((h) => h.state === "completed").length;
          if (completions !== 1 || history.at(-1)?.state !== "completed")
            twice.push(`${item.task_index}: ${history.map((h) => h.state).join(" → ")}`);
        }
        assert.ok(requeued.length > 0, "no task run was queued again: Redis restarted too late");
        assert.deepEqual(twice, [], "task runs not completed exactly once");
      } finally {
        await runs.close();
      }
    });
  });
