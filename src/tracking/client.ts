// The tracking client the pipeline uses: MLflow's operations plus the conveniences a training
// step needs (log a folder, register a run's model, download a version by alias). One
// interface, two implementations: StoreTrackingClient here (straight to the SQL store and the
// object store) and HttpTrackingClient (to a tracking server, over MLflow's REST API).
import { lstat, mkdir, readdir, stat } from "node:fs/promises";
import { basename, join, relative, sep } from "node:path";
import type { ObjectStore } from "../storage/object-store.ts";
import { checkArtifactPath, joinArtifactPath } from "./artifact-uri.ts";
import { type ArtifactEntry, ArtifactRepository } from "./artifacts.ts";
import { openTrackingDatabase, type TrackingDatabase } from "./database.ts";
import {
  type CreateModelVersionOptions,
  DATASET_CONTEXT_TAG,
  type Dataset,
  type DatasetInput,
  type Experiment,
  type FileInfo,
  type LogBatch,
  type Metric,
  type ModelVersion,
  type Page,
  type RegisteredModel,
  type Run,
  type RunInfo,
  type RunStatus,
  type SearchExperimentsQuery,
  type SearchQuery,
  type SearchRunsQuery,
  type Tag,
  type UpdateRunOptions,
} from "./entities.ts";
import { missingAliasAsNotFound, TrackingError } from "./errors.ts";
import { RegistryStore } from "./registry.ts";
import { currentUser, TrackingStore } from "./store.ts";

export type TagInput = Tag[] | Record<string, string>;
export type ParamValue = string | number | boolean;

export interface StartRunOptions {
  runName?: string | undefined;
  tags?: TagInput | undefined;
  startTime?: number | undefined;
  userId?: string | undefined;
}

export interface TrackingClient {
  /** The tracking URI, password masked. */
  readonly uri: string;

  createExperiment(
    name: string,
    options?: { artifactLocation?: string; tags?: TagInput },
  ): Promise<string>;
  getExperiment(experimentId: string): Promise<Experiment>;
  /** Undefined when no experiment has that name. */
  getExperimentByName(name: string): Promise<Experiment | undefined>;
  /** The experiment with that name, created when missing (and restored when deleted). */
  getOrCreateExperiment(name: string): Promise<Experiment>;
  searchExperiments(query?: SearchExperimentsQuery): Promise<Page<Experiment>>;
  renameExperiment(experimentId: string, newName: string): Promise<void>;
  deleteExperiment(experimentId: string): Promise<void>;
  restoreExperiment(experimentId: string): Promise<void>;
  setExperimentTag(experimentId: string, key: string, value: string): Promise<void>;

  startRun(experimentId: string, options?: StartRunOptions): Promise<Run>;
  /** Sets the final status (FINISHED unless told) and the end time. */
  endRun(runId: string, status?: RunStatus, endTime?: number): Promise<RunInfo>;
  updateRun(runId: string, update: UpdateRunOptions): Promise<RunInfo>;
  getRun(runId: string): Promise<Run>;
  deleteRun(runId: string): Promise<void>;
  restoreRun(runId: string): Promise<void>;
  searchRuns(query: SearchRunsQuery): Promise<Page<Run>>;
  logParam(runId: string, key: string, value: ParamValue): Promise<void>;
  logParams(runId: string, params: Record<string, ParamValue>): Promise<void>;
  logMetric(
    runId: string,
    key: string,
    value: number,
    options?: { step?: number; timestamp?: number },
  ): Promise<void>;
  logMetrics(
    runId: string,
    metrics: Record<string, number>,
    options?: { step?: number; timestamp?: number },
  ): Promise<void>;
  logBatch(runId: string, batch: LogBatch): Promise<void>;
  setTag(runId: string, key: string, value: string): Promise<void>;
  deleteTag(runId: string, key: string): Promise<void>;
  logInputs(runId: string, inputs: DatasetInput[]): Promise<void>;
  /** Records a dataset the run used, with its role (`training`, `validation`, `test`…). */
  logDataset(runId: string, dataset: Dataset, context?: string): Promise<void>;
  getMetricHistory(runId: string, key: string): Promise<Metric[]>;

  logArtifactBytes(runId: string, artifactPath: string, bytes: Uint8Array | string): Promise<void>;
  /** Uploads a file as `<artifactDir>/<its name>`; returns that artifact path. */
  logArtifactFile(runId: string, localFile: string, artifactDir?: string): Promise<string>;
  /** Uploads every file below a folder under `artifactDir`; returns the artifact paths. */
  logArtifactFolder(runId: string, localDir: string, artifactDir?: string): Promise<string[]>;
  listArtifacts(runId: string, path?: string): Promise<FileInfo[]>;
  /** Downloads a file or a folder of the run's artifacts into `targetDir`; returns the local path. */
  downloadArtifacts(runId: string, path: string, targetDir: string): Promise<string>;

  createRegisteredModel(
    name: string,
    options?: { description?: string; tags?: TagInput },
  ): Promise<RegisteredModel>;
  getRegisteredModel(name: string): Promise<RegisteredModel>;
  searchRegisteredModels(query?: SearchQuery): Promise<Page<RegisteredModel>>;
  updateRegisteredModel(name: string, description: string): Promise<RegisteredModel>;
  renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel>;
  deleteRegisteredModel(name: string): Promise<void>;
  setRegisteredModelTag(name: string, key: string, value: string): Promise<void>;
  deleteRegisteredModelTag(name: string, key: string): Promise<void>;
  createModelVersion(options: CreateModelVersionOptions): Promise<ModelVersion>;
  /** Registers `runs:/<runId>/<artifactPath>` as a new version, creating the model when missing. */
  registerModelVersion(
    name: string,
    runId: string,
    artifactPath: string,
    options?: { description?: string; tags?: TagInput },
  ): Promise<ModelVersion>;
  getModelVersion(name: string, version: string): Promise<ModelVersion>;
  searchModelVersions(query?: SearchQuery): Promise<Page<ModelVersion>>;
  updateModelVersion(name: string, version: string, description: string): Promise<ModelVersion>;
  deleteModelVersion(name: string, version: string): Promise<void>;
  setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void>;
  deleteModelVersionTag(name: string, version: string, key: string): Promise<void>;
  getLatestVersions(name: string, stages?: string[]): Promise<ModelVersion[]>;
  setAlias(name: string, alias: string, version: string): Promise<void>;
  deleteAlias(name: string, alias: string): Promise<void>;
  getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion>;
  getModelVersionDownloadUri(name: string, version: string): Promise<string>;
  /** Downloads a version's files into `targetDir`; returns it. */
  downloadModelVersion(name: string, version: string, targetDir: string): Promise<string>;

  close(): Promise<void>;
}

export function toTags(tags: TagInput | undefined): Tag[] {
  if (tags === undefined) return [];
  return Array.isArray(tags) ? tags : Object.entries(tags).map(([key, value]) => ({ key, value }));
}

/** The conveniences, written once over the operations each implementation provides. */
export abstract class BaseTrackingClient implements TrackingClient {
  abstract readonly uri: string;
  private readonly artifactUris = new Map<string, string>();

  abstract createExperiment(
    name: string,
    options?: { artifactLocation?: string; tags?: TagInput },
  ): Promise<string>;
  abstract getExperiment(experimentId: string): Promise<Experiment>;
  abstract getExperimentByName(name: string): Promise<Experiment | undefined>;
  abstract searchExperiments(query?: SearchExperimentsQuery): Promise<Page<Experiment>>;
  abstract renameExperiment(experimentId: string, newName: string): Promise<void>;
  abstract deleteExperiment(experimentId: string): Promise<void>;
  abstract restoreExperiment(experimentId: string): Promise<void>;
  abstract setExperimentTag(experimentId: string, key: string, value: string): Promise<void>;
  abstract startRun(experimentId: string, options?: StartRunOptions): Promise<Run>;
  abstract updateRun(runId: string, update: UpdateRunOptions): Promise<RunInfo>;
  abstract getRun(runId: string): Promise<Run>;
  abstract deleteRun(runId: string): Promise<void>;
  abstract restoreRun(runId: string): Promise<void>;
  abstract searchRuns(query: SearchRunsQuery): Promise<Page<Run>>;
  abstract logBatch(runId: string, batch: LogBatch): Promise<void>;
  abstract deleteTag(runId: string, key: string): Promise<void>;
  abstract logInputs(runId: string, inputs: DatasetInput[]): Promise<void>;
  abstract getMetricHistory(runId: string, key: string): Promise<Metric[]>;
  abstract createRegisteredModel(
    name: string,
    options?: { description?: string; tags?: TagInput },
  ): Promise<RegisteredModel>;
  abstract getRegisteredModel(name: string): Promise<RegisteredModel>;
  abstract searchRegisteredModels(query?: SearchQuery): Promise<Page<RegisteredModel>>;
  abstract updateRegisteredModel(name: string, description: string): Promise<RegisteredModel>;
  abstract renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel>;
  abstract deleteRegisteredModel(name: string): Promise<void>;
  abstract setRegisteredModelTag(name: string, key: string, value: string): Promise<void>;
  abstract deleteRegisteredModelTag(name: string, key: string): Promise<void>;
  abstract createModelVersion(options: CreateModelVersionOptions): Promise<ModelVersion>;
  abstract getModelVersion(name: string, version: string): Promise<ModelVersion>;
  abstract searchModelVersions(query?: SearchQuery): Promise<Page<ModelVersion>>;
  abstract updateModelVersion(
    name: string,
    version: string,
    description: string,
  ): Promise<ModelVersion>;
  abstract deleteModelVersion(name: string, version: string): Promise<void>;
  abstract setModelVersionTag(
    name: string,
    version: string,
    key: string,
    value: string,
  ): Promise<void>;
  abstract deleteModelVersionTag(name: string, version: string, key: string): Promise<void>;
  abstract getLatestVersions(name: string, stages?: string[]): Promise<ModelVersion[]>;
  abstract setAlias(name: string, alias: string, version: string): Promise<void>;
  abstract deleteAlias(name: string, alias: string): Promise<void>;
  abstract getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion>;
  abstract getModelVersionDownloadUri(name: string, version: string): Promise<string>;
  abstract close(): Promise<void>;

  /** Writes bytes or a local file at `path` inside the artifact location `artifactUri`. */
  protected abstract putArtifact(
    artifactUri: string,
    path: string,
    body: { bytes: Uint8Array | string } | { file: string },
  ): Promise<void>;
  /** The entries directly inside `path` of the artifact location. */
  protected abstract listArtifactEntries(
    artifactUri: string,
    path: string,
  ): Promise<ArtifactEntry[]>;
  protected abstract downloadArtifactFile(
    artifactUri: string,
    path: string,
    target: string,
  ): Promise<void>;

  async getOrCreateExperiment(name: string): Promise<Experiment> {
    const existing = await this.getExperimentByName(name);
    if (existing) {
      if (existing.lifecycleStage === "deleted")
        await this.restoreExperiment(existing.experimentId);
      return existing.lifecycleStage === "deleted"
        ? this.getExperiment(existing.experimentId)
        : existing;
    }
    try {
      return await this.getExperiment(await this.createExperiment(name));
    } catch (error) {
      if (error instanceof TrackingError && error.code === "RESOURCE_ALREADY_EXISTS")
        return (await this.getExperimentByName(name)) as Experiment;
      throw error;
    }
  }

  endRun(runId: string, status: RunStatus = "FINISHED", endTime = Date.now()): Promise<RunInfo> {
    return this.updateRun(runId, { status, endTime });
  }

  logParam(runId: string, key: string, value: ParamValue): Promise<void> {
    return this.logBatch(runId, { params: [{ key, value: String(value) }] });
  }

  logParams(runId: string, params: Record<string, ParamValue>): Promise<void> {
    return this.logBatch(runId, {
      params: Object.entries(params).map(([key, value]) => ({ key, value: String(value) })),
    });
  }

  logMetric(
    runId: string,
    key: string,
    value: number,
    options: { step?: number; timestamp?: number } = {},
  ): Promise<void> {
    return this.logBatch(runId, {
      metrics: [{ key, value, step: options.step, timestamp: options.timestamp }],
    });
  }

  logMetrics(
    runId: string,
    metrics: Record<string, number>,
    options: { step?: number; timestamp?: number } = {},
  ): Promise<void> {
    const timestamp = options.timestamp ?? Date.now();
    return this.logBatch(runId, {
      metrics: Object.entries(metrics).map(([key, value]) => ({
        key,
        value,
        step: options.step,
        timestamp,
      })),
    });
  }

  setTag(runId: string, key: string, value: string): Promise<void> {
    return this.logBatch(runId, { tags: [{ key, value }] });
  }

  logDataset(runId: string, dataset: Dataset, context?: string): Promise<void> {
    const tags = context === undefined ? [] : [{ key: DATASET_CONTEXT_TAG, value: context }];
    return this.logInputs(runId, [{ dataset, tags }]);
  }

  async logArtifactBytes(
    runId: string,
    artifactPath: string,
    bytes: Uint8Array | string,
  ): Promise<void> {
    await this.putArtifact(await this.artifactUriOf(runId), checkArtifactPath(artifactPath), {
      bytes,
    });
  }

  async logArtifactFile(runId: string, localFile: string, artifactDir = ""): Promise<string> {
    const path = joinArtifactPath(
      artifactDir === "" ? "" : checkArtifactPath(artifactDir),
      basename(localFile),
    );
    await this.putArtifact(await this.artifactUriOf(runId), checkArtifactPath(path), {
      file: localFile,
    });
    return path;
  }

  async logArtifactFolder(runId: string, localDir: string, artifactDir = ""): Promise<string[]> {
    const root = await this.artifactUriOf(runId);
    const prefix = artifactDir === "" ? "" : checkArtifactPath(artifactDir);
    const files = await filesBelow(localDir);
    const paths: string[] = [];
    for (const file of files) {
      const path = joinArtifactPath(prefix, relative(localDir, file).split(sep).join("/"));
      await this.putArtifact(root, checkArtifactPath(path), { file });
      paths.push(path);
    }
    return paths;
  }

  async listArtifacts(runId: string, path = ""): Promise<FileInfo[]> {
    const folder = path === "" ? "" : checkArtifactPath(path);
    const entries = await this.listArtifactEntries(await this.artifactUriOf(runId), folder);
    return entries.map((e) => ({
      path: joinArtifactPath(folder, e.name),
      isDir: e.isDir,
      fileSize: e.size,
    }));
  }

  async downloadArtifacts(runId: string, path: string, targetDir: string): Promise<string> {
    return this.downloadTree(
      await this.artifactUriOf(runId),
      path === "" ? "" : checkArtifactPath(path),
      targetDir,
    );
  }

  async registerModelVersion(
    name: string,
    runId: string,
    artifactPath: string,
    options: { description?: string; tags?: TagInput } = {},
  ): Promise<ModelVersion> {
    try {
      await this.createRegisteredModel(name);
    } catch (error) {
      if (!(error instanceof TrackingError && error.code === "RESOURCE_ALREADY_EXISTS"))
        throw error;
    }
    return this.createModelVersion({
      name,
      source: `runs:/${runId}/${checkArtifactPath(artifactPath)}`,
      runId,
      description: options.description,
      tags: toTags(options.tags),
    });
  }

  async downloadModelVersion(name: string, version: string, targetDir: string): Promise<string> {
    const uri = await this.getModelVersionDownloadUri(name, version);
    await this.downloadTree(uri, "", targetDir);
    return targetDir;
  }

  protected async artifactUriOf(runId: string): Promise<string> {
    let uri = this.artifactUris.get(runId);
    if (uri === undefined) {
      uri = (await this.getRun(runId)).info.artifactUri;
      this.artifactUris.set(runId, uri);
    }
    return uri;
  }

  /** Downloads `path` (a file, or a folder with everything below it) into `targetDir`. */
  private async downloadTree(
    artifactUri: string,
    path: string,
    targetDir: string,
  ): Promise<string> {
    const entries = await this.listArtifactEntries(artifactUri, path);
    if (entries.length === 0 && path !== "") {
      const target = join(targetDir, basename(path));
      await mkdir(targetDir, { recursive: true });
      await this.downloadArtifactFile(artifactUri, path, target);
      return target;
    }
    const local = path === "" ? targetDir : join(targetDir, basename(path));
    await mkdir(local, { recursive: true });
    for (const entry of entries) {
      const name = checkArtifactPath(entry.name, "artifact name from the store");
      const child = joinArtifactPath(path, name);
      if (entry.isDir) await this.downloadTree(artifactUri, child, local);
      else await this.downloadArtifactFile(artifactUri, child, join(local, name));
    }
    return local;
  }
}

/** Every regular file below a folder, in a stable order; symbolic links are skipped. */
async function filesBelow(dir: string): Promise<string[]> {
  const info = await stat(dir);
  if (!info.isDirectory())
    throw new TrackingError("INVALID_PARAMETER_VALUE", `${dir} is not a folder`);
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && !(await lstat(path)).isSymbolicLink()) files.push(path);
  }
  return files.sort();
}

/** A client straight to the SQL store and the object store: the embedded default. */
export class StoreTrackingClient extends BaseTrackingClient {
  readonly uri: string;
  readonly tracking: TrackingStore;
  readonly registry: RegistryStore;
  readonly artifacts: ArtifactRepository;

  constructor(
    private readonly database: TrackingDatabase,
    objectStore: ObjectStore,
  ) {
    super();
    this.uri = database.displayUri;
    this.tracking = new TrackingStore(database);
    this.artifacts = new ArtifactRepository(objectStore);
    this.registry = new RegistryStore(database, this.artifacts.localArtifactRoot());
  }

  static async open(uri: string, objectStore: ObjectStore): Promise<StoreTrackingClient> {
    return new StoreTrackingClient(await openTrackingDatabase(uri), objectStore);
  }

  createExperiment(
    name: string,
    options: { artifactLocation?: string; tags?: TagInput } = {},
  ): Promise<string> {
    return this.tracking.createExperiment(name, {
      artifactLocation: options.artifactLocation,
      tags: toTags(options.tags),
    });
  }
  getExperiment(experimentId: string): Promise<Experiment> {
    return this.tracking.getExperiment(experimentId);
  }
  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    try {
      return await this.tracking.getExperimentByName(name);
    } catch (error) {
      if (error instanceof TrackingError && error.code === "RESOURCE_DOES_NOT_EXIST")
        return undefined;
      throw error;
    }
  }
  searchExperiments(query?: SearchExperimentsQuery): Promise<Page<Experiment>> {
    return this.tracking.searchExperiments(query);
  }
  renameExperiment(experimentId: string, newName: string): Promise<void> {
    return this.tracking.renameExperiment(experimentId, newName);
  }
  deleteExperiment(experimentId: string): Promise<void> {
    return this.tracking.deleteExperiment(experimentId);
  }
  restoreExperiment(experimentId: string): Promise<void> {
    return this.tracking.restoreExperiment(experimentId);
  }
  setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    return this.tracking.setExperimentTag(experimentId, key, value);
  }
  startRun(experimentId: string, options: StartRunOptions = {}): Promise<Run> {
    return this.tracking.createRun({
      experimentId,
      runName: options.runName,
      tags: toTags(options.tags),
      startTime: options.startTime,
      userId: options.userId ?? currentUser(),
    });
  }
  updateRun(runId: string, update: UpdateRunOptions): Promise<RunInfo> {
    return this.tracking.updateRun(runId, update);
  }
  getRun(runId: string): Promise<Run> {
    return this.tracking.getRun(runId);
  }
  deleteRun(runId: string): Promise<void> {
    return this.tracking.deleteRun(runId);
  }
  restoreRun(runId: string): Promise<void> {
    return this.tracking.restoreRun(runId);
  }
  searchRuns(query: SearchRunsQuery): Promise<Page<Run>> {
    return this.tracking.searchRuns(query);
  }
  logBatch(runId: string, batch: LogBatch): Promise<void> {
    return this.tracking.logBatch(runId, batch);
  }
  deleteTag(runId: string, key: string): Promise<void> {
    return this.tracking.deleteTag(runId, key);
  }
  logInputs(runId: string, inputs: DatasetInput[]): Promise<void> {
    return this.tracking.logInputs(runId, inputs);
  }
  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    return (await this.tracking.getMetricHistory(runId, key)).items;
  }
  createRegisteredModel(
    name: string,
    options: { description?: string; tags?: TagInput } = {},
  ): Promise<RegisteredModel> {
    return this.registry.createRegisteredModel(name, {
      description: options.description,
      tags: toTags(options.tags),
    });
  }
  getRegisteredModel(name: string): Promise<RegisteredModel> {
    return this.registry.getRegisteredModel(name);
  }
  searchRegisteredModels(query?: SearchQuery): Promise<Page<RegisteredModel>> {
    return this.registry.searchRegisteredModels(query);
  }
  updateRegisteredModel(name: string, description: string): Promise<RegisteredModel> {
    return this.registry.updateRegisteredModel(name, description);
  }
  renameRegisteredModel(name: string, newName: string): Promise<RegisteredModel> {
    return this.registry.renameRegisteredModel(name, newName);
  }
  deleteRegisteredModel(name: string): Promise<void> {
    return this.registry.deleteRegisteredModel(name);
  }
  setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    return this.registry.setRegisteredModelTag(name, key, value);
  }
  deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    return this.registry.deleteRegisteredModelTag(name, key);
  }
  createModelVersion(options: CreateModelVersionOptions): Promise<ModelVersion> {
    return this.registry.createModelVersion({ userId: currentUser(), ...options });
  }
  getModelVersion(name: string, version: string): Promise<ModelVersion> {
    return this.registry.getModelVersion(name, version);
  }
  searchModelVersions(query?: SearchQuery): Promise<Page<ModelVersion>> {
    return this.registry.searchModelVersions(query);
  }
  updateModelVersion(name: string, version: string, description: string): Promise<ModelVersion> {
    return this.registry.updateModelVersion(name, version, description);
  }
  deleteModelVersion(name: string, version: string): Promise<void> {
    return this.registry.deleteModelVersion(name, version);
  }
  setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    return this.registry.setModelVersionTag(name, version, key, value);
  }
  deleteModelVersionTag(name: string, version: string, key: string): Promise<void> {
    return this.registry.deleteModelVersionTag(name, version, key);
  }
  getLatestVersions(name: string, stages?: string[]): Promise<ModelVersion[]> {
    return this.registry.getLatestVersions(name, stages);
  }
  setAlias(name: string, alias: string, version: string): Promise<void> {
    return this.registry.setAlias(name, alias, version);
  }
  deleteAlias(name: string, alias: string): Promise<void> {
    return this.registry.deleteAlias(name, alias);
  }
  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    try {
      return await this.registry.getModelVersionByAlias(name, alias);
    } catch (error) {
      throw missingAliasAsNotFound(error, name, alias);
    }
  }
  getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    return this.registry.getModelVersionDownloadUri(name, version);
  }
  async close(): Promise<void> {
    await this.database.close();
  }

  protected async putArtifact(
    artifactUri: string,
    path: string,
    body: { bytes: Uint8Array | string } | { file: string },
  ): Promise<void> {
    const location = this.artifacts.locate(artifactUri, path);
    if ("file" in body) await this.artifacts.putFile(location, body.file);
    else await this.artifacts.put(location, body.bytes);
  }
  protected listArtifactEntries(artifactUri: string, path: string): Promise<ArtifactEntry[]> {
    return this.artifacts.list(this.artifacts.locate(artifactUri, path));
  }
  protected async downloadArtifactFile(
    artifactUri: string,
    path: string,
    target: string,
  ): Promise<void> {
    await this.artifacts.getFile(this.artifacts.locate(artifactUri, path), target);
  }
}
