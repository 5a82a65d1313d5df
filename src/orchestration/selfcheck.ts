// The diagnostic flow shipped with the runtime: fans out `tasks` task runs that sleep
// `sleep_ms`, of which a `fail_once` share fail their first attempt and pass on retry, then
// sums their results; with `sequential` they run one after another, which measures the
// latency of one task run. Docs, tests and benchmarks drive it; operators run it to check workers.
import { z } from "zod";
import { flow, task } from "./api.ts";

export interface SelfcheckItem {
  index: number;
  sleepMs: number;
  failFirstAttempt: boolean;
  /** When set, results are cached under it, so a re-run skips the items already done. */
  cacheKey?: string | undefined;
}

export const selfcheckItem = task(
  "selfcheck-item",
  async (item: SelfcheckItem, context) => {
    if (item.sleepMs > 0) await new Promise((resolve) => setTimeout(resolve, item.sleepMs));
    if (item.failFirstAttempt && context.attempt === 1)
      throw new Error(`selfcheck item ${item.index}: planned failure on the first attempt`);
    return { index: item.index, attempt: context.attempt, pid: process.pid };
  },
  {
    retries: 2,
    retryDelayMs: 0,
    cache: {
      key: (item) => (item.cacheKey === undefined ? undefined : [item.cacheKey, item.index]),
    },
    description: "sleeps, fails once when told to, returns its index",
  },
);

const summarize = task(
  "selfcheck-summary",
  (results: { index: number; attempt: number; pid: number }[]) => ({
    tasks: results.length,
    indexSum: results.reduce((sum, r) => sum + r.index, 0),
    retried: results.filter((r) => r.attempt > 1).length,
    processes: new Set(results.map((r) => r.pid)).size,
  }),
);

export const selfcheckParameters = z.strictObject({
  tasks: z.coerce.number().int().min(0).max(1_000_000).default(10),
  fail_once: z.coerce.number().min(0).max(1).default(0),
  sleep_ms: z.coerce.number().int().min(0).max(3_600_000).default(0),
  cache_key: z.string().min(1).optional(),
  sequential: z
    .union([z.boolean(), z.enum(["true", "false"]).transform((v) => v === "true")])
    .default(false),
});

export const selfcheck = flow(
  "selfcheck",
  async (parameters, context) => {
    const failing = Math.round(parameters.tasks * parameters.fail_once);
    context.log(
      `fanning out ${parameters.tasks} tasks (${failing} fail once, ${parameters.sleep_ms} ms each)`,
    );
    const items = Array.from({ length: parameters.tasks }, (_, index) => ({
      index,
      sleepMs: parameters.sleep_ms,
      failFirstAttempt: index < failing,
      cacheKey: parameters.cache_key,
    }));
    const results = [];
    if (parameters.sequential) for (const item of items) results.push(await selfcheckItem(item));
    else results.push(...(await Promise.all(selfcheckItem.map(items).map((f) => f.result()))));
    const summary = await summarize(results);
    context.log(`done: ${JSON.stringify(summary)}`);
    return summary;
  },
  {
    parameters: selfcheckParameters,
    description:
      "diagnostic: fans out `tasks` tasks sleeping `sleep_ms` (one after another with `sequential`), a `fail_once` share failing their first attempt",
  },
);
