// `demo`: runs every pipeline step that exists so far on generated data with the embedded
// defaults, then says what it did and where the outputs are.
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { createContext } from "../context.ts";
import { positiveInteger } from "../options.ts";
import { formatBytes, printLine } from "../output.ts";
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
        log.info({ tracks: flags.tracks, folder: subset }, "1/3 generating a synthetic MSD subset");
        await rm(subset, { recursive: true, force: true });
        await runSynth(context, { tracks: flags.tracks, out: subset, seed: flags.seed });
        await writeFile(complete, `${new Date().toISOString()}\n`);
      }

      log.info({ source: subset }, "2/3 ingesting the track files into the object store");
      const ingested = await runIngest(context, { source: join(subset, "data") });

      log.info("3/3 preprocessing the track files into the feature table");
      const preprocessed = await runPreprocess(context);

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
      printLine(
        `  configuration: genre-classifier config show; all data under ${context.config.dataDir}/`,
      );
    });
}
