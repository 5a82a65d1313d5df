// MLflow's REST JSON, both ways: entities to the snake_case shapes MLflow's server answers
// with (int64 as numbers, non-finite doubles as "NaN"/"Infinity" strings as protobuf's JSON
// mapping writes them), and the same shapes back into entities for the HTTP client.
import type {
  Dataset,
  DatasetInput,
  Experiment,
  FileInfo,
  LifecycleStage,
  Metric,
  ModelVersion,
  RegisteredModel,
  Run,
  RunInfo,
  RunStatus,
  Tag,
} from "./entities.ts";
import { invalidParameter } from "./errors.ts";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

// ---- entities to JSON

export function doubleToJson(value: number): number | string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  return value;
}

function tagsToJson(tags: Tag[]): JsonObject[] {
  return tags.map((t) => ({ key: t.key, value: t.value }));
}

export function experimentToJson(e: Experiment): JsonObject {
  return {
    experiment_id: e.experimentId,
    name: e.name,
    artifact_location: e.artifactLocation,
    lifecycle_stage: e.lifecycleStage,
    last_update_time: e.lastUpdateTime,
    creation_time: e.creationTime,
    tags: tagsToJson(e.tags),
  };
}

export function runInfoToJson(info: RunInfo): JsonObject {
  const json: JsonObject = {
    run_id: info.runId,
    run_uuid: info.runId,
    run_name: info.runName,
    experiment_id: info.experimentId,
    user_id: info.userId,
    status: info.status,
    start_time: info.startTime,
  };
  if (info.endTime !== undefined) json.end_time = info.endTime;
  json.artifact_uri = info.artifactUri;
  json.lifecycle_stage = info.lifecycleStage;
  return json;
}

export function metricToJson(m: Metric): JsonObject {
  return { key: m.key, value: doubleToJson(m.value), timestamp: m.timestamp, step: m.step };
}

export function datasetInputToJson(input: DatasetInput): JsonObject {
  const d = input.dataset;
  const dataset: JsonObject = {
    name: d.name,
    digest: d.digest,
    source_type: d.sourceType,
    source: d.source,
  };
  if (d.schema !== undefined) dataset.schema = d.schema;
  if (d.profile !== undefined) dataset.profile = d.profile;
  return { tags: tagsToJson(input.tags), dataset };
}

export function runToJson(run: Run): JsonObject {
  return {
    info: runInfoToJson(run.info),
    data: {
      metrics: run.data.metrics.map(metricToJson),
      params: run.data.params.map((p) => ({ key: p.key, value: p.value })),
      tags: tagsToJson(run.data.tags),
    },
    inputs: { dataset_inputs: run.inputs.datasetInputs.map(datasetInputToJson) },
  };
}

export function modelVersionToJson(v: ModelVersion): JsonObject {
  return {
    name: v.name,
    version: v.version,
    creation_timestamp: v.creationTimestamp,
    last_updated_timestamp: v.lastUpdatedTimestamp,
    user_id: v.userId,
    current_stage: v.currentStage,
    description: v.description,
    source: v.source,
    run_id: v.runId,
    status: v.status,
    status_message: v.statusMessage,
    tags: tagsToJson(v.tags),
    run_link: v.runLink,
    aliases: [...v.aliases],
  };
}

export function registeredModelToJson(m: RegisteredModel): JsonObject {
  return {
    name: m.name,
    creation_timestamp: m.creationTimestamp,
    last_updated_timestamp: m.lastUpdatedTimestamp,
    description: m.description,
    latest_versions: m.latestVersions.map(modelVersionToJson),
    tags: tagsToJson(m.tags),
    aliases: m.aliases.map((a) => ({ alias: a.alias, version: a.version })),
  };
}

export function fileInfoToJson(f: FileInfo): JsonObject {
  const json: JsonObject = { path: f.path, is_dir: f.isDir };
  if (f.fileSize !== undefined) json.file_size = f.fileSize;
  return json;
}

// ---- JSON to entities (answers of a tracking server)

function object(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw invalidParameter(`tracking server answer: ${what} is not an object`);
  return value as Record<string, unknown>;
}

function text(value: unknown): string {
  return value === undefined || value === null ? "" : String(value);
}

function int(value: unknown): number {
  return value === undefined || value === null ? 0 : Number(value);
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function doubleFromJson(value: unknown): number {
  if (value === "NaN") return Number.NaN;
  if (value === "Infinity") return Number.POSITIVE_INFINITY;
  if (value === "-Infinity") return Number.NEGATIVE_INFINITY;
  return Number(value);
}

export function tagsFromJson(value: unknown): Tag[] {
  return list(value).map((t) => {
    const tag = object(t, "tag");
    return { key: text(tag.key), value: text(tag.value) };
  });
}

export function experimentFromJson(value: unknown): Experiment {
  const e = object(value, "experiment");
  return {
    experimentId: text(e.experiment_id),
    name: text(e.name),
    artifactLocation: text(e.artifact_location),
    lifecycleStage: text(e.lifecycle_stage) as LifecycleStage,
    creationTime: int(e.creation_time),
    lastUpdateTime: int(e.last_update_time),
    tags: tagsFromJson(e.tags),
  };
}

export function runInfoFromJson(value: unknown): RunInfo {
  const i = object(value, "run info");
  return {
    runId: text(i.run_id ?? i.run_uuid),
    runName: text(i.run_name),
    experimentId: text(i.experiment_id),
    userId: text(i.user_id),
    status: text(i.status) as RunStatus,
    startTime: int(i.start_time),
    endTime: i.end_time === undefined || i.end_time === null ? undefined : Number(i.end_time),
    artifactUri: text(i.artifact_uri),
    lifecycleStage: text(i.lifecycle_stage) as LifecycleStage,
  };
}

export function metricFromJson(value: unknown): Metric {
  const m = object(value, "metric");
  return {
    key: text(m.key),
    value: doubleFromJson(m.value),
    timestamp: int(m.timestamp),
    step: int(m.step),
  };
}

function datasetFromJson(value: unknown): Dataset {
  const d = object(value, "dataset");
  return {
    name: text(d.name),
    digest: text(d.digest),
    sourceType: text(d.source_type),
    source: text(d.source),
    schema: d.schema === undefined ? undefined : text(d.schema),
    profile: d.profile === undefined ? undefined : text(d.profile),
  };
}

export function runFromJson(value: unknown): Run {
  const r = object(value, "run");
  const data = r.data === undefined ? {} : object(r.data, "run data");
  const inputs = r.inputs === undefined ? {} : object(r.inputs, "run inputs");
  return {
    info: runInfoFromJson(r.info),
    data: {
      metrics: list(data.metrics).map(metricFromJson),
      params: tagsFromJson(data.params),
      tags: tagsFromJson(data.tags),
    },
    inputs: {
      datasetInputs: list(inputs.dataset_inputs).map((i) => {
        const input = object(i, "dataset input");
        return { dataset: datasetFromJson(input.dataset), tags: tagsFromJson(input.tags) };
      }),
    },
  };
}

export function modelVersionFromJson(value: unknown): ModelVersion {
  const v = object(value, "model version");
  return {
    name: text(v.name),
    version: text(v.version),
    creationTimestamp: int(v.creation_timestamp),
    lastUpdatedTimestamp: int(v.last_updated_timestamp),
    userId: text(v.user_id),
    currentStage: text(v.current_stage) || "None",
    description: text(v.description),
    source: text(v.source),
    runId: text(v.run_id),
    runLink: text(v.run_link),
    status: "READY",
    statusMessage: text(v.status_message),
    tags: tagsFromJson(v.tags),
    aliases: list(v.aliases).map(text),
  };
}

export function registeredModelFromJson(value: unknown): RegisteredModel {
  const m = object(value, "registered model");
  return {
    name: text(m.name),
    creationTimestamp: int(m.creation_timestamp),
    lastUpdatedTimestamp: int(m.last_updated_timestamp),
    description: text(m.description),
    tags: tagsFromJson(m.tags),
    aliases: list(m.aliases).map((a) => {
      const alias = object(a, "alias");
      return { alias: text(alias.alias), version: text(alias.version) };
    }),
    latestVersions: list(m.latest_versions).map(modelVersionFromJson),
  };
}

export function fileInfoFromJson(value: unknown): FileInfo {
  const f = object(value, "file info");
  return {
    path: text(f.path),
    isDir: f.is_dir === true,
    fileSize: f.file_size === undefined ? undefined : Number(f.file_size),
  };
}
