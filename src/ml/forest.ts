// Multi-label random forest: validates inputs, bins features, grows multi-output trees (in
// worker threads sharing the binned data, or in this thread), predicts per-label probabilities,
// and converts a fitted forest to and from plain typed arrays plus a JSON header.
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { InputError } from "../common/errors.ts";
import { startWorker } from "../common/worker-pool.ts";
import { applyBinning, type Binning, fitBinning, MAX_BINS } from "./binning.ts";
import {
  checkIndicator,
  checkNoNaN,
  checkShape,
  type IndicatorMatrix,
  type Matrix,
  type RealMatrix,
} from "./matrix.ts";
import { deriveSeed, Rng } from "./random.ts";
import {
  type BootstrapGroups,
  drawBootstrap,
  type GrownTree,
  growTree,
  type TrainingData,
  type TreeArrays,
  type TreeParams,
  TreeWorkspace,
} from "./tree.ts";

export type MaxFeatures = "sqrt" | "log2" | "all" | number;
export type ClassWeight = "none" | "balanced";

export interface ForestOptions {
  /** Number of trees (default 100). */
  nTrees?: number;
  /** Deepest level a node may have, the root being 0 (default unlimited). */
  maxDepth?: number;
  /** Fewest distinct training rows a node needs to be split (default 2). */
  minSamplesSplit?: number;
  /** Fewest distinct training rows in each child of a split (default 1). */
  minSamplesLeaf?: number;
  /**
   * Features searched per split: "sqrt" (default), "log2", "all", an integer count, or a
   * fraction in (0, 1) of the features.
   */
  maxFeatures?: MaxFeatures;
  /** Grow each tree on a bootstrap sample (default true). */
  bootstrap?: boolean;
  /**
   * A group number per training row (an artist's tracks, say): bootstrap samples then draw whole
   * groups, as many draws as there are groups unless `maxSamples` says otherwise, and a row is
   * out of a tree's bag only when its whole group is (see outOfBagProba).
   */
  groups?: Int32Array;
  /**
   * Rows drawn per bootstrap sample: a fraction in (0, 1] of the rows, or an integer count > 1
   * (default: as many as there are rows).
   */
  maxSamples?: number;
  /**
   * "balanced" weights each label's positives by n/(2·positives) and negatives by
   * n/(2·negatives), counted on all training rows, in that label's gini and leaf probability
   * only (sklearn would multiply the labels' weights into one row weight); a label with a
   * single class keeps weight 1. Default "none".
   */
  classWeight?: ClassWeight;
  /** Quantile bins per feature, at most 255 (default 255). */
  maxBins?: number;
  /** Seed of all randomness (default 0): equal seeds give equal forests. */
  seed?: number;
  /** Worker threads; 0 trains in the calling thread (default: available cores). */
  workers?: number;
}

export interface ResolvedForestOptions {
  nTrees: number;
  maxDepth: number | null;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  maxFeatures: MaxFeatures;
  bootstrap: boolean;
  maxSamples: number | null;
  /** Whether bootstrap samples drew groups of rows. */
  groupedBootstrap: boolean;
  classWeight: ClassWeight;
  maxBins: number;
  seed: number;
}

export interface ForestInfo {
  nFeatures: number;
  nLabels: number;
  options: ResolvedForestOptions;
  /** Mean decrease in impurity per feature, summing to 1 (all 0 if no tree split). */
  featureImportances: Float64Array;
}

export class RandomForest {
  constructor(
    readonly info: ForestInfo,
    readonly trees: readonly TreeArrays[],
  ) {}

  get nFeatures(): number {
    return this.info.nFeatures;
  }

  get nLabels(): number {
    return this.info.nLabels;
  }

  get featureImportances(): Float64Array {
    return this.info.featureImportances;
  }

  /** Per-label positive probability: the mean over trees of the leaf probabilities. */
  predictProba(x: RealMatrix): Matrix<Float64Array> {
    checkFeatures(x, this.nFeatures);
    const { rows: n, cols: d, data } = x;
    const L = this.nLabels;
    const out = new Float64Array(n * L);
    for (const tree of this.trees) {
      const { feature, threshold, left, right, values } = tree;
      for (let i = 0; i < n; i++) {
        const row = i * d;
        let node = 0;
        let f = feature[0] as number;
        while (f >= 0) {
          node =
            (data[row + f] as number) <= (threshold[node] as number)
              ? (left[node] as number)
              : (right[node] as number);
          f = feature[node] as number;
        }
        const at = (left[node] as number) * L;
        const o = i * L;
        for (let k = 0; k < L; k++)
          out[o + k] = (out[o + k] as number) + (values[at + k] as number);
      }
    }
    const scale = 1 / this.trees.length;
    for (let j = 0; j < out.length; j++) out[j] = (out[j] as number) * scale;
    return { data: out, rows: n, cols: L };
  }

  /** Labels whose probability exceeds `threshold` (0.5 matches sklearn's `predict`). */
  predict(x: RealMatrix, threshold = 0.5): IndicatorMatrix {
    const p = this.predictProba(x);
    const out = new Uint8Array(p.data.length);
    for (let j = 0; j < out.length; j++) out[j] = (p.data[j] as number) > threshold ? 1 : 0;
    return { data: out, rows: p.rows, cols: p.cols };
  }
}

function checkFeatures(x: RealMatrix, nFeatures: number): void {
  checkShape(x.data, x.rows, x.cols, "features");
  if (x.cols !== nFeatures) {
    throw new InputError(`features: the forest expects ${nFeatures} columns, got ${x.cols}`);
  }
  checkNoNaN(x, "features");
}

function positiveInt(value: number, name: string, min = 1): number {
  if (!Number.isInteger(value) || value < min) {
    throw new InputError(`${name} must be an integer ≥ ${min}, got ${value}`);
  }
  return value;
}

export function resolveOptions(options: ForestOptions = {}): ResolvedForestOptions {
  const maxDepth = options.maxDepth ?? null;
  if (maxDepth !== null) positiveInt(maxDepth, "maxDepth", 0);
  const maxFeatures = options.maxFeatures ?? "sqrt";
  if (typeof maxFeatures === "number") {
    const ok = Number.isInteger(maxFeatures)
      ? maxFeatures >= 1
      : maxFeatures > 0 && maxFeatures < 1;
    if (!ok) {
      throw new InputError(
        `maxFeatures must be an integer ≥ 1 or a fraction in (0, 1), got ${maxFeatures}`,
      );
    }
  } else if (!["sqrt", "log2", "all"].includes(maxFeatures)) {
    throw new InputError(
      `maxFeatures must be "sqrt", "log2", "all" or a number, got ${maxFeatures}`,
    );
  }
  const bootstrap = options.bootstrap ?? true;
  const maxSamples = options.maxSamples ?? null;
  if (maxSamples !== null) {
    if (!bootstrap) throw new InputError("maxSamples needs bootstrap");
    const ok = maxSamples > 0 && (maxSamples <= 1 || Number.isInteger(maxSamples));
    if (!ok) {
      throw new InputError(
        `maxSamples must be a fraction in (0, 1] or an integer count, got ${maxSamples}`,
      );
    }
  }
  if (options.groups !== undefined && !bootstrap) throw new InputError("groups need bootstrap");
  const classWeight = options.classWeight ?? "none";
  if (classWeight !== "none" && classWeight !== "balanced") {
    throw new InputError(`classWeight must be "none" or "balanced", got ${classWeight}`);
  }
  const maxBins = options.maxBins ?? MAX_BINS;
  if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > MAX_BINS) {
    throw new InputError(`maxBins must be an integer in [2, ${MAX_BINS}], got ${maxBins}`);
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new InputError(`seed must be an integer, got ${seed}`);
  return {
    nTrees: positiveInt(options.nTrees ?? 100, "nTrees"),
    maxDepth,
    minSamplesSplit: positiveInt(options.minSamplesSplit ?? 2, "minSamplesSplit", 2),
    minSamplesLeaf: positiveInt(options.minSamplesLeaf ?? 1, "minSamplesLeaf"),
    maxFeatures,
    bootstrap,
    maxSamples,
    groupedBootstrap: options.groups !== undefined,
    classWeight,
    maxBins,
    seed,
  };
}

/** `nRows`: the rows, or the groups when the bootstrap draws groups. */
function treeParams(o: ResolvedForestOptions, nRows: number, nFeatures: number): TreeParams {
  let mtry: number;
  const mf = o.maxFeatures;
  if (mf === "sqrt") mtry = Math.floor(Math.sqrt(nFeatures));
  else if (mf === "log2") mtry = Math.floor(Math.log2(nFeatures));
  else if (mf === "all") mtry = nFeatures;
  else if (Number.isInteger(mf)) {
    if (mf > nFeatures) {
      throw new InputError(`maxFeatures ${mf} exceeds the ${nFeatures} features`);
    }
    mtry = mf;
  } else mtry = Math.floor(mf * nFeatures);
  let draws = nRows;
  if (o.maxSamples !== null) {
    draws = o.maxSamples <= 1 ? Math.round(o.maxSamples * nRows) : o.maxSamples;
    if (draws > nRows) {
      throw new InputError(`maxSamples ${o.maxSamples} exceeds the ${nRows} rows`);
    }
  }
  return {
    maxDepth: o.maxDepth ?? Number.POSITIVE_INFINITY,
    minSamplesSplit: o.minSamplesSplit,
    minSamplesLeaf: o.minSamplesLeaf,
    maxFeatures: Math.max(1, mtry),
    bootstrap: o.bootstrap,
    maxSamples: Math.max(1, draws),
  };
}

/** Everything a tree needs, in buffers that can be shared with workers. */
export interface SharedInputs {
  data: TrainingData;
  params: TreeParams;
}

function allocate(bytes: number, shared: boolean): ArrayBuffer | SharedArrayBuffer {
  return shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);
}

/** Checks the training inputs and returns the tree parameters they give. */
function validate(
  x: RealMatrix,
  y: IndicatorMatrix,
  o: ResolvedForestOptions,
  groups: BootstrapGroups | null,
): TreeParams {
  checkShape(x.data, x.rows, x.cols, "features");
  checkIndicator(y, "labels");
  if (x.rows !== y.rows) {
    throw new InputError(`features have ${x.rows} rows but labels have ${y.rows}`);
  }
  if (x.rows === 0) throw new InputError("no training rows");
  if (x.cols === 0) throw new InputError("no features");
  if (y.cols === 0) throw new InputError("no labels");
  if (y.cols > 65535) throw new InputError(`at most 65535 labels, got ${y.cols}`);
  checkNoNaN(x, "features");
  return treeParams(o, groups === null ? x.rows : groups.groupStart.length - 1, x.cols);
}

/** The rows of each group, from a group number per row (numbers need not be contiguous). */
export function bootstrapGroups(
  groups: Int32Array,
  nRows: number,
  shared = false,
): BootstrapGroups {
  if (groups.length !== nRows) {
    throw new InputError(`groups: ${groups.length} entries for ${nRows} rows`);
  }
  const index = new Map<number, number>();
  const sizes: number[] = [];
  const of = new Int32Array(nRows);
  for (let i = 0; i < nRows; i++) {
    const g = groups[i] as number;
    let k = index.get(g);
    if (k === undefined) {
      k = sizes.length;
      index.set(g, k);
      sizes.push(0);
    }
    of[i] = k;
    sizes[k] = (sizes[k] as number) + 1;
  }
  const groupStart = new Int32Array(allocate(4 * (sizes.length + 1), shared));
  for (let k = 0; k < sizes.length; k++) {
    groupStart[k + 1] = (groupStart[k] as number) + (sizes[k] as number);
  }
  const fill = Int32Array.from(groupStart.subarray(0, sizes.length));
  const groupRows = new Int32Array(allocate(4 * Math.max(nRows, 1), shared));
  for (let i = 0; i < nRows; i++) {
    const k = of[i] as number;
    groupRows[fill[k] as number] = i;
    fill[k] = (fill[k] as number) + 1;
  }
  return { groupStart, groupRows };
}

/**
 * Out-of-bag probabilities of the forest's own training rows `x` (the matrix it was grown on,
 * with the same `groups`): each row's mean over the trees whose bootstrap sample left it out,
 * the samples drawn again from the trees' seeds. Rows no tree left out get NaN; `trees` counts
 * each row's out-of-bag trees.
 */
export function outOfBagProba(
  forest: RandomForest,
  x: RealMatrix,
  groups?: Int32Array,
): { proba: Matrix<Float64Array>; trees: Int32Array } {
  const o = forest.info.options;
  if (!o.bootstrap) throw new InputError("out-of-bag predictions need a bootstrapped forest");
  if ((o.groupedBootstrap === true) !== (groups !== undefined)) {
    throw new InputError(
      o.groupedBootstrap
        ? "out-of-bag predictions: the forest drew groups, pass the same groups"
        : "out-of-bag predictions: the forest drew rows, not groups",
    );
  }
  checkFeatures(x, forest.nFeatures);
  const n = x.rows;
  const grouped = groups === undefined ? null : bootstrapGroups(groups, n);
  const params = treeParams(o, grouped === null ? n : grouped.groupStart.length - 1, x.cols);
  const L = forest.nLabels;
  const d = x.cols;
  const sum = new Float64Array(n * L);
  const count = new Int32Array(n);
  const draws = new Float64Array(n);
  forest.trees.forEach((tree, t) => {
    drawBootstrap(n, grouped, params, new Rng(deriveSeed(o.seed, t)), draws);
    const { feature, threshold, left, right, values } = tree;
    for (let i = 0; i < n; i++) {
      if (draws[i] !== 0) continue;
      let node = 0;
      let f = feature[0] as number;
      while (f >= 0) {
        node =
          (x.data[i * d + f] as number) <= (threshold[node] as number)
            ? (left[node] as number)
            : (right[node] as number);
        f = feature[node] as number;
      }
      const at = (left[node] as number) * L;
      for (let k = 0; k < L; k++)
        sum[i * L + k] = (sum[i * L + k] as number) + (values[at + k] as number);
      count[i] = (count[i] as number) + 1;
    }
  });
  for (let i = 0; i < n; i++) {
    const c = count[i] as number;
    for (let k = 0; k < L; k++)
      sum[i * L + k] = c === 0 ? Number.NaN : (sum[i * L + k] as number) / c;
  }
  return { proba: { data: sum, rows: n, cols: L }, trees: count };
}

/** Bins the features and lays out the labels, in shared memory when `shared`. */
function prepare(
  x: RealMatrix,
  y: IndicatorMatrix,
  o: ResolvedForestOptions,
  params: TreeParams,
  groups: BootstrapGroups | null,
  shared: boolean,
): SharedInputs {
  const n = x.rows;
  const d = x.cols;
  const L = y.cols;
  const binning: Binning = fitBinning(x, { maxBins: o.maxBins, seed: o.seed });
  const binned = applyBinning(binning, x, new Uint8Array(allocate(n * d, shared)));

  const yd = y.data;
  let nnz = 0;
  for (let j = 0; j < yd.length; j++) nnz += yd[j] as number;
  if (nnz > 0x7fffffff) throw new InputError(`too many positive labels (${nnz})`);
  const labelStart = new Int32Array(allocate(4 * (n + 1), shared));
  const labelIndex = new Uint16Array(allocate(2 * Math.max(nnz, 1), shared));
  const positives = new Float64Array(L);
  let p = 0;
  for (let i = 0; i < n; i++) {
    labelStart[i] = p;
    for (let k = 0, base = i * L; k < L; k++) {
      if (yd[base + k] === 1) {
        labelIndex[p++] = k;
        positives[k] = (positives[k] as number) + 1;
      }
    }
  }
  labelStart[n] = p;

  let posWeight: Float64Array | null = null;
  let negWeight: Float64Array | null = null;
  if (o.classWeight === "balanced") {
    posWeight = new Float64Array(L);
    negWeight = new Float64Array(L);
    for (let k = 0; k < L; k++) {
      const pos = positives[k] as number;
      const neg = n - pos;
      const classes = (pos > 0 ? 1 : 0) + (neg > 0 ? 1 : 0);
      posWeight[k] = pos > 0 ? n / (classes * pos) : 1;
      negWeight[k] = neg > 0 ? n / (classes * neg) : 1;
    }
  }
  return {
    data: {
      nRows: n,
      nFeatures: d,
      nLabels: L,
      binned,
      nBins: binning.nBins,
      thresholds: binning.thresholds,
      thresholdStride: binning.maxBins - 1,
      labelStart,
      labelIndex,
      posWeight,
      negWeight,
      groups,
    },
    params,
  };
}

/**
 * Trees at most this size (drawn rows × features) are cheap enough, some milliseconds each, for
 * the calling thread to grow some of them between turns of its event loop.
 */
const CALLER_MAX_CELLS = 1 << 20;

/**
 * Fits a forest on `options.workers` threads (0: this thread, synchronously). When the trees are
 * small the calling thread is one of them, so that it grows trees while the other workers start
 * (a worker takes a few hundred milliseconds to start and warm up, as long as ten such trees).
 * Threads take the next tree from a shared counter; tree t always gets seed t, so the forest does
 * not depend on which thread grew what.
 */
export async function trainForest(
  x: RealMatrix,
  y: IndicatorMatrix,
  options: ForestOptions = {},
): Promise<RandomForest> {
  const o = resolveOptions(options);
  const workers = Math.min(
    positiveInt(options.workers ?? availableParallelism(), "workers", 0),
    o.nTrees,
  );
  if (workers === 0) return trainForestInThread(x, y, options);
  const groups =
    options.groups === undefined ? null : bootstrapGroups(options.groups, x.rows, true);
  const params = validate(x, y, o, groups);
  const callerGrows = params.maxSamples * x.cols <= CALLER_MAX_CELLS;
  const threads = callerGrows ? workers - 1 : workers;
  if (threads === 0) return trainForestInThread(x, y, options);
  // The workers start up while this thread bins the features.
  const pool = new TrainingPool(threads);
  try {
    const inputs = prepare(x, y, o, params, groups, true);
    const trees = await pool.grow(inputs, o, callerGrows);
    return assemble(inputs.data, o, trees);
  } finally {
    pool.close();
  }
}

/** Fits a forest in the calling thread, synchronously. */
export function trainForestInThread(
  x: RealMatrix,
  y: IndicatorMatrix,
  options: ForestOptions = {},
): RandomForest {
  const o = resolveOptions(options);
  const groups = options.groups === undefined ? null : bootstrapGroups(options.groups, x.rows);
  const inputs = prepare(x, y, o, validate(x, y, o, groups), groups, false);
  const trees: GrownTree[] = [];
  const workspace = new TreeWorkspace(inputs.data, inputs.params);
  for (let t = 0; t < o.nTrees; t++) {
    trees.push(growTree(inputs.data, inputs.params, deriveSeed(o.seed, t), workspace));
  }
  return assemble(inputs.data, o, trees);
}

function assemble(data: TrainingData, o: ResolvedForestOptions, grown: GrownTree[]): RandomForest {
  const d = data.nFeatures;
  const importances = new Float64Array(d);
  let counted = 0;
  for (const tree of grown) {
    let sum = 0;
    for (let f = 0; f < d; f++) sum += tree.importances[f] as number;
    if (tree.feature.length <= 1 || !(sum > 0)) continue;
    counted++;
    for (let f = 0; f < d; f++) {
      importances[f] = (importances[f] as number) + (tree.importances[f] as number) / sum;
    }
  }
  if (counted > 0) {
    let total = 0;
    for (let f = 0; f < d; f++) total += importances[f] as number;
    for (let f = 0; f < d; f++) importances[f] = (importances[f] as number) / total;
  }
  const trees: TreeArrays[] = grown.map(({ feature, threshold, left, right, values }) => ({
    feature,
    threshold,
    left,
    right,
    values,
  }));
  return new RandomForest(
    { nFeatures: d, nLabels: data.nLabels, options: o, featureImportances: importances },
    trees,
  );
}

/**
 * Sent once to each worker: it then grows trees `Atomics.add(next, 0, 1)` while that is below
 * `nTrees`, tree t with `deriveSeed(seed, t)`, and posts each one.
 */
export interface WorkerRequest {
  inputs: SharedInputs;
  next: Int32Array;
  nTrees: number;
  seed: number;
}

export interface WorkerReply {
  index: number;
  tree?: GrownTree;
  error?: string;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Worker threads that grow trees from a shared counter, with the calling thread if asked. */
class TrainingPool {
  private readonly workers: Worker[] = [];
  private failure: Error | undefined;
  private onFailure: ((error: Error) => void) | undefined;
  private closed = false;

  constructor(size: number) {
    for (let k = 0; k < size; k++) {
      const w = startWorker(import.meta.url, "forest-worker", undefined);
      w.on("error", (error) => this.fail(error));
      w.on("exit", (code) => {
        if (!this.closed) this.fail(new Error(`a training worker exited early (code ${code})`));
      });
      this.workers.push(w);
    }
  }

  private fail(error: Error): void {
    if (this.failure !== undefined || this.closed) return;
    this.failure = error;
    this.onFailure?.(error);
  }

  async grow(
    inputs: SharedInputs,
    o: ResolvedForestOptions,
    callerGrows: boolean,
  ): Promise<GrownTree[]> {
    const nTrees = o.nTrees;
    const trees: (GrownTree | undefined)[] = new Array(nTrees);
    const next = new Int32Array(new SharedArrayBuffer(4));
    let done = 0;
    let resolveAll: (() => void) | undefined;
    const finished = new Promise<void>((resolve, reject) => {
      resolveAll = resolve;
      this.onFailure = reject;
      if (this.failure !== undefined) reject(this.failure);
    });
    // Awaited below; a worker failing while this thread grows a tree must not go unhandled.
    finished.catch(() => undefined);
    const add = (index: number, tree: GrownTree): void => {
      trees[index] = tree;
      done++;
      if (done === nTrees) resolveAll?.();
    };
    const request: WorkerRequest = { inputs, next, nTrees, seed: o.seed };
    for (const w of this.workers) {
      w.on("message", (reply: WorkerReply) => {
        if (this.failure !== undefined) return;
        if (reply.error !== undefined || reply.tree === undefined) {
          this.fail(
            new Error(`tree ${reply.index} failed in a worker: ${reply.error ?? "no tree"}`),
          );
          return;
        }
        add(reply.index, reply.tree);
      });
      w.postMessage(request);
    }
    if (callerGrows) {
      const workspace = new TreeWorkspace(inputs.data, inputs.params);
      for (;;) {
        if (this.failure !== undefined) break;
        const t = Atomics.add(next, 0, 1);
        if (t >= nTrees) break;
        add(t, growTree(inputs.data, inputs.params, deriveSeed(o.seed, t), workspace));
        // Lets the workers' trees in (and anything else waiting on this thread).
        await nextTurn();
      }
    }
    await finished;
    return trees as GrownTree[];
  }

  close(): void {
    this.closed = true;
    for (const w of this.workers) void w.terminate();
  }
}

export const FOREST_FORMAT = "genre-classifier.random-forest";
export const FOREST_FORMAT_VERSION = 1;

export interface ForestHeader {
  format: typeof FOREST_FORMAT;
  version: number;
  nFeatures: number;
  nLabels: number;
  nTrees: number;
  nNodes: number;
  nLeaves: number;
  options: ResolvedForestOptions;
  featureImportances: number[];
}

/**
 * All trees concatenated. Tree t owns nodes `treeNodeStart[t] … treeNodeStart[t + 1]` and leaves
 * `treeLeafStart[t] … treeLeafStart[t + 1]`; child and leaf indices are relative to the tree.
 */
export interface ForestArrays {
  treeNodeStart: Uint32Array;
  treeLeafStart: Uint32Array;
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** `nLabels` probabilities per leaf. */
  values: Float32Array;
}

export interface SerializedForest {
  header: ForestHeader;
  arrays: ForestArrays;
}

/** Where each tree's nodes and leaves start in the concatenated arrays (see ForestArrays). */
export function treeOffsets(forest: RandomForest): {
  treeNodeStart: Uint32Array;
  treeLeafStart: Uint32Array;
} {
  const L = forest.nLabels;
  const nTrees = forest.trees.length;
  const treeNodeStart = new Uint32Array(nTrees + 1);
  const treeLeafStart = new Uint32Array(nTrees + 1);
  forest.trees.forEach((t, i) => {
    treeNodeStart[i + 1] = (treeNodeStart[i] as number) + t.feature.length;
    treeLeafStart[i + 1] = (treeLeafStart[i] as number) + t.values.length / L;
  });
  return { treeNodeStart, treeLeafStart };
}

/** The header `serializeForest` writes, without copying the trees. */
export function forestHeader(forest: RandomForest): ForestHeader {
  const { treeNodeStart, treeLeafStart } = treeOffsets(forest);
  const nTrees = forest.trees.length;
  return {
    format: FOREST_FORMAT,
    version: FOREST_FORMAT_VERSION,
    nFeatures: forest.nFeatures,
    nLabels: forest.nLabels,
    nTrees,
    nNodes: treeNodeStart[nTrees] as number,
    nLeaves: treeLeafStart[nTrees] as number,
    options: { ...forest.info.options },
    featureImportances: Array.from(forest.featureImportances),
  };
}

export function serializeForest(forest: RandomForest): SerializedForest {
  const L = forest.nLabels;
  const { treeNodeStart, treeLeafStart } = treeOffsets(forest);
  const header = forestHeader(forest);
  const { nNodes, nLeaves } = header;
  const arrays: ForestArrays = {
    treeNodeStart,
    treeLeafStart,
    feature: new Int32Array(nNodes),
    threshold: new Float64Array(nNodes),
    left: new Int32Array(nNodes),
    right: new Int32Array(nNodes),
    values: new Float32Array(nLeaves * L),
  };
  forest.trees.forEach((t, i) => {
    const at = treeNodeStart[i] as number;
    arrays.feature.set(t.feature, at);
    arrays.threshold.set(t.threshold, at);
    arrays.left.set(t.left, at);
    arrays.right.set(t.right, at);
    arrays.values.set(t.values, (treeLeafStart[i] as number) * L);
  });
  return { header, arrays };
}

/** Rebuilds a forest from `serializeForest` output, checking that every index is in range. */
export function deserializeForest(serialized: SerializedForest): RandomForest {
  const { header: h, arrays: a } = serialized;
  const bad = (why: string): never => {
    throw new InputError(`not a valid serialized forest: ${why}`);
  };
  if (h.format !== FOREST_FORMAT) bad(`format is ${String(h.format)}`);
  if (h.version !== FOREST_FORMAT_VERSION) bad(`unsupported version ${h.version}`);
  for (const key of ["nFeatures", "nLabels", "nTrees"] as const) {
    if (!Number.isInteger(h[key]) || h[key] < 1) bad(`${key} is ${h[key]}`);
  }
  const L = h.nLabels;
  if (a.treeNodeStart.length !== h.nTrees + 1 || a.treeLeafStart.length !== h.nTrees + 1) {
    bad("tree offsets do not match nTrees");
  }
  const nNodes = a.treeNodeStart[h.nTrees] as number;
  const nLeaves = a.treeLeafStart[h.nTrees] as number;
  if (nNodes !== h.nNodes || nLeaves !== h.nLeaves) bad("node or leaf counts disagree");
  for (const key of ["feature", "threshold", "left", "right"] as const) {
    if (a[key].length !== nNodes) bad(`${key} has ${a[key].length} entries, expected ${nNodes}`);
  }
  if (a.values.length !== nLeaves * L) bad("values length is not nLeaves × nLabels");
  if (h.featureImportances.length !== h.nFeatures) bad("featureImportances length");
  const trees: TreeArrays[] = [];
  for (let t = 0; t < h.nTrees; t++) {
    const n0 = a.treeNodeStart[t] as number;
    const n1 = a.treeNodeStart[t + 1] as number;
    const l0 = a.treeLeafStart[t] as number;
    const l1 = a.treeLeafStart[t + 1] as number;
    if (n1 <= n0 || l1 <= l0) bad(`tree ${t} is empty`);
    const tree: TreeArrays = {
      feature: a.feature.subarray(n0, n1),
      threshold: a.threshold.subarray(n0, n1),
      left: a.left.subarray(n0, n1),
      right: a.right.subarray(n0, n1),
      values: a.values.subarray(l0 * L, l1 * L),
    };
    const size = n1 - n0;
    const leaves = l1 - l0;
    for (let j = 0; j < size; j++) {
      const f = tree.feature[j] as number;
      const l = tree.left[j] as number;
      const r = tree.right[j] as number;
      if (f < 0) {
        if (l < 0 || l >= leaves) bad(`tree ${t} node ${j}: leaf index ${l} out of range`);
      } else if (f >= h.nFeatures || l <= j || r <= j || l >= size || r >= size) {
        bad(`tree ${t} node ${j}: feature or child out of range`);
      }
    }
    trees.push(tree);
  }
  return new RandomForest(
    {
      nFeatures: h.nFeatures,
      nLabels: L,
      options: { ...h.options },
      featureImportances: Float64Array.from(h.featureImportances),
    },
    trees,
  );
}
