// Orchestration overhead against the targets: per task run under 2 ms in-process and under
// 20 ms through Redis on loopback, and 10,000 queued task runs drained by 2 worker processes.
// Each case runs the selfcheck flow with tasks that do nothing, recorded in a fresh SQLite
// tracking database and a local object store. The reference beside our queue figures is
// bare BullMQ in the same run: a job added and processed by a no-op worker, one at a time
// and 10,000 at once, which is the floor any runtime on BullMQ pays.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Queue, QueueEvents, Worker } from "bullmq";
import { Redis } from "ioredis";
import type { QueueSettings } from "../src/orchestration/queue.ts";
import { QueueExecutor } from "../src/orchestration/queue-executor.ts";
import { Orchestrator } from "../src/orchestration/runtime.ts";
import { selfcheck } from "../src/orchestration/selfcheck.ts";
import { LocalObjectStore } from "../src/storage/local.ts";
import { sqliteUri } from "../src/tracking/uri.ts";
import { startRedis } from "../test/helpers/redis-server.ts";

const SEQUENTIAL = Number(process.env.BENCH_SEQUENTIAL ?? 300);
const FAN_OUT = Number(process.env.BENCH_FAN_OUT ?? 2_000);
const DRAIN = Number(process.env.BENCH_DRAIN ?? 10_000);
const WORKER_CONCURRENCY = 16;
const entry = fileURLToPath(new URL("../src/cli/entry.ts", import.meta.url));
const tsx = import.meta.resolve("tsx");

interface Row {
  what: string;
  tasks: number;
  seconds: number;
  perTaskMs: number;
  target?: string;
}
const rows: Row[] = [];

function record(what: string, tasks: number, ms: number, target?: string): void {
  rows.push({
    what,
    tasks,
    seconds: ms / 1000,
    perTaskMs: ms / tasks,
    ...(target ? { target } : {}),
  });
  console.error(
    `  ${what}: ${tasks} in ${(ms / 1000).toFixed(2)} s (${(ms / tasks).toFixed(3)} ms each)`,
  );
}

async function timeSelfcheck(
  orchestrator: Orchestrator,
  tasks: number,
  sequential: boolean,
): Promise<number> {
  const started = performance.now();
  const outcome = await orchestrator.run(selfcheck, { tasks, sequential });
  if (outcome.state !== "completed")
    throw new Error(`selfcheck ${outcome.state}: ${outcome.error}`);
  return performance.now() - started;
}

async function bareBullmq(url: string, prefix: string): Promise<void> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue("bare", { connection, prefix });
  const events = new QueueEvents("bare", { connection: connection.duplicate(), prefix });
  const worker = new Worker("bare", async () => 1, {
    connection,
    prefix,
    concurrency: WORKER_CONCURRENCY,
  });
  await Promise.all([events.waitUntilReady(), worker.waitUntilReady()]);
  for (let i = 0; i < 20; i++) await (await queue.add("x", { i })).waitUntilFinished(events);
  let started = performance.now();
  for (let i = 0; i < SEQUENTIAL; i++)
    await (await queue.add("x", { i })).waitUntilFinished(events);
  record(
    "bare BullMQ (reference): one job at a time, in this process",
    SEQUENTIAL,
    performance.now() - started,
  );
  started = performance.now();
  const jobs = await queue.addBulk(
    Array.from({ length: DRAIN }, (_, i) => ({ name: "x", data: { i } })),
  );
  await Promise.all(jobs.map((job) => job.waitUntilFinished(events)));
  record(
    `bare BullMQ (reference): ${DRAIN} jobs at once, 1 worker × ${WORKER_CONCURRENCY}`,
    DRAIN,
    performance.now() - started,
  );
  await worker.close();
  await events.close();
  await queue.close();
  connection.disconnect();
}

function startWorkerProcess(env: NodeJS.ProcessEnv, name: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      tsx,
      entry,
      "worker",
      "--name",
      name,
      "--concurrency",
      String(WORKER_CONCURRENCY),
      "-q",
    ],
    { env, stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`worker ${name} exited with ${code}`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes(`worker ${name}:`)) resolve(child);
    });
  });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "gc-bench-orchestration-"));
  const databaseUri = sqliteUri(join(dir, "tracking.db"));
  const storeRoot = join(dir, "store");
  const store = new LocalObjectStore(storeRoot);
  const redis = process.env.REDIS_URL
    ? { url: process.env.REDIS_URL, stop: async () => {} }
    : await startRedis();
  const children: ChildProcess[] = [];
  try {
    console.error(`in-process executor (SQLite at ${dir}):`);
    const local = await Orchestrator.open({ databaseUri, store });
    await timeSelfcheck(local, 50, true);
    record(
      "in-process: one task run at a time",
      SEQUENTIAL,
      await timeSelfcheck(local, SEQUENTIAL, true),
      "< 2 ms",
    );
    record(
      `in-process: ${FAN_OUT} task runs at once`,
      FAN_OUT,
      await timeSelfcheck(local, FAN_OUT, false),
      "< 2 ms",
    );
    await local.close();

    console.error(`BullMQ on ${redis.url}:`);
    await bareBullmq(redis.url, "bench-bare");
    const settings: QueueSettings = {
      redisUrl: redis.url,
      prefix: "bench-gc",
      defaultQueue: "tasks",
      lockMs: 30_000,
    };
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GENRE_CLASSIFIER_TRACKING_URI: databaseUri,
      GENRE_CLASSIFIER_STORAGE_URI: pathToFileURL(storeRoot).href,
      GENRE_CLASSIFIER_ORCHESTRATION_REDIS_URL: redis.url,
      GENRE_CLASSIFIER_ORCHESTRATION_REDIS_PREFIX: settings.prefix,
    };
    children.push(await startWorkerProcess(env, "bench-1"));
    const queued = await Orchestrator.open({
      databaseUri,
      store,
      executor: (deps) => QueueExecutor.open({ settings }, deps),
    });
    await timeSelfcheck(queued, 50, true);
    record(
      "BullMQ executor: one task run at a time, 1 worker process",
      SEQUENTIAL,
      await timeSelfcheck(queued, SEQUENTIAL, true),
      "< 20 ms",
    );
    children.push(await startWorkerProcess(env, "bench-2"));
    record(
      `BullMQ executor: ${DRAIN} task runs queued at once, 2 worker processes × ${WORKER_CONCURRENCY}`,
      DRAIN,
      await timeSelfcheck(queued, DRAIN, false),
      "drained",
    );
    await queued.close();
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
  console.log();
  console.log("| case | task runs | total s | per task run ms | target |");
  console.log("| --- | ---: | ---: | ---: | --- |");
  for (const row of rows)
    console.log(
      `| ${row.what} | ${row.tasks.toLocaleString("en")} | ${row.seconds.toFixed(2)} | ${row.perTaskMs.toFixed(3)} | ${row.target ?? "reference"} |`,
    );
  process.exit(0);
}

await main();
