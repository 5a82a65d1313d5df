// Deployments on a real SQLite and PostgreSQL database: a gap covering many ticks makes one run, a second
// scheduler pass at the same time makes none, a running deployment is not overlapped, pause
// stops it, and two triggers with one idempotency key make one run.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { silentLogger } from "../../src/common/logger.ts";
import { deploy, schedulerTick, trigger } from "../../src/orchestration/scheduler.ts";
import "../../src/orchestration/selfcheck.ts";
import { backends, createFixture, type OrchestrationFixture } from "./fixture.ts";

for (const backend of backends)
  describe(`deployments and the scheduler (${backend.name})`, { skip: backend.skip }, () => {
    let fixture: OrchestrationFixture;
    before(async () => {
      fixture = await createFixture(backend);
    });
    after(async () => {
      await fixture.close();
    });

    it("runs once after a gap of many ticks, and not again for the same ticks", async () => {
      const orchestrator = await fixture.open();
      await deploy(orchestrator, {
        name: "gap",
        flow: "selfcheck",
        parameters: { tasks: 2 },
        intervalSeconds: 60,
      });
      const later = Date.now() + 10 * 60_000 + 1000;
      const first = await schedulerTick(orchestrator, silentLogger, later);
      assert.equal(first.filter((r) => r.flowRunId).length, 1);
      const again = await schedulerTick(orchestrator, silentLogger, later + 1000);
      assert.equal(again.length, 0);
      await orchestrator.close();
      const runs = await (await fixture.open()).runs.listFlowRuns({ deploymentName: "gap" });
      assert.equal(runs.length, 1);
      assert.equal(runs[0]?.state, "completed");
    });

    it("does not overlap a running deployment, and skips paused ones", async () => {
      const orchestrator = await fixture.open();
      await deploy(orchestrator, {
        name: "slow",
        flow: "selfcheck",
        parameters: { tasks: 1, sleep_ms: 400 },
        intervalSeconds: 1,
      });
      const now = Date.now();
      const first = await schedulerTick(orchestrator, silentLogger, now + 1500);
      assert.ok(first.find((r) => r.deployment === "slow")?.flowRunId);
      const second = await schedulerTick(orchestrator, silentLogger, now + 2500);
      assert.match(second.find((r) => r.deployment === "slow")?.skipped ?? "", /still running/);
      await orchestrator.runs.setDeploymentPaused("slow", true);
      assert.equal((await schedulerTick(orchestrator, silentLogger, now + 5000)).length, 0);
    });

    it("starts one run for two triggers with the same idempotency key", async () => {
      const orchestrator = await fixture.open();
      await deploy(orchestrator, {
        name: "manual",
        flow: "selfcheck",
        cron: "0 6 * * *",
        timezone: "Europe/Paris",
      });
      const deployment = await orchestrator.runs.getDeployment("manual");
      const [a, b] = await Promise.all([
        trigger(orchestrator, deployment, "same-key"),
        trigger(orchestrator, deployment, "same-key"),
      ]);
      assert.equal(a.flowRunId, b.flowRunId);
      assert.equal([a.created, b.created].filter(Boolean).length, 1);
      assert.equal((await orchestrator.runs.listFlowRuns({ deploymentName: "manual" })).length, 1);
    });

    it("refuses a bad cron expression or an unknown flow", async () => {
      const orchestrator = await fixture.open();
      await assert.rejects(
        deploy(orchestrator, { name: "x", flow: "selfcheck", cron: "not a cron" }),
        /cron/,
      );
      await assert.rejects(
        deploy(orchestrator, { name: "y", flow: "nope", intervalSeconds: 5 }),
        /no flow named nope/,
      );
    });
  });
