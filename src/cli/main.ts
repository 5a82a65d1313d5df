// The genre-classifier command line: global options, the commands, and the mapping of
// failures to exit codes (0 success, 1 runtime failure, 2 bad usage or bad input).
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { isKnownError } from "../common/errors.ts";

type Register = (program: Command) => void;

/**
 * Every top-level command, in the order --help lists them, and how to load the module that
 * registers it. A command line naming one command loads only that command's module (the
 * server, the AWS SDK, BullMQ… stay unloaded for `model fit`); anything else loads them all.
 */
const COMMAND_MODULES: { names: string[]; load: () => Promise<Register> }[] = [
  { names: ["demo"], load: async () => (await import("./commands/demo.ts")).registerDemoCommand },
  {
    names: ["ingest"],
    load: async () => (await import("./commands/ingest.ts")).registerIngestCommand,
  },
  {
    names: ["preprocess"],
    load: async () => (await import("./commands/preprocess.ts")).registerPreprocessCommand,
  },
  {
    names: ["split"],
    load: async () => (await import("./commands/split.ts")).registerSplitCommand,
  },
  {
    names: ["predict"],
    load: async () => (await import("./commands/predict.ts")).registerPredictCommand,
  },
  {
    names: ["monitor"],
    load: async () => (await import("./commands/monitor.ts")).registerMonitorCommand,
  },
  {
    names: ["drift"],
    load: async () => (await import("./commands/drift.ts")).registerDriftCommand,
  },
  {
    names: ["train"],
    load: async () => (await import("./commands/train.ts")).registerTrainCommand,
  },
  {
    names: ["synth"],
    load: async () => (await import("./commands/synth.ts")).registerSynthCommand,
  },
  {
    names: ["model"],
    load: async () => (await import("./commands/model.ts")).registerModelCommands,
  },
  {
    names: ["config"],
    load: async () => (await import("./commands/config.ts")).registerConfigCommands,
  },
  {
    names: ["storage"],
    load: async () => (await import("./commands/storage.ts")).registerStorageCommands,
  },
  {
    names: ["experiments"],
    load: async () => (await import("./commands/experiments.ts")).registerExperimentsCommands,
  },
  { names: ["runs"], load: async () => (await import("./commands/runs.ts")).registerRunsCommands },
  {
    names: ["models"],
    load: async () => (await import("./commands/models.ts")).registerModelsCommands,
  },
  {
    names: ["tracking"],
    load: async () => (await import("./commands/tracking.ts")).registerTrackingCommands,
  },
  {
    names: ["serve"],
    load: async () => (await import("./commands/serve.ts")).registerServeCommand,
  },
  {
    names: ["flows"],
    load: async () => (await import("./commands/flows.ts")).registerFlowsCommands,
  },
  {
    names: ["deploy", "deployments"],
    load: async () => (await import("./commands/deployments.ts")).registerDeploymentsCommands,
  },
  {
    names: ["scheduler"],
    load: async () => (await import("./commands/scheduler.ts")).registerSchedulerCommand,
  },
  {
    names: ["worker"],
    load: async () => (await import("./commands/worker.ts")).registerWorkerCommand,
  },
  {
    names: ["doctor"],
    load: async () => (await import("./commands/doctor.ts")).registerDoctorCommand,
  },
];

const { version } = JSON.parse(
  readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
) as {
  version: string;
};

/**
 * The command line with every command, or, given the arguments, with only the command they
 * name (its help, options and errors are the same either way).
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
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
  const named = argv === undefined ? undefined : commandName(program, argv);
  const modules = COMMAND_MODULES.filter((m) => named === undefined || m.names.includes(named));
  const registers = await Promise.all(
    (modules.length > 0 ? modules : COMMAND_MODULES).map((m) => m.load()),
  );
  for (const register of registers) register(program);
  return program;
}

/**
 * The top-level command the arguments name, skipping the global options before it and their
 * values; undefined when there is none or the options cannot be read without commander.
 */
function commandName(program: Command, argv: readonly string[]): string | undefined {
  const withValue = new Set<string>();
  for (const option of program.options) {
    if (option.optional) return undefined;
    if (option.required) {
      if (option.short) withValue.add(option.short);
      if (option.long) withValue.add(option.long);
    }
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") return undefined;
    if (!arg.startsWith("-")) return arg;
    if (withValue.has(arg)) i++;
  }
  return undefined;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Runs the command line and returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const program = await buildProgram(argv);
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
