// `demo`: the product loop on generated data with the embedded defaults — a synthetic MSD
// subset, `complete-training` (ingest → preprocess → split → train and register through the
// gates), then `daily-inference` for the first days — each step a recorded flow run, then a
// summary of what was done and where the outputs are.
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import type { CompleteTrainingResult } from "../../flows/pipeline.ts";
import type { PredictResult } from "../../flows/predict.ts";
import type { Metrics } from "../../training/tables.ts";
import { positiveInteger } from "../options.ts";
import { printLine } from "../output.ts";
import { runFlowToEnd, withOrchestrator } from "./flows.ts";
import { runSynth } from "./synth.ts";

interface DemoFlags {
  tracks: number;
  seed: number;
  days: number;
  batchSize: number;
  testYears: number;
}

const f3 = (x: number) => x.toFixed(3);

function scores(m: Metrics): string {
  return `Jaccard ${f3(m.jaccardSamples)}, micro-F1 ${f3(m.f1Micro)}, macro-F1 ${f3(m.f1Macro)}`;
}

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description(
      "run the whole loop on a generated subset: complete-training, then daily-inference for the first days",
    )
    .option("--tracks <n>", "tracks in the generated subset", positiveInteger, 2000)
    .option("--seed <n>", "random seed of the generated subset", positiveInteger, 42)
    .option("--days <n>", "days of daily-inference to run", positiveInteger, 3)
    .option("--batch-size <n>", "test tracks per day", positiveInteger, 30)
    .option("--test-years <n>", "newest release years that form the test days", positiveInteger, 2)
    .action(async (flags: DemoFlags, command: Command) => {
      const started = Date.now();
      await withOrchestrator(command, async (orchestrator, context) => {
        const log = context.log;
        const subset = join(
          context.config.dataDir,
          "synthetic",
          `msd-${flags.tracks}-seed-${flags.seed}`,
        );
        const complete = join(subset, ".complete");
        if (existsSync(complete)) {
          log.info({ folder: subset }, "1/3 reusing the generated subset");
        } else {
          log.info(
            { tracks: flags.tracks, folder: subset },
            "1/3 generating a synthetic MSD subset",
          );
          await rm(subset, { recursive: true, force: true });
          await runSynth(context, { tracks: flags.tracks, out: subset, seed: flags.seed });
          await writeFile(complete, `${new Date().toISOString()}\n`);
        }

        log.info(
          { source: subset },
          "2/3 complete-training: ingest → preprocess → split → train and register",
        );
        const training = await runFlowToEnd(orchestrator, "complete-training", {
          source: join(subset, "data"),
          test_years: flags.testYears,
          batch_size: flags.batchSize,
        });
        const trained = training.result as CompleteTrainingResult;
        const days = Math.min(flags.days, trained.split.counts.days);

        const predicted: { flowRunId: string; result: PredictResult }[] = [];
        for (let day = 1; day <= days; day++) {
          log.info({ day }, `3/3 daily-inference for day ${day} of ${days}`);
          const run = await runFlowToEnd(orchestrator, "daily-inference", { day });
          const result = (run.result as { prediction: PredictResult }).prediction;
          predicted.push({ flowRunId: run.flowRunId, result });
        }

        const store = trained.split.storeUri;
        const seconds = (Date.now() - started) / 1000;
        const { ingest, preprocess, split, train } = trained;
        const r = train.registration;
        printLine(`genre-classifier demo: done in ${seconds.toFixed(1)} s`);
        printLine(
          `  data      ${flags.tracks} synthetic MSD track files (seed ${flags.seed}) in ${subset}/data/`,
        );
        printLine(`  complete-training (flow run ${training.flowRunId})`);
        if (ingest !== null)
          printLine(
            `    ingest      ${ingest.copied} copied, ${ingest.unchanged} unchanged, ${ingest.rejected} rejected → ${ingest.target}/`,
          );
        printLine(
          `    preprocess  ${preprocess.tracks} tracks, ${preprocess.genres} genres, ${preprocess.rejects} rejected → ${preprocess.features.uri}`,
        );
        printLine(
          `    split       ${split.counts.tracks.train} train, ${split.counts.tracks.valid} validation (by artist), ${split.counts.tracks.test} test tracks of ${split.years.test.join(", ")} in ${split.counts.days} days of ${split.counts.batchSize} → ${split.storeUri}/${split.dailyPrefix}/`,
        );
        printLine(
          `    train       run ${train.runId} in experiment ${train.experiment}: ${scores(train.validation.model)} on ${train.validation.rows} validation tracks`,
        );
        printLine(
          `                baseline (most frequent genres): ${scores(train.validation.baseline)}`,
        );
        printLine(`    gate        ${r.decision}: ${r.reason}`);
        if (r.version !== null)
          printLine(
            `    model       ${r.registeredModel} version ${r.version}${r.decision === "registered" ? " is the champion" : ""}`,
          );
        if (days < flags.days)
          printLine(
            `  the split has ${days} day${days === 1 ? "" : "s"} of ${split.counts.batchSize} tracks: lower --batch-size or raise --test-years for more`,
          );
        for (const { flowRunId, result } of predicted) {
          if (result.status === "refused" || result.status === "all-done") {
            printLine(`  daily-inference: ${result.message}`);
            continue;
          }
          printLine(
            `  day ${result.day}     ${result.tracks} tracks tagged by version ${result.model.version} (${result.status}) → ${store}/${result.key}  (flow run ${flowRunId})`,
          );
        }
        printLine(
          `  next: genre-classifier predict (the next day) · models show ${r.registeredModel} · flows runs list · runs list`,
        );
        printLine(`  all data under ${context.config.dataDir}/`);
      });
    });
}
