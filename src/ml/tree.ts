// One multi-output classification tree grown on binned features: a single tree serves every
// label, each leaf holding each label's positive probability, and splits minimise the gini
// impurity summed over labels (per-label class weights enter only that label's gini).
//
// Nodes are split depth-first. A node of more than HIST_MIN_SAMPLES rows builds per-bin
// histograms for its split search; a smaller one sorts its rows by bin instead. Without class
// weights the summed gini of a candidate split is kept up to date incrementally from Σp, Σp² and
// Σp·T over the labels, so each row costs only its own positive labels; with class weights each
// candidate costs one pass over the node's impure labels. The sort, the unweighted scan, the
// partition of a node's rows and the per-label sums of a child run in WebAssembly
// (split-kernel.ts), on buffers of the tree's rows laid out in the kernel's memory.
import { Rng } from "./random.ts";
import { type SplitKernel, splitKernel } from "./split-kernel.ts";

export interface TrainingData {
  nRows: number;
  nFeatures: number;
  nLabels: number;
  /** Bin codes, column-major: `binned[f * nRows + i]`. */
  binned: Uint8Array;
  nBins: Uint16Array;
  /** Raw thresholds, `thresholdStride` slots per feature (see binning.ts). */
  thresholds: Float64Array;
  thresholdStride: number;
  /** Positive labels of row i: `labelIndex[labelStart[i] … labelStart[i + 1])`. */
  labelStart: Int32Array;
  labelIndex: Uint16Array;
  /** Per-label weights of positive and negative samples; null when unweighted. */
  posWeight: Float64Array | null;
  negWeight: Float64Array | null;
  /** Bootstrap groups: group g's rows are `groupRows[groupStart[g] … groupStart[g + 1])`. */
  groups: BootstrapGroups | null;
}

/** Rows that a bootstrap sample draws together (an artist's tracks, say). */
export interface BootstrapGroups {
  groupStart: Int32Array;
  groupRows: Int32Array;
}

export interface TreeParams {
  maxDepth: number;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  /** Features examined per split. */
  maxFeatures: number;
  bootstrap: boolean;
  /** Rows (groups, when the data has groups) drawn with replacement when bootstrapping. */
  maxSamples: number;
}

/**
 * How many times a tree's bootstrap sample holds each row, into `draws` (1 each without
 * bootstrap). The tree's generator draws the sample before anything else, so the sample of a
 * grown tree can be drawn again from its seed (out-of-bag predictions).
 */
export function drawBootstrap(
  nRows: number,
  groups: BootstrapGroups | null,
  params: TreeParams,
  rng: Rng,
  draws: Float64Array,
): void {
  if (!params.bootstrap) {
    draws.fill(1, 0, nRows);
    return;
  }
  draws.fill(0, 0, nRows);
  if (groups === null) {
    for (let t = 0; t < params.maxSamples; t++) {
      const i = rng.int(nRows);
      draws[i] = (draws[i] as number) + 1;
    }
    return;
  }
  const { groupStart, groupRows } = groups;
  const nGroups = groupStart.length - 1;
  for (let t = 0; t < params.maxSamples; t++) {
    const g = rng.int(nGroups);
    for (let q = groupStart[g] as number, end = groupStart[g + 1] as number; q < end; q++) {
      const i = groupRows[q] as number;
      draws[i] = (draws[i] as number) + 1;
    }
  }
}

/**
 * A fitted tree. `feature[node] < 0` marks a leaf, whose `left[node]` is its row in `values`
 * (`nLabels` probabilities per leaf) and whose `right[node]` is -1. An inner node sends a row
 * left when `x[feature] <= threshold`.
 */
export interface TreeArrays {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  values: Float32Array;
}

export interface GrownTree extends TreeArrays {
  /** Impurity decrease per feature, summed over this tree's splits (not normalised). */
  importances: Float64Array;
}

const HIST_MIN_SAMPLES = 16384;
const KERNEL_CLEARS_MAX = 16;
const INITIAL_NODES = 1 << 16;
const INITIAL_VALUES = 1 << 20;

class Builder {
  private n = 0;
  private nLeaves = 0;
  private cap: number;
  private leafCap: number;
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  values: Float32Array;

  constructor(
    private readonly nLabels: number,
    cap: number,
    leafCap: number,
  ) {
    this.cap = cap;
    this.leafCap = leafCap;
    this.feature = new Int32Array(cap);
    this.threshold = new Float64Array(cap);
    this.left = new Int32Array(cap);
    this.right = new Int32Array(cap);
    this.values = new Float32Array(leafCap * nLabels);
  }

  /** Empties the builder for the next tree, keeping its buffers. */
  reset(): void {
    this.values.fill(0, 0, this.nLeaves * this.nLabels);
    this.n = 0;
    this.nLeaves = 0;
  }

  addNode(): number {
    if (this.n === this.cap) {
      this.cap *= 2;
      this.feature = grow(this.feature, this.cap);
      this.threshold = grow(this.threshold, this.cap);
      this.left = grow(this.left, this.cap);
      this.right = grow(this.right, this.cap);
    }
    return this.n++;
  }

  /** Makes `node` a leaf and returns the offset of its zeroed probabilities in `values`. */
  makeLeaf(node: number): number {
    if (this.nLeaves === this.leafCap) {
      this.leafCap *= 2;
      this.values = grow(this.values, this.leafCap * this.nLabels);
    }
    this.feature[node] = -1;
    this.threshold[node] = 0;
    this.left[node] = this.nLeaves;
    this.right[node] = -1;
    return this.nLeaves++ * this.nLabels;
  }

  /** The tree in arrays of its own (copies: the builder's buffers serve the next tree). */
  finish(): TreeArrays {
    return {
      feature: this.feature.slice(0, this.n),
      threshold: this.threshold.slice(0, this.n),
      left: this.left.slice(0, this.n),
      right: this.right.slice(0, this.n),
      values: this.values.slice(0, this.nLeaves * this.nLabels),
    };
  }
}

function grow<T extends Int32Array | Float64Array | Float32Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

/**
 * Buffers for growing trees on one training set, reused from one tree to the next so that a
 * thread growing many trees allocates (and page-faults) them once. Not shared between threads.
 */
export class TreeWorkspace {
  readonly draws: Float64Array;
  readonly rows: Int32Array;
  readonly mult: Float64Array;
  readonly labelStart: Int32Array;
  readonly labelIndex: Uint16Array;
  readonly binned: Uint8Array;
  readonly idx: Int32Array;
  readonly featPerm: Int32Array;
  readonly active: Int32Array;
  readonly posL: Float64Array;
  readonly rowTotal: Float64Array;
  readonly sortedIdx: Int32Array;
  readonly sortedBin: Uint8Array;
  readonly bucket: Uint8Array;
  readonly histW: Float64Array;
  readonly histC: Int32Array;
  readonly histP: Float64Array;
  /** The split kernel, whose memory holds the buffers above from `idx` to `bucket`. */
  readonly kernel: SplitKernel;
  readonly nodeTotal: Float64Array;
  readonly fillLabel: Int32Array;
  readonly fillSum: Float64Array;
  /** The kernel's results: the best gain of `scan`, the weight of `fill`. */
  readonly kernelOut: Float64Array;
  readonly slotTotal: Float64Array[] = [];
  readonly slotTouched: Int32Array[] = [];
  readonly builder: Builder;
  /** False while a tree is being grown: a tree that failed leaves the buffers unusable. */
  clean = true;

  constructor(
    readonly data: TrainingData,
    params: TreeParams,
  ) {
    const n = data.nRows;
    const d = data.nFeatures;
    const L = data.nLabels;
    const nnz = data.labelStart[n] as number;
    // A tree's rows: at most the draws of its bootstrap sample.
    const m = params.bootstrap && data.groups === null ? Math.min(n, params.maxSamples) : n;
    this.draws = new Float64Array(n);
    this.rows = new Int32Array(m);
    this.featPerm = new Int32Array(d);
    this.active = new Int32Array(L);
    this.histW = new Float64Array(256);
    this.histC = new Int32Array(256);
    this.histP = new Float64Array(256 * L);
    // The buffers the split kernel reads and writes, in its memory.
    const small = Math.min(m, HIST_MIN_SAMPLES);
    const { kernel, views } = splitKernel({
      idx: m,
      binned: m * d,
      mult: m,
      labelStart: m + 1,
      labelIndex: Math.max(Math.min(nnz, m * L), 1),
      rowTotal: m,
      posL: L,
      nodeTotal: L,
      sortedIdx: small,
      sortedBin: small,
      bucket: small,
      histC: 256,
      binStart: 256,
      tmp: m,
      fillTotal: L,
      fillLabel: L,
      fillSum: L,
      out: 2,
    });
    this.kernel = kernel;
    this.idx = views.idx;
    this.binned = views.binned;
    this.mult = views.mult;
    this.labelStart = views.labelStart;
    this.labelIndex = views.labelIndex;
    this.rowTotal = views.rowTotal;
    this.posL = views.posL;
    this.nodeTotal = views.nodeTotal;
    this.sortedIdx = views.sortedIdx;
    this.sortedBin = views.sortedBin;
    this.bucket = views.bucket;
    this.fillLabel = views.fillLabel;
    this.fillSum = views.fillSum;
    this.kernelOut = views.out;
    const maxLeaves = Math.max(
      1,
      Math.min(Math.floor(m / params.minSamplesLeaf), 2 ** Math.min(params.maxDepth, 30)),
    );
    this.builder = new Builder(
      L,
      Math.min(2 * maxLeaves, INITIAL_NODES),
      Math.min(maxLeaves, Math.ceil(INITIAL_VALUES / L)),
    );
  }
}

/** Grows one tree; pass the same workspace to grow several trees on `data` in one thread. */
export function growTree(
  data: TrainingData,
  params: TreeParams,
  seed: number,
  workspace?: TreeWorkspace,
): GrownTree {
  const ws =
    workspace?.clean && workspace.data === data ? workspace : new TreeWorkspace(data, params);
  ws.clean = false;
  const tree = new TreeGrower(data, params, seed, ws).grow();
  ws.clean = true;
  return tree;
}

class TreeGrower {
  private readonly rng: Rng;
  private readonly n: number;
  private readonly d: number;
  private readonly L: number;
  private readonly weighted: boolean;
  private readonly wPos: Float64Array;
  private readonly wNeg: Float64Array;

  /** The drawn rows (compacted when some were not drawn): multiplicities, labels, bins. */
  private readonly mult: Float64Array;
  private readonly labelStart: Int32Array;
  private readonly labelIndex: Uint16Array;
  private readonly binned: Uint8Array;
  private readonly idx: Int32Array;
  private readonly featPerm: Int32Array;

  /**
   * Totals of the node being split (weighted positives per label, the labels having any, the
   * weighted row count), borrowed from a slot. Slots hold the totals of nodes waiting on the
   * stack: a split scans only its smaller child and subtracts it from the parent for the other.
   * A free slot's totals are all 0.
   */
  private total: Float64Array;
  private touched: Int32Array;
  private nTouched = 0;
  private readonly slotTotal: Float64Array[];
  private readonly slotTouched: Int32Array[];
  private readonly slotNTouched: number[] = [];
  private readonly slotNW: number[] = [];
  private readonly freeSlots: number[] = [];
  private readonly active: Int32Array;
  private nActive = 0;
  private nW = 0;
  private t1 = 0;
  private t2 = 0;

  private readonly posL: Float64Array;
  /** Per row of the node being split: the sum of the node totals of the row's labels. */
  private readonly rowTotal: Float64Array;
  private rowTotalsReady = false;
  private readonly sortedIdx: Int32Array;
  private readonly sortedBin: Uint8Array;
  private readonly bucket: Uint8Array;
  /** Histograms of a large node's search, all 0 between searches. */
  private readonly histW: Float64Array;
  private readonly histC: Int32Array;
  private readonly kernel: SplitKernel;
  private readonly nodeTotal: Float64Array;
  private readonly fillLabel: Int32Array;
  private readonly fillSum: Float64Array;
  private readonly kernelOut: Float64Array;
  private readonly histP: Float64Array;
  private readonly builder: Builder;

  private bestScore = 0;
  private bestFeature = -1;
  private bestBin = -1;

  readonly importances: Float64Array;

  constructor(
    private readonly data: TrainingData,
    private readonly params: TreeParams,
    seed: number,
    ws: TreeWorkspace,
  ) {
    this.rng = new Rng(seed);
    this.d = data.nFeatures;
    this.L = data.nLabels;
    this.weighted = data.posWeight !== null && data.negWeight !== null;
    this.wPos = data.posWeight ?? new Float64Array(this.L).fill(1);
    this.wNeg = data.negWeight ?? new Float64Array(this.L).fill(1);
    const n = data.nRows;
    const draws = ws.draws;
    drawBootstrap(n, data.groups, params, this.rng, draws);
    let distinct = 0;
    for (let i = 0; i < n; i++) if (draws[i] !== 0) distinct++;
    {
      // Copy the drawn rows into compact arrays in the kernel's memory (smaller working set,
      // fewer cache misses).
      const rows = ws.rows;
      for (let i = 0, j = 0; i < n; i++) if (draws[i] !== 0) rows[j++] = i;
      const mult = ws.mult;
      const compactStart = ws.labelStart;
      const compactIndex = ws.labelIndex;
      const { labelStart, labelIndex, binned } = data;
      for (let j = 0, p = 0; j < distinct; j++) {
        const i = rows[j] as number;
        mult[j] = draws[i] as number;
        compactStart[j] = p;
        for (let q = labelStart[i] as number, qe = labelStart[i + 1] as number; q < qe; q++) {
          compactIndex[p++] = labelIndex[q] as number;
        }
        compactStart[j + 1] = p;
      }
      const compactBinned = ws.binned;
      for (let f = 0; f < this.d; f++) {
        const from = f * n;
        const to = f * distinct;
        for (let j = 0; j < distinct; j++) {
          compactBinned[to + j] = binned[from + (rows[j] as number)] as number;
        }
      }
      this.mult = mult;
      this.labelStart = compactStart;
      this.labelIndex = compactIndex;
      this.binned = compactBinned;
    }
    this.n = distinct;
    this.idx = ws.idx.subarray(0, distinct);
    for (let j = 0; j < distinct; j++) this.idx[j] = j;
    this.featPerm = ws.featPerm;
    for (let f = 0; f < this.d; f++) this.featPerm[f] = f;
    this.total = new Float64Array(0);
    this.touched = new Int32Array(0);
    this.slotTotal = ws.slotTotal;
    this.slotTouched = ws.slotTouched;
    for (let slot = 0; slot < this.slotTotal.length; slot++) {
      this.slotNTouched.push(0);
      this.slotNW.push(0);
      this.freeSlots.push(slot);
    }
    this.active = ws.active;
    this.posL = ws.posL;
    this.rowTotal = ws.rowTotal;
    this.sortedIdx = ws.sortedIdx;
    this.sortedBin = ws.sortedBin;
    this.bucket = ws.bucket;
    this.histW = ws.histW;
    this.histC = ws.histC;
    this.kernel = ws.kernel;
    this.nodeTotal = ws.nodeTotal;
    this.fillLabel = ws.fillLabel;
    this.fillSum = ws.fillSum;
    this.kernelOut = ws.kernelOut;
    this.histP = ws.histP;
    this.builder = ws.builder;
    this.importances = new Float64Array(this.d);
  }

  grow(): GrownTree {
    const { maxDepth, minSamplesSplit, minSamplesLeaf } = this.params;
    const out = this.builder;
    out.reset();
    const root = this.allocSlot();
    this.fillSlot(root, 0, this.idx.length, -1);
    const stack: number[] = [0, this.idx.length, 0, -1, 0, root];
    const data = this.data;
    while (stack.length > 0) {
      const slot = stack.pop() as number;
      const isLeft = stack.pop() as number;
      const parent = stack.pop() as number;
      const depth = stack.pop() as number;
      const end = stack.pop() as number;
      const start = stack.pop() as number;
      const node = out.addNode();
      if (parent >= 0) {
        if (isLeft) out.left[parent] = node;
        else out.right[parent] = node;
      }
      const nD = end - start;
      let split = false;
      let impurity = 0;
      if (depth < maxDepth && nD >= minSamplesSplit && nD >= 2 * minSamplesLeaf) {
        impurity = this.useSlot(slot);
        if (this.nActive > 0) split = this.findSplit(start, end);
      } else {
        // A leaf for certain (most are single rows): its totals as they are, zeros included.
        this.total = this.slotTotal[slot] as Float64Array;
        this.touched = this.slotTouched[slot] as Int32Array;
        this.nTouched = this.slotNTouched[slot] as number;
        this.nW = this.slotNW[slot] as number;
      }
      if (split) {
        const f = this.bestFeature;
        const b = this.bestBin;
        const mid = this.partition(start, end, f, b);
        out.feature[node] = f;
        out.threshold[node] = data.thresholds[f * data.thresholdStride + b] as number;
        this.importances[f] =
          (this.importances[f] as number) + Math.max(0, impurity - this.bestScore);
        const small = this.allocSlot();
        const leftSmaller = mid - start <= end - mid;
        if (leftSmaller) this.fillSlot(small, start, mid, slot);
        else this.fillSlot(small, mid, end, slot);
        stack.push(mid, end, depth + 1, node, 0, leftSmaller ? slot : small);
        stack.push(start, mid, depth + 1, node, 1, leftSmaller ? small : slot);
      } else {
        this.writeLeaf(out, node);
        this.releaseSlot(slot);
      }
    }
    return { ...out.finish(), importances: this.importances };
  }

  private allocSlot(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;
    this.slotTotal.push(new Float64Array(this.L));
    this.slotTouched.push(new Int32Array(this.L));
    this.slotNTouched.push(0);
    this.slotNW.push(0);
    return this.slotTotal.length - 1;
  }

  private releaseSlot(slot: number): void {
    this.freeSlots.push(slot);
  }

  /**
   * Totals of rows `idx[start…end)` into `slot`, taken off those of `parent` (when ≥ 0), the
   * slot of a node of which these rows are a part. A slot's totals are read only for the labels
   * it lists, so a released slot keeps its stale values.
   */
  private fillSlot(slot: number, start: number, end: number, parent: number): void {
    const nT = this.kernel.fill(start, end);
    const total = this.slotTotal[slot] as Float64Array;
    const touched = this.slotTouched[slot] as Int32Array;
    const { fillLabel, fillSum } = this;
    const nW = this.kernelOut[1] as number;
    if (parent >= 0) {
      const from = this.slotTotal[parent] as Float64Array;
      for (let q = 0; q < nT; q++) {
        const k = fillLabel[q] as number;
        const t = fillSum[q] as number;
        touched[q] = k;
        total[k] = t;
        from[k] = (from[k] as number) - t;
      }
      this.slotNW[parent] = (this.slotNW[parent] as number) - nW;
    } else {
      for (let q = 0; q < nT; q++) {
        const k = fillLabel[q] as number;
        touched[q] = k;
        total[k] = fillSum[q] as number;
      }
    }
    this.slotNW[slot] = nW;
    this.slotNTouched[slot] = nT;
  }

  /**
   * Makes `slot` the current node's totals (dropping labels whose total fell to 0), lists its
   * impure labels and returns its impurity (summed over labels, in weighted units).
   */
  private useSlot(slot: number): number {
    const total = this.slotTotal[slot] as Float64Array;
    const touched = this.slotTouched[slot] as Int32Array;
    const nW = this.slotNW[slot] as number;
    const nTouched = this.slotNTouched[slot] as number;
    let nT = 0;
    let nA = 0;
    let t1 = 0;
    let t2 = 0;
    let impurity = 0;
    if (!this.weighted) {
      // Σ t(nW − t)/nW over the labels is (nW·Σt − Σt²)/nW.
      for (let q = 0; q < nTouched; q++) {
        const k = touched[q] as number;
        const t = total[k] as number;
        if (t === 0) continue;
        touched[nT++] = k;
        t1 += t;
        t2 += t * t;
        if (t < nW) nA++;
      }
      impurity = (nW * t1 - t2) / nW;
    } else {
      const { active, wPos, wNeg } = this;
      for (let q = 0; q < nTouched; q++) {
        const k = touched[q] as number;
        const t = total[k] as number;
        if (t === 0) continue;
        touched[nT++] = k;
        t1 += t;
        t2 += t * t;
        if (t < nW) {
          active[nA++] = k;
          const a = (wPos[k] as number) * t;
          const b = (wNeg[k] as number) * (nW - t);
          impurity += (a * b) / (a + b);
        }
      }
    }
    this.slotNTouched[slot] = nT;
    this.total = total;
    this.touched = touched;
    this.nTouched = nT;
    this.nW = nW;
    this.nActive = nA;
    this.t1 = t1;
    this.t2 = t2;
    return impurity;
  }

  private writeLeaf(out: Builder, node: number): void {
    const at = out.makeLeaf(node);
    const values = out.values;
    const { total, touched, wPos, wNeg, nW, nTouched } = this;
    if (!this.weighted) {
      const scale = 1 / nW;
      for (let q = 0; q < nTouched; q++) {
        const k = touched[q] as number;
        values[at + k] = (total[k] as number) * scale;
      }
      return;
    }
    for (let q = 0; q < nTouched; q++) {
      const k = touched[q] as number;
      const t = total[k] as number;
      const a = (wPos[k] as number) * t;
      values[at + k] = a / (a + (wNeg[k] as number) * (nW - t));
    }
  }

  /** Draws features until `maxFeatures` non-constant ones were searched; true if a split exists. */
  private findSplit(start: number, end: number): boolean {
    const { featPerm, rng, d } = this;
    const mtry = this.params.maxFeatures;
    this.bestScore = Number.POSITIVE_INFINITY;
    this.bestFeature = -1;
    this.bestBin = -1;
    this.rowTotalsReady = this.weighted;
    if (end - start === 2) return this.splitPair(start);
    let visited = 0;
    for (let drawn = 0; drawn < d && visited < mtry && this.bestScore > 0; drawn++) {
      const j = drawn + rng.int(d - drawn);
      const f = featPerm[j] as number;
      featPerm[j] = featPerm[drawn] as number;
      featPerm[drawn] = f;
      const varied =
        end - start > HIST_MIN_SAMPLES
          ? this.searchHistogram(start, end, f)
          : this.searchSorted(start, end, f);
      if (varied) visited++;
    }
    return this.bestFeature >= 0;
  }

  /**
   * Two rows with different labels: the first drawn feature that tells them apart splits the
   * node into two pure children, which no other split can beat.
   */
  private splitPair(start: number): boolean {
    const { featPerm, rng, d, binned, n } = this;
    const a = this.idx[start] as number;
    const b = this.idx[start + 1] as number;
    for (let drawn = 0; drawn < d; drawn++) {
      const j = drawn + rng.int(d - drawn);
      const f = featPerm[j] as number;
      featPerm[j] = featPerm[drawn] as number;
      featPerm[drawn] = f;
      const ba = binned[f * n + a] as number;
      const bb = binned[f * n + b] as number;
      if (ba !== bb) {
        this.bestScore = 0;
        this.bestFeature = f;
        this.bestBin = (Math.min(ba, bb) + Math.max(ba, bb) - 1) >>> 1;
        return true;
      }
    }
    return false;
  }

  /** Summed child impurity of the split whose left side has nL weight and these statistics. */
  private score(nL: number, s1: number, s2: number, c: number): number {
    if (!this.weighted) {
      const nR = this.nW - nL;
      const left = (nL * s1 - s2) / nL;
      const right = (nR * (this.t1 - s1) - (this.t2 - 2 * c + s2)) / nR;
      return left + right;
    }
    return this.weightedScore(nL);
  }

  /** Summed weighted child impurity of the split whose left side has nL weight and `posL`. */
  private weightedScore(nL: number): number {
    const { active, posL, total, wPos, wNeg } = this;
    const nR = this.nW - nL;
    let s = 0;
    for (let q = 0; q < this.nActive; q++) {
      const k = active[q] as number;
      const pl = posL[k] as number;
      const wp = wPos[k] as number;
      const wn = wNeg[k] as number;
      const aL = wp * pl;
      const bL = wn * (nL - pl);
      const pr = (total[k] as number) - pl;
      const aR = wp * pr;
      const bR = wn * (nR - pr);
      s += (aL * bL) / (aL + bL) + (aR * bR) / (aR + bR);
    }
    return s;
  }

  private keepBest(score: number, f: number, bin: number): void {
    this.bestScore = score;
    this.bestFeature = f;
    this.bestBin = bin;
  }

  /**
   * Orders the node's rows by bin on feature f into `sortedIdx`/`sortedBin` and scans the
   * boundaries between bins, both in the split kernel unless class-weighted.
   *
   * Unweighted, the summed gini of a split is t1 − s2/nL − R/nR, where s2 = Σ posL²,
   * R = Σ (total − posL)² = t2 − 2c + s2 and c = Σ posL·total over the labels: the kernel
   * maximises gain = s2/nL + R/nR, that is gain·nL·nR = nW·s2 + nL·(t2 − 2c), compared without
   * dividing. The node's first searched feature also fills `rowTotal` (Σ total over each row's
   * labels) for the next ones.
   */
  private searchSorted(start: number, end: number, f: number): boolean {
    const kernel = this.kernel;
    if (kernel.sort(start, end, f * this.n) === 0) return false;
    if (this.weighted) {
      this.scanWeighted(end - start, f);
      return true;
    }
    const first = !this.rowTotalsReady;
    if (first) {
      const { total, nodeTotal, touched } = this;
      const nT = this.nTouched;
      for (let q = 0; q < nT; q++) {
        const k = touched[q] as number;
        nodeTotal[k] = total[k] as number;
      }
      this.rowTotalsReady = true;
    }
    const t1 = this.t1;
    const nD = end - start;
    // `posL` is all 0 between searches: the kernel clears a small node's rows' labels, cheaper
    // than the node's label list here; a larger node has more rows than labels.
    const clear = nD <= KERNEL_CLEARS_MAX;
    const bin = kernel.scan(
      nD,
      this.params.minSamplesLeaf,
      first ? 1 : 0,
      clear ? 1 : 0,
      this.nW,
      this.t2,
      t1 - this.bestScore,
    );
    if (!clear) {
      const { posL, touched } = this;
      for (let q = 0, nT = this.nTouched; q < nT; q++) posL[touched[q] as number] = 0;
    }
    if (bin >= 0) this.keepBest(t1 - (this.kernelOut[0] as number), f, bin);
    return true;
  }

  /** Class-weighted scan of the sorted rows: each candidate costs a pass over the impure labels. */
  private scanWeighted(nD: number, f: number): void {
    const { mult, posL, sortedIdx, sortedBin, labelStart, labelIndex } = this;
    const msl = this.params.minSamplesLeaf;
    const lastLeft = nD - msl;
    let nL = 0;
    let prev = sortedBin[0] as number;
    for (let q = 0; q < lastLeft; q++) {
      const i = sortedIdx[q] as number;
      const m = mult[i] as number;
      nL += m;
      for (let p = labelStart[i] as number, pe = labelStart[i + 1] as number; p < pe; p++) {
        const k = labelIndex[p] as number;
        posL[k] = (posL[k] as number) + m;
      }
      const next = sortedBin[q + 1] as number;
      if (next !== prev) {
        if (q + 1 >= msl) {
          const score = this.weightedScore(nL);
          if (score < this.bestScore) this.keepBest(score, f, (prev + next - 1) >>> 1);
        }
        prev = next;
      }
    }
    const touched = this.touched;
    for (let q = 0, nT = this.nTouched; q < nT; q++) posL[touched[q] as number] = 0;
  }

  private searchHistogram(start: number, end: number, f: number): boolean {
    const { idx, mult, posL, total, touched, histW, histC, histP, L } = this;
    const { binned, labelStart, labelIndex } = this;
    const col = f * this.n;
    const nb = this.data.nBins[f] as number;
    for (let j = start; j < end; j++) {
      const i = idx[j] as number;
      const b = binned[col + i] as number;
      const m = mult[i] as number;
      histW[b] = (histW[b] as number) + m;
      histC[b] = (histC[b] as number) + 1;
      const base = b * L;
      for (let p = labelStart[i] as number, pe = labelStart[i + 1] as number; p < pe; p++) {
        const h = base + (labelIndex[p] as number);
        histP[h] = (histP[h] as number) + m;
      }
    }
    let nonEmpty = 0;
    for (let b = 0; b < nb; b++) if (histC[b] !== 0) nonEmpty++;
    const varied = nonEmpty > 1;
    const nT = this.nTouched;
    const msl = this.params.minSamplesLeaf;
    const nD = end - start;
    let nL = 0;
    let cL = 0;
    let s1 = 0;
    let s2 = 0;
    let c = 0;
    let prev = -1;
    for (let b = 0; b < nb; b++) {
      const cb = histC[b] as number;
      if (cb === 0) continue;
      if (varied && prev >= 0 && cL >= msl && nD - cL >= msl) {
        const score = this.score(nL, s1, s2, c);
        if (score < this.bestScore) this.keepBest(score, f, (prev + b - 1) >>> 1);
      }
      nL += histW[b] as number;
      cL += cb;
      const base = b * L;
      for (let q = 0; q < nT; q++) {
        const k = touched[q] as number;
        const m = histP[base + k] as number;
        if (m !== 0) {
          const pl = posL[k] as number;
          s1 += m;
          s2 += m * (2 * pl + m);
          c += (total[k] as number) * m;
          posL[k] = pl + m;
          histP[base + k] = 0;
        }
      }
      histW[b] = 0;
      histC[b] = 0;
      prev = b;
    }
    for (let q = 0; q < nT; q++) posL[touched[q] as number] = 0;
    return varied;
  }

  /** Stable in-place partition of the node's rows by `bin <= b` on feature f; returns the split. */
  private partition(start: number, end: number, f: number, b: number): number {
    return this.kernel.partition(start, end, f * this.n, b);
  }
}
