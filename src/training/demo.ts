// The demo's model step: the feature table from the store, split deterministically into
// training and validation rows (every fifth track validates, until the split step exists),
// a model fitted with the seed's model beside it, and the model saved to a folder.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../common/logger.ts";
import { FeatureTable } from "../features/feature-table.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { type FitSummary, fitModel } from "./fit.ts";
import { saveModel } from "./use.ts";

export const VALIDATION_EVERY = 5;

export interface DemoModel {
  summary: FitSummary;
  modelFile: string;
  seconds: number;
}

export async function fitDemoModel(options: {
  store: ObjectStore;
  featuresKey: string;
  outDir: string;
  log: Logger;
}): Promise<DemoModel> {
  const started = performance.now();
  const { store, featuresKey } = options;
  let path = await store.localFile(featuresKey);
  let scratch: string | undefined;
  try {
    if (!path) {
      scratch = await mkdtemp(join(tmpdir(), "gc-demo-model-"));
      path = join(scratch, "features.parquet");
      await store.getFile(featuresKey, path);
    }
    const table = await FeatureTable.read(path);
    const trainRows: number[] = [];
    const validRows: number[] = [];
    for (let i = 0; i < table.rows; i++) {
      (i % VALIDATION_EVERY === VALIDATION_EVERY - 1 ? validRows : trainRows).push(i);
    }
    const name = `${store.uri}/${featuresKey}`;
    const train = table.select(Uint32Array.from(trainRows), `${name} (training rows)`);
    const valid = table.select(
      Uint32Array.from(validRows),
      `${name} (every ${VALIDATION_EVERY}th row)`,
    );
    const { model, summary } = await fitModel({
      train,
      valid,
      seedBaseline: true,
      // A split this simple can leave a genre in validation only.
      unseenGenres: "ignore",
      log: options.log,
    });
    const modelFile = await saveModel(options.outDir, model);
    return { summary, modelFile, seconds: (performance.now() - started) / 1000 };
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}
