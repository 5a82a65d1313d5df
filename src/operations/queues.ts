// The BullMQ queues seen from outside: how many jobs each holds by state, and the workers'
// statuses, read on one Redis connection of its own that fails fast while Redis is away
// rather than queueing commands.
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { registeredTasks } from "../orchestration/api.ts";
import type { QueueSettings } from "../orchestration/queue.ts";
import { readWorkerStatuses, type WorkerStatus } from "./workers.ts";

export const QUEUE_STATES = ["waiting", "active", "delayed", "failed"] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export interface QueueDepth {
  queue: string;
  jobs: Record<QueueState, number>;
}

/** The default queue and every queue a registered task names. */
export function knownQueueNames(defaultQueue: string): string[] {
  const names = new Set([defaultQueue]);
  for (const task of registeredTasks()) if (task.options.queue) names.add(task.options.queue);
  return [...names].sort();
}

export class QueueMonitor {
  private readonly connection: Redis;
  private readonly queues = new Map<string, Queue>();

  constructor(private readonly settings: QueueSettings) {
    this.connection = new Redis(settings.redisUrl, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 2_000,
      retryStrategy: (times) => Math.min(200 * 2 ** Math.min(times, 4), 2_000),
      connectionName: `${settings.prefix}:monitor`,
    });
    this.connection.on("error", () => {});
  }

  /** Resolves once the connection is ready (callers bound the wait: it lasts while Redis is away). */
  private ready(): Promise<void> {
    if (this.connection.status === "ready") return Promise.resolve();
    return new Promise((resolve) => this.connection.once("ready", () => resolve()));
  }

  /** Jobs by state in each named queue (waiting counts prioritized jobs too). */
  async depths(queueNames: readonly string[]): Promise<QueueDepth[]> {
    await this.ready();
    return Promise.all(
      queueNames.map(async (name) => {
        const counts = await this.queue(name).getJobCounts(
          "waiting",
          "prioritized",
          "active",
          "delayed",
          "failed",
        );
        return {
          queue: name,
          jobs: {
            waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
            active: counts.active ?? 0,
            delayed: counts.delayed ?? 0,
            failed: counts.failed ?? 0,
          },
        };
      }),
    );
  }

  async workers(): Promise<WorkerStatus[]> {
    await this.ready();
    return readWorkerStatuses(this.connection, this.settings.prefix);
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.settings.prefix });
      queue.on("error", () => {});
      this.queues.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((queue) => queue.close()));
    this.connection.disconnect();
  }
}
