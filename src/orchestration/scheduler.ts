// Deployments and their schedules: a deployment is a named flow with default parameters and
// a cron expression (in a time zone), an interval, or neither (it runs only when triggered).
// The scheduler starts the runs that are due: after downtime, the missed ticks make one run; a
// deployment does not overlap itself unless allowed; every scheduled run carries the
// idempotency key deployment@tick, so two schedulers, or two triggers with one key, start it once.
import { CronExpressionParser } from "cron-parser";
import { z } from "zod";
import { errorMessage, InputError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { findFlow } from "./api.ts";
import type { DeploymentRow } from "./run-store.ts";
import type { FlowRunOutcome, Orchestrator } from "./runtime.ts";
import { ACTIVE_STATES } from "./states.ts";

export const deploymentSchema = z
  .strictObject({
    name: z.string().min(1),
    flow: z.string().min(1),
    parameters: z.record(z.string(), z.unknown()).default({}),
    cron: z.string().min(1).optional(),
    intervalSeconds: z.number().positive().optional(),
    timezone: z.string().min(1).default("UTC"),
    allowOverlap: z.boolean().default(false),
  })
  .refine((d) => d.cron === undefined || d.intervalSeconds === undefined, {
    message: "give cron or intervalSeconds, not both (neither: runs start only when triggered)",
  });

export type DeploymentSpec = z.input<typeof deploymentSchema>;

/** Checks a deployment (its flow exists, its schedule parses) and records it. */
export async function deploy(orchestrator: Orchestrator, spec: DeploymentSpec): Promise<void> {
  const parsed = deploymentSchema.safeParse(spec);
  if (!parsed.success)
    throw new InputError(
      `deployment ${spec.name ?? "?"}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
    );
  const deployment = parsed.data;
  const definition = findFlow(deployment.flow);
  if (!definition)
    throw new InputError(`deployment ${deployment.name}: no flow named ${deployment.flow}`);
  const parameters = definition.options.parameters.safeParse(deployment.parameters);
  if (!parameters.success)
    throw new InputError(
      `deployment ${deployment.name}: bad parameters: ${parameters.error.message}`,
    );
  if (deployment.cron) latestTick(deployment.cron, deployment.timezone, Date.now());
  await orchestrator.runs.upsertDeployment({
    name: deployment.name,
    flowName: deployment.flow,
    parameters: deployment.parameters,
    cron: deployment.cron,
    intervalMs:
      deployment.intervalSeconds === undefined ? undefined : deployment.intervalSeconds * 1000,
    timezone: deployment.timezone,
    allowOverlap: deployment.allowOverlap,
  });
}

function latestTick(cron: string, timezone: string, now: number): number {
  try {
    return CronExpressionParser.parse(cron, { currentDate: new Date(now + 1), tz: timezone })
      .prev()
      .getTime();
  } catch (error) {
    throw new InputError(`cron ${JSON.stringify(cron)} (${timezone}): ${errorMessage(error)}`);
  }
}

/** The newest tick at or before `now` that is after the last one scheduled, if any. */
export function dueTick(deployment: DeploymentRow, now: number): number | undefined {
  const since = deployment.last_scheduled_at ?? deployment.created_at;
  let tick: number;
  if (deployment.interval_ms === null && deployment.cron === null) return undefined;
  if (deployment.interval_ms !== null) {
    const anchor = deployment.created_at;
    tick = anchor + Math.floor((now - anchor) / deployment.interval_ms) * deployment.interval_ms;
  } else tick = latestTick(deployment.cron ?? "", deployment.timezone, now);
  return tick > since ? tick : undefined;
}

/**
 * The schedule's first tick after `now`: when the scheduler starts the deployment's next run
 * (unless paused); undefined for a deployment that runs only when triggered.
 */
export function nextTick(deployment: DeploymentRow, now: number): number | undefined {
  if (deployment.interval_ms !== null) {
    const anchor = Number(deployment.created_at);
    const interval = Number(deployment.interval_ms);
    return anchor + (Math.floor((now - anchor) / interval) + 1) * interval;
  }
  if (deployment.cron === null) return undefined;
  try {
    return CronExpressionParser.parse(deployment.cron, {
      currentDate: new Date(now),
      tz: deployment.timezone,
    })
      .next()
      .getTime();
  } catch {
    return undefined;
  }
}

export interface TickResult {
  deployment: string;
  tick: number;
  flowRunId?: string;
  skipped?: string;
}

/** Starts every due run once; returns what it did. */
export async function schedulerTick(
  orchestrator: Orchestrator,
  log: Logger,
  now = Date.now(),
): Promise<TickResult[]> {
  await orchestrator.runs.markCrashed(orchestrator.crashAfterMs);
  const done: TickResult[] = [];
  for (const deployment of await orchestrator.runs.listDeployments()) {
    if (deployment.paused === 1) continue;
    const tick = dueTick(deployment, now);
    if (tick === undefined) continue;
    if (
      !(await orchestrator.runs.advanceSchedule(
        deployment.name,
        deployment.last_scheduled_at,
        tick,
      ))
    )
      continue;
    if (deployment.allow_overlap === 0) {
      const active = (
        await orchestrator.runs.listFlowRuns({ deploymentName: deployment.name, limit: 20 })
      ).filter((r) => (ACTIVE_STATES as readonly string[]).includes(r.state));
      if (active.length > 0) {
        const skipped = `still running: ${active[0]?.id}`;
        log.info(
          { deployment: deployment.name, tick: new Date(tick).toISOString() },
          `skipped: ${skipped}`,
        );
        done.push({ deployment: deployment.name, tick, skipped });
        continue;
      }
    }
    const result = await trigger(
      orchestrator,
      deployment,
      `${deployment.name}@${new Date(tick).toISOString()}`,
    );
    log.info({ deployment: deployment.name, flowRunId: result.flowRunId }, "scheduled run started");
    done.push({ deployment: deployment.name, tick, flowRunId: result.flowRunId });
  }
  return done;
}

/** Starts a deployment's flow with its parameters; an idempotency key already used starts nothing. */
export async function trigger(
  orchestrator: Orchestrator,
  deployment: DeploymentRow,
  idempotencyKey?: string,
  overrides: Record<string, unknown> = {},
): Promise<{ flowRunId: string; created: boolean; outcome: Promise<FlowRunOutcome<unknown>> }> {
  const definition = findFlow(deployment.flow_name);
  if (!definition)
    throw new InputError(`deployment ${deployment.name}: no flow named ${deployment.flow_name}`);
  return orchestrator.start(
    definition,
    { ...(JSON.parse(deployment.parameters) as Record<string, unknown>), ...overrides },
    { deploymentName: deployment.name, idempotencyKey },
  );
}
