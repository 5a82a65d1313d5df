// Task and flow results persisted in the object store as JSON, with an optional expiry: the
// cache that lets a re-run skip work a crashed run already finished.
import { randomBytes } from "node:crypto";
import type { ObjectStore } from "../storage/object-store.ts";

interface StoredResult {
  storedAt: number;
  expiresAt: number | null;
  value: unknown;
}

export const RESULTS_PREFIX = "orchestration";

export function cachedResultKey(cacheKey: string): string {
  return `${RESULTS_PREFIX}/cache/${cacheKey.slice(0, 2)}/${cacheKey}.json`;
}

/**
 * A fresh key for the result of one attempt of a task run: two workers that both ran it (the
 * queue lost its job mid-run) never overwrite each other, so the result the record names is
 * the one of the execution that the record says completed it.
 */
export function newTaskResultKey(flowRunId: string, taskRunId: string, attempt: number): string {
  const nonce = randomBytes(4).toString("hex");
  return `${RESULTS_PREFIX}/results/${flowRunId}/${taskRunId}/${attempt}-${nonce}.json`;
}

export function flowResultKey(flowRunId: string): string {
  return `${RESULTS_PREFIX}/results/${flowRunId}/flow.json`;
}

export class ResultStore {
  constructor(readonly store: ObjectStore) {}

  async write(key: string, value: unknown, expiresInMs?: number): Promise<void> {
    const now = Date.now();
    const stored: StoredResult = {
      storedAt: now,
      expiresAt: expiresInMs === undefined ? null : now + expiresInMs,
      value: value === undefined ? null : value,
    };
    await this.store.put(key, JSON.stringify(stored), { contentType: "application/json" });
  }

  async remove(key: string): Promise<void> {
    await this.store.delete(key);
  }

  /** The value under `key`, or undefined when there is none or it expired. */
  async read(key: string): Promise<{ value: unknown } | undefined> {
    let bytes: Uint8Array;
    try {
      if (!(await this.store.exists(key))) return undefined;
      bytes = await this.store.get(key);
    } catch {
      return undefined;
    }
    let stored: StoredResult;
    try {
      stored = JSON.parse(Buffer.from(bytes).toString("utf8")) as StoredResult;
    } catch {
      return undefined;
    }
    if (stored.expiresAt !== null && stored.expiresAt <= Date.now()) return undefined;
    return { value: stored.value };
  }
}
