// The data flows of the pipeline: `ingest` (track files from a folder or archive into the
// store), `preprocess` (the feature table), `split` (train/valid/test and the daily batches) and
// `complete-training`, which runs them and then `train` as subflows. Each step is an "inputs"
// task that digests what the step reads (the source's files, the store objects' etags, the
// feature table's bytes) and a work task cached on the step's parameters and those digests, so a
// run started again after a crash, or with unchanged inputs, reuses what was done. Before the
// work task runs, its cached result is dropped when the store no longer holds what it describes.
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { z } from "zod";
import { InputError } from "../common/errors.ts";
import { readSplitManifest, type SplitManifest } from "../datasets/manifest.ts";
import { DEFAULT_SPLIT_PREFIX, SPLIT_DEFAULTS, splitDataset } from "../datasets/split.ts";
import {
  DEFAULT_FEATURES_KEY,
  DEFAULT_REJECTS_KEY,
  type PreprocessSummary,
  preprocess,
} from "../features/preprocess.ts";
import {
  mergePreprocessParts,
  PartitionPlanner,
  type PreprocessPartHeader,
} from "../features/preprocess-parts.ts";
import { defaultVocabulary, loadVocabulary } from "../features/vocabulary.ts";
import { DEFAULT_RAW_PREFIX, ingest } from "../ingest/ingest.ts";
import { flow, type Task, task } from "../orchestration/api.ts";
import { cacheKeyOf } from "../orchestration/policy.ts";
import { cachedResultKey, ResultStore } from "../orchestration/results.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { pipelineEnvironment, pipelineStore } from "./environment.ts";
import { deleteParts, injectedPartitionFailure, runsPartitioned } from "./partitions.ts";
import { type TrainResult, trainFlow, trainParameters } from "./train.ts";

const notBadInput = (error: unknown) => !(error instanceof InputError);

function sha256(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

/**
 * Drops `work`'s cached result for `cacheKey` when `stillHeld` says the store no longer holds
 * the outputs it describes (deleted, or overwritten by a run with other parameters).
 */
async function hasCachedResult<I, R>(
  store: ObjectStore,
  work: Task<I, R>,
  cacheKey: unknown,
): Promise<boolean> {
  const key = cachedResultKey(cacheKeyOf(work.name, work.options.version ?? "1", cacheKey));
  return (await new ResultStore(store).read(key)) !== undefined;
}

async function dropStaleCache<I, R>(
  store: ObjectStore,
  work: Task<I, R>,
  cacheKey: unknown,
  stillHeld: (result: R) => Promise<boolean>,
): Promise<boolean> {
  const key = cachedResultKey(cacheKeyOf(work.name, work.options.version ?? "1", cacheKey));
  const results = new ResultStore(store);
  const cached = await results.read(key);
  if (cached === undefined || (await stillHeld(cached.value as R))) return false;
  await results.remove(key);
  return true;
}

// ---- ingest ---------------------------------------------------------------------------------

export const ingestParameters = z.strictObject({
  source: z.string().min(1),
  prefix: z.string().min(1).default(DEFAULT_RAW_PREFIX),
});

interface IngestInputs {
  source: string;
  prefix: string;
  cacheKey: { source: string; prefix: string; fingerprint: string };
}

export interface IngestResult {
  source: string;
  target: string;
  found: number;
  copied: number;
  unchanged: number;
  rejected: number;
  /** The first rejections, `path: reason`. */
  rejections: string[];
  skipped: number;
  /** Track files under the prefix after this run. */
  stored: number;
}

/** Sizes and modification times of every file under a folder, or of the archive. */
async function sourceFingerprint(source: string): Promise<string> {
  const info = await stat(source).catch(() => {
    throw new InputError(`ingest source ${source}: no such file or folder`);
  });
  if (!info.isDirectory()) return sha256([info.size, info.mtimeMs]);
  const entries = await readdir(source, { recursive: true, withFileTypes: true });
  const files: [string, number, number][] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const s = await stat(path);
    files.push([relative(source, path), s.size, s.mtimeMs]);
  }
  files.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return sha256(files);
}

async function countObjects(store: ObjectStore, prefix: string): Promise<number> {
  let count = 0;
  for await (const _ of store.listAll(`${prefix}/`)) count++;
  return count;
}

const ingestInputs = task(
  "ingest-inputs",
  async (input: { source: string; prefix: string }): Promise<IngestInputs> => {
    const store = pipelineStore();
    const prefix = input.prefix.replace(/^\/+|\/+$/g, "");
    const cacheKey = { ...input, prefix, fingerprint: await sourceFingerprint(input.source) };
    await dropStaleCache(
      store,
      ingestFiles,
      cacheKey,
      async (done) => (await countObjects(store, prefix)) >= done.stored,
    );
    return { source: input.source, prefix, cacheKey };
  },
  {
    retries: 2,
    retryDelayMs: 500,
    retryIf: notBadInput,
    description: "fingerprints the source's files (sizes, modification times)",
  },
);

const ingestFiles = task(
  "ingest-files",
  async (input: IngestInputs, context): Promise<IngestResult> => {
    const store = pipelineStore();
    const summary = await ingest({ source: input.source, store, prefix: input.prefix });
    const result: IngestResult = {
      source: summary.source,
      target: summary.target,
      found: summary.found,
      copied: summary.copied,
      unchanged: summary.unchanged,
      rejected: summary.rejected.length,
      rejections: summary.rejected.slice(0, 20).map((r) => `${r.path}: ${r.reason}`),
      skipped: summary.skipped,
      stored: await countObjects(store, input.prefix),
    };
    context.log(
      `${result.found} track files: ${result.copied} copied, ${result.unchanged} unchanged, ${result.rejected} rejected; ${result.stored} in ${result.target}/`,
    );
    return result;
  },
  {
    version: "1",
    retries: 2,
    retryDelayMs: 1000,
    retryIf: notBadInput,
    cache: { key: (input) => input.cacheKey },
    description: "copies the source's track files into the store (unchanged ones are skipped)",
  },
);

export const ingestFlow = flow(
  "ingest",
  async (parameters): Promise<IngestResult> => {
    // Workers may run in another folder: the source is taken from where the flow was started.
    const inputs = await ingestInputs({
      source: resolve(parameters.source),
      prefix: parameters.prefix,
    });
    return ingestFiles(inputs);
  },
  {
    parameters: ingestParameters,
    description:
      "copies MSD track files from `source` (a folder or a .tar/.tar.gz/.tgz archive) into the store under `prefix`",
  },
);

// ---- preprocess -----------------------------------------------------------------------------

/** Track files per partition when preprocess runs on queue workers. */
export const DEFAULT_PREPROCESS_PARTITION = 2_000;
/** Where the parts of a partitioned preprocess lie until the merge has read them. */
export const PREPROCESS_PARTS_PREFIX = "datasets/.parts/preprocess";

const partitionSize = (fallback: number) =>
  z.coerce.number().int().min(0).max(10_000_000).default(fallback);

export const preprocessParameters = z.strictObject({
  raw_prefix: z.string().min(1).default(DEFAULT_RAW_PREFIX),
  workers: z.coerce.number().int().min(1).max(1024).optional(),
  partition_size: partitionSize(DEFAULT_PREPROCESS_PARTITION),
});

interface PreprocessInputs {
  rawPrefix: string;
  workers?: number | undefined;
  cacheKey: { rawPrefix: string; files: number; raw: string; settings: string };
  /** Set when the step runs as partitions on queue workers: their parts, in key order. */
  partitions?: { key: string; header: PreprocessPartHeader }[];
}

export interface PreprocessResult
  extends Omit<PreprocessSummary, "features" | "workers" | "seconds"> {
  /** The feature table's key and its etag when written. */
  features: { key: string; etag: string; uri: string };
}

const preprocessInputs = task(
  "preprocess-inputs",
  async (input: {
    rawPrefix: string;
    workers?: number | undefined;
    partitionSize: number;
  }): Promise<PreprocessInputs> => {
    const { config } = pipelineEnvironment();
    const store = pipelineStore();
    const rawPrefix = input.rawPrefix.replace(/^\/+|\/+$/g, "");
    const hash = createHash("sha256");
    const planner = input.partitionSize > 0 ? new PartitionPlanner(input.partitionSize) : undefined;
    let files = 0;
    for await (const object of store.listAll(`${rawPrefix}/`)) {
      hash.update(`${object.key}\t${object.size}\t${object.etag}\n`);
      planner?.add(object.key);
      files++;
    }
    if (files === 0)
      throw new InputError(
        `no track files under ${store.uri}/${rawPrefix}/: run ingest first (or give its source)`,
      );
    const { vocabularyFile, minTermWeight } = config.features;
    const vocabulary = vocabularyFile
      ? createHash("sha256")
          .update(await readFile(vocabularyFile))
          .digest("hex")
      : "default";
    const cacheKey = {
      rawPrefix,
      files,
      raw: hash.digest("hex"),
      settings: sha256({ vocabulary, minTermWeight }),
    };
    const held = async (done: PreprocessResult) =>
      (await store.head(done.features.key))?.etag === done.features.etag;
    const staleOne = await dropStaleCache(store, preprocessFeatures, cacheKey, held);
    const staleMerged = await dropStaleCache(store, preprocessMerge, cacheKey, held);
    const ranges = planner?.finish() ?? [];
    const inputs = { rawPrefix, workers: input.workers, cacheKey };
    // A table either path wrote for these inputs is reused by that path's cached task.
    if (!staleOne && (await hasCachedResult(store, preprocessFeatures, cacheKey))) return inputs;
    if (!staleMerged && (await hasCachedResult(store, preprocessMerge, cacheKey)))
      return { ...inputs, partitions: [] };
    if (
      !runsPartitioned(
        ranges.reduce((n, r) => n + r.files, 0),
        input.partitionSize,
      )
    )
      return inputs;
    const plan = sha256({ cacheKey, partitionSize: input.partitionSize }).slice(0, 16);
    const partitions = ranges.map((range, index) => ({
      key: `${PREPROCESS_PARTS_PREFIX}/${plan}/part-${String(index).padStart(5, "0")}.gcpart`,
      header: {
        step: "preprocess",
        index,
        partitions: ranges.length,
        range,
        plan,
      } satisfies PreprocessPartHeader,
    }));
    return { ...inputs, partitions };
  },
  {
    retries: 2,
    retryDelayMs: 500,
    retryIf: notBadInput,
    description: "digests the track files in the store (keys, sizes, etags) and the genre settings",
  },
);

const preprocessFeatures = task(
  "preprocess-features",
  async (input: PreprocessInputs, context): Promise<PreprocessResult> => {
    const { config } = pipelineEnvironment();
    const store = pipelineStore();
    const vocabulary = config.features.vocabularyFile
      ? await loadVocabulary(config.features.vocabularyFile)
      : defaultVocabulary();
    const summary = await preprocess({
      store,
      vocabulary,
      minTermWeight: config.features.minTermWeight,
      rawPrefix: input.rawPrefix,
      featuresKey: DEFAULT_FEATURES_KEY,
      rejectsKey: DEFAULT_REJECTS_KEY,
      workers: input.workers,
    });
    const written = await store.head(DEFAULT_FEATURES_KEY);
    context.log(
      `${summary.files} track files: ${summary.tracks} tracks (${summary.genres} genres), ${summary.rejects} rejects`,
    );
    return {
      files: summary.files,
      tracks: summary.tracks,
      tracksWithoutGenres: summary.tracksWithoutGenres,
      rejects: summary.rejects,
      rejectReasons: summary.rejectReasons,
      genres: summary.genres,
      features: { key: DEFAULT_FEATURES_KEY, etag: written?.etag ?? "", uri: summary.features },
      rejectsTable: summary.rejectsTable,
    };
  },
  {
    version: "1",
    retries: 1,
    retryDelayMs: 1000,
    retryIf: notBadInput,
    cache: { key: (input) => input.cacheKey },
    description: "reads every track file in the store and writes the feature table",
  },
);

interface PreprocessPartInput {
  rawPrefix: string;
  workers?: number | undefined;
  key: string;
  header: PreprocessPartHeader;
}

export interface PreprocessPartResult {
  index: number;
  key: string;
  files: number;
  rows: number;
  rejects: number;
  bytes: number;
  seconds: number;
}

const preprocessPart = task(
  "preprocess-part",
  async (input: PreprocessPartInput, context): Promise<PreprocessPartResult> => {
    const { config } = pipelineEnvironment();
    const store = pipelineStore();
    const { header } = input;
    const vocabulary = config.features.vocabularyFile
      ? await loadVocabulary(config.features.vocabularyFile)
      : defaultVocabulary();
    // A retried partition writes its part again under the same key: the merge reads one part
    // per planned range, so what a failed attempt left is overwritten, never merged twice.
    const summary = await preprocess({
      store,
      vocabulary,
      minTermWeight: config.features.minTermWeight,
      rawPrefix: input.rawPrefix,
      workers: input.workers ?? 1,
      part: { key: input.key, range: header.range, header },
    });
    injectedPartitionFailure("preprocess", header.index, context.attempt);
    context.log(
      `partition ${header.index + 1}/${header.partitions}: ${summary.files} track files → ${summary.tracks} rows, ${summary.rejects} rejects in ${summary.seconds.toFixed(1)} s`,
    );
    return {
      index: header.index,
      key: input.key,
      files: summary.files,
      rows: summary.tracks,
      rejects: summary.rejects,
      bytes: summary.partBytes ?? 0,
      seconds: summary.seconds,
    };
  },
  {
    retries: 2,
    retryDelayMs: 1000,
    retryIf: notBadInput,
    description: "reads one range of track files into a part for the merge",
  },
);

const preprocessMerge = task(
  "preprocess-merge",
  async (
    input: PreprocessInputs & { parts: PreprocessPartResult[] },
    context,
  ): Promise<PreprocessResult> => {
    const store = pipelineStore();
    const partitions = input.partitions ?? [];
    const summary = await mergePreprocessParts({
      store,
      rawPrefix: input.rawPrefix,
      parts: partitions,
      featuresKey: DEFAULT_FEATURES_KEY,
      rejectsKey: DEFAULT_REJECTS_KEY,
    });
    const written = await store.head(DEFAULT_FEATURES_KEY);
    await deleteParts(
      store,
      partitions.map((p) => p.key),
    );
    context.log(
      `${partitions.length} parts merged: ${summary.files} track files, ${summary.features} tracks (${summary.genres} genres), ${summary.rejects} rejects`,
    );
    return {
      files: summary.files,
      tracks: summary.features,
      tracksWithoutGenres: summary.withoutGenres,
      rejects: summary.rejects,
      rejectReasons: summary.rejectReasons,
      genres: summary.genres,
      features: {
        key: DEFAULT_FEATURES_KEY,
        etag: written?.etag ?? "",
        uri: `${store.uri}/${DEFAULT_FEATURES_KEY}`,
      },
      rejectsTable: `${store.uri}/${DEFAULT_REJECTS_KEY}`,
    };
  },
  {
    version: "1",
    retries: 1,
    retryDelayMs: 1000,
    retryIf: notBadInput,
    cache: { key: (input) => input.cacheKey },
    description: "merges the parts of a partitioned preprocess into the feature table",
  },
);

export const preprocessFlow = flow(
  "preprocess",
  async (parameters): Promise<PreprocessResult> => {
    const inputs = await preprocessInputs({
      rawPrefix: parameters.raw_prefix,
      workers: parameters.workers,
      partitionSize: parameters.partition_size,
    });
    if (inputs.partitions === undefined) return preprocessFeatures(inputs);
    const parts = await Promise.all(
      preprocessPart
        .map(
          inputs.partitions.map((partition) => ({
            rawPrefix: inputs.rawPrefix,
            workers: inputs.workers,
            ...partition,
          })),
        )
        .map((run) => run.result()),
    );
    return preprocessMerge({ ...inputs, parts });
  },
  {
    parameters: preprocessParameters,
    description: `reads the track files under \`raw_prefix\` and writes the feature table ${DEFAULT_FEATURES_KEY}; on queue workers as partitions of \`partition_size\` track files (0: one task) merged into the same table`,
  },
);

// ---- split ----------------------------------------------------------------------------------

const splitShape = {
  test_years: z.coerce.number().int().min(1).max(1000).default(SPLIT_DEFAULTS.testYears),
  batch_size: z.coerce.number().int().min(1).max(10_000_000).default(SPLIT_DEFAULTS.batchSize),
  valid_fraction: z.coerce.number().gt(0).lt(1).default(SPLIT_DEFAULTS.validFraction),
  split: z.enum(["artist", "random"]).default(SPLIT_DEFAULTS.strategy),
};
const splitSeed = z.coerce.number().int().min(0).max(2_147_483_647).default(SPLIT_DEFAULTS.seed);

export const splitFlowParameters = z.strictObject({ ...splitShape, seed: splitSeed });
export type SplitFlowParameters = z.output<typeof splitFlowParameters>;

interface SplitInputs {
  parameters: SplitFlowParameters;
  cacheKey: { parameters: SplitFlowParameters; features: string };
}

export interface SplitResult {
  manifestKey: string;
  manifestDigest: string;
  storeUri: string;
  counts: SplitManifest["counts"];
  years: SplitManifest["years"];
  outputs: { train: string; valid: string; test: string };
  dailyPrefix: string;
  staleDaysRemoved: number;
}

const MANIFEST_KEY = `${DEFAULT_SPLIT_PREFIX}/manifest.json`;

const splitInputs = task(
  "split-inputs",
  async (parameters: SplitFlowParameters): Promise<SplitInputs> => {
    const store = pipelineStore();
    const features = await store.head(DEFAULT_FEATURES_KEY);
    if (features === undefined)
      throw new InputError(
        `no feature table at ${store.uri}/${DEFAULT_FEATURES_KEY}: run preprocess first`,
      );
    const cacheKey = { parameters, features: `${features.size}:${features.etag}` };
    await dropStaleCache(store, splitTables, cacheKey, async (done) => {
      if (!(await store.exists(MANIFEST_KEY))) return false;
      const manifest = await readSplitManifest(store, MANIFEST_KEY).catch(() => undefined);
      return manifest?.digest === done.manifestDigest;
    });
    return { parameters, cacheKey };
  },
  {
    retries: 2,
    retryDelayMs: 500,
    retryIf: notBadInput,
    description: "digests the feature table (size, etag) the split reads",
  },
);

const splitTables = task(
  "split-tables",
  async (input: SplitInputs, context): Promise<SplitResult> => {
    const store = pipelineStore();
    const p = input.parameters;
    const summary = await splitDataset(store, {
      seed: p.seed,
      testYears: p.test_years,
      batchSize: p.batch_size,
      validFraction: p.valid_fraction,
      strategy: p.split,
    });
    const { manifest } = summary;
    const tracks = manifest.counts.tracks;
    context.log(
      `train ${tracks.train}, valid ${tracks.valid}, test ${tracks.test} tracks in ${manifest.counts.days} days of up to ${manifest.counts.batchSize}`,
    );
    return {
      manifestKey: summary.manifestKey,
      manifestDigest: manifest.digest,
      storeUri: store.uri,
      counts: manifest.counts,
      years: manifest.years,
      outputs: {
        train: manifest.outputs.train.key,
        valid: manifest.outputs.valid.key,
        test: manifest.outputs.test.key,
      },
      dailyPrefix: manifest.days[0]?.tracks.key.replace(/\/day=[^/]*\/.*$/, "") ?? "daily",
      staleDaysRemoved: summary.staleDaysRemoved,
    };
  },
  {
    version: "1",
    retries: 1,
    retryDelayMs: 1000,
    retryIf: notBadInput,
    cache: { key: (input) => input.cacheKey },
    description: "writes the train, valid and test tables, the daily batches and the manifest",
  },
);

export const splitFlow = flow(
  "split",
  async (parameters): Promise<SplitResult> => splitTables(await splitInputs(parameters)),
  {
    parameters: splitFlowParameters,
    description:
      "splits the feature table: the newest `test_years` release years into daily batches of `batch_size`, the rest into train and valid by artist (`split=random`: at random)",
  },
);

// ---- complete-training ----------------------------------------------------------------------

const trainShape = trainParameters.shape;

export const completeTrainingParameters = z.strictObject({
  source: z.string().min(1).optional(),
  raw_prefix: z.string().min(1).default(DEFAULT_RAW_PREFIX),
  workers: z.coerce.number().int().min(1).max(1024).optional(),
  partition_size: partitionSize(DEFAULT_PREPROCESS_PARTITION),
  ...splitShape,
  /** The split's seed; `seed` is the model's. */
  split_seed: splitSeed,
  ...trainShape,
});

export interface CompleteTrainingResult {
  ingest: IngestResult | null;
  preprocess: PreprocessResult;
  split: SplitResult;
  train: TrainResult;
}

export const completeTrainingFlow = flow(
  "complete-training",
  async (parameters, context): Promise<CompleteTrainingResult> => {
    const {
      source,
      raw_prefix,
      workers,
      partition_size,
      test_years,
      batch_size,
      valid_fraction,
      split,
      split_seed,
      ...train
    } = parameters;
    const ingested =
      source === undefined
        ? null
        : await ingestFlow({ source: resolve(source), prefix: raw_prefix });
    if (ingested === null)
      context.log("no source given: preprocessing the track files already in the store");
    const features = await preprocessFlow({
      raw_prefix,
      partition_size,
      ...(workers === undefined ? {} : { workers }),
    });
    const splitResult = await splitFlow({
      test_years,
      batch_size,
      valid_fraction,
      split,
      seed: split_seed,
    });
    const trained = await trainFlow(train);
    return { ingest: ingested, preprocess: features, split: splitResult, train: trained };
  },
  {
    parameters: completeTrainingParameters,
    description:
      "ingest (when `source` is given) → preprocess → split → train, as subflows; `split_seed` seeds the split, `seed` the model",
  },
);
