// The tracking client over HTTP: MLflow's REST API 2.0 to a tracking server (this project's
// `tracking serve`, or MLflow's own with artifacts proxied), sending the bearer token when one
// is configured. Server errors come back as the same TrackingErrors the store raises.
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { InputError, OperationError } from "../common/errors.ts";
import { ARTIFACTS_SCHEME, artifactRootPath, joinArtifactPath } from "./artifact-uri.ts";
import type { ArtifactEntry } from "./artifacts.ts";
import { BaseTrackingClient, type StartRunOptions, type TagInput, toTags } from "./client.ts";
import type {
  CreateModelVersionOptions,
  DatasetInput,
  Experiment,
  LogBatch,
  Metric,
  ModelVersion,
  Page,
  RegisteredModel,
  Run,
  RunInfo,
  SearchExperimentsQuery,
  SearchQuery,
  SearchRunsQuery,
  UpdateRunOptions,
} from "./entities.ts";
import {
  missingAliasAsNotFound,
  TrackingError,
  type TrackingErrorCode,
  TrackingServerError,
} from "./errors.ts";
import {
  datasetInputToJson,
  doubleToJson,
  experimentFromJson,
  fileInfoFromJson,
  type Json,
  type JsonObject,
  metricFromJson,
  modelVersionFromJson,
  registeredModelFromJson,
  runFromJson,
  runInfoFromJson,
} from "./mlflow-json.ts";
import { currentUser } from "./store.ts";

const TRACKING_CODES = new Set<string>([
  "INVALID_PARAMETER_VALUE",
  "RESOURCE_DOES_NOT_EXIST",
  "RESOURCE_ALREADY_EXISTS",
]);
type Method = "GET" | "POST" | "PATCH" | "DELETE";

export class HttpTrackingClient extends BaseTrackingClient {
  readonly uri: string;

  constructor(
    baseUrl: string,
    private readonly token?: string | undefined,
  ) {
    super();
    this.uri = baseUrl.replace(/\/+$/, "");
  }

  // ---- experiments

  async createExperiment(
    name: string,
    options: { artifactLocation?: string; tags?: TagInput } = {},
  ): Promise<string> {
    const body: JsonObject = { name, tags: tagsJson(options.tags) };
    if (options.artifactLocation) body.artifact_location = options.artifactLocation;
    return String((await this.call("POST", "experiments/create", body)).experiment_id);
  }
  async getExperiment(experimentId: string): Promise<Experiment> {
    return experimentFromJson(
      (await this.call("GET", "experiments/get", { experiment_id: experimentId })).experiment,
    );
  }
  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    try {
      return experimentFromJson(
        (await this.call("GET", "experiments/get-by-name", { experiment_name: name })).experiment,
      );
    } catch (error) {
      if (error instanceof TrackingError && error.code === "RESOURCE_DOES_NOT_EXIST")
        return undefined;
      throw error;
    }
  }
  async searchExperiments(query: SearchExperimentsQuery = {}): Promise<Page<Experiment>> {
    const answer = await this.call("POST", "experiments/search", {
      ...searchJson(query),
      ...(query.viewType ? { view_type: query.viewType } : {}),
    });
    return page(answer, "experiments", experimentFromJson);
  }
  async renameExperiment(experimentId: string, newName: string): Promise<void> {
    await this.call("POST", "experiments/update", {
      experiment_id: experimentId,
      new_name: newName,
    });
  }
  async deleteExperiment(experimentId: string): Promise<void> {
    await this.call("POST", "experiments/delete", { experiment_id: experimentId });
  }
  async restoreExperiment(experimentId: string): Promise<void> {
    await this.call("POST", "experiments/restore", { experiment_id: experimentId });
  }
  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    await this.call("POST", "experiments/set-experiment-tag", {
      experiment_id: experimentId,
      key,
      value,
    });
  }

  // ---- runs

  async startRun(experimentId: string, options: StartRunOptions = {}): Promise<Run> {
    const body: JsonObject = {
      experiment_id: experimentId,
      user_id: options.userId ?? currentUser(),
      start_time: options.startTime ?? Date.now(),
      tags: tagsJson(options.tags),
    };
    if (options.runName) body.run_name = options.runName;
    return runFromJson((await this.call("POST", "runs/create", body)).run);
  }
  async updateRun(runId: string, update: UpdateRunOptions): Promise<RunInfo> {
    const body: JsonObject = { run_id: runId, run_uuid: runId };
    if (update.status !== undefined) body.status = update.status;
    if (update.endTime !== undefined) body.end_time = update.endTime;
    if (update.runName !== undefined) body.run_name = update.runName;
    return runInfoFromJson((await this.call("POST", "runs/update", body)).run_info);
  }
  async getRun(runId: string): Promise<Run> {
    return runFromJson((await this.call("GET", "runs/get", { run_id: runId })).run);
  }
  async deleteRun(runId: string): Promise<void> {
    await this.call("POST", "runs/delete", { run_id: runId });
  }
  async restoreRun(runId: string): Promise<void> {
    await this.call("POST", "runs/restore", { run_id: runId });
  }
  async searchRuns(query: SearchRunsQuery): Promise<Page<Run>> {
    const answer = await this.call("POST", "runs/search", {
      experiment_ids: query.experimentIds,
      ...searchJson(query),
      ...(query.viewType ? { run_view_type: query.viewType } : {}),
    });
    return page(answer, "runs", runFromJson);
  }
  async logBatch(runId: string, batch: LogBatch): Promise<void> {
    const now = Date.now();
    await this.call("POST", "runs/log-batch", {
      run_id: runId,
      metrics: (batch.metrics ?? []).map((m) => ({
        key: m.key,
        value: doubleToJson(m.value),
        timestamp: m.timestamp ?? now,
        step: m.step ?? 0,
      })),
      params: (batch.params ?? []).map((p) => ({ key: p.key, value: p.value })),
      tags: (batch.tags ?? []).map((t) => ({ key: t.key, value: t.value })),
    });
  }
  async deleteTag(runId: string, key: string): Promise<void> {
    await this.call("POST", "runs/delete-tag", { run_id: runId, key });
  }
  async logInputs(runId: string, inputs: DatasetInput[]): Promise<void> {
    await this.call("POST", "runs/log-inputs", {
      run_id: runId,
      datasets: inputs.map(datasetInputToJson),
    });
  }
  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const metrics: Metric[] = [];
    let pageToken: string | undefined;
    do {
      const query: JsonObject = { run_id: runId, metric_key: key, max_results: 25_000 };
      if (pageToken) query.page_token = pageToken;
      const answer = await this.call("GET", "metrics/get-history", query);
      metrics.push(...list(answer.metrics).map(metricFromJson));
      pageToken =
        typeof answer.next_page_token === "string" && answer.next_page_token
          ? answer.next_page_token
          : undefined;
    } while (pageToken);
    return metrics;
  }

  // ---- registry

  async createRegisteredModel(
    name: string,
    options: { description?: string; tags?: TagInput } = {},
  ): Promise<RegisteredModel> {
    const body: JsonObject = { name, tags: tagsJson(options.tags) };
    if (options.description !== undefined) body.description = options.description;
    return registeredModelFromJson(
      (await this.call("POST", "registered-models/create", body)).registered_model,
    );
  }
  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    return registeredModelFromJson(
      (await this.call("GET", "registered-models/get", { name })).registered_model,
    );
  }
  async searchRegisteredModels(query: SearchQuery = {}): Promise<Page<RegisteredModel>> {
    return page(
      await this.call("GET", "registered-models/search", searchJson(query)),
      "registered_models",
      registeredModelFromJson,
    );
  }
  async updateRegisteredModel(name: string, description: string): Promise<RegisteredModel> {
    return registeredModelFromJson(
      (await this.call("PATCH", "registered-models/update", { name, description }))
        .registered_model,
    );
  }
  async renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    return registeredModelFromJson(
      (await this.call("POST", "registered-models/rename", { name, new_name: newName }))
        .registered_model,
    );
  }
  async deleteRegisteredModel(name: string): Promise<void> {
    await this.call("DELETE", "registered-models/delete", { name });
  }
  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    await this.call("POST", "registered-models/set-tag", { name, key, value });
  }
  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await this.call("DELETE", "registered-models/delete-tag", { name, key });
  }
  async createModelVersion(options: CreateModelVersionOptions): Promise<ModelVersion> {
    const body: JsonObject = {
      name: options.name,
      source: options.source,
      tags: tagsJson(options.tags),
    };
    if (options.runId) body.run_id = options.runId;
    if (options.runLink) body.run_link = options.runLink;
    if (options.description !== undefined) body.description = options.description;
    return modelVersionFromJson(
      (await this.call("POST", "model-versions/create", body)).model_version,
    );
  }
  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    return modelVersionFromJson(
      (await this.call("GET", "model-versions/get", { name, version })).model_version,
    );
  }
  async searchModelVersions(query: SearchQuery = {}): Promise<Page<ModelVersion>> {
    return page(
      await this.call("GET", "model-versions/search", searchJson(query)),
      "model_versions",
      modelVersionFromJson,
    );
  }
  async updateModelVersion(
    name: string,
    version: string,
    description: string,
  ): Promise<ModelVersion> {
    return modelVersionFromJson(
      (await this.call("PATCH", "model-versions/update", { name, version, description }))
        .model_version,
    );
  }
  async deleteModelVersion(name: string, version: string): Promise<void> {
    await this.call("DELETE", "model-versions/delete", { name, version });
  }
  async setModelVersionTag(
    name: string,
    version: string,
    key: string,
    value: string,
  ): Promise<void> {
    await this.call("POST", "model-versions/set-tag", { name, version, key, value });
  }
  async deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
    await this.call("DELETE", "model-versions/delete-tag", { name, version, key });
  }
  async getLatestVersions(name: string, stages: string[] = []): Promise<ModelVersion[]> {
    const answer = await this.call("POST", "registered-models/get-latest-versions", {
      name,
      stages,
    });
    return list(answer.model_versions).map(modelVersionFromJson);
  }
  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.call("POST", "registered-models/alias", { name, alias, version });
  }
  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.call("DELETE", "registered-models/alias", { name, alias });
  }
  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    try {
      return modelVersionFromJson(
        (await this.call("GET", "registered-models/alias", { name, alias })).model_version,
      );
    } catch (error) {
      throw missingAliasAsNotFound(error, name, alias);
    }
  }
  async getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    return String(
      (await this.call("GET", "model-versions/get-download-uri", { name, version })).artifact_uri,
    );
  }

  async close(): Promise<void> {}

  // ---- artifacts, through the server's mlflow-artifacts proxy

  protected async putArtifact(
    artifactUri: string,
    path: string,
    body: { bytes: Uint8Array | string } | { file: string },
  ): Promise<void> {
    const url = this.artifactUrl(joinArtifactPath(artifactRootPath(artifactUri), path));
    const payload =
      "file" in body ? (Readable.toWeb(createReadStream(body.file)) as ReadableStream) : body.bytes;
    const response = await this.send(url, {
      method: "PUT",
      body: payload,
      headers: { "Content-Type": "application/octet-stream" },
      duplex: "half",
    } as RequestInit);
    await this.answer(response, `PUT ${url}`);
  }

  protected async listArtifactEntries(artifactUri: string, path: string): Promise<ArtifactEntry[]> {
    const location = joinArtifactPath(artifactRootPath(artifactUri), path);
    const url = `${this.uri}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(location)}`;
    const answer = await this.answer(await this.send(url, { method: "GET" }), `GET ${url}`);
    return list(answer.files).map((f) => {
      const info = fileInfoFromJson(f);
      return {
        name: info.path.split("/").at(-1) as string,
        isDir: info.isDir,
        size: info.fileSize,
      };
    });
  }

  protected async downloadArtifactFile(
    artifactUri: string,
    path: string,
    target: string,
  ): Promise<void> {
    const url = this.artifactUrl(joinArtifactPath(artifactRootPath(artifactUri), path));
    const response = await this.send(url, { method: "GET" });
    if (!response.ok || !response.body) {
      await this.answer(response, `GET ${url}`);
      return;
    }
    await mkdir(dirname(target), { recursive: true });
    const partial = `${target}.partial-${process.pid}-${Date.now()}`;
    try {
      await pipeline(
        Readable.fromWeb(response.body as WebReadableStream),
        createWriteStream(partial),
      );
      await rename(partial, target);
    } catch (error) {
      await rm(partial, { force: true });
      throw new OperationError(
        `tracking server ${this.uri}: download of ${path} failed (${(error as Error).message})`,
      );
    }
  }

  private artifactUrl(location: string): string {
    if (!location) throw new InputError(`artifact path is empty (${ARTIFACTS_SCHEME})`);
    return `${this.uri}/api/2.0/mlflow-artifacts/artifacts/${location.split("/").map(encodeURIComponent).join("/")}`;
  }

  private async call(
    method: Method,
    endpoint: string,
    fields: JsonObject,
  ): Promise<Record<string, unknown>> {
    let url = `${this.uri}/api/2.0/mlflow/${endpoint}`;
    const init: RequestInit = { method, headers: {} };
    if (method === "GET") {
      const query = new URLSearchParams();
      for (const [name, value] of Object.entries(fields)) {
        if (Array.isArray(value)) for (const item of value) query.append(name, String(item));
        else if (value !== null && value !== undefined) query.append(name, String(value));
      }
      url += `?${query}`;
    } else {
      init.body = JSON.stringify(fields);
      (init.headers as Record<string, string>)["Content-Type"] = "application/json";
    }
    return this.answer(await this.send(url, init), `${method} ${endpoint}`);
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.token) headers.set("Authorization", `Bearer ${this.token}`);
    try {
      return await fetch(url, { ...init, headers });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new OperationError(
        `tracking server ${this.uri} cannot be reached (${cause?.code ?? cause?.message ?? (error as Error).message})`,
      );
    }
  }

  private async answer(response: Response, what: string): Promise<Record<string, unknown>> {
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      if (response.ok)
        throw new OperationError(
          `tracking server ${this.uri}: ${what} answered with something other than JSON`,
        );
    }
    if (response.ok) return body;
    const code = typeof body.error_code === "string" ? body.error_code : `HTTP_${response.status}`;
    const message =
      typeof body.message === "string" ? body.message : text.slice(0, 200) || response.statusText;
    if (TRACKING_CODES.has(code)) throw new TrackingError(code as TrackingErrorCode, message);
    if (response.status === 401 || response.status === 403)
      throw new InputError(
        `tracking server ${this.uri} refused the request (${response.status}): ${message}; check tracking.token`,
      );
    throw new TrackingServerError(
      response.status,
      code,
      `tracking server ${this.uri}: ${what} failed with ${response.status} ${code}: ${message}`,
    );
  }
}

function tagsJson(tags: TagInput | undefined): Json[] {
  return toTags(tags).map((t) => ({ key: t.key, value: t.value }));
}

function searchJson(query: SearchQuery): JsonObject {
  const json: JsonObject = {};
  if (query.filter) json.filter = query.filter;
  if (query.orderBy && query.orderBy.length > 0) json.order_by = query.orderBy;
  if (query.maxResults !== undefined) json.max_results = query.maxResults;
  if (query.pageToken) json.page_token = query.pageToken;
  return json;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function page<T>(
  answer: Record<string, unknown>,
  field: string,
  convert: (value: unknown) => T,
): Page<T> {
  const token = answer.next_page_token;
  return {
    items: list(answer[field]).map(convert),
    nextPageToken: typeof token === "string" && token ? token : undefined,
  };
}
