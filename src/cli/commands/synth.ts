// `synth`: writes a synthetic MSD subset (real HDF5 files in the MSD layout) to a folder.
import { resolve } from "node:path";
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { Progress } from "../../common/progress.ts";
import { generateSubset, type SubsetSummary } from "../../msd/synth.ts";
import { type CommandContext, createContext } from "../context.ts";
import { positiveInteger } from "../options.ts";
import { printJson, printLine } from "../output.ts";

interface SynthFlags {
  tracks: number;
  out: string;
  seed: number;
  workers?: number;
  json?: boolean;
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
    .option("--json", "print the summary as JSON")
    .action(async (flags: SynthFlags, command: Command) => {
      const started = Date.now();
      const summary = await runSynth(createContext(command), flags);
      const seconds = (Date.now() - started) / 1000;
      if (flags.json) {
        printJson({
          tracks: summary.tracks,
          artists: summary.artists,
          out: resolve(flags.out),
          seconds,
        });
        return;
      }
      printLine(
        `synth: ${summary.tracks} tracks by ${summary.artists} artists in ${seconds.toFixed(1)} s (seed ${flags.seed})`,
      );
      printLine(`  track files are in ${resolve(flags.out, "data")}/`);
    });
}

export async function runSynth(context: CommandContext, flags: SynthFlags): Promise<SubsetSummary> {
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
    onProgress: (done) => progress.tick(done - progress.count),
  });
  progress.finish();
  return summary;
}
