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
  DATASET_CONTEXT_TAG,
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
  type ViewType,
} from "./entities.ts";
import { alreadyExists, invalidParameter, notFound, TrackingError } from "./errors.ts";
import {
  type Condition,
  checkMaxResults,
  decodePageToken,
  encodePageToken,
  type OrderTerm,
  parseFilter,
  parseOrderBy,
  type SearchGrammar,
} from "./filter.ts";
import type { ExperimentsTable, MetricsTable, RunsTable } from "./schema.ts";

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
const RUNS_PAGE_DEFAULT = 1000;
const RUNS_PAGE_LIMIT = 50_000;
const EXPERIMENTS_PAGE_DEFAULT = 1000;
const EXPERIMENTS_PAGE_LIMIT = 50_000;
const ID_CHUNK = 5000;
/** Experiments one run search may name (MLflow sets no limit). */
export const MAX_SEARCH_EXPERIMENT_IDS = 10_000;
const MODEL_HISTORY_TAG = "mlflow.log-model.history";
const MAX_MODEL_HISTORY_LENGTH = 1_048_576;

const RUN_GRAMMAR: SearchGrammar = {
  subject: "runs",
  attributes: {
    run_id: "string",
    run_name: "string",
    status: "string",
    user_id: "string",
    artifact_uri: "string",
    start_time: "number",
    end_time: "number",
  },
  attributeAliases: { created: "start_time", Created: "start_time", run_uuid: "run_id" },
  orderable: ["start_time", "end_time", "run_name", "status", "run_id", "user_id", "artifact_uri"],
  entities: ["metric", "param", "tag", "dataset"],
};

const EXPERIMENT_GRAMMAR: SearchGrammar = {
  subject: "experiments",
  attributes: {
    name: "string",
    experiment_id: "string",
    creation_time: "number",
    last_update_time: "number",
  },
  orderable: ["name", "experiment_id", "creation_time", "last_update_time"],
  entities: ["tag"],
};

const RUN_COLUMNS: Record<string, string> = {
  run_id: "r.run_uuid",
  run_name: "r.name",
  status: "r.status",
  user_id: "r.user_id",
  artifact_uri: "r.artifact_uri",
  start_time: "r.start_time",
  end_time: "r.end_time",
};

const EXPERIMENT_COLUMNS: Record<string, string> = {
  name: "e.name",
  experiment_id: "e.experiment_id",
  creation_time: "e.creation_time",
  last_update_time: "e.last_update_time",
};

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
    const conditions = parseFilter(query.filter, EXPERIMENT_GRAMMAR);
    const order = parseOrderBy(query.orderBy, EXPERIMENT_GRAMMAR);
    const limit = checkMaxResults(
      query.maxResults,
      EXPERIMENTS_PAGE_DEFAULT,
      EXPERIMENTS_PAGE_LIMIT,
    );
    const offset = decodePageToken(query.pageToken);
    const where = [lifecycleCondition(sql.ref("e.lifecycle_stage"), query.viewType)];
    for (const condition of conditions) {
      if (condition.entity === "tag") continue;
      const column = sql.ref(EXPERIMENT_COLUMNS[condition.key] as string);
      where.push(
        condition.key === "experiment_id"
          ? stringComparison(sql`cast(${column} as text)`, condition)
          : columnComparison(column, condition),
      );
    }
    where.push(
      ...keyValueConditions(
        "experiment_tags",
        "experiment_id",
        sql.ref("e.experiment_id"),
        conditions.filter((c) => c.entity === "tag"),
      ),
    );
    const orderBy = order.map((term) => {
      if (term.entity === "tag")
        return orderByValue(
          sql`(select t.value from experiment_tags t where t.experiment_id = e.experiment_id and t.key = ${term.key})`,
          term.ascending,
        );
      return orderByValue(sql.ref(EXPERIMENT_COLUMNS[term.key] as string), term.ascending);
    });
    if (!order.some((t) => t.entity === "attribute" && t.key === "creation_time"))
      orderBy.push(sql`e.creation_time desc`);
    orderBy.push(sql`e.experiment_id desc`);
    const { rows } = await sql<ExperimentRow>`
      select e.* from experiments e
      where ${sql.join(where, sql` and `)}
      order by ${sql.join(orderBy)}
      limit ${limit + 1} offset ${offset}`.execute(this.db);
    return pageOf(rows, limit, offset, (page) => this.withExperimentTags(page));
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
    const row = await this.db
      .selectFrom("runs")
      .selectAll()
      .where("run_uuid", "=", checkRunId(runId))
      .executeTakeFirst();
    if (!row) throw runNotFound(runId);
    return (await this.hydrateRuns([row]))[0] as Run;
  }

  async getRunInfo(runId: string): Promise<RunInfo> {
    const row = await this.db
      .selectFrom("runs")
      .selectAll()
      .where("run_uuid", "=", checkRunId(runId))
      .executeTakeFirst();
    if (!row) throw runNotFound(runId);
    return toRunInfo(row);
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
    if (!Array.isArray(query.experimentIds))
      throw invalidParameter("experiment_ids must be a list of experiment ids");
    if (query.experimentIds.length > MAX_SEARCH_EXPERIMENT_IDS)
      throw invalidParameter(
        `at most ${MAX_SEARCH_EXPERIMENT_IDS} experiment_ids may be searched at once; got ${query.experimentIds.length}`,
      );
    const experimentIds = [
      ...new Set(query.experimentIds.map((id) => Number(checkExperimentId(id)))),
    ];
    const conditions = parseFilter(query.filter, RUN_GRAMMAR);
    const order = parseOrderBy(query.orderBy, RUN_GRAMMAR);
    const limit = checkMaxResults(query.maxResults, RUNS_PAGE_DEFAULT, RUNS_PAGE_LIMIT);
    const offset = decodePageToken(query.pageToken);
    if (experimentIds.length === 0) return { items: [] };
    const where = [
      sql`r.experiment_id in (${sql.join(experimentIds)})`,
      lifecycleCondition(sql.ref("r.lifecycle_stage"), query.viewType),
      ...runConditions(conditions),
    ];
    const orderBy = order.map(runOrder);
    if (!order.some((t) => t.entity === "attribute" && t.key === "start_time"))
      orderBy.push(sql`r.start_time desc`);
    orderBy.push(sql`r.run_uuid asc`);
    const { rows } = await sql<RunsTable>`
      select r.* from runs r
      where ${sql.join(where, sql` and `)}
      order by ${sql.join(orderBy)}
      limit ${limit + 1} offset ${offset}`.execute(this.db);
    return pageOf(rows, limit, offset, (page) => this.hydrateRuns(page));
  }

  // ---- internals

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

// ---- helpers shared with the registry store

export function runNotFound(runId: string) {
  return notFound(`Run with id ${runId} not found`);
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

export function lastByKey<T extends { key: string }>(items: T[]): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) byKey.set(item.key, item);
  return [...byKey.values()];
}

function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export function chunks<T>(items: T[], size = ID_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

// ---- SQL for searches

export function lifecycleCondition(
  column: RawBuilder<unknown>,
  viewType: ViewType | undefined,
): RawBuilder<unknown> {
  switch (viewType ?? "ACTIVE_ONLY") {
    case "ACTIVE_ONLY":
      return sql`${column} = 'active'`;
    case "DELETED_ONLY":
      return sql`${column} = 'deleted'`;
    case "ALL":
      return sql`1 = 1`;
    default:
      throw invalidParameter(
        `view type ${JSON.stringify(viewType)} must be ACTIVE_ONLY, DELETED_ONLY or ALL`,
      );
  }
}

const SQL_OPERATORS: Record<string, string> = {
  "=": "=",
  "!=": "<>",
  ">": ">",
  ">=": ">=",
  "<": "<",
  "<=": "<=",
};

/** A comparison of a string or number column with the condition's value. */
export function columnComparison(
  column: RawBuilder<unknown>,
  condition: Condition,
): RawBuilder<unknown> {
  if (typeof condition.value === "number")
    return sql`${column} ${sql.raw(SQL_OPERATORS[condition.operator] as string)} ${condition.value}`;
  return stringComparison(column, condition);
}

export function stringComparison(
  column: RawBuilder<unknown>,
  condition: Condition,
): RawBuilder<unknown> {
  const value = condition.value;
  switch (condition.operator) {
    case "LIKE":
      return sql`${column} like ${value} escape '\\'`;
    case "ILIKE":
      return sql`lower(${column}) like lower(${value}) escape '\\'`;
    case "IN":
      return sql`${column} in (${sql.join(value as string[])})`;
    case "NOT IN":
      return sql`${column} not in (${sql.join(value as string[])})`;
    case "=":
    case "!=":
      return sql`${column} ${sql.raw(SQL_OPERATORS[condition.operator] as string)} ${value}`;
    default:
      throw invalidParameter(`${condition.operator} does not apply to strings`);
  }
}

/**
 * Whether a child row exists: a scalar subquery rather than EXISTS, because PostgreSQL turns each
 * EXISTS into a semi-join and searches their join orders, a search that grows exponentially with
 * their number (66 s to plan 300 of them), whereas a scalar subquery stays one cheap sub-plan.
 */
function rowTest(from: RawBuilder<unknown>, match: RawBuilder<unknown>[], present: boolean) {
  const row = sql`(select 1 from ${from} where ${sql.join(match, sql` and `)} limit 1)`;
  return present ? sql`${row} is not null` : sql`${row} is null`;
}

/** Conditions grouped by key, IS NULL apart: a child table holds one row per owner and key. */
function byKeyAndPresence(conditions: Condition[]): Condition[][] {
  const groups = new Map<string, Condition[]>();
  for (const condition of conditions)
    push(groups, `${condition.operator === "IS NULL"}:${condition.key}`, condition);
  return [...groups.values()];
}

function isNullTest(condition: Condition): boolean {
  return condition.operator === "IS NULL" || condition.operator === "IS NOT NULL";
}

/**
 * Conditions on a key-value child table (params, tags, experiment tags, model tags), one test
 * per key: `params.a > '1' and params.a < '5'` looks up the param once.
 */
export function keyValueConditions(
  table: string,
  ownerColumn: string,
  owner: RawBuilder<unknown> | ReturnType<typeof sql.ref>,
  conditions: Condition[],
  extraMatch: RawBuilder<unknown> = sql`1 = 1`,
): RawBuilder<unknown>[] {
  return byKeyAndPresence(conditions).map((group) => {
    const first = group[0] as Condition;
    return rowTest(
      sql`${sql.table(table)} kv`,
      [
        sql`kv.${sql.ref(ownerColumn)} = ${owner}`,
        extraMatch,
        sql`kv.key = ${first.key}`,
        ...group.filter((c) => !isNullTest(c)).map((c) => stringComparison(sql.ref("kv.value"), c)),
      ],
      first.operator !== "IS NULL",
    );
  });
}

function runConditions(conditions: Condition[]): RawBuilder<unknown>[] {
  const of = (entity: Condition["entity"]) => conditions.filter((c) => c.entity === entity);
  const metrics = byKeyAndPresence(of("metric")).map((group) =>
    rowTest(
      sql`latest_metrics m`,
      [
        sql`m.run_uuid = r.run_uuid`,
        sql`m.key = ${(group[0] as Condition).key}`,
        sql`m.is_nan = 0`,
        ...group.map((c) => columnComparison(sql.ref("m.value"), c)),
      ],
      true,
    ),
  );
  const datasets = of("dataset").map((condition) =>
    condition.key === "context"
      ? rowTest(
          sql`run_input_tags it`,
          [
            sql`it.run_uuid = r.run_uuid`,
            sql`it.key = ${DATASET_CONTEXT_TAG}`,
            stringComparison(sql.ref("it.value"), condition),
          ],
          true,
        )
      : rowTest(
          sql`run_inputs i join datasets d on d.dataset_uuid = i.dataset_uuid`,
          [
            sql`i.run_uuid = r.run_uuid`,
            stringComparison(sql.ref(`d.${condition.key}`), condition),
          ],
          true,
        ),
  );
  return [
    ...of("attribute").map((c) => columnComparison(sql.ref(RUN_COLUMNS[c.key] as string), c)),
    ...keyValueConditions("params", "run_uuid", sql.ref("r.run_uuid"), of("param")),
    ...keyValueConditions("tags", "run_uuid", sql.ref("r.run_uuid"), of("tag")),
    ...metrics,
    ...datasets,
  ];
}

export function orderByValue(
  value: RawBuilder<unknown> | ReturnType<typeof sql.ref>,
  ascending: boolean,
): RawBuilder<unknown> {
  return sql`${value} ${sql.raw(ascending ? "asc" : "desc")} nulls last`;
}

function runOrder(term: OrderTerm): RawBuilder<unknown> {
  switch (term.entity) {
    case "metric":
      return orderByValue(
        sql`(select m.value from latest_metrics m where m.run_uuid = r.run_uuid and m.key = ${term.key} and m.is_nan = 0)`,
        term.ascending,
      );
    case "param":
      return orderByValue(
        sql`(select p.value from params p where p.run_uuid = r.run_uuid and p.key = ${term.key})`,
        term.ascending,
      );
    case "tag":
      return orderByValue(
        sql`(select t.value from tags t where t.run_uuid = r.run_uuid and t.key = ${term.key})`,
        term.ascending,
      );
    default:
      return orderByValue(sql.ref(RUN_COLUMNS[term.key] as string), term.ascending);
  }
}

/** A page of `limit` items from rows fetched with one extra, which tells whether more follow. */
async function pageOf<R, T>(
  rows: R[],
  limit: number,
  offset: number,
  hydrate: (rows: R[]) => Promise<T[]>,
): Promise<Page<T>> {
  return {
    items: await hydrate(rows.slice(0, limit)),
    nextPageToken: rows.length > limit ? encodePageToken(offset + limit) : undefined,
  };
}
