// Several processes logging to the same run at once lose nothing, on SQLite and PostgreSQL:
// every metric value is kept, the latest per key is right, write-once params logged by all
// with one value succeed, and concurrently registered versions get distinct numbers.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { backends, openFixture, type TrackingFixture } from "./backends.ts";
import { runTogether } from "./processes.ts";

const WRITERS = 3;
const BATCHES = 20;

for (const backend of backends) {
  describe(`concurrent writers on ${backend.name}`, { skip: backend.skip }, () => {
    let fixture: TrackingFixture;
    before(async () => {
      fixture = await openFixture(backend);
    });
    after(() => fixture?.close());

    it(`${WRITERS} processes logging to one run lose nothing`, async () => {
      const { client } = fixture;
      const experiment = await client.getOrCreateExperiment("concurrency");
      const run = await client.startRun(experiment.experimentId);
      const runId = run.info.runId;
      const outputs = await runTogether(
        "./concurrent-writer.ts",
        Array.from({ length: WRITERS }, (_, writer) => [
          fixture.uri,
          fixture.storeRoot,
          runId,
          String(writer),
          String(BATCHES),
        ]),
      );
      assert.deepEqual(
        outputs.map((o) => JSON.parse(o).ok),
        Array(WRITERS).fill(true),
      );
      const got = await client.getRun(runId);
      assert.equal(got.data.params.length, 1 + WRITERS * BATCHES);
      assert.equal(got.data.params.find((p) => p.key === "shared_param")?.value, "same");
      for (let writer = 0; writer < WRITERS; writer++)
        assert.equal(
          got.data.tags.find((t) => t.key === `writer_${writer}`)?.value,
          String(BATCHES - 1),
        );
      let total = 0;
      for (let i = 0; i < 5; i++) {
        const history = await client.getMetricHistory(runId, `shared_${i}`);
        total += history.length;
        const latest = got.data.metrics.find((m) => m.key === `shared_${i}`);
        const expected = history.reduce((best, m) =>
          (m.step - best.step || m.timestamp - best.timestamp || m.value - best.value) > 0
            ? m
            : best,
        );
        assert.deepEqual(latest, expected);
        assert.equal(latest?.step, BATCHES - 1);
      }
      assert.equal(total, WRITERS * BATCHES * 50);
      const versions = await client.searchModelVersions({ filter: "name = 'concurrent-model'" });
      assert.deepEqual(
        versions.items.map((v) => v.version).sort(),
        Array.from({ length: WRITERS }, (_, i) => String(i + 1)),
      );
    });
  });
}
