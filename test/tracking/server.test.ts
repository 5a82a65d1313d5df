// The tracking server driven over HTTP with the request bodies MLflow's Python client sends for
// a typical session, each answer checked field by field against MLflow's REST API shapes; then
// its error codes and statuses, the bearer token, and artifact paths that try to escape.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { after, before, describe, it } from "node:test";
import { InputError } from "../../src/common/errors.ts";
import { silentLogger } from "../../src/common/logger.ts";
import { startTrackingServer } from "../../src/server/tracking-server.ts";
import { type ApiRequest, trackingApi } from "../../src/tracking/api-router.ts";
import {
  backends,
  openFixture,
  type ServerFixture,
  startServerFixture,
  type TrackingFixture,
} from "./backends.ts";

// biome-ignore lint/suspicious/noExplicitAny: answers are JSON, checked field by field below
type JsonBody = Record<string, any>;
type JsonAnswer = { status: number; body: JsonBody };

function api(fixture: { url: string }, token?: string) {
  const headers = (extra: Record<string, string> = {}) => ({
    ...extra,
    ...(token ? { Authorization: `Bearer ${token}` } : {}),
  });
  return {
    async get(endpoint: string, query: Record<string, string | string[]>): Promise<JsonAnswer> {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query))
        for (const item of [v].flat()) params.append(k, item);
      const response = await fetch(`${fixture.url}/api/2.0/mlflow/${endpoint}?${params}`, {
        headers: headers(),
      });
      return { status: response.status, body: (await response.json()) as JsonBody };
    },
    async send(method: string, endpoint: string, body: unknown): Promise<JsonAnswer> {
      const response = await fetch(`${fixture.url}/api/2.0/mlflow/${endpoint}`, {
        method,
        headers: headers({ "Content-Type": "application/json" }),
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as JsonBody };
    },
  };
}

/** A raw request, so that paths such as `a/../b` reach the server as written. */
function rawRequest(url: string, method: string, path: string, body?: string): Promise<JsonAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, method, path }, (res) => {
      let text = "";
      res.on("data", (c) => {
        text += c;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

function keys(value: object): string[] {
  return Object.keys(value).sort();
}

const RUN_INFO_FIELDS = [
  "artifact_uri",
  "experiment_id",
  "lifecycle_stage",
  "run_id",
  "run_name",
  "run_uuid",
  "start_time",
  "status",
  "user_id",
];
const MODEL_VERSION_FIELDS = [
  "aliases",
  "creation_timestamp",
  "current_stage",
  "description",
  "last_updated_timestamp",
  "name",
  "run_id",
  "run_link",
  "source",
  "status",
  "status_message",
  "tags",
  "user_id",
  "version",
];

for (const backend of backends) {
  describe(`tracking server on ${backend.name}`, { skip: backend.skip }, () => {
    let fixture: ServerFixture;
    let client: ReturnType<typeof api>;
    before(async () => {
      fixture = await startServerFixture(backend);
      client = api(fixture);
    });
    after(() => fixture?.close());

    it("answers a typical MLflow Python client session with MLflow's shapes", async () => {
      const start = Date.now();
      // mlflow.set_experiment("genre-classifier")
      const missing = await client.get("experiments/get-by-name", {
        experiment_name: "genre-classifier",
      });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error_code, "RESOURCE_DOES_NOT_EXIST");
      assert.equal(typeof missing.body.message, "string");
      const created = await client.send("POST", "experiments/create", { name: "genre-classifier" });
      assert.equal(created.status, 200);
      assert.deepEqual(keys(created.body), ["experiment_id"]);
      const experimentId = created.body.experiment_id as string;
      assert.match(experimentId, /^[1-9]\d*$/);
      const experiment = (
        await client.get("experiments/get-by-name", { experiment_name: "genre-classifier" })
      ).body.experiment;
      assert.deepEqual(keys(experiment), [
        "artifact_location",
        "creation_time",
        "experiment_id",
        "last_update_time",
        "lifecycle_stage",
        "name",
        "tags",
      ]);
      assert.equal(experiment.experiment_id, experimentId);
      assert.equal(experiment.name, "genre-classifier");
      assert.equal(experiment.artifact_location, `mlflow-artifacts:/${experimentId}`);
      assert.equal(experiment.lifecycle_stage, "active");
      assert.ok(experiment.creation_time >= start && experiment.last_update_time >= start);

      // mlflow.start_run(run_name="forest-100")
      const runCreated = await client.send("POST", "runs/create", {
        experiment_id: experimentId,
        user_id: "alice",
        start_time: start,
        tags: [
          { key: "mlflow.user", value: "alice" },
          { key: "mlflow.source.name", value: "train.py" },
          { key: "mlflow.source.type", value: "LOCAL" },
          { key: "mlflow.runName", value: "forest-100" },
        ],
        run_name: "forest-100",
      });
      assert.equal(runCreated.status, 200);
      const run = runCreated.body.run;
      assert.deepEqual(keys(run), ["data", "info", "inputs"]);
      assert.deepEqual(keys(run.info), RUN_INFO_FIELDS);
      const runId = run.info.run_id as string;
      assert.match(runId, /^[0-9a-f]{32}$/);
      assert.equal(run.info.run_uuid, runId);
      assert.equal(run.info.run_name, "forest-100");
      assert.equal(run.info.experiment_id, experimentId);
      assert.equal(run.info.user_id, "alice");
      assert.equal(run.info.status, "RUNNING");
      assert.equal(run.info.start_time, start);
      assert.equal(run.info.artifact_uri, `mlflow-artifacts:/${experimentId}/${runId}/artifacts`);
      assert.equal(run.info.lifecycle_stage, "active");
      assert.deepEqual(run.data, {
        metrics: [],
        params: [],
        tags: [
          { key: "mlflow.runName", value: "forest-100" },
          { key: "mlflow.source.name", value: "train.py" },
          { key: "mlflow.source.type", value: "LOCAL" },
          { key: "mlflow.user", value: "alice" },
        ],
      });
      assert.deepEqual(run.inputs, { dataset_inputs: [] });

      // mlflow.log_params(...); mlflow.log_metrics(...) per epoch
      const batch = await client.send("POST", "runs/log-batch", {
        run_id: runId,
        metrics: [
          { key: "f1_micro", value: 0.61, timestamp: start + 1, step: 0 },
          { key: "f1_micro", value: 0.72, timestamp: start + 2, step: 1 },
          { key: "loss", value: "NaN", timestamp: start + 2, step: 1 },
        ],
        params: [
          { key: "trees", value: "100" },
          { key: "max_depth", value: "12" },
        ],
        tags: [{ key: "model", value: "forest" }],
      });
      assert.deepEqual(batch, { status: 200, body: {} });

      // mlflow.log_input(dataset, context="training")
      const inputs = await client.send("POST", "runs/log-inputs", {
        run_id: runId,
        datasets: [
          {
            tags: [{ key: "mlflow.data.context", value: "training" }],
            dataset: {
              name: "features",
              digest: "4f9a1c2b",
              source_type: "local",
              source: '{"uri": "datasets/train.parquet"}',
              schema: '{"mlflow_colspec": [{"type": "double", "name": "tempo"}]}',
              profile: '{"num_rows": 1600}',
            },
          },
        ],
      });
      assert.deepEqual(inputs, { status: 200, body: {} });

      // mlflow.log_artifact("model.json", "model"): PUT through the artifact proxy
      const artifactPath = `${experimentId}/${runId}/artifacts/model/model.json`;
      const upload = await fetch(
        `${fixture.url}/api/2.0/mlflow-artifacts/artifacts/${artifactPath}`,
        {
          method: "PUT",
          body: '{"trees": 100}',
        },
      );
      assert.equal(upload.status, 200);
      assert.deepEqual(await upload.json(), {});
      const listed = await client.get("artifacts/list", { run_id: runId, path: "model" });
      assert.deepEqual(listed.body, {
        root_uri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts`,
        files: [{ path: "model/model.json", is_dir: false, file_size: 14 }],
      });
      const proxyListing = await fetch(
        `${fixture.url}/api/2.0/mlflow-artifacts/artifacts?path=${experimentId}/${runId}/artifacts`,
      );
      assert.deepEqual(await proxyListing.json(), { files: [{ path: "model", is_dir: true }] });
      const download = await fetch(
        `${fixture.url}/api/2.0/mlflow-artifacts/artifacts/${artifactPath}`,
      );
      assert.equal(await download.text(), '{"trees": 100}');

      // mlflow.<flavor>.log_model(...) records the model's metadata
      const modelJson = JSON.stringify({
        artifact_path: "model",
        run_id: runId,
        utc_time_created: "2026-01-01 00:00:00.000000",
        flavors: { python_function: { loader_module: "genre_forest" } },
      });
      const logged = await client.send("POST", "runs/log-model", {
        run_id: runId,
        model_json: modelJson,
      });
      assert.deepEqual(logged, { status: 200, body: {} });

      // mlflow.end_run()
      const end = start + 5000;
      const updated = await client.send("POST", "runs/update", {
        run_id: runId,
        run_uuid: runId,
        status: "FINISHED",
        end_time: end,
      });
      assert.equal(updated.status, 200);
      assert.deepEqual(keys(updated.body), ["run_info"]);
      assert.deepEqual(keys(updated.body.run_info), [...RUN_INFO_FIELDS, "end_time"].sort());
      assert.equal(updated.body.run_info.status, "FINISHED");
      assert.equal(updated.body.run_info.end_time, end);

      const fetched = (await client.get("runs/get", { run_id: runId })).body.run;
      assert.deepEqual(fetched.data.metrics, [
        { key: "f1_micro", value: 0.72, timestamp: start + 2, step: 1 },
        { key: "loss", value: "NaN", timestamp: start + 2, step: 1 },
      ]);
      const history = fetched.data.tags.find(
        (t: { key: string }) => t.key === "mlflow.log-model.history",
      );
      assert.deepEqual(JSON.parse(history.value), [JSON.parse(modelJson)]);
      assert.deepEqual(fetched.data.params, [
        { key: "max_depth", value: "12" },
        { key: "trees", value: "100" },
      ]);
      assert.deepEqual(fetched.inputs.dataset_inputs, [
        {
          tags: [{ key: "mlflow.data.context", value: "training" }],
          dataset: {
            name: "features",
            digest: "4f9a1c2b",
            source_type: "local",
            source: '{"uri": "datasets/train.parquet"}',
            schema: '{"mlflow_colspec": [{"type": "double", "name": "tempo"}]}',
            profile: '{"num_rows": 1600}',
          },
        },
      ]);
      const f1History = await client.get("metrics/get-history", {
        run_id: runId,
        metric_key: "f1_micro",
      });
      assert.deepEqual(f1History.body, {
        metrics: [
          { key: "f1_micro", value: 0.61, timestamp: start + 1, step: 0 },
          { key: "f1_micro", value: 0.72, timestamp: start + 2, step: 1 },
        ],
      });

      // mlflow.register_model(f"runs:/{run_id}/model", "genre-forest")
      const model = await client.send("POST", "registered-models/create", { name: "genre-forest" });
      assert.equal(model.status, 200);
      assert.deepEqual(keys(model.body.registered_model), [
        "aliases",
        "creation_timestamp",
        "description",
        "last_updated_timestamp",
        "latest_versions",
        "name",
        "tags",
      ]);
      assert.equal(model.body.registered_model.name, "genre-forest");
      const version = await client.send("POST", "model-versions/create", {
        name: "genre-forest",
        source: `runs:/${runId}/model`,
        run_id: runId,
      });
      assert.equal(version.status, 200);
      const mv = version.body.model_version;
      assert.deepEqual(keys(mv), MODEL_VERSION_FIELDS);
      assert.equal(mv.name, "genre-forest");
      assert.equal(mv.version, "1");
      assert.equal(mv.source, `runs:/${runId}/model`);
      assert.equal(mv.run_id, runId);
      assert.equal(mv.status, "READY");
      assert.equal(mv.current_stage, "None");
      assert.deepEqual(mv.aliases, []);
      const polled = await client.get("model-versions/get", { name: "genre-forest", version: "1" });
      assert.equal(polled.body.model_version.status, "READY");

      // client.set_registered_model_alias("genre-forest", "champion", "1")
      const alias = await client.send("POST", "registered-models/alias", {
        name: "genre-forest",
        alias: "champion",
        version: "1",
      });
      assert.deepEqual(alias, { status: 200, body: {} });
      // client.get_model_version_by_alias("genre-forest", "champion")
      const byAlias = await client.get("registered-models/alias", {
        name: "genre-forest",
        alias: "champion",
      });
      assert.equal(byAlias.status, 200);
      assert.deepEqual(keys(byAlias.body.model_version), MODEL_VERSION_FIELDS);
      assert.equal(byAlias.body.model_version.version, "1");
      assert.deepEqual(byAlias.body.model_version.aliases, ["champion"]);
      const registered = (await client.get("registered-models/get", { name: "genre-forest" })).body
        .registered_model;
      assert.deepEqual(registered.aliases, [{ alias: "champion", version: "1" }]);
      assert.deepEqual(
        registered.latest_versions.map((v: { version: string }) => v.version),
        ["1"],
      );
      const downloadUri = await client.get("model-versions/get-download-uri", {
        name: "genre-forest",
        version: "1",
      });
      assert.deepEqual(downloadUri.body, {
        artifact_uri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts/model`,
      });

      // mlflow.search_runs(filter_string=...)
      const other = await client.send("POST", "runs/create", {
        experiment_id: experimentId,
        start_time: start + 10,
        run_name: "forest-10",
      });
      await client.send("POST", "runs/log-batch", {
        run_id: other.body.run.info.run_id,
        metrics: [{ key: "f1_micro", value: 0.4, timestamp: start + 11, step: 0 }],
        params: [{ key: "trees", value: "10" }],
      });
      const search = await client.send("POST", "runs/search", {
        experiment_ids: [experimentId],
        filter:
          "metrics.f1_micro > 0.5 and params.trees = '100' and attributes.status = 'FINISHED'",
        run_view_type: "ACTIVE_ONLY",
        max_results: 1000,
        order_by: ["metrics.f1_micro DESC"],
      });
      assert.equal(search.status, 200);
      assert.deepEqual(keys(search.body), ["runs"]);
      assert.deepEqual(
        search.body.runs.map((r: { info: { run_id: string } }) => r.info.run_id),
        [runId],
      );
      assert.deepEqual(search.body.runs[0], fetched);
      const ordered = await client.send("POST", "runs/search", {
        experiment_ids: [experimentId],
        order_by: ["metrics.f1_micro ASC"],
        max_results: 1,
      });
      assert.equal(ordered.body.runs[0].info.run_name, "forest-10");
      assert.equal(typeof ordered.body.next_page_token, "string");
      const second = await client.send("POST", "runs/search", {
        experiment_ids: [experimentId],
        order_by: ["metrics.f1_micro ASC"],
        max_results: 1,
        page_token: ordered.body.next_page_token,
      });
      assert.equal(second.body.runs[0].info.run_id, runId);
      assert.equal(second.body.next_page_token, undefined);
    });

    it("answers bad input with MLflow's error codes and statuses", async () => {
      const experimentId = (await client.send("POST", "experiments/create", { name: "errors" }))
        .body.experiment_id;
      const duplicate = await client.send("POST", "experiments/create", { name: "errors" });
      assert.equal(duplicate.status, 400);
      assert.equal(duplicate.body.error_code, "RESOURCE_ALREADY_EXISTS");
      assert.match(duplicate.body.message, /errors.*already exists/);

      const unknownRun = await client.get("runs/get", {
        run_id: "0123456789abcdef0123456789abcdef",
      });
      assert.equal(unknownRun.status, 404);
      assert.equal(unknownRun.body.error_code, "RESOURCE_DOES_NOT_EXIST");
      const unknownExperiment = await client.get("experiments/get", { experiment_id: "987654" });
      assert.deepEqual(
        [unknownExperiment.status, unknownExperiment.body.error_code],
        [404, "RESOURCE_DOES_NOT_EXIST"],
      );
      const runInUnknown = await client.send("POST", "runs/create", { experiment_id: "987654" });
      assert.deepEqual(
        [runInUnknown.status, runInUnknown.body.error_code],
        [404, "RESOURCE_DOES_NOT_EXIST"],
      );

      const runId = (await client.send("POST", "runs/create", { experiment_id: experimentId })).body
        .run.info.run_id;
      await client.send("POST", "runs/log-parameter", {
        run_id: runId,
        key: "trees",
        value: "100",
      });
      const same = await client.send("POST", "runs/log-parameter", {
        run_id: runId,
        key: "trees",
        value: "100",
      });
      assert.deepEqual(same, { status: 200, body: {} });
      const changed = await client.send("POST", "runs/log-parameter", {
        run_id: runId,
        key: "trees",
        value: "200",
      });
      assert.equal(changed.status, 400);
      assert.equal(changed.body.error_code, "INVALID_PARAMETER_VALUE");
      assert.match(changed.body.message, /trees.*"100".*"200"/);

      const tooMany = await client.send("POST", "runs/log-batch", {
        run_id: runId,
        metrics: Array.from({ length: 1001 }, (_, i) => ({
          key: "m",
          value: i,
          timestamp: 1,
          step: i,
        })),
      });
      assert.equal(tooMany.status, 400);
      assert.equal(tooMany.body.error_code, "INVALID_PARAMETER_VALUE");
      assert.match(tooMany.body.message, /at most 1000 metrics; got 1001/);
      const tooManyParams = await client.send("POST", "runs/log-batch", {
        run_id: runId,
        params: Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: "x" })),
      });
      assert.match(tooManyParams.body.message, /at most 100 params; got 101/);

      // a batch whose param conflicts writes none of its metrics
      const conflicting = await client.send("POST", "runs/log-batch", {
        run_id: runId,
        metrics: [{ key: "written", value: 1, timestamp: 1, step: 0 }],
        params: [{ key: "trees", value: "300" }],
        tags: [{ key: "written", value: "yes" }],
      });
      assert.equal(conflicting.status, 400);
      const after = (await client.get("runs/get", { run_id: runId })).body.run;
      assert.deepEqual(after.data.metrics, []);
      assert.ok(!after.data.tags.some((t: { key: string }) => t.key === "written"));

      const missingField = await client.send("POST", "runs/log-metric", {
        run_id: runId,
        value: 1,
        timestamp: 1,
      });
      assert.deepEqual(
        [missingField.status, missingField.body.error_code],
        [400, "INVALID_PARAMETER_VALUE"],
      );
      assert.match(missingField.body.message, /'key'/);
      const badKey = await client.send("POST", "runs/log-metric", {
        run_id: runId,
        key: "../x",
        value: 1,
        timestamp: 1,
      });
      assert.deepEqual([badKey.status, badKey.body.error_code], [400, "INVALID_PARAMETER_VALUE"]);
      const badFilter = await client.send("POST", "runs/search", {
        experiment_ids: [experimentId],
        filter: "metrics.f1 > 'high'",
      });
      assert.deepEqual(
        [badFilter.status, badFilter.body.error_code],
        [400, "INVALID_PARAMETER_VALUE"],
      );
      const badJson = await fetch(`${fixture.url}/api/2.0/mlflow/runs/create`, {
        method: "POST",
        body: "{nope",
      });
      assert.equal(badJson.status, 400);
      assert.equal(
        ((await badJson.json()) as { error_code: string }).error_code,
        "INVALID_PARAMETER_VALUE",
      );

      await client.send("POST", "registered-models/create", { name: "dup-model" });
      const dupModel = await client.send("POST", "registered-models/create", { name: "dup-model" });
      assert.deepEqual(
        [dupModel.status, dupModel.body.error_code],
        [400, "RESOURCE_ALREADY_EXISTS"],
      );
      const noVersion = await client.send("POST", "registered-models/alias", {
        name: "dup-model",
        alias: "champion",
        version: "7",
      });
      assert.deepEqual(
        [noVersion.status, noVersion.body.error_code],
        [404, "RESOURCE_DOES_NOT_EXIST"],
      );
      const noAlias = await client.get("registered-models/alias", {
        name: "dup-model",
        alias: "champion",
      });
      assert.deepEqual(
        [noAlias.status, noAlias.body],
        [
          400,
          {
            error_code: "INVALID_PARAMETER_VALUE",
            message: "Registered model alias champion not found.",
          },
        ],
        "MLflow answers an unknown alias with 400",
      );

      const unknownEndpoint = await client.get("runs/frobnicate", {});
      assert.deepEqual(
        [unknownEndpoint.status, unknownEndpoint.body.error_code],
        [404, "ENDPOINT_NOT_FOUND"],
      );
    });

    it("serves the single-value endpoints, GET searches and deletions", async () => {
      const experimentId = (await client.send("POST", "experiments/create", { name: "single" }))
        .body.experiment_id;
      await client.send("POST", "experiments/set-experiment-tag", {
        experiment_id: experimentId,
        key: "team",
        value: "music",
      });
      const renamed = await client.send("POST", "experiments/update", {
        experiment_id: experimentId,
        new_name: "single-renamed",
      });
      assert.deepEqual(renamed, { status: 200, body: {} });
      const experiment = (await client.get("experiments/get", { experiment_id: experimentId })).body
        .experiment;
      assert.equal(experiment.name, "single-renamed");
      assert.deepEqual(experiment.tags, [{ key: "team", value: "music" }]);
      const searched = await client.get("experiments/search", {
        filter: "tags.team = 'music'",
        order_by: ["name ASC", "creation_time DESC"],
        max_results: "10",
      });
      assert.deepEqual(
        searched.body.experiments.map((e: { name: string }) => e.name),
        ["single-renamed"],
      );

      const runId = (await client.send("POST", "runs/create", { experiment_id: experimentId })).body
        .run.info.run_id;
      const metric = await client.send("POST", "runs/log-metric", {
        run_id: runId,
        key: "f1",
        value: 0.5,
        timestamp: 1_700_000_000_000,
        step: 3,
      });
      assert.deepEqual(metric, { status: 200, body: {} });
      await client.send("POST", "runs/set-tag", { run_id: runId, key: "note", value: "x" });
      const deletedTag = await client.send("POST", "runs/delete-tag", {
        run_id: runId,
        key: "note",
      });
      assert.deepEqual(deletedTag, { status: 200, body: {} });
      const gone = await client.send("POST", "runs/delete-tag", { run_id: runId, key: "note" });
      assert.deepEqual([gone.status, gone.body.error_code], [404, "RESOURCE_DOES_NOT_EXIST"]);
      const run = (await client.get("runs/get", { run_uuid: runId })).body.run;
      assert.deepEqual(run.data.metrics, [
        { key: "f1", value: 0.5, timestamp: 1_700_000_000_000, step: 3 },
      ]);
      const byGet = await client.get("runs/search", {
        experiment_ids: [experimentId],
        filter: "metrics.f1 = 0.5",
      });
      assert.deepEqual(
        byGet.body.runs.map((r: { info: { run_id: string } }) => r.info.run_id),
        [runId],
      );
      assert.deepEqual(await client.send("POST", "runs/delete", { run_id: runId }), {
        status: 200,
        body: {},
      });
      const deletedRuns = await client.send("POST", "runs/search", {
        experiment_ids: [experimentId],
        run_view_type: "DELETED_ONLY",
      });
      assert.equal(deletedRuns.body.runs.length, 1);
      await client.send("POST", "runs/restore", { run_id: runId });

      await client.send("POST", "registered-models/create", {
        name: "single-model",
        tags: [{ key: "task", value: "genres" }],
        description: "first",
      });
      const noTag = await client.send("DELETE", "registered-models/delete-tag", {
        name: "single-model",
        key: "task",
      });
      assert.deepEqual(noTag, { status: 200, body: {} });
      const updated = await client.send("PATCH", "registered-models/update", {
        name: "single-model",
        description: "second",
      });
      assert.equal(updated.body.registered_model.description, "second");
      assert.deepEqual(updated.body.registered_model.tags, []);
      await client.send("POST", "model-versions/create", {
        name: "single-model",
        source: `mlflow-artifacts:/${experimentId}/${runId}/artifacts/model`,
        run_id: runId,
      });
      const models = await client.get("registered-models/search", {
        filter: "name LIKE 'single-%'",
        max_results: "5",
      });
      assert.deepEqual(
        models.body.registered_models.map((m: { name: string }) => m.name),
        ["single-model"],
      );
      const versions = await client.get("model-versions/search", { filter: `run_id = '${runId}'` });
      assert.deepEqual(
        versions.body.model_versions.map((v: { version: string }) => v.version),
        ["1"],
      );
      const latest = await client.send("POST", "registered-models/get-latest-versions", {
        name: "single-model",
        stages: ["None"],
      });
      assert.deepEqual(
        latest.body.model_versions.map((v: { version: string }) => v.version),
        ["1"],
      );
      const renamedModel = await client.send("POST", "registered-models/rename", {
        name: "single-model",
        new_name: "single-model-2",
      });
      assert.equal(renamedModel.body.registered_model.name, "single-model-2");
      const deletedVersion = await client.send("DELETE", "model-versions/delete", {
        name: "single-model-2",
        version: "1",
      });
      assert.deepEqual(deletedVersion, { status: 200, body: {} });
      const deletedModel = await client.send("DELETE", "registered-models/delete", {
        name: "single-model-2",
      });
      assert.deepEqual(deletedModel, { status: 200, body: {} });

      const artifact = `${fixture.url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/tmp.txt`;
      await fetch(artifact, { method: "PUT", body: "x" });
      assert.equal((await fetch(artifact, { method: "DELETE" })).status, 200);
      assert.equal((await fetch(artifact)).status, 404);
      const wrongMethod = await client.send("DELETE", "runs/get", { run_id: runId });
      assert.equal(wrongMethod.status, 405);
    });

    it("refuses artifact paths that leave the artifact root, writing nothing", async () => {
      const outside = await mkdtemp(join(tmpdir(), "gc-tracking-outside-"));
      try {
        const folder = join(fixture.storeRoot, "tracking", "escape");
        await mkdir(folder, { recursive: true });
        await symlink(outside, join(folder, "link"));
        const attempts = [
          "/api/2.0/mlflow-artifacts/artifacts/1/run/artifacts/../../../../outside.txt",
          "/api/2.0/mlflow-artifacts/artifacts/1/run/artifacts/%2E%2E/%2E%2E/x.txt",
          "/api/2.0/mlflow-artifacts/artifacts/%2Fetc%2Fpasswd",
          "/api/2.0/mlflow-artifacts/artifacts/1/a%5Cb.txt",
          "/api/2.0/mlflow-artifacts/artifacts/escape/link/x.txt",
          "/api/2.0/mlflow-artifacts/artifacts/escape/link/deeper/x.txt",
        ];
        for (const path of attempts) {
          const answer = await rawRequest(fixture.url, "PUT", path, "payload");
          assert.equal(answer.status, 400, path);
          assert.equal(answer.body.error_code, "INVALID_PARAMETER_VALUE", path);
        }
        const listing = await rawRequest(
          fixture.url,
          "GET",
          "/api/2.0/mlflow-artifacts/artifacts?path=../..",
        );
        assert.equal(listing.status, 400);
        assert.deepEqual(await readdir(outside), []);
        assert.ok(!existsSync(join(fixture.storeRoot, "outside.txt")));
      } finally {
        await rm(outside, { recursive: true, force: true });
      }
    });
  });
}

describe("tracking server with a token", () => {
  let fixture: ServerFixture;
  before(async () => {
    fixture = await startServerFixture(backends[0] as (typeof backends)[0], "s3cret-token");
  });
  after(() => fixture?.close());

  it("requires Authorization: Bearer <token> on every endpoint", async () => {
    const anonymous = await api(fixture).send("POST", "experiments/create", { name: "x" });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error_code, "UNAUTHENTICATED");
    const wrong = await api(fixture, "guess").send("POST", "experiments/create", { name: "x" });
    assert.equal(wrong.status, 401);
    const upload = await fetch(`${fixture.url}/api/2.0/mlflow-artifacts/artifacts/0/x.txt`, {
      method: "PUT",
      body: "x",
    });
    assert.equal(upload.status, 401);
    const right = await api(fixture, "s3cret-token").send("POST", "experiments/create", {
      name: "x",
    });
    assert.equal(right.status, 200);
    assert.equal((await fetch(`${fixture.url}/health`)).status, 200);
  });

  it("refuses a blank token rather than serving unauthenticated", async () => {
    for (const token of ["   ", " s3cret"])
      await assert.rejects(
        startTrackingServer({ client: fixture.client, host: "0.0.0.0", port: 0, token }),
        (error: unknown) => error instanceof InputError && /token is blank/.test(error.message),
      );
  });
});

describe("the MLflow API router without an HTTP server", () => {
  let fixture: TrackingFixture;
  before(async () => {
    fixture = await openFixture(backends[0] as (typeof backends)[0]);
  });
  after(() => fixture?.close());

  it("answers requests handed to it as values, the token checked first", async () => {
    const handle = trackingApi({
      client: fixture.client,
      token: "s3cret-token",
      log: silentLogger,
    });
    const call = (method: string, path: string, body = "", authorization = "Bearer s3cret-token") =>
      handle({
        method,
        path,
        query: new URLSearchParams(),
        headers: authorization ? { authorization } : {},
        body: Readable.from([Buffer.from(body)]),
      } satisfies ApiRequest);
    const create = "/api/2.0/mlflow/experiments/create";
    const artifact = "/api/2.0/mlflow-artifacts/artifacts/0/notes/a%20b.txt";

    assert.deepEqual(await call("GET", "/health", "", ""), {
      status: 200,
      headers: { "Content-Type": "text/plain" },
      body: "OK",
    });
    const refused = await call("POST", create, '{"name":"x"}', "");
    assert.equal(refused.status, 401);
    assert.equal(refused.headers["WWW-Authenticate"], 'Bearer realm="genre-classifier tracking"');

    const created = await call("POST", create, '{"name":"routed"}');
    assert.equal(created.status, 200);
    assert.equal(created.headers["Content-Type"], "application/json");
    const { experiment_id } = JSON.parse(created.body as string);
    assert.equal((await fixture.client.getExperiment(experiment_id)).name, "routed");

    assert.equal((await call("PUT", artifact, "streamed")).status, 200);
    const got = await call("GET", artifact);
    assert.equal(got.status, 200);
    assert.ok(got.body instanceof Readable, "an artifact download is a stream");
    assert.equal(await text(got.body), "streamed");

    const wrongMethod = await call("DELETE", create);
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.Allow, "POST");
    const bad = await call("POST", create, "{");
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.body as string).error_code, "INVALID_PARAMETER_VALUE");
  });
});
