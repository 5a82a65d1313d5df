// The metrics `serve` exposes on /metrics: its HTTP requests (by method, route pattern and
// status, so that the label values stay few whatever paths clients ask for), online
// predictions, the flow and task runs recorded in the tracking database by state and each
// flow's newest ended run (its duration and end), read at scrape time, and with the BullMQ
// executor each queue's jobs by state and the workers' utilization (busy slots / slots).
// (`serve` starts no flow runs itself: the histogram of flow-run durations is the scheduler's.)
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { RunStore } from "../orchestration/run-store.ts";
import { FINAL_STATES } from "../orchestration/states.ts";
import {
  BoundedSource,
  METRIC_PREFIX,
  metricsRegistry,
  REQUEST_BUCKETS,
  sourceUpGauge,
} from "./metrics.ts";
import { QUEUE_STATES, type QueueDepth, type QueueMonitor } from "./queues.ts";
import type { WorkerStatus } from "./workers.ts";

const HTTP_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
/** How long a scrape waits for the database or Redis, and how long their answer is reused. */
const SOURCE_TIMEOUT_MS = 2_000;
const SOURCE_REUSE_MS = 5_000;

export interface ServerMetricsSources {
  /** The orchestration records, counted by state at scrape time. */
  runs?: Pick<RunStore, "flowRunCounts" | "taskRunCounts" | "newestFlowRunsIn">;
  /** With the BullMQ executor: the queues to report and where to read them. */
  queues?: { monitor: QueueMonitor; names: () => string[] };
}

export class ServerMetrics {
  readonly registry: Registry;
  private readonly requests: Histogram<"method" | "route" | "status">;
  private readonly predictedTracks: Counter<"source">;
  private readonly predictions: Histogram<"source">;

  constructor(sources: ServerMetricsSources = {}) {
    const registry = metricsRegistry();
    this.registry = registry;
    this.requests = new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: "HTTP requests answered, by method, route pattern (not the raw path) and status.",
      labelNames: ["method", "route", "status"],
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    });
    this.predictedTracks = new Counter({
      name: `${METRIC_PREFIX}predicted_tracks_total`,
      help: "Tracks given genres by the online prediction API and page, by input (json, files, form).",
      labelNames: ["source"],
      registers: [registry],
    });
    this.predictions = new Histogram({
      name: `${METRIC_PREFIX}prediction_duration_seconds`,
      help: "Time to answer an online prediction request, from the parsed body to the answer, by input.",
      labelNames: ["source"],
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    });
    const up = sourceUpGauge(registry);
    if (sources.runs) registerRunGauges(registry, sources.runs, up);
    if (sources.queues) registerQueueGauges(registry, sources.queues, up);
  }

  /** Records an answered request; `route` is the pattern it matched, or undefined for none. */
  request(method: string, route: string | undefined, status: number, seconds: number): void {
    this.requests.observe(
      {
        method: HTTP_METHODS.has(method) ? method : "OTHER",
        route: route ?? "unmatched",
        status: String(status),
      },
      seconds,
    );
  }

  predicted(source: "json" | "files" | "form", tracks: number, seconds: number): void {
    this.predictedTracks.inc({ source }, tracks);
    this.predictions.observe({ source }, seconds);
  }
}

function registerRunGauges(
  registry: Registry,
  runs: NonNullable<ServerMetricsSources["runs"]>,
  up: Gauge<"source">,
): void {
  const counts = new BoundedSource(
    async () => {
      const [flowRuns, taskRuns] = await Promise.all([runs.flowRunCounts(), runs.taskRunCounts()]);
      const flows = [...new Set(flowRuns.map((r) => r.flow))];
      const [lastEnded, lastCompleted] = await Promise.all([
        runs.newestFlowRunsIn(flows, [...FINAL_STATES]),
        runs.newestFlowRunsIn(flows, ["completed"]),
      ]);
      return { flowRuns, taskRuns, lastEnded, lastCompleted };
    },
    { timeoutMs: SOURCE_TIMEOUT_MS, reuseMs: SOURCE_REUSE_MS },
  );
  const read = async () => {
    try {
      const value = await counts.value();
      up.set({ source: "tracking database" }, 1);
      return value;
    } catch {
      up.set({ source: "tracking database" }, 0);
      return undefined;
    }
  };
  new Gauge({
    name: `${METRIC_PREFIX}flow_runs`,
    help: "Flow runs recorded in the tracking database, by flow and state (counted at scrape time).",
    labelNames: ["flow", "state"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of (await read())?.flowRuns ?? [])
        this.set({ flow: row.flow, state: row.state }, row.count);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}task_runs`,
    help: "Task runs recorded in the tracking database, by state (counted at scrape time).",
    labelNames: ["state"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of (await read())?.taskRuns ?? []) this.set({ state: row.state }, row.count);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}flow_run_last_duration_seconds`,
    help: "Of each flow, the newest ended run's time from start to end, labelled with how it ended.",
    labelNames: ["flow", "state"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const run of (await read())?.lastEnded ?? [])
        if (run.startedAt !== null && run.endedAt !== null)
          this.set({ flow: run.flow, state: run.state }, (run.endedAt - run.startedAt) / 1000);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}flow_run_last_completed_timestamp_seconds`,
    help: "Of each flow, when its newest completed run ended (Unix time): alert when a daily flow has not completed for a day.",
    labelNames: ["flow"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const run of (await read())?.lastCompleted ?? [])
        if (run.endedAt !== null) this.set({ flow: run.flow }, run.endedAt / 1000);
    },
  });
}

function registerQueueGauges(
  registry: Registry,
  queues: NonNullable<ServerMetricsSources["queues"]>,
  up: Gauge<"source">,
): void {
  const source = new BoundedSource(
    async (): Promise<{ depths: QueueDepth[]; workers: WorkerStatus[] }> => {
      const workers = await queues.monitor.workers();
      const names = new Set(queues.names());
      for (const worker of workers) for (const queue of worker.queues) names.add(queue);
      const depths = await queues.monitor.depths([...names].sort());
      return { depths, workers };
    },
    { timeoutMs: SOURCE_TIMEOUT_MS, reuseMs: SOURCE_REUSE_MS },
  );
  const read = async () => {
    try {
      const value = await source.value();
      up.set({ source: "redis" }, 1);
      return value;
    } catch {
      up.set({ source: "redis" }, 0);
      return undefined;
    }
  };
  new Gauge({
    name: `${METRIC_PREFIX}queue_jobs`,
    help: "Jobs in each BullMQ queue by state: waiting (prioritized included), active, delayed, failed.",
    labelNames: ["queue", "state"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const depth of (await read())?.depths ?? [])
        for (const state of QUEUE_STATES)
          this.set({ queue: depth.queue, state }, depth.jobs[state]);
    },
  });
  const workerGauge = (name: string, help: string, value: (workers: WorkerStatus[]) => number) =>
    new Gauge({
      name: `${METRIC_PREFIX}${name}`,
      help,
      registers: [registry],
      async collect() {
        this.reset();
        const workers = (await read())?.workers;
        if (workers) this.set(value(workers));
      },
    });
  const slots = (workers: WorkerStatus[]) => workers.reduce((sum, w) => sum + w.slots, 0);
  const busy = (workers: WorkerStatus[]) => workers.reduce((sum, w) => sum + w.busy, 0);
  workerGauge("workers", "Queue workers that reported their status within 15 s.", (w) => w.length);
  workerGauge(
    "workers_slots",
    "Task runs the live workers can run at once (concurrency times queues, summed).",
    slots,
  );
  workerGauge("workers_busy_slots", "Task runs the live workers are running.", busy);
  workerGauge(
    "workers_utilization",
    "Busy slots over slots of the live workers (0 without workers): the autoscaling signal.",
    (w) => (slots(w) === 0 ? 0 : busy(w) / slots(w)),
  );
}
