// The one migration runner for the tables kept in the tracking database: tracking's own and
// orchestration's, each with its list of migrations and its own version table. It applies the
// pending migrations with kysely's Migrator: under its lock (an advisory lock on PostgreSQL; on
// SQLite the `BEGIN IMMEDIATE` write lock, as database.ts declares SQLite's DDL transactional)
// and in one transaction, so processes starting together migrate once and a failed migration
// leaves nothing behind. A database holding a migration this code does not know was written by
// a newer genre-classifier and is refused. `migrationStatus` reports what is applied and pending
// without changing anything (for `doctor`).
import { type Kysely, type Migration, Migrator, sql } from "kysely";
import { OperationError } from "../common/errors.ts";

export type SqlDialect = "sqlite" | "postgres";

export interface MigrationSet {
  /** What the tables are, for messages: "tracking store", "orchestration store". */
  readonly subject: string;
  /** The version table; its lock table is named after it with `_lock`. */
  readonly table: string;
  /** The migrations by name, applied in name order; a released one is never edited. */
  readonly migrations: (dialect: SqlDialect) => Record<string, Migration>;
}

/** Applies the set's pending migrations; `where` names the database in messages. */
export async function applyMigrations(
  db: Kysely<unknown>,
  dialect: SqlDialect,
  where: string,
  set: MigrationSet,
): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => set.migrations(dialect) },
    migrationTableName: set.table,
    migrationLockTableName: `${set.table}_lock`,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (!error) return;
  const failed = results?.find((r) => r.status === "Error")?.migrationName;
  const reason = error instanceof Error ? error.message : String(error);
  if (/corrupted migrations/i.test(reason))
    throw new OperationError(
      `${set.subject} ${where}: its schema was written by a newer genre-classifier (${reason}); upgrade genre-classifier`,
    );
  throw new OperationError(
    `${set.subject} ${where}: migration ${failed ?? "(setup)"} failed: ${reason}`,
  );
}

/** Which of a set's migrations a database holds, without applying any. */
export interface MigrationStatus {
  subject: string;
  applied: string[];
  pending: string[];
  /** Recorded in the database but unknown to this code: written by a newer genre-classifier. */
  unknown: string[];
}

export async function migrationStatus(
  db: Kysely<unknown>,
  dialect: SqlDialect,
  set: MigrationSet,
): Promise<MigrationStatus> {
  const known = Object.keys(set.migrations(dialect)).sort();
  const tables = await db.introspection.getTables();
  const recorded = tables.some((table) => table.name === set.table)
    ? (
        await sql<{ name: string }>`select name from ${sql.table(set.table)} order by name`.execute(
          db,
        )
      ).rows.map((row) => row.name)
    : [];
  const applied = new Set(recorded);
  return {
    subject: set.subject,
    applied: known.filter((name) => applied.has(name)),
    pending: known.filter((name) => !applied.has(name)),
    unknown: recorded.filter((name) => !known.includes(name)),
  };
}
