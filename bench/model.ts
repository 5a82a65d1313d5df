// Benchmark of the multi-label random forest against scikit-learn's RandomForestClassifier on
// the same synthetic data: fit and predict time, peak memory, Jaccard, Hamming loss, micro-F1.
//
//   node --import tsx bench/model.ts [--rows 10000] [--features 6] [--labels 50] [--trees 100]
//     [--max-depth N] [--max-samples F] [--min-samples-leaf N] [--max-features sqrt|F]
//     [--class-weight none|balanced] [--workers N] [--float32] [--no-sklearn] [--seed N]
//     [--repeat N]
//
// 20% of the rows are held out for the scores; --repeat runs that many data and model seeds.
// sklearn runs through /usr/bin/python3 with n_jobs=-1 and the same settings where they exist
// (its trees split on exact values).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type ForestOptions, trainForest } from "../src/ml/forest.ts";
import type { IndicatorMatrix, RealMatrix } from "../src/ml/matrix.ts";
import { f1Micro, hammingLoss, jaccardSamples } from "../src/ml/metrics.ts";
import { Rng } from "../src/ml/random.ts";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "10000" },
    features: { type: "string", default: "6" },
    labels: { type: "string", default: "50" },
    trees: { type: "string", default: "100" },
    "max-depth": { type: "string" },
    "max-samples": { type: "string" },
    "min-samples-leaf": { type: "string", default: "1" },
    "max-features": { type: "string", default: "sqrt" },
    "class-weight": { type: "string", default: "none" },
    workers: { type: "string" },
    seed: { type: "string", default: "1" },
    repeat: { type: "string", default: "1" },
    float32: { type: "boolean", default: false },
    "no-sklearn": { type: "boolean", default: false },
  },
});

const rows = Number(args.rows);
const nFeatures = Number(args.features);
const nLabels = Number(args.labels);
const nTrees = Number(args.trees);
const maxDepth = args["max-depth"] === undefined ? undefined : Number(args["max-depth"]);
const maxSamples = args["max-samples"] === undefined ? undefined : Number(args["max-samples"]);
const minSamplesLeaf = Number(args["min-samples-leaf"]);
const maxFeatures =
  args["max-features"] === "sqrt" || args["max-features"] === "log2"
    ? args["max-features"]
    : Number(args["max-features"]);
const classWeight = args["class-weight"] === "balanced" ? "balanced" : "none";
const workers = args.workers === undefined ? availableParallelism() : Number(args.workers);
const firstSeed = Number(args.seed);
const repeat = Number(args.repeat);

function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float());
}

/**
 * Gaussian features; each label is a noisy linear-plus-sinusoidal score of 4 of the first 12
 * features, thresholded so that 2–20% of the rows have it.
 */
function synthetic(seed: number): { x: RealMatrix; y: IndicatorMatrix } {
  const rng = new Rng(seed);
  const n = rows;
  const d = nFeatures;
  const L = nLabels;
  const x = args.float32 ? new Float32Array(n * d) : new Float64Array(n * d);
  for (let j = 0; j < x.length; j++) x[j] = gaussian(rng);
  const y = new Uint8Array(n * L);
  const score = new Float64Array(n);
  const uses = Math.min(4, d);
  const informative = Math.min(12, d);
  const feat = new Int32Array(uses);
  const w = new Float64Array(uses);
  const c = new Float64Array(uses);
  for (let k = 0; k < L; k++) {
    for (let u = 0; u < uses; u++) {
      feat[u] = rng.int(informative);
      w[u] = gaussian(rng);
      c[u] = 1.5 * gaussian(rng);
    }
    for (let i = 0; i < n; i++) {
      let lin = 0;
      let osc = 0;
      for (let u = 0; u < uses; u++) {
        const v = x[i * d + (feat[u] as number)] as number;
        lin += (w[u] as number) * v;
        osc += (c[u] as number) * v;
      }
      score[i] = lin + Math.sin(osc) + 0.5 * gaussian(rng);
    }
    const rate = 0.02 + 0.18 * rng.float();
    const cut = Float64Array.from(score).sort()[Math.floor((1 - rate) * n)] as number;
    for (let i = 0; i < n; i++) y[i * L + k] = (score[i] as number) > cut ? 1 : 0;
  }
  return { x: { data: x, rows: n, cols: d }, y: { data: y, rows: n, cols: L } };
}

function slice<T extends Float64Array | Float32Array | Uint8Array>(
  m: { data: T; rows: number; cols: number },
  from: number,
  to: number,
): { data: T; rows: number; cols: number } {
  return { data: m.data.subarray(from * m.cols, to * m.cols) as T, rows: to - from, cols: m.cols };
}

interface Result {
  fitSeconds: number;
  predictSeconds: number;
  peakMemoryMiB: number;
  pred: IndicatorMatrix;
  nodes?: number;
}

const SKLEARN_SCRIPT = `
import json, resource, sys, time
import numpy as np
from sklearn.ensemble import RandomForestClassifier
d = sys.argv[1]
cfg = json.load(open(d + "/config.json"))
n_train, n_test, f, L = cfg["nTrain"], cfg["nTest"], cfg["nFeatures"], cfg["nLabels"]
dt = np.float32 if cfg["float32"] else np.float64
x = np.fromfile(d + "/x.bin", dtype=dt).reshape(n_train + n_test, f)
y = np.fromfile(d + "/y.bin", dtype=np.uint8).reshape(n_train + n_test, L)
model = RandomForestClassifier(
    n_estimators=cfg["nTrees"], max_depth=cfg["maxDepth"], min_samples_leaf=cfg["minSamplesLeaf"],
    max_features=cfg["maxFeatures"], max_samples=cfg["maxSamples"],
    class_weight=cfg["classWeight"], n_jobs=-1, random_state=cfg["seed"])
t0 = time.perf_counter()
model.fit(x[:n_train], y[:n_train])
t1 = time.perf_counter()
pred = model.predict(x[n_train:]).astype(np.uint8)
t2 = time.perf_counter()
pred.tofile(d + "/pred.bin")
nodes = int(sum(e.tree_.node_count for e in model.estimators_))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
json.dump({"fitSeconds": t1 - t0, "predictSeconds": t2 - t1, "peakMemoryMiB": peak, "nodes": nodes}, sys.stdout)
`;

function runSklearn(
  x: RealMatrix,
  y: IndicatorMatrix,
  nTrain: number,
  seed: number,
): Result | string {
  const dir = mkdtempSync(join(tmpdir(), "bench-model-"));
  try {
    writeFileSync(join(dir, "x.bin"), x.data);
    writeFileSync(join(dir, "y.bin"), y.data);
    const config = {
      nTrain,
      nTest: x.rows - nTrain,
      nFeatures,
      nLabels,
      float32: args.float32,
      nTrees,
      maxDepth: maxDepth ?? null,
      minSamplesLeaf,
      maxFeatures,
      maxSamples: maxSamples ?? null,
      classWeight: classWeight === "balanced" ? "balanced" : null,
      seed,
    };
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    const r = spawnSync("/usr/bin/python3", ["-c", SKLEARN_SCRIPT, dir], {
      encoding: "utf8",
      maxBuffer: 1 << 20,
    });
    if (r.status !== 0) return `sklearn failed: ${r.error?.message ?? r.stderr.slice(-2000)}`;
    const out = JSON.parse(r.stdout) as Omit<Result, "pred">;
    const pred = new Uint8Array(readFileSync(join(dir, "pred.bin")));
    return { ...out, pred: { data: pred, rows: x.rows - nTrain, cols: nLabels } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runOurs(
  train: { x: RealMatrix; y: IndicatorMatrix },
  test: RealMatrix,
  seed: number,
): Promise<Result> {
  const options: ForestOptions = {
    nTrees,
    minSamplesLeaf,
    maxFeatures,
    classWeight,
    seed,
    workers,
  };
  if (maxDepth !== undefined) options.maxDepth = maxDepth;
  if (maxSamples !== undefined) options.maxSamples = maxSamples;
  const t0 = performance.now();
  const forest = await trainForest(train.x, train.y, options);
  const t1 = performance.now();
  const pred = forest.predict(test);
  const t2 = performance.now();
  const nodes = forest.trees.reduce((s, t) => s + t.feature.length, 0);
  return {
    fitSeconds: (t1 - t0) / 1000,
    predictSeconds: (t2 - t1) / 1000,
    peakMemoryMiB: process.resourceUsage().maxRSS / 1024,
    pred,
    nodes,
  };
}

function row(name: string, r: Result, yTest: IndicatorMatrix): string {
  const cells = [
    name.padEnd(8),
    r.fitSeconds.toFixed(2).padStart(8),
    r.predictSeconds.toFixed(2).padStart(8),
    r.peakMemoryMiB.toFixed(0).padStart(9),
    jaccardSamples(yTest, r.pred).toFixed(4).padStart(8),
    hammingLoss(yTest, r.pred).toFixed(4).padStart(8),
    f1Micro(yTest, r.pred).toFixed(4).padStart(8),
    String(r.nodes ?? "").padStart(10),
  ];
  return cells.join("  ");
}

async function main(): Promise<void> {
  console.log(
    `forest: ${nTrees} trees, maxDepth ${maxDepth ?? "none"}, maxSamples ${maxSamples ?? "all"}, ` +
      `minSamplesLeaf ${minSamplesLeaf}, maxFeatures ${maxFeatures}, classWeight ${classWeight}; ` +
      `ours on ${workers} workers, sklearn with n_jobs=-1`,
  );
  const head = ["fit s", "pred s", "peak MiB", "jaccard", "hamming", "micro-F1"];
  const header = `${"".padEnd(8)}  ${head.map((h) => h.padStart(8)).join("  ")}  ${"nodes".padStart(10)}`;
  const sums = { ours: [0, 0], sklearn: [0, 0], runs: 0 };
  for (let seed = firstSeed; seed < firstSeed + repeat; seed++) {
    const t0 = performance.now();
    const { x, y } = synthetic(seed);
    const nTrain = Math.round(rows * 0.8);
    const train = { x: slice(x, 0, nTrain), y: slice(y, 0, nTrain) };
    const testX = slice(x, nTrain, rows);
    const testY = slice(y, nTrain, rows);
    let positives = 0;
    for (let j = 0; j < y.data.length; j++) positives += y.data[j] as number;
    console.log(
      `\nseed ${seed}: ${rows} rows (${nTrain} train), ${nFeatures} features ` +
        `(${args.float32 ? "float32" : "float64"}), ${nLabels} labels, ` +
        `${(positives / rows).toFixed(2)} positives/row; made in ` +
        `${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    console.log(header);
    const ours = await runOurs(train, testX, seed);
    console.log(row("ours", ours, testY));
    if (args["no-sklearn"]) continue;
    const sk = runSklearn(x, y, nTrain, seed);
    if (typeof sk === "string") {
      console.log(sk);
      continue;
    }
    console.log(row("sklearn", sk, testY));
    sums.runs++;
    sums.ours[0] = (sums.ours[0] as number) + ours.fitSeconds;
    sums.ours[1] = (sums.ours[1] as number) + jaccardSamples(testY, ours.pred);
    sums.sklearn[0] = (sums.sklearn[0] as number) + sk.fitSeconds;
    sums.sklearn[1] = (sums.sklearn[1] as number) + jaccardSamples(testY, sk.pred);
  }
  if (sums.runs > 0) {
    const [of, oj] = sums.ours as [number, number];
    const [sf, sj] = sums.sklearn as [number, number];
    console.log(
      `\nover ${sums.runs} run(s): fit time ours/sklearn ${(of / sf).toFixed(3)} ` +
        `(${(of / sums.runs).toFixed(2)} s vs ${(sf / sums.runs).toFixed(2)} s), mean Jaccard ` +
        `${(oj / sums.runs).toFixed(4)} vs ${(sj / sums.runs).toFixed(4)}`,
    );
  }
  console.log(
    "peak MiB is the whole process's peak resident memory so far (ours includes the data)",
  );
}

await main();
