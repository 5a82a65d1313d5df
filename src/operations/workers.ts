// What the queue workers tell the rest of the installation about themselves: each `worker`
// process writes its status (queues, task-run slots, busy slots, counts) into one Redis hash
// every few seconds with an expiry time, and removes it when it stops; `serve` reads the
// hash for the cluster's worker utilization (busy slots / slots, the autoscaler's signal) and
// `doctor` for whether any worker is taking jobs. A worker that died leaves an entry that
// readers ignore, then delete, once it has expired.
import type { Redis } from "ioredis";
import { errorMessage } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import { connectRedis, type QueueSettings } from "../orchestration/queue.ts";

export const STATUS_INTERVAL_MS = 5_000;
export const STATUS_TTL_MS = 15_000;
/** More entries than this are not read (a bound on what one scrape parses). */
const MAX_WORKERS = 10_000;

export interface WorkerStatus {
  name: string;
  queues: string[];
  /** Task runs it can run at once: its concurrency times its queues. */
  slots: number;
  /** Task runs it is running. */
  busy: number;
  completed: number;
  failed: number;
  /** When the entry stops counting (ms since the epoch). */
  expiresAt: number;
}

/** The hash of worker statuses; `::` keeps it apart from any queue's keys (a queue name is never empty). */
export function workersKey(prefix: string): string {
  return `${prefix}::workers`;
}

/** Writes a worker's status until stopped. */
export class WorkerStatusPublisher {
  private readonly timer: NodeJS.Timeout;
  private writing: Promise<unknown> | undefined;

  private constructor(
    private readonly settings: QueueSettings,
    private readonly connection: Redis,
    private readonly status: () => Omit<WorkerStatus, "expiresAt">,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => this.publish(), STATUS_INTERVAL_MS);
    this.timer.unref();
    this.publish();
  }

  static start(
    settings: QueueSettings,
    status: () => Omit<WorkerStatus, "expiresAt">,
    log: Logger,
  ): WorkerStatusPublisher {
    return new WorkerStatusPublisher(
      settings,
      connectRedis(settings, "worker-status"),
      status,
      log,
    );
  }

  private publish(): void {
    if (this.writing) return;
    const status = this.status();
    const entry: WorkerStatus = { ...status, expiresAt: Date.now() + STATUS_TTL_MS };
    this.writing = this.connection
      .hset(workersKey(this.settings.prefix), status.name, JSON.stringify(entry))
      .catch((error) => this.log.debug({ err: errorMessage(error) }, "worker status not written"))
      .finally(() => {
        this.writing = undefined;
      });
  }

  /** Stops writing and removes the entry, giving up at `deadline` (ms since the epoch). */
  async stop(deadline: number): Promise<void> {
    clearInterval(this.timer);
    if (this.connection.status === "ready") {
      const removed = this.connection.hdel(workersKey(this.settings.prefix), this.status().name);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        removed.catch(() => {}),
        new Promise((resolve) => {
          timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        }),
      ]);
      clearTimeout(timer);
    }
    this.connection.disconnect();
  }
}

/** The statuses of the workers that reported within their expiry time; expired entries are deleted. */
export async function readWorkerStatuses(
  redis: Redis,
  prefix: string,
  now = Date.now(),
): Promise<WorkerStatus[]> {
  const key = workersKey(prefix);
  if ((await redis.hlen(key)) > MAX_WORKERS) return [];
  const entries = await redis.hgetall(key);
  const live: WorkerStatus[] = [];
  const expired: string[] = [];
  for (const [name, text] of Object.entries(entries)) {
    const status = parseStatus(text);
    if (status && status.expiresAt >= now) live.push(status);
    else expired.push(name);
  }
  if (expired.length > 0) await redis.hdel(key, ...expired).catch(() => {});
  return live.sort((a, b) => a.name.localeCompare(b.name));
}

function parseStatus(text: string): WorkerStatus | undefined {
  try {
    const value = JSON.parse(text) as Partial<WorkerStatus>;
    if (
      typeof value.name !== "string" ||
      !Array.isArray(value.queues) ||
      typeof value.slots !== "number" ||
      typeof value.busy !== "number" ||
      typeof value.expiresAt !== "number"
    )
      return undefined;
    return {
      name: value.name,
      queues: value.queues.filter((q): q is string => typeof q === "string"),
      slots: value.slots,
      busy: value.busy,
      completed: Number(value.completed ?? 0),
      failed: Number(value.failed ?? 0),
      expiresAt: value.expiresAt,
    };
  } catch {
    return undefined;
  }
}
