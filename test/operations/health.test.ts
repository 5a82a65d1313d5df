// Readiness and its listener: checks run at once and each gives up at its timeout, a round is
// shared by concurrent callers and reused for a second, passwords are masked in errors, the
// bearer comparison, the bounded reads of slow metric sources, and the health listener's
// answers (404, 405, HEAD, 401 without the token on /metrics, 503 once stopping).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Gauge, Registry } from "prom-client";
import { silentLogger } from "../../src/common/logger.ts";
import {
  bearerMatches,
  checkReadiness,
  HealthState,
  ReadinessProbe,
  redactSecrets,
} from "../../src/operations/health.ts";
import { startHealthListener } from "../../src/operations/health-listener.ts";
import { BoundedSource } from "../../src/operations/metrics.ts";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("readiness", () => {
  it("runs the checks at once, each bounded by the timeout, naming what failed", async () => {
    const started = Date.now();
    const readiness = await checkReadiness(
      [
        { name: "fast", probe: () => sleep(10) },
        { name: "hung", probe: () => new Promise(() => {}) },
        {
          name: "refused",
          probe: async () => {
            throw new Error("connect ECONNREFUSED for postgres://app:hunter2@db:5432/x");
          },
        },
      ],
      300,
    );
    const ms = Date.now() - started;
    assert.ok(ms >= 290 && ms < 1000, `${ms} ms`);
    assert.equal(readiness.ready, false);
    assert.equal(readiness.checks.fast?.ok, true);
    assert.equal(readiness.checks.hung?.error, "no answer within 0.3 s");
    assert.equal(
      readiness.checks.refused?.error,
      "connect ECONNREFUSED for postgres://app:****@db:5432/x",
    );
  });

  it("shares a round between concurrent callers and reuses it for a second", async () => {
    let runs = 0;
    const probe = new ReadinessProbe([
      {
        name: "counted",
        probe: async () => {
          runs++;
          await sleep(50);
        },
      },
    ]);
    await Promise.all([probe.read(), probe.read(), probe.read()]);
    assert.equal(runs, 1);
    await probe.read();
    assert.equal(runs, 1, "reused within a second");
    await sleep(1_050);
    await probe.read();
    assert.equal(runs, 2);
  });

  it("masks passwords in any URI and bounds the length", () => {
    assert.equal(
      redactSecrets("a redis://:pw@h:1 and rediss://u:p%40ss@h2 b"),
      "a redis://:****@h:1 and rediss://u:****@h2 b",
    );
    assert.equal(redactSecrets("x".repeat(400)).length, 301);
  });

  it("compares bearer tokens exactly", () => {
    assert.equal(bearerMatches("Bearer abc", "abc"), true);
    assert.equal(bearerMatches("bearer  abc ", "abc"), true);
    assert.equal(bearerMatches("Bearer abd", "abc"), false);
    assert.equal(bearerMatches("Basic abc", "abc"), false);
    assert.equal(bearerMatches(undefined, "abc"), false);
  });
});

describe("BoundedSource", () => {
  it("reads once for concurrent scrapes, reuses the value, and gives up on a slow read without starting another", async () => {
    let reads = 0;
    let delay = 20;
    const source = new BoundedSource(
      async () => {
        reads++;
        await sleep(delay);
        return reads;
      },
      { timeoutMs: 200, reuseMs: 100 },
    );
    assert.deepEqual(await Promise.all([source.value(), source.value()]), [1, 1]);
    assert.equal(await source.value(), 1, "reused");
    await sleep(120);
    delay = 500;
    await assert.rejects(source.value(), /no answer within 0\.2 s/);
    await assert.rejects(source.value(), /no answer within 0\.2 s/);
    assert.equal(reads, 2, "the slow read is not started twice");
    delay = 20;
    await sleep(800);
    assert.equal(await source.value(), 3, "a fresh read once the slow one has ended");
  });
});

describe("health listener", () => {
  it("answers /healthz, /readyz and /metrics only, GET and HEAD only, /metrics with the token", async () => {
    const registry = new Registry();
    new Gauge({ name: "test_gauge", help: "a gauge", registers: [registry] }).set(3);
    const state = new HealthState();
    const listener = await startHealthListener({
      host: "127.0.0.1",
      port: 0,
      what: "test",
      state,
      readiness: new ReadinessProbe([{ name: "fine", probe: async () => {} }]),
      registry,
      metricsToken: "listener-token",
      log: silentLogger,
    });
    try {
      const { url } = listener;
      assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: "ok" });
      const ready = await fetch(`${url}/readyz?verbose=1`);
      assert.equal(ready.status, 200);
      assert.equal(((await ready.json()) as { status: string }).status, "ok");
      assert.equal((await fetch(`${url}/`)).status, 404);
      const posted = await fetch(`${url}/healthz`, { method: "POST" });
      assert.equal(posted.status, 405);
      assert.equal(posted.headers.get("allow"), "GET, HEAD");
      const head = await fetch(`${url}/healthz`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), "");
      const refused = await fetch(`${url}/metrics`);
      assert.equal(refused.status, 401);
      assert.match(refused.headers.get("www-authenticate") ?? "", /^Bearer/);
      const metrics = await fetch(`${url}/metrics`, {
        headers: { authorization: "Bearer listener-token" },
      });
      assert.match(await metrics.text(), /^test_gauge 3$/m);
      state.beginStopping();
      assert.equal((await fetch(`${url}/healthz`)).status, 503);
      assert.deepEqual(await (await fetch(`${url}/readyz`)).json(), {
        status: "stopping",
        checks: {},
      });
    } finally {
      await listener.close();
    }
  });

  it("names --health-port when the port is taken", async () => {
    const options = {
      host: "127.0.0.1",
      what: "worker w",
      state: new HealthState(),
      readiness: new ReadinessProbe([]),
      registry: new Registry(),
      metricsToken: undefined,
      log: silentLogger,
    };
    const first = await startHealthListener({ ...options, port: 0 });
    try {
      const port = Number(new URL(first.url).port);
      await assert.rejects(
        startHealthListener({ ...options, port }),
        /worker w: --health-port: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/,
      );
    } finally {
      await first.close();
    }
  });
});
