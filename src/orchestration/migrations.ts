// Versioned migrations of the orchestration tables (flow runs, task runs, their state history
// and log lines, deployments), applied on the tracking database next to tracking's own
// migrations but recorded in their own table, orchestration_migrations, by the same runner
// (tracking/migrate.ts). 0002 adds the indexes the server's flow-run lists page through
// (newest first, by deployment, the subflows of a run).
import type { Kysely, Migration } from "kysely";
import { applyMigrations, type MigrationSet, type SqlDialect } from "../tracking/migrate.ts";

export const MIGRATION_TABLE = "orchestration_migrations";

function migrations(dialect: SqlDialect): Record<string, Migration> {
  const bigint = "bigint";
  const autoId = dialect === "postgres" ? "bigserial" : "integer";
  return {
    "0001_runs_and_deployments": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("orch_flow_runs")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("flow_name", "text", (c) => c.notNull())
          .addColumn("parent_flow_run_id", "text")
          .addColumn("deployment_name", "text")
          .addColumn("idempotency_key", "text", (c) => c.unique())
          .addColumn("parameters", "text", (c) => c.notNull())
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("state_message", "text")
          .addColumn("attempt", "integer", (c) => c.notNull())
          .addColumn("error_message", "text")
          .addColumn("error_stack", "text")
          .addColumn("result_key", "text")
          .addColumn("created_at", bigint, (c) => c.notNull())
          .addColumn("started_at", bigint)
          .addColumn("ended_at", bigint)
          .addColumn("heartbeat_at", bigint)
          .addColumn("host", "text")
          .addColumn("pid", "integer")
          .addColumn("cancel_requested", "integer", (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .createIndex("orch_flow_runs_by_state")
          .on("orch_flow_runs")
          .columns(["state", "created_at"])
          .execute();
        await db.schema
          .createIndex("orch_flow_runs_by_flow")
          .on("orch_flow_runs")
          .columns(["flow_name", "created_at"])
          .execute();
        await db.schema
          .createTable("orch_task_runs")
          .addColumn("id", "text", (c) => c.primaryKey())
          .addColumn("flow_run_id", "text", (c) =>
            c.notNull().references("orch_flow_runs.id").onDelete("cascade"),
          )
          .addColumn("task_name", "text", (c) => c.notNull())
          .addColumn("task_index", "integer", (c) => c.notNull())
          .addColumn("inputs", "text", (c) => c.notNull())
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("state_message", "text")
          .addColumn("attempt", "integer", (c) => c.notNull())
          .addColumn("cache_key", "text")
          .addColumn("result_key", "text")
          .addColumn("error_message", "text")
          .addColumn("error_stack", "text")
          .addColumn("worker", "text")
          .addColumn("created_at", bigint, (c) => c.notNull())
          .addColumn("started_at", bigint)
          .addColumn("ended_at", bigint)
          .execute();
        await db.schema
          .createIndex("orch_task_runs_by_flow_run")
          .on("orch_task_runs")
          .columns(["flow_run_id", "created_at"])
          .execute();
        await db.schema
          .createTable("orch_run_states")
          .addColumn("id", autoId, (c) =>
            dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn("run_id", "text", (c) => c.notNull())
          .addColumn("run_kind", "text", (c) => c.notNull())
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("message", "text")
          .addColumn("at", bigint, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex("orch_run_states_by_run")
          .on("orch_run_states")
          .columns(["run_id", "id"])
          .execute();
        await db.schema
          .createTable("orch_run_logs")
          .addColumn("id", autoId, (c) =>
            dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn("flow_run_id", "text", (c) => c.notNull())
          .addColumn("task_run_id", "text")
          .addColumn("at", bigint, (c) => c.notNull())
          .addColumn("level", "text", (c) => c.notNull())
          .addColumn("message", "text", (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex("orch_run_logs_by_flow_run")
          .on("orch_run_logs")
          .columns(["flow_run_id", "id"])
          .execute();
        await db.schema
          .createTable("orch_deployments")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("flow_name", "text", (c) => c.notNull())
          .addColumn("parameters", "text", (c) => c.notNull())
          .addColumn("cron", "text")
          .addColumn("interval_ms", bigint)
          .addColumn("timezone", "text", (c) => c.notNull())
          .addColumn("paused", "integer", (c) => c.notNull())
          .addColumn("allow_overlap", "integer", (c) => c.notNull())
          .addColumn("last_scheduled_at", bigint)
          .addColumn("created_at", bigint, (c) => c.notNull())
          .addColumn("updated_at", bigint, (c) => c.notNull())
          .execute();
      },
    },
    "0002_flow_run_list_indexes": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createIndex("orch_flow_runs_by_created")
          .on("orch_flow_runs")
          .columns(["created_at", "id"])
          .execute();
        await db.schema
          .createIndex("orch_flow_runs_by_deployment")
          .on("orch_flow_runs")
          .columns(["deployment_name", "created_at"])
          .execute();
        await db.schema
          .createIndex("orch_flow_runs_by_parent")
          .on("orch_flow_runs")
          .columns(["parent_flow_run_id", "created_at"])
          .execute();
      },
    },
  };
}

export const orchestrationMigrations: MigrationSet = {
  subject: "orchestration store",
  table: MIGRATION_TABLE,
  migrations,
};

export function migrateOrchestration(
  db: Kysely<unknown>,
  dialect: SqlDialect,
  where: string,
): Promise<void> {
  return applyMigrations(db, dialect, where, orchestrationMigrations);
}
