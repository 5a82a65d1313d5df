// What the `flows runs` commands ask of the records, on a real SQLite and PostgreSQL database:
// a run named by its id or a unique prefix, the subflows of a run however many runs came after
// them, log lines followed to the run's last, the chain of subflows a failure came from, and the
// JSON shape of runs, task runs, states and deployments.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import { InputError } from "../../src/common/errors.ts";
import { flow, task } from "../../src/orchestration/api.ts";
import {
  deploymentToJson,
  flowRunToJson,
  runStateToJson,
  taskRunToJson,
} from "../../src/orchestration/run-json.ts";
import type { RunStore } from "../../src/orchestration/run-store.ts";
import type { Orchestrator } from "../../src/orchestration/runtime.ts";
import { deploy } from "../../src/orchestration/scheduler.ts";
import { backends, createFixture, type OrchestrationFixture } from "./fixture.ts";

const double = task("queries-double", (n: number) => n * 2);
const leaf = flow(
  "queries-leaf",
  async ({ n, bad }, context) => {
    if (bad) throw new InputError(`leaf: ${n} is not a day of the split`);
    context.log(`leaf ${n}`);
    return double(n);
  },
  { parameters: z.object({ n: z.number(), bad: z.boolean().default(false) }) },
);
const middle = flow("queries-middle", async ({ n, bad }) => leaf({ n, bad }), {
  parameters: z.object({ n: z.number(), bad: z.boolean() }),
});
const parent = flow(
  "queries-parent",
  async ({ children, bad, lines, lineMs }, context) => {
    for (let i = 0; i < lines; i++) {
      context.log(`line ${i}`);
      await new Promise((resolve) => setTimeout(resolve, lineMs));
    }
    const results = [];
    for (let n = 1; n <= children; n++) results.push(await leaf({ n }));
    if (bad) await middle({ n: 0, bad: true });
    // Logged just before the run ends: a follower still gets it.
    context.log("last line");
    return results;
  },
  {
    parameters: z.object({
      children: z.number(),
      bad: z.boolean().default(false),
      lines: z.number().default(0),
      lineMs: z.number().default(0),
    }),
  },
);

for (const backend of backends)
  describe(`flow run queries (${backend.name})`, { skip: backend.skip }, () => {
    let fixture: OrchestrationFixture;
    let orchestrator: Orchestrator;
    let runs: RunStore;
    before(async () => {
      fixture = await createFixture(backend);
      orchestrator = await fixture.open();
      runs = orchestrator.runs;
    });
    after(async () => {
      await fixture.close();
    });

    it("names a run by its id or a unique prefix, and says why anything else names none", async () => {
      const ids = ["abcd1111-0000-4000-8000-000000000001", "abcd2222-0000-4000-8000-000000000002"];
      for (const id of ids)
        await runs.createFlowRun({ id, flowName: "named", parameters: {}, state: "pending" });
      assert.equal((await runs.resolveFlowRun(ids[0] as string)).id, ids[0]);
      assert.equal((await runs.resolveFlowRun("abcd2")).id, ids[1]);
      assert.equal((await runs.resolveFlowRun("ABCD1")).id, ids[0]);
      await assert.rejects(runs.resolveFlowRun("abcd"), {
        name: "InputError",
        message: 'flow run prefix "abcd" matches more than one run: give more of the id',
      });
      for (const none of ["abc", "ffff", "____", "abcd%"])
        await assert.rejects(runs.resolveFlowRun(none), {
          name: "InputError",
          message: `no flow run ${JSON.stringify(none)}`,
        });
      // Lookups by id take the id as it is, never as a prefix.
      assert.equal(await runs.findFlowRun("abcd2"), undefined);
    });

    it("lists a run's subflows, oldest first, with a thousand runs started after them", async () => {
      const outcome = await orchestrator.run(parent, { children: 2 });
      assert.equal(outcome.state, "completed");
      const later = Array.from({ length: 1001 }, () => randomUUID());
      for (let i = 0; i < later.length; i += 50)
        await Promise.all(
          later
            .slice(i, i + 50)
            .map((id) =>
              runs.createFlowRun({ id, flowName: "later", parameters: {}, state: "pending" }),
            ),
        );
      const subflows = await runs.listSubflows(outcome.flowRunId);
      assert.deepEqual(
        subflows.map((f) => [f.flow_name, f.parent_flow_run_id, JSON.parse(f.parameters).n]),
        [
          ["queries-leaf", outcome.flowRunId, 1],
          ["queries-leaf", outcome.flowRunId, 2],
        ],
      );
      assert.deepEqual(await runs.listSubflows(subflows[0]?.id as string), []);
    });

    it("follows a run's log lines to its last one, and reads what is there without follow", async () => {
      const started = await orchestrator.start(parent, { children: 0, lines: 4, lineMs: 120 });
      const followed: string[] = [];
      await orchestrator.followLogs(
        started.flowRunId,
        (lines) => followed.push(...lines.map((l) => l.message)),
        { follow: true, pollMs: 30 },
      );
      assert.equal((await runs.getFlowRun(started.flowRunId)).state, "completed");
      assert.deepEqual(followed, ["line 0", "line 1", "line 2", "line 3", "last line"]);
      const read: string[] = [];
      await orchestrator.followLogs(started.flowRunId, (lines) =>
        read.push(...lines.map((l) => l.message)),
      );
      assert.deepEqual(read, followed);
      await started.outcome;
    });

    it("gives the chain of subflows a failure came from, down to the one that failed on input", async () => {
      const outcome = await orchestrator.run(parent, { children: 1, bad: true });
      assert.equal(outcome.state, "failed");
      const chain = await orchestrator.failureChain(outcome.flowRunId);
      assert.deepEqual(
        chain.map((row) => [row.flow_name, row.state]),
        [
          ["queries-parent", "failed"],
          ["queries-middle", "failed"],
          ["queries-leaf", "failed"],
        ],
      );
      assert.match(chain[2]?.error_stack ?? "", /^InputError: leaf: 0 is not a day of the split/);
      const completed = await orchestrator.run(leaf, { n: 3 });
      assert.deepEqual(
        (await orchestrator.failureChain(completed.flowRunId)).map((row) => row.id),
        [completed.flowRunId],
      );
    });

    it("gives runs, task runs, states and deployments as typed JSON values", async () => {
      const outcome = await orchestrator.run(leaf, { n: 4 });
      const run = flowRunToJson(await runs.getFlowRun(outcome.flowRunId));
      assert.deepEqual(run.parameters, { n: 4, bad: false });
      assert.equal(run.cancel_requested, false);
      assert.equal(run.state, "completed");
      assert.equal(typeof run.created_at, "number");
      assert.ok((run.ended_at ?? 0) >= (run.started_at ?? Infinity));
      const taskRuns = (await runs.listTaskRuns(outcome.flowRunId)).map(taskRunToJson);
      assert.deepEqual(
        taskRuns.map((t) => [t.task_name, t.inputs]),
        [["queries-double", 4]],
      );
      assert.deepEqual(
        (await runs.stateHistory(outcome.flowRunId)).map(runStateToJson).map((s) => s.state),
        ["pending", "running", "completed"],
      );

      await deploy(orchestrator, {
        name: "queries-nightly",
        flow: "queries-leaf",
        parameters: { n: 1 },
        cron: "0 3 * * *",
        timezone: "Europe/Paris",
      });
      await runs.setDeploymentPaused("queries-nightly", true);
      const [deployment] = (await runs.listDeployments()).map(deploymentToJson);
      assert.deepEqual(
        {
          parameters: deployment?.parameters,
          paused: deployment?.paused,
          allow_overlap: deployment?.allow_overlap,
          interval_ms: deployment?.interval_ms,
          last_scheduled_at: deployment?.last_scheduled_at,
        },
        {
          parameters: { n: 1 },
          paused: true,
          allow_overlap: false,
          interval_ms: null,
          last_scheduled_at: null,
        },
      );
    });
  });
