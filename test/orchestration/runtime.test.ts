// The in-process runtime on a real SQLite and PostgreSQL database and a real local object store: states and
// their history, retries, timeouts, caching across runs, waitFor, limits, subflows,
// idempotency, cancellation, log capture, and crash detection with a killed process.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { flow, task } from "../../src/orchestration/api.ts";
import { selfcheck } from "../../src/orchestration/selfcheck.ts";
import { backends, createFixture, type OrchestrationFixture } from "./fixture.ts";

let calls = 0;
const flaky = task(
  "test-flaky",
  (input: { failures: number; key: string }, context) => {
    calls++;
    if (context.attempt <= input.failures)
      throw new Error(`${input.key} failure ${context.attempt}`);
    return `${input.key}:${context.attempt}`;
  },
  { retries: 2, retryDelayMs: [5, 10], retryIf: (error) => !String(error).includes("fatal") },
);
const slow = task("test-slow", (ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), {
  timeoutMs: 50,
});
const cachedSquare = task(
  "test-cached-square",
  (n: number) => {
    calls++;
    return n * n;
  },
  { cache: { expiresInMs: 60_000 }, version: "1" },
);
let running = 0;
let peak = 0;
const limited = task(
  "test-limited",
  async (ms: number) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, ms));
    running--;
    return ms;
  },
  { concurrencyLimit: 2 },
);
const order: string[] = [];
const step = task("test-step", async (name: string) => {
  await new Promise((r) => setTimeout(r, name === "a" ? 30 : 1));
  order.push(name);
  return name;
});

const child = flow("test-child", async ({ n }) => cachedSquare(n), {
  parameters: z.object({ n: z.number() }),
});

const general = flow(
  "test-general",
  async ({ mode }: { mode: string }, context) => {
    console.log("console line from the flow");
    context.log("log line from the flow");
    if (mode === "flaky") return flaky({ failures: 2, key: "k" });
    if (mode === "fatal") return flaky({ failures: 3, key: "fatal" });
    if (mode === "slow") return slow(500);
    if (mode === "cache")
      return [await cachedSquare(3), await cachedSquare(3), await cachedSquare(4)];
    if (mode === "limit")
      return Promise.all(limited.map([20, 20, 20, 20, 20]).map((f) => f.result()));
    if (mode === "wait") {
      const a = step.submit("a");
      const b = step.submit("b", { waitFor: [a] });
      return [await a.result(), await b.result()];
    }
    if (mode === "subflow") return child({ n: 5 });
    if (mode === "sleep") {
      await new Promise((r) => setTimeout(r, 5_000));
      return "slept";
    }
    return "ok";
  },
  { parameters: z.object({ mode: z.string() }), retries: 0 },
);

for (const backend of backends)
  describe(`orchestration runtime (in-process, ${backend.name})`, { skip: backend.skip }, () => {
    let fixture: OrchestrationFixture;
    before(async () => {
      fixture = await createFixture(backend);
    });
    after(async () => {
      await fixture.close();
    });

    it("runs selfcheck with fan-out and retries, recording every state with its time", async () => {
      const orchestrator = await fixture.open();
      const outcome = await orchestrator.run(selfcheck, { tasks: 20, fail_once: 0.25 });
      assert.equal(outcome.state, "completed");
      assert.deepEqual(outcome.result, { tasks: 20, indexSum: 190, retried: 5, processes: 1 });
      const taskRuns = await orchestrator.runs.listTaskRuns(outcome.flowRunId);
      assert.equal(taskRuns.length, 21);
      assert.ok(taskRuns.every((t) => t.state === "completed"));
      const retried = taskRuns.find((t) => t.task_name === "selfcheck-item" && t.attempt === 2);
      assert.ok(retried);
      const history = await orchestrator.runs.stateHistory(retried.id);
      assert.deepEqual(
        history.map((h) => h.state),
        ["pending", "running", "retrying", "running", "completed"],
      );
      assert.match(history[2]?.message ?? "", /planned failure/);
      assert.ok(history.every((h, i) => i === 0 || h.at >= (history[i - 1]?.at ?? 0)));
      const flowHistory = await orchestrator.runs.stateHistory(outcome.flowRunId);
      assert.deepEqual(
        flowHistory.map((h) => h.state),
        ["pending", "running", "completed"],
      );
      const logs = await orchestrator.runs.logs(outcome.flowRunId);
      assert.ok(logs.some((l) => l.message.startsWith("fanning out 20 tasks")));
    });

    it("rejects bad parameters before recording a run", async () => {
      const orchestrator = await fixture.open();
      await assert.rejects(orchestrator.run(selfcheck, { tasks: -1 }), /bad parameters: tasks/);
    });

    it("retries with the delays given and fails with the error when the condition refuses", async () => {
      const orchestrator = await fixture.open();
      const ok = await orchestrator.run(general, { mode: "flaky" });
      assert.equal(ok.state, "completed");
      assert.equal(ok.result, "k:3");
      const fatal = await orchestrator.run(general, { mode: "fatal" });
      assert.equal(fatal.state, "failed");
      const [run] = await orchestrator.runs.listTaskRuns(fatal.flowRunId);
      assert.equal(run?.state, "failed");
      assert.equal(run?.attempt, 1);
      assert.match(run?.error_message ?? "", /fatal failure 1/);
      assert.match(run?.error_stack ?? "", /runtime\.test\.ts/);
      const flowRun = await orchestrator.runs.getFlowRun(fatal.flowRunId);
      assert.match(flowRun.error_message ?? "", /fatal failure 1/);
    });

    it("fails a task that runs past its timeout", async () => {
      const orchestrator = await fixture.open();
      const started = Date.now();
      const outcome = await orchestrator.run(general, { mode: "slow" });
      assert.equal(outcome.state, "failed");
      assert.match(outcome.error ?? "", /timed out after 50 ms/);
      assert.ok(Date.now() - started < 450);
    });

    it("caches results by input hash across runs, in the object store", async () => {
      const orchestrator = await fixture.open();
      calls = 0;
      const first = await orchestrator.run(general, { mode: "cache" });
      assert.deepEqual(first.result, [9, 9, 16]);
      assert.equal(calls, 2);
      const states = (await orchestrator.runs.listTaskRuns(first.flowRunId)).map((t) => t.state);
      assert.deepEqual(states, ["completed", "cached", "completed"]);
      const second = await orchestrator.run(general, { mode: "cache" });
      assert.deepEqual(second.result, [9, 9, 16]);
      assert.equal(calls, 2);
      const runs = await orchestrator.runs.listTaskRuns(second.flowRunId);
      assert.ok(
        runs.every((t) => t.state === "cached" && t.result_key?.startsWith("orchestration/cache/")),
      );
    });

    it("keeps a task under its concurrency limit and honours waitFor", async () => {
      const orchestrator = await fixture.open();
      peak = 0;
      const limitedRun = await orchestrator.run(general, { mode: "limit" });
      assert.equal(limitedRun.state, "completed");
      assert.equal(peak, 2);
      order.length = 0;
      const waited = await orchestrator.run(general, { mode: "wait" });
      assert.deepEqual(waited.result, ["a", "b"]);
      assert.deepEqual(order, ["a", "b"]);
    });

    it("records a subflow as a child flow run", async () => {
      const orchestrator = await fixture.open();
      const outcome = await orchestrator.run(general, { mode: "subflow" });
      assert.equal(outcome.result, 25);
      const children = await orchestrator.runs.listFlowRuns({ flowName: "test-child" });
      assert.equal(children[0]?.parent_flow_run_id, outcome.flowRunId);
      assert.equal(children[0]?.state, "completed");
    });

    it("captures console output and context logs as the run's log lines", async () => {
      const orchestrator = await fixture.open();
      const outcome = await orchestrator.run(general, { mode: "plain" });
      const logs = (await orchestrator.runs.logs(outcome.flowRunId)).map((l) => l.message);
      assert.ok(logs.includes("console line from the flow"));
      assert.ok(logs.includes("log line from the flow"));
    });

    it("gives one run for one idempotency key", async () => {
      const orchestrator = await fixture.open();
      const first = await orchestrator.run(general, { mode: "plain" }, { idempotencyKey: "k-1" });
      const second = await orchestrator.run(general, { mode: "plain" }, { idempotencyKey: "k-1" });
      assert.equal(second.flowRunId, first.flowRunId);
      assert.equal(second.created, false);
      assert.equal(second.state, "completed");
    });

    it("cancels a running flow run at its next heartbeat", async () => {
      const orchestrator = await fixture.open();
      const started = await orchestrator.start(general, { mode: "sleep" });
      await new Promise((r) => setTimeout(r, 100));
      await orchestrator.runs.requestCancel(started.flowRunId);
      const outcome = await started.outcome;
      assert.equal(outcome.state, "cancelled");
    });

    it("marks the run of a killed process crashed, and a re-run skips the cached tasks", async () => {
      const script = fileURLToPath(new URL("./flow-process.ts", import.meta.url));
      const processRun = spawn(
        process.execPath,
        // One task after another, so the run is surely still going when 5 have completed.
        [
          "--import",
          "tsx",
          script,
          fixture.databaseUri,
          fixture.storeRoot,
          "40",
          "25",
          "crash-1",
          "sequential",
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      const flowRunId = await new Promise<string>((resolve, reject) => {
        let out = "";
        processRun.stdout.on("data", (chunk) => {
          out += chunk;
          const match = /started (\S+)/.exec(out);
          if (match?.[1]) resolve(match[1]);
        });
        processRun.on("exit", () => reject(new Error(`flow process exited early: ${out}`)));
      });
      const orchestrator = await fixture.open();
      for (;;) {
        const done = (await orchestrator.runs.listTaskRuns(flowRunId)).filter(
          (t) => t.state === "completed",
        ).length;
        if (done >= 5) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      processRun.kill("SIGKILL");
      await new Promise((r) => processRun.once("exit", r));
      assert.deepEqual(await orchestrator.runs.markCrashed(orchestrator.crashAfterMs), [flowRunId]);
      const crashed = await orchestrator.runs.getFlowRun(flowRunId);
      assert.equal(crashed.state, "crashed");
      const leftRunning = (await orchestrator.runs.listTaskRuns(flowRunId)).filter(
        (t) => t.state === "running" || t.state === "pending",
      );
      assert.equal(leftRunning.length, 0);
      const completedBefore = (await orchestrator.runs.listTaskRuns(flowRunId)).filter(
        (t) => t.state === "completed",
      ).length;
      const rerun = await orchestrator.run(selfcheck, {
        tasks: 40,
        sleep_ms: 1,
        cache_key: "crash-1",
      });
      assert.equal(rerun.state, "completed");
      const cached = (await orchestrator.runs.listTaskRuns(rerun.flowRunId)).filter(
        (t) => t.state === "cached",
      ).length;
      assert.ok(
        cached >= completedBefore,
        `${cached} cached ≥ ${completedBefore} done before the kill`,
      );
    });
  });
