// The metrics a `worker` exposes on its health listener: task runs it ran by queue, task and
// outcome with their durations, and its slots, busy slots and utilization at scrape time.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { findTask } from "../orchestration/api.ts";
import { METRIC_PREFIX, metricsRegistry, RUN_BUCKETS } from "./metrics.ts";

export class WorkerMetrics {
  readonly registry: Registry;
  private readonly taskRuns: Counter<"queue" | "task" | "outcome">;
  private readonly durations: Histogram<"queue" | "task">;

  /** `load` gives the task runs running now and the slots (concurrency times queues). */
  constructor(load: () => { busy: number; slots: number }) {
    const registry = metricsRegistry();
    this.registry = registry;
    this.taskRuns = new Counter({
      name: `${METRIC_PREFIX}worker_task_runs_total`,
      help: "Task runs this worker ran to an end, by queue, task and outcome (completed, failed).",
      labelNames: ["queue", "task", "outcome"],
      registers: [registry],
    });
    this.durations = new Histogram({
      name: `${METRIC_PREFIX}worker_task_run_duration_seconds`,
      help: "Time this worker spent on each task run, by queue and task.",
      labelNames: ["queue", "task"],
      buckets: RUN_BUCKETS,
      registers: [registry],
    });
    new Gauge({
      name: `${METRIC_PREFIX}worker_busy_slots`,
      help: "Task runs this worker is running.",
      registers: [registry],
      collect() {
        this.set(load().busy);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}worker_slots`,
      help: "Task runs this worker can run at once (its concurrency times its queues).",
      registers: [registry],
      collect() {
        this.set(load().slots);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}worker_utilization`,
      help: "Busy slots over slots of this worker.",
      registers: [registry],
      collect() {
        const { busy, slots } = load();
        this.set(slots === 0 ? 0 : busy / slots);
      },
    });
  }

  taskRunEnded(end: { queue: string; taskName: string; ok: boolean; seconds: number }): void {
    // A job naming a task this code does not define counts as "unknown", keeping labels few.
    const task = findTask(end.taskName) ? end.taskName : "unknown";
    this.taskRuns.inc({ queue: end.queue, task, outcome: end.ok ? "completed" : "failed" });
    this.durations.observe({ queue: end.queue, task }, end.seconds);
  }
}
