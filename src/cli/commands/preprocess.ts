// `preprocess`: turns the track files in the store into the Parquet feature table.
import type { Command } from "commander";
import { Progress } from "../../common/progress.ts";
import {
  DEFAULT_FEATURES_KEY,
  DEFAULT_REJECTS_KEY,
  type PreprocessSummary,
  preprocess,
} from "../../features/preprocess.ts";
import { defaultVocabulary, loadVocabulary } from "../../features/vocabulary.ts";
import { DEFAULT_RAW_PREFIX } from "../../ingest/ingest.ts";
import { type CommandContext, createContext } from "../context.ts";
import { positiveInteger } from "../options.ts";
import { printJson, printLine } from "../output.ts";

interface PreprocessFlags {
  rawPrefix: string;
  output: string;
  rejects: string;
  workers?: number;
  json?: boolean;
}

export function registerPreprocessCommand(program: Command): void {
  program
    .command("preprocess")
    .description("read every track file in the store and write the Parquet feature table")
    .option("--raw-prefix <prefix>", "where the track files are in the store", DEFAULT_RAW_PREFIX)
    .option("--output <key>", "feature table key in the store", DEFAULT_FEATURES_KEY)
    .option("--rejects <key>", "rejects table key in the store", DEFAULT_REJECTS_KEY)
    .option("--workers <n>", "worker threads (default: one per CPU core)", positiveInteger)
    .option("--json", "print the summary as JSON")
    .action(async (flags: PreprocessFlags, command: Command) => {
      const context = createContext(command);
      const summary = await runPreprocess(context, flags);
      if (flags.json) printJson(summary);
      else printPreprocessSummary(summary);
    });
}

export async function runPreprocess(
  context: CommandContext,
  flags: Partial<PreprocessFlags> = {},
): Promise<PreprocessSummary> {
  const { features } = context.config;
  const vocabulary = features.vocabularyFile
    ? await loadVocabulary(features.vocabularyFile)
    : defaultVocabulary();
  const store = context.openStore();
  const progress = new Progress({ label: "preprocess", unit: "files", quiet: context.quiet });
  try {
    const summary = await preprocess({
      store,
      vocabulary,
      minTermWeight: features.minTermWeight,
      rawPrefix: flags.rawPrefix,
      featuresKey: flags.output,
      rejectsKey: flags.rejects,
      workers: flags.workers,
      onFile: (_done, total) => {
        progress.setTotal(total);
        progress.tick();
      },
    });
    progress.finish();
    return summary;
  } finally {
    await store.close();
  }
}

export function printPreprocessSummary(summary: PreprocessSummary): void {
  const rate = summary.seconds > 0 ? (summary.files / summary.seconds).toFixed(0) : "-";
  printLine(
    `preprocess: ${summary.files} track files read on ${summary.workers} workers in ${summary.seconds.toFixed(1)} s (${rate} files/s)`,
  );
  printLine(`  tracks written        ${summary.tracks} (${summary.genres} distinct genres)`);
  printLine(`  tracks without genres ${summary.tracksWithoutGenres}`);
  printLine(`  rejects               ${summary.rejects}`);
  for (const { reason, count } of summary.rejectReasons) printLine(`    ${count} × ${reason}`);
  printLine(`  feature table         ${summary.features}`);
  printLine(`  rejects table         ${summary.rejectsTable}`);
}
