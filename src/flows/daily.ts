// The daily-inference flow: predicts the next day (or day=N) with the champion, monitors it, and
// when the monitor decides to retrain, runs complete-training as a subflow on the same split
// with the days whose labels have arrived added to the training data, then records what the
// retrain did in the day's report. The new model becomes champion only through the gates.
import { z } from "zod";
import { readSplitManifest } from "../datasets/manifest.ts";
import { flow } from "../orchestration/api.ts";
import { pipelineStore, pipelineTracking } from "./environment.ts";
import { type MonitorResult, monitorDay, recordRetrain } from "./monitor.ts";
import { type CompleteTrainingResult, completeTrainingFlow } from "./pipeline.ts";
import { DEFAULT_PREDICT_PARTITION, outcome, type PredictResult, predictStep } from "./predict.ts";
import { TRAIN_PARAMETERS_TAG } from "./train.ts";

export const dailyInferenceParameters = z.strictObject({
  day: z.coerce.number().int().min(1).optional(),
  alias: z.string().min(1).default("champion"),
  partition_size: z.coerce.number().int().min(0).max(10_000_000).default(DEFAULT_PREDICT_PARTITION),
});

export interface DailyInferenceResult {
  prediction: Exclude<PredictResult, { status: "refused" }>;
  monitor: MonitorResult | null;
  retrain: { outcome: string; result: CompleteTrainingResult } | null;
}

/** The days from 1 whose labels are all in the store, up to `day`. */
async function labelledDays(day: number): Promise<number> {
  const store = pipelineStore();
  const manifest = await readSplitManifest(store);
  let arrived = 0;
  for (const d of manifest.days.slice(0, day)) {
    if (!(await store.exists(d.labels.key))) break;
    arrived = d.day;
  }
  return arrived;
}

/** complete-training's parameters for a retrain: the same split, the champion's fit, more days. */
async function retrainParameters(monitor: MonitorResult): Promise<Record<string, unknown>> {
  const manifest = await readSplitManifest(pipelineStore());
  const run = await (await pipelineTracking()).getRun(monitor.model.runId);
  const recorded = run.data.tags.find((t) => t.key === TRAIN_PARAMETERS_TAG)?.value;
  const fit = recorded === undefined ? {} : (JSON.parse(recorded) as Record<string, unknown>);
  const split = manifest.parameters;
  return {
    ...fit,
    test_years: split.testYears,
    batch_size: split.batchSize,
    valid_fraction: split.validFraction,
    split: split.strategy,
    split_seed: split.seed,
    add_days: await labelledDays(monitor.day),
  };
}

export const dailyInferenceFlow = flow(
  "daily-inference",
  async (parameters, context): Promise<DailyInferenceResult> => {
    const prediction = outcome(await predictStep({ ...parameters, force: false }));
    context.log(prediction.message);
    if (prediction.status === "all-done") return { prediction, monitor: null, retrain: null };
    const monitor = await monitorDay({ day: prediction.day });
    if (!monitor.retrain.retrain) return { prediction, monitor, retrain: null };

    const retrainWith = await retrainParameters(monitor);
    context.log(
      `day ${monitor.day}: retraining with days 1–${retrainWith.add_days} added (${monitor.retrain.reasons.join("; ")})`,
    );
    const result = await completeTrainingFlow(retrainWith as never);
    const r = result.train.registration;
    const done = `complete-training, run ${result.train.runId}: ${r.decision}${r.version ? ` as version ${r.version}` : ""} (${r.reason})`;
    await recordRetrain({ day: monitor.day, runId: monitor.runId, outcome: done });
    context.log(`day ${monitor.day}: ${done}`);
    return { prediction, monitor, retrain: { outcome: done, result } };
  },
  {
    parameters: dailyInferenceParameters,
    description:
      "predicts the next day (or day=N) with the champion, monitors it, and retrains through complete-training when it drifts or its quality falls",
  },
);
