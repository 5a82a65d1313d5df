/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The flow-run pages and their /api/v1 endpoints: the list of runs (filters by flow, state and
// deployment, newest first, pages by a position token), a run's page (parameters, result or
// error, state history, task runs and subflows as a tree beside a timeline, logs that follow
// while it runs, cancel), and the same as JSON.
import { type Context, Hono } from "hono";
import { checkCrashedRuns } from "../../orchestration/crash-check.ts";
import { flowRunToJson, runStateToJson, taskRunToJson } from "../../orchestration/run-json.ts";
import type { FlowRunPosition, FlowRunRow } from "../../orchestration/run-store.ts";
import { flowRunTree } from "../../orchestration/run-tree.ts";
import { isFinal, RUN_STATES } from "../../orchestration/states.ts";
import type { ServerContext, ServerEnv } from "../context.ts";
import { Empty, Pager } from "../ui/components.tsx";
import {
  FlowRunFilters,
  FlowRunTable,
  LogLines,
  LogTail,
  RunLive,
  type RunView,
} from "../ui/flow-runs.tsx";
import { Page } from "../ui/layout.tsx";
import { type FieldProblem, fieldError, isProblem, problemPage } from "./field-error.tsx";

const DEFAULT_PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 100;
const MAX_NAME = 200;
const LOG_BATCH = 1000;
const RESULT_SHOWN_CHARS = 20_000;
const RUN_ID = /^[A-Za-z0-9-]{1,64}$/;
const PAGE_TOKEN = /^(\d{1,16})\.([A-Za-z0-9-]{1,64})$/;

interface FlowRunListQuery {
  flowName: string | undefined;
  state: string | undefined;
  deploymentName: string | undefined;
  topLevel: boolean;
  limit: number;
  after: FlowRunPosition | undefined;
}

/** The list's query parameters checked: flow, state, deployment, top_level, max_results, page_token. */
function parseFlowRunListQuery(
  read: (name: string) => string | undefined,
  defaultLimit = DEFAULT_PAGE_SIZE,
): FlowRunListQuery | FieldProblem {
  const name = (field: string): string | undefined | FieldProblem => {
    const value = read(field)?.trim();
    if (value === undefined || value === "") return undefined;
    if (value.length > MAX_NAME)
      return { field, message: `${field}: at most ${MAX_NAME} characters` };
    return value;
  };
  const flowName = name("flow");
  if (isProblem(flowName)) return flowName;
  const deploymentName = name("deployment");
  if (isProblem(deploymentName)) return deploymentName;
  const state = read("state")?.trim() || undefined;
  if (state !== undefined && !(RUN_STATES as readonly string[]).includes(state))
    return {
      field: "state",
      message: `state: expected one of ${RUN_STATES.join(", ")}, got ${JSON.stringify(state.slice(0, MAX_NAME))}`,
    };
  const topLevelText = read("top_level")?.trim() || undefined;
  if (topLevelText !== undefined && !["1", "true", "0", "false"].includes(topLevelText))
    return { field: "top_level", message: "top_level: expected true or false" };
  let limit = defaultLimit;
  const maxText = read("max_results")?.trim() || undefined;
  if (maxText !== undefined) {
    limit = Number(maxText);
    if (!/^\d{1,4}$/.test(maxText) || limit < 1 || limit > MAX_PAGE_SIZE)
      return {
        field: "max_results",
        message: `max_results: expected a whole number from 1 to ${MAX_PAGE_SIZE}`,
      };
  }
  let after: FlowRunPosition | undefined;
  const token = read("page_token")?.trim() || undefined;
  if (token !== undefined) {
    const match = PAGE_TOKEN.exec(token);
    if (!match)
      return {
        field: "page_token",
        message: "page_token: not a token a previous page gave (next_page_token)",
      };
    after = { createdAt: Number(match[1]), id: match[2] as string };
  }
  return {
    flowName,
    state,
    deploymentName,
    topLevel: topLevelText === "1" || topLevelText === "true",
    limit,
    after,
  };
}

function pageToken(position: FlowRunPosition | undefined): string | undefined {
  return position === undefined ? undefined : `${position.createdAt}.${position.id}`;
}

function checkRunId(id: string): FieldProblem | undefined {
  return RUN_ID.test(id)
    ? undefined
    : { field: "id", message: "id: a flow run id is letters, digits and dashes (at most 64)" };
}

export function flowRunsRoutes(context: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const runs = context.orchestrator.runs;
  const loggedIn = context.token !== undefined;

  /** The run `:id` names, or the 400/404 answer (JSON for the API, a page otherwise). */
  const runOr = async (c: Context<ServerEnv>, json: boolean): Promise<FlowRunRow | Response> => {
    const id = c.req.param("id") ?? "";
    const problem = checkRunId(id);
    if (problem) return json ? fieldError(c, problem) : problemPage(c, problem, loggedIn);
    await checkCrashedRuns(context.orchestrator);
    const run = await runs.findFlowRun(id);
    if (run) return run;
    const missing = { field: "id", message: `no flow run ${JSON.stringify(id)}` };
    return json ? fieldError(c, missing, 404) : problemPage(c, missing, loggedIn, 404);
  };

  const loadView = async (run: FlowRunRow): Promise<RunView> => {
    const [history, tree, parent, stored] = await Promise.all([
      runs.stateHistory(run.id),
      flowRunTree(runs, run),
      run.parent_flow_run_id ? runs.findFlowRun(run.parent_flow_run_id) : undefined,
      run.result_key ? context.orchestrator.results.read(run.result_key) : undefined,
    ]);
    let result: RunView["result"];
    if (stored !== undefined) {
      const text = JSON.stringify(stored.value, null, 2) ?? "null";
      result = {
        shown: text.slice(0, RESULT_SHOWN_CHARS),
        truncated: text.length > RESULT_SHOWN_CHARS,
      };
    }
    return { run, history, tree, parent, result, now: Date.now() };
  };

  app.get("/flow-runs", async (c) => {
    const started = performance.now();
    const query = parseFlowRunListQuery((name) => c.req.query(name));
    await checkCrashedRuns(context.orchestrator);
    const [names, deployments] = await Promise.all([runs.flowRunNames(), runs.listDeployments()]);
    const filters = isProblem(query) ? undefined : query;
    const page = filters ? await runs.pageFlowRuns(filters) : { runs: [], next: undefined };
    const flows = withSelected(names.flows, filters?.flowName);
    const deploymentNames = withSelected(
      [...new Set([...names.deployments, ...deployments.map((d) => d.name)])].sort(),
      filters?.deploymentName,
    );
    const filtered = Boolean(
      filters && (filters.flowName || filters.state || filters.deploymentName || filters.topLevel),
    );
    const current = new URL(c.req.url).searchParams;
    current.delete("page_token");
    return c.html(
      <Page
        title="Flow runs"
        section="flow-runs"
        subtitle="Every flow run recorded in the tracking database, newest first."
        loggedIn={loggedIn}
      >
        <FlowRunFilters
          flows={flows}
          deployments={deploymentNames}
          filters={filters}
          filtered={filtered}
        />
        {isProblem(query) ? (
          <p class="alert bad" role="alert">
            {query.message}
          </p>
        ) : page.runs.length === 0 ? (
          filtered || filters?.after ? (
            <Empty>No flow runs match these filters.</Empty>
          ) : (
            <Empty>
              No flow runs yet. Run <code>genre-classifier demo</code> to see the whole pipeline
              run, or <code>genre-classifier flows run selfcheck</code> for a quick check.
            </Empty>
          )
        ) : (
          <FlowRunTable runs={page.runs} now={Date.now()} />
        )}
        <Pager base="/flow-runs" query={current} next={pageToken(page.next)} />
        <p class="muted" style="font-size:.8rem">
          {`${page.runs.length} shown · ${(performance.now() - started).toFixed(1)} ms`}
        </p>
      </Page>,
      isProblem(query) ? 400 : 200,
    );
  });

  app.get("/flow-runs/:id", async (c) => {
    const run = await runOr(c, false);
    if (run instanceof Response) return run;
    const [view, lines] = await Promise.all([loadView(run), runs.logs(run.id, 0, LOG_BATCH)]);
    const parameters = safeParse(run.parameters);
    const logDone = isFinal(run.state) && lines.length < LOG_BATCH;
    return c.html(
      <Page
        title={`Flow run · ${run.flow_name}`}
        section="flow-runs"
        subtitle={<code>{run.id}</code>}
        loggedIn={loggedIn}
      >
        <RunLive view={view} />
        <h2>Parameters</h2>
        {parameters !== null &&
        typeof parameters === "object" &&
        Object.keys(parameters).length === 0 ? (
          <Empty>No parameters (the flow's defaults).</Empty>
        ) : (
          <pre class="log">{JSON.stringify(parameters, null, 2)}</pre>
        )}
        <h2>Logs</h2>
        {lines.length === 0 && logDone ? (
          <Empty>
            This run logged nothing
            {view.tree.children.some((n) => n.kind === "flow")
              ? " itself; its subflows' logs are on their pages"
              : ""}
            .
          </Empty>
        ) : (
          <pre class="log" id="run-log" data-follow="" aria-live="polite">
            <LogLines lines={lines} />
            {logDone ? null : <LogTail id={run.id} after={lines.at(-1)?.id ?? 0} />}
          </pre>
        )}
      </Page>,
    );
  });

  app.get("/flow-runs/:id/live", async (c) => {
    const run = await runOr(c, false);
    if (run instanceof Response) return run;
    return c.html(<RunLive view={await loadView(run)} />);
  });

  app.get("/flow-runs/:id/log", async (c) => {
    const run = await runOr(c, false);
    if (run instanceof Response) return run;
    const after = parseAfter(c.req.query("after"));
    if (isProblem(after)) return c.html(<span>{after.message}</span>, 400);
    const lines = await runs.logs(run.id, after, LOG_BATCH);
    const done = isFinal(run.state) && lines.length < LOG_BATCH;
    return c.html(
      <>
        <LogLines lines={lines} />
        {done ? null : <LogTail id={run.id} after={lines.at(-1)?.id ?? after} />}
      </>,
    );
  });

  app.post("/flow-runs/:id/cancel", async (c) => {
    const run = await runOr(c, false);
    if (run instanceof Response) return run;
    await runs.requestCancel(run.id);
    return c.redirect(`/flow-runs/${encodeURIComponent(run.id)}`, 303);
  });

  app.get("/api/v1/flow-runs", async (c) => {
    const query = parseFlowRunListQuery((name) => c.req.query(name));
    if (isProblem(query)) return fieldError(c, query);
    await checkCrashedRuns(context.orchestrator);
    const page = await runs.pageFlowRuns(query);
    return c.json({
      flow_runs: page.runs.map(flowRunToJson),
      next_page_token: pageToken(page.next) ?? null,
    });
  });

  app.get("/api/v1/flow-runs/:id", async (c) => {
    const run = await runOr(c, true);
    if (run instanceof Response) return run;
    const [history, taskRuns, total, subflows] = await Promise.all([
      runs.stateHistory(run.id),
      runs.listTaskRuns(run.id, LOG_BATCH),
      runs.countTaskRuns(run.id),
      runs.listSubflows(run.id),
    ]);
    return c.json({
      flow_run: flowRunToJson(run),
      history: history.map(runStateToJson),
      task_runs: taskRuns.map(taskRunToJson),
      task_runs_total: total,
      subflows: subflows.map(flowRunToJson),
    });
  });

  app.get("/api/v1/flow-runs/:id/logs", async (c) => {
    const run = await runOr(c, true);
    if (run instanceof Response) return run;
    const after = parseAfter(c.req.query("after"));
    if (isProblem(after)) return fieldError(c, after);
    const lines = await runs.logs(run.id, after, LOG_BATCH);
    return c.json({
      logs: lines.map((line) => ({
        id: Number(line.id),
        at: Number(line.at),
        level: line.level,
        task_run_id: line.task_run_id,
        message: line.message,
      })),
      next_after: lines.at(-1)?.id ?? after,
      state: run.state,
      complete: isFinal(run.state) && lines.length < LOG_BATCH,
    });
  });

  app.post("/api/v1/flow-runs/:id/cancel", async (c) => {
    const run = await runOr(c, true);
    if (run instanceof Response) return run;
    const was = await runs.requestCancel(run.id);
    const now = await runs.getFlowRun(run.id);
    return c.json({
      flow_run_id: run.id,
      previous_state: was,
      state: now.state,
      cancel_requested: now.cancel_requested === 1,
      message: isFinal(was)
        ? `the run had already ended ${was}`
        : now.state === "cancelled"
          ? "cancelled"
          : "cancel requested: the run stops at its next heartbeat",
    });
  });

  return app;
}

function parseAfter(text: string | undefined): number | FieldProblem {
  if (text === undefined || text === "") return 0;
  if (!/^\d{1,15}$/.test(text))
    return {
      field: "after",
      message: "after: expected the id of the last log line read (0 or more)",
    };
  return Number(text);
}

function withSelected(names: string[], selected: string | undefined): string[] {
  return selected === undefined || names.includes(selected) ? names : [...names, selected];
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
