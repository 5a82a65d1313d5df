// The arithmetic of task options: retry delays (fixed, a list, or exponential backoff, with
// jitter), and cache keys (a hash of the task's name, version and inputs).
import { createHash } from "node:crypto";

export type RetryDelay =
  | number
  | readonly number[]
  | { exponential: { baseMs: number; factor?: number; maxMs?: number } };

/** The wait before attempt `attempt + 1`, after attempt `attempt` (1-based) failed. */
export function retryDelayMs(delay: RetryDelay | undefined, attempt: number, jitter = 0): number {
  let base: number;
  if (delay === undefined) base = 0;
  else if (typeof delay === "number") base = delay;
  else if (Array.isArray(delay))
    base = delay.length === 0 ? 0 : (delay[Math.min(attempt, delay.length) - 1] ?? 0);
  else {
    const {
      baseMs,
      factor = 2,
      maxMs = Number.POSITIVE_INFINITY,
    } = (delay as { exponential: { baseMs: number; factor?: number; maxMs?: number } }).exponential;
    base = Math.min(maxMs, baseMs * factor ** (attempt - 1));
  }
  if (jitter <= 0 || base <= 0) return base;
  const spread = base * Math.min(jitter, 1);
  return Math.max(0, base - spread + Math.random() * 2 * spread);
}

/** JSON with object keys sorted, so equal values give equal text whatever their key order. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item && typeof item === "object" && !Array.isArray(item) && !(item instanceof Date)) {
      const sorted: Record<string, unknown> = {};
      for (const key of Object.keys(item as object).sort())
        sorted[key] = (item as Record<string, unknown>)[key];
      return sorted;
    }
    return item;
  });
}

export function cacheKeyOf(taskName: string, version: string, keyMaterial: unknown): string {
  return createHash("sha256")
    .update(stableJson({ task: taskName, version, inputs: keyMaterial ?? null }))
    .digest("hex");
}
