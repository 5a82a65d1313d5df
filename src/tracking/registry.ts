// The model registry half of the tracking store: registered models, numbered versions that
// point at a run's artifacts (or another version, or a location), tags, and aliases such as
// `champion`. The project uses aliases; MLflow 2.x's deprecated stages are kept and answered
// as MLflow does for its clients.

import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { type Selectable, sql } from "kysely";
import {
  ARTIFACTS_SCHEME,
  artifactRootPath,
  checkArtifactPath,
  joinArtifactPath,
} from "./artifact-uri.ts";
import { isUniqueViolation, type TrackingDatabase, type TrackingDb } from "./database.ts";
import type {
  CreateModelVersionOptions,
  ModelAlias,
  ModelVersion,
  Page,
  RegisteredModel,
  SearchQuery,
  Tag,
} from "./entities.ts";
import {
  aliasNotFound,
  alreadyExists,
  invalidParameter,
  notFound,
  runNotFound,
  TrackingError,
} from "./errors.ts";
import { chunks, lastByKey, push } from "./rows.ts";
import type { ModelVersionsTable, RegisteredModelsTable } from "./schema.ts";
import { MODEL_SEARCH, parseSearch, searchPage, VERSION_SEARCH } from "./search-sql.ts";
import {
  checkAlias,
  checkName,
  checkRunId,
  checkString,
  checkTag,
  checkVersion,
} from "./validation.ts";

type ModelRow = Selectable<RegisteredModelsTable>;
type VersionRow = Selectable<ModelVersionsTable>;

const MAX_DESCRIPTION_LENGTH = 100_000;
const RUNS_SOURCE = /^runs:\/([^/]+)(?:\/(.*))?$/;
/** `models:/<name>/<version|stage|latest>` or `models:/<name>@<alias>`. */
const MODELS_SOURCE = /^models:\/([^/@]+)(?:@([^/]+)|\/([^/]+))$/;
const STAGES = ["None", "Staging", "Production", "Archived"] as const;
const ACTIVE_STAGES = ["Staging", "Production"];

export class RegistryStore {
  /**
   * `localArtifactRoot` is the folder behind `mlflow-artifacts:/` when the object store is a
   * local folder: a `file://` version source inside a run's artifacts there is accepted.
   */
  constructor(
    private readonly database: TrackingDatabase,
    private readonly localArtifactRoot?: string,
  ) {}

  private get db(): TrackingDb {
    return this.database.db;
  }

  async createRegisteredModel(
    name: string,
    options: { description?: string | undefined; tags?: Tag[] | undefined } = {},
  ): Promise<RegisteredModel> {
    checkName(name, "registered model name");
    const description = checkDescription(options.description);
    const tags = lastByKey((options.tags ?? []).map((t) => checkTag(t, "registered model tag")));
    const now = Date.now();
    try {
      await this.database.write(async (trx) => {
        if (
          await trx
            .selectFrom("registered_models")
            .select("name")
            .where("name", "=", name)
            .executeTakeFirst()
        )
          throw modelExists(name);
        await trx
          .insertInto("registered_models")
          .values({
            name,
            creation_time: now,
            last_updated_time: now,
            description,
            last_version: 0,
          })
          .execute();
        if (tags.length > 0)
          await trx
            .insertInto("registered_model_tags")
            .values(tags.map((t) => ({ name, key: t.key, value: t.value })))
            .execute();
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw modelExists(name);
      throw error;
    }
    return this.getRegisteredModel(name);
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    checkName(name, "registered model name");
    const row = await this.db
      .selectFrom("registered_models")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
    if (!row) throw modelNotFound(name);
    return (await this.hydrateModels([row]))[0] as RegisteredModel;
  }

  async searchRegisteredModels(query: SearchQuery = {}): Promise<Page<RegisteredModel>> {
    return searchPage(this.db, MODEL_SEARCH, parseSearch(MODEL_SEARCH, query), (page: ModelRow[]) =>
      this.hydrateModels(page),
    );
  }

  async updateRegisteredModel(
    name: string,
    description: string | undefined,
  ): Promise<RegisteredModel> {
    const text = checkDescription(description);
    await this.database.write(async (trx) => {
      await existingModel(trx, name);
      await trx
        .updateTable("registered_models")
        .set({ description: text, last_updated_time: Date.now() })
        .where("name", "=", name)
        .execute();
    });
    return this.getRegisteredModel(name);
  }

  async renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    checkName(newName, "new_name");
    try {
      await this.database.write(async (trx) => {
        await existingModel(trx, name);
        if (newName === name) return;
        if (
          await trx
            .selectFrom("registered_models")
            .select("name")
            .where("name", "=", newName)
            .executeTakeFirst()
        )
          throw modelExists(newName);
        await trx
          .updateTable("registered_models")
          .set({ name: newName, last_updated_time: Date.now() })
          .where("name", "=", name)
          .execute();
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw modelExists(newName);
      throw error;
    }
    return this.getRegisteredModel(newName);
  }

  /** Deletes the model with its versions, tags and aliases (artifacts stay with their runs). */
  async deleteRegisteredModel(name: string): Promise<void> {
    await this.database.write(async (trx) => {
      await existingModel(trx, name);
      await trx.deleteFrom("registered_models").where("name", "=", name).execute();
    });
  }

  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    const tag = checkTag({ key, value }, "registered model tag");
    await this.database.write(async (trx) => {
      await existingModel(trx, name);
      await trx
        .insertInto("registered_model_tags")
        .values({ name, key: tag.key, value: tag.value })
        .onConflict((oc) => oc.columns(["name", "key"]).doUpdateSet({ value: tag.value }))
        .execute();
    });
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await this.database.write(async (trx) => {
      await existingModel(trx, name);
      const result = await trx
        .deleteFrom("registered_model_tags")
        .where("name", "=", name)
        .where("key", "=", key)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0)
        throw notFound(
          `Registered model ${JSON.stringify(name)} has no tag ${JSON.stringify(key)}`,
        );
    });
  }

  /** Points `alias` at a version, moving it if it pointed elsewhere. */
  async setAlias(name: string, alias: string, version: string): Promise<void> {
    checkAlias(alias);
    const number = Number(checkVersion(version));
    await this.database.write(async (trx) => {
      await existingVersion(trx, name, number);
      await trx
        .insertInto("registered_model_aliases")
        .values({ name, alias, version: number })
        .onConflict((oc) => oc.columns(["name", "alias"]).doUpdateSet({ version: number }))
        .execute();
      await trx
        .updateTable("registered_models")
        .set({ last_updated_time: Date.now() })
        .where("name", "=", name)
        .execute();
    });
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    checkAlias(alias);
    await this.database.write(async (trx) => {
      await existingModel(trx, name);
      await trx
        .deleteFrom("registered_model_aliases")
        .where("name", "=", name)
        .where("alias", "=", alias)
        .execute();
    });
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    checkAlias(alias);
    await existingModel(this.db, name);
    const row = await this.db
      .selectFrom("registered_model_aliases")
      .select("version")
      .where("name", "=", name)
      .where("alias", "=", alias)
      .executeTakeFirst();
    if (!row) throw aliasNotFound(alias);
    return this.getModelVersion(name, String(row.version));
  }

  /** MLflow's latest version per stage, of the stages asked for (all when none are). */
  async getLatestVersions(name: string, stages: string[] = []): Promise<ModelVersion[]> {
    await existingModel(this.db, name);
    const wanted = new Set(stages.map(canonicalStage));
    const latest = (await this.latestPerStage([name])).get(name) ?? [];
    return this.hydrateVersions(
      latest.filter((v) => wanted.size === 0 || wanted.has(v.current_stage)),
    );
  }

  /**
   * MLflow's transition-stage: sets the version's stage (any case of None, Staging,
   * Production, Archived) and, when asked, archives the other versions in that stage.
   */
  async transitionModelVersionStage(
    name: string,
    version: string,
    stage: string,
    archiveExistingVersions = false,
  ): Promise<ModelVersion> {
    const number = Number(checkVersion(version));
    const target = canonicalStage(stage);
    if (archiveExistingVersions && !ACTIVE_STAGES.includes(target))
      throw invalidParameter(
        `Model version transition cannot archive existing model versions because '${stage}' is not an Active stage. Valid stages are ${ACTIVE_STAGES.join(", ")}`,
      );
    await this.database.write(async (trx) => {
      await existingVersion(trx, name, number);
      const now = Date.now();
      if (archiveExistingVersions)
        await trx
          .updateTable("model_versions")
          .set({ current_stage: "Archived", last_updated_time: now })
          .where("name", "=", name)
          .where("version", "!=", number)
          .where("current_stage", "=", target)
          .execute();
      await trx
        .updateTable("model_versions")
        .set({ current_stage: target, last_updated_time: now })
        .where("name", "=", name)
        .where("version", "=", number)
        .execute();
      await trx
        .updateTable("registered_models")
        .set({ last_updated_time: now })
        .where("name", "=", name)
        .execute();
    });
    return this.getModelVersion(name, version);
  }

  /**
   * A new version. The source may be a run's artifacts (`runs:/<run>/<path>`, whatever run
   * `run_id` names), another version (`models:/<name>/<version>`, `@<alias>`, a stage or
   * `latest`: its files' location is resolved now, as MLflow does), an `mlflow-artifacts:`,
   * `s3://` or other location, or a `file://` path inside the artifacts of the run `run_id`.
   */
  async createModelVersion(options: CreateModelVersionOptions): Promise<ModelVersion> {
    const name = checkName(options.name, "registered model name");
    const source = checkString(options.source, "source", 10_000);
    const runId = options.runId ? checkRunId(options.runId) : undefined;
    const fromSource = RUNS_SOURCE.exec(source);
    if (fromSource) {
      checkRunId(fromSource[1]);
      if (fromSource[2]) checkArtifactPath(fromSource[2], `source ${JSON.stringify(source)}`);
    } else checkSourcePath(source);
    const linkedRun = runId ?? fromSource?.[1];
    const description = checkDescription(options.description);
    const tags = lastByKey((options.tags ?? []).map((t) => checkTag(t, "model version tag")));
    const runLink = options.runLink ? checkString(options.runLink, "run_link", 10_000) : "";
    const userId = options.userId ? checkString(options.userId, "user_id", 256) : "";
    const storageLocation = MODELS_SOURCE.test(source)
      ? await this.resolveModelsSource(source)
      : isLocalSource(source)
        ? await this.localSourceLocation(source, runId)
        : null;
    const now = Date.now();
    const version = await this.database.write(async (trx) => {
      for (const run of new Set([linkedRun, fromSource?.[1]]))
        if (
          run &&
          !(await trx
            .selectFrom("runs")
            .select("run_uuid")
            .where("run_uuid", "=", run)
            .executeTakeFirst())
        )
          throw runNotFound(run);
      const counter = await trx
        .updateTable("registered_models")
        .set((eb) => ({ last_version: eb("last_version", "+", 1), last_updated_time: now }))
        .where("name", "=", name)
        .returning("last_version")
        .executeTakeFirst();
      if (!counter) throw modelNotFound(name);
      const number = Number(counter.last_version);
      await trx
        .insertInto("model_versions")
        .values({
          name,
          version: number,
          creation_time: now,
          last_updated_time: now,
          description,
          user_id: userId,
          source,
          storage_location: storageLocation,
          run_id: linkedRun ?? "",
          run_link: runLink,
          status: "READY",
          status_message: "",
        })
        .execute();
      if (tags.length > 0)
        await trx
          .insertInto("model_version_tags")
          .values(tags.map((t) => ({ name, version: number, key: t.key, value: t.value })))
          .execute();
      return number;
    });
    return this.getModelVersion(name, String(version));
  }

  /** Where the version a `models:/` source names keeps its files. */
  private async resolveModelsSource(source: string): Promise<string> {
    const [, model, alias, reference] = MODELS_SOURCE.exec(source) as RegExpExecArray;
    const name = model as string;
    try {
      let version: string;
      if (alias !== undefined) version = (await this.getModelVersionByAlias(name, alias)).version;
      else if (/^\d+$/.test(reference as string)) version = reference as string;
      else {
        const stages = reference?.toLowerCase() === "latest" ? [] : [reference as string];
        const latest = (await this.getLatestVersions(name, stages)).sort(
          (a, b) => Number(b.version) - Number(a.version),
        )[0];
        if (!latest)
          throw notFound(
            `Registered model ${JSON.stringify(name)} has no version in stage ${reference}`,
          );
        version = latest.version;
      }
      return await this.getModelVersionDownloadUri(name, version);
    } catch (error) {
      if (!(error instanceof TrackingError)) throw error;
      throw new TrackingError(
        error.code,
        `Unable to fetch model from model URI source artifact location '${source}'. Error: ${error.message}`,
      );
    }
  }

  /**
   * MLflow takes a local path as a source only inside the artifacts of the run `run_id`; here
   * those are below the local object store's tracking folder, so the path becomes the
   * `mlflow-artifacts:` location of the same files.
   */
  private async localSourceLocation(source: string, runId: string | undefined): Promise<string> {
    const refused = invalidParameter(
      `Invalid model version source: '${source}'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.`,
    );
    if (!runId || this.localArtifactRoot === undefined) throw refused;
    const run = await this.db
      .selectFrom("runs")
      .select("artifact_uri")
      .where("run_uuid", "=", runId)
      .executeTakeFirst();
    if (!run) throw runNotFound(runId);
    if (!run.artifact_uri.startsWith(ARTIFACTS_SCHEME)) throw refused;
    let path: string;
    try {
      path = resolve(source.startsWith("file:") ? fileURLToPath(source) : source);
    } catch {
      throw refused;
    }
    const runFolder = join(
      this.localArtifactRoot,
      ...artifactRootPath(run.artifact_uri).split("/"),
    );
    const inside = relative(runFolder, path);
    if (inside.startsWith("..") || isAbsolute(inside)) throw refused;
    return joinArtifactPath(run.artifact_uri, inside.split(sep).join("/"));
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    const row = await existingVersion(this.db, name, Number(checkVersion(version)));
    return (await this.hydrateVersions([row]))[0] as ModelVersion;
  }

  async searchModelVersions(query: SearchQuery = {}): Promise<Page<ModelVersion>> {
    return searchPage(
      this.db,
      VERSION_SEARCH,
      parseSearch(VERSION_SEARCH, query),
      (page: VersionRow[]) => this.hydrateVersions(page),
    );
  }

  async updateModelVersion(
    name: string,
    version: string,
    description: string | undefined,
  ): Promise<ModelVersion> {
    const number = Number(checkVersion(version));
    const text = checkDescription(description);
    await this.database.write(async (trx) => {
      await existingVersion(trx, name, number);
      await trx
        .updateTable("model_versions")
        .set({ description: text, last_updated_time: Date.now() })
        .where("name", "=", name)
        .where("version", "=", number)
        .execute();
    });
    return this.getModelVersion(name, version);
  }

  /** Deletes the version with its tags and the aliases that pointed at it; its number is not reused. */
  async deleteModelVersion(name: string, version: string): Promise<void> {
    const number = Number(checkVersion(version));
    await this.database.write(async (trx) => {
      await existingVersion(trx, name, number);
      await trx
        .deleteFrom("model_versions")
        .where("name", "=", name)
        .where("version", "=", number)
        .execute();
    });
  }

  async setModelVersionTag(
    name: string,
    version: string,
    key: string,
    value: string,
  ): Promise<void> {
    const number = Number(checkVersion(version));
    const tag = checkTag({ key, value }, "model version tag");
    await this.database.write(async (trx) => {
      await existingVersion(trx, name, number);
      await trx
        .insertInto("model_version_tags")
        .values({ name, version: number, key: tag.key, value: tag.value })
        .onConflict((oc) =>
          oc.columns(["name", "version", "key"]).doUpdateSet({ value: tag.value }),
        )
        .execute();
    });
  }

  async deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
    const number = Number(checkVersion(version));
    await this.database.write(async (trx) => {
      await existingVersion(trx, name, number);
      const result = await trx
        .deleteFrom("model_version_tags")
        .where("name", "=", name)
        .where("version", "=", number)
        .where("key", "=", key)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0)
        throw notFound(`Model version ${name}/${version} has no tag ${JSON.stringify(key)}`);
    });
  }

  /**
   * Where a version's files are: the location resolved when it was created, a `runs:/` source
   * resolved to that run's artifacts, or the source itself.
   */
  async getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    const row = await existingVersion(this.db, name, Number(checkVersion(version)));
    if (row.storage_location) return row.storage_location;
    const fromRun = RUNS_SOURCE.exec(row.source);
    if (!fromRun) return row.source;
    const run = await this.db
      .selectFrom("runs")
      .select("artifact_uri")
      .where("run_uuid", "=", fromRun[1] as string)
      .executeTakeFirst();
    if (!run) throw runNotFound(fromRun[1] as string);
    return joinArtifactPath(run.artifact_uri, fromRun[2] ?? "");
  }

  /** Each model's newest version per stage, stages in the order their first version took them (MLflow's). */
  private async latestPerStage(names: string[]): Promise<Map<string, VersionRow[]>> {
    const latest = new Map<string, VersionRow[]>();
    for (const chunk of chunks(names)) {
      const { rows } = await sql<VersionRow & { first_version: number }>`
        select v.*, (select min(w.version) from model_versions w
                     where w.name = v.name and w.current_stage = v.current_stage) as first_version
        from model_versions v
        where v.name in (${sql.join(chunk)})
          and v.version = (select max(w.version) from model_versions w
                           where w.name = v.name and w.current_stage = v.current_stage)
        order by v.name, first_version`.execute(this.db);
      for (const { first_version: _, ...row } of rows) push(latest, row.name, row);
    }
    return latest;
  }

  private async hydrateModels(rows: ModelRow[]): Promise<RegisteredModel[]> {
    const names = rows.map((r) => r.name);
    const tags = new Map<string, Tag[]>();
    const aliases = new Map<string, ModelAlias[]>();
    for (const chunk of chunks(names)) {
      const [tagRows, aliasRows] = await Promise.all([
        this.db
          .selectFrom("registered_model_tags")
          .selectAll()
          .where("name", "in", chunk)
          .orderBy("key")
          .execute(),
        this.db
          .selectFrom("registered_model_aliases")
          .selectAll()
          .where("name", "in", chunk)
          .orderBy("alias")
          .execute(),
      ]);
      for (const t of tagRows) push(tags, t.name, { key: t.key, value: t.value });
      for (const a of aliasRows)
        push(aliases, a.name, { alias: a.alias, version: String(a.version) });
    }
    const latest = await this.latestPerStage(names);
    const latestVersions = await this.hydrateVersions([...latest.values()].flat());
    const versionsByName = new Map<string, ModelVersion[]>();
    for (const v of latestVersions) push(versionsByName, v.name, v);
    return rows.map((row) => ({
      name: row.name,
      creationTimestamp: Number(row.creation_time),
      lastUpdatedTimestamp: Number(row.last_updated_time),
      description: row.description,
      tags: tags.get(row.name) ?? [],
      aliases: aliases.get(row.name) ?? [],
      latestVersions: versionsByName.get(row.name) ?? [],
    }));
  }

  private async hydrateVersions(rows: VersionRow[]): Promise<ModelVersion[]> {
    const tags = new Map<string, Tag[]>();
    const aliases = new Map<string, string[]>();
    for (const names of chunks([...new Set(rows.map((r) => r.name))])) {
      const [tagRows, aliasRows] = await Promise.all([
        this.db
          .selectFrom("model_version_tags")
          .selectAll()
          .where("name", "in", names)
          .orderBy("key")
          .execute(),
        this.db
          .selectFrom("registered_model_aliases")
          .selectAll()
          .where("name", "in", names)
          .orderBy("alias")
          .execute(),
      ]);
      for (const t of tagRows)
        push(tags, `${t.name}\u0000${t.version}`, { key: t.key, value: t.value });
      for (const a of aliasRows) push(aliases, `${a.name}\u0000${a.version}`, a.alias);
    }
    return rows.map((row) => {
      const id = `${row.name}\u0000${row.version}`;
      return {
        name: row.name,
        version: String(row.version),
        creationTimestamp: Number(row.creation_time),
        lastUpdatedTimestamp: Number(row.last_updated_time),
        userId: row.user_id,
        currentStage: row.current_stage,
        description: row.description,
        source: row.source,
        runId: row.run_id,
        runLink: row.run_link,
        status: "READY",
        statusMessage: row.status_message,
        tags: tags.get(id) ?? [],
        aliases: aliases.get(id) ?? [],
      };
    });
  }
}

function checkDescription(description: string | undefined): string {
  return description === undefined
    ? ""
    : checkString(description, "description", MAX_DESCRIPTION_LENGTH);
}

/** MLflow's canonical stage name for any case of it. */
function canonicalStage(stage: string): string {
  const found = STAGES.find((s) => s.toLowerCase() === stage.toLowerCase());
  if (!found)
    throw invalidParameter(
      `Invalid Model Version stage: ${stage}. Value must be one of ${STAGES.join(", ")}.`,
    );
  return found;
}

/** A local path: a `file:` URI or a path without a scheme. */
function isLocalSource(source: string): boolean {
  return source.startsWith("file:") || !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(source);
}

/** MLflow refuses sources with relative path segments (`..`), percent-encoded or not. */
function checkSourcePath(source: string): void {
  let decoded = source;
  try {
    decoded = decodeURIComponent(source);
  } catch {
    // an undecodable source is checked as written
  }
  if (decoded.split(/[/\\]/).some((segment) => segment === ".."))
    throw invalidParameter(
      `Invalid model version source: '${source}'. If supplying a source as an http, https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided without relative path references present. Please provide an absolute path.`,
    );
  if (source.startsWith(ARTIFACTS_SCHEME)) artifactRootPath(source);
}

function modelNotFound(name: string) {
  return notFound(`Registered model ${JSON.stringify(name)} not found`);
}

function modelExists(name: string) {
  return alreadyExists(`Registered model ${JSON.stringify(name)} already exists`);
}

async function existingModel(db: TrackingDb, name: string): Promise<ModelRow> {
  checkName(name, "registered model name");
  const row = await db
    .selectFrom("registered_models")
    .selectAll()
    .where("name", "=", name)
    .executeTakeFirst();
  if (!row) throw modelNotFound(name);
  return row;
}

async function existingVersion(db: TrackingDb, name: string, version: number): Promise<VersionRow> {
  await existingModel(db, name);
  const row = await db
    .selectFrom("model_versions")
    .selectAll()
    .where("name", "=", name)
    .where("version", "=", version)
    .executeTakeFirst();
  if (!row)
    throw notFound(
      `Model version ${version} of registered model ${JSON.stringify(name)} not found`,
    );
  return row;
}
