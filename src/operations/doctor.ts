// `doctor`'s checks of an installation: the configuration (it loads, where its settings come
// from, values that are legal but likely wrong), the data folder, the object store (a probe
// object written, read back and deleted), the tracking database (reachable; its tracking and
// orchestration migrations applied, pending, or from a newer version) and, with the BullMQ
// executor, Redis (reachable, its eviction policy, the queues and the workers taking their
// jobs). Each check is bounded in time and ends as ok, warn or fail, with what is wrong and
// how to fix it. Nothing is changed but the probe object, which is removed.
import { randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdtemp, rm, stat } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Kysely } from "kysely";
import { errorMessage } from "../common/errors.ts";
import { configKeys, configValue, type LoadedConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { orchestrationMigrations } from "../orchestration/migrations.ts";
import { queueSettings } from "../orchestration/queue.ts";
import { openObjectStore } from "../storage/open.ts";
import { openTrackingDatabaseAsIs } from "../tracking/database.ts";
import { migrationStatus } from "../tracking/migrate.ts";
import { trackingMigrations } from "../tracking/migrations.ts";
import { maskPassword, parseTrackingUri } from "../tracking/uri.ts";
import { pingRedis, redactSecrets } from "./health.ts";
import { knownQueueNames, QueueMonitor } from "./queues.ts";
import { STATUS_TTL_MS } from "./workers.ts";

export type DoctorStatus = "ok" | "warn" | "fail";

export interface DoctorCheck {
  name: string;
  status: DoctorStatus;
  /** What was found. */
  message: string;
  /** How to fix it (for warn and fail). */
  fix?: string;
}

export interface DoctorOptions {
  /** Loads the configuration; its error is the configuration check's failure. */
  load: () => LoadedConfig;
  /** Bound on each check that waits for something outside the process. */
  timeoutMs?: number;
  /**
   * Called once the configuration has loaded, before the checks that need the flows and
   * tasks registered (the queues their tasks name).
   */
  prepare?: (loaded: LoadedConfig) => Promise<void>;
}

const MIN_TOKEN_CHARS = 16;
/** How long closing a connection may take once its check is over. */
const CLOSE_MS = 1_000;

export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  let loaded: LoadedConfig;
  try {
    loaded = options.load();
  } catch (error) {
    return [
      {
        name: "configuration",
        status: "fail",
        message: redactSecrets(errorMessage(error)),
        fix: "correct that setting where it comes from (the config file, a GENRE_CLASSIFIER_* variable or a flag); docs/configuration.md lists every key",
      },
    ];
  }
  await options.prepare?.(loaded);
  const { config } = loaded;
  const checks: DoctorCheck[] = [
    configurationCheck(loaded),
    ...settingChecks(loaded),
    // Before the store's probe, which may create the folder.
    await dataFolderCheck(config),
  ];
  const [store, database, redis] = await Promise.all([
    objectStoreCheck(config, timeoutMs),
    databaseChecks(config, timeoutMs),
    redisChecks(config, timeoutMs),
  ]);
  checks.push(store, ...database, ...redis);
  return checks;
}

function configurationCheck(loaded: LoadedConfig): DoctorCheck {
  const from = { file: [] as string[], env: [] as string[], flag: [] as string[] };
  for (const [path, source] of loaded.sources) {
    if (source.kind === "file") from.file.push(path);
    else if (source.kind === "env") from.env.push(source.name);
    else if (source.kind === "flag") from.flag.push(source.flag);
  }
  const parts = [
    loaded.file
      ? `file ${loaded.file} (${from.file.length} setting${from.file.length === 1 ? "" : "s"})`
      : "no config file",
    from.env.length > 0
      ? `environment: ${from.env.sort().join(", ")}`
      : "no GENRE_CLASSIFIER_* variables",
  ];
  if (from.flag.length > 0) parts.push(`flags: ${[...new Set(from.flag)].join(", ")}`);
  return {
    name: "configuration",
    status: "ok",
    message: `loads; ${parts.join("; ")}; the rest are defaults (config show lists each value and its source)`,
  };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Values the schema accepts but that are likely wrong. */
function settingChecks(loaded: LoadedConfig): DoctorCheck[] {
  const { config, sources } = loaded;
  const found: DoctorCheck[] = [];
  const warn = (message: string, fix: string) =>
    found.push({ name: "settings", status: "warn", message, fix });
  const serveToken = config.server.token ?? config.tracking.token;
  if (!isLoopback(config.server.host) && serveToken === undefined)
    warn(
      `server.host is ${config.server.host} and no token is set: serve refuses to start there (with --allow-no-token, anyone who reaches it can change state)`,
      "set server.token (GENRE_CLASSIFIER_SERVER_TOKEN) to a long random string, or server.host to 127.0.0.1",
    );
  if (!isLoopback(config.tracking.server.host) && config.tracking.token === undefined)
    warn(
      `tracking.server.host is ${config.tracking.server.host} and tracking.token is unset: tracking serve refuses to start there`,
      "set tracking.token (GENRE_CLASSIFIER_TRACKING_TOKEN), or tracking.server.host to 127.0.0.1",
    );
  for (const path of ["server.token", "tracking.token"]) {
    const token = configValue(config, path);
    if (typeof token === "string" && token.length < MIN_TOKEN_CHARS)
      warn(
        `${path} has ${token.length} characters: short tokens can be guessed`,
        `use at least ${MIN_TOKEN_CHARS} random characters, e.g. the output of: openssl rand -hex 32`,
      );
  }
  for (const key of configKeys) {
    const source = sources.get(key.path);
    const value = configValue(config, key.path);
    const hasSecret = key.secret || (typeof value === "string" && maskPassword(value) !== value);
    if (source?.kind === "file" && hasSecret && value !== undefined)
      warn(
        `${key.path} holds a secret in the config file ${source.file}`,
        `keep secrets out of files others may read: set ${key.envName} in the environment (or a secrets manager) instead`,
      );
  }
  if (config.orchestration.executor === "bullmq") {
    const tracking = config.tracking.uri as string;
    if (tracking.startsWith("sqlite:"))
      warn(
        "the BullMQ executor records in an SQLite file: workers on other hosts cannot reach it",
        "fine when every worker runs on this host; otherwise set tracking.uri to postgres://…",
      );
    if ((config.storage.uri as string).startsWith("file:"))
      warn(
        "the BullMQ executor uses a local folder as object store: workers on other hosts cannot reach it",
        "fine when every worker runs on this host; otherwise set storage.uri to s3://bucket/prefix",
      );
  }
  const { heartbeatSeconds, crashAfterSeconds } = config.orchestration;
  if (crashAfterSeconds < heartbeatSeconds * 3)
    warn(
      `orchestration.crashAfterSeconds (${crashAfterSeconds}) is under 3 heartbeats (orchestration.heartbeatSeconds ${heartbeatSeconds}): a slow heartbeat marks a live run crashed`,
      "raise orchestration.crashAfterSeconds to at least 3 × orchestration.heartbeatSeconds",
    );
  if (found.length === 0)
    return [{ name: "settings", status: "ok", message: "nothing that looks wrong" }];
  return found;
}

/** The data folder exists and takes a file, or can be created; nothing is created. */
async function dataFolderCheck(config: Config): Promise<DoctorCheck> {
  const folder = config.dataDir;
  const inside = (path: string) => path.startsWith(`${folder}${sep}`);
  const uses: string[] = [];
  const storage = config.storage.uri as string;
  if (storage.startsWith("file:") && inside(fileURLToPath(storage))) uses.push("object store");
  const tracking = (() => {
    try {
      return parseTrackingUri(config.tracking.uri as string);
    } catch {
      return undefined; // the database check reports it
    }
  })();
  if (tracking?.kind === "sqlite" && inside(resolve(tracking.file))) uses.push("tracking database");
  const failing = uses.length > 0 ? "fail" : "warn";
  const info = await stat(folder).catch((error: NodeJS.ErrnoException) => error);
  const absent = info instanceof Error && (info.code === "ENOENT" || info.code === "ENOTDIR");
  if (info instanceof Error && !absent)
    return {
      name: "data folder",
      status: failing,
      message: `${folder}: ${info.message}`,
      fix: "set dataDir (--data-dir) to a folder this user can write",
    };
  if (info instanceof Error) {
    const parent = await nearestExisting(dirname(folder));
    const writable = await access(parent, constants.W_OK).then(
      () => true,
      () => false,
    );
    const parentIsFolder = (await stat(parent)).isDirectory();
    if (writable && parentIsFolder)
      return {
        name: "data folder",
        status: "ok",
        message: `${folder} does not exist yet; the first command that needs it creates it`,
      };
    return {
      name: "data folder",
      status: failing,
      message: `${folder} does not exist and cannot be created: ${parent} is ${parentIsFolder ? "not writable" : "not a folder"}`,
      fix: "create the folder with write access for this user, or set dataDir (--data-dir) elsewhere",
    };
  }
  if (!info.isDirectory())
    return {
      name: "data folder",
      status: failing,
      message: `${folder} is not a folder`,
      fix: "set dataDir (--data-dir) to a folder, or remove the file in its way",
    };
  try {
    const probe = await mkdtemp(join(folder, ".doctor-"));
    await rm(probe, { recursive: true, force: true });
  } catch (error) {
    return {
      name: "data folder",
      status: failing,
      message: `${folder} is not writable: ${errorMessage(error)}`,
      fix: `give this user write access to ${folder}, or set dataDir (--data-dir) elsewhere`,
    };
  }
  return {
    name: "data folder",
    status: "ok",
    message: `${folder} is writable${uses.length > 0 ? ` (holds the ${uses.join(" and ")})` : ""}`,
  };
}

async function nearestExisting(path: string): Promise<string> {
  for (let current = path; ; current = dirname(current)) {
    if (
      await stat(current).then(
        () => true,
        () => false,
      )
    )
      return current;
    if (dirname(current) === current) return current;
  }
}

/** Gives `work`'s value, or fails after `ms` saying what did not answer. */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  work.catch(() => {});
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function objectStoreCheck(config: Config, timeoutMs: number): Promise<DoctorCheck> {
  const uri = config.storage.uri as string;
  const remote = uri.startsWith("s3:");
  const fix = remote
    ? "check the bucket in storage.uri, the credentials (storage.s3.accessKeyId and secretAccessKey, or the AWS credential chain), storage.s3.endpoint and storage.s3.region"
    : "give this user write access to the folder of storage.uri, or set storage.uri elsewhere";
  let store: ReturnType<typeof openObjectStore>;
  try {
    store = openObjectStore(uri, config.storage.s3);
  } catch (error) {
    return { name: "object store", status: "fail", message: errorMessage(error), fix };
  }
  const key = `tmp/doctor/probe-${randomUUID()}`;
  const text = `genre-classifier doctor probe ${new Date().toISOString()}`;
  const started = performance.now();
  let written = false;
  try {
    await within(store.put(key, text), timeoutMs, "writing a probe object");
    written = true;
    const back = Buffer.from(await within(store.get(key), timeoutMs, "reading it back")).toString();
    if (back !== text)
      return {
        name: "object store",
        status: "fail",
        message: `${uri}: the probe object read back differs from what was written`,
        fix: "check that storage.uri names a store no one else rewrites (and, on an S3-compatible server, its consistency)",
      };
    await within(store.delete(key), timeoutMs, "deleting it");
    written = false;
    return {
      name: "object store",
      status: "ok",
      message: `${uri}: wrote, read and deleted a probe object in ${Math.round(performance.now() - started)} ms`,
    };
  } catch (error) {
    return {
      name: "object store",
      status: "fail",
      message: redactSecrets(`${uri}: ${errorMessage(error)}`),
      fix,
    };
  } finally {
    if (written) await within(store.delete(key), timeoutMs, "deleting").catch(() => {});
    await within(store.close(), CLOSE_MS, "closing").catch(() => {});
  }
}

async function databaseChecks(config: Config, timeoutMs: number): Promise<DoctorCheck[]> {
  const uri = config.tracking.uri as string;
  const shown = maskPassword(uri);
  let kind: string;
  try {
    kind = parseTrackingUri(uri).kind;
  } catch (error) {
    return [
      {
        name: "tracking database",
        status: "fail",
        message: errorMessage(error),
        fix: "set tracking.uri to sqlite:///abs/file.db or postgres://user:password@host:port/database",
      },
    ];
  }
  if (kind === "http") return [await trackingServerCheck(config, timeoutMs)];
  const postgresFix =
    "check that PostgreSQL runs and is reachable at the host and port of tracking.uri, and the user, password and database in it";
  const started = performance.now();
  let database: Awaited<ReturnType<typeof openTrackingDatabaseAsIs>>;
  try {
    database = await within(openTrackingDatabaseAsIs(uri), timeoutMs, "opening it");
  } catch (error) {
    return [
      {
        name: "tracking database",
        status: "fail",
        message: redactSecrets(`${shown}: ${errorMessage(error)}`),
        fix:
          kind === "postgres"
            ? postgresFix
            : "check the SQLite file of tracking.uri (a database file this user can write)",
      },
    ];
  }
  if (database === undefined)
    return [
      {
        name: "tracking database",
        status: "ok",
        message: `${shown} does not exist yet; the first command that records creates it with every migration`,
      },
    ];
  const db = database.db as unknown as Kysely<unknown>;
  try {
    try {
      await within(
        db.selectNoFrom((eb) => eb.lit(1).as("one")).execute(),
        timeoutMs,
        "a trivial query",
      );
    } catch (error) {
      return [
        {
          name: "tracking database",
          status: "fail",
          message: redactSecrets(`${shown}: ${errorMessage(error)}`),
          fix:
            kind === "postgres"
              ? postgresFix
              : "check that the file of tracking.uri is an SQLite database this user can write",
        },
      ];
    }
    const reachable: DoctorCheck = {
      name: "tracking database",
      status: "ok",
      message: `${shown} answers (${Math.round(performance.now() - started)} ms)`,
    };
    try {
      const statuses = await within(
        Promise.all([
          migrationStatus(db, database.dialect, trackingMigrations),
          migrationStatus(db, database.dialect, orchestrationMigrations),
        ]),
        timeoutMs,
        "reading the migrations",
      );
      return [reachable, migrationsCheck(statuses)];
    } catch (error) {
      return [
        reachable,
        {
          name: "migrations",
          status: "fail",
          message: redactSecrets(errorMessage(error)),
          fix: "check that this user may read the database's tables",
        },
      ];
    }
  } finally {
    await within(database.close(), CLOSE_MS, "closing").catch(() => {});
  }
}

function migrationsCheck(statuses: Awaited<ReturnType<typeof migrationStatus>>[]): DoctorCheck {
  const parts = statuses.map(
    (s) =>
      `${s.subject}: ${s.applied.length} applied${s.pending.length > 0 ? `, ${s.pending.length} pending (${s.pending.join(", ")})` : ""}${s.unknown.length > 0 ? `, ${s.unknown.length} unknown (${s.unknown.join(", ")})` : ""}`,
  );
  const message = parts.join("; ");
  if (statuses.some((s) => s.unknown.length > 0))
    return {
      name: "migrations",
      status: "fail",
      message: `${message}: a newer genre-classifier wrote this database`,
      fix: "upgrade genre-classifier to the version the other processes run",
    };
  if (statuses.some((s) => s.pending.length > 0))
    return {
      name: "migrations",
      status: "warn",
      message,
      fix: "the next command that opens the database applies them (e.g. genre-classifier flows runs list); run it before starting several processes at once",
    };
  return { name: "migrations", status: "ok", message };
}

async function trackingServerCheck(config: Config, timeoutMs: number): Promise<DoctorCheck> {
  const uri = config.tracking.uri as string;
  const note =
    "runs are recorded through it; flows, worker and scheduler need a database (sqlite:// or postgres://)";
  try {
    const response = await fetch(new URL("health", uri.endsWith("/") ? uri : `${uri}/`), {
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    if (!response.ok) throw new Error(`/health answered ${response.status}`);
    return {
      name: "tracking database",
      status: "warn",
      message: `${maskPassword(uri)} is a tracking server and answers: ${note}`,
      fix: "set tracking.uri to the database the tracking server uses to run flows, worker or scheduler",
    };
  } catch (error) {
    return {
      name: "tracking database",
      status: "fail",
      message: redactSecrets(
        `${maskPassword(uri)}: the tracking server does not answer (${errorMessage(error)})`,
      ),
      fix: "start it (genre-classifier tracking serve) or correct tracking.uri",
    };
  }
}

async function redisChecks(config: Config, timeoutMs: number): Promise<DoctorCheck[]> {
  if (config.orchestration.executor !== "bullmq")
    return [
      {
        name: "redis",
        status: "ok",
        message:
          "not used: orchestration.executor is in-process (task runs run in the flow's process)",
      },
    ];
  const settings = queueSettings(config);
  const shown = maskPassword(settings.redisUrl);
  let version: string | undefined;
  let policy: string | undefined;
  try {
    const info = await within(pingRedis(settings.redisUrl, timeoutMs), timeoutMs, "PING");
    version = /^redis_version:(\S+)/m.exec(info)?.[1];
    policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  } catch (error) {
    return [
      {
        name: "redis",
        status: "fail",
        message: redactSecrets(
          `${shown} (orchestration.redis.url) does not answer: ${errorMessage(error)}`,
        ),
        fix: "start Redis there, or set orchestration.redis.url (GENRE_CLASSIFIER_ORCHESTRATION_REDIS_URL) to the one that runs",
      },
    ];
  }
  const checks: DoctorCheck[] = [];
  if (policy !== undefined && policy !== "noeviction")
    checks.push({
      name: "redis",
      status: "warn",
      message: `${shown} answers (Redis ${version ?? "?"}) but evicts keys (maxmemory-policy ${policy}): queued jobs can be lost`,
      fix: "set maxmemory-policy noeviction on that Redis (a parameter group on ElastiCache)",
    });
  else
    checks.push({
      name: "redis",
      status: "ok",
      message: `${shown} answers (Redis ${version ?? "?"}, prefix ${settings.prefix})`,
    });
  checks.push(await workersCheck(settings, timeoutMs));
  return checks;
}

async function workersCheck(
  settings: ReturnType<typeof queueSettings>,
  timeoutMs: number,
): Promise<DoctorCheck> {
  const monitor = new QueueMonitor(settings);
  try {
    const workers = await within(monitor.workers(), timeoutMs, "reading the workers");
    const queues = knownQueueNames(settings.defaultQueue);
    const depths = await within(monitor.depths(queues), timeoutMs, "reading the queues");
    const served = new Set(workers.flatMap((w) => w.queues));
    const unserved = queues.filter((q) => !served.has(q));
    const depthText = depths
      .map(
        (d) =>
          `${d.queue}: ${d.jobs.waiting} waiting, ${d.jobs.active} active, ${d.jobs.failed} failed`,
      )
      .join("; ");
    const slots = workers.reduce((sum, w) => sum + w.slots, 0);
    const busy = workers.reduce((sum, w) => sum + w.busy, 0);
    const message = `${workers.length} worker${workers.length === 1 ? "" : "s"} (${busy}/${slots} slots busy); ${depthText}`;
    if (unserved.length > 0)
      return {
        name: "workers",
        status: "warn",
        message: `${message}; no worker reported within ${STATUS_TTL_MS / 1000} s for ${unserved.join(", ")}: their task runs wait`,
        fix: `start one: genre-classifier worker --queues ${unserved.join(",")}`,
      };
    return { name: "workers", status: "ok", message };
  } catch (error) {
    return {
      name: "workers",
      status: "fail",
      message: redactSecrets(errorMessage(error)),
      fix: "check that Redis answers and that orchestration.redis.prefix is the workers' prefix",
    };
  } finally {
    await within(monitor.close(), CLOSE_MS, "closing").catch(() => {});
  }
}
