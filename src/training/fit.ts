// Fitting a genre model on feature tables: labels from the training genres, preprocessing and
// forests fitted on the training rows (a leaf size or a small grid chosen on the validation
// rows), thresholds tuned on the validation rows (and optionally the artist-out-of-bag rows), the
// decision rule chosen, an optional refit on both tables, and validation metrics, per-genre scores
// and calibration beside the baselines (the most frequent genres, and optionally the seed's model:
// a class-balanced forest with hard 0.5 predictions).
import { InputError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { silentLogger } from "../common/logger.ts";
import type { FeatureTable } from "../features/feature-table.ts";
import { type Calibration, calibration } from "../ml/calibration.ts";
import {
  applyDecision,
  DECISION_RULES,
  type Decision,
  type DecisionMetric,
  type DecisionRule,
  expectedJaccardSets,
  mostFrequentPrediction,
  scoreMetric,
  tuneDecision,
} from "../ml/decision.ts";
import {
  type ForestOptions,
  type MaxFeatures,
  outOfBagProba,
  type RandomForest,
  type ResolvedForestOptions,
  trainForest,
} from "../ml/forest.ts";
import { DEFAULT_TOP_K, LabelBinarizer } from "../ml/labels.ts";
import type { IndicatorMatrix, Matrix } from "../ml/matrix.ts";
import { GenreModel, type ModelKind, quantizeLeaves } from "../ml/model.ts";
import { fitPreprocessorParallel, type PreprocessingOptions } from "../ml/preprocessing.ts";
import {
  chooseFeatures,
  featureMatrix,
  type LabelMetrics,
  labelMetrics,
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
 * Our defaults: unweighted trees whose probabilities the decision turns into genres. Features
 * per split: defaultMaxFeatures unless given; the leaf size: DEFAULT_LEAF_SEARCH unless given.
 */
export const DEFAULT_FOREST: ForestOptions = {
  nTrees: 100,
  classWeight: "none",
};

/**
 * A third of the features per split, at least two: a third of six features floors to one (a
 * random choice of split variable, which scored worst on real tracks), while the synthetic
 * tables' 75 features need more than sqrt's eight.
 */
export function defaultMaxFeatures(features: number): number {
  return Math.min(features, Math.max(2, Math.floor(features / 3)));
}

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
  /** How probabilities become genres (default "auto"). */
  rule?: RuleChoice;
  /** Pulls per-genre thresholds toward the common one (see TuneOptions.shrinkage). */
  shrinkage?: number;
  /**
   * Rows the thresholds are tuned on: the validation rows, or also the training rows'
   * out-of-bag predictions ("validation+out-of-bag"), the forest then drawing whole artists
   * (the tables' artist_id) into its bootstrap samples, so that a training row's out-of-bag
   * prediction comes from trees that never saw its artist, as for a new artist's track.
   */
  tuneOn?: TuneOn;
  /**
   * Forest settings to try (each combination grown on the training rows, its thresholds tuned,
   * scored on the validation rows): the best replaces `forest`'s leaf size and features per split.
   * Default: DEFAULT_LEAF_SEARCH unless `forest.minSamplesLeaf` is given; null: no search.
   */
  tune?: TuneGrid | null;
  /**
   * After tuning, fit the preprocessing and grow the forest again on the training and validation
   * rows together; the validation metrics stay those of the model fitted on training rows alone.
   */
  refit?: boolean;
  /** The most-frequent baseline predicts this many genres (default 5). */
  baselineK?: number;
  /** Also fit the seed's model and report it among the baselines. */
  seedBaseline?: boolean;
  unseenGenres?: UnseenGenres;
  log?: Logger;
}

export type TuneRows = "validation" | "validation+out-of-bag";
/** "auto": "validation+out-of-bag" when both tables have an artist_id column, else "validation". */
export type TuneOn = TuneRows | "auto";
export const TUNE_ON: readonly TuneOn[] = ["auto", "validation", "validation+out-of-bag"];

/** How the model turns probabilities into genres, by default (bench:quality measured each). */
/** "auto": whichever rule scores better on the tuning rows. */
export type RuleChoice = DecisionRule | "auto";
export const RULE_CHOICES: readonly RuleChoice[] = ["auto", ...DECISION_RULES];

export const DEFAULT_DECISION: {
  rule: RuleChoice;
  shrinkage: number;
  tuneOn: TuneOn;
  refit: boolean;
} = {
  rule: "auto",
  shrinkage: 0,
  tuneOn: "validation",
  refit: false,
};
const ARTIST_ID = "artist_id";

export interface TuneGrid {
  minSamplesLeaf: number[];
  maxFeatures: MaxFeatures[];
}

/**
 * The search every fit makes unless told a leaf size: 20 rows per leaf suits real tracks of unseen
 * artists, 3 suits tables whose features determine the genres more sharply (synthetic ones).
 */
export const DEFAULT_LEAF_SEARCH: { minSamplesLeaf: number[] } = { minSamplesLeaf: [20, 3] };

/** `--tune`'s search: 8 forests. */
export const DEFAULT_TUNE_GRID: TuneGrid = {
  minSamplesLeaf: [5, 10, 20, 40],
  maxFeatures: ["sqrt", 0.5],
};

export interface TuningTrial {
  minSamplesLeaf: number;
  maxFeatures: MaxFeatures;
  /** The decision metric on the validation rows, thresholds tuned. */
  score: number;
  rule: DecisionRule;
}

interface Candidate {
  forest: RandomForest;
  p: Matrix<Float64Array>;
  decision: Decision & { metric: DecisionMetric };
  score: number;
  tuningRows: number;
}

function tuneCandidates(grid: TuneGrid | undefined, base: ForestOptions): ForestOptions[] {
  if (grid === undefined) return [base];
  if (grid.minSamplesLeaf.length === 0 || grid.maxFeatures.length === 0) {
    throw new InputError("tune: give at least one leaf size and one features-per-split setting");
  }
  return grid.minSamplesLeaf.flatMap((minSamplesLeaf) =>
    grid.maxFeatures.map((maxFeatures) => ({ ...base, minSamplesLeaf, maxFeatures })),
  );
}

function settingsOf(forest: RandomForest): ForestOptions {
  const { minSamplesLeaf, maxFeatures } = forest.info.options;
  return { minSamplesLeaf, maxFeatures };
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
    rule: DecisionRule;
    shrinkage: number;
    /** The rows the thresholds were tuned on, and how many. */
    tunedOn: TuneRows;
    tuningRows: number;
    atLeastOne: boolean;
    thresholds: Record<string, number>;
  };
  /** Validation metrics of the model and of each baseline, by name. */
  validation: Record<string, Metrics>;
  /** The forest settings tried by `tune` with their scores (empty without it). */
  tuning: TuningTrial[];
  /** Whether the saved model was fitted again on training and validation rows together. */
  refit: boolean;
  /** The model's validation scores per genre, in label order (before any refit). */
  perGenre: LabelMetrics[];
  /**
   * How well the validation rows' probabilities match observed rates (before any refit), against
   * each genre's training frequency; null for the most-frequent kind.
   */
  calibration: Calibration | null;
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
  const rule = options.rule ?? DEFAULT_DECISION.rule;
  const shrinkage = options.shrinkage ?? DEFAULT_DECISION.shrinkage;
  const asked = options.tuneOn ?? DEFAULT_DECISION.tuneOn;
  const tuneOn: TuneRows =
    asked !== "auto"
      ? asked
      : train.has(ARTIST_ID) && valid.has(ARTIST_ID)
        ? "validation+out-of-bag"
        : "validation";
  if (tuneOn !== "validation") {
    for (const table of [train, valid]) {
      if (!table.has(ARTIST_ID)) {
        throw new InputError(
          `table ${table.path}: no ${ARTIST_ID} column, which tuning on out-of-bag predictions needs (to leave whole artists out); tune on "validation" instead`,
        );
      }
    }
  }
  const artistGroups = (table: FeatureTable, rows: Uint32Array, numbers: Map<string, number>) => {
    const ids = table.text(ARTIST_ID);
    return Int32Array.from(rows, (r) => {
      const id = ids[r] as string;
      let g = numbers.get(id);
      if (g === undefined) {
        g = numbers.size;
        numbers.set(id, g);
      }
      return g;
    });
  };
  const artistNumbers = new Map<string, number>();
  const trainGroups =
    tuneOn === "validation" ? undefined : artistGroups(train, trainLabels.kept, artistNumbers);
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
  const trainPrepared = prep.transformed;
  let preprocessor = prep.preprocessor;
  const validPrepared = await preprocessor.transformParallel(xValid, workers);
  let preprocessSeconds = seconds(t0);

  const forestOptions: ForestOptions = {
    ...DEFAULT_FOREST,
    maxFeatures: defaultMaxFeatures(features.length),
    minSamplesLeaf: DEFAULT_LEAF_SEARCH.minSamplesLeaf[0],
    ...options.forest,
  };
  const tune =
    options.tune === null
      ? undefined
      : (options.tune ??
        (options.forest?.minSamplesLeaf === undefined
          ? { ...DEFAULT_LEAF_SEARCH, maxFeatures: [forestOptions.maxFeatures ?? "sqrt"] }
          : undefined));
  let forest: RandomForest | null = null;
  let forestSeconds = 0;
  let tuneSeconds = 0;
  let tuningRows = 0;
  let perGenre: LabelMetrics[] = [];
  let calibrationSummary: Calibration | null = null;
  const refit = kind === "forest" && (options.refit ?? DEFAULT_DECISION.refit);
  const tried: TuningTrial[] = [];
  let decision: Decision & { metric: DecisionMetric | null } = {
    metric: null,
    rule: "thresholds",
    thresholds: new Float64Array(labels.labels.length),
    atLeastOne: false,
  };
  const validation: Record<string, Metrics> = {};
  const yValid = validLabels.y;
  if (kind === "forest") {
    const candidates = tuneCandidates(tune, forestOptions);
    let best: Candidate | undefined;
    for (const candidate of candidates) {
      log.info(
        {
          trees: candidate.nTrees,
          rows: xTrain.rows,
          minSamplesLeaf: candidate.minSamplesLeaf,
          maxFeatures: candidate.maxFeatures,
        },
        candidates.length > 1
          ? `growing forest ${tried.length + 1} of ${candidates.length}`
          : "growing the forest",
      );
      t0 = performance.now();
      const grown = quantizeLeaves(
        await trainForest(trainPrepared, trainLabels.y, { ...candidate, groups: trainGroups }),
      );
      forestSeconds += seconds(t0);
      t0 = performance.now();
      const p = grown.predictProba(validPrepared);
      let tuneY = yValid;
      let tuneP: Matrix<Float64Array> = p;
      let oobRows: { y: IndicatorMatrix; p: Matrix<Float64Array> } | null = null;
      if (trainGroups !== undefined) {
        const oob = outOfBagProba(grown, trainPrepared, trainGroups);
        const covered: number[] = [];
        oob.trees.forEach((count, i) => {
          if (count > 0) covered.push(i);
        });
        const rows = Uint32Array.from(covered);
        oobRows = { y: selectRows(trainLabels.y, rows), p: selectRows(oob.proba, rows) };
        tuneY = stackRows(oobRows.y, yValid);
        tuneP = stackRows(oobRows.p, p);
      }
      const tuned = tuneDecision(tuneY, tuneP, { metric, shrinkage });
      const byThresholds = { metric, thresholds: tuned.thresholds, atLeastOne: tuned.atLeastOne };
      let chosenRule: DecisionRule = rule === "auto" ? "thresholds" : rule;
      if (rule === "auto") {
        // Compared on the validation rows, with thresholds tuned without them when out-of-bag rows
        // are there (else in-sample, which favours the thresholds).
        const held =
          oobRows === null ? tuned : tuneDecision(oobRows.y, oobRows.p, { metric, shrinkage });
        const ejScore = scoreMetric(metric, yValid, expectedJaccardSets(p));
        const thresholdScore = scoreMetric(metric, yValid, applyDecision(p, held));
        if (ejScore > thresholdScore) chosenRule = "expected-jaccard";
      }
      const chosen = { ...byThresholds, rule: chosenRule };
      const score = scoreMetric(metric, yValid, applyDecision(p, chosen));
      tuneSeconds += seconds(t0);
      tried.push({
        minSamplesLeaf: grown.info.options.minSamplesLeaf,
        maxFeatures: grown.info.options.maxFeatures,
        score,
        rule: chosenRule,
      });
      // Ties keep the earlier candidate (the larger leaf of the default search).
      if (best === undefined || score > best.score) {
        best = { forest: grown, p, decision: chosen, score, tuningRows: tuneY.rows };
      }
    }
    if (best === undefined) throw new Error("no forest settings to try");
    ({ forest, decision, tuningRows } = best);
    const p = best.p;
    const predicted = applyDecision(p, decision);
    validation.model = summaryMetrics(yValid, predicted);
    perGenre = labelMetrics(yValid, predicted, p, labels.labels);
    const { counts } = labels.state;
    calibrationSummary = calibration(
      yValid,
      p,
      Float64Array.from(counts, (c) => c / trainLabels.y.rows),
    );
    validation["model at threshold 0.5"] = summaryMetrics(
      yValid,
      applyDecision(p, { thresholds: new Float64Array(p.cols).fill(0.5), atLeastOne: false }),
    );
    if (refit) {
      log.info({ rows: xTrain.rows + xValid.rows }, "refitting on training and validation rows");
      t0 = performance.now();
      const both = stackRows(featureMatrix(train, features, trainLabels.kept, true), xValid);
      const refitted = await fitPreprocessorParallel(
        both,
        preprocessingOptions(features, settings),
        workers,
        true,
      );
      preprocessor = refitted.preprocessor;
      preprocessSeconds += seconds(t0);
      t0 = performance.now();
      const groups =
        trainGroups === undefined
          ? undefined
          : stackGroups(trainGroups, artistGroups(valid, validLabels.kept, artistNumbers));
      forest = quantizeLeaves(
        await trainForest(refitted.transformed, stackRows(trainLabels.y, yValid), {
          ...forestOptions,
          ...settingsOf(forest),
          groups,
        }),
      );
      forestSeconds += seconds(t0);
    }
  } else {
    const predicted = mostFrequentPrediction(yValid.rows, yValid.cols, baselineK);
    validation.model = summaryMetrics(yValid, predicted);
    const { counts } = labels.state;
    const priors = Float64Array.from(counts, (c) => c / trainLabels.y.rows);
    const p = {
      data: Float64Array.from(
        { length: yValid.rows * yValid.cols },
        (_, j) => priors[j % yValid.cols] as number,
      ),
      rows: yValid.rows,
      cols: yValid.cols,
    };
    perGenre = labelMetrics(yValid, predicted, p, labels.labels);
  }
  validation[`most-frequent-${baselineK}`] = summaryMetrics(
    yValid,
    mostFrequentPrediction(yValid.rows, yValid.cols, baselineK),
  );
  if (options.seedBaseline) {
    log.info("growing the seed's model: a class-balanced forest with hard 0.5 predictions");
    const seedForest = await trainForest(trainPrepared, trainLabels.y, {
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
      rule: decision.rule ?? "thresholds",
      shrinkage,
      tunedOn: tuneOn,
      tuningRows,
      atLeastOne: decision.atLeastOne,
      thresholds: Object.fromEntries(
        labels.labels.map((g, k) => [g, decision.thresholds[k] as number]),
      ),
    },
    validation,
    tuning: tune === undefined ? [] : tried,
    refit,
    perGenre,
    calibration: calibrationSummary,
    seconds: { preprocess: preprocessSeconds, forest: forestSeconds, tune: tuneSeconds, total: 0 },
  };
  summary.seconds.total = seconds(started);
  const model = new GenreModel({
    kind,
    features,
    labels,
    preprocessor: kind === "forest" ? preprocessor : null,
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

/** Rows `rows` of `m`. */
function selectRows<T extends Float64Array | Uint8Array>(
  m: Matrix<T>,
  rows: Uint32Array,
): Matrix<T> {
  const data = new (m.data.constructor as new (n: number) => T)(rows.length * m.cols);
  rows.forEach((r, i) => {
    data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols);
  });
  return { data, rows: rows.length, cols: m.cols };
}

function stackGroups(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The rows of `a` followed by those of `b` (same columns). */
function stackRows<T extends Float64Array | Uint8Array>(a: Matrix<T>, b: Matrix<T>): Matrix<T> {
  const data = new (a.data.constructor as new (n: number) => T)(a.data.length + b.data.length);
  data.set(a.data, 0);
  data.set(b.data, a.data.length);
  return { data, rows: a.rows + b.rows, cols: a.cols };
}
