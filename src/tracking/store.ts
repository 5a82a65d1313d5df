// The experiment and run half of the tracking store: MLflow's semantics on SQL through kysely.
// Every write is one transaction (nothing half-written), params are write-once, metrics are
// appended and the latest value per key is kept beside them, and searches run in SQL.
import { randomUUID } from "node:crypto";
import { userInfo } from "node:os";
import { type RawBuilder, type Selectable, sql } from "kysely";
import {
  checkArtifactLocation,
  experimentArtifactLocation,
  runArtifactUri,
} from "./artifact-uri.ts";
import {
  isUniqueViolation,
  type SqlDialect,
  type TrackingDatabase,
  type TrackingDb,
} from "./database.ts";
import {
  type CreateRunOptions,
  type DatasetInput,
  type Experiment,
  type LifecycleStage,
  type LogBatch,
  type Metric,
  type Page,
  type Param,
  RUN_NAME_TAG,
  type Run,
  type RunInfo,
  type RunStatus,
  type SearchExperimentsQuery,
  type SearchRunsQuery,
  type Tag,
  type UpdateRunOptions,
} from "./entities.ts";
import { alreadyExists, invalidParameter, notFound, runNotFound, TrackingError } from "./errors.ts";
import { checkMaxResults, decodePageToken, encodePageToken } from "./filter.ts";
import { chunks, lastByKey, push } from "./rows.ts";
import type { ExperimentsTable, MetricsTable, RunsTable } from "./schema.ts";
import { EXPERIMENT_SEARCH, parseSearch, RUN_SEARCH, searchPage } from "./search-sql.ts";

type ExperimentRow = Selectable<ExperimentsTable>;

import {
  checkBatchSize,
  checkDatasetInput,
  checkExperimentId,
  checkKey,
  checkMetric,
  checkName,
  checkParam,
  checkRunId,
  checkRunName,
  checkRunStatus,
  checkString,
  checkTag,
  checkTimestamp,
  MAX_DATASETS_PER_REQUEST,
  uniqueByKey,
} from "./validation.ts";

export const DEFAULT_EXPERIMENT_ID = "0";
/** Experiments one run search may name (MLflow sets no limit). */
export const MAX_SEARCH_EXPERIMENT_IDS = 10_000;
const MODEL_HISTORY_TAG = "mlflow.log-model.history";
const MAX_MODEL_HISTORY_LENGTH = 1_048_576;

const ADJECTIVES = [
  "brisk",
  "mellow",
  "bright",
  "steady",
  "quiet",
  "bold",
  "gentle",
  "lively",
  "calm",
  "swift",
];
const NOUNS = [
  "fugue",
  "ballad",
  "chorus",
  "groove",
  "rhythm",
  "motif",
  "tempo",
  "riff",
  "cadence",
  "anthem",
];

export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

export class TrackingStore {
  constructor(private readonly database: TrackingDatabase) {}

  private get db(): TrackingDb {
    return this.database.db;
  }

  // ---- experiments

  async createExperiment(
    name: string,
    options: { artifactLocation?: string | undefined; tags?: Tag[] | undefined } = {},
  ): Promise<string> {
    checkName(name, "experiment name");
    if (options.artifactLocation) checkArtifactLocation(options.artifactLocation);
    const tags = lastByKey((options.tags ?? []).map((t) => checkTag(t, "experiment tag")));
    const now = Date.now();
    try {
      return await this.database.write(async (trx) => {
        const existing = await trx
          .selectFrom("experiments")
          .select(["lifecycle_stage"])
          .where("name", "=", name)
          .executeTakeFirst();
        if (existing) throw experimentExists(name, existing.lifecycle_stage);
        const { experiment_id } = await trx
          .insertInto("experiments")
          .values({
            name,
            artifact_location: options.artifactLocation ?? "",
            lifecycle_stage: "active",
            creation_time: now,
            last_update_time: now,
          })
          .returning("experiment_id")
          .executeTakeFirstOrThrow();
        const id = String(experiment_id);
        if (!options.artifactLocation)
          await trx
            .updateTable("experiments")
            .set({ artifact_location: experimentArtifactLocation(id) })
            .where("experiment_id", "=", experiment_id)
            .execute();
        if (tags.length > 0)
          await trx
            .insertInto("experiment_tags")
            .values(tags.map((t) => ({ experiment_id, key: t.key, value: t.value })))
            .execute();
        return id;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw experimentExists(name, "active");
      throw error;
    }
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    const row = await this.db
      .selectFrom("experiments")
      .selectAll()
      .where("experiment_id", "=", Number(checkExperimentId(experimentId)))
      .executeTakeFirst();
    if (!row) throw notFound(`No experiment with id ${experimentId} exists`);
    return (await this.withExperimentTags([row]))[0] as Experiment;
  }

  async getExperimentByName(name: string): Promise<Experiment> {
    checkName(name, "experiment_name");
    const row = await this.db
      .selectFrom("experiments")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
    if (!row) throw notFound(`No experiment named ${JSON.stringify(name)} exists`);
    return (await this.withExperimentTags([row]))[0] as Experiment;
  }

  async searchExperiments(query: SearchExperimentsQuery = {}): Promise<Page<Experiment>> {
    const search = parseSearch(EXPERIMENT_SEARCH, query);
    return searchPage(this.db, EXPERIMENT_SEARCH, search, (page: ExperimentRow[]) =>
      this.withExperimentTags(page),
    );
  }

  async renameExperiment(experimentId: string, newName: string): Promise<void> {
    checkName(newName, "new_name");
    try {
      await this.database.write(async (trx) => {
        const experiment = await activeExperiment(trx, experimentId, "renamed");
        const clash = await trx
          .selectFrom("experiments")
          .select(["lifecycle_stage", "experiment_id"])
          .where("name", "=", newName)
          .executeTakeFirst();
        if (clash && clash.experiment_id !== experiment.experiment_id)
          throw experimentExists(newName, clash.lifecycle_stage);
        await trx
          .updateTable("experiments")
          .set({ name: newName, last_update_time: Date.now() })
          .where("experiment_id", "=", experiment.experiment_id)
          .execute();
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw experimentExists(newName, "active");
      throw error;
    }
  }

  /** Marks the experiment and its runs deleted; restoreExperiment undoes it. */
  async deleteExperiment(experimentId: string): Promise<void> {
    if (checkExperimentId(experimentId) === DEFAULT_EXPERIMENT_ID)
      throw invalidParameter("The default experiment (id 0) cannot be deleted");
    await this.setExperimentStage(experimentId, "deleted");
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    await this.setExperimentStage(experimentId, "active");
  }

  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    const tag = checkTag({ key, value }, "experiment tag");
    await this.database.write(async (trx) => {
      const experiment = await activeExperiment(trx, experimentId, "tagged");
      await trx
        .insertInto("experiment_tags")
        .values({ experiment_id: experiment.experiment_id, key: tag.key, value: tag.value })
        .onConflict((oc) => oc.columns(["experiment_id", "key"]).doUpdateSet({ value: tag.value }))
        .execute();
    });
  }

  // ---- runs

  async createRun(options: CreateRunOptions): Promise<Run> {
    const experimentId = checkExperimentId(options.experimentId);
    const tags = lastByKey((options.tags ?? []).map((t) => checkTag(t)));
    const tagName = tags.find((t) => t.key === RUN_NAME_TAG)?.value;
    if (options.runName !== undefined) checkRunName(options.runName);
    if (options.runName && tagName !== undefined && tagName !== options.runName)
      throw invalidParameter(
        `run_name ${JSON.stringify(options.runName)} and the ${RUN_NAME_TAG} tag ${JSON.stringify(tagName)} differ; give one name`,
      );
    const runName = options.runName || tagName || generatedRunName();
    if (tagName === undefined) tags.push({ key: RUN_NAME_TAG, value: runName });
    const startTime =
      options.startTime === undefined
        ? Date.now()
        : checkTimestamp(options.startTime, "start_time");
    const userId =
      options.userId === undefined ? currentUser() : checkString(options.userId, "user_id", 256);
    const runId = randomUUID().replaceAll("-", "");
    await this.database.write(async (trx) => {
      const experiment = await activeExperiment(trx, experimentId, "given new runs");
      await trx
        .insertInto("runs")
        .values({
          run_uuid: runId,
          name: runName,
          experiment_id: experiment.experiment_id,
          user_id: userId,
          status: "RUNNING",
          start_time: startTime,
          end_time: null,
          lifecycle_stage: "active",
          artifact_uri: runArtifactUri(experiment.artifact_location, runId),
          deleted_time: null,
        })
        .execute();
      await trx
        .insertInto("tags")
        .values(tags.map((t) => ({ run_uuid: runId, key: t.key, value: t.value })))
        .execute();
    });
    return this.getRun(runId);
  }

  async getRun(runId: string): Promise<Run> {
    return (await this.hydrateRuns([await this.runRow(runId)]))[0] as Run;
  }

  async getRunInfo(runId: string): Promise<RunInfo> {
    return toRunInfo(await this.runRow(runId));
  }

  async updateRun(runId: string, update: UpdateRunOptions): Promise<RunInfo> {
    checkRunId(runId);
    const status = update.status === undefined ? undefined : checkRunStatus(update.status);
    const endTime =
      update.endTime === undefined ? undefined : checkTimestamp(update.endTime, "end_time");
    const runName =
      update.runName === undefined || update.runName === ""
        ? undefined
        : checkRunName(update.runName);
    await this.database.write(async (trx) => {
      await activeRun(trx, runId);
      const changes: Partial<RunsTable> = {};
      if (status !== undefined) changes.status = status;
      if (endTime !== undefined) changes.end_time = endTime;
      if (runName !== undefined) {
        changes.name = runName;
        await upsertRunTags(trx, runId, [{ key: RUN_NAME_TAG, value: runName }]);
      }
      if (Object.keys(changes).length > 0)
        await trx.updateTable("runs").set(changes).where("run_uuid", "=", runId).execute();
    });
    return this.getRunInfo(runId);
  }

  async deleteRun(runId: string): Promise<void> {
    await this.setRunStage(runId, "deleted");
  }

  async restoreRun(runId: string): Promise<void> {
    await this.setRunStage(runId, "active");
  }

  /**
   * Logs metrics, params and tags at once, in one transaction: all or nothing. A param already
   * logged with another value, or a batch over MLflow's limits, fails the whole batch.
   */
  async logBatch(runId: string, batch: LogBatch): Promise<void> {
    checkRunId(runId);
    const metricsIn = batch.metrics ?? [];
    const paramsIn = batch.params ?? [];
    const tagsIn = batch.tags ?? [];
    checkBatchSize(metricsIn.length, paramsIn.length, tagsIn.length);
    const now = Date.now();
    const metrics = metricsIn.map((m) => checkMetric(m, now));
    const params = uniqueByKey(paramsIn.map(checkParam), "param").sort(byKey);
    const tags = lastByKey(tagsIn.map((t) => checkTag(t))).sort(byKey);
    if (metrics.length + params.length + tags.length === 0) {
      await activeRun(this.db, runId);
      return;
    }
    const metricRows = metrics.map((m) => metricRow(runId, m)).sort(compareMetricRows);
    const latestRows = latestPerKey(metricRows);
    await this.database.write(async (trx) => {
      await activeRun(trx, runId);
      if (params.length > 0) await insertParams(trx, runId, params);
      if (metricRows.length > 0)
        await insertMetrics(trx, this.database.dialect, metricRows, latestRows);
      if (tags.length > 0) {
        await upsertRunTags(trx, runId, tags);
        const name = tags.find((t) => t.key === RUN_NAME_TAG)?.value;
        if (name !== undefined)
          await trx.updateTable("runs").set({ name }).where("run_uuid", "=", runId).execute();
      }
    });
  }

  async logMetric(
    runId: string,
    key: string,
    value: number,
    timestamp?: number,
    step?: number,
  ): Promise<void> {
    await this.logBatch(runId, { metrics: [{ key, value, timestamp, step }] });
  }

  async logParam(runId: string, key: string, value: string): Promise<void> {
    await this.logBatch(runId, { params: [{ key, value }] });
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    await this.logBatch(runId, { tags: [{ key, value }] });
  }

  /** MLflow's runs/log-model: appends a model's metadata to the run's `mlflow.log-model.history` tag. */
  async logModel(runId: string, modelJson: string): Promise<void> {
    checkRunId(runId);
    let model: unknown;
    try {
      model = JSON.parse(checkString(modelJson, "model_json", MAX_MODEL_HISTORY_LENGTH));
    } catch (error) {
      if (error instanceof TrackingError) throw error;
      throw invalidParameter(`model_json is not valid JSON: ${(error as Error).message}`);
    }
    if (model === null || typeof model !== "object" || Array.isArray(model))
      throw invalidParameter("model_json must be a JSON object");
    await this.database.write(async (trx) => {
      await activeRun(trx, runId);
      const row = await trx
        .selectFrom("tags")
        .select("value")
        .where("run_uuid", "=", runId)
        .where("key", "=", MODEL_HISTORY_TAG)
        .executeTakeFirst();
      let history: unknown[] = [];
      try {
        const parsed: unknown = row ? JSON.parse(row.value) : [];
        if (Array.isArray(parsed)) history = parsed;
      } catch {}
      const value = JSON.stringify([...history, model]);
      if (value.length > MAX_MODEL_HISTORY_LENGTH)
        throw invalidParameter(
          `the ${MODEL_HISTORY_TAG} tag of run ${runId} would exceed ${MAX_MODEL_HISTORY_LENGTH} characters`,
        );
      await upsertRunTags(trx, runId, [{ key: MODEL_HISTORY_TAG, value }]);
    });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    checkRunId(runId);
    checkKey(key, "tag");
    await this.database.write(async (trx) => {
      await activeRun(trx, runId);
      const result = await trx
        .deleteFrom("tags")
        .where("run_uuid", "=", runId)
        .where("key", "=", key)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0)
        throw notFound(`No tag with key ${JSON.stringify(key)} on run ${runId}`);
    });
  }

  /** Records datasets a run used, each with its context tag; a dataset is kept once per experiment. */
  async logInputs(runId: string, inputs: DatasetInput[]): Promise<void> {
    checkRunId(runId);
    if (inputs.length > MAX_DATASETS_PER_REQUEST)
      throw invalidParameter(
        `at most ${MAX_DATASETS_PER_REQUEST} datasets may be logged at once; got ${inputs.length}`,
      );
    const checked = inputs.map(checkDatasetInput);
    await this.database.write(async (trx) => {
      const run = await activeRun(trx, runId);
      for (const { dataset, tags } of checked) {
        await trx
          .insertInto("datasets")
          .values({
            dataset_uuid: randomUUID().replaceAll("-", ""),
            experiment_id: run.experiment_id,
            name: dataset.name,
            digest: dataset.digest,
            source_type: dataset.sourceType,
            source: dataset.source,
            schema: dataset.schema ?? null,
            profile: dataset.profile ?? null,
          })
          .onConflict((oc) => oc.doNothing())
          .execute();
        const { dataset_uuid } = await trx
          .selectFrom("datasets")
          .select("dataset_uuid")
          .where("experiment_id", "=", run.experiment_id)
          .where("name", "=", dataset.name)
          .where("digest", "=", dataset.digest)
          .executeTakeFirstOrThrow();
        await trx
          .insertInto("run_inputs")
          .values({ run_uuid: runId, dataset_uuid })
          .onConflict((oc) => oc.doNothing())
          .execute();
        for (const tag of lastByKey(tags))
          await trx
            .insertInto("run_input_tags")
            .values({ run_uuid: runId, dataset_uuid, key: tag.key, value: tag.value })
            .onConflict((oc) =>
              oc.columns(["run_uuid", "dataset_uuid", "key"]).doUpdateSet({ value: tag.value }),
            )
            .execute();
      }
    });
  }

  /** Every value logged for one metric, by step then timestamp. */
  async getMetricHistory(
    runId: string,
    key: string,
    options: { maxResults?: number | undefined; pageToken?: string | undefined } = {},
  ): Promise<Page<Metric>> {
    checkKey(key, "metric");
    await this.getRunInfo(runId);
    const offset = decodePageToken(options.pageToken);
    const limit =
      options.maxResults === undefined
        ? undefined
        : checkMaxResults(options.maxResults, 25_000, 1_000_000);
    const rows = await this.db
      .selectFrom("metrics")
      .selectAll()
      .where("run_uuid", "=", runId)
      .where("key", "=", key)
      .orderBy("step")
      .orderBy("timestamp")
      .orderBy("value")
      .limit(limit === undefined ? Number.MAX_SAFE_INTEGER : limit + 1)
      .offset(offset)
      .execute();
    const more = limit !== undefined && rows.length > limit;
    return {
      items: (more ? rows.slice(0, limit) : rows).map(toMetric),
      nextPageToken: more ? encodePageToken(offset + (limit as number)) : undefined,
    };
  }

  async searchRuns(query: SearchRunsQuery): Promise<Page<Run>> {
    return this.pageOfRuns(query, (page) => this.hydrateRuns(page));
  }

  /**
   * searchRuns without each run's params, metrics, tags and inputs: a page of a long runs
   * table, whose columns runKeys and runValues then load for the page's runs alone.
   */
  async searchRunInfos(query: SearchRunsQuery): Promise<Page<RunInfo>> {
    return this.pageOfRuns(query, async (page) => page.map(toRunInfo));
  }

  /**
   * The metric keys the runs logged, and each param key with how many of the runs have it and
   * how many distinct values they give it.
   */
  async runKeys(runIds: string[]): Promise<{
    metrics: string[];
    params: { key: string; runs: number; values: number }[];
  }> {
    const ids = [...new Set(runIds.map(checkRunId))];
    const metrics = new Set<string>();
    const params = new Map<string, { key: string; runs: number; values: number }>();
    for (const chunk of chunks(ids)) {
      const [metricRows, paramRows] = await Promise.all([
        this.db
          .selectFrom("latest_metrics")
          .select("key")
          .distinct()
          .where("run_uuid", "in", chunk)
          .execute(),
        this.db
          .selectFrom("params")
          .select("key")
          .select((eb) => [
            eb.fn.countAll<number | string>().as("runs"),
            eb.fn.count<number | string>("value").distinct().as("values"),
          ])
          .where("run_uuid", "in", chunk)
          .groupBy("key")
          .execute(),
      ]);
      for (const row of metricRows) metrics.add(row.key);
      for (const row of paramRows) {
        const known = params.get(row.key) ?? { key: row.key, runs: 0, values: 0 };
        known.runs += Number(row.runs);
        known.values = Math.max(known.values, Number(row.values));
        params.set(row.key, known);
      }
    }
    return { metrics: [...metrics].sort(), params: [...params.values()] };
  }

  /** The latest values of the named metrics and the values of the named params, per run. */
  async runValues(
    runIds: string[],
    keys: { metrics: string[]; params: string[] },
  ): Promise<Map<string, { metrics: Map<string, number>; params: Map<string, string> }>> {
    const ids = [...new Set(runIds.map(checkRunId))];
    const values = new Map(
      ids.map((id) => [
        id,
        { metrics: new Map<string, number>(), params: new Map<string, string>() },
      ]),
    );
    for (const chunk of chunks(ids, 500)) {
      const [metricRows, paramRows] = await Promise.all([
        keys.metrics.length === 0
          ? []
          : this.db
              .selectFrom("latest_metrics")
              .select(["run_uuid", "key", "value", "is_nan"])
              .where("run_uuid", "in", chunk)
              .where("key", "in", keys.metrics)
              .execute(),
        keys.params.length === 0
          ? []
          : this.db
              .selectFrom("params")
              .select(["run_uuid", "key", "value"])
              .where("run_uuid", "in", chunk)
              .where("key", "in", keys.params)
              .execute(),
      ]);
      for (const m of metricRows)
        values.get(m.run_uuid)?.metrics.set(m.key, m.is_nan ? Number.NaN : Number(m.value));
      for (const p of paramRows) values.get(p.run_uuid)?.params.set(p.key, p.value);
    }
    return values;
  }

  private async pageOfRuns<T>(
    query: SearchRunsQuery,
    hydrate: (rows: RunsTable[]) => Promise<T[]>,
  ): Promise<Page<T>> {
    if (!Array.isArray(query.experimentIds))
      throw invalidParameter("experiment_ids must be a list of experiment ids");
    if (query.experimentIds.length > MAX_SEARCH_EXPERIMENT_IDS)
      throw invalidParameter(
        `at most ${MAX_SEARCH_EXPERIMENT_IDS} experiment_ids may be searched at once; got ${query.experimentIds.length}`,
      );
    const experimentIds = [
      ...new Set(query.experimentIds.map((id) => Number(checkExperimentId(id)))),
    ];
    const search = parseSearch(RUN_SEARCH, query);
    if (experimentIds.length === 0) return { items: [] };
    return searchPage(this.db, RUN_SEARCH, search, hydrate, [
      sql`r.experiment_id in (${sql.join(experimentIds)})`,
    ]);
  }

  /** Each experiment's active runs: how many, and when the latest one started. */
  async runCountsByExperiment(
    experimentIds: string[],
  ): Promise<Map<string, { runs: number; lastStartTime: number | undefined }>> {
    const counts = new Map<string, { runs: number; lastStartTime: number | undefined }>();
    const ids = [...new Set(experimentIds.map((id) => Number(checkExperimentId(id))))];
    for (const chunk of chunks(ids)) {
      const rows = await this.db
        .selectFrom("runs")
        .select(["experiment_id"])
        .select((eb) => [
          eb.fn.countAll<number | string>().as("runs"),
          eb.fn.max("start_time").as("last_start_time"),
        ])
        .where("experiment_id", "in", chunk)
        .where("lifecycle_stage", "=", "active")
        .groupBy("experiment_id")
        .execute();
      for (const row of rows)
        counts.set(String(row.experiment_id), {
          runs: Number(row.runs),
          lastStartTime: row.last_start_time === null ? undefined : Number(row.last_start_time),
        });
    }
    return counts;
  }

  /** The metric keys each run logged more than one value for (those worth a chart), sorted. */
  async metricKeysWithHistory(runIds: string[]): Promise<Map<string, string[]>> {
    const keys = new Map<string, string[]>();
    for (const chunk of chunks([...new Set(runIds.map(checkRunId))])) {
      const rows = await this.db
        .selectFrom("metrics")
        .select(["run_uuid", "key"])
        .where("run_uuid", "in", chunk)
        .groupBy(["run_uuid", "key"])
        .having((eb) => eb.fn.countAll(), ">", 1)
        .orderBy("key")
        .execute();
      for (const row of rows) push(keys, row.run_uuid, row.key);
    }
    return keys;
  }

  // ---- internals

  private async runRow(runId: string): Promise<RunsTable> {
    const row = await this.db
      .selectFrom("runs")
      .selectAll()
      .where("run_uuid", "=", checkRunId(runId))
      .executeTakeFirst();
    if (!row) throw runNotFound(runId);
    return row;
  }

  private async setExperimentStage(experimentId: string, stage: LifecycleStage): Promise<void> {
    const id = Number(checkExperimentId(experimentId));
    await this.database.write(async (trx) => {
      const row = await trx
        .selectFrom("experiments")
        .select(["lifecycle_stage"])
        .where("experiment_id", "=", id)
        .executeTakeFirst();
      if (!row) throw notFound(`No experiment with id ${experimentId} exists`);
      const now = Date.now();
      await trx
        .updateTable("experiments")
        .set({ lifecycle_stage: stage, last_update_time: now })
        .where("experiment_id", "=", id)
        .execute();
      await trx
        .updateTable("runs")
        .set({ lifecycle_stage: stage, deleted_time: stage === "deleted" ? now : null })
        .where("experiment_id", "=", id)
        .where("lifecycle_stage", "!=", stage)
        .execute();
    });
  }

  private async setRunStage(runId: string, stage: LifecycleStage): Promise<void> {
    checkRunId(runId);
    await this.database.write(async (trx) => {
      const row = await trx
        .selectFrom("runs")
        .innerJoin("experiments", "experiments.experiment_id", "runs.experiment_id")
        .select(["experiments.lifecycle_stage as experimentStage"])
        .where("run_uuid", "=", runId)
        .executeTakeFirst();
      if (!row) throw runNotFound(runId);
      if (stage === "active" && row.experimentStage !== "active")
        throw invalidParameter(
          `Run ${runId} cannot be restored: its experiment is deleted; restore the experiment`,
        );
      await trx
        .updateTable("runs")
        .set({ lifecycle_stage: stage, deleted_time: stage === "deleted" ? Date.now() : null })
        .where("run_uuid", "=", runId)
        .execute();
    });
  }

  private async withExperimentTags(rows: ExperimentRow[]): Promise<Experiment[]> {
    const ids = rows.map((r) => r.experiment_id);
    const tags = new Map<number, Tag[]>();
    for (const chunk of chunks(ids)) {
      const tagRows = await this.db
        .selectFrom("experiment_tags")
        .selectAll()
        .where("experiment_id", "in", chunk)
        .orderBy("key")
        .execute();
      for (const t of tagRows) push(tags, t.experiment_id, { key: t.key, value: t.value });
    }
    return rows.map((row) => {
      const id = row.experiment_id;
      return {
        experimentId: String(id),
        name: row.name,
        artifactLocation: row.artifact_location,
        lifecycleStage: row.lifecycle_stage as LifecycleStage,
        creationTime: Number(row.creation_time),
        lastUpdateTime: Number(row.last_update_time),
        tags: tags.get(id) ?? [],
      };
    });
  }

  /** Loads params, latest metrics, tags and dataset inputs for runs, a few queries per 5,000 runs. */
  private async hydrateRuns(rows: RunsTable[]): Promise<Run[]> {
    const params = new Map<string, Param[]>();
    const tags = new Map<string, Tag[]>();
    const metrics = new Map<string, Metric[]>();
    const inputs = new Map<string, DatasetInput[]>();
    for (const ids of chunks(rows.map((r) => r.run_uuid))) {
      const [paramRows, tagRows, metricRows, inputRows, inputTagRows] = await Promise.all([
        this.db
          .selectFrom("params")
          .selectAll()
          .where("run_uuid", "in", ids)
          .orderBy("key")
          .execute(),
        this.db
          .selectFrom("tags")
          .selectAll()
          .where("run_uuid", "in", ids)
          .orderBy("key")
          .execute(),
        this.db
          .selectFrom("latest_metrics")
          .selectAll()
          .where("run_uuid", "in", ids)
          .orderBy("key")
          .execute(),
        this.db
          .selectFrom("run_inputs")
          .innerJoin("datasets", "datasets.dataset_uuid", "run_inputs.dataset_uuid")
          .selectAll("datasets")
          .select("run_inputs.run_uuid")
          .where("run_inputs.run_uuid", "in", ids)
          .orderBy("datasets.name")
          .orderBy("datasets.digest")
          .execute(),
        this.db
          .selectFrom("run_input_tags")
          .selectAll()
          .where("run_uuid", "in", ids)
          .orderBy("key")
          .execute(),
      ]);
      for (const p of paramRows) push(params, p.run_uuid, { key: p.key, value: p.value });
      for (const t of tagRows) push(tags, t.run_uuid, { key: t.key, value: t.value });
      for (const m of metricRows) push(metrics, m.run_uuid, toMetric(m));
      const inputTags = new Map<string, Tag[]>();
      for (const t of inputTagRows)
        push(inputTags, `${t.run_uuid}/${t.dataset_uuid}`, { key: t.key, value: t.value });
      for (const d of inputRows)
        push(inputs, d.run_uuid, {
          dataset: {
            name: d.name,
            digest: d.digest,
            sourceType: d.source_type,
            source: d.source,
            schema: d.schema ?? undefined,
            profile: d.profile ?? undefined,
          },
          tags: inputTags.get(`${d.run_uuid}/${d.dataset_uuid}`) ?? [],
        });
    }
    return rows.map((row) => ({
      info: toRunInfo(row),
      data: {
        metrics: metrics.get(row.run_uuid) ?? [],
        params: params.get(row.run_uuid) ?? [],
        tags: tags.get(row.run_uuid) ?? [],
      },
      inputs: { datasetInputs: inputs.get(row.run_uuid) ?? [] },
    }));
  }
}

export async function activeRun(db: TrackingDb, runId: string): Promise<RunsTable> {
  const run = await db
    .selectFrom("runs")
    .selectAll()
    .where("run_uuid", "=", runId)
    .executeTakeFirst();
  if (!run) throw runNotFound(runId);
  if (run.lifecycle_stage !== "active")
    throw invalidParameter(
      `Run ${runId} is deleted; it must be active to be changed (restore it first)`,
    );
  return run;
}

async function activeExperiment(db: TrackingDb, experimentId: string, action: string) {
  const row = await db
    .selectFrom("experiments")
    .selectAll()
    .where("experiment_id", "=", Number(checkExperimentId(experimentId)))
    .executeTakeFirst();
  if (!row) throw notFound(`No experiment with id ${experimentId} exists`);
  if (row.lifecycle_stage !== "active")
    throw invalidParameter(
      `Experiment ${experimentId} is deleted; it must be active to be ${action}`,
    );
  return row;
}

function experimentExists(name: string, stage: string) {
  return alreadyExists(
    stage === "deleted"
      ? `Experiment ${JSON.stringify(name)} already exists in the deleted state; restore it or choose another name`
      : `Experiment ${JSON.stringify(name)} already exists`,
  );
}

async function insertParams(trx: TrackingDb, runId: string, params: Param[]): Promise<void> {
  await trx
    .insertInto("params")
    .values(params.map((p) => ({ run_uuid: runId, key: p.key, value: p.value })))
    .onConflict((oc) => oc.doNothing())
    .execute();
  const stored = await trx
    .selectFrom("params")
    .select(["key", "value"])
    .where("run_uuid", "=", runId)
    .where(
      "key",
      "in",
      params.map((p) => p.key),
    )
    .execute();
  const byKey = new Map(stored.map((p) => [p.key, p.value]));
  for (const param of params) {
    const value = byKey.get(param.key);
    if (value !== param.value)
      throw invalidParameter(
        `Param ${JSON.stringify(param.key)} of run ${runId} was already logged with value ${JSON.stringify(value)}; params cannot change (attempted ${JSON.stringify(param.value)})`,
      );
  }
}

/**
 * Appends metric rows (an identical row again is a no-op) and moves each key's latest value
 * forward only: a higher step, then a later timestamp, then NaN over numbers, then a higher value.
 */
async function insertMetrics(
  trx: TrackingDb,
  dialect: SqlDialect,
  rows: MetricsTable[],
  latest: MetricsTable[],
): Promise<void> {
  const columns = sql`(run_uuid, key, value, "timestamp", step, is_nan)`;
  await sql`insert into metrics ${columns} ${metricSource(dialect, rows)} on conflict do nothing`.execute(
    trx,
  );
  await sql`insert into latest_metrics ${columns} ${metricSource(dialect, latest)}
    on conflict (run_uuid, key) do update
    set value = excluded.value, "timestamp" = excluded."timestamp", step = excluded.step, is_nan = excluded.is_nan
    where (excluded.step, excluded."timestamp", excluded.is_nan, excluded.value)
      > (latest_metrics.step, latest_metrics."timestamp", latest_metrics.is_nan, latest_metrics.value)`.execute(
    trx,
  );
}

/** Rows as a VALUES list; on PostgreSQL as arrays through unnest, six parameters instead of thousands. */
function metricSource(dialect: SqlDialect, rows: MetricsTable[]): RawBuilder<unknown> {
  if (dialect === "postgres")
    return sql`select * from unnest(
      ${rows.map((r) => r.run_uuid)}::text[], ${rows.map((r) => r.key)}::text[], ${rows.map((r) => r.value)}::float8[],
      ${rows.map((r) => r.timestamp)}::int8[], ${rows.map((r) => r.step)}::int8[], ${rows.map((r) => r.is_nan)}::int4[])`;
  return sql`values ${sql.join(rows.map((r) => sql`(${r.run_uuid}, ${r.key}, ${r.value}, ${r.timestamp}, ${r.step}, ${r.is_nan})`))}`;
}

async function upsertRunTags(trx: TrackingDb, runId: string, tags: Tag[]): Promise<void> {
  await trx
    .insertInto("tags")
    .values(tags.map((t) => ({ run_uuid: runId, key: t.key, value: t.value })))
    .onConflict((oc) =>
      oc.columns(["run_uuid", "key"]).doUpdateSet((eb) => ({ value: eb.ref("excluded.value") })),
    )
    .execute();
}

function metricRow(
  runId: string,
  metric: { key: string; value: number; timestamp: number; step: number },
): MetricsTable {
  const nan = Number.isNaN(metric.value);
  return {
    run_uuid: runId,
    key: metric.key,
    value: nan ? 0 : metric.value,
    timestamp: metric.timestamp,
    step: metric.step,
    is_nan: nan ? 1 : 0,
  };
}

function compareMetricRows(a: MetricsTable, b: MetricsTable): number {
  return (
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) ||
    a.step - b.step ||
    a.timestamp - b.timestamp ||
    a.is_nan - b.is_nan ||
    a.value - b.value
  );
}

/** The latest row per key: highest step, then timestamp, then NaN over numbers, then value. */
function latestPerKey(sortedRows: MetricsTable[]): MetricsTable[] {
  const latest = new Map<string, MetricsTable>();
  for (const row of sortedRows) latest.set(row.key, row);
  return [...latest.values()];
}

function toMetric(row: MetricsTable): Metric {
  return {
    key: row.key,
    value: row.is_nan ? Number.NaN : Number(row.value),
    timestamp: Number(row.timestamp),
    step: Number(row.step),
  };
}

function toRunInfo(row: RunsTable): RunInfo {
  return {
    runId: row.run_uuid,
    runName: row.name,
    experimentId: String(row.experiment_id),
    userId: row.user_id,
    status: row.status as RunStatus,
    startTime: Number(row.start_time),
    endTime: row.end_time === null ? undefined : Number(row.end_time),
    artifactUri: row.artifact_uri,
    lifecycleStage: row.lifecycle_stage as LifecycleStage,
  };
}

function generatedRunName(): string {
  const pick = (words: string[]) => words[Math.floor(Math.random() * words.length)] as string;
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${Math.floor(Math.random() * 1000)}`;
}

function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
