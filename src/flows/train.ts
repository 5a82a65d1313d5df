// The train flow: fits the genre model on the split's train and validation tables, records the
// fit as a tracking run (params, dataset inputs, metrics beside the most-frequent baseline,
// artifacts; with add_days=N the first N daily batches and their labels join the training table),
// and registers the model when it passes the relative gates, moving alias
// `champion` to it and `previous` to the old champion. The fit is cached on its parameters and
// the split's digest, and registration first looks for a version of the same
// run, so a run killed midway and started again registers at most one version.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { codeVersion } from "../common/code-version.ts";
import { InputError, OperationError } from "../common/errors.ts";
import { trainingTableWithDays } from "../datasets/labelled-days.ts";
import { readSplitManifest, type SplitDay, type StoredObject } from "../datasets/manifest.ts";
import { FeatureTable, GENRES_COLUMN, TRACK_ID_COLUMN } from "../features/feature-table.ts";
import { mostFrequentPrediction } from "../ml/decision.ts";
import { DEFAULT_TOP_K } from "../ml/labels.ts";
import type { GenreModel } from "../ml/model.ts";
import { flow, task } from "../orchestration/api.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { TrackingClient } from "../tracking/client.ts";
import type { ModelVersion } from "../tracking/entities.ts";
import { TrackingError } from "../tracking/errors.ts";
import { DEFAULT_FOREST, fitModel } from "../training/fit.ts";
import { decideRegistration, type GateDecision } from "../training/gates.ts";
import { saveModelCard, shellWord } from "../training/model-card.ts";
import { labelMetrics, type Metrics, tableLabels } from "../training/tables.ts";
import { evaluateTable, loadModel, saveModel } from "../training/use.ts";
import { pipelineEnvironment, pipelineStore, pipelineTracking } from "./environment.ts";
import { REFERENCE_ARTIFACT_DIR, writeMonitoringReference } from "./monitor.ts";

export const SPLIT_MANIFEST_KEY = "datasets/split/manifest.json";
export const MODEL_ARTIFACT_DIR = "model";
export const CHAMPION = "champion";
export const PREVIOUS = "previous";
/** The train run's artifact with one row of validation scores per genre. */
export const PER_GENRE_ARTIFACT = "per_genre.csv";

const flag = z
  .union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")])
  .default(false);

export const trainParameters = z.strictObject({
  trees: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(DEFAULT_FOREST.nTrees as number),
  max_depth: z.coerce.number().int().min(0).max(1000).optional(),
  /** Default: a third of the features, at least two. */
  max_features: z.union([z.enum(["sqrt", "log2", "all"]), z.coerce.number().positive()]).optional(),
  /** Default: 20 or 3, whichever scores better on the validation rows. */
  min_samples_leaf: z.coerce.number().int().min(1).optional(),
  class_weight: z.enum(["none", "balanced"]).default("none"),
  /** Comma-separated feature columns; default every numeric column but ids and genres. */
  features: z.string().min(1).optional(),
  top_k: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_TOP_K),
  baseline_k: z.coerce.number().int().min(1).max(1000).default(5),
  seed: z.coerce.number().int().min(0).max(2_147_483_647).default(0),
  /** The first N daily batches, with their labels, join the training table (a retrain). */
  add_days: z.coerce.number().int().min(0).max(100_000).default(0),
  /** Fit again even when this fit (same parameters, split and code) was recorded before. */
  retrain: flag,
});

export type TrainParameters = z.output<typeof trainParameters>;

/** The run tag holding the train flow's parameters, so a retrain can fit the same way. */
export const TRAIN_PARAMETERS_TAG = "train.parameters";

/** A fit's parameters without the ones that say which data or whether to fit again. */
export function retrainable(
  parameters: TrainParameters,
): Omit<TrainParameters, "add_days" | "retrain"> {
  const { add_days: _days, retrain: _retrain, ...rest } = parameters;
  return rest;
}

export interface SplitInputs {
  digest: string;
  storeUri: string;
  train: StoredObject;
  valid: StoredObject;
  parameters: Record<string, unknown>;
}

export interface FitResult {
  runId: string;
  experimentId: string;
  experiment: string;
  validation: { model: Metrics; baseline: Metrics; rows: number };
}

export interface RegistrationResult {
  registeredModel: string;
  decision: "registered" | "refused" | "already registered";
  reason: string;
  version: string | null;
  previous: string | null;
  champion: { version: string; jaccard: number } | null;
}

export interface TrainResult extends FitResult {
  registration: RegistrationResult;
}

const notBadInput = (error: unknown) => !(error instanceof InputError);

const splitInputs = task(
  "train-split-inputs",
  async (_input: Record<string, never>): Promise<SplitInputs> => {
    const store = pipelineStore();
    if (!(await store.exists(SPLIT_MANIFEST_KEY)))
      throw new InputError("no split found: run split first");
    const manifest = await readSplitManifest(store, SPLIT_MANIFEST_KEY);
    return {
      digest: manifest.digest,
      storeUri: store.uri,
      train: manifest.outputs.train,
      valid: manifest.outputs.valid,
      parameters: { ...manifest.parameters },
    };
  },
  { retries: 2, retryDelayMs: 500, retryIf: notBadInput, description: "reads the split manifest" },
);

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Downloads a split table and checks its bytes against the manifest. */
async function readSplitTable(
  store: ObjectStore,
  object: StoredObject,
  dir: string,
): Promise<FeatureTable> {
  const path = join(dir, object.key.split("/").pop() as string);
  await store.getFile(object.key, path);
  if ((await sha256File(path)) !== object.sha256)
    throw new InputError(
      `${store.uri}/${object.key}: its content differs from the split manifest (run split again)`,
    );
  return FeatureTable.read(path, { text: [TRACK_ID_COLUMN, GENRES_COLUMN] });
}

/** Runs `work`, naming the split's tables by their store URI in its bad-input messages. */
async function inStoreTerms<T>(
  split: SplitInputs,
  dir: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    let message = error.message;
    for (const object of [split.train, split.valid])
      message = message.replaceAll(
        join(dir, object.key.split("/").pop() as string),
        `${split.storeUri}/${object.key}`,
      );
    throw new InputError(message);
  }
}

/** A metric key MLflow accepts for a genre name. */
function genreKey(genre: string): string {
  return genre.replace(/[^\p{L}\p{N}_.\- /]/gu, "_");
}

function metricEntries(prefix: string, m: Metrics): [string, number][] {
  return [
    [`${prefix}jaccard_samples`, m.jaccardSamples],
    [`${prefix}hamming_loss`, m.hammingLoss],
    [`${prefix}f1_micro`, m.f1Micro],
    [`${prefix}f1_macro`, m.f1Macro],
  ];
}

function csvCell(value: string | number | null): string {
  const text = value === null ? "" : String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

async function logInChunks<T>(
  items: T[],
  size: number,
  write: (chunk: T[]) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await write(items.slice(i, i + size));
}

/** Validation metrics of the model and of the most-frequent baseline, overall and per genre. */
async function scoreValidation(model: GenreModel, valid: FeatureTable, baselineK: number) {
  const evaluation = await evaluateTable(model, valid, { unseenGenres: "ignore", baselineK });
  const labels = tableLabels(valid, model.binarizer, "ignore", "the training table");
  const y = labels.y;
  const baselinePred = mostFrequentPrediction(y.rows, y.cols, baselineK);
  const baselinePerGenre = labelMetrics(
    y,
    baselinePred,
    { data: Float64Array.from(baselinePred.data), rows: y.rows, cols: y.cols },
    model.labels,
  );
  return {
    rows: evaluation.evaluated,
    model: evaluation.model,
    baseline: evaluation.baselines[`most-frequent-${baselineK}`] as Metrics,
    perGenre: evaluation.perGenre,
    baselinePerGenre,
  };
}

function forestSettings(parameters: TrainParameters) {
  return {
    ...DEFAULT_FOREST,
    nTrees: parameters.trees,
    ...(parameters.max_features === undefined ? {} : { maxFeatures: parameters.max_features }),
    ...(parameters.min_samples_leaf === undefined
      ? {}
      : { minSamplesLeaf: parameters.min_samples_leaf }),
    classWeight: parameters.class_weight,
    seed: parameters.seed,
    ...(parameters.max_depth === undefined ? {} : { maxDepth: parameters.max_depth }),
  };
}

async function recordFit(
  client: TrackingClient,
  runId: string,
  input: { parameters: TrainParameters; split: SplitInputs; addedDays: SplitDay[] },
  fitted: Awaited<ReturnType<typeof fitModel>>,
  scores: Awaited<ReturnType<typeof scoreValidation>>,
  dir: string,
): Promise<void> {
  const { parameters, split } = input;
  const { model, summary } = fitted;
  const settings = summary.forest ?? {};
  const params: Record<string, string | number | boolean> = {
    model_kind: summary.kind,
    top_k: parameters.top_k,
    labels: summary.labels,
    baseline_k: parameters.baseline_k,
    seed: parameters.seed,
    features: summary.features.join(","),
    feature_count: summary.features.length,
    decision_metric: summary.decision.metric ?? "none",
    decision_at_least_one: summary.decision.atLeastOne,
    unseen_genres: "ignore",
    add_days: parameters.add_days,
    train_rows: summary.train.rows,
    train_rows_used: summary.train.used,
    valid_rows: summary.valid.rows,
    valid_rows_used: summary.valid.used,
  };
  for (const [key, value] of Object.entries(settings))
    if (key !== "workers") params[`forest.${key}`] = value === null ? "none" : String(value);
  const preprocessing = (model.parts.metadata as { preprocessing?: object }).preprocessing ?? {};
  for (const [key, value] of Object.entries(preprocessing))
    params[`preprocessing.${key}`] = String(value);
  for (const [key, value] of Object.entries(split.parameters))
    params[`split.${key}`] = String(value);
  await logInChunks(Object.entries(params), 90, (chunk) =>
    client.logParams(runId, Object.fromEntries(chunk)),
  );

  const inputs: [string, StoredObject, string][] = [
    ["train", split.train, "training"],
    ["valid", split.valid, "validation"],
  ];
  for (const day of input.addedDays)
    inputs.push([`day-${String(day.day).padStart(4, "0")}-labels`, day.labels, "training"]);
  await client.logInputs(
    runId,
    inputs.map(([name, object, context]) => ({
      dataset: {
        name,
        digest: object.sha256.slice(0, 32),
        sourceType: "object-store",
        source: `${split.storeUri}/${object.key}`,
        profile: JSON.stringify({ rows: object.rows, bytes: object.bytes, sha256: object.sha256 }),
      },
      tags: [{ key: "mlflow.data.context", value: context }],
    })),
  );

  const metrics: [string, number][] = [
    ...metricEntries("", scores.model),
    ...metricEntries("baseline.", scores.baseline),
    ["valid_rows_scored", scores.rows],
    ["fit_seconds", summary.seconds.total],
  ];
  for (const [prefix, perGenre] of [
    ["genre.", scores.perGenre],
    ["baseline.genre.", scores.baselinePerGenre],
  ] as const) {
    for (const g of perGenre) {
      const key = `${prefix}${genreKey(g.genre)}`;
      metrics.push(
        [`${key}.f1`, g.f1],
        [`${key}.precision`, g.precision],
        [`${key}.recall`, g.recall],
        [`${key}.support`, g.support],
      );
    }
  }
  const timestamp = Date.now();
  await logInChunks(metrics, 500, (chunk) =>
    client.logBatch(runId, {
      metrics: chunk
        .filter(([, value]) => Number.isFinite(value))
        .map(([key, value]) => ({ key, value, timestamp, step: 0 })),
    }),
  );

  const modelDir = join(dir, "model");
  const modelFile = await saveModel(modelDir, model);
  await client.logArtifactFile(runId, modelFile, MODEL_ARTIFACT_DIR);
  const artifacts: [string, string][] = [
    [
      "metrics.json",
      JSON.stringify(
        {
          validation: { rows: scores.rows, model: scores.model, baseline: scores.baseline },
          fit: summary.validation,
          seconds: summary.seconds,
        },
        null,
        2,
      ),
    ],
    [
      PER_GENRE_ARTIFACT,
      [
        "genre,support,f1,precision,recall,roc_auc,threshold,baseline_f1,baseline_precision,baseline_recall",
        ...scores.perGenre.map((g, k) => {
          const b = scores.baselinePerGenre[k];
          return [
            g.genre,
            g.support,
            g.f1,
            g.precision,
            g.recall,
            g.rocAuc,
            summary.decision.thresholds[g.genre] ?? null,
            b?.f1 ?? null,
            b?.precision ?? null,
            b?.recall ?? null,
          ]
            .map(csvCell)
            .join(",");
        }),
      ].join("\n"),
    ],
    ["thresholds.json", JSON.stringify(summary.decision, null, 2)],
  ];
  const importances = model.parts.forest?.featureImportances;
  if (importances !== undefined) {
    const rows = summary.features
      .map((feature, f) => ({ feature, importance: importances[f] as number }))
      .sort((a, b) => b.importance - a.importance);
    artifacts.push([
      "feature_importances.csv",
      ["feature,importance", ...rows.map((r) => `${csvCell(r.feature)},${r.importance}`)].join(
        "\n",
      ),
    ]);
  }
  for (const [name, text] of artifacts) {
    const path = join(dir, name);
    await writeFile(path, `${text}\n`);
    await client.logArtifactFile(runId, path);
  }
}

/** The `flows run train` command that fits the same way (parameters in their resolved form). */
function trainCommand(parameters: TrainParameters): string {
  const words = ["genre-classifier", "flows", "run", "train"];
  for (const [key, value] of Object.entries(parameters))
    if (key !== "retrain" && value !== undefined)
      words.push("--param", shellWord(`${key}=${value}`));
  return words.join(" ");
}

/** How the split set the validation table apart from the training one, for the model card. */
function validationSplit(split: SplitInputs): string {
  const p = split.parameters;
  const years = `the tracks of the newest ${p.testYears} release years became the daily test batches, and the others went`;
  return p.strategy === "random"
    ? `Validation is the pipeline's split (strategy random, seed ${p.seed}): ${years} to training or validation track by track at random, so an artist can be on both sides.`
    : `Validation is the pipeline's split (strategy ${p.strategy}, seed ${p.seed}): ${years} to training or validation by artist, about ${Math.round(100 * Number(p.validFraction))}% of the artists to validation.`;
}

export const fitAndRecord = task(
  "train-fit",
  async (
    input: { parameters: TrainParameters; split: SplitInputs },
    context,
  ): Promise<FitResult> => {
    const environment = pipelineEnvironment();
    const store = pipelineStore();
    const client = await pipelineTracking();
    const experimentName = environment.config.pipeline.experiment;
    const dir = await mkdtemp(join(tmpdir(), "genre-train-"));
    try {
      const { parameters } = input;
      let train = await readSplitTable(store, input.split.train, dir);
      const valid = await readSplitTable(store, input.split.valid, dir);
      let addedDays: SplitDay[] = [];
      if (parameters.add_days > 0) {
        const manifest = await readSplitManifest(store, SPLIT_MANIFEST_KEY);
        if (manifest.digest !== input.split.digest)
          throw new OperationError("the split changed while training: run train again");
        const grown = await trainingTableWithDays(
          store,
          manifest,
          train.path,
          parameters.add_days,
          join(dir, "train-with-days.parquet"),
          dir,
        );
        addedDays = grown.days;
        train = await FeatureTable.read(grown.path, { text: [TRACK_ID_COLUMN, GENRES_COLUMN] });
        context.log(
          `training on the split's train table and days 1–${parameters.add_days} with their labels: ${grown.rows} tracks`,
        );
      }
      const { fitted, scores } = await inStoreTerms(input.split, dir, async () => {
        const fitted = await fitModel({
          train,
          valid,
          ...(parameters.features === undefined
            ? {}
            : { features: parameters.features.split(",").map((f) => f.trim()) }),
          topK: parameters.top_k,
          baselineK: parameters.baseline_k,
          forest: forestSettings(parameters),
          unseenGenres: "ignore",
          log: environment.log,
        });
        return {
          fitted,
          scores: await scoreValidation(fitted.model, valid, parameters.baseline_k),
        };
      });
      const experiment = await client.getOrCreateExperiment(experimentName);
      const version = await codeVersion();
      const run = await client.startRun(experiment.experimentId, {
        runName: `train-${parameters.trees}-trees-seed-${parameters.seed}`,
        tags: {
          "split.manifest_digest": input.split.digest,
          "code.version": version,
          "orchestration.flow_run_id": context.flowRunId,
          "orchestration.task_run_id": context.taskRunId,
          [TRAIN_PARAMETERS_TAG]: JSON.stringify(retrainable(parameters)),
        },
      });
      const runId = run.info.runId;
      try {
        await recordFit(client, runId, { ...input, addedDays }, fitted, scores, dir);
        const card = await saveModelCard(
          dir,
          {
            model: fitted.model,
            summary: {
              ...fitted.summary,
              train: {
                ...fitted.summary.train,
                table: `${input.split.storeUri}/${input.split.train.key}${addedDays.length > 0 ? ` with days 1–${addedDays.length} and their labels` : ""}`,
              },
              valid: {
                ...fitted.summary.valid,
                table: `${input.split.storeUri}/${input.split.valid.key}`,
              },
            },
          },
          { train, valid },
          {
            command: trainCommand(parameters),
            version,
            validationSplit: validationSplit(input.split),
            unseenGenres: "ignore",
          },
        );
        await client.logArtifactFile(runId, card);
        const references = await writeMonitoringReference(fitted.model, train, valid, dir);
        for (const path of references)
          await client.logArtifactFile(runId, path, REFERENCE_ARTIFACT_DIR);
        await client.endRun(runId, "FINISHED");
      } catch (error) {
        await client.endRun(runId, "FAILED").catch(() => {});
        throw error;
      }
      context.log(
        `run ${runId}: validation jaccard ${scores.model.jaccardSamples.toFixed(4)} (baseline ${scores.baseline.jaccardSamples.toFixed(4)})`,
      );
      return {
        runId,
        experimentId: experiment.experimentId,
        experiment: experimentName,
        validation: { model: scores.model, baseline: scores.baseline, rows: scores.rows },
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
  {
    version: "1",
    retries: 1,
    retryDelayMs: 1000,
    retryIf: notBadInput,
    cache: {
      key: (input) =>
        input.parameters.retrain
          ? undefined
          : [{ ...input.parameters, retrain: false }, input.split.digest],
    },
    description: "fits the model on the split and records the fit as a tracking run",
  },
);

async function currentChampion(
  client: TrackingClient,
  name: string,
): Promise<ModelVersion | undefined> {
  try {
    return await client.getModelVersionByAlias(name, CHAMPION);
  } catch (error) {
    if (error instanceof TrackingError && error.code === "RESOURCE_DOES_NOT_EXIST")
      return undefined;
    throw error;
  }
}

/** The champion's model file, downloaded through the registry, scored on the validation table. */
async function rescoreChampion(
  client: TrackingClient,
  store: ObjectStore,
  champion: ModelVersion,
  valid: StoredObject,
  baselineK: number,
): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "genre-champion-"));
  try {
    const table = await readSplitTable(store, valid, dir);
    await client.downloadModelVersion(champion.name, champion.version, join(dir, "champion"));
    const { model } = await loadModel(join(dir, "champion"));
    const evaluation = await evaluateTable(model, table, { unseenGenres: "ignore", baselineK });
    return evaluation.model.jaccardSamples;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function moveAliases(
  client: TrackingClient,
  name: string,
  version: string,
  champion: ModelVersion | undefined,
): Promise<string | null> {
  const previous = champion !== undefined && champion.version !== version ? champion : undefined;
  if (previous) await client.setAlias(name, PREVIOUS, previous.version);
  await client.setAlias(name, CHAMPION, version);
  return previous?.version ?? null;
}

export const registerIfBetter = task(
  "train-register",
  async (
    input: { fit: FitResult; valid: StoredObject; baselineK: number },
    context,
  ): Promise<RegistrationResult> => {
    const environment = pipelineEnvironment();
    const client = await pipelineTracking();
    const name = environment.config.pipeline.registeredModel;
    const { runId } = input.fit;
    const champion = await currentChampion(client, name);

    const ofThisRun = (
      await client.searchModelVersions({ filter: `run_id = '${runId}'`, maxResults: 100 })
    ).items.filter((v) => v.name === name);
    const existing = ofThisRun[0];
    if (existing !== undefined) {
      // A re-run after a crash between registering and moving the aliases finishes the move.
      const behind = champion === undefined || Number(champion.version) < Number(existing.version);
      const previous = behind ? await moveAliases(client, name, existing.version, champion) : null;
      const reason = existing.tags.find((t) => t.key === "gate.reason")?.value ?? "";
      context.log(`run ${runId} is already registered as ${name} version ${existing.version}`);
      return {
        registeredModel: name,
        decision: "already registered",
        reason: `run ${runId} is already version ${existing.version}${reason ? ` (${reason})` : ""}`,
        version: existing.version,
        previous,
        champion: null,
      };
    }

    let championScore: { version: string; jaccard: number } | undefined;
    let note = "";
    if (champion !== undefined) {
      try {
        championScore = {
          version: champion.version,
          jaccard: await rescoreChampion(
            client,
            pipelineStore(),
            champion,
            input.valid,
            input.baselineK,
          ),
        };
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        note = `champion v${champion.version} cannot be scored on this validation table (${error.message}); `;
      }
    }
    const gates = environment.config.pipeline.gates;
    const decision: GateDecision = decideRegistration(
      {
        candidate: {
          jaccard: input.fit.validation.model.jaccardSamples,
          hammingLoss: input.fit.validation.model.hammingLoss,
        },
        baseline: { jaccard: input.fit.validation.baseline.jaccardSamples },
        champion: championScore,
      },
      gates,
    );
    const reason = `${note}${decision.reason}`;
    const verdict = decision.register ? "registered" : "refused";
    const tags: Record<string, string> = { "gate.decision": verdict, "gate.reason": reason };
    if (championScore) {
      tags["gate.champion_version"] = championScore.version;
      tags["gate.champion_jaccard"] = String(championScore.jaccard);
    }
    for (const [key, value] of Object.entries(tags)) await client.setTag(runId, key, value);
    context.log(`gate ${verdict}: ${reason}`);
    if (!decision.register) {
      return {
        registeredModel: name,
        decision: "refused",
        reason,
        version: null,
        previous: null,
        champion: championScore ?? null,
      };
    }
    const version = await client.registerModelVersion(name, runId, MODEL_ARTIFACT_DIR, {
      description: `trained by run ${runId}`,
      tags,
    });
    const previous = await moveAliases(client, name, version.version, champion);
    return {
      registeredModel: name,
      decision: "registered",
      reason,
      version: version.version,
      previous,
      champion: championScore ?? null,
    };
  },
  {
    retries: 2,
    retryDelayMs: 1000,
    retryIf: notBadInput,
    description: "applies the registration gates and registers the run's model when it passes",
  },
);

export const trainFlow = flow(
  "train",
  async (parameters, context): Promise<TrainResult> => {
    const split = await splitInputs({});
    const fit = await fitAndRecord({ parameters, split });
    const registration = await registerIfBetter({
      fit,
      valid: split.valid,
      baselineK: parameters.baseline_k,
    });
    const v = fit.validation;
    context.log(
      `run ${fit.runId}: jaccard ${v.model.jaccardSamples.toFixed(4)} vs baseline ${v.baseline.jaccardSamples.toFixed(4)}; ${registration.decision}${registration.version ? ` as version ${registration.version}` : ""}`,
    );
    if (!Number.isFinite(v.model.jaccardSamples))
      throw new OperationError(`run ${fit.runId}: the validation Jaccard is not a number`);
    return { ...fit, registration };
  },
  {
    parameters: trainParameters,
    description:
      "fits the genre model on the split, records the run (experiment pipeline.experiment) and registers it when it beats the baseline and the champion",
  },
);
