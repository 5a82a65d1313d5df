// `model fit|predict|evaluate`: genre models on any feature table (CSV or Parquet), outside the
// pipeline.
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { codeVersion } from "../../common/code-version.ts";
import { FeatureTable, GENRES_COLUMN, TRACK_ID_COLUMN } from "../../features/feature-table.ts";
import { DECISION_METRICS, type DecisionMetric } from "../../ml/decision.ts";
import type { ForestOptions, MaxFeatures } from "../../ml/forest.ts";
import { DEFAULT_TOP_K } from "../../ml/labels.ts";
import type { ModelKind } from "../../ml/model.ts";
import {
  DEFAULT_BASELINE_K,
  DEFAULT_DECISION,
  DEFAULT_FOREST,
  DEFAULT_LEAF_SEARCH,
  DEFAULT_PREPROCESSING,
  DEFAULT_TUNE_GRID,
  fitModel,
  RULE_CHOICES,
  type RuleChoice,
  TUNE_ON,
  type TuneOn,
} from "../../training/fit.ts";
import { saveModelCard, shellWord } from "../../training/model-card.ts";
import {
  checkOutputTable,
  evaluateTable,
  loadModel,
  predictTable,
  saveModel,
  writePredictions,
} from "../../training/use.ts";
import { createContext } from "../context.ts";
import {
  commaList,
  nonNegativeInteger,
  nonNegativeNumber,
  positiveInteger,
  positiveNumber,
} from "../options.ts";
import { printJson, printLine } from "../output.ts";

function choice<T extends string>(allowed: readonly T[]): (value: string) => T {
  return (value) => {
    if (!allowed.includes(value as T)) {
      throw new InvalidArgumentError(`expected one of ${allowed.join(", ")}.`);
    }
    return value as T;
  };
}

function maxFeatures(value: string): MaxFeatures {
  if (value === "sqrt" || value === "log2" || value === "all") return value;
  const n = Number(value);
  if (Number.isFinite(n) && (Number.isInteger(n) ? n >= 1 : n > 0 && n < 1)) return n;
  throw new InvalidArgumentError("expected sqrt, log2, all, a count or a fraction in (0, 1).");
}

function maxSamples(value: string): number {
  const n = Number(value);
  if (Number.isFinite(n) && n > 0 && (n <= 1 || Number.isInteger(n))) return n;
  throw new InvalidArgumentError("expected a fraction in (0, 1] or a whole number of rows.");
}

interface FitFlags {
  train: string;
  valid: string;
  out: string;
  features?: string[];
  kind: ModelKind;
  topK: number;
  trees: number;
  maxDepth?: number;
  minSamplesLeaf?: number;
  maxFeatures?: MaxFeatures;
  maxSamples?: number;
  classWeight: "none" | "balanced";
  imputer: "knn" | "median";
  knnNeighbors: number;
  knnReference: number;
  tempoMin: number;
  tempoMax: number;
  metric: DecisionMetric;
  decision: RuleChoice;
  shrinkage: number;
  tuneOn: TuneOn;
  refit?: boolean;
  tune?: boolean;
  tuneLeaf?: number[];
  tuneFeatures?: MaxFeatures[];
  baselineK: number;
  compareSeed?: boolean;
  ignoreUnseenGenres?: boolean;
  seed: number;
  workers?: number;
}

/** The command as typed: its name and the options given on the command line, defaults left out. */
function typedCommand(command: Command): string {
  const words = ["genre-classifier"];
  for (let c: Command | null = command; c?.parent; c = c.parent) words.splice(1, 0, c.name());
  for (const option of command.options) {
    const key = option.attributeName();
    if (command.getOptionValueSource(key) !== "cli" || option.long === undefined) continue;
    const value: unknown = command.getOptionValue(key);
    words.push(option.long);
    if (typeof value !== "boolean") {
      words.push(shellWord(Array.isArray(value) ? value.join(",") : String(value)));
    }
  }
  return words.join(" ");
}

/** The artists' ids, by which the fit leaves whole artists out of its trees' bags. */
const ARTIST_ID_COLUMN = "artist_id";

/** Reads a table with its track and artist ids and genres as text when they are not lists. */
function readTable(path: string): Promise<FeatureTable> {
  return FeatureTable.read(path, { text: [TRACK_ID_COLUMN, GENRES_COLUMN, ARTIST_ID_COLUMN] });
}

export function registerModelCommands(program: Command): void {
  const model = program
    .command("model")
    .description("fit, apply and evaluate a genre model on any feature table (CSV or Parquet)");

  model
    .command("fit")
    .description(
      "fit a model on a training table, tune its thresholds on a validation table, print the validation metrics beside the baselines as JSON, and save it with its model card",
    )
    .requiredOption("--train <table>", "training table (.csv or .parquet) with a genres column")
    .requiredOption("--valid <table>", "validation table, for the thresholds and the metrics")
    .requiredOption("--out <dir>", "folder to write model.gcm and model-card.md to")
    .option(
      "--features <a,b,…>",
      "feature columns (default: every numeric column except ids and genres)",
      commaList,
    )
    .option(
      "--kind <kind>",
      "forest, or most-frequent (the constant baseline)",
      choice(["forest", "most-frequent"] as const),
      "forest",
    )
    .option(
      "--top-k <n>",
      "genres kept: the most frequent in training",
      positiveInteger,
      DEFAULT_TOP_K,
    )
    .option("--trees <n>", "trees in the forest", positiveInteger, DEFAULT_FOREST.nTrees)
    .option("--max-depth <n>", "deepest level of a tree (default: unlimited)", nonNegativeInteger)
    .option(
      "--min-samples-leaf <n>",
      `fewest training rows in a leaf (default: ${DEFAULT_LEAF_SEARCH.minSamplesLeaf.join(" or ")}, whichever scores better on the validation rows)`,
      positiveInteger,
    )
    .option(
      "--max-features <m>",
      "features per split: sqrt, log2, all, a count or a fraction (default: a third of the features, at least 2)",
      maxFeatures,
    )
    .option(
      "--max-samples <m>",
      "rows per tree's bootstrap sample: a fraction or a count (default: all)",
      maxSamples,
    )
    .option(
      "--class-weight <w>",
      "none, or balanced per genre",
      choice(["none", "balanced"] as const),
      "none",
    )
    .option(
      "--imputer <i>",
      "fills missing values: knn or median",
      choice(["knn", "median"] as const),
      DEFAULT_PREPROCESSING.imputer,
    )
    .option(
      "--knn-neighbors <n>",
      "neighbours averaged by the knn imputer",
      positiveInteger,
      DEFAULT_PREPROCESSING.neighbors,
    )
    .option(
      "--knn-reference <n>",
      "most training rows the knn imputer searches",
      positiveInteger,
      DEFAULT_PREPROCESSING.maxReference,
    )
    .option(
      "--tempo-min <bpm>",
      "tempo folding: slower tempos are doubled",
      positiveNumber,
      DEFAULT_PREPROCESSING.tempoMin,
    )
    .option(
      "--tempo-max <bpm>",
      "tempo folding: faster tempos are halved",
      positiveNumber,
      DEFAULT_PREPROCESSING.tempoMax,
    )
    .option(
      "--metric <m>",
      `what the thresholds maximize: ${DECISION_METRICS.join(", ")}`,
      choice(DECISION_METRICS),
      "jaccard",
    )
    .option(
      "--decision <rule>",
      "expected-jaccard (each track's most probable genres, as many as maximize its expected Jaccard), thresholds (one tuned threshold per genre), or auto (the one scoring better on the tuning rows)",
      choice(RULE_CHOICES),
      DEFAULT_DECISION.rule,
    )
    .option(
      "--shrinkage <n>",
      "pulls each genre's threshold toward the common one, as if it had this many more positives",
      nonNegativeNumber,
      DEFAULT_DECISION.shrinkage,
    )
    .option(
      "--tune-on <rows>",
      "rows the thresholds are tuned on: validation, validation+out-of-bag (the training rows' predictions by trees that never saw their artist), or auto (out-of-bag when both tables have artist_id)",
      choice(TUNE_ON),
      DEFAULT_DECISION.tuneOn,
    )
    .option(
      "--refit",
      "after tuning, fit again on training and validation rows together (the metrics stay those of the first fit)",
    )
    .option(
      "--tune",
      "try leaf sizes and features per split (--tune-leaf × --tune-features), keep the best on the validation rows, and report each",
    )
    .option(
      "--tune-leaf <n,…>",
      `leaf sizes --tune tries (default ${DEFAULT_TUNE_GRID.minSamplesLeaf.join(",")})`,
      (value: string) => commaList(value).map((v) => positiveInteger(v)),
    )
    .option(
      "--tune-features <m,…>",
      `features per split --tune tries (default ${DEFAULT_TUNE_GRID.maxFeatures.join(",")})`,
      (value: string) => commaList(value).map(maxFeatures),
    )
    .option(
      "--baseline-k <n>",
      "genres the most-frequent baseline predicts",
      positiveInteger,
      DEFAULT_BASELINE_K,
    )
    .option("--compare-seed", "also fit the seed's model (balanced forest, 0.5) and report it")
    .option(
      "--ignore-unseen-genres",
      "drop validation genres the training table never had, instead of failing",
    )
    .option("--seed <n>", "random seed", nonNegativeInteger, 0)
    .option("--workers <n>", "training threads (default: one per CPU core)", nonNegativeInteger)
    .action(async (flags: FitFlags, command: Command) => {
      const context = createContext(command);
      const forest: ForestOptions = {
        nTrees: flags.trees,
        classWeight: flags.classWeight,
        seed: flags.seed,
      };
      if (flags.minSamplesLeaf !== undefined) forest.minSamplesLeaf = flags.minSamplesLeaf;
      if (flags.maxFeatures !== undefined) forest.maxFeatures = flags.maxFeatures;
      if (flags.maxDepth !== undefined) forest.maxDepth = flags.maxDepth;
      if (flags.maxSamples !== undefined) forest.maxSamples = flags.maxSamples;
      if (flags.workers !== undefined) forest.workers = flags.workers;
      const [train, valid] = [await readTable(flags.train), await readTable(flags.valid)];
      const { model: fitted, summary } = await fitModel({
        train,
        valid,
        features: flags.features,
        kind: flags.kind,
        topK: flags.topK,
        forest,
        preprocessing: {
          imputer: flags.imputer,
          neighbors: flags.knnNeighbors,
          maxReference: flags.knnReference,
          tempoMin: flags.tempoMin,
          tempoMax: flags.tempoMax,
        },
        metric: flags.metric,
        rule: flags.decision,
        shrinkage: flags.shrinkage,
        tuneOn: flags.tuneOn,
        refit: flags.refit === true,
        ...(flags.tune || flags.tuneLeaf || flags.tuneFeatures
          ? {
              tune: {
                minSamplesLeaf: flags.tuneLeaf ?? DEFAULT_TUNE_GRID.minSamplesLeaf,
                maxFeatures: flags.tuneFeatures ?? DEFAULT_TUNE_GRID.maxFeatures,
              },
            }
          : {}),
        baselineK: flags.baselineK,
        seedBaseline: flags.compareSeed === true,
        unseenGenres: flags.ignoreUnseenGenres ? "ignore" : "error",
        log: context.log,
      });
      const path = await saveModel(resolve(flags.out), fitted);
      const card = await saveModelCard(
        dirname(path),
        { model: fitted, summary },
        { train, valid },
        {
          command: typedCommand(command),
          version: await codeVersion(),
          unseenGenres: flags.ignoreUnseenGenres ? "ignore" : "error",
          ...(flags.workers === undefined ? {} : { workers: flags.workers }),
        },
      );
      printJson({ modelFile: path, modelCard: card, ...summary });
    });

  model
    .command("predict")
    .description(
      "predict the genres of every track of a table: track_id, genres and one p(<genre>) column per genre, as CSV or Parquet by the output's extension",
    )
    .requiredOption("--model <dir>", "folder holding model.gcm (or the file)")
    .requiredOption("--input <table>", "table with track_id and the model's feature columns")
    .requiredOption("--output <table>", "predictions file (.csv or .parquet)")
    .action(async (flags: { model: string; input: string; output: string }, command: Command) => {
      createContext(command);
      await checkOutputTable(
        resolve(flags.output),
        resolve(flags.input),
        `--output ${flags.output}`,
      );
      const { model: fitted } = await loadModel(resolve(flags.model));
      const predictions = await predictTable(fitted, await readTable(flags.input));
      await writePredictions(resolve(flags.output), fitted, predictions);
      printLine(
        `predicted the genres of ${predictions.trackIds.length} tracks (${fitted.labels.length} genres) → ${resolve(flags.output)}`,
      );
    });

  model
    .command("evaluate")
    .description(
      "score a model on a table with genres; prints the metrics beside the most-frequent baseline as JSON",
    )
    .requiredOption("--model <dir>", "folder holding model.gcm (or the file)")
    .requiredOption("--input <table>", "table with the model's feature columns and genres")
    .option(
      "--baseline-k <n>",
      "genres the most-frequent baseline predicts (default: the model's)",
      positiveInteger,
    )
    .option("--ignore-unseen-genres", "drop genres the model never saw, instead of failing")
    .action(
      async (
        flags: { model: string; input: string; baselineK?: number; ignoreUnseenGenres?: boolean },
        command: Command,
      ) => {
        createContext(command);
        const { model: fitted, path } = await loadModel(resolve(flags.model));
        const evaluation = await evaluateTable(fitted, await readTable(flags.input), {
          unseenGenres: flags.ignoreUnseenGenres ? "ignore" : "error",
          baselineK: flags.baselineK,
        });
        printJson({ modelFile: path, ...evaluation });
      },
    );
}
