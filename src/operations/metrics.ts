// What every process's Prometheus metrics share: a registry of its own (never prom-client's
// global one, so that several applications in one process, as in the tests, do not collide)
// with the standard process and Node.js metrics, the text answer, and readers of slow sources
// (the database, Redis) bounded in time and shared between scrapes.
import { collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export const METRIC_PREFIX = "genre_classifier_";

/** Seconds buckets for HTTP requests and online predictions. */
export const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds buckets for task runs and flow runs (a second to six hours). */
export const RUN_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];

/** A registry with the process metrics (`process_*`, `nodejs_*`) under their standard names. */
export function metricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export async function metricsAnswer(
  registry: Registry,
): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}

/**
 * A slow source read for a scrape: one read at a time (scrapes during a read share it), its
 * value reused for `reuseMs`, and a read that takes longer than `timeoutMs` given up (it
 * finishes unobserved; the next scrape starts no second read while it runs).
 */
export class BoundedSource<T> {
  private reading: Promise<T> | undefined;
  private last: { value: T; at: number } | undefined;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly options: { timeoutMs: number; reuseMs: number },
  ) {}

  async value(): Promise<T> {
    if (this.last && Date.now() - this.last.at < this.options.reuseMs) return this.last.value;
    if (!this.reading) {
      const reading = this.read();
      this.reading = reading;
      reading.then(
        (value) => {
          this.last = { value, at: Date.now() };
        },
        () => {},
      );
      void reading
        .catch(() => {})
        .finally(() => {
          if (this.reading === reading) this.reading = undefined;
        });
    }
    const pending = this.reading;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.options.timeoutMs / 1000} s`)),
        this.options.timeoutMs,
      );
    });
    try {
      return await Promise.race([pending, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * `genre_classifier_metrics_source_up{source}`: 1 when the last scrape read the source, 0 when
 * it failed or timed out (its metrics are then left out of that scrape rather than stale).
 */
export function sourceUpGauge(registry: Registry): Gauge<"source"> {
  return new Gauge({
    name: `${METRIC_PREFIX}metrics_source_up`,
    help: "Whether the last scrape could read the source of some metrics (1) or not (0): the tracking database, Redis.",
    labelNames: ["source"],
    registers: [registry],
  });
}

/** `genre_classifier_flow_run_duration_seconds{flow,state}`: the flow runs this process ran. */
export function flowRunDurationHistogram(registry: Registry): Histogram<"flow" | "state"> {
  return new Histogram({
    name: `${METRIC_PREFIX}flow_run_duration_seconds`,
    help: "Flow runs this process ran, from start to end, by flow and final state.",
    labelNames: ["flow", "state"],
    buckets: RUN_BUCKETS,
    registers: [registry],
  });
}
