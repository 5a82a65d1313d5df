// The tracking data model, as MLflow's: experiments, runs with params, metrics, tags and
// dataset inputs, registered models, their versions and aliases. Times are milliseconds since
// the epoch; ids are strings as in MLflow's REST API.

export type LifecycleStage = "active" | "deleted";
export const RUN_STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export type ViewType = "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";

export interface Tag {
  key: string;
  value: string;
}

export interface Experiment {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: LifecycleStage;
  creationTime: number;
  lastUpdateTime: number;
  tags: Tag[];
}

export interface RunInfo {
  runId: string;
  runName: string;
  experimentId: string;
  userId: string;
  status: RunStatus;
  startTime: number;
  endTime: number | undefined;
  artifactUri: string;
  lifecycleStage: LifecycleStage;
}

export interface Metric {
  key: string;
  /** NaN and ±Infinity are kept as such. */
  value: number;
  timestamp: number;
  step: number;
}

export interface Param {
  key: string;
  value: string;
}

export interface Dataset {
  name: string;
  digest: string;
  sourceType: string;
  source: string;
  schema?: string | undefined;
  profile?: string | undefined;
}

export interface DatasetInput {
  dataset: Dataset;
  /** `mlflow.data.context` holds the role: `training`, `validation`, `test`… */
  tags: Tag[];
}

export interface RunData {
  /** The latest value of each metric (highest step, then timestamp, then value). */
  metrics: Metric[];
  params: Param[];
  tags: Tag[];
}

export interface Run {
  info: RunInfo;
  data: RunData;
  inputs: { datasetInputs: DatasetInput[] };
}

export interface ModelVersion {
  name: string;
  /** A positive whole number, as a string (MLflow's wire type). */
  version: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  userId: string;
  /** Always "None": stages are deprecated in favour of aliases. */
  currentStage: string;
  description: string;
  source: string;
  runId: string;
  runLink: string;
  status: "READY";
  statusMessage: string;
  tags: Tag[];
  aliases: string[];
}

export interface ModelAlias {
  alias: string;
  version: string;
}

export interface RegisteredModel {
  name: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  description: string;
  tags: Tag[];
  aliases: ModelAlias[];
  /** The newest version (MLflow lists the latest per stage; with stages unused, one). */
  latestVersions: ModelVersion[];
}

export interface FileInfo {
  /** Relative to the listed root: `model/forest.bin`. */
  path: string;
  isDir: boolean;
  fileSize?: number | undefined;
}

export interface Page<T> {
  items: T[];
  /** Pass back to get the next page; undefined on the last page. */
  nextPageToken?: string | undefined;
}

export interface SearchQuery {
  filter?: string | undefined;
  orderBy?: string[] | undefined;
  maxResults?: number | undefined;
  pageToken?: string | undefined;
}

export interface SearchExperimentsQuery extends SearchQuery {
  viewType?: ViewType | undefined;
}

export interface SearchRunsQuery extends SearchQuery {
  experimentIds: string[];
  viewType?: ViewType | undefined;
}

export interface MetricInput {
  key: string;
  value: number;
  timestamp?: number | undefined;
  step?: number | undefined;
}

export interface LogBatch {
  metrics?: MetricInput[] | undefined;
  params?: Param[] | undefined;
  tags?: Tag[] | undefined;
}

export interface CreateRunOptions {
  experimentId: string;
  runName?: string | undefined;
  userId?: string | undefined;
  startTime?: number | undefined;
  tags?: Tag[] | undefined;
}

export interface UpdateRunOptions {
  status?: RunStatus | undefined;
  endTime?: number | undefined;
  runName?: string | undefined;
}

export interface CreateModelVersionOptions {
  name: string;
  source: string;
  runId?: string | undefined;
  runLink?: string | undefined;
  description?: string | undefined;
  tags?: Tag[] | undefined;
  userId?: string | undefined;
}

export const RUN_NAME_TAG = "mlflow.runName";
export const DATASET_CONTEXT_TAG = "mlflow.data.context";
