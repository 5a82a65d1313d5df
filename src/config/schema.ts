// The one typed configuration of genre-classifier: its zod schema, defaults and the
// description of every key. Loading and layering live in load.ts.
import { z } from "zod";

const logLevels = ["trace", "debug", "info", "warn", "error", "silent"] as const;

/** A pattern for comma-separated `column=value` pairs with values matching `value`. */
function columnMap(value: RegExp): RegExp {
  const pair = `[^=,]+=(${value.source})`;
  return new RegExp(`^(${pair}(,${pair})*)?$`);
}

/** A bearer token: no blank edges, since a blank token would be no token at all. */
const bearerToken = z
  .string()
  .min(1)
  .regex(
    /^\S(?:.*\S)?$/s,
    "expected a token without leading or trailing whitespace (a blank token would be no token at all)",
  )
  .optional();

export const configSchema = z.strictObject({
  dataDir: z
    .string()
    .min(1)
    .default(".genre-classifier")
    .describe("Folder for everything the system keeps locally (relative to the working folder)."),
  storage: z
    .strictObject({
      uri: z
        .string()
        .min(1)
        .optional()
        .describe(
          "Object store root: file:///abs/path or s3://bucket/prefix (default: <dataDir>/store).",
        ),
      s3: z
        .strictObject({
          endpoint: z
            .string()
            .url()
            .optional()
            .describe(
              "S3 API endpoint for S3-compatible servers (MinIO, R2, Ceph); empty for AWS.",
            ),
          region: z.string().min(1).default("us-east-1").describe("S3 region."),
          forcePathStyle: z
            .boolean()
            .default(false)
            .describe("Address buckets as endpoint/bucket instead of bucket.endpoint."),
          accessKeyId: z
            .string()
            .min(1)
            .optional()
            .describe("Access key id; when unset, the AWS SDK's default credential chain applies."),
          secretAccessKey: z.string().min(1).optional().describe("Secret access key."),
          sessionToken: z
            .string()
            .min(1)
            .optional()
            .describe("Session token for temporary credentials."),
          maxAttempts: z
            .number()
            .int()
            .min(1)
            .max(20)
            .default(5)
            .describe("Attempts per request; throttling and 5xx answers are retried with backoff."),
          partSizeMib: z
            .number()
            .int()
            .min(5)
            .max(5120)
            .default(8)
            .describe("Multipart upload part size; larger objects are uploaded in parts."),
          uploadConcurrency: z
            .number()
            .int()
            .min(1)
            .max(64)
            .default(4)
            .describe("Parts uploaded at once for one multipart object."),
        })
        .prefault({}),
    })
    .prefault({}),
  features: z
    .strictObject({
      vocabularyFile: z
        .string()
        .min(1)
        .optional()
        .describe(
          "Genre vocabulary file, one genre per line (default: the vocabulary shipped with the project).",
        ),
      minTermWeight: z
        .number()
        .min(0)
        .max(1)
        .default(0)
        .describe("Only artist terms with at least this weight count as a track's genres."),
    })
    .prefault({}),
  tracking: z
    .strictObject({
      uri: z
        .string()
        .min(1)
        .optional()
        .describe(
          "Tracking store: sqlite:///abs/file.db, postgres://user:password@host:port/database, or http(s)://host:port of a tracking server (default: <dataDir>/tracking.db).",
        ),
      token: bearerToken.describe(
        "Bearer token: `tracking serve` requires it from every client when set, and clients send it to a tracking server.",
      ),
      server: z
        .strictObject({
          host: z
            .string()
            .min(1)
            .default("127.0.0.1")
            .describe(
              "Address `tracking serve` listens on; without a token only loopback addresses are allowed.",
            ),
          port: z
            .number()
            .int()
            .min(0)
            .max(65535)
            .default(5000)
            .describe("Port `tracking serve` listens on."),
        })
        .prefault({}),
    })
    .prefault({}),
  orchestration: z
    .strictObject({
      heartbeatSeconds: z
        .number()
        .positive()
        .max(3600)
        .default(2)
        .describe(
          "How often a running flow run records a heartbeat and checks for a cancel request.",
        ),
      crashAfterSeconds: z
        .number()
        .positive()
        .default(30)
        .describe(
          "A flow run without a heartbeat for this long is marked crashed (at once when its process is gone from this host).",
        ),
      schedulerIntervalSeconds: z
        .number()
        .positive()
        .default(5)
        .describe("How often `scheduler` looks for due deployments."),
      executor: z
        .enum(["in-process", "bullmq"])
        .default("in-process")
        .describe(
          "Where task runs run: in the flow's process, or on `worker` processes through BullMQ queues in Redis.",
        ),
      redis: z
        .strictObject({
          url: z
            .string()
            .regex(/^rediss?:\/\//, "expected redis://[user:password@]host:port[/db] or rediss://…")
            .default("redis://127.0.0.1:6379")
            .describe(
              "Redis of the BullMQ executor: redis://[user:password@]host:port[/db], or rediss:// for TLS.",
            ),
          prefix: z
            .string()
            .regex(/^[A-Za-z0-9_.-]+$/, "expected letters, digits, '_', '.' or '-'")
            .default("genre-classifier")
            .describe(
              "Prefix of every Redis key the queues use, so that installations can share one Redis.",
            ),
        })
        .prefault({}),
      queue: z
        .string()
        .regex(/^[A-Za-z0-9_.-]+$/, "expected letters, digits, '_', '.' or '-'")
        .default("tasks")
        .describe(
          "The queue task runs go to unless their task names another one (BullMQ executor).",
        ),
      worker: z
        .strictObject({
          concurrency: z
            .number()
            .int()
            .min(1)
            .max(1000)
            .default(4)
            .describe("Task runs one `worker` process runs at once."),
          lockSeconds: z
            .number()
            .positive()
            .max(3600)
            .default(30)
            .describe(
              "A task run whose worker has not renewed its lock for this long (the worker died) goes back to its queue for another worker.",
            ),
        })
        .prefault({}),
    })
    .prefault({}),
  pipeline: z
    .strictObject({
      experiment: z
        .string()
        .min(1)
        .default("genre-classifier")
        .describe("Tracking experiment the train flow records its runs in."),
      registeredModel: z
        .string()
        .min(1)
        .default("genre-classifier")
        .describe("Registered model the train flow adds versions to (alias `champion`)."),
      dailyInferenceCron: z
        .string()
        .min(1)
        .default("0 6 * * *")
        .describe("Cron schedule `deploy` gives the daily-inference deployment."),
      timeZone: z
        .string()
        .min(1)
        .default("UTC")
        .describe(
          "Time zone of the daily-inference cron schedule (IANA name, e.g. Europe/Berlin).",
        ),
      gates: z
        .strictObject({
          baselineMargin: z
            .number()
            .min(0)
            .max(1)
            .default(0.02)
            .describe(
              "A new model must beat the most-frequent-5 baseline's validation Jaccard by this much.",
            ),
          championTolerance: z
            .number()
            .min(0)
            .max(1)
            .default(0)
            .describe(
              "A new model may be at most this much worse than the champion, re-scored on the same validation table.",
            ),
          minJaccard: z
            .number()
            .min(0)
            .max(1)
            .optional()
            .describe("Optional extra gate: lowest validation Jaccard a new model may have."),
          maxHammingLoss: z
            .number()
            .min(0)
            .max(1)
            .optional()
            .describe("Optional extra gate: highest validation Hamming loss a new model may have."),
        })
        .prefault({}),
    })
    .prefault({}),
  monitoring: z
    .strictObject({
      experiment: z
        .string()
        .min(1)
        .default("genre-classifier-monitoring")
        .describe(
          "Tracking experiment the monitor step records a run per day in (metrics with step = day).",
        ),
      tests: z
        .enum(["p-values", "evidently"])
        .default("p-values")
        .describe(
          "Drift tests of the daily monitor: p-values (K-S, chi-square, Z-test whatever the reference size: a day of a few dozen tracks does not drift by chance) or evidently (DataDriftPreset's choice: distances above 1,000 reference rows).",
        ),
      driftShare: z
        .number()
        .gt(0)
        .max(1)
        .default(0.5)
        .describe("A day's data drifts when at least this share of its tested columns drift."),
      exclude: z
        .string()
        .default("year,artist_familiarity,artist_hotttnesss,song_hotttnesss")
        .describe(
          "Comma-separated columns left out of data drift, where the model has them (year: the test days are the newest release years, so it drifts by construction; the popularity columns: releases with a known year come from better-known artists than the tracks without one, so they drift by construction too).",
        ),
      columnTests: z
        .string()
        .regex(
          columnMap(/ks|chi-square|z|wasserstein|jensen-shannon/),
          "expected column=test pairs, e.g. tempo=ks,key=chi-square",
        )
        .default("")
        .describe(
          "Per-column drift tests, comma-separated column=test (ks, chi-square, z, wasserstein, jensen-shannon).",
        ),
      columnThresholds: z
        .string()
        .regex(
          columnMap(/[0-9]*\.?[0-9]+(e-?[0-9]+)?/),
          "expected column=number pairs, e.g. tempo=0.01",
        )
        .default("")
        .describe("Per-column drift thresholds, comma-separated column=number."),
      retrain: z
        .boolean()
        .default(true)
        .describe(
          "Whether daily-inference runs complete-training when a day drifts or its quality falls.",
        ),
      jaccardFloor: z
        .number()
        .min(0)
        .max(1)
        .default(0.85)
        .describe(
          "Retrain when a labelled day's Jaccard falls below this share of the champion's validation Jaccard.",
        ),
      cooldownDays: z
        .number()
        .int()
        .min(0)
        .max(3650)
        .default(7)
        .describe("Days after a retrain during which no other retrain starts."),
    })
    .prefault({}),
  server: z
    .strictObject({
      host: z
        .string()
        .min(1)
        .default("127.0.0.1")
        .describe(
          "Address `serve` listens on; without a token only loopback addresses are allowed.",
        ),
      port: z.number().int().min(0).max(65535).default(8080).describe("Port `serve` listens on."),
      token: bearerToken.describe(
        "Token `serve` requires on every page and API (default: tracking.token): a bearer header for APIs, a login for the UI.",
      ),
      metricsPublic: z
        .boolean()
        .default(false)
        .describe(
          "Serve /metrics without the token (for scrapers that cannot send one); /healthz and /readyz never need it.",
        ),
      maxBodyBytes: z
        .number()
        .int()
        .min(1024)
        .max(1024 * 1024 * 1024)
        .default(16 * 1024 * 1024)
        .describe(
          "Largest request body `serve` accepts on its pages and APIs (track file uploads, JSON); larger is a 413.",
        ),
      maxArtifactBytes: z
        .number()
        .int()
        .min(1024)
        .max(5 * 1024 ** 4)
        .default(2 * 1024 ** 3)
        .describe(
          "Largest artifact upload through MLflow's artifact proxy (`serve` and `tracking serve`); larger is a 413.",
        ),
      predict: z
        .strictObject({
          alias: z
            .string()
            .min(1)
            .default("champion")
            .describe("Alias of the registered model the online prediction API serves."),
          maxBatch: z
            .number()
            .int()
            .min(1)
            .max(100_000)
            .default(1000)
            .describe("Most tracks one online prediction request may hold."),
          refreshSeconds: z
            .number()
            .positive()
            .max(3600)
            .default(2)
            .describe("How often the online prediction API checks whether the alias moved."),
        })
        .prefault({}),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(logLevels).default("info").describe("Lowest level written to the terminal."),
      format: z
        .enum(["auto", "pretty", "json"])
        .default("auto")
        .describe("Terminal log format: readable lines, or JSON lines."),
      file: z
        .string()
        .min(1)
        .optional()
        .describe("Also append every record (debug and up) as JSON lines to this file."),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;

export const CONFIG_FILE_NAMES = [
  "genre-classifier.config.json",
  "genre-classifier.config.yaml",
  "genre-classifier.config.yml",
] as const;

export const ENV_PREFIX = "GENRE_CLASSIFIER_";
