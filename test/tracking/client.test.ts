// The same cases for both TrackingClient implementations, on SQLite and PostgreSQL: straight
// to the store, and over HTTP to a tracking server on that store.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { TrackingClient } from "../../src/tracking/client.ts";
import { TrackingError } from "../../src/tracking/errors.ts";
import { HttpTrackingClient } from "../../src/tracking/http-client.ts";
import { backends, openFixture, startServerFixture, type TrackingFixture } from "./backends.ts";

async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
  message?: RegExp,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof TrackingError, `expected a TrackingError, got ${error}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  });
}

const variants = backends.flatMap((backend) => [
  { name: `store client on ${backend.name}`, backend, http: false },
  { name: `HTTP client on ${backend.name}`, backend, http: true },
]);

for (const variant of variants) {
  describe(variant.name, { skip: variant.backend.skip }, () => {
    let fixture: TrackingFixture;
    let client: TrackingClient;
    let scratch: string;
    before(async () => {
      scratch = await mkdtemp(join(tmpdir(), "gc-tracking-client-"));
      if (variant.http) {
        const server = await startServerFixture(variant.backend);
        fixture = server;
        client = new HttpTrackingClient(server.url);
      } else {
        fixture = await openFixture(variant.backend);
        client = fixture.client;
      }
    });
    after(async () => {
      await fixture?.close();
      await rm(scratch, { recursive: true, force: true });
    });

    it("creates, finds, renames, deletes and restores experiments", async () => {
      const id = await client.createExperiment("genres", { tags: { team: "music" } });
      const experiment = await client.getExperiment(id);
      assert.equal(experiment.name, "genres");
      assert.deepEqual(experiment.tags, [{ key: "team", value: "music" }]);
      assert.equal((await client.getExperimentByName("genres"))?.experimentId, id);
      assert.equal(await client.getExperimentByName("no such"), undefined);
      await rejectsWith(
        client.createExperiment("genres"),
        "RESOURCE_ALREADY_EXISTS",
        /already exists/,
      );
      await client.renameExperiment(id, "genres-v2");
      await client.setExperimentTag(id, "owner", "ana");
      assert.deepEqual(
        (await client.getExperiment(id)).tags.map((t) => t.key),
        ["owner", "team"],
      );
      await client.deleteExperiment(id);
      assert.equal((await client.getExperiment(id)).lifecycleStage, "deleted");
      await rejectsWith(
        client.createExperiment("genres-v2"),
        "RESOURCE_ALREADY_EXISTS",
        /deleted state/,
      );
      await rejectsWith(client.startRun(id), "INVALID_PARAMETER_VALUE", /deleted/);
      const restored = await client.getOrCreateExperiment("genres-v2");
      assert.equal(restored.experimentId, id);
      assert.equal(restored.lifecycleStage, "active");
      const found = await client.searchExperiments({
        filter: "name LIKE 'genres%' and tags.team = 'music'",
      });
      assert.deepEqual(
        found.items.map((e) => e.experimentId),
        [id],
      );
      await rejectsWith(
        client.deleteExperiment("0"),
        "INVALID_PARAMETER_VALUE",
        /default experiment/,
      );
      await rejectsWith(client.getExperiment("abc"), "INVALID_PARAMETER_VALUE");
    });

    it("logs a run: params once, metrics appended with the latest kept, tags, datasets", async () => {
      const experiment = await client.getOrCreateExperiment("runs");
      const run = await client.startRun(experiment.experimentId, {
        runName: "forest",
        tags: { stage: "dev" },
      });
      const runId = run.info.runId;
      assert.equal(run.info.runName, "forest");
      assert.equal(run.info.status, "RUNNING");
      await client.logParams(runId, { trees: 100, criterion: "gini", bootstrap: true });
      await client.logParam(runId, "trees", "100");
      await rejectsWith(
        client.logParam(runId, "trees", 200),
        "INVALID_PARAMETER_VALUE",
        /already logged/,
      );
      for (let step = 0; step < 5; step++)
        await client.logMetrics(runId, { f1: step / 10, loss: 1 - step / 10 }, { step });
      await client.logMetric(runId, "f1", 0.05, { step: 1, timestamp: 1 });
      await client.logMetric(runId, "weird", Number.NaN);
      await client.logMetric(runId, "huge", Number.POSITIVE_INFINITY);
      await client.setTag(runId, "note", "first");
      await client.setTag(runId, "note", "second");
      await client.setTag(runId, "drop-me", "x");
      await client.deleteTag(runId, "drop-me");
      await rejectsWith(client.deleteTag(runId, "drop-me"), "RESOURCE_DOES_NOT_EXIST");
      await client.logDataset(
        runId,
        { name: "train", digest: "d1", sourceType: "local", source: "datasets/train.parquet" },
        "training",
      );
      await client.logDataset(
        runId,
        { name: "train", digest: "d1", sourceType: "local", source: "datasets/train.parquet" },
        "training",
      );
      await client.logDataset(
        runId,
        {
          name: "val",
          digest: "d2",
          sourceType: "local",
          source: "datasets/val.parquet",
          schema: "{}",
        },
        "validation",
      );
      const ended = await client.endRun(runId, "FINISHED", run.info.startTime + 1000);
      assert.equal(ended.status, "FINISHED");
      assert.equal(ended.endTime, run.info.startTime + 1000);

      const got = await client.getRun(runId);
      assert.deepEqual(got.data.params, [
        { key: "bootstrap", value: "true" },
        { key: "criterion", value: "gini" },
        { key: "trees", value: "100" },
      ]);
      const latest = Object.fromEntries(got.data.metrics.map((m) => [m.key, m]));
      assert.deepEqual(Object.keys(latest), ["f1", "huge", "loss", "weird"]);
      assert.equal(latest.f1?.value, 0.4);
      assert.equal(latest.f1?.step, 4);
      assert.ok(Number.isNaN(latest.weird?.value));
      assert.equal(latest.huge?.value, Number.POSITIVE_INFINITY);
      assert.deepEqual(
        got.data.tags.filter((t) => !t.key.startsWith("mlflow.")),
        [
          { key: "note", value: "second" },
          { key: "stage", value: "dev" },
        ],
      );
      assert.deepEqual(
        got.inputs.datasetInputs.map((d) => [
          d.dataset.name,
          d.dataset.digest,
          d.tags[0]?.value,
          d.dataset.schema,
        ]),
        [
          ["train", "d1", "training", undefined],
          ["val", "d2", "validation", "{}"],
        ],
      );
      const history = await client.getMetricHistory(runId, "f1");
      assert.deepEqual(
        history.map((m) => [m.step, m.value]),
        [
          [0, 0],
          [1, 0.05],
          [1, 0.1],
          [2, 0.2],
          [3, 0.3],
          [4, 0.4],
        ],
      );
      await client.updateRun(runId, { runName: "forest-renamed" });
      const renamed = await client.getRun(runId);
      assert.equal(renamed.info.runName, "forest-renamed");
      assert.equal(
        renamed.data.tags.find((t) => t.key === "mlflow.runName")?.value,
        "forest-renamed",
      );
      await client.deleteRun(runId);
      await rejectsWith(client.logMetric(runId, "f1", 1), "INVALID_PARAMETER_VALUE", /deleted/);
      await client.restoreRun(runId);
      await client.logMetric(runId, "f1", 1, { step: 9 });
      await rejectsWith(
        client.getRun("ffffffffffffffffffffffffffffffff"),
        "RESOURCE_DOES_NOT_EXIST",
      );
      await rejectsWith(client.getRun("../etc"), "INVALID_PARAMETER_VALUE");
      await rejectsWith(client.logMetric(runId, "bad key!", 1), "INVALID_PARAMETER_VALUE");
      await rejectsWith(
        client.updateRun(runId, { status: "DONE" as never }),
        "INVALID_PARAMETER_VALUE",
      );
    });

    it("searches runs with MLflow's filter syntax, ordering and pages", async () => {
      const experiment = await client.getOrCreateExperiment("search");
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        const run = await client.startRun(experiment.experimentId, {
          runName: `run-${i}`,
          startTime: 1_700_000_000_000 + i,
          tags: { family: i % 2 === 0 ? "Forest" : "boost" },
        });
        ids.push(run.info.runId);
        await client.logBatch(run.info.runId, {
          metrics: i === 5 ? [] : [{ key: "f1", value: i / 10, step: 0, timestamp: 1 }],
          params: [{ key: "trees", value: String(i * 10) }],
        });
        await client.logDataset(
          run.info.runId,
          { name: `set-${i % 3}`, digest: "x", sourceType: "local", source: "s" },
          i < 3 ? "training" : "test",
        );
        if (i === 4) await client.endRun(run.info.runId, "FAILED");
      }
      const search = async (filter: string, orderBy?: string[]) =>
        (
          await client.searchRuns({ experimentIds: [experiment.experimentId], filter, orderBy })
        ).items.map((r) => r.info.runName);
      assert.deepEqual(await search("metrics.f1 >= 0.2", ["metrics.f1 DESC"]), [
        "run-4",
        "run-3",
        "run-2",
      ]);
      assert.deepEqual(await search("metrics.f1 != 0.2 and metrics.f1 < 0.3", ["metrics.f1"]), [
        "run-0",
        "run-1",
      ]);
      assert.deepEqual(await search("params.trees = '30'"), ["run-3"]);
      assert.deepEqual(
        await search("params.trees != '30' and params.trees LIKE '%0'", ["params.trees ASC"]),
        ["run-0", "run-1", "run-2", "run-4", "run-5"],
      );
      assert.deepEqual(await search("tags.family LIKE 'forest'"), []);
      assert.deepEqual(await search("tags.family ILIKE 'forest'", ["attributes.start_time ASC"]), [
        "run-0",
        "run-2",
        "run-4",
      ]);
      assert.deepEqual(await search("attributes.status = 'FAILED'"), ["run-4"]);
      assert.deepEqual(await search("status != 'RUNNING'"), ["run-4"]);
      assert.deepEqual(
        await search(`attributes.run_id IN ('${ids[1]}', '${ids[3]}')`, ["start_time ASC"]),
        ["run-1", "run-3"],
      );
      assert.deepEqual(await search("attributes.run_name = 'run-2'"), ["run-2"]);
      assert.deepEqual(
        await search(`attributes.start_time > ${1_700_000_000_003}`, ["start_time"]),
        ["run-4", "run-5"],
      );
      assert.deepEqual(await search("datasets.context = 'training' and datasets.name = 'set-1'"), [
        "run-1",
      ]);
      assert.deepEqual(await search("tags.missing IS NULL and params.trees = '0'"), ["run-0"]);
      assert.deepEqual(await search("metrics.`f1` > 0.35"), ["run-4"]);
      assert.deepEqual(await search("", ["metrics.f1 ASC"]), [
        "run-0",
        "run-1",
        "run-2",
        "run-3",
        "run-4",
        "run-5",
      ]);

      const pages: string[][] = [];
      let pageToken: string | undefined;
      do {
        const page = await client.searchRuns({
          experimentIds: [experiment.experimentId],
          orderBy: ["attributes.start_time DESC"],
          maxResults: 4,
          pageToken,
        });
        pages.push(page.items.map((r) => r.info.runName));
        pageToken = page.nextPageToken;
      } while (pageToken);
      assert.deepEqual(pages, [
        ["run-5", "run-4", "run-3", "run-2"],
        ["run-1", "run-0"],
      ]);
      await client.deleteRun(ids[0] as string);
      const deletedOnly = await client.searchRuns({
        experimentIds: [experiment.experimentId],
        viewType: "DELETED_ONLY",
      });
      assert.deepEqual(
        deletedOnly.items.map((r) => r.info.runName),
        ["run-0"],
      );
      for (const bad of [
        "metrics.f1 > 'x'",
        "params.trees > 10",
        "colour = 'red'",
        "metrics.f1 > 0.1 or metrics.f1 < 0",
        "metrics.f1 >",
        "params.trees = 'unterminated",
        "nonsense.key = 'x'",
      ])
        await rejectsWith(
          client.searchRuns({ experimentIds: [experiment.experimentId], filter: bad }),
          "INVALID_PARAMETER_VALUE",
        );
      await rejectsWith(
        client.searchRuns({
          experimentIds: [experiment.experimentId],
          pageToken: "bm90IGEgdG9rZW4=",
        }),
        "INVALID_PARAMETER_VALUE",
        /page_token/,
      );
      await rejectsWith(
        client.searchRuns({
          experimentIds: [experiment.experimentId],
          orderBy: ["metrics.f1 SIDEWAYS"],
        }),
        "INVALID_PARAMETER_VALUE",
      );
    });

    it("keeps artifacts in the object store: bytes, files, folders, listings, downloads", async () => {
      const experiment = await client.getOrCreateExperiment("artifacts");
      const run = await client.startRun(experiment.experimentId);
      const runId = run.info.runId;
      const folder = join(scratch, `model-${variant.http ? "http" : "store"}`);
      await mkdir(join(folder, "trees"), { recursive: true });
      await writeFile(join(folder, "MLmodel"), "flavor: forest\n");
      await writeFile(join(folder, "trees", "0.bin"), Buffer.from([1, 2, 3]));
      await writeFile(join(folder, "trees", "1 with space.bin"), Buffer.from([4]));
      const report = join(scratch, "report.html");
      await writeFile(report, "<h1>report</h1>");

      await client.logArtifactBytes(runId, "metrics/summary.json", '{"f1": 0.7}');
      assert.equal(await client.logArtifactFile(runId, report, "reports"), "reports/report.html");
      assert.deepEqual((await client.logArtifactFolder(runId, folder, "model")).sort(), [
        "model/MLmodel",
        "model/trees/0.bin",
        "model/trees/1 with space.bin",
      ]);
      assert.deepEqual(await client.listArtifacts(runId), [
        { path: "metrics", isDir: true, fileSize: undefined },
        { path: "model", isDir: true, fileSize: undefined },
        { path: "reports", isDir: true, fileSize: undefined },
      ]);
      assert.deepEqual(await client.listArtifacts(runId, "model/trees"), [
        { path: "model/trees/0.bin", isDir: false, fileSize: 3 },
        { path: "model/trees/1 with space.bin", isDir: false, fileSize: 1 },
      ]);
      const key = `tracking/${experiment.experimentId}/${runId}/artifacts/metrics/summary.json`;
      assert.equal(
        await readFile(join(fixture.storeRoot, ...key.split("/")), "utf8"),
        '{"f1": 0.7}',
      );

      const target = join(scratch, `download-${variant.http ? "http" : "store"}`);
      const local = await client.downloadArtifacts(runId, "model", target);
      assert.equal(local, join(target, "model"));
      assert.equal(await readFile(join(local, "MLmodel"), "utf8"), "flavor: forest\n");
      assert.deepEqual([...(await readFile(join(local, "trees", "0.bin")))], [1, 2, 3]);
      const single = await client.downloadArtifacts(runId, "reports/report.html", target);
      assert.equal(await readFile(single, "utf8"), "<h1>report</h1>");

      for (const bad of ["../escape.txt", "/etc/passwd", "a/../../b", "a\\b", ""])
        await rejectsWith(client.logArtifactBytes(runId, bad, "x"), "INVALID_PARAMETER_VALUE");
      await rejectsWith(
        client.downloadArtifacts(runId, "missing.txt", target),
        "RESOURCE_DOES_NOT_EXIST",
      );
    });

    it("registers versions, moves aliases and downloads a version by alias", async () => {
      const experiment = await client.getOrCreateExperiment("registry");
      const runs = [];
      for (let i = 0; i < 3; i++) {
        const run = await client.startRun(experiment.experimentId, { runName: `train-${i}` });
        await client.logArtifactBytes(run.info.runId, "model/model.json", `{"version": ${i + 1}}`);
        runs.push(run.info.runId);
      }
      const v1 = await client.registerModelVersion("genre-forest", runs[0] as string, "model", {
        description: "first",
      });
      const v2 = await client.registerModelVersion("genre-forest", runs[1] as string, "model", {
        tags: { gate: "passed" },
      });
      assert.deepEqual([v1.version, v2.version], ["1", "2"]);
      assert.equal(v1.source, `runs:/${runs[0]}/model`);
      assert.equal(v1.runId, runs[0]);
      assert.equal(v1.description, "first");
      assert.deepEqual(v2.tags, [{ key: "gate", value: "passed" }]);
      await client.setAlias("genre-forest", "champion", "1");
      await client.setAlias("genre-forest", "challenger", "2");
      assert.equal((await client.getModelVersionByAlias("genre-forest", "champion")).version, "1");
      await client.setAlias("genre-forest", "champion", "2");
      const champion = await client.getModelVersionByAlias("genre-forest", "champion");
      assert.equal(champion.version, "2");
      assert.deepEqual(champion.aliases, ["challenger", "champion"]);
      const target = join(scratch, `champion-${variant.http ? "http" : "store"}`);
      await client.downloadModelVersion("genre-forest", champion.version, target);
      assert.equal(await readFile(join(target, "model.json"), "utf8"), '{"version": 2}');

      const model = await client.getRegisteredModel("genre-forest");
      assert.deepEqual(model.aliases, [
        { alias: "challenger", version: "2" },
        { alias: "champion", version: "2" },
      ]);
      assert.deepEqual(
        model.latestVersions.map((v) => v.version),
        ["2"],
      );
      assert.deepEqual(
        (await client.getLatestVersions("genre-forest")).map((v) => v.version),
        ["2"],
      );
      await client.deleteAlias("genre-forest", "challenger");
      await rejectsWith(
        client.getModelVersionByAlias("genre-forest", "challenger"),
        "RESOURCE_DOES_NOT_EXIST",
      );
      await rejectsWith(
        client.setAlias("genre-forest", "latest", "1"),
        "INVALID_PARAMETER_VALUE",
        /reserved/,
      );
      await rejectsWith(client.setAlias("genre-forest", "gold", "9"), "RESOURCE_DOES_NOT_EXIST");
      await rejectsWith(client.createRegisteredModel("genre-forest"), "RESOURCE_ALREADY_EXISTS");
      await rejectsWith(client.getRegisteredModel("missing-model"), "RESOURCE_DOES_NOT_EXIST");
      await rejectsWith(
        client.createModelVersion({
          name: "genre-forest",
          source: "runs:/ffffffffffffffffffffffffffffffff/model",
        }),
        "RESOURCE_DOES_NOT_EXIST",
      );
      await rejectsWith(
        client.createModelVersion({ name: "genre-forest", source: "s3://elsewhere/../model" }),
        "INVALID_PARAMETER_VALUE",
      );

      await client.updateModelVersion("genre-forest", "1", "retired");
      await client.setModelVersionTag("genre-forest", "1", "state", "old");
      assert.deepEqual((await client.getModelVersion("genre-forest", "1")).tags, [
        { key: "state", value: "old" },
      ]);
      await client.deleteModelVersionTag("genre-forest", "1", "state");
      await client.deleteModelVersion("genre-forest", "2");
      await rejectsWith(
        client.getModelVersionByAlias("genre-forest", "champion"),
        "RESOURCE_DOES_NOT_EXIST",
      );
      const v3 = await client.registerModelVersion("genre-forest", runs[2] as string, "model");
      assert.equal(v3.version, "3", "deleted version numbers are not reused");
      const byRun = await client.searchModelVersions({ filter: `run_id = '${runs[2]}'` });
      assert.deepEqual(
        byRun.items.map((v) => [v.name, v.version]),
        [["genre-forest", "3"]],
      );

      await client.setRegisteredModelTag("genre-forest", "task", "genres");
      const renamed = await client.renameRegisteredModel("genre-forest", "genre-model");
      assert.deepEqual(renamed.tags, [{ key: "task", value: "genres" }]);
      assert.equal((await client.getModelVersion("genre-model", "3")).name, "genre-model");
      await client.setAlias("genre-model", "champion", "3");
      await client.updateRegisteredModel("genre-model", "classifies tracks");
      const listed = await client.searchRegisteredModels({ filter: "name LIKE 'genre-%'" });
      assert.deepEqual(
        listed.items.map((m) => [m.name, m.description, m.aliases]),
        [["genre-model", "classifies tracks", [{ alias: "champion", version: "3" }]]],
      );
      await client.deleteRegisteredModel("genre-model");
      await rejectsWith(client.getModelVersion("genre-model", "3"), "RESOURCE_DOES_NOT_EXIST");
    });

    it("refuses searches beyond its bounds, naming the limit, on every search", async () => {
      const experiment = await client.getOrCreateExperiment("bounds");
      const run = await client.startRun(experiment.experimentId, { runName: "bounded" });
      const runId = run.info.runId;
      await client.logMetrics(runId, { acc: 0.5, loss: 0.25 });
      await client.logParams(runId, { trees: 10 });
      const runs = (query: { filter?: string; orderBy?: string[]; maxResults?: number }) =>
        client.searchRuns({ experimentIds: [experiment.experimentId], ...query });
      const joined = (n: number, comparison: (i: number) => string) =>
        Array.from({ length: n }, (_, i) => comparison(i)).join(" and ");
      const list = (n: number) => Array.from({ length: n }, (_, i) => `'${i}'`).join(", ");
      const bad = "INVALID_PARAMETER_VALUE";

      const atLimit = await runs({
        filter: joined(100, (i) =>
          i % 3 === 0
            ? `metrics.acc > 0.${i % 4}`
            : i % 3 === 1
              ? `params.missing${i} IS NULL`
              : `tags.\`mlflow.runName\` = 'bounded'`,
        ),
      });
      assert.deepEqual(
        atLimit.items.map((r) => r.info.runId),
        [runId],
      );
      const narrowed = await runs({ filter: "metrics.acc > 0.4 and metrics.acc < 0.45" });
      assert.deepEqual(narrowed.items, []);
      await rejectsWith(
        runs({ filter: joined(1000, () => "metrics.acc > 0") }),
        bad,
        /at most 100 comparisons.*1000/,
      );
      await rejectsWith(runs({ filter: joined(101, () => "start_time > 0") }), bad, /at most 100/);
      await rejectsWith(
        runs({ filter: `params.trees IN (${list(2000)})` }),
        bad,
        /at most 1000 values.*2000/,
      );
      await rejectsWith(
        runs({ filter: `attributes.run_id IN (${list(40_000)})` }),
        bad,
        /at most 50000 characters/,
      );
      await rejectsWith(
        runs({ filter: `params.trees = '${"x".repeat(60_000)}'` }),
        bad,
        /at most 50000 characters/,
      );
      await rejectsWith(
        runs({ orderBy: Array.from({ length: 1000 }, () => "metrics.acc DESC") }),
        bad,
        /at most 20 order_by terms/,
      );
      await rejectsWith(
        client.searchRuns({
          experimentIds: Array.from({ length: 40_000 }, (_, i) => String(i)),
        }),
        bad,
        /at most 10000 experiment_ids/,
      );
      await rejectsWith(runs({ maxResults: 1_000_000_000 }), bad, /max_results/);

      await rejectsWith(
        client.searchExperiments({ filter: joined(1000, () => "name = 'bounds'") }),
        bad,
        /at most 100 comparisons/,
      );
      await rejectsWith(
        client.searchExperiments({ filter: `name IN (${list(2000)})` }),
        bad,
        /at most 1000 values.*2000/,
      );
      await rejectsWith(
        client.searchExperiments({ orderBy: Array.from({ length: 1000 }, () => "name") }),
        bad,
        /at most 20 order_by terms/,
      );
      await rejectsWith(
        client.searchExperiments({ maxResults: 1_000_000_000 }),
        bad,
        /max_results/,
      );
      // Registry searches travel as GET query strings, which the HTTP server caps at 16 KiB.
      await rejectsWith(
        client.searchRegisteredModels({ filter: joined(101, () => "tags.a = 'b'") }),
        bad,
        /at most 100 comparisons.*101/,
      );
      await rejectsWith(
        client.searchRegisteredModels({ orderBy: Array.from({ length: 21 }, () => "name") }),
        bad,
        /at most 20 order_by terms/,
      );
      await rejectsWith(client.searchRegisteredModels({ maxResults: 1001 }), bad, /max_results/);
      await rejectsWith(
        client.searchModelVersions({ filter: joined(101, () => "version_number > 0") }),
        bad,
        /at most 100 comparisons.*101/,
      );
      await rejectsWith(
        client.searchModelVersions({ filter: `run_id IN (${list(1001)})` }),
        bad,
        /at most 1000 values.*1001/,
      );
      await rejectsWith(client.searchModelVersions({ maxResults: 200_001 }), bad, /max_results/);
    });

    it("refuses NUL and control characters in names, keys and values, naming the field", async () => {
      const bad = "INVALID_PARAMETER_VALUE";
      await rejectsWith(client.createExperiment("genres\u0000x"), bad, /experiment name/);
      await rejectsWith(client.createExperiment("genres\nx"), bad, /experiment name/);
      await rejectsWith(client.getOrCreateExperiment("genres\u0000x"), bad, /experiment/);
      const experiment = await client.getOrCreateExperiment("names");
      const id = experiment.experimentId;
      await rejectsWith(client.renameExperiment(id, "names\u0000"), bad, /new_name/);
      await rejectsWith(client.setExperimentTag(id, "k\u0000", "v"), bad, /tag key/);
      await rejectsWith(client.setExperimentTag(id, "k", "v\u0000"), bad, /tag "k" value/);
      await rejectsWith(client.startRun(id, { runName: "run\u0000" }), bad, /run_name/);
      const runId = (await client.startRun(id, { runName: "plain" })).info.runId;
      await rejectsWith(client.updateRun(runId, { runName: "r\u0000" }), bad, /run_name/);
      await rejectsWith(client.setTag(runId, "k\u0000", "v"), bad, /tag key/);
      await rejectsWith(client.setTag(runId, "note", "a\u0000b"), bad, /tag "note" value/);
      await rejectsWith(client.logParam(runId, "p\u0000", "v"), bad, /param key/);
      await rejectsWith(client.logParam(runId, "p", "v\u0000"), bad, /param "p" value/);
      await rejectsWith(client.logMetric(runId, "m\u0000", 1), bad, /metric key/);
      await rejectsWith(client.createRegisteredModel("model\u0000"), bad, /registered model name/);
      await rejectsWith(
        client.searchRuns({ experimentIds: [id], filter: "params.p = 'a\u0000'" }),
        bad,
        /filter/,
      );
      const names = (await client.searchExperiments({ viewType: "ALL" })).items.map((e) => e.name);
      assert.deepEqual(
        names.filter((n) => n.includes("\u0000") || n.includes("\n")),
        [],
      );
      const run = await client.getRun(runId);
      assert.equal(run.info.runName, "plain");
      assert.deepEqual(run.data.params, []);
      assert.deepEqual(
        run.data.tags.map((t) => t.key),
        ["mlflow.runName"],
      );
      const models = (await client.searchRegisteredModels()).items.map((m) => m.name);
      assert.deepEqual(
        models.filter((n) => n.startsWith("model")),
        [],
      );
    });
  });
}
