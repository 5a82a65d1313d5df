// `monitor [--day N]`: runs the monitor flow (recorded like any flow run) on a predicted day
// (default the latest) and prints what it found: data and prediction drift, quality when the
// day's labels are there, the retrain decision with its reasons, and where the reports are.
import type { Command } from "commander";
import type { MonitorResult } from "../../flows/monitor.ts";
import { positiveInteger } from "../options.ts";
import { runFlowForCommand } from "../orchestrator.ts";
import { printJson, printLine } from "../output.ts";

export function registerMonitorCommand(program: Command): void {
  program
    .command("monitor")
    .description(
      "measure a predicted day's data drift, prediction drift and quality against the champion's reference, and write its report",
    )
    .option(
      "--day <n>",
      "the day to monitor (default: the latest with predictions)",
      positiveInteger,
    )
    .option("--json", "print the flow's result as JSON")
    .action(async (flags: { day?: number; json?: boolean }, command: Command) => {
      const { flowRunId, result } = await runFlowForCommand(
        command,
        "monitor",
        flags.day === undefined ? {} : { day: flags.day },
      );
      const m = result as MonitorResult;
      if (flags.json) return printJson({ flow_run_id: flowRunId, ...m });
      printLine(
        `day ${m.day}: ${m.model.name} version ${m.model.version}${m.skipped ? " (monitored before with the same inputs: unchanged)" : ""}`,
      );
      printLine(
        `  data drift        ${m.drift.drift ? "detected" : "not detected"}: ${m.drift.drifted} of ${m.drift.columns} columns (share ${m.drift.share.toFixed(3)})`,
      );
      printLine(
        `  prediction drift  ${m.predictionDrift.drift ? "detected" : "not detected"} (share ${m.predictionDrift.share.toFixed(3)})`,
      );
      printLine(
        `  quality           ${m.jaccard === null ? "no labels yet" : `Jaccard ${m.jaccard.toFixed(4)}`}`,
      );
      printLine(
        `  retrain           ${m.retrain.retrain ? "yes" : "no"}: ${m.retrain.reasons.join("; ")}`,
      );
      printLine(`  report            ${m.storeUri}/${m.report}`);
      printLine(`  index             ${m.storeUri}/${m.index}`);
      printLine(`  tracking run      ${m.runId}; flow run ${flowRunId}`);
    });
}
