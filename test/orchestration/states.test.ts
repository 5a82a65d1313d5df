// Run states that cannot go backwards, on a real SQLite and PostgreSQL database: a final run
// refuses every later state write (and says which state stands), and completion racing the
// crash check of another connection, in both orders, never loses a completed run.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { RunStore } from "../../src/orchestration/run-store.ts";
import { isFinal, RUN_STATES, TRANSITIONS } from "../../src/orchestration/states.ts";
import { backends, createFixture, type OrchestrationFixture } from "./fixture.ts";

describe("the transitions table", () => {
  it("lets no final state move, and every active state end", () => {
    for (const from of RUN_STATES) {
      if (isFinal(from)) assert.deepEqual(TRANSITIONS[from], [], from);
      else assert.ok(TRANSITIONS[from].some(isFinal), from);
    }
  });
});

for (const backend of backends) {
  describe(`run states on ${backend.name}`, { skip: backend.skip }, () => {
    let fixture: OrchestrationFixture;
    let runs: RunStore;
    let crashChecker: RunStore;

    before(async () => {
      fixture = await createFixture(backend);
      runs = await RunStore.open(fixture.databaseUri);
      crashChecker = await RunStore.open(fixture.databaseUri);
    });
    after(async () => {
      await runs.close();
      await crashChecker.close();
      await fixture.close();
    });

    /** A flow run running with one running task run, its heartbeat already in the past. */
    async function runningFlow(): Promise<{ flowRunId: string; taskRunId: string }> {
      const flowRunId = randomUUID();
      const taskRunId = randomUUID();
      await runs.createFlowRun({
        id: flowRunId,
        flowName: "race",
        parameters: {},
        state: "pending",
      });
      await runs.startFlowRun(flowRunId, 1);
      await runs.createTaskRun({
        id: taskRunId,
        flowRunId,
        taskName: "race-task",
        taskIndex: 0,
        inputs: null,
      });
      await runs.setTaskState(taskRunId, { state: "running", attempt: 1 });
      const started = Date.now();
      while (Date.now() <= started) await new Promise((r) => setTimeout(r, 1));
      return { flowRunId, taskRunId };
    }

    it("never moves a final run: a completed task run is not set back to pending or running", async () => {
      const { flowRunId, taskRunId } = await runningFlow();
      assert.deepEqual(await runs.setTaskState(taskRunId, { state: "completed" }), {
        written: true,
        state: "completed",
      });
      for (const state of RUN_STATES.filter((s) => s !== "scheduled"))
        assert.deepEqual(
          await runs.setTaskState(taskRunId, { state, attempt: 3, message: "late" }),
          { written: false, state: "completed" },
          state,
        );
      const task = await runs.getTaskRun(taskRunId);
      assert.equal(task?.state, "completed");
      assert.equal(task?.attempt, 1);
      assert.deepEqual(
        (await runs.stateHistory(taskRunId)).map((h) => h.state),
        ["pending", "running", "completed"],
      );
      await runs.setFlowState(flowRunId, { state: "failed", error: new Error("boom") });
      assert.deepEqual(await runs.startFlowRun(flowRunId, 2), { written: false, state: "failed" });
      assert.deepEqual(await runs.setFlowState(flowRunId, { state: "completed" }), {
        written: false,
        state: "failed",
      });
      assert.equal(await runs.requestCancel(flowRunId), "failed");
      const flowRun = await runs.getFlowRun(flowRunId);
      assert.equal(flowRun.state, "failed");
      assert.equal(flowRun.attempt, 1);
      assert.equal(flowRun.cancel_requested, 0);
    });

    it("never loses a completed run to a crash check racing it, in either order", async () => {
      const iterations = backend.name === "sqlite" ? 150 : 80;
      const seen = { completed: 0, crashed: 0 };
      for (let i = 0; i < iterations; i++) {
        const { flowRunId, taskRunId } = await runningFlow();
        const complete = async () => {
          await runs.setTaskState(taskRunId, { state: "completed" });
          return runs.setFlowState(flowRunId, { state: "completed" });
        };
        const crash = async () => {
          for (let tick = 0; tick < i % 3; tick++) await new Promise((r) => setImmediate(r));
          return crashChecker.markCrashed(0);
        };
        const [completion, marked] =
          i % 2 === 0
            ? await Promise.all([complete(), crash()])
            : await Promise.all([crash(), complete()]).then(([m, c]) => [c, m] as const);
        const flowHistory = (await runs.stateHistory(flowRunId)).map((h) => h.state);
        const taskHistory = (await runs.stateHistory(taskRunId)).map((h) => h.state);
        const flowEnds = flowHistory.filter(isFinal);
        const taskEnds = taskHistory.filter(isFinal);
        const where = `iteration ${i}: flow ${flowHistory.join(" → ")}; task ${taskHistory.join(" → ")}`;
        assert.equal(flowEnds.length, 1, where);
        assert.equal(taskEnds.length, 1, where);
        assert.equal(flowHistory.at(-1), flowEnds[0], where);
        const flowRun = await runs.getFlowRun(flowRunId);
        assert.equal(flowRun.state, flowEnds[0], where);
        assert.equal((await runs.getTaskRun(taskRunId))?.state, taskEnds[0], where);
        if (flowRun.state === "completed") {
          assert.equal(taskEnds[0], "completed", where);
          assert.ok(!marked.includes(flowRunId), where);
          assert.deepEqual(completion, { written: true, state: "completed" }, where);
          seen.completed++;
        } else {
          assert.equal(flowRun.state, "crashed", where);
          assert.deepEqual(marked, [flowRunId], where);
          // The completer learns that the crash mark stands.
          assert.deepEqual(completion, { written: false, state: "crashed" }, where);
          seen.crashed++;
        }
      }
      assert.ok(seen.completed > 0 && seen.crashed > 0, JSON.stringify(seen));
    });
  });
}
