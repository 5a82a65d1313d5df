// What `serve` needs for its operations endpoints, built in one place: its liveness state, its
// readiness checks (object store, tracking database, and Redis with the BullMQ executor) and
// its metrics, with the queue monitor they read when asked to report the queues.
import type { Config } from "../config/schema.ts";
import { queueSettings } from "../orchestration/queue.ts";
import type { RunStore } from "../orchestration/run-store.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import {
  databaseCheck,
  HealthState,
  objectStoreCheck,
  type ReadinessCheck,
  ReadinessProbe,
  redisCheck,
} from "./health.ts";
import { knownQueueNames, QueueMonitor } from "./queues.ts";
import { ServerMetrics } from "./server-metrics.ts";

export interface ServeOperations {
  health: HealthState;
  readiness: ReadinessProbe;
  metrics: ServerMetrics;
  /** Closes the connection the queue metrics read through, if any. */
  close(): Promise<void>;
}

export function serveOperations(options: {
  config: Config;
  store: ObjectStore;
  runs: RunStore;
  /** Report the BullMQ queues and workers on /metrics (opens a Redis connection). */
  queues?: boolean;
}): ServeOperations {
  const { config, store, runs } = options;
  const bullmq = config.orchestration.executor === "bullmq";
  const checks: ReadinessCheck[] = [objectStoreCheck(store), databaseCheck(runs)];
  if (bullmq) checks.push(redisCheck(config.orchestration.redis.url));
  const settings = queueSettings(config);
  const monitor = bullmq && options.queues ? new QueueMonitor(settings) : undefined;
  const metrics = new ServerMetrics({
    runs,
    ...(monitor
      ? { queues: { monitor, names: () => knownQueueNames(settings.defaultQueue) } }
      : {}),
  });
  return {
    health: new HealthState(),
    readiness: new ReadinessProbe(checks),
    metrics,
    close: async () => {
      await monitor?.close();
    },
  };
}
