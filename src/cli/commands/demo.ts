// `demo`: runs every pipeline step that exists so far on generated data with the embedded
// defaults, then says what it did and where the outputs are.
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { InputError } from "../../common/errors.ts";
import { DEFAULT_FEATURES_KEY } from "../../features/preprocess.ts";
import { type DemoModel, fitDemoModel, VALIDATION_EVERY } from "../../training/demo.ts";
import type { Metrics } from "../../training/tables.ts";
import { createContext } from "../context.ts";
import { positiveInteger } from "../options.ts";
import { formatBytes, printLine, printTable } from "../output.ts";
import { runIngest } from "./ingest.ts";
import { runPreprocess } from "./preprocess.ts";
import { runSynth } from "./synth.ts";

interface DemoFlags {
  tracks: number;
  seed: number;
}

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("run every pipeline step that exists so far on a generated subset, then summarize")
    .option("--tracks <n>", "tracks in the generated subset", positiveInteger, 2000)
    .option("--seed <n>", "random seed of the generated subset", positiveInteger, 42)
    .action(async (flags: DemoFlags, command: Command) => {
      const context = createContext(command);
      const started = Date.now();
      const log = context.log;

      const subset = join(
        context.config.dataDir,
        "synthetic",
        `msd-${flags.tracks}-seed-${flags.seed}`,
      );
      const complete = join(subset, ".complete");
      if (existsSync(complete)) {
        log.info({ folder: subset }, "reusing the generated subset");
      } else {
        log.info({ tracks: flags.tracks, folder: subset }, "1/4 generating a synthetic MSD subset");
        await rm(subset, { recursive: true, force: true });
        await runSynth(context, { tracks: flags.tracks, out: subset, seed: flags.seed });
        await writeFile(complete, `${new Date().toISOString()}\n`);
      }

      log.info({ source: subset }, "2/4 ingesting the track files into the object store");
      const ingested = await runIngest(context, { source: join(subset, "data") });

      log.info("3/4 preprocessing the track files into the feature table");
      const preprocessed = await runPreprocess(context);

      log.info("4/4 fitting a genre model on the feature table");
      let fitted: DemoModel | string;
      const store = context.openStore();
      try {
        fitted = await fitDemoModel({
          store,
          featuresKey: DEFAULT_FEATURES_KEY,
          outDir: join(context.config.dataDir, "models", "demo"),
          log,
        });
      } catch (error) {
        // Too few tracks can leave nothing to validate on; the demo still reports the rest.
        if (!(error instanceof InputError)) throw error;
        fitted = error.message;
      } finally {
        await store.close();
      }

      const seconds = (Date.now() - started) / 1000;
      printLine(`genre-classifier demo: done in ${seconds.toFixed(1)} s`);
      printLine(
        `  1. synth       ${flags.tracks} synthetic MSD track files (seed ${flags.seed}) in ${subset}/data/`,
      );
      printLine(
        `  2. ingest      ${ingested.copied} copied (${formatBytes(ingested.bytesCopied)}), ${ingested.unchanged} unchanged, ${ingested.rejected.length} rejected → ${ingested.target}/`,
      );
      printLine(
        `  3. preprocess  ${preprocessed.tracks} tracks, ${preprocessed.genres} genres, ${preprocessed.tracksWithoutGenres} without genres, ${preprocessed.rejects} rejected, ${preprocessed.workers} workers, ${preprocessed.seconds.toFixed(1)} s`,
      );
      printLine(`     feature table  ${preprocessed.features}`);
      printLine(`     rejects table  ${preprocessed.rejectsTable}`);
      if (typeof fitted === "string") printLine(`  4. model       skipped: ${fitted}`);
      else printDemoModel(fitted);
      printLine(
        `  configuration: genre-classifier config show; all data under ${context.config.dataDir}/`,
      );
    });
}

function printDemoModel(fitted: DemoModel): void {
  const { summary } = fitted;
  const what = summary.forest ? `forest of ${summary.forest.nTrees} trees` : summary.kind;
  printLine(
    `  4. model       ${what} on ${summary.features.length} features and ${summary.labels} genres: fitted on ${summary.train.used} tracks, thresholds tuned on ${summary.valid.used} (every ${VALIDATION_EVERY}th track), ${fitted.seconds.toFixed(1)} s`,
  );
  printLine(`     model file     ${fitted.modelFile}`);
  printLine("     validation metrics (the thresholds were tuned on these same tracks):");
  const cell = (v: number) => v.toFixed(3);
  const rows = Object.entries(summary.validation).map(([name, m]: [string, Metrics]) => [
    `       ${name}`,
    cell(m.jaccardSamples),
    cell(m.f1Micro),
    cell(m.f1Macro),
    cell(m.hammingLoss),
  ]);
  printTable(["", "jaccard", "micro-F1", "macro-F1", "hamming"], rows);
}
