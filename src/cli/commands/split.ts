// `split [--test-years N] [--batch-size N] [--valid-fraction F] [--seed N] [--split artist|random]`:
// runs the split flow (recorded like any flow run) and prints what it wrote: the counts of the
// train, validation and test tables, the daily batches, and where they are in the store.
import { type Command, InvalidArgumentError, Option } from "commander";
import type { SplitResult } from "../../flows/pipeline.ts";
import { nonNegativeInteger, positiveInteger } from "../options.ts";
import { runFlowForCommand } from "../orchestrator.ts";
import { printJson, printLine } from "../output.ts";

interface SplitFlags {
  testYears?: number;
  batchSize?: number;
  validFraction?: number;
  seed?: number;
  split?: string;
  json?: boolean;
}

function fraction(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !(parsed > 0 && parsed < 1))
    throw new InvalidArgumentError("expected a number between 0 and 1 (exclusive).");
  return parsed;
}

function yearRange(range: { min: number; max: number } | null): string {
  if (range === null) return "no known year";
  return range.min === range.max ? `${range.min}` : `${range.min}–${range.max}`;
}

export function registerSplitCommand(program: Command): void {
  program
    .command("split")
    .description(
      "split the feature table: the newest release years into daily batches, the rest into train and validation by artist",
    )
    .option(
      "--test-years <n>",
      "newest release years that form the test set (default 1)",
      positiveInteger,
    )
    .option("--batch-size <n>", "test tracks per day (default 100)", positiveInteger)
    .option("--valid-fraction <f>", "share of the rest for validation (default 0.2)", fraction)
    .option("--seed <n>", "seed of the split's orders (default 42)", nonNegativeInteger)
    .addOption(
      new Option("--split <how>", "train/validation split (default artist)").choices([
        "artist",
        "random",
      ]),
    )
    .option("--json", "print the flow's result as JSON")
    .action(async (flags: SplitFlags, command: Command) => {
      const parameters: Record<string, unknown> = {};
      if (flags.testYears !== undefined) parameters.test_years = flags.testYears;
      if (flags.batchSize !== undefined) parameters.batch_size = flags.batchSize;
      if (flags.validFraction !== undefined) parameters.valid_fraction = flags.validFraction;
      if (flags.seed !== undefined) parameters.seed = flags.seed;
      if (flags.split !== undefined) parameters.split = flags.split;
      const { flowRunId, result } = await runFlowForCommand(command, "split", parameters);
      const split = result as SplitResult;
      if (flags.json) return printJson({ flow_run_id: flowRunId, ...split });
      const { counts, years } = split;
      const where = (key: string) => `${split.storeUri}/${key}`;
      printLine(
        `split: ${counts.tracks.train + counts.tracks.valid + counts.tracks.test} tracks (flow run ${flowRunId})`,
      );
      printLine(
        `  train  ${String(counts.tracks.train).padStart(7)} tracks, ${counts.artists.train} artists, years ${yearRange(years.train)}  ${where(split.outputs.train)}`,
      );
      printLine(
        `  valid  ${String(counts.tracks.valid).padStart(7)} tracks, ${counts.artists.valid} artists, years ${yearRange(years.valid)}  ${where(split.outputs.valid)}`,
      );
      printLine(
        `  test   ${String(counts.tracks.test).padStart(7)} tracks, ${counts.artists.test} artists, years ${years.test.join(", ")}  ${where(split.outputs.test)}`,
      );
      printLine(
        `  days   ${String(counts.days).padStart(7)} of ${counts.batchSize} tracks (the last ${counts.lastDayTracks})  ${where(split.dailyPrefix)}/day=NNNN/{tracks,labels}.parquet`,
      );
      if (split.staleDaysRemoved > 0)
        printLine(`  removed ${split.staleDaysRemoved} day folders of an earlier, longer split`);
      printLine(
        `  manifest ${where(split.manifestKey)} (digest ${split.manifestDigest.slice(0, 12)})`,
      );
    });
}
