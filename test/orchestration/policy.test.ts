// Retry delays (fixed, list, exponential with a cap, jitter bounds) and cache keys that ignore
// object key order but not values or the task's version.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cacheKeyOf, retryDelayMs } from "../../src/orchestration/policy.ts";

describe("retry delays and cache keys", () => {
  it("computes fixed, listed and exponential delays", () => {
    assert.equal(retryDelayMs(100, 3), 100);
    assert.deepEqual(
      [1, 2, 3, 4].map((a) => retryDelayMs([10, 20, 30], a)),
      [10, 20, 30, 30],
    );
    const exponential = { exponential: { baseMs: 100, factor: 2, maxMs: 500 } };
    assert.deepEqual(
      [1, 2, 3, 4].map((a) => retryDelayMs(exponential, a)),
      [100, 200, 400, 500],
    );
    assert.equal(retryDelayMs(undefined, 1), 0);
  });

  it("keeps jittered delays within the share given", () => {
    for (let i = 0; i < 200; i++) {
      const delay = retryDelayMs(1000, 1, 0.2);
      assert.ok(delay >= 800 && delay <= 1200, String(delay));
    }
  });

  it("hashes inputs whatever their key order, with the version", () => {
    assert.equal(cacheKeyOf("t", "1", { a: 1, b: [2] }), cacheKeyOf("t", "1", { b: [2], a: 1 }));
    assert.notEqual(cacheKeyOf("t", "1", { a: 1 }), cacheKeyOf("t", "2", { a: 1 }));
    assert.notEqual(cacheKeyOf("t", "1", { a: 1 }), cacheKeyOf("t", "1", { a: 2 }));
  });
});
