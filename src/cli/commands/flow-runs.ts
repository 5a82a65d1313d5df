// `flows runs list|show|logs|cancel`: the flow runs recorded in the tracking database (`runs …`
// is the tracking store's runs). A run is named by its id or a unique prefix of it.
import type { Command } from "commander";
import {
  type FlowRunDetailJson,
  flowRunToJson,
  runStateToJson,
  taskRunToJson,
} from "../../orchestration/run-json.ts";
import type { FlowRunRow, RunStateRow, TaskRunRow } from "../../orchestration/run-store.ts";
import type { Orchestrator } from "../../orchestration/runtime.ts";
import { positiveInteger } from "../options.ts";
import { withOrchestrator } from "../orchestrator.ts";
import { formatDuration, formatTime, printJson, printLine, printTable } from "../output.ts";

export function registerFlowRunsCommands(flows: Command): void {
  const runs = flows.command("runs").description("flow runs recorded in the tracking database");

  runs
    .command("list")
    .description("flow runs, newest first")
    .option("--flow <name>", "only this flow")
    .option("--state <state>", "only runs in this state")
    .option("--max <n>", "most runs to print", positiveInteger, 50)
    .option("--json", "print JSON")
    .action(
      (flags: { flow?: string; state?: string; max: number; json?: boolean }, command: Command) =>
        withOrchestrator(command, async (orchestrator) => {
          const rows = await orchestrator.runs.listFlowRuns({
            flowName: flags.flow,
            state: flags.state,
            limit: flags.max,
          });
          if (flags.json) return printJson({ flow_runs: rows.map(flowRunToJson) });
          printTable(
            ["FLOW RUN", "FLOW", "STATE", "CREATED", "DURATION", "DEPLOYMENT"],
            rows.map((r) => [
              r.id,
              r.flow_name,
              r.state,
              formatTime(r.created_at),
              formatDuration(r.started_at, r.ended_at),
              r.deployment_name ?? "",
            ]),
          );
        }),
    );

  flowRunCommand(
    runs,
    "show",
    "one flow run: parameters, state history, and its task runs and subflows as a tree",
  )
    .option("--json", "print JSON")
    .action((id: string, flags: { json?: boolean }, command: Command) =>
      withFlowRun(command, id, async (orchestrator, run) => {
        const [history, taskRuns, subflows] = await Promise.all([
          orchestrator.runs.stateHistory(run.id),
          orchestrator.runs.listTaskRuns(run.id),
          orchestrator.runs.listSubflows(run.id),
        ]);
        if (flags.json) {
          const detail: FlowRunDetailJson = {
            flow_run: flowRunToJson(run),
            history: history.map(runStateToJson),
            task_runs: taskRuns.map(taskRunToJson),
            subflows: subflows.map(flowRunToJson),
          };
          return printJson(detail);
        }
        printLine(`flow run ${run.id} (${run.flow_name})`);
        printLine(`state       ${run.state}${run.state_message ? ` — ${run.state_message}` : ""}`);
        printLine(`parameters  ${run.parameters}`);
        printLine(`created     ${formatTime(run.created_at)}`);
        printLine(`duration    ${formatDuration(run.started_at, run.ended_at)}`);
        if (run.deployment_name) printLine(`deployment  ${run.deployment_name}`);
        if (run.error_message) printLine(`error       ${run.error_message}`);
        if (run.result_key) printLine(`result      ${run.result_key}`);
        printLine();
        printLine("states:");
        printHistory(history);
        printLine();
        printLine(
          `${run.flow_name} [${run.state}] ${formatDuration(run.started_at, run.ended_at)}`,
        );
        const entries = [
          ...taskRuns.map((t) => ({ at: t.created_at, line: taskLine(t) })),
          ...subflows.map((f) => ({
            at: f.created_at,
            line: `subflow ${f.flow_name} ${f.id} [${f.state}] ${formatDuration(f.started_at, f.ended_at)}`,
          })),
        ].sort((a, b) => a.at - b.at);
        for (const [i, entry] of entries.entries())
          printLine(`${i === entries.length - 1 ? "└─" : "├─"} ${entry.line}`);
      }),
    );

  flowRunCommand(
    runs,
    "logs",
    "the log lines of a flow run and its task runs; --follow until it ends",
  )
    .option("--follow", "keep printing new lines until the run ends")
    .action((id: string, flags: { follow?: boolean }, command: Command) =>
      withFlowRun(command, id, async (orchestrator, run) => {
        await orchestrator.followLogs(
          run.id,
          (lines) => {
            for (const line of lines)
              printLine(
                `${formatTime(line.at)} ${line.level.toUpperCase().padEnd(5)} ${line.task_run_id ? `[${line.task_run_id.slice(0, 8)}] ` : ""}${line.message}`,
              );
          },
          { follow: flags.follow, pollMs: 500 },
        );
      }),
    );

  flowRunCommand(
    runs,
    "cancel",
    "cancel a flow run: at once if not started, at its next heartbeat if running",
  ).action((id: string, _flags: object, command: Command) =>
    withFlowRun(command, id, async (orchestrator, run) => {
      const was = await orchestrator.runs.requestCancel(run.id);
      const { isFinal } = await import("../../orchestration/states.ts");
      if (isFinal(was)) printLine(`flow run ${run.id} already ended ${was}`);
      else if (was === "scheduled" || was === "pending") printLine(`flow run ${run.id} cancelled`);
      else printLine(`flow run ${run.id}: cancel requested; it stops at its next heartbeat`);
    }),
  );
}

/** A `flows runs` command on one flow run, named by its `<id>` argument. */
function flowRunCommand(runs: Command, name: string, description: string): Command {
  return runs
    .command(name)
    .description(description)
    .argument("<id>", "flow run id (or a unique prefix)");
}

/** Runs `work` on the flow run that `id` names: its id or a unique prefix of it. */
function withFlowRun(
  command: Command,
  id: string,
  work: (orchestrator: Orchestrator, run: FlowRunRow) => Promise<void>,
): Promise<void> {
  return withOrchestrator(command, async (orchestrator) =>
    work(orchestrator, await orchestrator.runs.resolveFlowRun(id)),
  );
}

function printHistory(history: RunStateRow[]): void {
  for (const entry of history)
    printLine(
      `  ${formatTime(entry.at)}  ${entry.state}${entry.message ? ` — ${entry.message}` : ""}`,
    );
}

function taskLine(run: TaskRunRow): string {
  const attempts = run.attempt > 1 ? ` (${run.attempt} attempts)` : "";
  const error = run.error_message && run.state !== "completed" ? ` — ${run.error_message}` : "";
  const worker = run.worker ? ` on ${run.worker}` : "";
  return `${run.task_name}-${run.task_index} [${run.state}] ${formatDuration(run.started_at, run.ended_at)}${attempts}${worker}${error}`;
}
