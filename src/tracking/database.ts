// Opens the tracking database named by a URI (an SQLite file, or PostgreSQL through a pool),
// applies the migrations, and runs write transactions that other processes cannot interleave
// with: SQLite takes its write lock at BEGIN IMMEDIATE, PostgreSQL locks the rows written.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import {
  CompiledQuery,
  type DatabaseConnection,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from "kysely";
import pg from "pg";
import { InputError, OperationError } from "../common/errors.ts";
import { migrate, type SqlDialect } from "./migrations.ts";
import type { TrackingTables } from "./schema.ts";
import { maskPassword, parseTrackingUri } from "./uri.ts";

export type { SqlDialect };
export type TrackingDb = Kysely<TrackingTables>;

export interface TrackingDatabase {
  readonly db: TrackingDb;
  readonly dialect: SqlDialect;
  /** The URI with any password masked, for messages. */
  readonly displayUri: string;
  /** Runs `work` in one write transaction, retried when the database reports a transient conflict. */
  write<T>(work: (trx: TrackingDb) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const SQLITE_BUSY_TIMEOUT_MS = 15_000;
const WRITE_ATTEMPTS = 5;

/** SQLite's default BEGIN defers the write lock, so two writers can deadlock on upgrade. */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }
  override createDriver(): SqliteDriver {
    return new ImmediateSqliteDriver(this.settings);
  }
}

export async function openTrackingDatabase(uri: string): Promise<TrackingDatabase> {
  const location = parseTrackingUri(uri);
  const displayUri = maskPassword(uri);
  if (location.kind === "http")
    throw new InputError(
      `tracking URI ${uri}: a tracking server, not a database; a store needs sqlite:// or postgres://`,
    );
  let db: TrackingDb;
  let dialect: SqlDialect;
  if (location.kind === "sqlite") {
    dialect = "sqlite";
    let sqlite: BetterSqlite3.Database;
    try {
      mkdirSync(dirname(location.file), { recursive: true });
      sqlite = new BetterSqlite3(location.file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
      sqlite.pragma("journal_mode = WAL");
      sqlite.pragma("synchronous = NORMAL");
      sqlite.pragma("foreign_keys = ON");
      sqlite.pragma("case_sensitive_like = ON");
    } catch (error) {
      throw new OperationError(
        `tracking store ${displayUri}: cannot open the SQLite file (${(error as Error).message})`,
      );
    }
    db = new Kysely<TrackingTables>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
  } else {
    dialect = "postgres";
    const pool = new pg.Pool({
      connectionString: location.connectionString,
      max: 8,
      connectionTimeoutMillis: 10_000,
      types: {
        getTypeParser: ((oid: number, format?: string) =>
          oid === pg.types.builtins.INT8
            ? Number
            : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
      },
    });
    pool.on("error", () => {});
    db = new Kysely<TrackingTables>({ dialect: new PostgresDialect({ pool }) });
  }
  try {
    await migrate(db as Kysely<unknown>, dialect, displayUri);
  } catch (error) {
    await db.destroy().catch(() => {});
    if (error instanceof OperationError) throw error;
    throw new OperationError(`tracking store ${displayUri}: ${(error as Error).message}`);
  }
  return {
    db,
    dialect,
    displayUri,
    write: (work) => writeWithRetry(db, work),
    close: () => db.destroy(),
  };
}

async function writeWithRetry<T>(
  db: TrackingDb,
  work: (trx: TrackingDb) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (error) {
      if (attempt >= WRITE_ATTEMPTS || !isTransientConflict(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt * Math.random()));
    }
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function isTransientConflict(error: unknown): boolean {
  const code = errorCode(error);
  return code === "SQLITE_BUSY" || code === "40001" || code === "40P01";
}

export function isUniqueViolation(error: unknown): boolean {
  const code = errorCode(error);
  return (
    code === "23505" ||
    code === "SQLITE_CONSTRAINT_UNIQUE" ||
    code === "SQLITE_CONSTRAINT_PRIMARYKEY"
  );
}

/** Wraps a database failure that is not the caller's fault, naming the store. */
export function databaseFailure(where: string, error: unknown): OperationError {
  const reason = error instanceof Error ? error.message : String(error);
  return new OperationError(`tracking store ${where}: ${reason}`);
}
