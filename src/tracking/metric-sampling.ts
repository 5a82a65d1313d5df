// MLflow's `metrics/get-history-bulk-interval` (the UI's metric charts): one metric of up to
// 100 runs, sampled to at most `maxResults` steps over a step range, keeping each run's first
// and last step, with MLflow's limits, messages and sampling; and the charts a run's page or a
// comparison of runs draws with it.
import type { Metric } from "./entities.ts";
import { invalidParameter } from "./errors.ts";
import type { TrackingStore } from "./store.ts";

const MAX_RUNS = 100;
const MAX_RESULTS_PER_RUN = 2500;
const MAX_RESULTS_PER_REQUEST = 25_000;
const API_DOCS_HINT = "See the API docs for more information about request parameters.";

export interface BulkIntervalQuery {
  runIds: string[];
  metricKey: string;
  startStep?: number | undefined;
  endStep?: number | undefined;
  maxResults?: number | undefined;
}

export interface MetricOfRun extends Metric {
  runId: string;
}

export async function metricHistoryBulkInterval(
  tracking: TrackingStore,
  query: BulkIntervalQuery,
): Promise<MetricOfRun[]> {
  const { runIds, metricKey, startStep, endStep } = query;
  if (runIds.length > MAX_RUNS)
    throw invalidParameter(
      `GetMetricHistoryBulkInterval request must specify at most ${MAX_RUNS} run_ids. Received ${runIds.length} run_ids. ${API_DOCS_HINT}`,
    );
  const maxResults = query.maxResults ?? MAX_RESULTS_PER_RUN;
  if (maxResults < 1 || maxResults > MAX_RESULTS_PER_RUN)
    throw invalidParameter(
      `max_results must be between 1 and ${MAX_RESULTS_PER_RUN}. ${API_DOCS_HINT}`,
    );
  if ((startStep === undefined) !== (endStep === undefined))
    throw invalidParameter(
      "If either start step or end step are specified, both must be specified.",
    );
  if (startStep !== undefined && endStep !== undefined && startStep > endStep)
    throw invalidParameter(
      `end_step must be greater than start_step. Found start_step=${startStep} and end_step=${endStep}.`,
    );

  const histories: MetricOfRun[][] = [];
  for (const runId of runIds) {
    const { items } = await tracking.getMetricHistory(runId, metricKey);
    histories.push(items.map((metric) => ({ ...metric, runId })));
  }
  const allSteps = [...new Set(histories.flat().map((m) => m.step))].sort((a, b) => a - b);
  const start = startStep ?? 0;
  const end = endStep ?? allSteps.at(-1) ?? 0;
  const steps = sampledSteps(start, end, maxResults, allSteps);
  for (const history of histories) {
    if (history.length === 0) continue;
    const runSteps = history.map((m) => m.step);
    for (const edge of [Math.min(...runSteps), Math.max(...runSteps)])
      if (edge >= start && edge <= end) steps.add(edge);
  }
  return histories.flatMap((history) =>
    history.filter((m) => steps.has(m.step)).slice(0, MAX_RESULTS_PER_REQUEST),
  );
}

export interface MetricChart {
  key: string;
  history: MetricOfRun[];
}

/**
 * What a page charts for `runIds`: their metrics logged more than once (one run's in the
 * database's order, several runs' together sorted by name), the first `maxCharts` of them
 * sampled to at most `maxPoints` steps, and how many such metrics there are in all.
 */
export async function metricCharts(
  tracking: TrackingStore,
  runIds: string[],
  limits: { maxCharts: number; maxPoints: number },
): Promise<{ charts: MetricChart[]; keysWithHistory: number }> {
  const byRun = await tracking.metricKeysWithHistory(runIds);
  const keys = [...new Set([...byRun.values()].flat())];
  if (runIds.length > 1) keys.sort();
  const charts = await Promise.all(
    keys.slice(0, limits.maxCharts).map(async (key) => ({
      key,
      history: await metricHistoryBulkInterval(tracking, {
        runIds,
        metricKey: key,
        maxResults: limits.maxPoints,
      }),
    })),
  );
  return { charts, keysWithHistory: keys.length };
}

/**
 * MLflow's `_get_sampled_steps_from_steps`: every step in range when they fit, otherwise
 * `maxResults` steps at even index intervals plus the last one. (Like MLflow, it compares
 * the sampled index with the number of steps in range rather than the range's end.)
 */
function sampledSteps(
  start: number,
  end: number,
  maxResults: number,
  steps: number[],
): Set<number> {
  const startIndex = lowerBound(steps, start);
  const endIndex = lowerBound(steps, end + 1);
  if (endIndex - startIndex <= maxResults) return new Set(steps.slice(startIndex, endIndex));
  const count = endIndex - startIndex;
  const interval = count / maxResults;
  const sampled = new Set<number>();
  for (let i = 0; i < maxResults; i++) {
    const index = startIndex + Math.trunc(i * interval);
    if (index < count) sampled.add(steps[index] as number);
  }
  sampled.add(steps[endIndex - 1] as number);
  return sampled;
}

/** The first index whose step is at least `value`, in sorted `steps`. */
function lowerBound(steps: number[], value: number): number {
  let low = 0;
  let high = steps.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((steps[middle] as number) < value) low = middle + 1;
    else high = middle;
  }
  return low;
}
