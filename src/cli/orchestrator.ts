// The orchestrator as commands use it: opened on the configured tracking database with the
// flow catalogue loaded; flows found by name, started and run to their end; and a run that did
// not complete turned into the error its command exits with.
import type { Command } from "commander";
import { InputError, OperationError } from "../common/errors.ts";
import { closePipelineEnvironment } from "../flows/environment.ts";
import type { AnyFlow } from "../orchestration/api.ts";
import type {
  FlowRunOutcome,
  Orchestrator,
  OrchestratorOptions,
} from "../orchestration/runtime.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { type CommandContext, createContext } from "./context.ts";
import { loadFlowCatalog } from "./flow-catalog.ts";
import { keyValueParameter } from "./options.ts";
import { printLine } from "./output.ts";

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

/**
 * The context of a command that records runs, with the flow catalogue loaded. Runs are recorded
 * in the tracking database itself: a tracking server's URI is an InputError whose message starts
 * with `recorded` ("flow runs are recorded", "workers record task runs").
 */
export async function recordingContext(
  command: Command,
  recorded: string,
): Promise<{ context: CommandContext; databaseUri: string }> {
  const context = createContext(command);
  const databaseUri = context.config.tracking.uri as string;
  if (/^https?:/i.test(databaseUri))
    throw new InputError(
      `${recorded} in the tracking database; tracking.uri ${databaseUri} is a server (use sqlite:///… or postgres://…)`,
    );
  await loadFlowCatalog(context);
  return { context, databaseUri };
}

/** An orchestrator on the configured tracking database and object store, for the caller to close. */
export async function openOrchestrator(
  command: Command,
  options: Pick<OrchestratorOptions, "onFlowRunEnd"> = {},
): Promise<{ orchestrator: Orchestrator; context: CommandContext; store: ObjectStore }> {
  const { context, databaseUri: uri } = await recordingContext(command, "flow runs are recorded");
  const { Orchestrator } = await import("../orchestration/runtime.ts");
  const store = context.openStore();
  const settings = context.config.orchestration;
  const executor: OrchestratorOptions["executor"] =
    settings.executor === "bullmq"
      ? async (deps) => {
          const { QueueExecutor } = await import("../orchestration/queue-executor.ts");
          const { queueSettings } = await import("../orchestration/queue.ts");
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
    ...options,
  }).catch(async (error) => {
    await store.close();
    throw error;
  });
  return { orchestrator, context, store };
}

/** The flow called `name` in the catalogue; any other name is an InputError. */
export async function flowNamed(name: string): Promise<AnyFlow> {
  const { findFlow } = await import("../orchestration/api.ts");
  const definition = findFlow(name);
  if (!definition) throw new InputError(`no flow named ${JSON.stringify(name)} (see flows list)`);
  return definition;
}

/** The options of a command that starts a flow run (`flows run`, `deployments run`). */
export interface StartFlags {
  param?: Record<string, unknown>;
  idempotencyKey?: string;
  wait?: boolean;
}

/** Adds the StartFlags options to `command`; `param` describes its `--param`. */
export function withStartOptions(command: Command, param: string): Command {
  return command
    .option("--param <key=value>", param, keyValueParameter)
    .option("--idempotency-key <key>", "start nothing when a run with this key exists")
    .option("--wait", "wait for the run to end and print its result");
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
  const outcome = await orchestrator.run(await flowNamed(name), parameters);
  if (outcome.state === "completed")
    return { flowRunId: outcome.flowRunId, result: outcome.result };
  throw await runFailure(orchestrator, name, outcome);
}

/**
 * Prints a run that `flows run` or `deployments run` started and, once it has ended, its state,
 * result and error. An earlier run found by its idempotency key is waited for only with
 * `wait`; without it, its state now is the answer. With `wait`, a run that did not complete is
 * thrown as runFailure's error.
 */
export async function reportStartedRun(
  orchestrator: Orchestrator,
  name: string,
  started: { flowRunId: string; created: boolean; outcome: Promise<FlowRunOutcome<unknown>> },
  wait: boolean | undefined,
): Promise<void> {
  printLine(
    `flow run ${started.flowRunId}${started.created ? "" : " (exists for this idempotency key)"}`,
  );
  if (!wait && started.created)
    printLine("running in this process until it ends (Ctrl-C leaves it to be marked crashed)");
  const outcome =
    started.created || !wait
      ? await started.outcome
      : await orchestrator.waitForEnd(started.flowRunId);
  printLine(`state: ${outcome.state}`);
  if (outcome.result !== undefined) printLine(`result: ${JSON.stringify(outcome.result)}`);
  if (outcome.error) printLine(`error: ${outcome.error}`);
  if (wait === true && outcome.state !== "completed")
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
  const onInput = (await orchestrator.failureChain(outcome.flowRunId)).find((row) =>
    /^(InputError|TrackingError)\b/.test(row.error_stack ?? ""),
  );
  if (onInput) return new InputError(onInput.error_message ?? message);
  return new OperationError(
    `${name} (flow run ${outcome.flowRunId}) ended ${outcome.state}: ${message}`,
  );
}
