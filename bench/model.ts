// Benchmark of the multi-label random forest against scikit-learn's RandomForestClassifier on
// the same synthetic tables: fit and predict time, peak memory, Jaccard, Hamming loss, micro-F1,
// side by side, at 10,000 and 1,000,000 rows by default.
//
//   npm run bench:model [-- --rows 10000,1000000] [--features N] [--labels 50] [--trees N]
//     [--max-depth N] [--max-samples F] [--min-samples-leaf N] [--max-features sqrt|F]
//     [--class-weight none|balanced] [--workers N] [--no-sklearn] [--seed N] [--repeat N]
//     [--runs N] [--from-source]
//
// --runs N fits each case N times on each side, alternating (ours, sklearn, ours, sklearn, …)
// so that load from other work on a shared machine falls on both sides alike; it prints every
// run's fit times, their ratio and the load average, then the median ratio. The table gives the
// median fit and predict times and the largest peak memory. Default: 5 runs up to 100,000 rows
// (about a minute at 10,000), 1 above.
//
// Each size has preset settings, which the flags override:
//   ≤ 100,000 rows: the seed's settings, 6 features, 100 trees grown to full depth, sqrt
//     features per split, all rows bootstrapped;
//   larger: 60 features, 50 trees of depth ≤ 16 on bootstrap samples of 10% of the rows
//     (max_samples=0.1), at least 5 rows per leaf: sklearn takes about 14 minutes to fit 100
//     such trees on 800,000 rows on two cores, so 50 keep the whole run near 12 minutes.
// 20% of the rows are held out for the scores. Both sides run in a process of their own on the
// same bytes (float64 features, uint8 labels), so peak memory (the process's maximum resident
// set, data included) compares like with like; sklearn uses n_jobs=-1 and the same settings
// (its trees split on exact values, ours on 255 quantile bins). Ours runs as it ships: this file
// and the sources it imports are compiled with tsc into a temporary folder first and the child
// runs that JavaScript with plain node, as `genre-classifier` runs dist/ (--from-source runs
// the .ts sources under tsx instead, whose worker threads start some 150 ms slower each).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type ForestOptions, trainForest } from "../src/ml/forest.ts";
import type { IndicatorMatrix } from "../src/ml/matrix.ts";
import { f1Micro, hammingLoss, jaccardSamples } from "../src/ml/metrics.ts";
import { Rng } from "../src/ml/random.ts";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "10000,1000000" },
    features: { type: "string" },
    labels: { type: "string", default: "50" },
    trees: { type: "string" },
    "max-depth": { type: "string" },
    "max-samples": { type: "string" },
    "min-samples-leaf": { type: "string" },
    "max-features": { type: "string", default: "sqrt" },
    "class-weight": { type: "string", default: "none" },
    workers: { type: "string" },
    seed: { type: "string", default: "1" },
    repeat: { type: "string", default: "1" },
    runs: { type: "string" },
    "no-sklearn": { type: "boolean", default: false },
    "from-source": { type: "boolean", default: false },
    /** Internal: train our forest on the case in this folder and write its predictions. */
    child: { type: "string" },
  },
});

interface Settings {
  rows: number;
  nTrain: number;
  features: number;
  labels: number;
  trees: number;
  maxDepth: number | null;
  maxSamples: number | null;
  minSamplesLeaf: number;
  maxFeatures: "sqrt" | "log2" | number;
  classWeight: "none" | "balanced";
  workers: number;
  seed: number;
}

function settingsFor(rows: number, seed: number): Settings {
  const large = rows > 100_000;
  const opt = (name: string) => args[name as keyof typeof args] as string | undefined;
  const num = (name: string, preset: number | null): number | null => {
    const v = opt(name);
    return v === undefined ? preset : Number(v);
  };
  const mf = args["max-features"] as string;
  return {
    rows,
    nTrain: Math.round(rows * 0.8),
    features: num("features", large ? 60 : 6) as number,
    labels: Number(args.labels),
    trees: num("trees", large ? 50 : 100) as number,
    maxDepth: num("max-depth", large ? 16 : null),
    maxSamples: num("max-samples", large ? 0.1 : null),
    minSamplesLeaf: num("min-samples-leaf", large ? 5 : 1) as number,
    maxFeatures: mf === "sqrt" || mf === "log2" ? mf : Number(mf),
    classWeight: args["class-weight"] === "balanced" ? "balanced" : "none",
    workers: args.workers === undefined ? availableParallelism() : Number(args.workers),
    seed,
  };
}

function gaussian(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float());
}

/**
 * Gaussian features; each label is a noisy linear-plus-sinusoidal score of 4 of the first 12
 * features, thresholded so that 2–20% of the rows have it.
 */
function synthetic(s: Settings): { x: Float64Array; y: Uint8Array } {
  const rng = new Rng(s.seed);
  const { rows: n, features: d, labels: L } = s;
  const x = new Float64Array(n * d);
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
  return { x, y };
}

interface Timing {
  fitSeconds: number;
  predictSeconds: number;
  peakMemoryMiB: number;
  nodes: number;
}

/** In a child process: our forest on the case in `dir`; predictions to ours.bin. */
async function runChild(dir: string): Promise<void> {
  const s = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Settings;
  const bytes = readFileSync(join(dir, "x.bin"));
  const x = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  const y = new Uint8Array(readFileSync(join(dir, "y.bin")));
  const d = s.features;
  const L = s.labels;
  const options: ForestOptions = {
    nTrees: s.trees,
    minSamplesLeaf: s.minSamplesLeaf,
    maxFeatures: s.maxFeatures,
    classWeight: s.classWeight,
    seed: s.seed,
    workers: s.workers,
  };
  if (s.maxDepth !== null) options.maxDepth = s.maxDepth;
  if (s.maxSamples !== null) options.maxSamples = s.maxSamples;
  const train = { data: x.subarray(0, s.nTrain * d), rows: s.nTrain, cols: d };
  const labels = { data: y.subarray(0, s.nTrain * L), rows: s.nTrain, cols: L };
  const test = { data: x.subarray(s.nTrain * d), rows: s.rows - s.nTrain, cols: d };
  const t0 = performance.now();
  const forest = await trainForest(train, labels, options);
  const t1 = performance.now();
  const pred = forest.predict(test);
  const t2 = performance.now();
  writeFileSync(join(dir, "ours.bin"), pred.data);
  const timing: Timing = {
    fitSeconds: (t1 - t0) / 1000,
    predictSeconds: (t2 - t1) / 1000,
    peakMemoryMiB: process.resourceUsage().maxRSS / 1024,
    nodes: forest.trees.reduce((sum, t) => sum + t.feature.length, 0),
  };
  process.stdout.write(JSON.stringify(timing));
}

const SKLEARN_SCRIPT = `
import json, resource, sys, time
import numpy as np
from sklearn.ensemble import RandomForestClassifier
d = sys.argv[1]
cfg = json.load(open(d + "/config.json"))
n, n_train, f, L = cfg["rows"], cfg["nTrain"], cfg["features"], cfg["labels"]
x = np.fromfile(d + "/x.bin", dtype=np.float64).reshape(n, f)
y = np.fromfile(d + "/y.bin", dtype=np.uint8).reshape(n, L)
model = RandomForestClassifier(
    n_estimators=cfg["trees"], max_depth=cfg["maxDepth"], min_samples_leaf=cfg["minSamplesLeaf"],
    max_features=cfg["maxFeatures"], max_samples=cfg["maxSamples"],
    class_weight="balanced" if cfg["classWeight"] == "balanced" else None,
    n_jobs=-1, random_state=cfg["seed"])
t0 = time.perf_counter()
model.fit(x[:n_train], y[:n_train])
t1 = time.perf_counter()
pred = model.predict(x[n_train:]).astype(np.uint8)
t2 = time.perf_counter()
pred.tofile(d + "/sklearn.bin")
nodes = int(sum(e.tree_.node_count for e in model.estimators_))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
json.dump({"fitSeconds": t1 - t0, "predictSeconds": t2 - t1, "peakMemoryMiB": peak, "nodes": nodes}, sys.stdout)
`;

function run(command: string, argv: string[], what: string): Timing | string {
  const r = spawnSync(command, argv, { encoding: "utf8", maxBuffer: 1 << 20 });
  if (r.status !== 0) {
    const why = r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`);
    return `${what} failed (${why}): ${r.stderr.slice(-2000)}`;
  }
  return JSON.parse(r.stdout) as Timing;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** One side's runs of a case summed up: median fit and predict times, largest peak memory. */
function summary(runs: Timing[]): Timing {
  return {
    fitSeconds: median(runs.map((t) => t.fitSeconds)),
    predictSeconds: median(runs.map((t) => t.predictSeconds)),
    peakMemoryMiB: Math.max(...runs.map((t) => t.peakMemoryMiB)),
    nodes: (runs[0] as Timing).nodes,
  };
}

function row(name: string, t: Timing, yTest: IndicatorMatrix, pred: IndicatorMatrix): string {
  return [
    name.padEnd(8),
    t.fitSeconds.toFixed(2).padStart(8),
    t.predictSeconds.toFixed(2).padStart(8),
    t.peakMemoryMiB.toFixed(0).padStart(9),
    jaccardSamples(yTest, pred).toFixed(4).padStart(8),
    hammingLoss(yTest, pred).toFixed(4).padStart(8),
    f1Micro(yTest, pred).toFixed(4).padStart(8),
    String(t.nodes).padStart(10),
  ].join("  ");
}

/**
 * Compiles this file and what it imports with the project's compiler settings into a temporary
 * folder; returns the command line that runs its compiled form.
 */
function compileSelf(): { command: string; argv: string[]; folder: string } {
  const self = fileURLToPath(import.meta.url);
  const root = join(dirname(self), "..");
  const folder = mkdtempSync(join(tmpdir(), "bench-model-js-"));
  writeFileSync(
    join(folder, "tsconfig.json"),
    JSON.stringify({
      extends: join(root, "tsconfig.json"),
      compilerOptions: {
        rootDir: root,
        outDir: folder,
        noEmit: false,
        sourceMap: false,
        typeRoots: [join(root, "node_modules", "@types")],
      },
      // The worker threads' module is loaded by path, not imported.
      files: [self, join(root, "src", "ml", "forest-worker.ts")],
      include: [],
    }),
  );
  writeFileSync(join(folder, "package.json"), JSON.stringify({ type: "module" }));
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", join(folder, "tsconfig.json")], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`tsc failed: ${r.stdout}${r.stderr}`);
  return { command: process.execPath, argv: [join(folder, "bench", "model.js")], folder };
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const compiled = args["from-source"] ? undefined : compileSelf();
  const oursCommand = compiled?.command ?? process.execPath;
  const oursArgv = compiled?.argv ?? [...process.execArgv, self];
  try {
    await compare();
  } finally {
    if (compiled) rmSync(compiled.folder, { recursive: true, force: true });
  }

  async function compare(): Promise<void> {
    const sizes = (args.rows as string).split(",").map(Number);
    const firstSeed = Number(args.seed);
    const head = ["fit s", "pred s", "peak MiB", "jaccard", "hamming", "micro-F1"];
    console.log(
      `ours ${args["from-source"] ? "from the .ts sources under tsx" : "compiled to JavaScript"} on ${args.workers ?? availableParallelism()} threads, sklearn ${args["no-sklearn"] ? "skipped" : "with n_jobs=-1"}; a shared machine makes times noisy`,
    );
    for (const rows of sizes) {
      for (let seed = firstSeed; seed < firstSeed + Number(args.repeat); seed++) {
        const s = settingsFor(rows, seed);
        const t0 = performance.now();
        const { x, y } = synthetic(s);
        const dir = mkdtempSync(join(tmpdir(), "bench-model-"));
        try {
          writeFileSync(join(dir, "x.bin"), x);
          writeFileSync(join(dir, "y.bin"), y);
          writeFileSync(join(dir, "config.json"), JSON.stringify(s));
          const L = s.labels;
          const yTest = { data: y.slice(s.nTrain * L), rows: s.rows - s.nTrain, cols: L };
          let positives = 0;
          for (let j = 0; j < y.length; j++) positives += y[j] as number;
          console.log(
            `\n${rows.toLocaleString("en")} rows (${s.nTrain.toLocaleString("en")} train), ${s.features} features, ${L} labels, ` +
              `${(positives / rows).toFixed(2)} positives/row, seed ${seed}; made in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
          );
          console.log(
            `  ${s.trees} trees, max depth ${s.maxDepth ?? "none"}, max samples ${s.maxSamples ?? "all"}, ` +
              `min samples per leaf ${s.minSamplesLeaf}, max features ${s.maxFeatures}, class weight ${s.classWeight}`,
          );
          console.log(
            `${"".padEnd(8)}  ${head.map((h) => h.padStart(8)).join("  ")}  ${"nodes".padStart(10)}`,
          );
          const runs = args.runs === undefined ? (rows <= 100_000 ? 5 : 1) : Number(args.runs);
          const ours: Timing[] = [];
          const sk: Timing[] = [];
          const lines: string[] = [];
          let failure: string | undefined;
          for (let r = 0; r < runs; r++) {
            const load = loadavg()[0] as number;
            const o = run(oursCommand, [...oursArgv, "--child", dir], "ours");
            if (typeof o === "string") {
              failure = o;
              break;
            }
            ours.push(o);
            let line = `  run ${r + 1}: ours ${o.fitSeconds.toFixed(2)} s`;
            if (!args["no-sklearn"]) {
              const k = run("/usr/bin/python3", ["-c", SKLEARN_SCRIPT, dir], "sklearn");
              if (typeof k === "string") {
                failure = k;
                break;
              }
              sk.push(k);
              line += `, sklearn ${k.fitSeconds.toFixed(2)} s, fit time ours/sklearn ${(o.fitSeconds / k.fitSeconds).toFixed(3)}`;
            }
            lines.push(`${line}; load average ${load.toFixed(2)} before`);
          }
          const predictions = (file: string) => ({
            data: new Uint8Array(readFileSync(join(dir, file))),
            rows: yTest.rows,
            cols: L,
          });
          if (ours.length > 0)
            console.log(row("ours", summary(ours), yTest, predictions("ours.bin")));
          if (sk.length > 0) {
            console.log(row("sklearn", summary(sk), yTest, predictions("sklearn.bin")));
          }
          if (failure !== undefined) console.log(failure);
          for (const line of lines) console.log(line);
          if (sk.length > 0) {
            const ratios = sk.map((k, r) => (ours[r] as Timing).fitSeconds / k.fitSeconds);
            console.log(
              `  fit time ours/sklearn ${ratios.length > 1 ? `median of ${ratios.length} runs ` : ""}${median(ratios).toFixed(3)}` +
                ` (${ratios.filter((v) => v <= 0.2).length} of ${ratios.length} at most 0.2)`,
            );
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    }
    console.log(
      "\nfit s, pred s: medians over the runs; peak MiB: the largest over the runs of each side's process maximum resident set, the data included",
    );
  }
}

if (args.child !== undefined) await runChild(args.child);
else await main();
