// Fitting a genre model on feature tables: labels from the training genres, preprocessing and
// forest fitted on the training rows, thresholds tuned on the validation rows, and validation
// metrics for the model beside the baselines (the most frequent genres, and optionally the
// seed's model: a class-balanced forest with hard 0.5 predictions).
import { InputError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { silentLogger } from "../common/logger.ts";
import type { FeatureTable } from "../features/feature-table.ts";
import {
  applyDecision,
  type Decision,
  type DecisionMetric,
  mostFrequentPrediction,
  tuneDecision,
} from "../ml/decision.ts";
import {
  type ForestOptions,
  type RandomForest,
  type ResolvedForestOptions,
  trainForest,
} from "../ml/forest.ts";
import { DEFAULT_TOP_K, LabelBinarizer } from "../ml/labels.ts";
import type { IndicatorMatrix } from "../ml/matrix.ts";
import { GenreModel, type ModelKind, quantizeLeaves } from "../ml/model.ts";
import { fitPreprocessorParallel, type PreprocessingOptions } from "../ml/preprocessing.ts";
import {
  chooseFeatures,
  featureMatrix,
  type Metrics,
  summaryMetrics,
  tableLabels,
  type UnseenGenres,
} from "./tables.ts";

export interface PreprocessingSettings {
  imputer: "knn" | "median";
  neighbors: number;
  /** Most training rows the knn imputer keeps as donors. */
  maxReference: number;
  /** The seed's tempo folding bounds, applied to a column named "tempo". */
  tempoMin: number;
  tempoMax: number;
}

export const DEFAULT_PREPROCESSING: PreprocessingSettings = {
  imputer: "knn",
  neighbors: 5,
  maxReference: 10_000,
  tempoMin: 70,
  tempoMax: 180,
};

/**
 * Our defaults: unweighted trees whose probabilities the tuned thresholds turn into genres; a
 * third of the features per split and 3 rows per leaf scored best on synthetic tables.
 */
export const DEFAULT_FOREST: ForestOptions = {
  nTrees: 100,
  maxFeatures: 0.33,
  minSamplesLeaf: 3,
  classWeight: "none",
};

/**
 * The seed's model: scikit-learn's defaults (100 trees, sqrt features per split, full depth)
 * with balanced class weights, here per genre, and hard 0.5 predictions.
 */
export const SEED_FOREST: ForestOptions = {
  nTrees: 100,
  maxFeatures: "sqrt",
  minSamplesLeaf: 1,
  classWeight: "balanced",
};

export const DEFAULT_BASELINE_K = 5;

export interface FitOptions {
  train: FeatureTable;
  valid: FeatureTable;
  /** Feature columns (default: every numeric column except ids and genres). */
  features?: string[];
  kind?: ModelKind;
  topK?: number;
  forest?: ForestOptions;
  preprocessing?: Partial<PreprocessingSettings>;
  /** What the thresholds maximize on the validation rows (default "jaccard"). */
  metric?: DecisionMetric;
  /** The most-frequent baseline predicts this many genres (default 5). */
  baselineK?: number;
  /** Also fit the seed's model and report it among the baselines. */
  seedBaseline?: boolean;
  unseenGenres?: UnseenGenres;
  log?: Logger;
}

export interface FitSummary {
  kind: ModelKind;
  features: string[];
  labels: number;
  /** The forest's settings; null for the most-frequent kind. */
  forest: ResolvedForestOptions | null;
  train: { table: string; rows: number; used: number; droppedWithoutTopGenre: number };
  valid: { table: string; rows: number; used: number; droppedWithoutTopGenre: number };
  decision: {
    metric: DecisionMetric | null;
    atLeastOne: boolean;
    thresholds: Record<string, number>;
  };
  /** Validation metrics of the model and of each baseline, by name. */
  validation: Record<string, Metrics>;
  seconds: { preprocess: number; forest: number; tune: number; total: number };
}

export function preprocessingOptions(
  features: readonly string[],
  settings: PreprocessingSettings,
): PreprocessingOptions {
  const year = features.indexOf("year");
  const tempo = features.indexOf("tempo");
  return {
    zeroAsMissing: year >= 0 ? [year] : [],
    fold: tempo >= 0 ? [{ column: tempo, min: settings.tempoMin, max: settings.tempoMax }] : [],
    scale: true,
    imputer: settings.imputer,
    knn: { neighbors: settings.neighbors, maxReference: settings.maxReference },
  };
}

function seconds(since: number): number {
  return Math.round((performance.now() - since) / 10) / 100;
}

export async function fitModel(
  options: FitOptions,
): Promise<{ model: GenreModel; summary: FitSummary }> {
  const started = performance.now();
  const log = options.log ?? silentLogger;
  const { train, valid } = options;
  const kind = options.kind ?? "forest";
  const features = chooseFeatures(train, options.features);
  const missing = features.filter((f) => !valid.has(f));
  if (missing.length > 0) {
    throw new InputError(
      `table ${valid.path}: missing feature column${missing.length > 1 ? "s" : ""} ${missing.map((m) => `"${m}"`).join(", ")} that the training table has`,
    );
  }
  for (const name of features) valid.numeric(name);
  const settings = { ...DEFAULT_PREPROCESSING, ...options.preprocessing };
  const metric = options.metric ?? "jaccard";
  const baselineK = options.baselineK ?? DEFAULT_BASELINE_K;
  const unseen = options.unseenGenres ?? "error";

  const labels = LabelBinarizer.fit(train.genres(), options.topK ?? DEFAULT_TOP_K);
  const trainLabels = labels.transform(train.genres());
  const validLabels = tableLabels(valid, labels, unseen, `the training table ${train.path}`);
  if (validLabels.y.rows === 0) {
    throw new InputError(
      `table ${valid.path}: no validation track has one of the ${labels.labels.length} training genres`,
    );
  }
  const xTrain = featureMatrix(train, features, trainLabels.kept, true);
  const xValid = featureMatrix(valid, features, validLabels.kept);
  log.info(
    {
      features: features.length,
      genres: labels.labels.length,
      trainRows: xTrain.rows,
      validRows: xValid.rows,
    },
    "fitting the preprocessing",
  );

  let t0 = performance.now();
  const workers = options.forest?.workers;
  // The training matrix becomes the preprocessed one in place: one copy fewer at scale.
  const prep = await fitPreprocessorParallel(
    xTrain,
    preprocessingOptions(features, settings),
    workers,
    true,
  );
  const validPrepared = await prep.preprocessor.transformParallel(xValid, workers);
  const preprocessSeconds = seconds(t0);

  const forestOptions: ForestOptions = { ...DEFAULT_FOREST, ...options.forest };
  let forest: RandomForest | null = null;
  let forestSeconds = 0;
  let tuneSeconds = 0;
  let decision: Decision & { metric: DecisionMetric | null } = {
    metric: null,
    thresholds: new Float64Array(labels.labels.length),
    atLeastOne: false,
  };
  const validation: Record<string, Metrics> = {};
  const yValid = validLabels.y;
  if (kind === "forest") {
    log.info({ trees: forestOptions.nTrees, rows: xTrain.rows }, "growing the forest");
    t0 = performance.now();
    forest = quantizeLeaves(await trainForest(prep.transformed, trainLabels.y, forestOptions));
    forestSeconds = seconds(t0);
    t0 = performance.now();
    const p = forest.predictProba(validPrepared);
    const tuned = tuneDecision(yValid, p, { metric });
    tuneSeconds = seconds(t0);
    decision = { metric, thresholds: tuned.thresholds, atLeastOne: tuned.atLeastOne };
    validation.model = summaryMetrics(yValid, applyDecision(p, decision));
    validation["model at threshold 0.5"] = summaryMetrics(
      yValid,
      applyDecision(p, { thresholds: new Float64Array(p.cols).fill(0.5), atLeastOne: false }),
    );
  } else {
    validation.model = summaryMetrics(
      yValid,
      mostFrequentPrediction(yValid.rows, yValid.cols, baselineK),
    );
  }
  validation[`most-frequent-${baselineK}`] = summaryMetrics(
    yValid,
    mostFrequentPrediction(yValid.rows, yValid.cols, baselineK),
  );
  if (options.seedBaseline) {
    log.info("growing the seed's model: a class-balanced forest with hard 0.5 predictions");
    const seedForest = await trainForest(prep.transformed, trainLabels.y, {
      ...SEED_FOREST,
      seed: forestOptions.seed,
      workers: forestOptions.workers,
    });
    const pred: IndicatorMatrix = seedForest.predict(validPrepared, 0.5);
    validation["seed model (balanced forest, 0.5)"] = summaryMetrics(yValid, pred);
  }

  const summary: FitSummary = {
    kind,
    features,
    labels: labels.labels.length,
    forest: forest?.info.options ?? null,
    train: {
      table: train.path,
      rows: train.rows,
      used: trainLabels.y.rows,
      droppedWithoutTopGenre: trainLabels.dropped,
    },
    valid: {
      table: valid.path,
      rows: valid.rows,
      used: yValid.rows,
      droppedWithoutTopGenre: validLabels.dropped,
    },
    decision: {
      metric: decision.metric,
      atLeastOne: decision.atLeastOne,
      thresholds: Object.fromEntries(
        labels.labels.map((g, k) => [g, decision.thresholds[k] as number]),
      ),
    },
    validation,
    seconds: { preprocess: preprocessSeconds, forest: forestSeconds, tune: tuneSeconds, total: 0 },
  };
  summary.seconds.total = seconds(started);
  const model = new GenreModel({
    kind,
    features,
    labels,
    preprocessor: kind === "forest" ? prep.preprocessor : null,
    forest,
    decision,
    baselineK,
    metadata: {
      createdAt: new Date().toISOString(),
      preprocessing: settings,
      train: summary.train,
      valid: summary.valid,
      validation,
      seconds: summary.seconds,
    },
  });
  return { model, summary };
}
