// Checks on what callers send, with MLflow's limits, so that bad input fails with one
// INVALID_PARAMETER_VALUE message before anything is written.
import {
  type DatasetInput,
  type MetricInput,
  type Param,
  RUN_STATUSES,
  type RunStatus,
  type Tag,
} from "./entities.ts";
import { invalidParameter } from "./errors.ts";

export const MAX_METRICS_PER_BATCH = 1000;
export const MAX_PARAMS_PER_BATCH = 100;
export const MAX_TAGS_PER_BATCH = 100;
export const MAX_ENTITIES_PER_BATCH = 1000;
export const MAX_KEY_LENGTH = 250;
export const MAX_PARAM_VALUE_LENGTH = 6000;
export const MAX_TAG_VALUE_LENGTH = 8000;
export const MAX_DATASETS_PER_REQUEST = 1000;
export const MAX_DATASET_FIELD_LENGTH = 1_048_576;

const KEY_CHARACTERS = /^[\p{L}\p{N}_/.\- :]+$/u;
const RUN_ID = /^[a-zA-Z0-9][\w-]{0,255}$/;
const EXPERIMENT_ID = /^[0-9]{1,18}$/;
const ALIAS = /^[\w-]{1,255}$/;
const VERSION = /^[1-9][0-9]{0,17}$/;

/** Metric, param and tag keys: letters, digits, `_ - . / :` and spaces, as a relative path. */
export function checkKey(key: unknown, what: string): string {
  if (typeof key !== "string" || key.length === 0)
    throw invalidParameter(`${what} key must be a non-empty string`);
  if (key.length > MAX_KEY_LENGTH)
    throw invalidParameter(
      `${what} key ${JSON.stringify(key.slice(0, 40))}… is longer than ${MAX_KEY_LENGTH} characters`,
    );
  if (!KEY_CHARACTERS.test(key))
    throw invalidParameter(
      `${what} key ${JSON.stringify(key)}: only letters, digits, underscores, dashes, periods, slashes, colons and spaces are allowed`,
    );
  const segments = key.split("/");
  if (key.startsWith("/") || segments.some((s) => s === "" || s === "." || s === ".."))
    throw invalidParameter(
      `${what} key ${JSON.stringify(key)} must be a plain relative path (no leading /, //, . or ..)`,
    );
  return key;
}

/** Any string stored: PostgreSQL cannot keep NUL in text, so neither backend takes it. */
export function checkString(value: unknown, field: string, maxLength?: number): string {
  if (typeof value !== "string") throw invalidParameter(`${field} must be a string`);
  if (maxLength !== undefined && value.length > maxLength)
    throw invalidParameter(
      `${field} is ${value.length} characters long; at most ${maxLength} are allowed`,
    );
  if (value.includes("\u0000"))
    throw invalidParameter(`${field} contains a NUL character (U+0000), which cannot be stored`);
  return value;
}

const CONTROL_CHARACTER = /\p{Cc}/u;

function refuseControlCharacters(value: string, field: string): void {
  const found = CONTROL_CHARACTER.exec(value)?.[0];
  if (found !== undefined)
    throw invalidParameter(
      `${field} ${JSON.stringify(value.slice(0, 100))} contains the control character U+${found.codePointAt(0)?.toString(16).toUpperCase().padStart(4, "0")}; names are one line of printable text`,
    );
}

/** Names of experiments, registered models and datasets: printable, one line, 1 to 500 characters. */
export function checkName(value: unknown, field: string): string {
  if (typeof value !== "string" || value.trim().length === 0)
    throw invalidParameter(`${field} must be a non-empty string`);
  if (value.length > 500) throw invalidParameter(`${field} is longer than 500 characters`);
  refuseControlCharacters(value, field);
  return value;
}

/** A run name: may be empty (a name is then generated), else printable and one line. */
export function checkRunName(value: unknown): string {
  const name = checkString(value, "run_name", MAX_TAG_VALUE_LENGTH);
  refuseControlCharacters(name, "run_name");
  return name;
}

export function checkRunId(runId: unknown): string {
  if (typeof runId !== "string" || !RUN_ID.test(runId))
    throw invalidParameter(`run_id ${JSON.stringify(runId)} is not a valid run id`);
  return runId;
}

export function checkExperimentId(id: unknown): string {
  if (typeof id !== "string" || !EXPERIMENT_ID.test(id))
    throw invalidParameter(
      `experiment_id ${JSON.stringify(id)} is not a valid experiment id (a string of digits)`,
    );
  return id;
}

export function checkVersion(version: unknown): string {
  const text = typeof version === "number" ? String(version) : version;
  if (typeof text !== "string" || !VERSION.test(text))
    throw invalidParameter(
      `model version ${JSON.stringify(version)} must be a positive whole number`,
    );
  return text;
}

export function checkAlias(alias: unknown): string {
  if (typeof alias !== "string" || !ALIAS.test(alias))
    throw invalidParameter(
      `alias ${JSON.stringify(alias)} must be 1 to 255 letters, digits, underscores or dashes`,
    );
  if (alias.toLowerCase() === "latest" || /^v[0-9]+$/i.test(alias))
    throw invalidParameter(
      `alias ${JSON.stringify(alias)} is reserved ("latest" and "v<number>" name versions)`,
    );
  return alias;
}

export function checkRunStatus(status: unknown): RunStatus {
  if (typeof status !== "string" || !RUN_STATUSES.includes(status as RunStatus))
    throw invalidParameter(
      `status ${JSON.stringify(status)} must be one of ${RUN_STATUSES.join(", ")}`,
    );
  return status as RunStatus;
}

export function checkTimestamp(value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
    throw invalidParameter(
      `${field} must be a whole number of milliseconds since 1970, got ${JSON.stringify(value)}`,
    );
  return value;
}

export function checkStep(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value))
    throw invalidParameter(`metric step must be a whole number, got ${JSON.stringify(value)}`);
  return value;
}

export function checkMetric(metric: MetricInput, now: number): Required<MetricInput> {
  const key = checkKey(metric.key, "metric");
  if (typeof metric.value !== "number")
    throw invalidParameter(
      `metric ${JSON.stringify(key)}: value must be a number, got ${JSON.stringify(metric.value)}`,
    );
  return {
    key,
    value: metric.value,
    timestamp:
      metric.timestamp === undefined
        ? now
        : checkTimestamp(metric.timestamp, `metric ${JSON.stringify(key)} timestamp`),
    step: metric.step === undefined ? 0 : checkStep(metric.step),
  };
}

export function checkParam(param: Param): Param {
  const key = checkKey(param.key, "param");
  return {
    key,
    value: checkString(param.value, `param ${JSON.stringify(key)} value`, MAX_PARAM_VALUE_LENGTH),
  };
}

export function checkTag(tag: Tag, what = "tag"): Tag {
  const key = checkKey(tag.key, what);
  return {
    key,
    value: checkString(tag.value, `${what} ${JSON.stringify(key)} value`, MAX_TAG_VALUE_LENGTH),
  };
}

export function checkBatchSize(metrics: number, params: number, tags: number): void {
  if (metrics > MAX_METRICS_PER_BATCH)
    throw invalidParameter(
      `a batch may hold at most ${MAX_METRICS_PER_BATCH} metrics; got ${metrics}`,
    );
  if (params > MAX_PARAMS_PER_BATCH)
    throw invalidParameter(
      `a batch may hold at most ${MAX_PARAMS_PER_BATCH} params; got ${params}`,
    );
  if (tags > MAX_TAGS_PER_BATCH)
    throw invalidParameter(`a batch may hold at most ${MAX_TAGS_PER_BATCH} tags; got ${tags}`);
  if (metrics + params + tags > MAX_ENTITIES_PER_BATCH)
    throw invalidParameter(
      `a batch may hold at most ${MAX_ENTITIES_PER_BATCH} metrics, params and tags in all; got ${metrics + params + tags}`,
    );
}

export function checkDatasetInput(input: DatasetInput): DatasetInput {
  const dataset = input?.dataset;
  if (!dataset || typeof dataset !== "object")
    throw invalidParameter("each dataset input needs a dataset");
  const field = (name: keyof typeof dataset, required: boolean) => {
    const value = dataset[name];
    if (value === undefined && !required) return undefined;
    return checkString(value, `dataset ${name}`, MAX_DATASET_FIELD_LENGTH);
  };
  const name = checkName(dataset.name, "dataset name");
  const digest = checkName(dataset.digest, "dataset digest");
  return {
    dataset: {
      name,
      digest,
      sourceType: checkName(dataset.sourceType, "dataset source_type"),
      source: checkName(dataset.source, "dataset source"),
      schema: field("schema", false),
      profile: field("profile", false),
    },
    tags: (input.tags ?? []).map((tag) => checkTag(tag, "dataset input tag")),
  };
}

/** Reduces to one value per key, rejecting a key given twice with different values. */
export function uniqueByKey<T extends { key: string; value: string }>(
  items: T[],
  what: string,
): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) {
    const seen = byKey.get(item.key);
    if (seen && seen.value !== item.value)
      throw invalidParameter(
        `${what} ${JSON.stringify(item.key)} is given twice in one request with different values (${JSON.stringify(seen.value)}, ${JSON.stringify(item.value)})`,
      );
    byKey.set(item.key, item);
  }
  return [...byKey.values()];
}
