// The orchestration commands: `flows list|run`, flow runs under `flows runs list|show|logs|cancel`
// (`runs …` is the tracking store's runs), `deploy`, `deployments list|pause|resume` and
// `scheduler`. The flows offered are the ones the modules imported here define.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import YAML from "yaml";
import { doneBy } from "../../common/deadline.ts";
import { InputError, OperationError } from "../../common/errors.ts";
import { closePipelineEnvironment } from "../../flows/environment.ts";
import type { RunStateRow, TaskRunRow } from "../../orchestration/run-store.ts";
import type {
  FlowRunOutcome,
  Orchestrator,
  OrchestratorOptions,
} from "../../orchestration/runtime.ts";
import type { DeploymentSpec } from "../../orchestration/scheduler.ts";
import type { ObjectStore } from "../../storage/object-store.ts";
import { type CommandContext, createContext } from "../context.ts";
import { loadFlowCatalog, projectDeployments } from "../flow-catalog.ts";
import { positiveInteger } from "../options.ts";
import { printJson, printLine, printTable } from "../output.ts";
import { DEFAULT_SHUTDOWN_SECONDS, SHUTDOWN_OPTION, watchStopSignals } from "../shutdown.ts";

/** Runs `work` with an orchestrator on the configured tracking database, closed afterwards. */
export async function withOrchestrator<T>(
  command: Command,
  work: (orchestrator: Orchestrator, context: CommandContext) => Promise<T>,
): Promise<T> {
  const { orchestrator, context, store } = await openOrchestrator(command);
  try {
    return await work(orchestrator, context);
  } finally {
    await orchestrator.close();
    await closePipelineEnvironment();
    await store.close();
  }
}

async function openOrchestrator(
  command: Command,
): Promise<{ orchestrator: Orchestrator; context: CommandContext; store: ObjectStore }> {
  const context = createContext(command);
  const uri = context.config.tracking.uri as string;
  if (/^https?:/i.test(uri))
    throw new InputError(
      `flow runs are recorded in the tracking database; tracking.uri ${uri} is a server (use sqlite:///… or postgres://…)`,
    );
  await loadFlowCatalog(context);
  const { Orchestrator } = await import("../../orchestration/runtime.ts");
  const store = context.openStore();
  const settings = context.config.orchestration;
  const executor: OrchestratorOptions["executor"] =
    settings.executor === "bullmq"
      ? async (deps) => {
          const { QueueExecutor } = await import("../../orchestration/queue-executor.ts");
          const { queueSettings } = await import("../../orchestration/queue.ts");
          return QueueExecutor.open(
            { settings: queueSettings(context.config), log: context.log },
            deps,
          );
        }
      : undefined;
  const orchestrator = await Orchestrator.open({
    databaseUri: uri,
    store,
    log: context.log,
    heartbeatMs: settings.heartbeatSeconds * 1000,
    crashAfterMs: settings.crashAfterSeconds * 1000,
    ...(executor ? { executor } : {}),
  }).catch(async (error) => {
    await store.close();
    throw error;
  });
  return { orchestrator, context, store };
}

/**
 * Runs the flow `name` to its end for a command's shortcut (`predict`, …), recorded like any
 * flow run, and gives its result. A failed run is thrown as the error the command exits with:
 * an InputError (exit 2) when the flow failed on one, else an OperationError (exit 1).
 */
export async function runFlowForCommand(
  command: Command,
  name: string,
  parameters: Record<string, unknown>,
): Promise<{ flowRunId: string; result: unknown; context: CommandContext }> {
  return withOrchestrator(command, async (orchestrator, context) => ({
    ...(await runFlowToEnd(orchestrator, name, parameters)),
    context,
  }));
}

/** Runs the flow `name` on `orchestrator` to its end; a failed run is thrown as runFailure's error. */
export async function runFlowToEnd(
  orchestrator: Orchestrator,
  name: string,
  parameters: Record<string, unknown>,
): Promise<{ flowRunId: string; result: unknown }> {
  const { findFlow } = await import("../../orchestration/api.ts");
  const definition = findFlow(name);
  if (!definition) throw new InputError(`no flow named ${JSON.stringify(name)} (see flows list)`);
  const outcome = await orchestrator.run(definition, parameters);
  if (outcome.state === "completed")
    return { flowRunId: outcome.flowRunId, result: outcome.result };
  throw await runFailure(orchestrator, name, outcome);
}

/**
 * The error a command exits with for a flow run that did not complete: the message of the run
 * that failed on bad input, itself or a subflow it waited for, as an InputError (exit 2), else
 * an OperationError (exit 1).
 */
async function runFailure(
  orchestrator: Orchestrator,
  name: string,
  outcome: FlowRunOutcome<unknown>,
): Promise<InputError | OperationError> {
  const message = outcome.error ?? `flow run ${outcome.flowRunId} ended ${outcome.state}`;
  let row = await orchestrator.runs.getFlowRun(outcome.flowRunId);
  for (let depth = 0; depth < 20; depth++) {
    if (/^(InputError|TrackingError)\b/.test(row.error_stack ?? ""))
      return new InputError(row.error_message ?? message);
    const subflow = /^subflow \S+ \(([0-9a-f-]{36})\) ended /.exec(row.error_message ?? "")?.[1];
    const child = subflow === undefined ? undefined : await orchestrator.runs.findFlowRun(subflow);
    if (child === undefined || child.parent_flow_run_id !== row.id) break;
    row = child;
  }
  return new OperationError(
    `${name} (flow run ${outcome.flowRunId}) ended ${outcome.state}: ${message}`,
  );
}

interface JsonSchemaType {
  type?: string;
  enum?: unknown[];
  anyOf?: JsonSchemaType[];
  default?: unknown;
}

/** A parameter's type as `flows list` shows it: integer, number, string, boolean, a|b|c. */
function typeName(schema: JsonSchemaType): string {
  if (schema.enum) return schema.enum.map((v) => String(v)).join("|");
  if (schema.anyOf) {
    const names = [...new Set(schema.anyOf.map(typeName))];
    // A flag takes true/false as JSON or as text.
    if (names.includes("boolean") && names.every((n) => n === "boolean" || n === "true|false"))
      return "boolean";
    return names.join("|");
  }
  return schema.type ?? "any";
}

function parseParams(pairs: string[] | undefined): Record<string, unknown> {
  const parameters: Record<string, unknown> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf("=");
    if (at < 1) throw new InputError(`--param ${pair}: expected key=value`);
    const raw = pair.slice(at + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {}
    parameters[pair.slice(0, at)] = value;
  }
  return parameters;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function time(ms: number | null): string {
  return ms === null ? "—" : new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

function duration(start: number | null, end: number | null): string {
  if (start === null) return "—";
  const ms = (end ?? Date.now()) - start;
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function registerFlowsCommands(program: Command): void {
  const flows = program.command("flows").description("flows, and their runs");

  flows
    .command("list")
    .description("the flows this installation can run, with their parameters")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }, command: Command) => {
      await loadFlowCatalog(createContext(command));
      const { registeredFlows } = await import("../../orchestration/api.ts");
      const { z } = await import("zod");
      const rows = registeredFlows().map((f) => {
        const schema = z.toJSONSchema(f.options.parameters, {
          io: "input",
          unrepresentable: "any",
        }) as { properties?: Record<string, JsonSchemaType>; required?: string[] };
        const required = new Set(schema.required ?? []);
        return {
          name: f.name,
          description: f.options.description ?? "",
          parameters: Object.entries(schema.properties ?? {}).map(([name, property]) => ({
            name,
            type: typeName(property),
            required: required.has(name),
            ...(property.default === undefined ? {} : { default: property.default }),
          })),
        };
      });
      if (flags.json) return printJson({ flows: rows });
      printTable(
        ["FLOW", "PARAMETERS", "DESCRIPTION"],
        rows.map((r) => [
          r.name,
          r.parameters
            .map(
              (p) =>
                `${p.name}${p.required ? "" : "?"}: ${p.type}${p.default === undefined ? "" : ` = ${JSON.stringify(p.default)}`}`,
            )
            .join(", "),
          r.description,
        ]),
      );
    });

  flows
    .command("run")
    .description("start a flow run; with --wait, wait for its end and exit 1 unless it completed")
    .argument("<name>", "flow name (see flows list)")
    .option("--param <key=value>", "a parameter (repeatable; values are JSON or text)", collect)
    .option("--wait", "wait for the run to end and print its result")
    .option("--idempotency-key <key>", "start nothing when a run with this key exists")
    .action(
      (
        name: string,
        flags: { param?: string[]; wait?: boolean; idempotencyKey?: string },
        command: Command,
      ) =>
        withOrchestrator(command, async (orchestrator) => {
          const { findFlow } = await import("../../orchestration/api.ts");
          const definition = findFlow(name);
          if (!definition)
            throw new InputError(`no flow named ${JSON.stringify(name)} (see flows list)`);
          const started = await orchestrator.start(definition, parseParams(flags.param), {
            idempotencyKey: flags.idempotencyKey,
          });
          printLine(
            `flow run ${started.flowRunId}${started.created ? "" : " (exists for this idempotency key)"}`,
          );
          if (!flags.wait && started.created) {
            printLine(
              "running in this process until it ends (Ctrl-C leaves it to be marked crashed)",
            );
          }
          await reportOutcome(
            orchestrator,
            name,
            await outcomeOf(orchestrator, started, flags.wait),
            flags.wait,
          );
        }),
    );

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
          if (flags.json) return printJson({ flow_runs: rows });
          printTable(
            ["FLOW RUN", "FLOW", "STATE", "CREATED", "DURATION", "DEPLOYMENT"],
            rows.map((r) => [
              r.id,
              r.flow_name,
              r.state,
              time(r.created_at),
              duration(r.started_at, r.ended_at),
              r.deployment_name ?? "",
            ]),
          );
        }),
    );

  runs
    .command("show")
    .description(
      "one flow run: parameters, state history, and its task runs and subflows as a tree",
    )
    .argument("<id>", "flow run id (or a unique prefix)")
    .option("--json", "print JSON")
    .action((id: string, flags: { json?: boolean }, command: Command) =>
      withOrchestrator(command, async (orchestrator) => {
        const run = await orchestrator.runs.getFlowRun(
          (await orchestrator.runs.findFlowRun(id))?.id ?? id,
        );
        const history = await orchestrator.runs.stateHistory(run.id);
        const taskRuns = await orchestrator.runs.listTaskRuns(run.id);
        const subflows = (await orchestrator.runs.listFlowRuns({ limit: 1000 })).filter(
          (r) => r.parent_flow_run_id === run.id,
        );
        if (flags.json) return printJson({ flow_run: run, history, task_runs: taskRuns, subflows });
        printLine(`flow run ${run.id} (${run.flow_name})`);
        printLine(`state       ${run.state}${run.state_message ? ` — ${run.state_message}` : ""}`);
        printLine(`parameters  ${run.parameters}`);
        printLine(`created     ${time(run.created_at)}`);
        printLine(`duration    ${duration(run.started_at, run.ended_at)}`);
        if (run.deployment_name) printLine(`deployment  ${run.deployment_name}`);
        if (run.error_message) printLine(`error       ${run.error_message}`);
        if (run.result_key) printLine(`result      ${run.result_key}`);
        printLine();
        printLine("states:");
        printHistory(history);
        printLine();
        printLine(`${run.flow_name} [${run.state}] ${duration(run.started_at, run.ended_at)}`);
        const entries = [
          ...taskRuns.map((t) => ({ at: t.created_at, line: taskLine(t) })),
          ...subflows.map((f) => ({
            at: f.created_at,
            line: `subflow ${f.flow_name} ${f.id} [${f.state}] ${duration(f.started_at, f.ended_at)}`,
          })),
        ].sort((a, b) => a.at - b.at);
        for (const [i, entry] of entries.entries())
          printLine(`${i === entries.length - 1 ? "└─" : "├─"} ${entry.line}`);
      }),
    );

  runs
    .command("logs")
    .description("the log lines of a flow run and its task runs; --follow until it ends")
    .argument("<id>", "flow run id (or a unique prefix)")
    .option("--follow", "keep printing new lines until the run ends")
    .action((id: string, flags: { follow?: boolean }, command: Command) =>
      withOrchestrator(command, async (orchestrator) => {
        const run = await orchestrator.runs.getFlowRun(
          (await orchestrator.runs.findFlowRun(id))?.id ?? id,
        );
        let after = 0;
        for (;;) {
          const lines = await orchestrator.runs.logs(run.id, after);
          for (const line of lines) {
            printLine(
              `${time(line.at)} ${line.level.toUpperCase().padEnd(5)} ${line.task_run_id ? `[${line.task_run_id.slice(0, 8)}] ` : ""}${line.message}`,
            );
            after = line.id;
          }
          if (lines.length > 0) continue;
          if (!flags.follow) break;
          const { isFinal } = await import("../../orchestration/states.ts");
          await orchestrator.runs.markCrashed(orchestrator.crashAfterMs);
          if (isFinal((await orchestrator.runs.getFlowRun(run.id)).state)) {
            const rest = await orchestrator.runs.logs(run.id, after);
            if (rest.length === 0) break;
            continue;
          }
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
      }),
    );

  runs
    .command("cancel")
    .description("cancel a flow run: at once if not started, at its next heartbeat if running")
    .argument("<id>", "flow run id (or a unique prefix)")
    .action((id: string, _flags: object, command: Command) =>
      withOrchestrator(command, async (orchestrator) => {
        const run = await orchestrator.runs.getFlowRun(
          (await orchestrator.runs.findFlowRun(id))?.id ?? id,
        );
        const was = await orchestrator.runs.requestCancel(run.id);
        const { isFinal } = await import("../../orchestration/states.ts");
        if (isFinal(was)) printLine(`flow run ${run.id} already ended ${was}`);
        else if (was === "scheduled" || was === "pending")
          printLine(`flow run ${run.id} cancelled`);
        else printLine(`flow run ${run.id}: cancel requested; it stops at its next heartbeat`);
      }),
    );

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
    .option("--param <key=value>", "a default parameter (repeatable)", collect)
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
          param?: string[];
          allowOverlap?: boolean;
        },
        command: Command,
      ) =>
        withOrchestrator(command, async (orchestrator, context) => {
          const { deploy } = await import("../../orchestration/scheduler.ts");
          let specs: DeploymentSpec[];
          if (flags.file) {
            const parsed = YAML.parse(await readFile(flags.file, "utf8")) as unknown;
            const list = Array.isArray(parsed)
              ? parsed
              : (parsed as { deployments?: unknown })?.deployments;
            if (!Array.isArray(list))
              throw new InputError(`${flags.file}: expected a list of deployments`);
            specs = list as DeploymentSpec[];
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
                parameters: parseParams(flags.param),
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
        if (flags.json) return printJson({ deployments: rows });
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
            time(d.last_scheduled_at),
            d.parameters,
          ]),
        );
      }),
    );
  deployments
    .command("run")
    .description(
      "start a run of a deployment now, with its parameters; with --wait, exit 1 unless it completed",
    )
    .argument("<name>", "deployment name")
    .option("--param <key=value>", "override a parameter (repeatable)", collect)
    .option("--idempotency-key <key>", "start nothing when a run with this key exists")
    .option("--wait", "wait for the run to end and print its result")
    .action(
      (
        name: string,
        flags: { param?: string[]; idempotencyKey?: string; wait?: boolean },
        command: Command,
      ) =>
        withOrchestrator(command, async (orchestrator) => {
          const { trigger } = await import("../../orchestration/scheduler.ts");
          const deployment = await orchestrator.runs.getDeployment(name);
          const started = await trigger(
            orchestrator,
            deployment,
            flags.idempotencyKey,
            parseParams(flags.param),
          );
          printLine(
            `flow run ${started.flowRunId}${started.created ? "" : " (exists for this idempotency key)"}`,
          );
          await reportOutcome(
            orchestrator,
            deployment.flow_name,
            await outcomeOf(orchestrator, started, flags.wait),
            flags.wait,
          );
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

  program
    .command("scheduler")
    .description("start due deployment runs until interrupted (missed ticks make one run)")
    .option("--once", "check once, wait for the runs started, and exit")
    .option(...SHUTDOWN_OPTION)
    .action(async (flags: { once?: boolean; shutdownTimeout?: number }, command: Command) => {
      if (flags.once) {
        await withOrchestrator(command, async (orchestrator, context) => {
          const { schedulerTick } = await import("../../orchestration/scheduler.ts");
          for (const started of await schedulerTick(orchestrator, context.log))
            printLine(tickLine(started));
        });
        return;
      }
      await runScheduler(command, flags.shutdownTimeout ?? DEFAULT_SHUTDOWN_SECONDS);
    });
}

function tickLine(started: {
  deployment: string;
  tick: number;
  flowRunId?: string;
  skipped?: string;
}): string {
  return `${started.deployment} ${new Date(started.tick).toISOString()}: ${started.flowRunId ? `flow run ${started.flowRunId}` : `skipped (${started.skipped})`}`;
}

/**
 * The scheduler until SIGTERM or Ctrl-C: then it starts nothing more, gives the flow runs it
 * started most of the shutdown timeout to end, and leaves the others to the crash check (their
 * process is gone); a check stuck on an unanswering database does not hold it.
 */
async function runScheduler(command: Command, seconds: number): Promise<void> {
  const { orchestrator, context, store } = await openOrchestrator(command);
  const { schedulerTick } = await import("../../orchestration/scheduler.ts");
  const stop = watchStopSignals("scheduler", seconds, () =>
    orchestrator.activeFlowRuns > 0
      ? `${orchestrator.activeFlowRuns} running flow runs left to be marked crashed`
      : undefined,
  );
  const intervalSeconds = context.config.orchestration.schedulerIntervalSeconds;
  printLine(
    `scheduler: checking deployments every ${intervalSeconds} s; SIGTERM or Ctrl-C: running flow runs get up to ${seconds} s to end; twice stops it at once`,
  );
  let stopping = false;
  const stopped = stop.requested.then(() => {
    stopping = true;
  });
  let failure: unknown;
  try {
    while (!stopping) {
      const tick = schedulerTick(orchestrator, context.log);
      tick.catch(() => {});
      await Promise.race([tick, stopped]);
      if (stopping) break;
      for (const started of await tick) printLine(tickLine(started));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        stopped,
        new Promise((resolve) => {
          timer = setTimeout(resolve, intervalSeconds * 1000);
        }),
      ]);
      clearTimeout(timer);
    }
  } catch (error) {
    failure = error;
  }
  const deadline =
    (stopping ? stop.deadline : Date.now() + seconds * 1000) - Math.min(1_000, seconds * 200);
  const drainUntil =
    failure === undefined ? deadline - Math.min(2_000, (seconds * 1000) / 3) : Date.now();
  if (orchestrator.activeFlowRuns > 0)
    printLine(
      `stopping: ${orchestrator.activeFlowRuns} running flow runs get ${Math.max(0, Math.round((drainUntil - Date.now()) / 100) / 10)} s to end`,
    );
  const report = await orchestrator.shutdown(drainUntil, deadline);
  if (!(await doneBy(store.close(), deadline))) report.unanswered.push("the object store");
  stop.finished();
  if (failure !== undefined) throw failure;
  const unanswered = report.unanswered.join(" and ");
  if (report.unfinished > 0)
    throw new OperationError(
      `scheduler: ${report.unfinished} flow run${report.unfinished === 1 ? " was" : "s were"} still running when it stopped${unanswered ? ` (${unanswered} did not answer)` : ""}; ${report.unfinished === 1 ? "it is" : "they are"} marked crashed by the next command or scheduler`,
    );
  if (report.unanswered.includes("the tracking database"))
    throw new OperationError(
      `scheduler: ${unanswered} did not answer while stopping: run states or log lines may be unrecorded`,
    );
  if (unanswered)
    context.log.warn(`${unanswered} did not answer while stopping; connections dropped`);
  printLine("scheduler stopped");
}

/**
 * A started run's outcome. An earlier run found by its idempotency key is waited for only with
 * --wait; without it, its state now is the answer.
 */
function outcomeOf(
  orchestrator: Orchestrator,
  started: { flowRunId: string; created: boolean; outcome: Promise<FlowRunOutcome<unknown>> },
  wait: boolean | undefined,
): Promise<FlowRunOutcome<unknown>> {
  return started.created || !wait ? started.outcome : orchestrator.waitForEnd(started.flowRunId);
}

async function reportOutcome(
  orchestrator: Orchestrator,
  name: string,
  outcome: FlowRunOutcome<unknown>,
  wait: boolean | undefined,
): Promise<void> {
  printLine(`state: ${outcome.state}`);
  if (outcome.result !== undefined) printLine(`result: ${JSON.stringify(outcome.result)}`);
  if (outcome.error) printLine(`error: ${outcome.error}`);
  if (wait === true && outcome.state !== "completed")
    throw await runFailure(orchestrator, name, outcome);
}

function printHistory(history: RunStateRow[]): void {
  for (const entry of history)
    printLine(`  ${time(entry.at)}  ${entry.state}${entry.message ? ` — ${entry.message}` : ""}`);
}

function taskLine(run: TaskRunRow): string {
  const attempts = run.attempt > 1 ? ` (${run.attempt} attempts)` : "";
  const error = run.error_message && run.state !== "completed" ? ` — ${run.error_message}` : "";
  const worker = run.worker ? ` on ${run.worker}` : "";
  return `${run.task_name}-${run.task_index} [${run.state}] ${duration(run.started_at, run.ended_at)}${attempts}${worker}${error}`;
}
