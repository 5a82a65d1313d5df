// Opens the tracking database named by a URI (an SQLite file, or PostgreSQL through a pool),
// applies the migrations, and runs write transactions that other processes cannot interleave
// with: SQLite takes its write lock at BEGIN IMMEDIATE, PostgreSQL locks the rows written.
// On PostgreSQL every statement has a timeout (30 s, or the URI's `statement_timeout` in ms), so
// that no request holds a pooled connection for long; SQLite has none, the searches' bounds
// keep its statements cheap.
import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import {
  CompiledQuery,
  type DatabaseConnection,
  Kysely,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
  SqliteAdapter,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  type SqliteStatement,
} from "kysely";
import pg from "pg";
import { InputError, OperationError } from "../common/errors.ts";
import { TrackingUnavailableError } from "./errors.ts";
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
/**
 * Writes begin immediately (taking the write lock at once, so concurrent writers wait rather
 * than fail), and callers take the one connection in arrival order: kysely's own mutex wakes
 * every waiter on each release, which costs quadratic time with thousands of waiters.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  private readonly queue: (() => void)[] = [];
  private held = false;

  override async acquireConnection(): Promise<DatabaseConnection> {
    if (this.held) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.held = true;
    return super.acquireConnection();
  }

  override async releaseConnection(): Promise<void> {
    await super.releaseConnection();
    const next = this.queue.shift();
    if (next) next();
    else this.held = false;
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

/** SQLite runs DDL in transactions; saying so makes kysely migrate inside one write lock. */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

const STATEMENT_CACHE_SIZE = 256;

/** Keeps the most recently used prepared statements: preparing costs more than most runs. */
function withStatementCache(sqlite: BetterSqlite3.Database): SqliteDatabase {
  const statements = new Map<string, SqliteStatement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string): SqliteStatement {
      let statement = statements.get(sql);
      if (statement) statements.delete(sql);
      else {
        statement = sqlite.prepare(sql) as unknown as SqliteStatement;
        if (statements.size >= STATEMENT_CACHE_SIZE)
          statements.delete(statements.keys().next().value as string);
      }
      statements.set(sql, statement);
      return statement;
    },
  };
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }
  override createDriver(): SqliteDriver {
    return new ImmediateSqliteDriver(this.settings);
  }
  override createAdapter(): SqliteAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/**
 * SQLite connections opened in this process, by file. better-sqlite3 is synchronous, so a second
 * connection to the same file in the same process would wait for the first's write lock while
 * blocking the thread the first needs to finish: every opener of a file shares one connection.
 */
const sqliteConnections = new Map<string, { opened: Promise<TrackingDb>; users: number }>();

export async function openTrackingDatabase(uri: string): Promise<TrackingDatabase> {
  const location = parseTrackingUri(uri);
  const displayUri = maskPassword(uri);
  if (location.kind === "http")
    throw new InputError(
      `tracking URI ${uri}: a tracking server, not a database; a store needs sqlite:// or postgres://`,
    );
  if (location.kind === "postgres") {
    const db = await migrated(
      openPostgres(location.connectionString, displayUri),
      "postgres",
      displayUri,
    );
    return trackingDatabase(db, "postgres", displayUri, () => db.destroy());
  }
  const file = resolve(location.file);
  let shared = sqliteConnections.get(file);
  if (!shared) {
    const opened = migrated(openSqlite(file, displayUri), "sqlite", displayUri);
    shared = { opened, users: 0 };
    sqliteConnections.set(file, shared);
    opened.catch(() => sqliteConnections.delete(file));
  }
  const entry = shared;
  entry.users++;
  let db: TrackingDb;
  try {
    db = await entry.opened;
  } catch (error) {
    entry.users--;
    throw error;
  }
  let closed = false;
  return trackingDatabase(db, "sqlite", displayUri, async () => {
    if (closed) return;
    closed = true;
    if (--entry.users > 0) return;
    sqliteConnections.delete(file);
    await db.destroy();
  });
}

/**
 * Opens the database the URI names as it is, applying no migration (for looking at it, as
 * `doctor` does); undefined for an SQLite file that does not exist, which is left uncreated.
 */
export async function openTrackingDatabaseAsIs(uri: string): Promise<TrackingDatabase | undefined> {
  const location = parseTrackingUri(uri);
  const displayUri = maskPassword(uri);
  if (location.kind === "http")
    throw new InputError(
      `tracking URI ${uri}: a tracking server, not a database; a store needs sqlite:// or postgres://`,
    );
  if (location.kind === "postgres") {
    const db = openPostgres(location.connectionString, displayUri);
    return trackingDatabase(db, "postgres", displayUri, () => db.destroy());
  }
  const file = resolve(location.file);
  if (!existsSync(file)) return undefined;
  const db = openSqlite(file, displayUri);
  return trackingDatabase(db, "sqlite", displayUri, () => db.destroy());
}

function trackingDatabase(
  db: TrackingDb,
  dialect: SqlDialect,
  displayUri: string,
  close: () => Promise<void>,
): TrackingDatabase {
  return { db, dialect, displayUri, write: (work) => writeWithRetry(db, work), close };
}

function openSqlite(file: string, displayUri: string): TrackingDb {
  let sqlite: BetterSqlite3.Database;
  try {
    mkdirSync(dirname(file), { recursive: true });
    sqlite = new BetterSqlite3(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
    sqlite.pragma("journal_mode = WAL");
    sqlite.pragma("synchronous = NORMAL");
    sqlite.pragma("foreign_keys = ON");
    sqlite.pragma("case_sensitive_like = ON");
    // Searches over many runs read the metrics table by index lookups: a page cache of up to
    // 64 MiB (allocated only as used) and memory-mapped reads keep them in memory.
    sqlite.pragma("cache_size = -65536");
    sqlite.pragma("mmap_size = 268435456");
  } catch (error) {
    throw new OperationError(
      `tracking store ${displayUri}: cannot open the SQLite file (${(error as Error).message})`,
    );
  }
  return new Kysely<TrackingTables>({
    dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }),
  });
}

const POOL_SIZE = 8;
const POOL_WAIT_MS = 10_000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;
const QUERY_CANCELED = "57014";

function openPostgres(connectionString: string, displayUri: string): TrackingDb {
  const configured = new URL(connectionString).searchParams.get("statement_timeout");
  const statementTimeoutMs =
    configured === null ? DEFAULT_STATEMENT_TIMEOUT_MS : Number.parseInt(configured, 10);
  const pool = new pg.Pool({
    connectionString,
    max: POOL_SIZE,
    connectionTimeoutMillis: POOL_WAIT_MS,
    // The URI's own statement_timeout, when given, takes precedence over this one.
    statement_timeout: DEFAULT_STATEMENT_TIMEOUT_MS,
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === pg.types.builtins.INT8
          ? Number
          : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
    },
  });
  pool.on("error", () => {});
  return new Kysely<TrackingTables>({
    dialect: new PostgresDialect({
      pool: reportingTimeouts(pool, displayUri, statementTimeoutMs),
    }),
  });
}

/** The pool, with a cancelled statement or a wait for a connection reported as unavailability. */
function reportingTimeouts(
  pool: pg.Pool,
  displayUri: string,
  statementTimeoutMs: number,
): PostgresPool {
  const translate = (error: unknown): unknown => {
    if (errorCode(error) === QUERY_CANCELED && /statement timeout/i.test(String(error)))
      return new TrackingUnavailableError(
        `tracking store ${displayUri}: a statement ran longer than statement_timeout (${statementTimeoutMs} ms) and was cancelled; narrow the search, or raise statement_timeout in the tracking URI`,
      );
    return error;
  };
  return {
    async connect(): Promise<PostgresPoolClient> {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        if (/timeout exceeded when trying to connect/i.test(String(error)))
          throw new TrackingUnavailableError(
            `tracking store ${displayUri}: no database connection came free within ${POOL_WAIT_MS / 1000} s (all ${POOL_SIZE} busy); try again`,
          );
        throw error;
      }
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      return {
        query: ((...args: unknown[]) => {
          const result = query(...args);
          return result instanceof Promise
            ? result.catch((error: unknown) => {
                throw translate(error);
              })
            : result;
        }) as PostgresPoolClient["query"],
        release: (destroy?: boolean) => client.release(destroy),
      };
    },
    end: () => pool.end(),
  };
}

async function migrated(
  db: TrackingDb,
  dialect: SqlDialect,
  displayUri: string,
): Promise<TrackingDb> {
  try {
    await migrate(db as Kysely<unknown>, dialect, displayUri);
    return db;
  } catch (error) {
    await db.destroy().catch(() => {});
    if (error instanceof OperationError) throw error;
    throw new OperationError(`tracking store ${displayUri}: ${(error as Error).message}`);
  }
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
