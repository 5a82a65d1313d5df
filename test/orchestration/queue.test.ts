// The BullMQ executor and queue workers on a real Redis, a real SQLite and PostgreSQL database
// and a real local object store, workers in this process: fan-out over two workers with
// retries, failures, logs from tasks on workers, cancellation, a job whose task run already
// ended, and a Redis restart that loses every queued job mid-run.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Queue, QueueEvents } from "bullmq";
import { z } from "zod";
import { flow, task } from "../../src/orchestration/api.ts";
import { connectRedis, type QueueSettings } from "../../src/orchestration/queue.ts";
import { QueueExecutor } from "../../src/orchestration/queue-executor.ts";
import { TaskWorker } from "../../src/orchestration/queue-worker.ts";
import type { Orchestrator } from "../../src/orchestration/runtime.ts";
import { selfcheck } from "../../src/orchestration/selfcheck.ts";
import { isFinal } from "../../src/orchestration/states.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";
import {
  type RedisServer,
  redisUnavailable,
  sharedRedis,
  startRedis,
  testQueueSettings,
} from "../helpers/redis-server.ts";
import { backends, createFixture, type OrchestrationFixture } from "./fixture.ts";

const skip = redisUnavailable();

const broken = task(
  "queue-test-broken",
  (input: { why: string }) => {
    throw new Error(`broken: ${input.why}`);
  },
  { retries: 1, retryDelayMs: 10 },
);
let chattyCalls = 0;
const chatty = task("queue-test-chatty", (n: number, context) => {
  chattyCalls++;
  context.log(`context line ${n}`);
  console.log(`console line ${n}`);
  return n * 2;
});
const sleeper = task(
  "queue-test-sleeper",
  (ms: number, context) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve(ms), ms);
      context.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(context.signal.reason);
      });
    }),
);

const brokenFlow = flow("queue-test-broken-flow", async () => broken({ why: "always" }), {
  parameters: z.object({}),
});
const chattyFlow = flow(
  "queue-test-chatty-flow",
  async ({ n }) => Promise.all(Array.from({ length: n }, (_, i) => chatty(i))),
  { parameters: z.object({ n: z.number() }) },
);
const sleepyFlow = flow(
  "queue-test-sleepy-flow",
  async ({ tasks, ms }) =>
    Promise.all(sleeper.map(Array.from({ length: tasks }, () => ms)).map((f) => f.result())),
  { parameters: z.object({ tasks: z.number(), ms: z.number() }) },
);

for (const backend of backends)
  describe(`BullMQ executor with queue workers (real Redis, ${backend.name})`, {
    skip: skip ?? backend.skip,
  }, () => {
    let fixture: OrchestrationFixture;
    let redis: { url: string; stop(): Promise<void> };
    const workers: TaskWorker[] = [];

    before(async () => {
      fixture = await createFixture(backend);
      redis = await sharedRedis();
    });
    after(async () => {
      for (const worker of workers) await worker.close(true).catch(() => {});
      await fixture.close();
      await redis.stop();
    });

    async function setUp(
      settings: QueueSettings,
      count: number,
      concurrency = 4,
    ): Promise<{ orchestrator: Orchestrator; started: TaskWorker[] }> {
      const started: TaskWorker[] = [];
      for (let i = 0; i < count; i++) {
        const worker = await TaskWorker.start({
          settings,
          databaseUri: fixture.databaseUri,
          store: new LocalObjectStore(fixture.storeRoot),
          queues: [settings.defaultQueue],
          concurrency,
          name: `worker-${i}`,
        });
        workers.push(worker);
        started.push(worker);
      }
      const orchestrator = await fixture.open({
        executor: (deps) => QueueExecutor.open({ settings, sweepMs: 500 }, deps),
      });
      return { orchestrator, started };
    }

    it("runs selfcheck's tasks on two workers, retrying the planned failures", async () => {
      const settings = testQueueSettings(redis.url);
      const { orchestrator, started } = await setUp(settings, 2);
      assert.equal(orchestrator.executorKind, "bullmq");
      const outcome = await orchestrator.run(selfcheck, {
        tasks: 40,
        fail_once: 0.25,
        sleep_ms: 5,
      });
      assert.equal(outcome.state, "completed", outcome.error);
      assert.deepEqual(outcome.result, { tasks: 40, indexSum: 780, retried: 10, processes: 1 });
      const taskRuns = await orchestrator.runs.listTaskRuns(outcome.flowRunId);
      assert.equal(taskRuns.length, 41);
      assert.ok(taskRuns.every((t) => t.state === "completed"));
      const byWorker = new Set(taskRuns.map((t) => t.worker));
      assert.deepEqual([...byWorker].sort(), ["worker-0", "worker-1"]);
      assert.equal(taskRuns.filter((t) => t.attempt === 2).length, 10);
      assert.equal(
        started.reduce((sum, w) => sum + w.counts.completed, 0),
        41,
      );
    });

    it("fails the flow with the task's error after its retries", async () => {
      const settings = testQueueSettings(redis.url);
      const { orchestrator } = await setUp(settings, 1);
      const outcome = await orchestrator.run(brokenFlow, {});
      assert.equal(outcome.state, "failed");
      assert.match(outcome.error ?? "", /broken: always/);
      const [taskRun] = await orchestrator.runs.listTaskRuns(outcome.flowRunId);
      assert.equal(taskRun?.state, "failed");
      assert.equal(taskRun?.attempt, 2);
      assert.match(taskRun?.error_message ?? "", /broken: always/);
    });

    it("records log lines and console output of tasks run on a worker", async () => {
      const settings = testQueueSettings(redis.url);
      const { orchestrator } = await setUp(settings, 1);
      const outcome = await orchestrator.run(chattyFlow, { n: 3 });
      assert.deepEqual(outcome.result, [0, 2, 4]);
      await new Promise((r) => setTimeout(r, 400));
      const lines = (await orchestrator.runs.logs(outcome.flowRunId)).map((l) => l.message);
      for (let i = 0; i < 3; i++) {
        assert.ok(lines.includes(`context line ${i}`), lines.join("\n"));
        assert.ok(lines.includes(`console line ${i}`), lines.join("\n"));
      }
    });

    it("answers a job whose task run already completed with the recorded result, without running it", async () => {
      const settings = testQueueSettings(redis.url);
      const { orchestrator } = await setUp(settings, 1);
      const { runs, results } = orchestrator;
      const flowRunId = randomUUID();
      const taskRunId = randomUUID();
      await runs.createFlowRun({
        id: flowRunId,
        flowName: "queue-test-chatty-flow",
        parameters: {},
        state: "pending",
      });
      await runs.startFlowRun(flowRunId, 1);
      await runs.createTaskRun({
        id: taskRunId,
        flowRunId,
        taskName: "queue-test-chatty",
        taskIndex: 0,
        inputs: 21,
      });
      await runs.setTaskState(taskRunId, { state: "running", attempt: 1 });
      const resultKey = `orchestration/results/${flowRunId}/${taskRunId}/recorded.json`;
      await results.write(resultKey, "the recorded result");
      await runs.setTaskState(taskRunId, { state: "completed", resultKey });
      const historyBefore = await runs.stateHistory(taskRunId);
      const connection = connectRedis(settings, "test-queue");
      const eventsConnection = connectRedis(settings, "test-events");
      const queue = new Queue(settings.defaultQueue, { connection, prefix: settings.prefix });
      const events = new QueueEvents(settings.defaultQueue, {
        connection: eventsConnection,
        prefix: settings.prefix,
      });
      try {
        await events.waitUntilReady();
        chattyCalls = 0;
        const job = await queue.add(
          "queue-test-chatty",
          { taskRunId, flowRunId, taskName: "queue-test-chatty", input: 21 },
          { jobId: taskRunId },
        );
        assert.equal(await job.waitUntilFinished(events, 10_000), "the recorded result");
        assert.equal(chattyCalls, 0);
        assert.deepEqual(await runs.stateHistory(taskRunId), historyBefore);
        assert.equal((await runs.getTaskRun(taskRunId))?.attempt, 1);
      } finally {
        await events.close();
        await queue.close();
        connection.disconnect();
        eventsConnection.disconnect();
      }
    });

    it("cancels queued and running task runs of a cancelled flow run", async () => {
      const settings = testQueueSettings(redis.url);
      const { orchestrator } = await setUp(settings, 1, 2);
      const started = await orchestrator.start(sleepyFlow, { tasks: 6, ms: 30_000 });
      await new Promise((r) => setTimeout(r, 500));
      const began = Date.now();
      await orchestrator.runs.requestCancel(started.flowRunId);
      const outcome = await started.outcome;
      assert.equal(outcome.state, "cancelled");
      assert.ok(Date.now() - began < 3_000, `cancelling took ${Date.now() - began} ms`);
      const taskRuns = await orchestrator.runs.listTaskRuns(started.flowRunId);
      assert.equal(taskRuns.length, 6);
      assert.ok(
        taskRuns.every((t) => t.state === "cancelled"),
        taskRuns.map((t) => t.state).join(","),
      );
    });
  });

for (const backend of backends)
  describe(`BullMQ executor through a Redis restart (${backend.name})`, {
    skip: skip ?? backend.skip,
  }, () => {
    let fixture: OrchestrationFixture;
    let redis: RedisServer;
    let worker: TaskWorker | undefined;

    before(async () => {
      fixture = await createFixture(backend);
      redis = await startRedis();
    });
    after(async () => {
      await worker?.close(true).catch(() => {});
      await fixture.close();
      await redis.stop();
    });

    it("ends the run completed or failed, with no run left active, when Redis loses every job", async () => {
      const settings = testQueueSettings(redis.url);
      worker = await TaskWorker.start({
        settings,
        databaseUri: fixture.databaseUri,
        store: new LocalObjectStore(fixture.storeRoot),
        queues: ["tasks"],
        concurrency: 2,
      });
      const orchestrator = await fixture.open({
        executor: (deps) => QueueExecutor.open({ settings, sweepMs: 500 }, deps),
      });
      const started = await orchestrator.start(selfcheck, { tasks: 20, sleep_ms: 200 });
      await new Promise((r) => setTimeout(r, 700));
      await redis.restart(300);
      const outcome = await started.outcome;
      assert.ok(isFinal(outcome.state));
      assert.equal(outcome.state, "completed", outcome.error);
      const taskRuns = await orchestrator.runs.listTaskRuns(started.flowRunId);
      assert.equal(taskRuns.length, 21);
      assert.ok(
        taskRuns.every((t) => isFinal(t.state)),
        taskRuns.map((t) => t.state).join(","),
      );
      const histories = await Promise.all(
        taskRuns.map((t) => orchestrator.runs.stateHistory(t.id)),
      );
      const requeued = histories.filter((h) =>
        h.some((s) => /queue lost its job/.test(s.message ?? "")),
      );
      assert.ok(requeued.length > 0, "no task run was queued again after the restart");
    });
  });
