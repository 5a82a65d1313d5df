// The genre-classifier command line: global options, the commands, and the mapping of
// failures to exit codes (0 success, 1 runtime failure, 2 bad usage or bad input).
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { isKnownError } from "../common/errors.ts";
import { registerConfigCommands } from "./commands/config.ts";
import { registerDemoCommand } from "./commands/demo.ts";
import { registerDeploymentsCommands } from "./commands/deployments.ts";
import { registerDriftCommand } from "./commands/drift.ts";
import { registerExperimentsCommands } from "./commands/experiments.ts";
import { registerFlowsCommands } from "./commands/flows.ts";
import { registerIngestCommand } from "./commands/ingest.ts";
import { registerModelCommands } from "./commands/model.ts";
import { registerModelsCommands } from "./commands/models.ts";
import { registerMonitorCommand } from "./commands/monitor.ts";
import { registerPredictCommand } from "./commands/predict.ts";
import { registerPreprocessCommand } from "./commands/preprocess.ts";
import { registerRunsCommands } from "./commands/runs.ts";
import { registerSchedulerCommand } from "./commands/scheduler.ts";
import { registerServeCommand } from "./commands/serve.ts";
import { registerSplitCommand } from "./commands/split.ts";
import { registerStorageCommands } from "./commands/storage.ts";
import { registerSynthCommand } from "./commands/synth.ts";
import { registerTrackingCommands } from "./commands/tracking.ts";
import { registerTrainCommand } from "./commands/train.ts";
import { registerWorkerCommand } from "./commands/worker.ts";

const { version } = JSON.parse(
  readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
) as {
  version: string;
};

export function buildProgram(): Command {
  const program = new Command("genre-classifier")
    .description(
      "Tags new music tracks with genres: ingest MSD track files, preprocess, split, train, predict and monitor.",
    )
    .version(version, "-V, --version")
    .option(
      "-c, --config <file>",
      "config file (default: genre-classifier.config.json or .yaml here)",
    )
    .option("--data-dir <dir>", "folder for local data (config dataDir)")
    .option(
      "--store <uri>",
      "object store root, file:///… or s3://bucket/prefix (config storage.uri)",
    )
    .option(
      "--set <key=value>",
      "set any config key, e.g. --set storage.s3.region=eu-west-1 (repeatable)",
      collect,
    )
    .option("--log-level <level>", "trace, debug, info, warn, error or silent (config log.level)")
    .option("--log-format <format>", "auto, pretty or json (config log.format)")
    .option("--log-file <file>", "also write JSON log lines to this file (config log.file)")
    .option("-v, --verbose", "debug logs, and stack traces on errors")
    .option("-q, --quiet", "errors only: no progress, no info logs")
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();
  registerDemoCommand(program);
  registerIngestCommand(program);
  registerPreprocessCommand(program);
  registerSplitCommand(program);
  registerPredictCommand(program);
  registerMonitorCommand(program);
  registerDriftCommand(program);
  registerTrainCommand(program);
  registerSynthCommand(program);
  registerModelCommands(program);
  registerConfigCommands(program);
  registerStorageCommands(program);
  registerExperimentsCommands(program);
  registerRunsCommands(program);
  registerModelsCommands(program);
  registerTrackingCommands(program);
  registerServeCommand(program);
  registerFlowsCommands(program);
  registerDeploymentsCommands(program);
  registerSchedulerCommand(program);
  registerWorkerCommand(program);
  return program;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Runs the command line and returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const program = buildProgram();
  const verbose = argv.includes("-v") || argv.includes("--verbose");
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 2;
    }
    await program.parseAsync(argv, { from: "user" });
    // A command that ran to its end may still set a non-zero code (drift --fail-on-drift).
    return Number(process.exitCode ?? 0) || 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === "commander.helpDisplayed" ||
        error.code === "commander.version" ||
        error.exitCode === 0
        ? 0
        : 2;
    }
    if (isKnownError(error)) {
      process.stderr.write(`genre-classifier: ${error.message}\n`);
      if (verbose && error.stack) process.stderr.write(`${error.stack}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`genre-classifier: unexpected error: ${message}\n`);
    if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    else process.stderr.write("(run again with --verbose for the stack trace)\n");
    return 1;
  }
}
