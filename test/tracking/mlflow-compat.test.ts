// The REST answers MLflow's clients rely on beyond the basics, over HTTP on a real server:
// stages and transition-stage, model version sources (models:/, runs:/, s3://, file://),
// experiments with an s3:// artifact location on an S3 object store, the multipart upload's
// 501, JSON types as MLflow reads them, an unknown alias, and get-history-bulk-interval.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { startTrackingServer } from "../../src/server/tracking-server.ts";
import { S3ObjectStore } from "../../src/storage/s3.ts";
import { StoreTrackingClient } from "../../src/tracking/client.ts";
import { openTrackingDatabase } from "../../src/tracking/database.ts";
import { type LocalS3Server, startLocalS3 } from "../helpers/s3-server.ts";
import { backends, type ServerFixture, startServerFixture } from "./backends.ts";

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON, checked field by field below
type Json = Record<string, any>;

function rest(url: string) {
  async function call(method: string, endpoint: string, body?: unknown, query?: string) {
    const response = await fetch(`${url}${endpoint}${query ? `?${query}` : ""}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Json };
  }
  return {
    post: (endpoint: string, body: unknown) => call("POST", `/api/2.0/mlflow/${endpoint}`, body),
    get: (endpoint: string, query: string) =>
      call("GET", `/api/2.0/mlflow/${endpoint}`, undefined, query),
    raw: call,
  };
}

const WRONG = { status: 400, code: "INVALID_PARAMETER_VALUE" };

function refused(answer: { status: number; body: Json }, message?: RegExp) {
  assert.deepEqual(
    { status: answer.status, code: answer.body.error_code },
    WRONG,
    answer.body.message,
  );
  if (message) assert.match(answer.body.message, message);
}

for (const backend of backends) {
  describe(`MLflow compatibility on ${backend.name}`, { skip: backend.skip }, () => {
    let fixture: ServerFixture;
    let api: ReturnType<typeof rest>;
    let runId: string;
    let otherRunId: string;
    before(async () => {
      fixture = await startServerFixture(backend);
      api = rest(fixture.url);
      const { client } = fixture;
      const experiment = await client.getOrCreateExperiment("compat");
      runId = (await client.startRun(experiment.experimentId)).info.runId;
      otherRunId = (await client.startRun("0")).info.runId;
      await client.logArtifactBytes(runId, "model/MLmodel", "flavors: {}\n");
      await client.logArtifactBytes(otherRunId, "other/MLmodel", "other\n");
      await client.createRegisteredModel("forest");
      for (let i = 0; i < 3; i++)
        await client.createModelVersion({ name: "forest", source: `runs:/${runId}/model` });
    });
    after(() => fixture.close());

    it("keeps stages, archives existing versions when asked, and answers latest versions per stage", async () => {
      const staging = await api.post("model-versions/transition-stage", {
        name: "forest",
        version: "1",
        stage: "staging",
        archive_existing_versions: false,
      });
      assert.equal(staging.status, 200);
      assert.equal(staging.body.model_version.current_stage, "Staging");
      await api.post("model-versions/transition-stage", {
        name: "forest",
        version: "1",
        stage: "Production",
      });
      const second = await api.post("model-versions/transition-stage", {
        name: "forest",
        version: "2",
        stage: "Production",
        archive_existing_versions: true,
      });
      assert.equal(second.body.model_version.current_stage, "Production");
      const first = await api.get("model-versions/get", "name=forest&version=1");
      assert.equal(first.body.model_version.current_stage, "Archived");
      const latest = await api.post("registered-models/get-latest-versions", { name: "forest" });
      assert.deepEqual(
        latest.body.model_versions.map((v: Json) => [v.current_stage, v.version]),
        [
          ["Archived", "1"],
          ["Production", "2"],
          ["None", "3"],
        ],
      );
      const production = await api.post("registered-models/get-latest-versions", {
        name: "forest",
        stages: ["production"],
      });
      assert.deepEqual(
        production.body.model_versions.map((v: Json) => v.version),
        ["2"],
      );
      const model = await api.get("registered-models/get", "name=forest");
      assert.equal(model.body.registered_model.latest_versions.length, 3);
      refused(
        await api.post("model-versions/transition-stage", {
          name: "forest",
          version: "3",
          stage: "Shipped",
        }),
        /^Invalid Model Version stage: Shipped\. Value must be one of None, Staging, Production, Archived\.$/,
      );
      refused(
        await api.post("model-versions/transition-stage", {
          name: "forest",
          version: "3",
          stage: "Archived",
          archive_existing_versions: true,
        }),
        /is not an Active stage/,
      );
    });

    it("copies versions from models:/ URIs and takes runs:/, s3:// and file:// sources", async () => {
      await api.post("registered-models/alias", {
        name: "forest",
        alias: "champion",
        version: "3",
      });
      await api.post("registered-models/create", { name: "copies" });
      const byVersion = await api.post("model-versions/create", {
        name: "copies",
        source: "models:/forest/1",
        run_id: runId,
      });
      assert.equal(byVersion.status, 200, byVersion.body.message);
      assert.equal(byVersion.body.model_version.source, "models:/forest/1");
      const byAlias = await api.post("model-versions/create", {
        name: "copies",
        source: "models:/forest@champion",
      });
      assert.equal(byAlias.status, 200, byAlias.body.message);
      const runArtifacts = (await fixture.client.getRun(runId)).info.artifactUri;
      for (const version of ["1", "2"]) {
        const uri = await api.get(
          "model-versions/get-download-uri",
          `name=copies&version=${version}`,
        );
        assert.equal(uri.body.artifact_uri, `${runArtifacts}/model`);
      }
      const missing = await api.post("model-versions/create", {
        name: "copies",
        source: "models:/forest@nobody",
      });
      refused(
        missing,
        /^Unable to fetch model from model URI source artifact location 'models:\/forest@nobody'/,
      );

      const otherRun = await api.post("model-versions/create", {
        name: "copies",
        source: `runs:/${otherRunId}/other`,
        run_id: runId,
      });
      assert.equal(otherRun.status, 200, otherRun.body.message);
      assert.equal(otherRun.body.model_version.run_id, runId);
      const otherUri = await api.get("model-versions/get-download-uri", "name=copies&version=3");
      assert.equal(
        otherUri.body.artifact_uri,
        `${(await fixture.client.getRun(otherRunId)).info.artifactUri}/other`,
      );

      const s3 = await api.post("model-versions/create", {
        name: "copies",
        source: "s3://models-bucket/forest/1",
      });
      assert.equal(s3.status, 200, s3.body.message);
      const s3Uri = await api.get(
        "model-versions/get-download-uri",
        `name=copies&version=${s3.body.model_version.version}`,
      );
      assert.equal(s3Uri.body.artifact_uri, "s3://models-bucket/forest/1");
      refused(
        await api.post("model-versions/create", { name: "copies", source: "s3://b/a/../../c" }),
        /relative path/,
      );

      const runFolder = join(
        fixture.storeRoot,
        "tracking",
        ...runArtifacts.replace("mlflow-artifacts:/", "").split("/"),
      );
      const local = await api.post("model-versions/create", {
        name: "copies",
        source: pathToFileURL(join(runFolder, "model")).href,
        run_id: runId,
      });
      assert.equal(local.status, 200, local.body.message);
      const localUri = await api.get(
        "model-versions/get-download-uri",
        `name=copies&version=${local.body.model_version.version}`,
      );
      assert.equal(localUri.body.artifact_uri, `${runArtifacts}/model`);
      const outside =
        /^Invalid model version source: '.*'\. To use a local path as a model version source, the run_id request parameter has to be specified/;
      refused(
        await api.post("model-versions/create", {
          name: "copies",
          source: pathToFileURL(join(runFolder, "model")).href,
        }),
        outside,
      );
      refused(
        await api.post("model-versions/create", {
          name: "copies",
          source: "file:///etc",
          run_id: runId,
        }),
        outside,
      );
    });

    it("answers the multipart proxy upload with 501 and MLflow's message", async () => {
      for (const step of ["create", "complete", "abort"]) {
        const answer = await api.raw(
          "POST",
          `/api/2.0/mlflow-artifacts/mpu/${step}/0/run/artifacts/big.bin`,
          {
            path: "big.bin",
            num_parts: 2,
          },
        );
        assert.deepEqual(answer, {
          status: 501,
          body: {
            error_code: "NOT_IMPLEMENTED",
            message: "Multipart upload is not supported for the current artifact repository",
          },
        });
      }
    });

    it("reads ids sent as JSON numbers and refuses wrong JSON types as MLflow does", async () => {
      const created = await api.post("runs/create", { experiment_id: 0, start_time: 5 });
      assert.equal(created.status, 200, created.body.message);
      assert.equal(created.body.run.info.experiment_id, "0");
      const found = await api.post("runs/search", { experiment_ids: [0], max_results: 10 });
      assert.ok(found.body.runs.some((r: Json) => r.info.run_id === created.body.run.info.run_id));
      assert.equal(
        (await api.post("experiments/get", { experiment_id: 0 })).body.experiment.name,
        "Default",
      );
      assert.equal(
        (await api.get("experiments/get", "experiment_id=0")).body.experiment.name,
        "Default",
      );

      refused(
        await api.post("experiments/create", { name: 123 }),
        /^Invalid value 123 for parameter 'name' supplied\. Hint: Value was of type 'int'\. See the API docs/,
      );
      refused(await api.post("registered-models/create", { name: 123 }), /'name'.*'int'/);
      refused(
        await api.post("runs/set-tag", { run_id: runId, key: "k", value: 5 }),
        /'value'.*'int'/,
      );
      refused(
        await api.post("runs/set-tag", { run_id: runId, key: "k", value: true }),
        /Invalid value True .*'bool'/,
      );
      refused(
        await api.post("runs/create", { experiment_id: "0", tags: [{ key: "k", value: 1.5 }] }),
        /'value'.*'float'/,
      );
      refused(
        await api.post("runs/log-inputs", { run_id: runId }),
        /^Missing value for required parameter 'datasets'\./,
      );
      const tags = (await fixture.client.getRun(runId)).data.tags;
      assert.ok(!tags.some((t) => t.key === "k"), "nothing written by a refused request");
    });

    it("answers an unknown alias with 400 INVALID_PARAMETER_VALUE, as MLflow does", async () => {
      const answer = await api.get("registered-models/alias", "name=forest&alias=ghost");
      assert.deepEqual(answer, {
        status: 400,
        body: {
          error_code: "INVALID_PARAMETER_VALUE",
          message: "Registered model alias ghost not found.",
        },
      });
      await assert.rejects(fixture.client.getModelVersionByAlias("forest", "ghost"), {
        code: "RESOURCE_DOES_NOT_EXIST",
      });
    });

    it("samples metric histories of several runs with get-history-bulk-interval", async () => {
      const metrics = Array.from({ length: 100 }, (_, step) => ({
        key: "loss",
        value: 1 / (step + 1),
        timestamp: 1000 + step,
        step,
      }));
      await fixture.client.logBatch(runId, { metrics });
      await fixture.client.logBatch(otherRunId, { metrics: metrics.slice(10, 20) });
      const all = await api.get(
        "metrics/get-history-bulk-interval",
        `run_ids=${runId}&run_ids=${otherRunId}&metric_key=loss`,
      );
      assert.equal(all.status, 200, all.body.message);
      assert.equal(all.body.metrics.length, 110);
      assert.deepEqual(Object.keys(all.body.metrics[0]).sort(), [
        "key",
        "run_id",
        "step",
        "timestamp",
        "value",
      ]);
      const sampled = await api.get(
        "metrics/get-history-bulk-interval",
        `run_ids=${runId}&metric_key=loss&max_results=10`,
      );
      assert.deepEqual(
        sampled.body.metrics.map((m: Json) => m.step),
        [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99],
      );
      const range = await api.get(
        "metrics/get-history-bulk-interval",
        `run_ids=${runId}&run_ids=${otherRunId}&metric_key=loss&start_step=15&end_step=18`,
      );
      assert.deepEqual(
        range.body.metrics.map((m: Json) => [m.run_id === runId ? "run" : "other", m.step]),
        [
          ["run", 15],
          ["run", 16],
          ["run", 17],
          ["run", 18],
          ["other", 15],
          ["other", 16],
          ["other", 17],
          ["other", 18],
        ],
      );
      refused(
        await api.get(
          "metrics/get-history-bulk-interval",
          `run_ids=${runId}&metric_key=loss&start_step=3`,
        ),
        /^If either start step or end step are specified, both must be specified\.$/,
      );
      refused(
        await api.get(
          "metrics/get-history-bulk-interval",
          `run_ids=${runId}&metric_key=loss&max_results=2501`,
        ),
        /^max_results must be between 1 and 2500\./,
      );
      refused(await api.get("metrics/get-history-bulk-interval", "metric_key=loss"), /'run_ids'/);
    });
  });
}

describe("an experiment with an s3:// artifact location on an S3 object store", () => {
  let s3: LocalS3Server;
  let folder: string;
  before(async () => {
    s3 = await startLocalS3("compat-bucket");
    folder = await mkdtemp(join(tmpdir(), "gc-compat-"));
  });
  after(async () => {
    await s3.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("keeps the run's artifacts at that location in the bucket", async () => {
    const store = new S3ObjectStore("compat-bucket", "root", s3.settings);
    const database = await openTrackingDatabase(`sqlite://${join(folder, "tracking.db")}`);
    const client = new StoreTrackingClient(database, store);
    const server = await startTrackingServer({ client, host: "127.0.0.1", port: 0 });
    try {
      const api = rest(server.url);
      const created = await api.post("experiments/create", {
        name: "on-s3",
        artifact_location: "s3://compat-bucket/root/experiments/on-s3",
      });
      assert.equal(created.status, 200, created.body.message);
      const run = await api.post("runs/create", { experiment_id: created.body.experiment_id });
      const info = run.body.run.info;
      assert.equal(
        info.artifact_uri,
        `s3://compat-bucket/root/experiments/on-s3/${info.run_id}/artifacts`,
      );
      await client.logArtifactBytes(info.run_id, "model/MLmodel", "flavors: {}\n");
      const stored = await store.get(`experiments/on-s3/${info.run_id}/artifacts/model/MLmodel`);
      assert.equal(Buffer.from(stored).toString(), "flavors: {}\n");
      const listed = await api.get("artifacts/list", `run_id=${info.run_id}&path=model`);
      assert.deepEqual(listed.body.files, [
        { path: "model/MLmodel", is_dir: false, file_size: 12 },
      ]);

      const elsewhere = await api.post("experiments/create", {
        name: "elsewhere",
        artifact_location: "s3://another-bucket/x",
      });
      assert.equal(elsewhere.status, 200, "MLflow takes any s3:// location");
      const other = await api.post("runs/create", { experiment_id: elsewhere.body.experiment_id });
      await assert.rejects(
        client.logArtifactBytes(other.body.run.info.run_id, "a.txt", "a"),
        /is outside this server's object store s3:\/\/compat-bucket\/root/,
      );
      refused(
        await api.post("experiments/create", { name: "bad", artifact_location: "s3://b/x?y=1" }),
      );
    } finally {
      await server.close();
      await client.close();
      await store.close();
    }
  });
});
