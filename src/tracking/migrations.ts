// Versioned migrations of the tracking schema, applied in order on start by the shared runner
// (migrate.ts). The same steps serve SQLite and PostgreSQL; a released migration is never
// edited, only followed by a new one.
import { type Kysely, type Migration, sql } from "kysely";
import { applyMigrations, type MigrationSet, type SqlDialect } from "./migrate.ts";

export type { SqlDialect };

function migrations(dialect: SqlDialect): Record<string, Migration> {
  const bigint = "bigint";
  const double = "double precision";
  return {
    "0001_tracking_and_registry": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable("experiments")
          .addColumn("experiment_id", dialect === "postgres" ? "serial" : "integer", (c) =>
            dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn("name", "text", (c) => c.notNull().unique())
          .addColumn("artifact_location", "text", (c) => c.notNull())
          .addColumn("lifecycle_stage", "text", (c) => c.notNull())
          .addColumn("creation_time", bigint, (c) => c.notNull())
          .addColumn("last_update_time", bigint, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("experiment_tags")
          .addColumn("experiment_id", "integer", (c) =>
            c.notNull().references("experiments.experiment_id").onDelete("cascade"),
          )
          .addColumn("key", "text", (c) => c.notNull())
          .addColumn("value", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("experiment_tags_pk", ["experiment_id", "key"])
          .execute();
        await db.schema
          .createTable("runs")
          .addColumn("run_uuid", "text", (c) => c.primaryKey())
          .addColumn("name", "text", (c) => c.notNull())
          .addColumn("experiment_id", "integer", (c) =>
            c.notNull().references("experiments.experiment_id"),
          )
          .addColumn("user_id", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("start_time", bigint, (c) => c.notNull())
          .addColumn("end_time", bigint)
          .addColumn("lifecycle_stage", "text", (c) => c.notNull())
          .addColumn("artifact_uri", "text", (c) => c.notNull())
          .addColumn("deleted_time", bigint)
          .execute();
        await db.schema
          .createIndex("runs_by_experiment")
          .on("runs")
          .columns(["experiment_id", "lifecycle_stage", "start_time"])
          .execute();
        for (const table of ["params", "tags"]) {
          await db.schema
            .createTable(table)
            .addColumn("run_uuid", "text", (c) =>
              c.notNull().references("runs.run_uuid").onDelete("cascade"),
            )
            .addColumn("key", "text", (c) => c.notNull())
            .addColumn("value", "text", (c) => c.notNull())
            .addPrimaryKeyConstraint(`${table}_pk`, ["run_uuid", "key"])
            .execute();
          await db.schema
            .createIndex(`${table}_by_key`)
            .on(table)
            .columns(["key", "value"])
            .execute();
        }
        for (const table of ["metrics", "latest_metrics"]) {
          await db.schema
            .createTable(table)
            .addColumn("run_uuid", "text", (c) =>
              c.notNull().references("runs.run_uuid").onDelete("cascade"),
            )
            .addColumn("key", "text", (c) => c.notNull())
            .addColumn("value", double, (c) => c.notNull())
            .addColumn("timestamp", bigint, (c) => c.notNull())
            .addColumn("step", bigint, (c) => c.notNull())
            .addColumn("is_nan", "integer", (c) => c.notNull())
            .addPrimaryKeyConstraint(
              `${table}_pk`,
              table === "metrics"
                ? ["run_uuid", "key", "timestamp", "step", "value", "is_nan"]
                : ["run_uuid", "key"],
            )
            .execute();
        }
        await db.schema
          .createIndex("latest_metrics_by_key")
          .on("latest_metrics")
          .columns(["key", "value"])
          .execute();
        await db.schema
          .createTable("datasets")
          .addColumn("dataset_uuid", "text", (c) => c.primaryKey())
          .addColumn("experiment_id", "integer", (c) =>
            c.notNull().references("experiments.experiment_id").onDelete("cascade"),
          )
          .addColumn("name", "text", (c) => c.notNull())
          .addColumn("digest", "text", (c) => c.notNull())
          .addColumn("source_type", "text", (c) => c.notNull())
          .addColumn("source", "text", (c) => c.notNull())
          .addColumn("schema", "text")
          .addColumn("profile", "text")
          .addUniqueConstraint("datasets_identity", ["experiment_id", "name", "digest"])
          .execute();
        await db.schema
          .createTable("run_inputs")
          .addColumn("run_uuid", "text", (c) =>
            c.notNull().references("runs.run_uuid").onDelete("cascade"),
          )
          .addColumn("dataset_uuid", "text", (c) =>
            c.notNull().references("datasets.dataset_uuid").onDelete("cascade"),
          )
          .addPrimaryKeyConstraint("run_inputs_pk", ["run_uuid", "dataset_uuid"])
          .execute();
        await db.schema
          .createTable("run_input_tags")
          .addColumn("run_uuid", "text", (c) => c.notNull())
          .addColumn("dataset_uuid", "text", (c) => c.notNull())
          .addColumn("key", "text", (c) => c.notNull())
          .addColumn("value", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("run_input_tags_pk", ["run_uuid", "dataset_uuid", "key"])
          .addForeignKeyConstraint(
            "run_input_tags_input",
            ["run_uuid", "dataset_uuid"],
            "run_inputs",
            ["run_uuid", "dataset_uuid"],
            (c) => c.onDelete("cascade"),
          )
          .execute();
        await db.schema
          .createTable("registered_models")
          .addColumn("name", "text", (c) => c.primaryKey())
          .addColumn("creation_time", bigint, (c) => c.notNull())
          .addColumn("last_updated_time", bigint, (c) => c.notNull())
          .addColumn("description", "text", (c) => c.notNull())
          .addColumn("last_version", "integer", (c) => c.notNull())
          .execute();
        await db.schema
          .createTable("registered_model_tags")
          .addColumn("name", "text", (c) =>
            c
              .notNull()
              .references("registered_models.name")
              .onDelete("cascade")
              .onUpdate("cascade"),
          )
          .addColumn("key", "text", (c) => c.notNull())
          .addColumn("value", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("registered_model_tags_pk", ["name", "key"])
          .execute();
        await db.schema
          .createTable("model_versions")
          .addColumn("name", "text", (c) =>
            c
              .notNull()
              .references("registered_models.name")
              .onDelete("cascade")
              .onUpdate("cascade"),
          )
          .addColumn("version", "integer", (c) => c.notNull())
          .addColumn("creation_time", bigint, (c) => c.notNull())
          .addColumn("last_updated_time", bigint, (c) => c.notNull())
          .addColumn("description", "text", (c) => c.notNull())
          .addColumn("user_id", "text", (c) => c.notNull())
          .addColumn("source", "text", (c) => c.notNull())
          .addColumn("run_id", "text", (c) => c.notNull())
          .addColumn("run_link", "text", (c) => c.notNull())
          .addColumn("status", "text", (c) => c.notNull())
          .addColumn("status_message", "text", (c) => c.notNull())
          .addPrimaryKeyConstraint("model_versions_pk", ["name", "version"])
          .execute();
        await db.schema
          .createIndex("model_versions_by_run")
          .on("model_versions")
          .column("run_id")
          .execute();
        for (const [table, extra] of [
          ["model_version_tags", "key"],
          ["registered_model_aliases", "alias"],
        ] as const) {
          let builder = db.schema
            .createTable(table)
            .addColumn("name", "text", (c) => c.notNull())
            .addColumn("version", "integer", (c) => c.notNull())
            .addColumn(extra, "text", (c) => c.notNull());
          if (table === "model_version_tags")
            builder = builder.addColumn("value", "text", (c) => c.notNull());
          await builder
            .addPrimaryKeyConstraint(
              `${table}_pk`,
              table === "model_version_tags" ? ["name", "version", "key"] : ["name", "alias"],
            )
            .addForeignKeyConstraint(
              `${table}_version`,
              ["name", "version"],
              "model_versions",
              ["name", "version"],
              (c) => c.onDelete("cascade").onUpdate("cascade"),
            )
            .execute();
        }
        const now = Date.now();
        await sql`insert into experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
          values (0, 'Default', 'mlflow-artifacts:/0', 'active', ${now}, ${now})`.execute(db);
      },
    },
    // MLflow 2.x's stages, kept and answered as MLflow does; where a version's files are when
    // its source is not a run's artifacts (a models:/ URI resolved at creation).
    "0002_model_version_stage_and_storage_location": {
      async up(db: Kysely<unknown>) {
        await db.schema
          .alterTable("model_versions")
          .addColumn("current_stage", "text", (c) => c.notNull().defaultTo("None"))
          .execute();
        await db.schema
          .alterTable("model_versions")
          .addColumn("storage_location", "text")
          .execute();
      },
    },
  };
}

export const MIGRATION_TABLE = "tracking_migrations";

export const trackingMigrations: MigrationSet = {
  subject: "tracking store",
  table: MIGRATION_TABLE,
  migrations,
};

export function migrate(db: Kysely<unknown>, dialect: SqlDialect, where: string): Promise<void> {
  return applyMigrations(db, dialect, where, trackingMigrations);
}
