// `predict [--day N] [--alias A] [--force] [--partition-size N]`: runs the predict flow (recorded like any flow run)
// and prints what it did: the day, how many tracks, the model version and the output's key.
import type { Command } from "commander";
import type { PredictResult } from "../../flows/predict.ts";
import { nonNegativeInteger, positiveInteger } from "../options.ts";
import { runFlowForCommand } from "../orchestrator.ts";
import { printJson, printLine } from "../output.ts";

export function registerPredictCommand(program: Command): void {
  program
    .command("predict")
    .description(
      "tag the earliest day without predictions (or --day N) with the model behind an alias",
    )
    .option(
      "--day <n>",
      "the day to predict (default: the earliest without predictions)",
      positiveInteger,
    )
    .option("--alias <alias>", "the registered model's alias to use", "champion")
    .option("--force", "rewrite a day that already has predictions")
    .option(
      "--partition-size <n>",
      "rows per partition when tasks run on queue workers (0: the day in one task; default 10000)",
      nonNegativeInteger,
    )
    .option("--json", "print the flow's result as JSON")
    .action(
      async (
        flags: {
          day?: number;
          alias: string;
          force?: boolean;
          partitionSize?: number;
          json?: boolean;
        },
        command: Command,
      ) => {
        const { flowRunId, result, context } = await runFlowForCommand(command, "predict", {
          ...(flags.day === undefined ? {} : { day: flags.day }),
          alias: flags.alias,
          force: flags.force === true,
          ...(flags.partitionSize === undefined ? {} : { partition_size: flags.partitionSize }),
        });
        const outcome = result as PredictResult;
        if (flags.json) return printJson({ flow_run_id: flowRunId, ...outcome });
        printLine(outcome.message);
        if (outcome.status === "all-done" || outcome.status === "refused") return;
        const store = context.config.storage.uri;
        printLine(`day:    ${outcome.day} (${outcome.status})`);
        printLine(`tracks: ${outcome.tracks}`);
        printLine(
          `model:  ${outcome.model.name} version ${outcome.model.version} (run ${outcome.model.runId})`,
        );
        printLine(`output: ${store ? `${store}/` : ""}${outcome.key}`);
        printLine(`flow run ${flowRunId}`);
      },
    );
}
