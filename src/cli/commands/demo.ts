// `demo`: the product loop on generated data with the embedded defaults — a synthetic MSD
// subset whose newest releases follow a trend, `complete-training` (ingest → preprocess →
// split → train and register through the gates), then `daily-inference` for the first days
// (predict, monitor, retrain when a day drifts) — each step a recorded flow run, then a summary
// of what was done and where the outputs and reports are.
import { existsSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import type { DailyInferenceResult } from "../../flows/daily.ts";
import type { CompleteTrainingResult } from "../../flows/pipeline.ts";
import type { Metrics } from "../../training/tables.ts";
import { positiveInteger } from "../options.ts";
import { runFlowToEnd, withOrchestrator } from "../orchestrator.ts";
import { printLine } from "../output.ts";
import { parseTrendStrength, runSynth } from "./synth.ts";

interface DemoFlags {
  tracks: number;
  seed: number;
  days: number;
  batchSize?: number;
  testYears?: number;
  trendStrength: number;
}

/** The generator's newest release year: the demo's trend starts there. */
const TREND_YEAR = 2010;
const DEFAULT_SPLIT = { testYears: 2, batchSize: 30 };

/**
 * Test years and batch size for the demo from the subset's tracks per year: the years before
 * the trend fill days 1 and 2, so day 3 is the first day of the trend's releases.
 */
export function planDemoSplit(years: Record<string, number>): {
  testYears: number;
  batchSize: number;
} {
  const trendTracks = Object.entries(years)
    .filter(([y]) => Number(y) >= TREND_YEAR)
    .reduce((sum, [, count]) => sum + count, 0);
  const older = Object.entries(years)
    .map(([y, count]) => [Number(y), count] as const)
    .filter(([y]) => y > 0 && y < TREND_YEAR)
    .sort((a, b) => b[0] - a[0]);
  const wanted = Math.min(50, trendTracks);
  if (wanted < 1 || older.length === 0) return DEFAULT_SPLIT;
  let tracks = 0;
  let used = 0;
  for (const [, count] of older) {
    tracks += count;
    used++;
    if (tracks >= 2 * wanted) break;
  }
  const newest = Object.keys(years).filter((y) => Number(y) >= TREND_YEAR).length;
  return {
    testYears: used + Math.max(1, newest),
    batchSize: Math.max(1, Math.min(trendTracks, Math.floor(tracks / 2))),
  };
}

const f3 = (x: number) => x.toFixed(3);

interface SubsetRecord {
  years: Record<string, number>;
  trendTracks: number;
}

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
    .option(
      "--batch-size <n>",
      "test tracks per day (default: planned so that day 3 starts the trend)",
      positiveInteger,
    )
    .option(
      "--test-years <n>",
      "newest release years that form the test days (default: planned with the batch size)",
      positiveInteger,
    )
    .option(
      "--trend-strength <s>",
      `strength of the trend in the releases from ${TREND_YEAR} on (0: none)`,
      parseTrendStrength,
      1,
    )
    .action(async (flags: DemoFlags, command: Command) => {
      const started = Date.now();
      await withOrchestrator(command, async (orchestrator, context) => {
        const log = context.log;
        const subset = join(
          context.config.dataDir,
          "synthetic",
          `msd-${flags.tracks}-seed-${flags.seed}-trend-${flags.trendStrength}`,
        );
        const complete = join(subset, ".complete");
        let record: SubsetRecord;
        if (existsSync(complete)) {
          log.info({ folder: subset }, "1/3 reusing the generated subset");
          record = JSON.parse(await readFile(complete, "utf8")) as SubsetRecord;
        } else {
          log.info(
            { tracks: flags.tracks, folder: subset },
            "1/3 generating a synthetic MSD subset",
          );
          await rm(subset, { recursive: true, force: true });
          const generated = await runSynth(context, {
            tracks: flags.tracks,
            out: subset,
            seed: flags.seed,
            ...(flags.trendStrength > 0
              ? { trendFromYear: TREND_YEAR, trendStrength: flags.trendStrength }
              : {}),
          });
          record = { years: generated.years, trendTracks: generated.trendTracks };
          await writeFile(complete, `${JSON.stringify(record)}\n`);
        }
        const planned =
          flags.batchSize === undefined && flags.testYears === undefined
            ? planDemoSplit(record.years)
            : DEFAULT_SPLIT;
        const testYears = flags.testYears ?? planned.testYears;
        const batchSize = flags.batchSize ?? planned.batchSize;

        log.info(
          { source: subset },
          "2/3 complete-training: ingest → preprocess → split → train and register",
        );
        const training = await runFlowToEnd(orchestrator, "complete-training", {
          source: join(subset, "data"),
          test_years: testYears,
          batch_size: batchSize,
        });
        const trained = training.result as CompleteTrainingResult;
        const days = Math.min(flags.days, trained.split.counts.days);

        const daily: { flowRunId: string; result: DailyInferenceResult }[] = [];
        for (let day = 1; day <= days; day++) {
          log.info({ day }, `3/3 daily-inference for day ${day} of ${days}: predict, monitor`);
          const run = await runFlowToEnd(orchestrator, "daily-inference", { day });
          daily.push({ flowRunId: run.flowRunId, result: run.result as DailyInferenceResult });
        }

        const store = trained.split.storeUri;
        const seconds = (Date.now() - started) / 1000;
        const { ingest, preprocess, split, train } = trained;
        const r = train.registration;
        printLine(`genre-classifier demo: done in ${seconds.toFixed(1)} s`);
        printLine(
          `  data      ${flags.tracks} synthetic MSD track files (seed ${flags.seed}) in ${subset}/data/; ${record.trendTracks} released from ${TREND_YEAR} on follow a trend${flags.trendStrength > 0 ? ` of strength ${flags.trendStrength}` : " (none: --trend-strength 0)"}`,
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
        for (const { flowRunId, result } of daily) {
          const { prediction, monitor, retrain } = result;
          if (prediction.status === "all-done") {
            printLine(`  daily-inference: ${prediction.message}`);
            continue;
          }
          printLine(
            `  day ${prediction.day}     ${prediction.tracks} tracks tagged by version ${prediction.model.version} (${prediction.status}) → ${store}/${prediction.key}  (flow run ${flowRunId})`,
          );
          if (monitor === null) continue;
          const quality = monitor.jaccard === null ? "" : `, Jaccard ${f3(monitor.jaccard)}`;
          printLine(
            `            drift: ${monitor.drift.drifted} of ${monitor.drift.columns} columns (share ${f3(monitor.drift.share)})${monitor.drift.drift ? " — dataset drift" : ""}${quality} → ${store}/${monitor.report}`,
          );
          printLine(
            `            ${monitor.retrain.retrain ? "retrain" : "no retrain"}: ${monitor.retrain.reasons.join("; ")}`,
          );
          if (retrain !== null) printLine(`            retrained: ${retrain.outcome}`);
        }
        const index = daily.map((d) => d.result.monitor?.index).find((i) => i !== undefined);
        if (index !== undefined) printLine(`  reports   ${store}/${index}`);
        printLine(
          `  next: genre-classifier serve (the web UI at http://127.0.0.1:${context.config.server.port}/) · predict (the next day) · models show ${r.registeredModel} · flows runs list`,
        );
        printLine(`  all data under ${context.config.dataDir}/`);
      });
    });
}
