// What the BullMQ executor and the queue workers share: the settings, Redis connections made
// with ioredis (BullMQ's own loader cannot `require` it from ESM), the job payload, and the
// channel on which flow processes ask workers to cancel a flow run's task runs.
import { Redis } from "ioredis";
import { OperationError } from "../common/errors.ts";
import type { Config } from "../config/schema.ts";
import { maskPassword } from "../tracking/uri.ts";
import type { TaskRunRequest } from "./task-run.ts";

export interface QueueSettings {
  /** redis://[user:password@]host:port[/db] or rediss://… */
  redisUrl: string;
  /** Prefix of every key, so that installations can share one Redis. */
  prefix: string;
  /** The queue of tasks that do not name one. */
  defaultQueue: string;
  /** A worker that has not renewed a job's lock for this long is taken for dead. */
  lockMs: number;
}

export function queueSettings(config: Config): QueueSettings {
  const { orchestration } = config;
  return {
    redisUrl: orchestration.redis.url,
    prefix: orchestration.redis.prefix,
    defaultQueue: orchestration.queue,
    lockMs: orchestration.worker.lockSeconds * 1000,
  };
}

/** A job's data: the task run to run. */
export type TaskJobData = Omit<TaskRunRequest, "attemptsBefore">;

export interface CancelMessage {
  flowRunId: string;
  reason: string;
}

export function cancelChannel(settings: QueueSettings): string {
  return `${settings.prefix}:cancel`;
}

/**
 * A connection that retries for ever while Redis is away (what BullMQ's blocking commands
 * need); `onUnavailable` hears each failed attempt.
 */
export function connectRedis(
  settings: QueueSettings,
  name: string,
  onUnavailable?: (error: Error) => void,
): Redis {
  const connection = new Redis(settings.redisUrl, {
    maxRetriesPerRequest: null,
    connectionName: `${settings.prefix}:${name}`,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    lazyConnect: false,
  });
  connection.on("error", (error: Error) => onUnavailable?.(error));
  return connection;
}

/** Fails with a clear message when Redis does not answer within `timeoutMs`. */
export async function checkRedis(settings: QueueSettings, timeoutMs = 5_000): Promise<void> {
  const probe = new Redis(settings.redisUrl, {
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    lazyConnect: true,
  });
  probe.on("error", () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new OperationError(
      `Redis at ${maskPassword(settings.redisUrl)} (orchestration.redis.url) does not answer: ${(error as Error).message}`,
    );
  } finally {
    probe.disconnect();
  }
}
