// The orchestration records in the tracking database: flow runs and task runs with their
// state history, error, result location and log lines; deployments; and the crash check that
// marks runs whose process stopped beating (or is gone from this host) as crashed. Every
// state write is guarded by the transitions of states.ts and says whether it was refused.
import { hostname } from "node:os";
import { type Kysely, sql } from "kysely";
import { InputError } from "../common/errors.ts";
import {
  isUniqueViolation,
  openTrackingDatabase,
  type TrackingDatabase,
} from "../tracking/database.ts";
import { migrateOrchestration } from "./migrations.ts";
import { ACTIVE_STATES, type RunState, statesBefore } from "./states.ts";

export interface FlowRunRow {
  id: string;
  flow_name: string;
  parent_flow_run_id: string | null;
  deployment_name: string | null;
  idempotency_key: string | null;
  parameters: string;
  state: string;
  state_message: string | null;
  attempt: number;
  error_message: string | null;
  error_stack: string | null;
  result_key: string | null;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
  heartbeat_at: number | null;
  host: string | null;
  pid: number | null;
  cancel_requested: number;
}

export interface TaskRunRow {
  id: string;
  flow_run_id: string;
  task_name: string;
  task_index: number;
  inputs: string;
  state: string;
  state_message: string | null;
  attempt: number;
  cache_key: string | null;
  result_key: string | null;
  error_message: string | null;
  error_stack: string | null;
  worker: string | null;
  created_at: number;
  started_at: number | null;
  ended_at: number | null;
}

export interface RunStateRow {
  id: number;
  run_id: string;
  run_kind: "flow" | "task";
  state: string;
  message: string | null;
  at: number;
}

export interface RunLogRow {
  id: number;
  flow_run_id: string;
  task_run_id: string | null;
  at: number;
  level: string;
  message: string;
}

export interface DeploymentRow {
  name: string;
  flow_name: string;
  parameters: string;
  cron: string | null;
  interval_ms: number | null;
  timezone: string;
  paused: number;
  allow_overlap: number;
  last_scheduled_at: number | null;
  created_at: number;
  updated_at: number;
}

interface OrchestrationTables {
  orch_flow_runs: FlowRunRow;
  orch_task_runs: TaskRunRow;
  orch_run_states: Omit<RunStateRow, "id"> & { id?: number };
  orch_run_logs: Omit<RunLogRow, "id"> & { id?: number };
  orch_deployments: DeploymentRow;
}

type Db = Kysely<OrchestrationTables>;

export interface StateChange {
  state: RunState;
  message?: string | undefined;
  error?: unknown;
  resultKey?: string | undefined;
  attempt?: number | undefined;
  worker?: string | undefined;
}

/**
 * What a state write did: `written`, or refused because the run had already moved on (see
 * TRANSITIONS in states.ts); `state` is the run's state after the call, the one that stands.
 */
export interface StateWrite {
  written: boolean;
  state: string;
}

export interface LogLine {
  flowRunId: string;
  taskRunId?: string | undefined;
  at: number;
  level: string;
  message: string;
}

export interface FlowRunFilter {
  flowName?: string | undefined;
  state?: string | undefined;
  deploymentName?: string | undefined;
  limit?: number | undefined;
}

/** Where a page of flow runs (newest first) ended: the next page starts after it. */
export interface FlowRunPosition {
  createdAt: number;
  id: string;
}

export interface FlowRunPageQuery {
  flowName?: string | undefined;
  state?: string | undefined;
  deploymentName?: string | undefined;
  /** Only the runs no other run started (no subflows). */
  topLevel?: boolean | undefined;
  /** Runs created in this time or later (ms since the epoch). */
  createdSince?: number | undefined;
  /** States to keep (with `state`, both must hold). */
  states?: readonly string[] | undefined;
  limit: number;
  /** Start after this run, as the previous page's `next` gave it. */
  after?: FlowRunPosition | undefined;
}

export const HOST = hostname();

/** Flow and task runs, logs and deployments in the tracking database the URI names. */
export class RunStore {
  private constructor(
    private readonly database: TrackingDatabase,
    private readonly db: Db,
  ) {}

  static async open(databaseUri: string): Promise<RunStore> {
    const database = await openTrackingDatabase(databaseUri);
    try {
      await migrateOrchestration(
        database.db as unknown as Kysely<unknown>,
        database.dialect,
        database.displayUri,
      );
    } catch (error) {
      await database.close();
      throw error;
    }
    return new RunStore(database, database.db as unknown as Db);
  }

  get displayUri(): string {
    return this.database.displayUri;
  }

  private write<T>(work: (trx: Db) => Promise<T>): Promise<T> {
    return this.database.write((trx) => work(trx as unknown as Db));
  }

  /** Creates a flow run; with an idempotency key already used, returns that run instead. */
  async createFlowRun(run: {
    id: string;
    flowName: string;
    parameters: unknown;
    state: RunState;
    parentFlowRunId?: string | undefined;
    deploymentName?: string | undefined;
    idempotencyKey?: string | undefined;
  }): Promise<{ row: FlowRunRow; created: boolean }> {
    const now = Date.now();
    const row: FlowRunRow = {
      id: run.id,
      flow_name: run.flowName,
      parent_flow_run_id: run.parentFlowRunId ?? null,
      deployment_name: run.deploymentName ?? null,
      idempotency_key: run.idempotencyKey ?? null,
      parameters: JSON.stringify(run.parameters ?? {}),
      state: run.state,
      state_message: null,
      attempt: 0,
      error_message: null,
      error_stack: null,
      result_key: null,
      created_at: now,
      started_at: null,
      ended_at: null,
      heartbeat_at: now,
      host: HOST,
      pid: process.pid,
      cancel_requested: 0,
    };
    try {
      await this.write(async (trx) => {
        await trx.insertInto("orch_flow_runs").values(row).execute();
        await trx
          .insertInto("orch_run_states")
          .values({ run_id: row.id, run_kind: "flow", state: run.state, message: null, at: now })
          .execute();
      });
      return { row, created: true };
    } catch (error) {
      if (run.idempotencyKey && isUniqueViolation(error)) {
        const existing = await this.db
          .selectFrom("orch_flow_runs")
          .selectAll()
          .where("idempotency_key", "=", run.idempotencyKey)
          .executeTakeFirst();
        if (existing) return { row: existing, created: false };
      }
      throw error;
    }
  }

  /**
   * Claims a flow run for this process: running, with its host, pid and a first heartbeat.
   * Refused when the run already ended (cancelled before it started, marked crashed).
   */
  async startFlowRun(id: string, attempt: number): Promise<StateWrite> {
    const now = Date.now();
    return this.write(async (trx) => {
      const result = await trx
        .updateTable("orch_flow_runs")
        .set({
          state: "running",
          attempt,
          started_at: now,
          heartbeat_at: now,
          host: HOST,
          pid: process.pid,
        })
        .where("id", "=", id)
        .where("state", "in", statesBefore("running"))
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1)
        return { written: false, state: await currentState(trx, "flow", id) };
      if (attempt > 1)
        await trx
          .insertInto("orch_run_states")
          .values({
            run_id: id,
            run_kind: "flow",
            state: "retrying",
            message: `attempt ${attempt}`,
            at: now,
          })
          .execute();
      await trx
        .insertInto("orch_run_states")
        .values({ run_id: id, run_kind: "flow", state: "running", message: null, at: now })
        .execute();
      return { written: true, state: "running" };
    });
  }

  /** Moves a flow run to a state, unless it already moved on (see StateWrite). */
  setFlowState(id: string, change: StateChange): Promise<StateWrite> {
    return this.setState("flow", id, change);
  }

  /** Moves a task run to a state, unless it already moved on (see StateWrite). */
  setTaskState(id: string, change: StateChange): Promise<StateWrite> {
    return this.setState("task", id, change);
  }

  private async setState(
    kind: "flow" | "task",
    id: string,
    change: StateChange,
  ): Promise<StateWrite> {
    const now = Date.now();
    const final =
      change.state === "completed" ||
      change.state === "cached" ||
      change.state === "failed" ||
      change.state === "crashed" ||
      change.state === "cancelled";
    const error = change.error instanceof Error ? change.error : undefined;
    const values: Partial<FlowRunRow & TaskRunRow> = {
      state: change.state,
      state_message: change.message ?? null,
    };
    if (final) values.ended_at = now;
    if (change.state === "running") values.started_at = now;
    if (change.error !== undefined) {
      values.error_message = error ? error.message : String(change.error);
      values.error_stack = error?.stack ?? null;
    }
    if (change.resultKey !== undefined) values.result_key = change.resultKey;
    if (change.attempt !== undefined) values.attempt = change.attempt;
    if (kind === "task" && change.worker !== undefined) values.worker = change.worker;
    const before = statesBefore(change.state);
    return this.write(async (trx) => {
      let changed = 0;
      if (before.length > 0 && kind === "flow") {
        const { worker: _worker, ...flowValues } = values as Partial<TaskRunRow>;
        const result = await trx
          .updateTable("orch_flow_runs")
          .set(flowValues as Partial<FlowRunRow>)
          .where("id", "=", id)
          .where("state", "in", before)
          .executeTakeFirst();
        changed = Number(result.numUpdatedRows);
      } else if (before.length > 0) {
        const result = await trx
          .updateTable("orch_task_runs")
          .set(values as Partial<TaskRunRow>)
          .where("id", "=", id)
          .where("state", "in", before)
          .executeTakeFirst();
        changed = Number(result.numUpdatedRows);
      }
      if (changed !== 1) return { written: false, state: await currentState(trx, kind, id) };
      await trx
        .insertInto("orch_run_states")
        .values({
          run_id: id,
          run_kind: kind,
          state: change.state,
          message: change.message ?? values.error_message ?? null,
          at: now,
        })
        .execute();
      return { written: true, state: change.state };
    });
  }

  async createTaskRun(run: {
    id: string;
    flowRunId: string;
    taskName: string;
    taskIndex: number;
    inputs: unknown;
    cacheKey?: string | undefined;
  }): Promise<void> {
    const now = Date.now();
    await this.write(async (trx) => {
      await trx
        .insertInto("orch_task_runs")
        .values({
          id: run.id,
          flow_run_id: run.flowRunId,
          task_name: run.taskName,
          task_index: run.taskIndex,
          inputs: safeJson(run.inputs),
          state: "pending",
          state_message: null,
          attempt: 0,
          cache_key: run.cacheKey ?? null,
          result_key: null,
          error_message: null,
          error_stack: null,
          worker: null,
          created_at: now,
          started_at: null,
          ended_at: null,
        })
        .execute();
      await trx
        .insertInto("orch_run_states")
        .values({ run_id: run.id, run_kind: "task", state: "pending", message: null, at: now })
        .execute();
    });
  }

  /** Records a beat for the flow run and says whether a cancel was requested. */
  async heartbeat(flowRunId: string): Promise<{ cancelRequested: boolean }> {
    await this.write((trx) =>
      trx
        .updateTable("orch_flow_runs")
        .set({ heartbeat_at: Date.now() })
        .where("id", "=", flowRunId)
        .execute(),
    );
    const row = await this.db
      .selectFrom("orch_flow_runs")
      .select("cancel_requested")
      .where("id", "=", flowRunId)
      .executeTakeFirst();
    return { cancelRequested: row?.cancel_requested === 1 };
  }

  /**
   * Cancels a flow run: one not started yet ends cancelled now, a running one is asked to stop
   * (its process sees the request at its next heartbeat). Returns the state it was in.
   */
  async requestCancel(flowRunId: string): Promise<string> {
    let { state } = await this.getFlowRun(flowRunId);
    if (state === "scheduled" || state === "pending") {
      const write = await this.setFlowState(flowRunId, {
        state: "cancelled",
        message: "cancelled before start",
      });
      if (write.written) return state;
      state = write.state;
    }
    if (state === "running" || state === "retrying")
      await this.write((trx) =>
        trx
          .updateTable("orch_flow_runs")
          .set({ cancel_requested: 1 })
          .where("id", "=", flowRunId)
          .execute(),
      );
    return state;
  }

  /**
   * Marks as crashed the active flow runs whose process is gone from this host, or whose last
   * heartbeat is older than `staleAfterMs`, with their unfinished task runs. Returns their ids.
   * The flow run is marked first: one that ended meanwhile keeps its state and its task runs.
   */
  async markCrashed(staleAfterMs: number): Promise<string[]> {
    const now = Date.now();
    const active = await this.db
      .selectFrom("orch_flow_runs")
      .select(["id", "host", "pid", "heartbeat_at"])
      .where("state", "in", [...ACTIVE_STATES])
      .where("heartbeat_at", "is not", null)
      .execute();
    const crashed: { id: string; reason: string }[] = [];
    for (const run of active) {
      if (
        run.host === HOST &&
        run.pid !== null &&
        run.pid !== process.pid &&
        !processAlive(run.pid)
      )
        crashed.push({ id: run.id, reason: `process ${run.pid} on ${HOST} is gone` });
      else if ((run.heartbeat_at ?? 0) < now - staleAfterMs)
        crashed.push({
          id: run.id,
          reason: `no heartbeat from ${run.host ?? "?"} pid ${run.pid ?? "?"} for ${Math.round((now - (run.heartbeat_at ?? 0)) / 1000)} s`,
        });
    }
    const marked: string[] = [];
    for (const { id, reason } of crashed) {
      if (!(await this.setFlowState(id, { state: "crashed", message: reason })).written) continue;
      marked.push(id);
      const taskRuns = await this.db
        .selectFrom("orch_task_runs")
        .select("id")
        .where("flow_run_id", "=", id)
        .where("state", "in", [...ACTIVE_STATES])
        .execute();
      for (const task of taskRuns)
        await this.setTaskState(task.id, {
          state: "crashed",
          message: `flow run crashed: ${reason}`,
        });
    }
    return marked;
  }

  async appendLogs(lines: LogLine[]): Promise<void> {
    if (lines.length === 0) return;
    await this.write((trx) =>
      trx
        .insertInto("orch_run_logs")
        .values(
          lines.map((l) => ({
            flow_run_id: l.flowRunId,
            task_run_id: l.taskRunId ?? null,
            at: l.at,
            level: l.level,
            message: l.message,
          })),
        )
        .execute(),
    );
  }

  async getFlowRun(id: string): Promise<FlowRunRow> {
    const run = await this.findFlowRun(id);
    if (!run) throw new InputError(`no flow run ${JSON.stringify(id)}`);
    return run;
  }

  /** A run by its whole id (resolveFlowRun takes prefixes). */
  async findFlowRun(id: string): Promise<FlowRunRow | undefined> {
    return this.db.selectFrom("orch_flow_runs").selectAll().where("id", "=", id).executeTakeFirst();
  }

  /**
   * The flow run a person named: its whole id, or a prefix of at least 4 characters that no
   * other run's id starts with. Anything else is an InputError saying which.
   */
  async resolveFlowRun(idOrPrefix: string): Promise<FlowRunRow> {
    const exact = await this.findFlowRun(idOrPrefix);
    if (exact) return exact;
    const prefix = idOrPrefix.toLowerCase();
    // Ids are UUIDs: a prefix of anything else (LIKE's % and _ included) names no run.
    if (prefix.length < 4 || !/^[0-9a-f-]+$/.test(prefix))
      throw new InputError(`no flow run ${JSON.stringify(idOrPrefix)}`);
    const matches = await this.db
      .selectFrom("orch_flow_runs")
      .selectAll()
      .where("id", "like", `${prefix}%`)
      .limit(2)
      .execute();
    if (matches.length === 0) throw new InputError(`no flow run ${JSON.stringify(idOrPrefix)}`);
    if (matches.length > 1)
      throw new InputError(
        `flow run prefix ${JSON.stringify(idOrPrefix)} matches more than one run: give more of the id`,
      );
    return matches[0] as FlowRunRow;
  }

  async listFlowRuns(filter: FlowRunFilter = {}): Promise<FlowRunRow[]> {
    let query = this.db.selectFrom("orch_flow_runs").selectAll();
    if (filter.flowName) query = query.where("flow_name", "=", filter.flowName);
    if (filter.state) query = query.where("state", "=", filter.state);
    if (filter.deploymentName) query = query.where("deployment_name", "=", filter.deploymentName);
    return query
      .orderBy("created_at", "desc")
      .orderBy("id")
      .limit(filter.limit ?? 100)
      .execute();
  }

  /**
   * One page of flow runs, newest first (ties by id, descending), and where the next page
   * starts when there is one. Reads through the indexes of migration 0002: a page costs the
   * same at the first run as at the ten-thousandth.
   */
  async pageFlowRuns(
    query: FlowRunPageQuery,
  ): Promise<{ runs: FlowRunRow[]; next?: FlowRunPosition | undefined }> {
    let select = this.db.selectFrom("orch_flow_runs").selectAll();
    if (query.flowName !== undefined) select = select.where("flow_name", "=", query.flowName);
    if (query.state !== undefined) select = select.where("state", "=", query.state);
    if (query.states !== undefined) select = select.where("state", "in", [...query.states]);
    if (query.deploymentName !== undefined)
      select = select.where("deployment_name", "=", query.deploymentName);
    if (query.topLevel) select = select.where("parent_flow_run_id", "is", null);
    if (query.createdSince !== undefined)
      select = select.where("created_at", ">=", query.createdSince);
    const after = query.after;
    if (after !== undefined)
      select = select
        .where("created_at", "<=", after.createdAt)
        .where((eb) => eb.or([eb("created_at", "<", after.createdAt), eb("id", "<", after.id)]));
    const rows = await select
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(query.limit + 1)
      .execute();
    if (rows.length <= query.limit) return { runs: rows };
    const runs = rows.slice(0, query.limit);
    const last = runs[runs.length - 1] as FlowRunRow;
    return { runs, next: { createdAt: Number(last.created_at), id: last.id } };
  }

  /** The flow names and deployment names that runs were recorded under, for filters. */
  async flowRunNames(): Promise<{ flows: string[]; deployments: string[] }> {
    const [flows, deployments] = await Promise.all([
      this.db
        .selectFrom("orch_flow_runs")
        .select("flow_name")
        .distinct()
        .orderBy("flow_name")
        .execute(),
      this.db
        .selectFrom("orch_flow_runs")
        .select("deployment_name")
        .distinct()
        .where("deployment_name", "is not", null)
        .orderBy("deployment_name")
        .execute(),
    ]);
    return {
      flows: flows.map((r) => r.flow_name),
      deployments: deployments.map((r) => r.deployment_name as string),
    };
  }

  /** The newest run of a deployment, if it has any. */
  async latestDeploymentRun(deploymentName: string): Promise<FlowRunRow | undefined> {
    return this.db
      .selectFrom("orch_flow_runs")
      .selectAll()
      .where("deployment_name", "=", deploymentName)
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst();
  }

  async countTaskRuns(flowRunId: string): Promise<number> {
    const row = await this.db
      .selectFrom("orch_task_runs")
      .select((eb) => eb.fn.countAll<number | string>().as("count"))
      .where("flow_run_id", "=", flowRunId)
      .executeTakeFirst();
    return Number(row?.count ?? 0);
  }

  /** Answers when the database does: one trivial query. */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  /** How many flow runs there are, by flow and state. */
  async flowRunCounts(): Promise<{ flow: string; state: string; count: number }[]> {
    const rows = await this.db
      .selectFrom("orch_flow_runs")
      .select(["flow_name", "state", (eb) => eb.fn.countAll<number | string>().as("count")])
      .groupBy(["flow_name", "state"])
      .execute();
    return rows.map((r) => ({ flow: r.flow_name, state: r.state, count: Number(r.count) }));
  }

  /** How many task runs there are, by state. */
  async taskRunCounts(): Promise<{ state: string; count: number }[]> {
    const rows = await this.db
      .selectFrom("orch_task_runs")
      .select(["state", (eb) => eb.fn.countAll<number | string>().as("count")])
      .groupBy("state")
      .execute();
    return rows.map((r) => ({ state: r.state, count: Number(r.count) }));
  }

  /**
   * Of each named flow, its newest run in one of `states` (through the index by flow and
   * creation time), with when it started and ended.
   */
  async newestFlowRunsIn(
    flows: readonly string[],
    states: readonly RunState[],
  ): Promise<{ flow: string; state: string; startedAt: number | null; endedAt: number | null }[]> {
    const rows = await Promise.all(
      flows.map((flow) =>
        this.db
          .selectFrom("orch_flow_runs")
          .select(["flow_name", "state", "started_at", "ended_at"])
          .where("flow_name", "=", flow)
          .where("state", "in", states)
          .orderBy("created_at", "desc")
          .limit(1)
          .executeTakeFirst(),
      ),
    );
    return rows.flatMap((row) =>
      row
        ? [
            {
              flow: row.flow_name,
              state: row.state,
              startedAt: row.started_at === null ? null : Number(row.started_at),
              endedAt: row.ended_at === null ? null : Number(row.ended_at),
            },
          ]
        : [],
    );
  }

  /** The flow runs started as subflows of `parentFlowRunId`, oldest first. */
  async listSubflows(parentFlowRunId: string): Promise<FlowRunRow[]> {
    return this.db
      .selectFrom("orch_flow_runs")
      .selectAll()
      .where("parent_flow_run_id", "=", parentFlowRunId)
      .orderBy("created_at")
      .orderBy("id")
      .execute();
  }

  /** The task runs of a flow run, oldest first; the first `limit` of them when given. */
  async listTaskRuns(flowRunId: string, limit?: number): Promise<TaskRunRow[]> {
    let query = this.db
      .selectFrom("orch_task_runs")
      .selectAll()
      .where("flow_run_id", "=", flowRunId)
      .orderBy("created_at")
      .orderBy("task_index");
    if (limit !== undefined) query = query.limit(limit);
    return query.execute();
  }

  async getTaskRun(id: string): Promise<TaskRunRow | undefined> {
    return this.db.selectFrom("orch_task_runs").selectAll().where("id", "=", id).executeTakeFirst();
  }

  async stateHistory(runId: string): Promise<RunStateRow[]> {
    return (await this.db
      .selectFrom("orch_run_states")
      .selectAll()
      .where("run_id", "=", runId)
      .orderBy("id")
      .execute()) as RunStateRow[];
  }

  async logs(flowRunId: string, afterId = 0, limit = 1000): Promise<RunLogRow[]> {
    return (await this.db
      .selectFrom("orch_run_logs")
      .selectAll()
      .where("flow_run_id", "=", flowRunId)
      .where("id", ">", afterId)
      .orderBy("id")
      .limit(limit)
      .execute()) as RunLogRow[];
  }

  async upsertDeployment(deployment: {
    name: string;
    flowName: string;
    parameters: unknown;
    cron?: string | undefined;
    intervalMs?: number | undefined;
    timezone: string;
    allowOverlap: boolean;
  }): Promise<void> {
    const now = Date.now();
    const values = {
      flow_name: deployment.flowName,
      parameters: JSON.stringify(deployment.parameters ?? {}),
      cron: deployment.cron ?? null,
      interval_ms: deployment.intervalMs ?? null,
      timezone: deployment.timezone,
      allow_overlap: deployment.allowOverlap ? 1 : 0,
      updated_at: now,
    };
    await this.write((trx) =>
      trx
        .insertInto("orch_deployments")
        .values({
          name: deployment.name,
          ...values,
          paused: 0,
          last_scheduled_at: null,
          created_at: now,
        })
        .onConflict((c) => c.column("name").doUpdateSet(values))
        .execute(),
    );
  }

  async listDeployments(): Promise<DeploymentRow[]> {
    return this.db.selectFrom("orch_deployments").selectAll().orderBy("name").execute();
  }

  async findDeployment(name: string): Promise<DeploymentRow | undefined> {
    return this.db
      .selectFrom("orch_deployments")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
  }

  async getDeployment(name: string): Promise<DeploymentRow> {
    const row = await this.db
      .selectFrom("orch_deployments")
      .selectAll()
      .where("name", "=", name)
      .executeTakeFirst();
    if (!row) throw new InputError(`no deployment ${JSON.stringify(name)} (run deploy first)`);
    return row;
  }

  async setDeploymentPaused(name: string, paused: boolean): Promise<void> {
    await this.getDeployment(name);
    await this.write((trx) =>
      trx
        .updateTable("orch_deployments")
        .set({ paused: paused ? 1 : 0, updated_at: Date.now() })
        .where("name", "=", name)
        .execute(),
    );
  }

  /** Moves the deployment's schedule mark forward, only if no one else moved it first. */
  async advanceSchedule(name: string, from: number | null, to: number): Promise<boolean> {
    return this.write(async (trx) => {
      let query = trx
        .updateTable("orch_deployments")
        .set({ last_scheduled_at: to })
        .where("name", "=", name);
      query =
        from === null
          ? query.where("last_scheduled_at", "is", null)
          : query.where("last_scheduled_at", "=", from);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    });
  }

  async close(): Promise<void> {
    await this.database.close();
  }
}

async function currentState(trx: Db, kind: "flow" | "task", id: string): Promise<string> {
  const row = await trx
    .selectFrom(kind === "flow" ? "orch_flow_runs" : "orch_task_runs")
    .select("state")
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw new InputError(`no ${kind} run ${JSON.stringify(id)}`);
  return row.state;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value ?? null) ?? "null";
  } catch {
    return JSON.stringify(String(value));
  }
}
