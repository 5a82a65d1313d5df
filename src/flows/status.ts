// The pipeline at a glance, as the server's overview shows it: the model behind the champion
// alias with its validation metrics and since when it serves, the latest day predicted, and
// the monitoring timeline (drift share and Jaccard per day) read from the reports' days.json.
import type { MonitoringDay } from "../monitoring/types.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { TrackingClient } from "../tracking/client.ts";
import type { ModelVersion } from "../tracking/entities.ts";
import { TrackingError } from "../tracking/errors.ts";
import { filterString } from "../tracking/filter.ts";
import { MONITORING_PREFIX } from "./monitor.ts";
import { PREDICT_RUN_FILE, PREDICTIONS_PREFIX } from "./predict.ts";
import { CHAMPION } from "./train.ts";
import { gateTags } from "./train-files.ts";

export interface ChampionStatus {
  registeredModel: string;
  alias: string;
  version: string;
  runId: string;
  registeredAt: number;
  /** The source run's validation metrics (the top-level ones: jaccard_samples, f1_micro, …). */
  metrics: Record<string, number>;
  /** The baseline's Jaccard on the same validation table, when the run recorded it. */
  baselineJaccard: number | undefined;
  /** The registration gate's decision and reason, when the train flow registered it. */
  gate: { decision: string; reason: string } | undefined;
  /**
   * Since when the alias points at this version. The registry keeps no time for alias moves:
   * `exact` when the train flow moved it on registering the version and no later version
   * took it since; otherwise `after` that time (the alias was moved by hand).
   */
  since: { at: number; exact: boolean };
}

export interface PredictedDay {
  day: number;
  /** How many days have predictions. */
  days: number;
  tracks: number | undefined;
  model: { name: string; version: string; runId: string } | undefined;
  predictedAt: string | undefined;
}

/** The version behind `alias` of the registered model, or undefined when there is none. */
export async function championStatus(
  tracking: TrackingClient,
  registeredModel: string,
  alias = CHAMPION,
): Promise<ChampionStatus | undefined> {
  let version: ModelVersion;
  try {
    version = await tracking.getModelVersionByAlias(registeredModel, alias);
  } catch (error) {
    if (error instanceof TrackingError && error.code === "RESOURCE_DOES_NOT_EXIST")
      return undefined;
    throw error;
  }
  const metrics: Record<string, number> = {};
  let baselineJaccard: number | undefined;
  try {
    const run = await tracking.getRun(version.runId);
    for (const metric of run.data.metrics) {
      if (!metric.key.includes(".")) metrics[metric.key] = metric.value;
      if (metric.key === "baseline.jaccard_samples") baselineJaccard = metric.value;
    }
  } catch (error) {
    if (!(error instanceof TrackingError && error.code === "RESOURCE_DOES_NOT_EXIST")) throw error;
  }
  const { decision, reason } = gateTags(version.tags);
  const byGate = decision === "registered";
  const laterByGate = (
    await tracking.searchModelVersions({
      filter: `name = ${filterString(registeredModel)}`,
      maxResults: 10_000,
    })
  ).items
    .filter(
      (v) =>
        Number(v.version) > Number(version.version) && gateTags(v.tags).decision === "registered",
    )
    .map((v) => v.creationTimestamp);
  const since =
    byGate && laterByGate.length === 0
      ? { at: version.creationTimestamp, exact: true }
      : { at: Math.max(version.creationTimestamp, ...laterByGate), exact: false };
  return {
    registeredModel,
    alias,
    version: version.version,
    runId: version.runId,
    registeredAt: version.creationTimestamp,
    metrics,
    baselineJaccard,
    gate: decision === undefined ? undefined : { decision, reason: reason ?? "" },
    since,
  };
}

/** The latest day with predictions (and how many days have them), or undefined. */
export async function latestPredictedDay(store: ObjectStore): Promise<PredictedDay | undefined> {
  const days: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(`${PREDICTIONS_PREFIX}/`, { recursive: false, cursor });
    for (const prefix of page.prefixes)
      if (/\/day=\d+\/$/.test(prefix)) days.push(prefix.slice(0, -1));
    cursor = page.cursor;
  } while (cursor !== undefined);
  days.sort((a, b) => dayNumber(a) - dayNumber(b));
  for (let i = days.length - 1; i >= 0; i--) {
    const prefix = days[i] as string;
    const summary = await readJson(store, `${prefix}/${PREDICT_RUN_FILE}`);
    if (summary === undefined) continue;
    const record = summary as {
      tracks?: unknown;
      model?: { name?: unknown; version?: unknown; runId?: unknown };
      predicted_at?: unknown;
    };
    const model = record.model;
    return {
      day: dayNumber(prefix),
      days: days.length,
      tracks: typeof record.tracks === "number" ? record.tracks : undefined,
      model:
        model && typeof model.version === "string"
          ? {
              name: String(model.name ?? ""),
              version: model.version,
              runId: String(model.runId ?? ""),
            }
          : undefined,
      predictedAt: typeof record.predicted_at === "string" ? record.predicted_at : undefined,
    };
  }
  return undefined;
}

/** The monitored days, oldest first (the last `maxDays` of them), as monitor wrote them. */
export async function monitoringTimeline(
  store: ObjectStore,
  maxDays = 90,
): Promise<MonitoringDay[]> {
  const parsed = await readJson(store, `${MONITORING_PREFIX}/days.json`);
  if (!Array.isArray(parsed)) return [];
  return (parsed as MonitoringDay[])
    .filter((d) => typeof d?.day === "number" && typeof d.driftShare === "number")
    .sort((a, b) => a.day - b.day)
    .slice(-maxDays);
}

function dayNumber(prefix: string): number {
  return Number(/day=(\d+)/.exec(prefix)?.[1] ?? 0);
}

async function readJson(store: ObjectStore, key: string): Promise<unknown> {
  if (!(await store.exists(key))) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(await store.get(key))) as unknown;
  } catch {
    return undefined;
  }
}
