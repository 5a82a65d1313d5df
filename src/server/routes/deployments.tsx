/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The deployment pages and their /api/v1 endpoints: the deployments with their schedules, next
// and last runs; a deployment's page with "run now" (parameters checked by the flow's own
// schema, the run started in this process, the browser sent to its page) and pause/resume.
import { type Context, Hono } from "hono";
import type { FC } from "hono/jsx";
import { InputError } from "../../common/errors.ts";
import { type AnyFlow, findFlow } from "../../orchestration/api.ts";
import { checkCrashedRuns } from "../../orchestration/crash-check.ts";
import {
  formParameterValue,
  parameterFields,
  parameterProblem,
} from "../../orchestration/parameters.ts";
import { deploymentToJson, flowRunToJson } from "../../orchestration/run-json.ts";
import type { DeploymentRow, FlowRunRow } from "../../orchestration/run-store.ts";
import { nextTick, trigger } from "../../orchestration/scheduler.ts";
import type { ServerContext, ServerEnv } from "../context.ts";
import { Empty, KeyValues, StateBadge, Table, Time } from "../ui/components.tsx";
import { FlowRunTable } from "../ui/flow-runs.tsx";
import { Page } from "../ui/layout.tsx";
import { type FieldProblem, fieldError, problemPage } from "./field-error.tsx";

const MAX_NAME = 200;
const MAX_PARAMETERS = 100;
const MAX_VALUE_CHARS = 10_000;
const FIELD_PREFIX = "param:";

interface DeploymentSummary {
  row: DeploymentRow;
  nextRunAt: number | undefined;
  lastRun: FlowRunRow | undefined;
}

function scheduleText(row: DeploymentRow): string {
  if (row.cron !== null) return `cron "${row.cron}" (${row.timezone})`;
  if (row.interval_ms !== null) return `every ${Number(row.interval_ms) / 1000} s`;
  return "only when triggered";
}

function summaryToJson(summary: DeploymentSummary) {
  const { lastRun } = summary;
  return {
    ...deploymentToJson(summary.row),
    schedule: scheduleText(summary.row),
    next_run_at: summary.row.paused === 1 ? null : (summary.nextRunAt ?? null),
    last_run: lastRun
      ? {
          id: lastRun.id,
          state: lastRun.state,
          created_at: Number(lastRun.created_at),
          ended_at: lastRun.ended_at === null ? null : Number(lastRun.ended_at),
        }
      : null,
  };
}

/** The parameters a "run now" form sends: one field per parameter, and key=value lines. */
function formOverrides(
  definition: AnyFlow,
  form: Record<string, unknown>,
): { overrides: Record<string, unknown>; entered: Record<string, string> } | FieldProblem {
  const overrides: Record<string, unknown> = {};
  const entered: Record<string, string> = {};
  let count = 0;
  for (const [key, value] of Object.entries(form)) {
    if (!key.startsWith(FIELD_PREFIX) || typeof value !== "string") continue;
    const name = key.slice(FIELD_PREFIX.length);
    if (++count > MAX_PARAMETERS)
      return { field: "parameters", message: `at most ${MAX_PARAMETERS} parameters` };
    if (value.length > MAX_VALUE_CHARS)
      return { field: name, message: `parameter ${name}: at most ${MAX_VALUE_CHARS} characters` };
    entered[name] = value;
    if (value.trim() !== "") overrides[name] = formParameterValue(definition, name, value.trim());
  }
  const extra = typeof form.extra === "string" ? form.extra : "";
  entered.extra = extra;
  if (extra.length > MAX_VALUE_CHARS)
    return { field: "extra", message: `more parameters: at most ${MAX_VALUE_CHARS} characters` };
  for (const line of extra.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const at = line.indexOf("=");
    if (at < 1)
      return {
        field: "extra",
        message: `more parameters: expected key=value lines, got ${JSON.stringify(line.slice(0, 80))}`,
      };
    if (++count > MAX_PARAMETERS)
      return { field: "parameters", message: `at most ${MAX_PARAMETERS} parameters` };
    const name = line.slice(0, at).trim();
    overrides[name] = formParameterValue(definition, name, line.slice(at + 1).trim());
  }
  return { overrides, entered };
}

/** The JSON body of POST /api/v1/deployments/:name/run: `{"parameters": {...}, "idempotency_key"?}`. */
function runRequest(
  body: unknown,
): { parameters: Record<string, unknown>; idempotencyKey: string | undefined } | FieldProblem {
  if (body === undefined) return { parameters: {}, idempotencyKey: undefined };
  if (typeof body !== "object" || body === null || Array.isArray(body))
    return { field: "body", message: 'body: expected a JSON object like {"parameters": {...}}' };
  const { parameters = {}, idempotency_key: key, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined)
    return {
      field: unknown,
      message: `${unknown}: not a field of a run request (parameters, idempotency_key)`,
    };
  if (typeof parameters !== "object" || parameters === null || Array.isArray(parameters))
    return { field: "parameters", message: "parameters: expected an object of name: value" };
  if (Object.keys(parameters).length > MAX_PARAMETERS)
    return { field: "parameters", message: `parameters: at most ${MAX_PARAMETERS}` };
  if (key !== undefined && (typeof key !== "string" || key.length < 1 || key.length > MAX_NAME))
    return {
      field: "idempotency_key",
      message: `idempotency_key: expected text of 1 to ${MAX_NAME} characters`,
    };
  return { parameters: parameters as Record<string, unknown>, idempotencyKey: key };
}

export function deploymentsRoutes(context: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const { orchestrator, log } = context;
  const runs = orchestrator.runs;
  const loggedIn = context.token !== undefined;

  const summarize = async (row: DeploymentRow): Promise<DeploymentSummary> => ({
    row,
    nextRunAt: nextTick(row, Date.now()),
    lastRun: await runs.latestDeploymentRun(row.name),
  });

  /** The deployment `:name` names, or the 400/404 answer. */
  const deploymentOr = async (
    c: Context<ServerEnv>,
    json: boolean,
  ): Promise<DeploymentRow | Response> => {
    const name = c.req.param("name") ?? "";
    const problem =
      name.length === 0 || name.length > MAX_NAME
        ? { field: "name", message: `name: a deployment name has 1 to ${MAX_NAME} characters` }
        : undefined;
    if (problem) return json ? fieldError(c, problem) : problemPage(c, problem, loggedIn);
    const row = await runs.findDeployment(name);
    if (row) return row;
    const missing = {
      field: "name",
      message: `no deployment ${JSON.stringify(name)} (genre-classifier deploy registers the project's)`,
    };
    return json ? fieldError(c, missing, 404) : problemPage(c, missing, loggedIn, 404);
  };

  /** Starts a run of the deployment; the run goes on in this process after the answer. */
  const start = async (
    row: DeploymentRow,
    overrides: Record<string, unknown>,
    idempotencyKey?: string,
  ): Promise<{ flowRunId: string; created: boolean } | FieldProblem> => {
    const definition = findFlow(row.flow_name);
    if (!definition)
      return {
        field: "name",
        message: `deployment ${row.name}: its flow ${row.flow_name} is not in this server's catalogue`,
      };
    const parameters = { ...(JSON.parse(row.parameters) as Record<string, unknown>), ...overrides };
    const problem = parameterProblem(definition, parameters);
    if (problem) return { field: problem.field, message: problem.message };
    try {
      const started = await trigger(orchestrator, row, idempotencyKey, overrides);
      started.outcome.catch((error: unknown) =>
        log.error({ err: error, flowRunId: started.flowRunId }, "serve: a flow run failed to end"),
      );
      return { flowRunId: started.flowRunId, created: started.created };
    } catch (error) {
      if (error instanceof InputError) return { field: "parameters", message: error.message };
      throw error;
    }
  };

  const deploymentPage = async (
    c: Context<ServerEnv>,
    row: DeploymentRow,
    form: { problem?: FieldProblem; entered?: Record<string, string> } = {},
  ) => {
    const summary = await summarize(row);
    const recent = await runs.pageFlowRuns({ deploymentName: row.name, limit: 10 });
    const definition = findFlow(row.flow_name);
    const defaults = JSON.parse(row.parameters) as Record<string, unknown>;
    const fields = definition ? parameterFields(definition, defaults) : [];
    const base = `/deployments/${encodeURIComponent(row.name)}`;
    return c.html(
      <Page
        title={`Deployment ${row.name}`}
        section="deployments"
        subtitle={`runs flow ${row.flow_name}`}
        loggedIn={loggedIn}
      >
        <div class="grid">
          <div class="card">
            <KeyValues
              items={[
                ["Flow", row.flow_name],
                ["Schedule", scheduleText(row)],
                ["State", row.paused === 1 ? <span class="badge warn">paused</span> : "active"],
                ["Next run", <NextRun summary={summary} />],
                ["Last run", <LastRun run={summary.lastRun} />],
                [
                  "Overlap",
                  row.allow_overlap === 1 ? "allowed" : "skips a tick while a run goes on",
                ],
                ["Registered", <Time value={Number(row.created_at)} />],
              ]}
            />
            <form
              method="post"
              action={`${base}/${row.paused === 1 ? "resume" : "pause"}`}
              class="inline"
              data-confirm={
                row.paused === 1
                  ? `Resume the schedule of ${row.name}?`
                  : `Pause the schedule of ${row.name}?`
              }
            >
              <button type="submit" class="secondary">
                {row.paused === 1 ? "Resume schedule" : "Pause schedule"}
              </button>
            </form>
          </div>
          <div class="card">
            <h2>Run now</h2>
            {definition ? null : (
              <p class="alert bad">
                The flow {row.flow_name} is not in this server's catalogue: it cannot start here.
              </p>
            )}
            {form.problem ? (
              <p class="alert bad" role="alert" data-field={form.problem.field}>
                {form.problem.message}
              </p>
            ) : null}
            <form method="post" action={`${base}/run`} aria-label="Run now">
              {fields.map((field) => (
                <label>
                  {field.name}
                  {field.description ? <span>{field.description}</span> : null}
                  <input
                    type="text"
                    name={`${FIELD_PREFIX}${field.name}`}
                    value={form.entered?.[field.name] ?? ""}
                    placeholder={
                      field.value === undefined ? "(not set)" : JSON.stringify(field.value)
                    }
                    maxlength={MAX_VALUE_CHARS}
                    autocomplete="off"
                  />
                </label>
              ))}
              <label>
                More parameters (key=value, one a line)
                <textarea name="extra" rows={2} maxlength={MAX_VALUE_CHARS}>
                  {form.entered?.extra ?? ""}
                </textarea>
              </label>
              <p class="muted">Empty fields keep the deployment's values (shown greyed).</p>
              <button type="submit" disabled={definition === undefined}>
                Run now
              </button>
            </form>
          </div>
        </div>
        <h2>Default parameters</h2>
        <pre class="log">{JSON.stringify(defaults, null, 2)}</pre>
        <h2>Recent runs</h2>
        {recent.runs.length === 0 ? (
          <Empty>No runs yet.</Empty>
        ) : (
          <>
            <FlowRunTable runs={recent.runs} now={Date.now()} />
            <p>
              <a href={`/flow-runs?deployment=${encodeURIComponent(row.name)}`}>All its runs →</a>
            </p>
          </>
        )}
      </Page>,
      form.problem ? 400 : 200,
    );
  };

  app.get("/deployments", async (c) => {
    await checkCrashedRuns(orchestrator);
    const summaries = await Promise.all((await runs.listDeployments()).map(summarize));
    return c.html(
      <Page
        title="Deployments"
        section="deployments"
        subtitle="Flows registered under a name with default parameters and a schedule."
        loggedIn={loggedIn}
      >
        {summaries.length === 0 ? (
          <div class="card">
            <p>No deployments yet.</p>
            <p>
              Register the project's with <code>genre-classifier deploy</code>:{" "}
              <code>daily-inference</code> on its cron schedule and <code>complete-training</code>{" "}
              when triggered. A deployment of your own:{" "}
              <code>genre-classifier deploy --name selfcheck --flow selfcheck</code>. The schedules
              run while <code>genre-classifier scheduler</code> runs.
            </p>
          </div>
        ) : (
          <Table head={["Deployment", "Flow", "Schedule", "State", "Next run", "Last run"]}>
            {summaries.map((summary) => (
              <tr>
                <td>
                  <a href={`/deployments/${encodeURIComponent(summary.row.name)}`}>
                    {summary.row.name}
                  </a>
                </td>
                <td>{summary.row.flow_name}</td>
                <td>{scheduleText(summary.row)}</td>
                <td>
                  {summary.row.paused === 1 ? (
                    <span class="badge warn">paused</span>
                  ) : (
                    <span class="badge ok">active</span>
                  )}
                </td>
                <td>
                  <NextRun summary={summary} />
                </td>
                <td>
                  <LastRun run={summary.lastRun} />
                </td>
              </tr>
            ))}
          </Table>
        )}
        {summaries.length > 0 ? (
          <p class="muted">
            Scheduled runs start while <code>genre-classifier scheduler</code> runs; "Run now" on a
            deployment's page starts one here at once.
          </p>
        ) : null}
      </Page>,
    );
  });

  app.get("/deployments/:name", async (c) => {
    const row = await deploymentOr(c, false);
    if (row instanceof Response) return row;
    return deploymentPage(c, row);
  });

  app.post("/deployments/:name/run", async (c) => {
    const row = await deploymentOr(c, false);
    if (row instanceof Response) return row;
    const definition = findFlow(row.flow_name);
    const form = await c.req.parseBody();
    if (!definition)
      return deploymentPage(c, row, {
        problem: { field: "name", message: `the flow ${row.flow_name} is not in the catalogue` },
      });
    const read = formOverrides(definition, form);
    if ("field" in read) return deploymentPage(c, row, { problem: read });
    const started = await start(row, read.overrides);
    if ("field" in started)
      return deploymentPage(c, row, { problem: started, entered: read.entered });
    return c.redirect(`/flow-runs/${encodeURIComponent(started.flowRunId)}`, 303);
  });

  for (const [action, paused] of [
    ["pause", true],
    ["resume", false],
  ] as const) {
    app.post(`/deployments/:name/${action}`, async (c) => {
      const row = await deploymentOr(c, false);
      if (row instanceof Response) return row;
      await runs.setDeploymentPaused(row.name, paused);
      return c.redirect(`/deployments/${encodeURIComponent(row.name)}`, 303);
    });
    app.post(`/api/v1/deployments/:name/${action}`, async (c) => {
      const row = await deploymentOr(c, true);
      if (row instanceof Response) return row;
      await runs.setDeploymentPaused(row.name, paused);
      const updated = await runs.getDeployment(row.name);
      return c.json({ deployment: summaryToJson(await summarize(updated)) });
    });
  }

  app.get("/api/v1/deployments", async (c) => {
    await checkCrashedRuns(orchestrator);
    const summaries = await Promise.all((await runs.listDeployments()).map(summarize));
    return c.json({ deployments: summaries.map(summaryToJson) });
  });

  app.get("/api/v1/deployments/:name", async (c) => {
    const row = await deploymentOr(c, true);
    if (row instanceof Response) return row;
    const summary = await summarize(row);
    const definition = findFlow(row.flow_name);
    return c.json({
      deployment: summaryToJson(summary),
      parameter_fields: definition
        ? parameterFields(definition, JSON.parse(row.parameters) as Record<string, unknown>).map(
            (f) => ({ name: f.name, description: f.description ?? null, value: f.value ?? null }),
          )
        : [],
    });
  });

  app.post("/api/v1/deployments/:name/run", async (c) => {
    const row = await deploymentOr(c, true);
    if (row instanceof Response) return row;
    const text = await c.req.text();
    let body: unknown;
    if (text.trim() !== "") {
      const type = c.req.header("content-type") ?? "";
      if (!/^application\/json\b/i.test(type))
        return fieldError(
          c,
          { field: "content-type", message: "content-type: expected application/json" },
          415,
        );
      try {
        body = JSON.parse(text) as unknown;
      } catch (error) {
        return fieldError(c, {
          field: "body",
          message: `body: not JSON (${(error as Error).message})`,
        });
      }
    }
    const request = runRequest(body);
    if ("field" in request) return fieldError(c, request);
    const started = await start(row, request.parameters, request.idempotencyKey);
    if ("field" in started) return fieldError(c, started);
    const run = await runs.getFlowRun(started.flowRunId);
    return c.json(
      {
        flow_run: flowRunToJson(run),
        created: started.created,
        url: `/flow-runs/${encodeURIComponent(started.flowRunId)}`,
      },
      started.created ? 201 : 200,
    );
  });

  return app;
}

const NextRun: FC<{ summary: DeploymentSummary }> = ({ summary }) => {
  if (summary.row.paused === 1) return <span class="badge warn">paused</span>;
  if (summary.nextRunAt === undefined) return <span class="muted">when triggered</span>;
  return <Time value={summary.nextRunAt} />;
};

const LastRun: FC<{ run: FlowRunRow | undefined }> = ({ run }) => {
  if (!run) return <span class="muted">never</span>;
  return (
    <a href={`/flow-runs/${encodeURIComponent(run.id)}`}>
      <StateBadge state={run.state} /> <Time value={Number(run.created_at)} />
    </a>
  );
};
