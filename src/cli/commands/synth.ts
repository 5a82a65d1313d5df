// `synth`: writes a synthetic MSD subset (real HDF5 files in the MSD layout) to a folder.
import { resolve } from "node:path";
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { InputError } from "../../common/errors.ts";
import { Progress } from "../../common/progress.ts";
import { generateSubset, type SubsetSummary, type SubsetTrend } from "../../msd/synth.ts";
import { type CommandContext, createContext } from "../context.ts";
import { positiveInteger } from "../options.ts";
import { printJson, printLine } from "../output.ts";

export interface SynthFlags {
  tracks: number;
  out: string;
  seed: number;
  workers?: number;
  json?: boolean;
  trendFromYear?: number;
  trendStrength?: number;
}

const TREND_YEARS = { from: 1900, to: 2100 };

export function parseTrendYear(value: number | string): number {
  const year = Number(value);
  if (
    String(value).trim() === "" ||
    !Number.isInteger(year) ||
    year < TREND_YEARS.from ||
    year > TREND_YEARS.to
  ) {
    throw new InputError(
      `--trend-from-year: expected a whole number from ${TREND_YEARS.from} to ${TREND_YEARS.to}, got ${JSON.stringify(String(value))}`,
    );
  }
  return year;
}

export function parseTrendStrength(value: number | string): number {
  const strength = Number(value);
  if (String(value).trim() === "" || !Number.isFinite(strength) || strength < 0) {
    throw new InputError(
      `--trend-strength: expected a finite number of at least 0, got ${JSON.stringify(String(value))}`,
    );
  }
  return strength;
}

/** The trend the flags ask for, checked; undefined without --trend-from-year. */
export function trendFromFlags(
  flags: Pick<SynthFlags, "trendFromYear" | "trendStrength">,
): SubsetTrend | undefined {
  if (flags.trendFromYear === undefined) {
    if (flags.trendStrength !== undefined) {
      throw new InputError(
        "--trend-strength: needs --trend-from-year (the first release year of the trend)",
      );
    }
    return undefined;
  }
  return {
    fromYear: parseTrendYear(flags.trendFromYear),
    strength: flags.trendStrength === undefined ? 1 : parseTrendStrength(flags.trendStrength),
  };
}

function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new InvalidArgumentError("expected a whole number.");
  return parsed;
}

export function registerSynthCommand(program: Command): void {
  program
    .command("synth")
    .description(
      "write a synthetic MSD subset: real HDF5 track files in the MSD layout (data/A/B/C/TR….h5)",
    )
    .requiredOption("--tracks <n>", "number of tracks", positiveInteger)
    .requiredOption("--out <dir>", "folder to write data/A/B/C/… under")
    .option("--seed <n>", "random seed: the same seed writes the same files", integer, 42)
    .option("--workers <n>", "worker threads (default: one per CPU core)", positiveInteger)
    .option(
      "--trend-from-year <year>",
      "tracks released in this year or later follow a trend in production style (faster, louder, brighter, less tonal)",
      parseTrendYear,
    )
    .option(
      "--trend-strength <s>",
      "strength of the trend: 0 none, 1 (default) about one standard deviation on many features",
      parseTrendStrength,
    )
    .option("--json", "print the summary as JSON")
    .action(async (flags: SynthFlags, command: Command) => {
      const started = Date.now();
      const trend = trendFromFlags(flags);
      const summary = await runSynth(createContext(command), flags);
      const seconds = (Date.now() - started) / 1000;
      if (flags.json) {
        printJson({
          tracks: summary.tracks,
          artists: summary.artists,
          years: summary.years,
          trend: trend === undefined ? null : { ...trend, tracks: summary.trendTracks },
          out: resolve(flags.out),
          seconds,
        });
        return;
      }
      printLine(
        `synth: ${summary.tracks} tracks by ${summary.artists} artists in ${seconds.toFixed(1)} s (seed ${flags.seed})`,
      );
      if (trend !== undefined) {
        printLine(
          `  ${summary.trendTracks} tracks from ${trend.fromYear} on follow a trend of strength ${trend.strength}`,
        );
      }
      printLine(`  track files are in ${resolve(flags.out, "data")}/`);
    });
}

export async function runSynth(context: CommandContext, flags: SynthFlags): Promise<SubsetSummary> {
  const trend = trendFromFlags(flags);
  const progress = new Progress({
    label: "synth",
    unit: "tracks",
    total: flags.tracks,
    quiet: context.quiet,
  });
  const summary = await generateSubset({
    tracks: flags.tracks,
    outDir: flags.out,
    seed: flags.seed,
    workers: flags.workers,
    trend,
    onProgress: (done) => progress.tick(done - progress.count),
  });
  progress.finish();
  return summary;
}
