// Benchmark of model quality on real tracks of artists the model never saw: artist-grouped
// cross-validation on ../shared/msd-10k-dev/tracks.csv of our default `model fit` beside
// scikit-learn (bench/quality_reference.py on Debian's /usr/bin/python3) in the same run, on the
// same folds, labels and rows, for the seed's six features and for every scalar field.
//
//   npm run bench:quality [-- --data FILE] [--folds 5] [--seed 1] [--workers 2]
//     [--sets seed,all] [--variants default] [--no-sklearn] [--leaf-grid 5,10,20,40,80]
//     [--imputer knn|median] [--sklearn-cache] [--json] [--out FILE]
//
// Folds: artists in the order of a seeded hash of their artist_id, each joining the fold with
// the fewest tracks so far, so every fold holds whole artists and about a fifth of the tracks.
// For each fold the other folds' tracks are its training rows, split once more by artist as the
// pipeline splits train and validation (split.ts's defaults: seed 42, a fifth for validation):
// the inner training and validation rows. The fold's labels are the top 50 genres of its inner
// training rows (`model fit`'s --top-k); held-out tracks with none of them are not scored, as
// `model evaluate` does. Systems, each scored on every fold's held-out artists:
//   - ours: `genre-classifier model fit --train <inner training rows> --valid <inner
//     validation rows> --features <set> --ignore-unseen-genres` (the CLI's fitModel call, its
//     defaults otherwise; --workers threads), the fitted model applied to the held-out tracks
//     as `model predict` does. --variants adds variants of ours, `+`-joined tokens: leafN
//     (min samples per leaf), treesN, sqrt (features per split), median (imputer), global (one
//     threshold for every genre, tuned on the validation rows); a new setting of `model fit`
//     gets a token in parseVariant, so its effect shows beside the defaults in the same run;
//   - sklearn seed: the seed's pipeline (outlier rules, min-max scaling, KNN imputation, a
//     class-balanced RandomForestClassifier, hard 0.5 predictions) fitted on all training rows;
//   - sklearn tuned: an unweighted RandomForestClassifier with min_samples_leaf from
//     --leaf-grid and one probability threshold chosen on the inner validation rows for the best
//     samples Jaccard, refitted on all training rows ("no refit": the forest of the inner
//     training rows, the rows ours fits on);
//   - most-frequent-5: the fold's five most frequent genres for every track.
// Every prediction is scored by our metrics (src/ml/metrics.ts, which match scikit-learn's);
// scikit-learn's own figures for its predictions are checked against them. Figures: mean ± sample
// standard deviation over the folds of samples Jaccard, Hamming loss, micro-F1 and macro-F1, and
// the mean fit seconds per fold (ours: fitModel from tables to fitted model, thresholds
// included; sklearn: preprocessing, fits and the search, without reading the CSV). --json
// prints the figures as JSON instead of the table; --out writes them to a file as well.
//
// A whole run takes about 12 minutes of CPU time, nearly all of it scikit-learn's (forests of 50
// outputs: the seed's full-depth ones and the tuned one's search), 12–13 minutes on the shared
// 2-core VM; ours takes 20–40 s of it. --sets, --no-sklearn and --sklearn-cache make it shorter
// while ours changes: --sklearn-cache reuses scikit-learn's predictions and times from an
// earlier run with the same data, folds, labels, settings and script
// (node_modules/.cache/bench-quality/), which ours does not affect.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { seededHash, validByArtist } from "../src/datasets/assign.ts";
import { SPLIT_DEFAULTS } from "../src/datasets/split.ts";
import { csvField } from "../src/features/csv.ts";
import { FeatureTable, GENRES_COLUMN, TRACK_ID_COLUMN } from "../src/features/feature-table.ts";
import { calibration } from "../src/ml/calibration.ts";
import { applyDecision, mostFrequentPrediction } from "../src/ml/decision.ts";
import type { ForestOptions } from "../src/ml/forest.ts";
import { DEFAULT_TOP_K, LabelBinarizer } from "../src/ml/labels.ts";
import type { IndicatorMatrix, RealMatrix } from "../src/ml/matrix.ts";
import { jaccardSamples } from "../src/ml/metrics.ts";
import {
  DEFAULT_BASELINE_K,
  DEFAULT_FOREST,
  DEFAULT_PREPROCESSING,
  type FitOptions,
  fitModel,
} from "../src/training/fit.ts";
import {
  featureMatrix,
  type Metrics,
  SEED_FEATURES,
  summaryMetrics,
} from "../src/training/tables.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const PYTHON = "/usr/bin/python3";
const ARTIST_ID = "artist_id";
const RESULTS_FILE = "results.json";

/** Every scalar field of the tracks file (the MSD files' metadata and analysis tables). */
const ALL_SCALARS = [
  "year",
  "duration",
  "key",
  "key_confidence",
  "loudness",
  "mode",
  "mode_confidence",
  "tempo",
  "time_signature",
  "time_signature_confidence",
  "end_of_fade_in",
  "start_of_fade_out",
  "artist_familiarity",
  "artist_hotttnesss",
  "song_hotttnesss",
  "artist_latitude",
  "artist_longitude",
] as const;

const FEATURE_SETS: Record<string, { title: string; columns: readonly string[] }> = {
  seed: { title: "the seed's 6 features", columns: SEED_FEATURES },
  all: { title: `all ${ALL_SCALARS.length} scalar fields`, columns: ALL_SCALARS },
};

const { values: args } = parseArgs({
  options: {
    data: { type: "string" },
    folds: { type: "string", default: "5" },
    seed: { type: "string", default: "1" },
    workers: { type: "string", default: "2" },
    sets: { type: "string", default: "seed,all" },
    variants: { type: "string", default: "default" },
    "leaf-grid": { type: "string", default: "5,10,20,40,80" },
    imputer: { type: "string", default: "knn" },
    "no-sklearn": { type: "boolean", default: false },
    "sklearn-cache": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
    out: { type: "string" },
  },
});

/** Progress and notes go to stderr, so that --json leaves stdout to the figures. */
function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

function integer(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer ≥ ${min}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Folds

/**
 * Each row's outer fold: artists in the order of seededHash(seed, artist_id), each joining the
 * fold with the fewest tracks so far (the first such fold on a tie).
 */
function artistFolds(artistIds: readonly string[], k: number, seed: number): Uint8Array {
  const tracks = new Map<string, number[]>();
  artistIds.forEach((artist, i) => {
    if (artist === "") throw new Error(`row ${i + 1} has no artist_id`);
    const list = tracks.get(artist);
    if (list) list.push(i);
    else tracks.set(artist, [i]);
  });
  const order = [...tracks.keys()]
    .map((artist) => ({ artist, hash: seededHash(seed, artist) }))
    .sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  const sizes = new Array<number>(k).fill(0);
  const fold = new Uint8Array(artistIds.length);
  for (const { artist } of order) {
    const f = sizes.indexOf(Math.min(...sizes));
    const rows = tracks.get(artist) as number[];
    for (const i of rows) fold[i] = f;
    sizes[f] = (sizes[f] as number) + rows.length;
  }
  return fold;
}

interface Fold {
  index: number;
  /** Inner training, inner validation and held-out rows, in table order. */
  train: Uint32Array;
  valid: Uint32Array;
  test: Uint32Array;
  binarizer: LabelBinarizer;
  /** The held-out rows with at least one of the fold's labels, and their labels. */
  scored: Uint32Array;
  y: IndicatorMatrix;
}

function makeFolds(table: FeatureTable, k: number, seed: number): Fold[] {
  const artistIds = table.text(ARTIST_ID);
  const genres = table.genres();
  const fold = artistFolds(artistIds, k, seed);
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const outer: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < table.rows; i++) (fold[i] === f ? test : outer).push(i);
    const inValid = new Set(
      validByArtist(outer, artistIds, SPLIT_DEFAULTS.seed, SPLIT_DEFAULTS.validFraction),
    );
    const train = Uint32Array.from(outer.filter((i) => !inValid.has(i)));
    const valid = Uint32Array.from(outer.filter((i) => inValid.has(i)));
    const testRows = Uint32Array.from(test);
    const trainArtists = new Set(Array.from(train, (i) => artistIds[i]));
    for (const i of [...valid, ...testRows]) {
      if (trainArtists.has(artistIds[i] as string)) throw new Error("an artist on two sides");
    }
    const binarizer = LabelBinarizer.fit(
      Array.from(train, (i) => genres[i] as string[]),
      DEFAULT_TOP_K,
    );
    const held = binarizer.transform(Array.from(testRows, (i) => genres[i] as string[]));
    folds.push({
      index: f,
      train,
      valid,
      test: testRows,
      binarizer,
      scored: Uint32Array.from(held.kept, (j) => testRows[j] as number),
      y: held.y,
    });
  }
  return folds;
}

// ---------------------------------------------------------------------------------------------
// Our systems

interface Variant {
  name: string;
  what: string;
  forest: Partial<ForestOptions>;
  imputer?: "knn" | "median";
  /** One threshold for every genre instead of per-genre thresholds. */
  global: boolean;
  /** Options of fitModel this variant sets. */
  fit: Partial<FitOptions>;
  /** Predict the union of the expected-Jaccard set and the labels above their thresholds. */
  union: boolean;
}

/** `default`, or `+`-joined tokens: leafN, treesN, sqrt, median, global. */
function parseVariant(spec: string): Variant {
  const v: Variant = { name: spec, what: "", forest: {}, global: false, fit: {}, union: false };
  const parts: string[] = [];
  if (spec !== "default") {
    for (const token of spec.split("+")) {
      const leaf = token.match(/^leaf(\d+)$/)?.[1];
      const trees = token.match(/^trees(\d+)$/)?.[1];
      if (leaf !== undefined) {
        v.forest.minSamplesLeaf = Number(leaf);
        parts.push(`min leaf ${leaf}`);
      } else if (trees !== undefined) {
        v.forest.nTrees = Number(trees);
        parts.push(`${trees} trees`);
      } else if (token === "sqrt") {
        v.forest.maxFeatures = "sqrt";
        parts.push("sqrt features per split");
      } else if (token === "median") {
        v.imputer = "median";
        parts.push("median imputer");
      } else if (token === "global") {
        v.global = true;
        parts.push("one threshold");
      } else if (token === "refit") {
        v.fit.refit = true;
        parts.push("refit on training + validation");
      } else if (token === "oob") {
        v.fit.tuneOn = "validation+out-of-bag";
        parts.push("thresholds also on out-of-bag rows (artist bootstrap)");
      } else if (token === "norefit") {
        v.fit.refit = false;
        parts.push("no refit");
      } else if (token === "val") {
        v.fit.tuneOn = "validation";
        parts.push("thresholds on validation rows only");
      } else if (token === "ejt") {
        v.union = true;
        parts.push("expected-Jaccard sets ∪ thresholds");
      } else if (token === "tj") {
        v.fit.rule = "thresholds";
        parts.push("per-genre thresholds");
      } else if (token === "ej") {
        v.fit.rule = "expected-jaccard";
        parts.push("expected-Jaccard sets");
      } else if (/^shrink\d+$/.test(token)) {
        v.fit.shrinkage = Number(token.slice(6));
        parts.push(`thresholds shrunk (${token.slice(6)})`);
      } else if (/^ms[\d.]+$/.test(token)) {
        v.forest.maxSamples = Number(token.slice(2));
        parts.push(`bootstrap samples of ${token.slice(2)}`);
      } else if (/^mf[\d.]+$/.test(token)) {
        v.forest.maxFeatures = Number(token.slice(2));
        parts.push(`max features ${token.slice(2)}`);
      } else throw new Error(`--variants: unknown token "${token}" in "${spec}"`);
    }
  }
  v.what = parts.length === 0 ? "model fit defaults" : parts.join(", ");
  return v;
}

/** The best single threshold (grid midpoints, as tuneDecision's) for samples Jaccard. */
function globalThreshold(y: IndicatorMatrix, p: RealMatrix): number {
  let best = 0.5;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let g = 0; g < 100; g++) {
    const t = (g + 0.5) / 100;
    const pred = applyDecision(p, {
      thresholds: new Float64Array(p.cols).fill(t),
      atLeastOne: false,
    });
    const score = jaccardSamples(y, pred);
    if (score > bestScore) [best, bestScore] = [t, score];
  }
  return best;
}

interface FoldResult {
  fold: number;
  metrics: Metrics;
  fitSeconds: number;
  trainRows: number;
  testRows: number;
  /** What the system chose on this fold (tuned settings), when it chooses. */
  chosen?: Record<string, unknown>;
  /** Ours: the calibration of its held-out probabilities. */
  calibration?: { brier: number; brierBaseline: number; ece: number };
}

async function runOurs(
  table: FeatureTable,
  fold: Fold,
  features: readonly string[],
  variant: Variant,
  workers: number,
): Promise<FoldResult> {
  const name = (what: string) => `${table.path} (fold ${fold.index + 1} ${what})`;
  const train = table.select(fold.train, name("inner training rows"));
  const valid = table.select(fold.valid, name("inner validation rows"));
  const test = table.select(fold.scored, name("held-out rows"));
  // As the CLI calls it (src/cli/commands/model.ts) with its defaults.
  const options: FitOptions = {
    train,
    valid,
    features: [...features],
    kind: "forest",
    topK: DEFAULT_TOP_K,
    forest: { ...DEFAULT_FOREST, seed: 0, workers, ...variant.forest },
    preprocessing: {
      ...DEFAULT_PREPROCESSING,
      ...(variant.imputer ? { imputer: variant.imputer } : {}),
    },
    metric: "jaccard",
    baselineK: DEFAULT_BASELINE_K,
    seedBaseline: false,
    unseenGenres: "ignore",
    ...variant.fit,
  };
  const started = performance.now();
  const { model, summary } = await fitModel(options);
  let decide = (p: RealMatrix) => model.decide(p);
  let chosen: Record<string, unknown> | undefined;
  if (variant.global) {
    const validLabels = model.binarizer.transform(valid.genres());
    const pValid = await model.predictProbaParallel(
      featureMatrix(valid, model.features, validLabels.kept),
      workers,
    );
    const t = globalThreshold(validLabels.y, pValid);
    const thresholds = new Float64Array(model.labels.length).fill(t);
    decide = (p) => applyDecision(p, { thresholds, atLeastOne: false });
    chosen = { threshold: t };
  }
  if (variant.union) {
    const thresholds = model.parts.decision.thresholds;
    decide = (p) => {
      const a = applyDecision(p, { rule: "expected-jaccard", thresholds, atLeastOne: true });
      const b = applyDecision(p, { rule: "thresholds", thresholds, atLeastOne: false });
      for (let j = 0; j < a.data.length; j++)
        a.data[j] = (a.data[j] as number) | (b.data[j] as number);
      return a;
    };
  }
  const fitSeconds = (performance.now() - started) / 1000;
  if (model.labels.join("\n") !== fold.binarizer.labels.join("\n")) {
    throw new Error(`fold ${fold.index + 1}: the model's labels are not the fold's`);
  }
  const p = await model.predictProbaParallel(featureMatrix(test, model.features), workers);
  const { counts, trainingRows } = model.binarizer.state;
  const cal = calibration(
    fold.y,
    p,
    Float64Array.from(counts, (c) => c / trainingRows),
  );
  return {
    calibration: { brier: cal.brier, brierBaseline: cal.brierBaseline, ece: cal.ece },
    fold: fold.index,
    metrics: summaryMetrics(fold.y, decide(p)),
    fitSeconds,
    trainRows: summary.train.used,
    testRows: fold.y.rows,
    ...(chosen ? { chosen } : {}),
    ...(variant.fit.rule === undefined && !variant.global && !variant.union
      ? {
          chosen: {
            ...chosen,
            rule: summary.decision.rule,
            minSamplesLeaf: summary.forest?.minSamplesLeaf,
          },
        }
      : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// scikit-learn

interface SklearnResult {
  set: string;
  system: string;
  fold: number;
  fitSeconds: number;
  trainRows: number;
  testRows: number;
  metrics: Metrics;
  chosen?: { minSamplesLeaf: number; threshold: number; tried: unknown[] };
}

const SKLEARN_SYSTEMS: Record<string, string> = {
  seed: "sklearn: the seed's pipeline (balanced, 0.5)",
  tuned: "sklearn: tuned RF (leaf, 1 threshold), refit",
  "tuned-no-refit": "sklearn: tuned RF, no refit (inner train)",
};

function runSklearn(
  dataPath: string,
  table: FeatureTable,
  folds: Fold[],
  sets: string[],
  leafGrid: number[],
  imputer: string,
  useCache: boolean,
): { version: string; results: Map<string, FoldResult[]>; failure?: string; reused?: string } {
  const results = new Map<string, FoldResult[]>();
  const dir = mkdtempSync(join(tmpdir(), "bench-quality-"));
  try {
    const trackIds = table.text(TRACK_ID_COLUMN);
    const side = folds.map(() => new Array<string>(table.rows).fill("?"));
    for (const f of folds) {
      const s = side[f.index] as string[];
      for (const i of f.train) s[i] = "t";
      for (const i of f.valid) s[i] = "v";
      for (const i of f.test) s[i] = "T";
    }
    const heldBy = new Int32Array(table.rows).fill(-1);
    for (const f of folds) for (const i of f.test) heldBy[i] = f.index;
    const lines = ["track_id,fold,sides"];
    for (let i = 0; i < table.rows; i++) {
      const sides = side.map((s) => s[i]).join("");
      lines.push(`${csvField(trackIds[i] as string)},${heldBy[i]},${sides}`);
    }
    const foldsCsv = `${lines.join("\n")}\n`;
    const config = JSON.stringify({
      data: dataPath,
      folds: folds.length,
      labels: folds.map((f) => f.binarizer.labels),
      featureSets: Object.fromEntries(sets.map((s) => [s, FEATURE_SETS[s]?.columns])),
      systems: ["seed", "tuned"],
      trees: DEFAULT_FOREST.nTrees,
      leafGrid,
      thresholdGrid: Array.from({ length: 100 }, (_, g) => (g + 0.5) / 100),
      randomState: 0,
      nJobs: Number(args.workers),
      imputer,
      knnNeighbors: DEFAULT_PREPROCESSING.neighbors,
      tempoMin: DEFAULT_PREPROCESSING.tempoMin,
      tempoMax: DEFAULT_PREPROCESSING.tempoMax,
    });
    writeFileSync(join(dir, "folds.csv"), foldsCsv);
    writeFileSync(join(dir, "config.json"), config);
    const script = join(ROOT, "bench", "quality_reference.py");
    // The cache key: everything scikit-learn's side reads, and the code it runs.
    const key = createHash("sha256")
      .update(readFileSync(dataPath))
      .update(config.replace(JSON.stringify(dataPath), '""'))
      .update(foldsCsv)
      .update(readFileSync(script))
      .digest("hex")
      .slice(0, 16);
    const cached = join(ROOT, "node_modules", ".cache", "bench-quality", key);
    let folder = dir;
    let reused: string | undefined;
    if (useCache && existsSync(join(cached, RESULTS_FILE))) {
      folder = cached;
      reused = cached;
    } else {
      const r = spawnSync(PYTHON, [script, dir], {
        encoding: "utf8",
        maxBuffer: 1 << 26,
        stdio: ["ignore", "pipe", "inherit"],
      });
      if (r.status !== 0) {
        const why =
          r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`);
        return { version: "", results, failure: `scikit-learn side failed (${why})` };
      }
      writeFileSync(join(dir, RESULTS_FILE), r.stdout);
      if (useCache) {
        rmSync(cached, { recursive: true, force: true });
        mkdirSync(dirname(cached), { recursive: true });
        cpSync(dir, cached, { recursive: true });
      }
    }
    const out = JSON.parse(readFileSync(join(folder, RESULTS_FILE), "utf8")) as {
      sklearn: string;
      results: SklearnResult[];
    };
    for (const s of out.results) {
      const fold = folds[s.fold] as Fold;
      if (s.testRows !== fold.y.rows) {
        throw new Error(
          `sklearn ${s.set} ${s.system} fold ${s.fold + 1}: ${s.testRows} held-out rows scored, ours ${fold.y.rows}`,
        );
      }
      const bytes = readFileSync(join(folder, `${s.set}.${s.system}.${s.fold}.bin`));
      const pred = { data: new Uint8Array(bytes), rows: fold.y.rows, cols: fold.y.cols };
      const metrics = summaryMetrics(fold.y, pred);
      for (const key of Object.keys(metrics) as (keyof Metrics)[]) {
        if (Math.abs(metrics[key] - s.metrics[key]) > 1e-9) {
          throw new Error(
            `sklearn ${s.set} ${s.system} fold ${s.fold + 1}: our ${key} ${metrics[key]} but scikit-learn's ${s.metrics[key]}`,
          );
        }
      }
      const key = `${s.set}\t${s.system}`;
      const list = results.get(key) ?? [];
      list.push({
        fold: s.fold,
        metrics,
        fitSeconds: s.fitSeconds,
        trainRows: s.trainRows,
        testRows: s.testRows,
        ...(s.chosen ? { chosen: s.chosen } : {}),
      });
      results.set(key, list);
    }
    return { version: out.sklearn, results, ...(reused ? { reused } : {}) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Figures

const METRICS: { key: keyof Metrics; head: string; better: "higher" | "lower" }[] = [
  { key: "jaccardSamples", head: "Jaccard", better: "higher" },
  { key: "hammingLoss", head: "Hamming", better: "lower" },
  { key: "f1Micro", head: "micro-F1", better: "higher" },
  { key: "f1Macro", head: "macro-F1", better: "higher" },
];

interface Spread {
  mean: number;
  std: number;
}

function spread(values: number[]): Spread {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const ss = values.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, std: values.length > 1 ? Math.sqrt(ss / (values.length - 1)) : 0 };
}

interface SystemFigures {
  set: string;
  system: string;
  what: string;
  folds: FoldResult[];
  metrics: Record<keyof Metrics, Spread>;
  fitSeconds: number;
}

function figures(set: string, system: string, what: string, folds: FoldResult[]): SystemFigures {
  const sorted = [...folds].sort((a, b) => a.fold - b.fold);
  const metrics = Object.fromEntries(
    METRICS.map(({ key }) => [key, spread(sorted.map((f) => f.metrics[key]))]),
  ) as Record<keyof Metrics, Spread>;
  return {
    set,
    system,
    what,
    folds: sorted,
    metrics,
    fitSeconds: spread(sorted.map((f) => f.fitSeconds)).mean,
  };
}

function chosenText(s: SystemFigures): string {
  const chosen = s.folds.map((f) => f.chosen).filter((c) => c !== undefined);
  if (chosen.length === 0) return "";
  const parts: string[] = [];
  if (chosen.every((c) => "minSamplesLeaf" in c))
    parts.push(`leaf ${chosen.map((c) => c.minSamplesLeaf).join("/")}`);
  if (chosen.every((c) => "threshold" in c))
    parts.push(`threshold ${chosen.map((c) => (c.threshold as number).toFixed(3)).join("/")}`);
  if (chosen.every((c) => "rule" in c)) {
    parts.push(chosen.map((c) => (c.rule === "expected-jaccard" ? "EJ" : "thr")).join("/"));
  }
  return parts.join(", ");
}

interface Comparison {
  set: string;
  ours: string;
  reference: string;
  /** Per metric: ours' mean over the reference's, minus 1; folds where ours scores better. */
  jaccardSamples: { relative: number; foldsAhead: number };
  f1Micro: { relative: number; foldsAhead: number };
}

/** Each variant of ours against the tuned scikit-learn forest, fold by fold (the issue's goal). */
function comparisons(all: SystemFigures[], sets: string[]): Comparison[] {
  const out: Comparison[] = [];
  for (const set of sets) {
    const reference = all.find((s) => s.set === set && s.system === "sklearn:tuned");
    if (reference === undefined) continue;
    for (const ours of all.filter((s) => s.set === set && s.system.startsWith("ours:"))) {
      const versus = (key: "jaccardSamples" | "f1Micro") => ({
        relative: ours.metrics[key].mean / reference.metrics[key].mean - 1,
        foldsAhead: ours.folds.filter(
          (f, i) => f.metrics[key] > (reference.folds[i] as FoldResult).metrics[key],
        ).length,
      });
      out.push({
        set,
        ours: ours.system,
        reference: reference.system,
        jaccardSamples: versus("jaccardSamples"),
        f1Micro: versus("f1Micro"),
      });
    }
  }
  return out;
}

function percent(x: number): string {
  return `${x >= 0 ? "+" : "−"}${Math.abs(100 * x).toFixed(1)}%`;
}

/** Ours: how far the held-out probabilities are from observed rates (they are what users see). */
function printCalibration(all: SystemFigures[]): void {
  const rows = all.filter((s) => s.folds.every((f) => f.calibration !== undefined));
  if (rows.length === 0) return;
  console.log(
    "\nCalibration of our held-out probabilities (mean over folds; baseline: each genre's training frequency)",
  );
  for (const s of rows) {
    const mean = (pick: (f: FoldResult) => number) =>
      s.folds.reduce((a, f) => a + pick(f), 0) / s.folds.length;
    const brier = mean((f) => f.calibration?.brier as number);
    const base = mean((f) => f.calibration?.brierBaseline as number);
    const ece = mean((f) => f.calibration?.ece as number);
    console.log(
      `  ${s.set} ${s.system}: Brier ${brier.toFixed(4)} (baseline ${base.toFixed(4)}, ${percent(brier / base - 1)}), expected calibration error ${ece.toFixed(4)}`,
    );
  }
}

function printTable(all: SystemFigures[], sets: string[], versus: Comparison[]): void {
  const width = Math.max(...all.map((s) => s.what.length), 10);
  for (const set of sets) {
    const rows = all.filter((s) => s.set === set);
    const info = FEATURE_SETS[set] as { title: string; columns: readonly string[] };
    console.log(`\n${info.title}: ${info.columns.join(", ")}`);
    console.log(
      `${"system".padEnd(width)}  ${METRICS.map((m) => m.head.padStart(16)).join("  ")}  ${"fit s".padStart(6)}`,
    );
    const best = Object.fromEntries(
      METRICS.map(({ key, better }) => {
        const means = rows.map((r) => r.metrics[key].mean);
        return [key, better === "higher" ? Math.max(...means) : Math.min(...means)];
      }),
    );
    for (const r of rows) {
      const cells = METRICS.map(({ key }) => {
        const { mean, std } = r.metrics[key];
        const mark = mean === best[key] ? "*" : " ";
        return `${mean.toFixed(4)} ± ${std.toFixed(4)}${mark}`.padStart(16);
      });
      console.log(
        `${r.what.padEnd(width)}  ${cells.join("  ")}  ${r.fitSeconds.toFixed(2).padStart(6)}`,
      );
      const chosen = chosenText(r);
      if (chosen) console.log(`${"".padEnd(width)}    per fold: ${chosen}`);
    }
    for (const c of versus.filter((v) => v.set === set)) {
      const what = all.find((s) => s.set === set && s.system === c.ours)?.what ?? c.ours;
      const n = all.find((s) => s.set === set && s.system === c.ours)?.folds.length ?? 0;
      console.log(
        `${what} against the tuned scikit-learn forest: Jaccard ${percent(c.jaccardSamples.relative)} (ahead on ${c.jaccardSamples.foldsAhead} of ${n} folds), micro-F1 ${percent(c.f1Micro.relative)} (ahead on ${c.f1Micro.foldsAhead} of ${n})`,
      );
    }
  }
}

async function main(): Promise<void> {
  const dataPath = resolve(args.data ?? join(ROOT, "..", "shared", "msd-10k-dev", "tracks.csv"));
  if (!existsSync(dataPath)) {
    console.log(
      `bench:quality skipped: no ${args.data ?? relative(ROOT, dataPath)} (the real MSD tracks of ../shared/msd-10k-dev; --data names another file)`,
    );
    return;
  }
  const k = integer("folds", args.folds as string, 2);
  const foldSeed = integer("seed", args.seed as string, 0);
  const workers = integer("workers", args.workers as string, 1);
  const sets = (args.sets as string).split(",");
  for (const s of sets) if (!(s in FEATURE_SETS)) throw new Error(`--sets: unknown set "${s}"`);
  const variants = (args.variants as string).split(",").map(parseVariant);
  const leafGrid = (args["leaf-grid"] as string).split(",").map((v) => integer("leaf-grid", v, 1));
  const imputer = args.imputer as string;
  const cache = args["sklearn-cache"] as boolean;
  if (imputer !== "knn" && imputer !== "median") throw new Error("--imputer: knn or median");

  const started = performance.now();
  const table = await FeatureTable.read(dataPath, {
    text: [TRACK_ID_COLUMN, ARTIST_ID, GENRES_COLUMN, "artist_name", "title"],
  });
  for (const s of sets) {
    for (const c of FEATURE_SETS[s]?.columns ?? []) table.numeric(c);
  }
  const folds = makeFolds(table, k, foldSeed);
  const artists = new Set(table.text(ARTIST_ID)).size;
  note(
    `${relative(ROOT, dataPath)}: ${table.rows} tracks of ${artists} artists; ${k} artist-grouped folds (seed ${foldSeed}); load average ${(loadavg()[0] as number).toFixed(2)}`,
  );
  for (const f of folds) {
    note(
      `  fold ${f.index + 1}: ${f.train.length} inner training, ${f.valid.length} inner validation, ${f.test.length} held out (${f.y.rows} with one of the ${f.binarizer.labels.length} labels scored)`,
    );
  }

  const all: SystemFigures[] = [];
  const byKey = new Map<string, FoldResult[]>();
  for (const set of sets) {
    const features = FEATURE_SETS[set]?.columns ?? [];
    for (const variant of variants) {
      const results: FoldResult[] = [];
      for (const f of folds) {
        const result = await runOurs(table, f, features, variant, workers);
        results.push(result);
        note(
          `ours (${variant.name}): ${set} fold ${f.index + 1}: Jaccard ${result.metrics.jaccardSamples.toFixed(4)}, micro-F1 ${result.metrics.f1Micro.toFixed(4)}`,
        );
      }
      byKey.set(`${set}\tours:${variant.name}`, results);
    }
  }
  let sklearn: ReturnType<typeof runSklearn> | undefined;
  if (!args["no-sklearn"]) {
    sklearn = runSklearn(dataPath, table, folds, sets, leafGrid, imputer, cache);
    if (sklearn.failure) note(sklearn.failure);
    if (sklearn.reused) note(`scikit-learn's side reused from ${relative(ROOT, sklearn.reused)}`);
  }
  for (const set of sets) {
    for (const v of variants) {
      const what = v.name === "default" ? "ours: model fit defaults" : `ours: ${v.what}`;
      all.push(figures(set, `ours:${v.name}`, what, byKey.get(`${set}\tours:${v.name}`) ?? []));
    }
    for (const [system, what] of Object.entries(SKLEARN_SYSTEMS)) {
      const results = sklearn?.results.get(`${set}\t${system}`);
      if (results) all.push(figures(set, `sklearn:${system}`, what, results));
    }
    const baseline = folds.map((f) => ({
      fold: f.index,
      metrics: summaryMetrics(f.y, mostFrequentPrediction(f.y.rows, f.y.cols, DEFAULT_BASELINE_K)),
      fitSeconds: 0,
      trainRows: f.train.length,
      testRows: f.y.rows,
    }));
    all.push(figures(set, "most-frequent-5", "most-frequent-5 baseline", baseline));
  }

  const seconds = (performance.now() - started) / 1000;
  const versus = comparisons(all, sets);
  const report = {
    data: dataPath,
    tracks: table.rows,
    artists,
    folds: folds.map((f) => ({
      innerTrain: f.train.length,
      innerValid: f.valid.length,
      heldOut: f.test.length,
      scored: f.y.rows,
      labels: f.binarizer.labels.length,
    })),
    settings: {
      sklearnReusedFrom: sklearn?.reused ?? null,
      foldSeed,
      workers,
      leafGrid,
      sklearnImputer: imputer,
      sklearn: sklearn?.version ?? null,
      topK: DEFAULT_TOP_K,
    },
    featureSets: Object.fromEntries(sets.map((s) => [s, FEATURE_SETS[s]?.columns])),
    results: all,
    versusTunedSklearn: versus,
    seconds,
    loadAverage: loadavg()[0],
  };
  if (args.out !== undefined)
    writeFileSync(resolve(args.out), `${JSON.stringify(report, null, 2)}\n`);
  if (args.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(
    `\nquality on unseen artists: ${table.rows} real tracks of ${artists} artists, ${k}-fold cross-validation grouped by artist; mean ± standard deviation over the folds (* best); fit s: mean seconds per fold; ours on ${workers} threads, ${sklearn?.version ? `scikit-learn ${sklearn.version} with n_jobs=${workers}${sklearn.reused ? " (reused from an earlier run)" : ""}` : "scikit-learn skipped"}`,
  );
  printTable(all, sets, versus);
  printCalibration(all);
  console.log(
    `\n${seconds.toFixed(0)} s in all; load average ${(loadavg()[0] as number).toFixed(2)} at the end`,
  );
}

await main();
