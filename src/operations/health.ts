// Liveness and readiness of a long-running process (`serve`, `worker`, `scheduler`): /healthz
// answers 200 while the process is up and 503 once it is stopping; /readyz runs the process's
// checks (object store, tracking database, Redis) in parallel, each bounded by a timeout, and
// answers 200 with each check's time or 503 naming what failed and why, with any password in
// the error masked. A round of checks is shared by the requests that come while it runs and
// reused for a second, so an unauthenticated caller cannot make the process hammer its stores.
import { createHmac, timingSafeEqual } from "node:crypto";
import { Redis } from "ioredis";
import { errorMessage } from "../common/errors.ts";
import type { ObjectStore } from "../storage/object-store.ts";

export const READINESS_TIMEOUT_MS = 2_000;
const READINESS_REUSE_MS = 1_000;
const MAX_ERROR_CHARS = 300;

/** Whether the process has begun stopping; /healthz and /readyz answer 503 from then on. */
export class HealthState {
  private stoppingSince: number | undefined;

  get stopping(): boolean {
    return this.stoppingSince !== undefined;
  }

  beginStopping(): void {
    this.stoppingSince ??= Date.now();
  }
}

export interface ReadinessCheck {
  /** What is checked, as the answer names it: "object store", "tracking database", "redis". */
  name: string;
  probe(): Promise<void>;
}

export interface CheckResult {
  ok: boolean;
  ms: number;
  error?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

/** Masks passwords in URIs (`scheme://user:secret@host` → `scheme://user:****@host`) and bounds the length. */
export function redactSecrets(text: string): string {
  const masked = text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, "$1****@");
  return masked.length > MAX_ERROR_CHARS ? `${masked.slice(0, MAX_ERROR_CHARS)}…` : masked;
}

/** Runs every check at once, each failing after `timeoutMs`. */
export async function checkReadiness(
  checks: readonly ReadinessCheck[],
  timeoutMs = READINESS_TIMEOUT_MS,
): Promise<Readiness> {
  const results = await Promise.all(
    checks.map(async (check): Promise<[string, CheckResult]> => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${timeoutMs / 1000} s`)),
          timeoutMs,
        );
      });
      try {
        await Promise.race([check.probe(), late]);
        return [check.name, { ok: true, ms: elapsed(started) }];
      } catch (error) {
        return [
          check.name,
          { ok: false, ms: elapsed(started), error: redactSecrets(errorMessage(error)) },
        ];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { ready: results.every(([, result]) => result.ok), checks: Object.fromEntries(results) };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

/** The object store answers a listing of one entry at its root (a cheap list on S3). */
export function objectStoreCheck(store: ObjectStore): ReadinessCheck {
  return {
    name: "object store",
    probe: async () => {
      await store.list("", { pageSize: 1 });
    },
  };
}

/** The tracking database answers a trivial query. */
export function databaseCheck(database: { ping(): Promise<void> }): ReadinessCheck {
  return { name: "tracking database", probe: () => database.ping() };
}

/** Redis answers PING on a connection of its own, opened for the probe. */
export function redisCheck(redisUrl: string, timeoutMs = READINESS_TIMEOUT_MS): ReadinessCheck {
  return {
    name: "redis",
    probe: async () => {
      await pingRedis(redisUrl, timeoutMs);
    },
  };
}

/**
 * Connects to Redis, sends PING and gives the server's INFO text (empty when INFO is not
 * allowed); a failure carries the connection's own error (ECONNREFUSED, NOAUTH…).
 */
export async function pingRedis(redisUrl: string, timeoutMs: number): Promise<string> {
  const probe = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    enableOfflineQueue: false,
  });
  let cause: Error | undefined;
  probe.on("error", (error: Error) => {
    cause ??= error;
  });
  try {
    await probe.connect();
    await probe.ping();
    return await probe.info().catch(() => "");
  } catch (error) {
    throw cause ?? error;
  } finally {
    probe.disconnect();
  }
}

/** A process's readiness: its checks, run at most once a second whatever the number of callers. */
export class ReadinessProbe {
  private current: Promise<Readiness> | undefined;
  private doneAt = 0;

  constructor(
    private readonly checks: readonly ReadinessCheck[],
    private readonly timeoutMs = READINESS_TIMEOUT_MS,
  ) {}

  read(): Promise<Readiness> {
    if (this.current && (this.doneAt === 0 || Date.now() - this.doneAt < READINESS_REUSE_MS))
      return this.current;
    this.doneAt = 0;
    const round = checkReadiness(this.checks, this.timeoutMs);
    this.current = round;
    void round.then(() => {
      if (this.current === round) this.doneAt = Date.now();
    });
    return round;
  }
}

export interface HealthAnswer {
  status: 200 | 503;
  body: Record<string, unknown>;
}

export function livenessAnswer(state: HealthState): HealthAnswer {
  return state.stopping
    ? { status: 503, body: { status: "stopping" } }
    : { status: 200, body: { status: "ok" } };
}

export async function readinessAnswer(
  state: HealthState,
  probe: ReadinessProbe,
): Promise<HealthAnswer> {
  if (state.stopping) return { status: 503, body: { status: "stopping", checks: {} } };
  const readiness = await probe.read();
  if (readiness.ready) return { status: 200, body: { status: "ok", checks: readiness.checks } };
  const failed = Object.entries(readiness.checks)
    .filter(([, result]) => !result.ok)
    .map(([name]) => name);
  return {
    status: 503,
    body: { status: "unavailable", failed, checks: readiness.checks },
  };
}

/** Whether an Authorization header carries `token` as a bearer token (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const bearer = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (bearer === null) return false;
  const digest = (value: string) => createHmac("sha256", "compare").update(value).digest();
  return timingSafeEqual(digest((bearer[1] as string).trim()), digest(token));
}
