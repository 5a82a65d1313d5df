// The metrics a `scheduler` exposes on its health listener: the runs it started by deployment,
// the flow runs running in it, and how long the flow runs it ran took.
import { Counter, Gauge, type Histogram, type Registry } from "prom-client";
import { flowRunDurationHistogram, METRIC_PREFIX, metricsRegistry } from "./metrics.ts";

export class SchedulerMetrics {
  readonly registry: Registry;
  private readonly started: Counter<"deployment">;
  private readonly flowRunDuration: Histogram<"flow" | "state">;

  /** `activeFlowRuns` gives the flow runs running in this process now. */
  constructor(activeFlowRuns: () => number) {
    const registry = metricsRegistry();
    this.registry = registry;
    this.started = new Counter({
      name: `${METRIC_PREFIX}scheduler_started_runs_total`,
      help: "Flow runs this scheduler started for due deployment ticks, by deployment.",
      labelNames: ["deployment"],
      registers: [registry],
    });
    new Gauge({
      name: `${METRIC_PREFIX}scheduler_active_flow_runs`,
      help: "Flow runs running in this scheduler's process.",
      registers: [registry],
      collect() {
        this.set(activeFlowRuns());
      },
    });
    this.flowRunDuration = flowRunDurationHistogram(registry);
  }

  runStarted(deployment: string): void {
    this.started.inc({ deployment });
  }

  flowRunEnded(end: { flow: string; state: string; seconds: number }): void {
    this.flowRunDuration.observe({ flow: end.flow, state: end.state }, end.seconds);
  }
}
