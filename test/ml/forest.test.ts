// The multi-label random forest: learning, determinism across workers, class weights, importances, serialization, bad input.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyBinning, fitBinning } from "../../src/ml/binning.ts";
import {
  deserializeForest,
  type ForestOptions,
  outOfBagProba,
  type RandomForest,
  serializeForest,
  trainForest,
  trainForestInThread,
} from "../../src/ml/forest.ts";
import type { IndicatorMatrix, Matrix } from "../../src/ml/matrix.ts";
import { jaccardSamples } from "../../src/ml/metrics.ts";
import { Rng } from "../../src/ml/random.ts";

interface Problem {
  x: Matrix<Float64Array>;
  y: IndicatorMatrix;
}

/** Uniform features; labels are noiseless rules on features 0–2 (feature 3 is noise). */
function separable(n: number, seed: number): Problem {
  const rng = new Rng(seed);
  const d = 4;
  const L = 4;
  const x = new Float64Array(n * d);
  const y = new Uint8Array(n * L);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < d; f++) x[i * d + f] = rng.float();
    const [a, b, c] = [x[i * d] as number, x[i * d + 1] as number, x[i * d + 2] as number];
    y[i * L] = a > 0.5 ? 1 : 0;
    y[i * L + 1] = b < 0.3 ? 1 : 0;
    y[i * L + 2] = a > 0.5 && c > 0.5 ? 1 : 0;
    y[i * L + 3] = a + b > 1 ? 1 : 0;
  }
  return { x: { data: x, rows: n, cols: d }, y: { data: y, rows: n, cols: L } };
}

/** Two noisy labels driven by feature 1 only; the second is rare (about 6% positives). */
function noisy(n: number, seed: number): Problem {
  const rng = new Rng(seed);
  const d = 5;
  const x = new Float64Array(n * d);
  const y = new Uint8Array(n * 2);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < d; f++) x[i * d + f] = rng.float();
    const v = (x[i * d + 1] as number) + 0.35 * rng.float();
    y[i * 2] = v > 0.7 ? 1 : 0;
    y[i * 2 + 1] = v > 1.15 ? 1 : 0;
  }
  return { x: { data: x, rows: n, cols: d }, y: { data: y, rows: n, cols: 2 } };
}

function rowsOf<T extends Float64Array | Uint8Array>(
  m: { data: T; rows: number; cols: number },
  from: number,
  to: number,
): { data: T; rows: number; cols: number } {
  return { data: m.data.subarray(from * m.cols, to * m.cols) as T, rows: to - from, cols: m.cols };
}

function depthOf(forest: RandomForest): number {
  let deepest = 0;
  for (const t of forest.trees) {
    const depth = new Int32Array(t.feature.length);
    for (let j = 0; j < t.feature.length; j++) {
      deepest = Math.max(deepest, depth[j] as number);
      if ((t.feature[j] as number) >= 0) {
        depth[t.left[j] as number] = (depth[j] as number) + 1;
        depth[t.right[j] as number] = (depth[j] as number) + 1;
      }
    }
  }
  return deepest;
}

const small: ForestOptions = { nTrees: 12, seed: 7, workers: 0 };

describe("random forest", () => {
  const train = separable(600, 1);
  const test = separable(300, 2);

  it("learns a separable problem", () => {
    const forest = trainForestInThread(train.x, train.y, { ...small, nTrees: 30 });
    // Rows without any label score 1 when nothing is predicted for them.
    const zd1 = { zeroDivision: 1 } as const;
    const jac = jaccardSamples(test.y, forest.predict(test.x), zd1);
    assert.ok(jac > 0.95, `test Jaccard ${jac}`);
    const fit = jaccardSamples(train.y, forest.predict(train.x), zd1);
    assert.ok(fit > 0.99, `training Jaccard ${fit}`);
  });

  it("gives probabilities in [0, 1] of the right shape", () => {
    const forest = trainForestInThread(train.x, train.y, { ...small, maxDepth: 3 });
    const p = forest.predictProba(test.x);
    assert.equal(p.rows, test.x.rows);
    assert.equal(p.cols, 4);
    assert.equal(p.data.length, test.x.rows * 4);
    let strictlyBetween = 0;
    for (const v of p.data) {
      assert.ok(v >= 0 && v <= 1, `probability ${v}`);
      if (v > 0 && v < 1) strictlyBetween++;
    }
    assert.ok(strictlyBetween > 0, "shallow trees should give some uncertain probabilities");
  });

  it("is deterministic for a seed, whatever the number of workers", async () => {
    const opts = { ...small, nTrees: 6 };
    const a = serializeForest(trainForestInThread(train.x, train.y, opts));
    const b = serializeForest(await trainForest(train.x, train.y, { ...opts, workers: 0 }));
    const c = serializeForest(await trainForest(train.x, train.y, { ...opts, workers: 1 }));
    const d = serializeForest(await trainForest(train.x, train.y, { ...opts, workers: 2 }));
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
    assert.deepEqual(d, a);
    const other = serializeForest(trainForestInThread(train.x, train.y, { ...opts, seed: 8 }));
    assert.notDeepEqual(other.arrays.threshold, a.arrays.threshold);
  });

  it("ranks the informative feature first in importances that sum to 1", () => {
    const data = noisy(800, 3);
    const forest = trainForestInThread(data.x, data.y, { ...small, minSamplesLeaf: 3 });
    const imp = forest.featureImportances;
    assert.equal(imp.length, 5);
    const sum = imp.reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(sum - 1) < 1e-12, `sum ${sum}`);
    for (let f = 0; f < 5; f++) {
      assert.ok((imp[f] as number) >= 0);
      if (f !== 1) assert.ok((imp[1] as number) > (imp[f] as number), `feature ${f}: ${imp}`);
    }
  });

  it("balanced class weights raise the rare label's probabilities", () => {
    const data = noisy(1500, 4);
    const trainPart = {
      x: rowsOf(data.x, 0, 1000),
      y: rowsOf(data.y, 0, 1000),
    };
    const testX = rowsOf(data.x, 1000, 1500);
    const testY = rowsOf(data.y, 1000, 1500);
    const opts = { ...small, nTrees: 20, minSamplesLeaf: 10 };
    const plain = trainForestInThread(trainPart.x, trainPart.y, opts);
    const balanced = trainForestInThread(trainPart.x, trainPart.y, {
      ...opts,
      classWeight: "balanced",
    });
    const meanProba = (f: RandomForest, label: number): number => {
      const p = f.predictProba(testX);
      let s = 0;
      for (let i = 0; i < p.rows; i++) s += p.data[i * 2 + label] as number;
      return s / p.rows;
    };
    const rare = (f: RandomForest): number => {
      const pred = f.predict(testX);
      let tp = 0;
      let pos = 0;
      for (let i = 0; i < testY.rows; i++) {
        if (testY.data[i * 2 + 1] === 1) {
          pos++;
          tp += pred.data[i * 2 + 1] as number;
        }
      }
      return tp / pos;
    };
    assert.ok(meanProba(balanced, 1) > 2 * meanProba(plain, 1), "rare label probabilities");
    assert.ok(rare(balanced) > rare(plain), `recall ${rare(balanced)} vs ${rare(plain)}`);
    assert.notDeepEqual(
      serializeForest(balanced).arrays.feature,
      serializeForest(plain).arrays.feature,
    );
  });

  it("honours maxDepth, maxFeatures, maxSamples and bootstrap", () => {
    const shallow = trainForestInThread(train.x, train.y, { ...small, maxDepth: 2 });
    assert.ok(depthOf(shallow) <= 2);
    const stump = trainForestInThread(train.x, train.y, { ...small, maxDepth: 0 });
    assert.ok(stump.trees.every((t) => t.feature.length === 1));
    assert.ok(stump.featureImportances.every((v) => v === 0));
    const deep = trainForestInThread(train.x, train.y, small);
    assert.ok(depthOf(deep) > 2);
    for (const maxFeatures of ["log2", "all", 1, 0.5] as const) {
      const f = trainForestInThread(train.x, train.y, { ...small, nTrees: 3, maxFeatures });
      assert.equal(f.info.options.maxFeatures, maxFeatures);
    }
    const sampled = trainForestInThread(train.x, train.y, { ...small, maxSamples: 0.2 });
    const full = trainForestInThread(train.x, train.y, {
      ...small,
      bootstrap: false,
      maxFeatures: "all",
    });
    const size = (f: RandomForest) => f.trees.reduce((s, t) => s + t.feature.length, 0);
    assert.ok(size(sampled) < size(deep));
    // Without bootstrap, fully grown trees fit every training row.
    assert.equal(jaccardSamples(train.y, full.predict(train.x), { zeroDivision: 1 }), 1);
  });

  it("round-trips through serialization with identical predictions", () => {
    const forest = trainForestInThread(train.x, train.y, small);
    const s = serializeForest(forest);
    assert.equal(s.header.nTrees, 12);
    assert.equal(s.arrays.values.length, s.header.nLeaves * 4);
    const header = JSON.parse(JSON.stringify(s.header));
    const copy = <T extends { slice(): T }>(a: T): T => a.slice();
    const arrays = {
      treeNodeStart: copy(s.arrays.treeNodeStart),
      treeLeafStart: copy(s.arrays.treeLeafStart),
      feature: copy(s.arrays.feature),
      threshold: copy(s.arrays.threshold),
      left: copy(s.arrays.left),
      right: copy(s.arrays.right),
      values: copy(s.arrays.values),
    };
    const back = deserializeForest({ header, arrays });
    assert.deepEqual(back.predictProba(test.x), forest.predictProba(test.x));
    assert.deepEqual(back.featureImportances, forest.featureImportances);
    assert.deepEqual(back.info.options, forest.info.options);

    const broken = { header, arrays: { ...arrays, left: copy(arrays.left) } };
    const inner = broken.arrays.feature.findIndex((f) => f >= 0);
    broken.arrays.left[inner] = 10_000_000;
    assert.throws(() => deserializeForest(broken), /out of range/);
    assert.throws(
      () => deserializeForest({ header: { ...header, format: "other" }, arrays }),
      /not a valid serialized forest/,
    );
  });

  it("rejects bad input clearly", async () => {
    const x = { data: Float64Array.from([0, 1, 2, Number.NaN]), rows: 2, cols: 2 };
    const y = { data: Uint8Array.from([0, 1]), rows: 2, cols: 1 };
    assert.throws(() => trainForestInThread(x, y, small), /NaN at row 1, column 1/);
    await assert.rejects(trainForest(x, y, { ...small, workers: 2 }), /NaN/);
    const ok = { data: Float64Array.from([0, 1, 2, 3]), rows: 2, cols: 2 };
    assert.throws(
      () => trainForestInThread(ok, { data: new Uint8Array(3), rows: 3, cols: 1 }, small),
      /2 rows but labels have 3/,
    );
    assert.throws(
      () => trainForestInThread({ ...ok, rows: 3 }, y, small),
      /data has 4 values but dimensions 3×2 need 6/,
    );
    assert.throws(
      () => trainForestInThread(ok, { data: Uint8Array.from([0, 2]), rows: 2, cols: 1 }, small),
      /0 or 1/,
    );
    assert.throws(() => trainForestInThread(ok, y, { nTrees: 0 }), /nTrees/);
    assert.throws(() => trainForestInThread(ok, y, { maxFeatures: 0 }), /maxFeatures/);
    assert.throws(() => trainForestInThread(ok, y, { maxFeatures: 3 }), /exceeds the 2 features/);
    assert.throws(() => trainForestInThread(ok, y, { maxSamples: 1.5 }), /maxSamples/);
    assert.throws(
      () => trainForestInThread(ok, y, { bootstrap: false, maxSamples: 0.5 }),
      /bootstrap/,
    );
    assert.throws(() => trainForestInThread(ok, y, { maxBins: 256 }), /maxBins/);
    const forest = trainForestInThread(train.x, train.y, small);
    assert.throws(
      () => forest.predictProba({ data: new Float64Array(6), rows: 2, cols: 3 }),
      /expects 4 columns/,
    );
    assert.throws(
      () => forest.predict({ data: Float64Array.from([0, 0, Number.NaN, 0]), rows: 1, cols: 4 }),
      /NaN/,
    );
  });
});

describe("binning", () => {
  it("puts few distinct values in their own bins, split at midpoints", () => {
    const x = { data: Float64Array.from([3, 1, 2, 1, 3, 10]), rows: 6, cols: 1 };
    const b = fitBinning(x);
    assert.equal(b.nBins[0], 4);
    assert.deepEqual(Array.from(b.thresholds.subarray(0, 3)), [1.5, 2.5, 6.5]);
    assert.deepEqual(Array.from(applyBinning(b, x)), [2, 0, 1, 0, 2, 3]);
  });

  it("uses quantiles when values are many, consistently with raw thresholds", () => {
    const rng = new Rng(5);
    const n = 5000;
    const data = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      data[i * 2] = rng.float() ** 3;
      data[i * 2 + 1] = Math.floor(rng.float() * 4);
    }
    const x = { data, rows: n, cols: 2 };
    const b = fitBinning(x, { maxBins: 32 });
    assert.equal(b.nBins[0], 32);
    assert.equal(b.nBins[1], 4);
    const codes = applyBinning(b, x);
    const counts = new Int32Array(32);
    for (let i = 0; i < n; i++) {
      const c = codes[i] as number;
      counts[c] = (counts[c] as number) + 1;
    }
    for (const c of counts) assert.ok(c > n / 32 / 2 && c < (n / 32) * 2, `bin count ${c}`);
    for (let i = 0; i < n; i++) {
      const v = data[i * 2] as number;
      const code = codes[i] as number;
      if (code > 0) assert.ok(v > (b.thresholds[code - 1] as number));
      if (code < 31) assert.ok(v <= (b.thresholds[code] as number));
      assert.equal(codes[n + i], data[i * 2 + 1]);
    }
  });
});

/** The best root split by exhaustive search: summed per-label (weighted) gini of the children. */
function bruteForceRoot(
  x: Matrix<Float64Array>,
  y: IndicatorMatrix,
  balanced: boolean,
): { feature: number; threshold: number; left: number[]; right: number[] } {
  const { rows: n, cols: d } = x;
  const L = y.cols;
  const wPos = new Float64Array(L).fill(1);
  const wNeg = new Float64Array(L).fill(1);
  if (balanced) {
    for (let k = 0; k < L; k++) {
      let pos = 0;
      for (let i = 0; i < n; i++) pos += y.data[i * L + k] as number;
      wPos[k] = n / (2 * pos);
      wNeg[k] = n / (2 * (n - pos));
    }
  }
  const side = (rows: number[]): { impurity: number; proba: number[] } => {
    let impurity = 0;
    const proba: number[] = [];
    for (let k = 0; k < L; k++) {
      let pos = 0;
      for (const i of rows) pos += y.data[i * L + k] as number;
      const a = (wPos[k] as number) * pos;
      const b = (wNeg[k] as number) * (rows.length - pos);
      impurity += a + b > 0 ? (a * b) / (a + b) : 0;
      proba.push(a / (a + b));
    }
    return { impurity, proba };
  };
  let best = { score: Number.POSITIVE_INFINITY, feature: -1, threshold: 0, left: [0], right: [0] };
  for (let f = 0; f < d; f++) {
    const values = [...new Set(Array.from({ length: n }, (_, i) => x.data[i * d + f] as number))];
    values.sort((a, b) => a - b);
    for (let v = 0; v + 1 < values.length; v++) {
      const t = ((values[v] as number) + (values[v + 1] as number)) / 2;
      const left: number[] = [];
      const right: number[] = [];
      for (let i = 0; i < n; i++) ((x.data[i * d + f] as number) <= t ? left : right).push(i);
      const score = side(left).impurity + side(right).impurity;
      if (score < best.score - 1e-9) best = { score, feature: f, threshold: t, left, right };
    }
  }
  return {
    feature: best.feature,
    threshold: best.threshold,
    left: side(best.left).proba,
    right: side(best.right).proba,
  };
}

describe("split search", () => {
  // 20,000 rows: the root is searched with histograms (above HIST_MIN_SAMPLES in tree.ts).
  for (const n of [300, 6000, 20_000]) {
    for (const balanced of [false, true]) {
      it(`finds the exhaustive-search root split (${n} rows, ${balanced ? "balanced" : "unweighted"})`, () => {
        const rng = new Rng(n + (balanced ? 1 : 0));
        const d = 3;
        const L = 6;
        const x = new Float64Array(n * d);
        const y = new Uint8Array(n * L);
        for (let i = 0; i < n; i++) {
          for (let f = 0; f < d; f++) x[i * d + f] = rng.int(40 + 7 * f);
          for (let k = 0; k < L; k++) {
            const signal = (x[i * d + (k % d)] as number) / (40 + 7 * (k % d));
            y[i * L + k] = signal + 0.6 * rng.float() > 0.75 + 0.05 * k ? 1 : 0;
          }
        }
        const data = { x: { data: x, rows: n, cols: d }, y: { data: y, rows: n, cols: L } };
        const forest = trainForestInThread(data.x, data.y, {
          nTrees: 1,
          maxDepth: 1,
          bootstrap: false,
          maxFeatures: "all",
          classWeight: balanced ? "balanced" : "none",
        });
        const want = bruteForceRoot(data.x, data.y, balanced);
        const tree = forest.trees[0];
        assert.ok(tree !== undefined);
        assert.equal(tree.feature[0], want.feature);
        assert.equal(tree.threshold[0], want.threshold);
        const leaf = (node: number) =>
          Array.from(
            tree.values.subarray(
              (tree.left[node] as number) * L,
              ((tree.left[node] as number) + 1) * L,
            ),
          );
        const close = (a: number[], b: number[]) =>
          a.every((v, k) => Math.abs(v - (b[k] as number)) < 1e-6);
        assert.ok(close(leaf(tree.left[0] as number), want.left), "left leaf probabilities");
        assert.ok(close(leaf(tree.right[0] as number), want.right), "right leaf probabilities");
      });
    }
  }
});

describe("bootstrap groups and out-of-bag predictions", () => {
  const { x, y } = noisy(400, 21);
  // Groups of 1 to 6 consecutive rows, like an artist's tracks.
  const groups = Int32Array.from({ length: 400 }, (_, i) => Math.floor(i / 4) * 3 + (i % 2));

  it("out-of-bag rows are those whose whole group a tree left out, whatever the workers", async () => {
    const opts: ForestOptions = { nTrees: 30, seed: 3, minSamplesLeaf: 5, groups };
    const inThread = trainForestInThread(x, y, opts);
    const parallel = await trainForest(x, y, { ...opts, workers: 2 });
    assert.deepEqual(serializeForest(parallel), serializeForest(inThread));
    assert.equal(inThread.info.options.groupedBootstrap, true);
    const { proba, trees } = outOfBagProba(inThread, x, groups);
    // A group's rows are in or out of a bag together: equal out-of-bag tree counts.
    for (let i = 0; i < 400; i++) {
      for (let j = 0; j < 400; j++) {
        if (groups[i] === groups[j]) assert.equal(trees[i], trees[j], `rows ${i}, ${j}`);
      }
    }
    // About e^-1 of the 30 trees leave a group out.
    const mean = trees.reduce((a, b) => a + b, 0) / 400;
    assert.ok(mean > 7 && mean < 15, `mean out-of-bag trees ${mean}`);
    // Each covered row's probability is the mean of its out-of-bag trees' leaves: recomputed here
    // from trees that do not hold any row of its group.
    const one = inThread.predictProba(x);
    let differs = 0;
    for (let j = 0; j < proba.data.length; j++) {
      const v = proba.data[j] as number;
      const row = Math.floor(j / 2);
      if ((trees[row] as number) === 0) assert.ok(Number.isNaN(v));
      else {
        assert.ok(v >= 0 && v <= 1);
        if (Math.abs(v - (one.data[j] as number)) > 1e-9) differs++;
      }
    }
    assert.ok(differs > 100, "out-of-bag probabilities differ from in-bag ones");
  });

  it("out-of-bag predictions score worse than in-bag ones and near a held-out set's", () => {
    const all = noisy(1200, 22);
    const g = Int32Array.from({ length: 800 }, (_, i) => Math.floor(i / 3));
    const trainX = rowsOf(all.x, 0, 800);
    const trainY = rowsOf(all.y, 0, 800);
    const forest = trainForestInThread(trainX, trainY, { nTrees: 40, seed: 1, groups: g });
    const brier = (p: { data: Float64Array }, truth: Uint8Array, rows?: Int32Array): number => {
      let sum = 0;
      let n = 0;
      for (let j = 0; j < truth.length; j++) {
        if (rows && rows[Math.floor(j / 2)] === 0) continue;
        sum += ((p.data[j] as number) - (truth[j] as number)) ** 2;
        n++;
      }
      return sum / n;
    };
    const oob = outOfBagProba(forest, trainX, g);
    const inBag = brier(forest.predictProba(trainX), trainY.data);
    const outOfBag = brier(oob.proba, trainY.data, oob.trees);
    const heldOut = brier(
      forest.predictProba(rowsOf(all.x, 800, 1200)),
      rowsOf(all.y, 800, 1200).data,
    );
    assert.ok(inBag < outOfBag, `in-bag ${inBag} vs out-of-bag ${outOfBag}`);
    assert.ok(Math.abs(outOfBag - heldOut) < 0.25 * heldOut, `${outOfBag} vs held out ${heldOut}`);
  });

  it("refuses mismatched groups", () => {
    const plain = trainForestInThread(x, y, { nTrees: 3, seed: 1 });
    assert.throws(() => outOfBagProba(plain, x, groups), /drew rows, not groups/);
    const grouped = trainForestInThread(x, y, { nTrees: 3, seed: 1, groups });
    assert.throws(() => outOfBagProba(grouped, x), /pass the same groups/);
    assert.throws(
      () => trainForestInThread(x, y, { nTrees: 3, groups: groups.subarray(1) }),
      /groups: 399 entries for 400 rows/,
    );
    assert.throws(
      () => trainForestInThread(x, y, { nTrees: 3, groups, bootstrap: false }),
      /groups need bootstrap/,
    );
  });
});
