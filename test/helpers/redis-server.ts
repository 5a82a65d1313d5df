// Redis for the queue tests: the one `.ci/run` started (REDIS_TEST_URL, shared, so each test
// uses its own key prefix), or a redis-server of our own on a free port of 127.0.0.1, which
// the tests that restart Redis need. Without a redis-server binary those tests are skipped.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import type { QueueSettings } from "../../src/orchestration/queue.ts";

export const REDIS_BINARY = process.env.REDIS_SERVER_BIN ?? "redis-server";

/** Why the Redis tests cannot run here, or undefined when they can. */
export function redisUnavailable(): string | undefined {
  if (process.env.REDIS_TEST_URL) return undefined;
  const probe = spawnSync(REDIS_BINARY, ["--version"], { encoding: "utf8" });
  return probe.status === 0
    ? undefined
    : `no ${REDIS_BINARY} here and REDIS_TEST_URL is unset (.ci/run installs and starts Redis)`;
}

/** Queue settings with a fresh prefix on the shared test Redis (or a private one). */
export function testQueueSettings(url: string, lockMs = 2_000): QueueSettings {
  return {
    redisUrl: url,
    prefix: `gc-test-${randomUUID().slice(0, 8)}`,
    defaultQueue: "tasks",
    lockMs,
  };
}

export interface RedisServer {
  url: string;
  port: number;
  /** Stops it (SIGKILL: nothing saved) and starts a fresh one on the same port. */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function waitForPing(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
}

/** A private redis-server without persistence, in a temporary folder. */
export async function startRedis(): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "gc-redis-"));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn(
      REDIS_BINARY,
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { cwd: dir, stdio: "ignore" },
    );
    await waitForPing(url);
  };
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGKILL");
    await exited;
  };
  await launch();
  return {
    url,
    port,
    async restart(downMs = 0) {
      await kill();
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The shared test Redis when `.ci/run` started one, else a private one. */
export async function sharedRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const url = process.env.REDIS_TEST_URL;
  if (url) return { url, stop: async () => {} };
  return startRedis();
}
