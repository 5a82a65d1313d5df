// The store's queries behind the UI's runs tables, on SQLite and PostgreSQL: runs counted per
// experiment, a page of run infos searched like searchRuns, the keys a page's runs have (params
// with how many runs and values), the values of chosen columns, and the metrics with history.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { backends, openFixture, type TrackingFixture } from "./backends.ts";

for (const backend of backends) {
  describe(`run columns on ${backend.name}`, { skip: backend.skip }, () => {
    let fixture: TrackingFixture;
    let experimentId: string;
    let emptyId: string;
    const runIds: string[] = [];

    before(async () => {
      fixture = await openFixture(backend);
      const client = fixture.client;
      experimentId = await client.createExperiment("columns");
      emptyId = await client.createExperiment("empty");
      for (const [index, trees] of ["100", "200", "100"].entries()) {
        const run = await client.startRun(experimentId, {
          runName: `run-${index}`,
          startTime: 1_000 + index,
        });
        runIds.push(run.info.runId);
        await client.logParams(run.info.runId, { trees, seed: 7 });
        await client.logMetric(run.info.runId, "jaccard", 0.1 * (index + 1));
        if (index === 0) await client.logParam(run.info.runId, "only_first", "x");
        if (index === 1)
          for (let step = 0; step < 3; step++)
            await client.logMetric(run.info.runId, "loss", 1 / (step + 1), { step });
      }
      await client.logMetric(runIds[2] as string, "nan", Number.NaN);
      await client.deleteRun(runIds[2] as string);
    });
    after(async () => {
      await fixture?.close();
    });

    it("counts each experiment's active runs and gives the latest start", async () => {
      const counts = await fixture.client.tracking.runCountsByExperiment([experimentId, emptyId]);
      assert.deepEqual(counts.get(experimentId), { runs: 2, lastStartTime: 1_001 });
      assert.equal(counts.get(emptyId), undefined);
    });

    it("pages run infos with searchRuns' filter and order", async () => {
      const filtered = await fixture.client.tracking.searchRunInfos({
        experimentIds: [experimentId],
        filter: "params.trees = '100'",
      });
      assert.deepEqual(
        filtered.items.map((r) => r.runName),
        ["run-0"],
      );
      await assert.rejects(
        fixture.client.tracking.searchRunInfos({
          experimentIds: [experimentId],
          filter: "params.trees = '1' or params.trees = '2'",
        }),
        /OR is not supported/,
      );
      const sorted = await fixture.client.tracking.searchRunInfos({
        experimentIds: [experimentId],
        orderBy: ["metrics.jaccard DESC"],
        maxResults: 1,
      });
      assert.deepEqual(
        sorted.items.map((r) => r.runName),
        ["run-1"],
      );
      assert.ok(sorted.nextPageToken);
    });

    it("gives the keys of a page's runs, each param with its runs and distinct values", async () => {
      const keys = await fixture.client.tracking.runKeys(runIds);
      assert.deepEqual(keys.metrics, ["jaccard", "loss", "nan"]);
      assert.deepEqual(
        keys.params.sort((a, b) => (a.key < b.key ? -1 : 1)),
        [
          { key: "only_first", runs: 1, values: 1 },
          { key: "seed", runs: 3, values: 1 },
          { key: "trees", runs: 3, values: 2 },
        ],
      );
    });

    it("gives the chosen columns' values per run, NaN kept", async () => {
      const values = await fixture.client.tracking.runValues(runIds, {
        metrics: ["jaccard", "nan"],
        params: ["trees"],
      });
      assert.equal(values.get(runIds[1] as string)?.params.get("trees"), "200");
      assert.equal(values.get(runIds[1] as string)?.params.get("seed"), undefined);
      assert.ok(
        Math.abs((values.get(runIds[0] as string)?.metrics.get("jaccard") ?? 0) - 0.1) < 1e-12,
      );
      assert.ok(Number.isNaN(values.get(runIds[2] as string)?.metrics.get("nan")));
      const none = await fixture.client.tracking.runValues(runIds, { metrics: [], params: [] });
      assert.equal(none.get(runIds[0] as string)?.metrics.size, 0);
    });

    it("names the metrics logged more than once, per run", async () => {
      const keys = await fixture.client.tracking.metricKeysWithHistory(runIds);
      assert.deepEqual([...keys.entries()], [[runIds[1], ["loss"]]]);
    });
  });
}
