// `experiments list`: the experiments in the tracking store.
import type { Command } from "commander";
import type { Experiment } from "../../tracking/entities.ts";
import { experimentToJson } from "../../tracking/mlflow-json.ts";
import { printJson, printLine, printTable } from "../output.ts";
import { withTracking } from "./tracking.ts";

export function registerExperimentsCommands(program: Command): void {
  const experiments = program
    .command("experiments")
    .description("experiments in the tracking store");
  experiments
    .command("list")
    .description("list experiments, newest first")
    .option("--all", "include deleted experiments")
    .option("--json", "print MLflow's JSON")
    .action((flags: { all?: boolean; json?: boolean }, command: Command) =>
      withTracking(command, async (client) => {
        const all: Experiment[] = [];
        let pageToken: string | undefined;
        do {
          const page = await client.searchExperiments({
            viewType: flags.all ? "ALL" : "ACTIVE_ONLY",
            pageToken,
          });
          all.push(...page.items);
          pageToken = page.nextPageToken;
        } while (pageToken);
        if (flags.json) return printJson({ experiments: all.map(experimentToJson) });
        printTable(
          ["ID", "NAME", "STATE", "CREATED", "ARTIFACTS"],
          all.map((e) => [
            e.experimentId,
            e.name,
            e.lifecycleStage,
            formatTime(e.creationTime),
            e.artifactLocation,
          ]),
        );
        printLine(`${all.length} experiment${all.length === 1 ? "" : "s"} in ${client.uri}`);
      }),
    );
}

export function formatTime(ms: number | undefined): string {
  if (ms === undefined) return "—";
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}
