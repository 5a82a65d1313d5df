// The endpoints of MLflow's REST API 2.0 under /api/2.0/mlflow/: for each, the HTTP methods
// MLflow's clients use and a handler that reads MLflow's request fields, calls the store and
// answers with MLflow's response fields.
import { joinArtifactPath } from "./artifact-uri.ts";
import type { StoreTrackingClient } from "./client.ts";
import type { DatasetInput, MetricInput, Tag, ViewType } from "./entities.ts";
import { invalidParameter } from "./errors.ts";
import { metricHistoryBulkInterval } from "./metric-sampling.ts";
import {
  doubleFromJson,
  experimentToJson,
  fileInfoToJson,
  type JsonObject,
  metricToJson,
  modelVersionToJson,
  registeredModelToJson,
  runInfoToJson,
  runToJson,
} from "./mlflow-json.ts";
import { checkRunStatus } from "./validation.ts";

/** A request's fields: the query string merged with the JSON body, read with MLflow's types. */
export class RequestFields {
  constructor(private readonly values: Record<string, unknown>) {}

  has(name: string): boolean {
    const value = this.values[name];
    return value !== undefined && value !== null;
  }

  /** A string field: MLflow refuses any other JSON type for it. */
  string(name: string): string | undefined {
    const value = this.values[name];
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value) && value.length === 1 && typeof value[0] === "string") return value[0];
    if (typeof value === "string") return value;
    throw wrongType(name, value);
  }

  /** An id field (experiment_id, run_id): a string, or a whole number as MLflow's clients may send. */
  id(name: string): string | undefined {
    const value = this.values[name];
    if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
    return this.string(name);
  }

  requiredString(name: string): string {
    const value = this.string(name);
    if (value === undefined || value === "") throw missing(name);
    return value;
  }

  requiredId(name: string): string {
    const value = this.id(name);
    if (value === undefined || value === "") throw missing(name);
    return value;
  }

  /** The run id, from `run_id` or the deprecated `run_uuid`. */
  runId(): string {
    const value = this.id("run_id") || this.id("run_uuid");
    if (!value) throw missing("run_id");
    return value;
  }

  int(name: string): number | undefined {
    const value = this.values[name];
    if (value === undefined || value === null || value === "") return undefined;
    const number =
      typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    if (typeof number !== "number" || !Number.isSafeInteger(number))
      throw invalidParameter(
        `Invalid value ${JSON.stringify(value)} for parameter '${name}': expected a whole number`,
      );
    return number;
  }

  bool(name: string): boolean | undefined {
    const value = this.values[name];
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value === "boolean") return value;
    if (value === "true" || value === "false") return value === "true";
    throw wrongType(name, value);
  }

  double(name: string): number {
    const value = this.values[name];
    if (value === undefined || value === null) throw missing(name);
    const number = parseDouble(value);
    if (number === undefined)
      throw invalidParameter(
        `Invalid value ${JSON.stringify(value)} for parameter '${name}': expected a number`,
      );
    return number;
  }

  strings(name: string): string[] {
    return this.list(name).map((item) => {
      if (typeof item !== "string") throw wrongType(name, this.values[name]);
      return item;
    });
  }

  /** A list of ids: strings, or whole numbers (`experiment_ids: [0]`). */
  ids(name: string): string[] {
    return this.list(name).map((item) => {
      if (typeof item === "number" && Number.isSafeInteger(item)) return String(item);
      if (typeof item !== "string") throw wrongType(name, this.values[name]);
      return item;
    });
  }

  private list(name: string): unknown[] {
    const value = this.values[name];
    if (value === undefined || value === null) return [];
    return Array.isArray(value) ? value : [value];
  }

  /** A list of objects that must be present (MLflow's `_assert_required`). */
  requiredObjects(name: string): Record<string, unknown>[] {
    if (!this.has(name)) throw missing(name);
    return this.objects(name);
  }

  objects(name: string): Record<string, unknown>[] {
    const value = this.values[name];
    if (value === undefined || value === null) return [];
    if (
      !Array.isArray(value) ||
      value.some((v) => v === null || typeof v !== "object" || Array.isArray(v))
    )
      throw invalidParameter(`Invalid value for parameter '${name}': expected a list of objects`);
    return value as Record<string, unknown>[];
  }

  tags(name = "tags"): Tag[] {
    return this.objects(name).map((item) => {
      const fields = new RequestFields(item);
      return { key: fields.requiredString("key"), value: fields.string("value") ?? "" };
    });
  }

  viewType(name: string): ViewType | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    if (value === "1") return "ACTIVE_ONLY";
    if (value === "2") return "DELETED_ONLY";
    if (value === "3") return "ALL";
    if (value !== "ACTIVE_ONLY" && value !== "DELETED_ONLY" && value !== "ALL")
      throw invalidParameter(
        `Invalid value ${JSON.stringify(value)} for parameter '${name}': expected ACTIVE_ONLY, DELETED_ONLY or ALL`,
      );
    return value;
  }
}

const API_DOCS_HINT = "See the API docs for more information about request parameters.";

function missing(name: string) {
  return invalidParameter(`Missing value for required parameter '${name}'. ${API_DOCS_HINT}`);
}

/** MLflow's answer to a field of the wrong JSON type, naming the type as Python does. */
function wrongType(name: string, value: unknown) {
  const [shown, type] =
    typeof value === "number"
      ? [String(value), Number.isInteger(value) ? "int" : "float"]
      : typeof value === "boolean"
        ? [value ? "True" : "False", "bool"]
        : typeof value === "string"
          ? [value, "str"]
          : [JSON.stringify(value), Array.isArray(value) ? "list" : "dict"];
  return invalidParameter(
    `Invalid value ${shown} for parameter '${name}' supplied. Hint: Value was of type '${type}'. ${API_DOCS_HINT}`,
  );
}

function parseDouble(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value !== "string") return undefined;
  if (value === "NaN" || value === "Infinity" || value === "-Infinity")
    return doubleFromJson(value);
  const trimmed = value.trim();
  if (trimmed === "" || !Number.isFinite(Number(trimmed))) return undefined;
  return Number(trimmed);
}

function metricInput(item: Record<string, unknown>): MetricInput {
  const fields = new RequestFields(item);
  return {
    key: fields.requiredString("key"),
    value: fields.double("value"),
    timestamp: fields.int("timestamp"),
    step: fields.int("step"),
  };
}

function datasetInput(item: Record<string, unknown>): DatasetInput {
  const fields = new RequestFields(item);
  const dataset = item.dataset;
  if (dataset === null || typeof dataset !== "object" || Array.isArray(dataset))
    throw missing("datasets.dataset");
  const d = new RequestFields(dataset as Record<string, unknown>);
  return {
    dataset: {
      name: d.requiredString("name"),
      digest: d.requiredString("digest"),
      sourceType: d.requiredString("source_type"),
      source: d.requiredString("source"),
      schema: d.string("schema"),
      profile: d.string("profile"),
    },
    tags: fields.tags(),
  };
}

export type Handler = (fields: RequestFields) => Promise<JsonObject>;

const READ = ["GET", "POST"];
const WRITE = ["POST"];

/** The handlers by path after /api/2.0/mlflow/, then by HTTP method. */
export function mlflowEndpoints(client: StoreTrackingClient): Map<string, Map<string, Handler>> {
  const { tracking, registry, artifacts } = client;
  const endpoints: [string, string[], Handler][] = [
    // experiments
    [
      "experiments/create",
      WRITE,
      async (f) => ({
        experiment_id: await tracking.createExperiment(f.requiredString("name"), {
          artifactLocation: f.string("artifact_location") || undefined,
          tags: f.tags(),
        }),
      }),
    ],
    [
      "experiments/get",
      READ,
      async (f) => ({
        experiment: experimentToJson(await tracking.getExperiment(f.requiredId("experiment_id"))),
      }),
    ],
    [
      "experiments/get-by-name",
      READ,
      async (f) => ({
        experiment: experimentToJson(
          await tracking.getExperimentByName(f.requiredString("experiment_name")),
        ),
      }),
    ],
    [
      "experiments/search",
      READ,
      async (f) => {
        const page = await tracking.searchExperiments({
          filter: f.string("filter"),
          orderBy: f.strings("order_by"),
          maxResults: f.int("max_results"),
          pageToken: f.string("page_token"),
          viewType: f.viewType("view_type"),
        });
        return withToken({ experiments: page.items.map(experimentToJson) }, page.nextPageToken);
      },
    ],
    [
      "experiments/update",
      WRITE,
      async (f) => {
        await tracking.renameExperiment(
          f.requiredId("experiment_id"),
          f.requiredString("new_name"),
        );
        return {};
      },
    ],
    [
      "experiments/delete",
      WRITE,
      async (f) => done(tracking.deleteExperiment(f.requiredId("experiment_id"))),
    ],
    [
      "experiments/restore",
      WRITE,
      async (f) => done(tracking.restoreExperiment(f.requiredId("experiment_id"))),
    ],
    [
      "experiments/set-experiment-tag",
      WRITE,
      async (f) =>
        done(
          tracking.setExperimentTag(
            f.requiredId("experiment_id"),
            f.requiredString("key"),
            f.string("value") ?? "",
          ),
        ),
    ],
    // runs
    [
      "runs/create",
      WRITE,
      async (f) => ({
        run: runToJson(
          await tracking.createRun({
            experimentId: f.id("experiment_id") || "0",
            userId: f.string("user_id") ?? "",
            runName: f.string("run_name") || undefined,
            startTime: f.int("start_time"),
            tags: f.tags(),
          }),
        ),
      }),
    ],
    ["runs/get", READ, async (f) => ({ run: runToJson(await tracking.getRun(f.runId())) })],
    [
      "runs/update",
      WRITE,
      async (f) => {
        const status = f.string("status");
        const info = await tracking.updateRun(f.runId(), {
          status: status === undefined ? undefined : checkRunStatus(status),
          endTime: f.int("end_time"),
          runName: f.string("run_name") || undefined,
        });
        return { run_info: runInfoToJson(info) };
      },
    ],
    ["runs/delete", WRITE, async (f) => done(tracking.deleteRun(f.runId()))],
    ["runs/restore", WRITE, async (f) => done(tracking.restoreRun(f.runId()))],
    [
      "runs/search",
      READ,
      async (f) => {
        const page = await tracking.searchRuns({
          experimentIds: f.ids("experiment_ids"),
          filter: f.string("filter"),
          viewType: f.viewType("run_view_type"),
          maxResults: f.int("max_results"),
          orderBy: f.strings("order_by"),
          pageToken: f.string("page_token"),
        });
        return withToken({ runs: page.items.map(runToJson) }, page.nextPageToken);
      },
    ],
    [
      "runs/log-metric",
      WRITE,
      async (f) =>
        done(
          tracking.logBatch(f.runId(), {
            metrics: [
              {
                key: f.requiredString("key"),
                value: f.double("value"),
                timestamp: f.int("timestamp"),
                step: f.int("step"),
              },
            ],
          }),
        ),
    ],
    [
      "runs/log-parameter",
      WRITE,
      async (f) =>
        done(tracking.logParam(f.runId(), f.requiredString("key"), f.string("value") ?? "")),
    ],
    [
      "runs/log-batch",
      WRITE,
      async (f) =>
        done(
          tracking.logBatch(f.runId(), {
            metrics: f.objects("metrics").map(metricInput),
            params: f.tags("params"),
            tags: f.tags("tags"),
          }),
        ),
    ],
    [
      "runs/log-inputs",
      WRITE,
      async (f) =>
        done(tracking.logInputs(f.runId(), f.requiredObjects("datasets").map(datasetInput))),
    ],
    [
      "runs/set-tag",
      WRITE,
      async (f) =>
        done(tracking.setTag(f.runId(), f.requiredString("key"), f.string("value") ?? "")),
    ],
    [
      "runs/delete-tag",
      WRITE,
      async (f) => done(tracking.deleteTag(f.runId(), f.requiredString("key"))),
    ],
    [
      "runs/log-model",
      WRITE,
      async (f) => done(tracking.logModel(f.runId(), f.requiredString("model_json"))),
    ],
    [
      "metrics/get-history",
      READ,
      async (f) => {
        const page = await tracking.getMetricHistory(f.runId(), f.requiredString("metric_key"), {
          maxResults: f.int("max_results"),
          pageToken: f.string("page_token"),
        });
        return withToken({ metrics: page.items.map(metricToJson) }, page.nextPageToken);
      },
    ],
    [
      "metrics/get-history-bulk-interval",
      ["GET"],
      async (f) => {
        const runIds = f.ids("run_ids");
        if (runIds.length === 0) throw missing("run_ids");
        const metrics = await metricHistoryBulkInterval(tracking, {
          runIds,
          metricKey: f.requiredString("metric_key"),
          startStep: f.int("start_step"),
          endStep: f.int("end_step"),
          maxResults: f.int("max_results"),
        });
        return { metrics: metrics.map((m) => ({ ...metricToJson(m), run_id: m.runId })) };
      },
    ],
    [
      "artifacts/list",
      READ,
      async (f) => {
        const info = await tracking.getRunInfo(f.runId());
        const path = f.string("path") ?? "";
        const entries = await artifacts.list(artifacts.locate(info.artifactUri, path));
        return {
          root_uri: info.artifactUri,
          files: entries.map((e) =>
            fileInfoToJson({
              path: joinArtifactPath(path.replace(/\/+$/, ""), e.name),
              isDir: e.isDir,
              fileSize: e.size,
            }),
          ),
        };
      },
    ],
    // registered models
    [
      "registered-models/create",
      WRITE,
      async (f) => ({
        registered_model: registeredModelToJson(
          await registry.createRegisteredModel(f.requiredString("name"), {
            description: f.string("description"),
            tags: f.tags(),
          }),
        ),
      }),
    ],
    [
      "registered-models/get",
      READ,
      async (f) => ({
        registered_model: registeredModelToJson(
          await registry.getRegisteredModel(f.requiredString("name")),
        ),
      }),
    ],
    [
      "registered-models/search",
      READ,
      async (f) => {
        const page = await registry.searchRegisteredModels({
          filter: f.string("filter"),
          orderBy: f.strings("order_by"),
          maxResults: f.int("max_results"),
          pageToken: f.string("page_token"),
        });
        return withToken(
          { registered_models: page.items.map(registeredModelToJson) },
          page.nextPageToken,
        );
      },
    ],
    [
      "registered-models/update",
      ["PATCH", "POST"],
      async (f) => ({
        registered_model: registeredModelToJson(
          await registry.updateRegisteredModel(f.requiredString("name"), f.string("description")),
        ),
      }),
    ],
    [
      "registered-models/rename",
      WRITE,
      async (f) => ({
        registered_model: registeredModelToJson(
          await registry.renameRegisteredModel(
            f.requiredString("name"),
            f.requiredString("new_name"),
          ),
        ),
      }),
    ],
    [
      "registered-models/delete",
      ["DELETE", "POST"],
      async (f) => done(registry.deleteRegisteredModel(f.requiredString("name"))),
    ],
    [
      "registered-models/set-tag",
      WRITE,
      async (f) =>
        done(
          registry.setRegisteredModelTag(
            f.requiredString("name"),
            f.requiredString("key"),
            f.string("value") ?? "",
          ),
        ),
    ],
    [
      "registered-models/delete-tag",
      ["DELETE", "POST"],
      async (f) =>
        done(registry.deleteRegisteredModelTag(f.requiredString("name"), f.requiredString("key"))),
    ],
    [
      "registered-models/get-latest-versions",
      READ,
      async (f) => ({
        model_versions: (
          await registry.getLatestVersions(f.requiredString("name"), f.strings("stages"))
        ).map(modelVersionToJson),
      }),
    ],
    // model versions
    [
      "model-versions/create",
      WRITE,
      async (f) => ({
        model_version: modelVersionToJson(
          await registry.createModelVersion({
            name: f.requiredString("name"),
            source: f.requiredString("source"),
            runId: f.id("run_id") || undefined,
            runLink: f.string("run_link"),
            description: f.string("description"),
            tags: f.tags(),
          }),
        ),
      }),
    ],
    [
      "model-versions/get",
      READ,
      async (f) => ({
        model_version: modelVersionToJson(
          await registry.getModelVersion(f.requiredString("name"), f.requiredString("version")),
        ),
      }),
    ],
    [
      "model-versions/search",
      READ,
      async (f) => {
        const page = await registry.searchModelVersions({
          filter: f.string("filter"),
          orderBy: f.strings("order_by"),
          maxResults: f.int("max_results"),
          pageToken: f.string("page_token"),
        });
        return withToken(
          { model_versions: page.items.map(modelVersionToJson) },
          page.nextPageToken,
        );
      },
    ],
    [
      "model-versions/update",
      ["PATCH", "POST"],
      async (f) => ({
        model_version: modelVersionToJson(
          await registry.updateModelVersion(
            f.requiredString("name"),
            f.requiredString("version"),
            f.string("description"),
          ),
        ),
      }),
    ],
    [
      "model-versions/delete",
      ["DELETE", "POST"],
      async (f) =>
        done(registry.deleteModelVersion(f.requiredString("name"), f.requiredString("version"))),
    ],
    [
      "model-versions/set-tag",
      WRITE,
      async (f) =>
        done(
          registry.setModelVersionTag(
            f.requiredString("name"),
            f.requiredString("version"),
            f.requiredString("key"),
            f.string("value") ?? "",
          ),
        ),
    ],
    [
      "model-versions/delete-tag",
      ["DELETE", "POST"],
      async (f) =>
        done(
          registry.deleteModelVersionTag(
            f.requiredString("name"),
            f.requiredString("version"),
            f.requiredString("key"),
          ),
        ),
    ],
    [
      "model-versions/transition-stage",
      WRITE,
      async (f) => ({
        model_version: modelVersionToJson(
          await registry.transitionModelVersionStage(
            f.requiredString("name"),
            f.requiredString("version"),
            f.requiredString("stage"),
            f.bool("archive_existing_versions") ?? false,
          ),
        ),
      }),
    ],
    [
      "model-versions/get-download-uri",
      READ,
      async (f) => ({
        artifact_uri: await registry.getModelVersionDownloadUri(
          f.requiredString("name"),
          f.requiredString("version"),
        ),
      }),
    ],
    // aliases: one path, the method says what to do
    [
      "registered-models/alias",
      ["POST"],
      async (f) =>
        done(
          registry.setAlias(
            f.requiredString("name"),
            f.requiredString("alias"),
            f.requiredString("version"),
          ),
        ),
    ],
    [
      "registered-models/alias",
      ["DELETE"],
      async (f) => done(registry.deleteAlias(f.requiredString("name"), f.requiredString("alias"))),
    ],
    [
      "registered-models/alias",
      ["GET"],
      async (f) => ({
        model_version: modelVersionToJson(
          await registry.getModelVersionByAlias(
            f.requiredString("name"),
            f.requiredString("alias"),
          ),
        ),
      }),
    ],
  ];
  const table = new Map<string, Map<string, Handler>>();
  for (const [path, methods, handle] of endpoints) {
    const byMethod = table.get(path) ?? new Map<string, Handler>();
    for (const method of methods) byMethod.set(method, handle);
    table.set(path, byMethod);
  }
  return table;
}

async function done(work: Promise<unknown>): Promise<JsonObject> {
  await work;
  return {};
}

function withToken(json: JsonObject, token: string | undefined): JsonObject {
  if (token !== undefined) json.next_page_token = token;
  return json;
}
