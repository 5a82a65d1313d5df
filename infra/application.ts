// What the infrastructure assumes of the genre-classifier image: the commands each service runs,
// the port it listens on, the configuration keys it is given (GENRE_CLASSIFIER_* environment
// variables, src/config/schema.ts) and the Prometheus metric the workers scale on.
// test/infra/application.test.ts checks every name here against the CLI and the configuration.

/** serve's port (server.port) and the port worker and scheduler answer health checks on. */
export const HTTP_PORT = 8080;
/** Liveness: the process is up (no dependency checked, so a database outage restarts nothing). */
export const HEALTH_PATH = "/healthz";

export type ServiceName = "serve" | "worker" | "scheduler";

/**
 * Seconds each command may take to stop after SIGTERM (`--shutdown-timeout`): a worker finishes
 * the task runs it can in that time and hands back the rest. ECS waits `STOP_MARGIN_SECONDS`
 * longer before SIGKILL (Fargate allows 120 s in all).
 */
export const SHUTDOWN_SECONDS: Record<ServiceName, number> = {
  serve: 20,
  worker: 90,
  scheduler: 20,
};
export const STOP_MARGIN_SECONDS = 10;

/** The container command of each service (the image's entrypoint is the CLI). */
export const COMMANDS: Record<ServiceName, string[]> = {
  serve: ["serve", "--host", "0.0.0.0", "--shutdown-timeout", String(SHUTDOWN_SECONDS.serve)],
  worker: [
    "worker",
    "--health-port",
    String(HTTP_PORT),
    "--shutdown-timeout",
    String(SHUTDOWN_SECONDS.worker),
  ],
  scheduler: [
    "scheduler",
    "--health-port",
    String(HTTP_PORT),
    "--shutdown-timeout",
    String(SHUTDOWN_SECONDS.scheduler),
  ],
};

/** Configuration keys given as plain environment variables. */
export const ENV = {
  storageUri: "GENRE_CLASSIFIER_STORAGE_URI",
  storageRegion: "GENRE_CLASSIFIER_STORAGE_S3_REGION",
  executor: "GENRE_CLASSIFIER_ORCHESTRATION_EXECUTOR",
  workerConcurrency: "GENRE_CLASSIFIER_ORCHESTRATION_WORKER_CONCURRENCY",
  serverPort: "GENRE_CLASSIFIER_SERVER_PORT",
  logFormat: "GENRE_CLASSIFIER_LOG_FORMAT",
} as const;

/** Configuration keys given from Secrets Manager. */
export const SECRET_ENV = {
  trackingUri: "GENRE_CLASSIFIER_TRACKING_URI",
  redisUrl: "GENRE_CLASSIFIER_ORCHESTRATION_REDIS_URL",
  serverToken: "GENRE_CLASSIFIER_SERVER_TOKEN",
} as const;

/** The value of orchestration.executor that sends task runs to workers through Redis. */
export const EXECUTOR = "bullmq";

/**
 * The Prometheus gauge of the jobs in each queue by state, as serve's /metrics exposes it with the
 * BullMQ executor (src/operations/server-metrics.ts); the CloudWatch agent beside serve publishes
 * it under the same name in the namespace below, with the queue and state labels as dimensions.
 */
export const QUEUE_DEPTH = {
  prometheusName: "genre_classifier_queue_jobs",
  /** The state the workers scale out on; they scale in when it and `active` are both 0. */
  stateLabel: { name: "state", value: "waiting" },
  queueLabel: "queue",
  namespace: "GenreClassifier",
  /** orchestration.queue's default: the queue task runs go to. */
  queue: "tasks",
} as const;
