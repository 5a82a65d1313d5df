// `train [--trees N …]`: runs the train flow (recorded like any flow run) on the split and prints
// what it did: the tracking run, the validation metrics beside the baseline, the gate decision
// with its reason, and the registered version and aliases.
import type { Command } from "commander";
import type { TrainResult } from "../../flows/train.ts";
import type { Metrics } from "../../training/tables.ts";
import { runFlowForCommand } from "../orchestrator.ts";
import { printJson, printLine } from "../output.ts";

interface TrainFlags {
  trees?: string;
  maxDepth?: string;
  maxFeatures?: string;
  minSamplesLeaf?: string;
  classWeight?: string;
  features?: string;
  topK?: string;
  baselineK?: string;
  seed?: string;
  retrain?: boolean;
  json?: boolean;
}

const f = (x: number) => x.toFixed(4);

function metricsLine(label: string, m: Metrics): string {
  return `${label}jaccard ${f(m.jaccardSamples)}  hamming ${f(m.hammingLoss)}  f1 micro ${f(m.f1Micro)}  macro ${f(m.f1Macro)}`;
}

export function registerTrainCommand(program: Command): void {
  program
    .command("train")
    .description(
      "fit the genre model on the split, record the run, and register it as champion when it passes the gates",
    )
    .option("--trees <n>", "trees in the forest (default 100)")
    .option("--max-depth <n>", "deepest level of a tree (default unlimited)")
    .option("--max-features <f>", "features per split: sqrt, log2, all, a count or a fraction")
    .option("--min-samples-leaf <n>", "fewest training rows per leaf (default 3)")
    .option("--class-weight <w>", "none or balanced (default none)")
    .option("--features <a,b,…>", "feature columns (default every numeric column)")
    .option("--top-k <n>", "the most frequent training genres kept as labels (default 50)")
    .option("--baseline-k <n>", "genres the most-frequent baseline predicts (default 5)")
    .option("--seed <n>", "random seed (default 0)")
    .option("--retrain", "fit again even when the same fit was recorded before")
    .option("--json", "print the flow's result as JSON")
    .action(async (flags: TrainFlags, command: Command) => {
      const parameters: Record<string, unknown> = {
        trees: flags.trees,
        max_depth: flags.maxDepth,
        max_features: flags.maxFeatures,
        min_samples_leaf: flags.minSamplesLeaf,
        class_weight: flags.classWeight,
        features: flags.features,
        top_k: flags.topK,
        baseline_k: flags.baselineK,
        seed: flags.seed,
        retrain: flags.retrain === true ? true : undefined,
      };
      for (const key of Object.keys(parameters))
        if (parameters[key] === undefined) delete parameters[key];
      const { flowRunId, result } = await runFlowForCommand(command, "train", parameters);
      const outcome = result as TrainResult;
      if (flags.json) return printJson({ flow_run_id: flowRunId, ...outcome });
      const r = outcome.registration;
      printLine(`run:       ${outcome.runId} (experiment ${outcome.experiment})`);
      printLine(
        metricsLine("model:     ", outcome.validation.model) +
          `  (${outcome.validation.rows} validation tracks)`,
      );
      printLine(metricsLine("baseline:  ", outcome.validation.baseline));
      printLine(`gate:      ${r.decision}: ${r.reason}`);
      if (r.version !== null) {
        const previous = r.previous === null ? "" : `, previous -> version ${r.previous}`;
        const role = r.decision === "registered" ? ` (champion${previous})` : "";
        printLine(`model:     ${r.registeredModel} version ${r.version}${role}`);
      }
      printLine(`flow run ${flowRunId}`);
    });
}
