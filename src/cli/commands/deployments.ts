// `deploy` and `deployments list|run|pause|resume`: flows registered under a name with default
// parameters and a schedule (cron or interval) or none, run by the `scheduler` or on demand.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import YAML from "yaml";
import { InputError } from "../../common/errors.ts";
import { deploymentToJson } from "../../orchestration/run-json.ts";
import type { DeploymentSpec } from "../../orchestration/scheduler.ts";
import { projectDeployments } from "../flow-catalog.ts";
import { keyValueParameter } from "../options.ts";
import {
  reportStartedRun,
  type StartFlags,
  withOrchestrator,
  withStartOptions,
} from "../orchestrator.ts";
import { formatTime, printJson, printLine, printTable } from "../output.ts";

/** The deployments a `deploy --file` names: a list, or an object with a `deployments` list. */
async function deploymentsFile(file: string): Promise<DeploymentSpec[]> {
  const parsed = YAML.parse(await readFile(file, "utf8")) as unknown;
  const list = Array.isArray(parsed) ? parsed : (parsed as { deployments?: unknown })?.deployments;
  if (!Array.isArray(list)) throw new InputError(`${file}: expected a list of deployments`);
  return list as DeploymentSpec[];
}

export function registerDeploymentsCommands(program: Command): void {
  program
    .command("deploy")
    .description(
      "register the project's deployments (without options), the ones in a file (JSON or YAML list), or one from the options",
    )
    .option(
      "--file <file>",
      "deployments file: a list of {name, flow, parameters, cron | intervalSeconds, timezone, allowOverlap}",
    )
    .option("--name <name>", "deployment name")
    .option("--flow <flow>", "flow name")
    .option("--cron <expression>", 'cron schedule, e.g. "0 6 * * *"')
    .option("--interval <seconds>", "interval schedule in seconds", Number)
    .option("--timezone <zone>", "time zone of the cron schedule", "UTC")
    .option("--param <key=value>", "a default parameter (repeatable)", keyValueParameter)
    .option("--allow-overlap", "start a run even while the previous one is running")
    .action(
      (
        flags: {
          file?: string;
          name?: string;
          flow?: string;
          cron?: string;
          interval?: number;
          timezone: string;
          param?: Record<string, unknown>;
          allowOverlap?: boolean;
        },
        command: Command,
      ) =>
        withOrchestrator(command, async (orchestrator, context) => {
          const { deploy } = await import("../../orchestration/scheduler.ts");
          let specs: DeploymentSpec[];
          if (flags.file) {
            specs = await deploymentsFile(flags.file);
          } else if (!flags.name && !flags.flow) {
            specs = projectDeployments(context.config);
          } else {
            if (!flags.name || !flags.flow)
              throw new InputError(
                "deploy: give --name and --flow with --cron or --interval (or --file, or nothing for the project's deployments)",
              );
            specs = [
              {
                name: flags.name,
                flow: flags.flow,
                parameters: flags.param ?? {},
                cron: flags.cron,
                intervalSeconds: flags.interval,
                timezone: flags.timezone,
                allowOverlap: flags.allowOverlap === true,
              },
            ];
          }
          for (const spec of specs) {
            await deploy(orchestrator, spec);
            printLine(`deployed ${spec.name}`);
          }
        }),
    );

  const deployments = program.command("deployments").description("registered deployments");
  deployments
    .command("list")
    .description("deployments with their flow, schedule, state and last scheduled tick")
    .option("--json", "print JSON")
    .action((flags: { json?: boolean }, command: Command) =>
      withOrchestrator(command, async (orchestrator) => {
        const rows = await orchestrator.runs.listDeployments();
        if (flags.json) return printJson({ deployments: rows.map(deploymentToJson) });
        printTable(
          ["DEPLOYMENT", "FLOW", "SCHEDULE", "STATE", "LAST TICK", "PARAMETERS"],
          rows.map((d) => [
            d.name,
            d.flow_name,
            d.cron
              ? `cron "${d.cron}" ${d.timezone}`
              : d.interval_ms !== null
                ? `every ${d.interval_ms / 1000} s`
                : "when triggered",
            d.paused ? "paused" : "active",
            formatTime(d.last_scheduled_at),
            d.parameters,
          ]),
        );
      }),
    );
  withStartOptions(
    deployments
      .command("run")
      .description(
        "start a run of a deployment now, with its parameters; with --wait, exit 1 unless it completed",
      )
      .argument("<name>", "deployment name"),
    "override a parameter (repeatable)",
  ).action((name: string, flags: StartFlags, command: Command) =>
    withOrchestrator(command, async (orchestrator) => {
      const { trigger } = await import("../../orchestration/scheduler.ts");
      const deployment = await orchestrator.runs.getDeployment(name);
      const started = await trigger(
        orchestrator,
        deployment,
        flags.idempotencyKey,
        flags.param ?? {},
      );
      await reportStartedRun(orchestrator, deployment.flow_name, started, flags.wait);
    }),
  );
  for (const [action, paused] of [
    ["pause", true],
    ["resume", false],
  ] as const) {
    deployments
      .command(action)
      .description(paused ? "stop scheduling a deployment" : "schedule a paused deployment again")
      .argument("<name>", "deployment name")
      .action((name: string, _flags: object, command: Command) =>
        withOrchestrator(command, async (orchestrator) => {
          await orchestrator.runs.setDeploymentPaused(name, paused);
          printLine(`${name} ${paused ? "paused" : "resumed"}`);
        }),
      );
  }
}
