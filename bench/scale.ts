// bench:scale: partitioned preprocess and batch predict on `worker` processes, against the
// one-process run. It starts its own services on 127.0.0.1 — a throwaway PostgreSQL cluster
// (runs recorded there), redis-server (the BullMQ queues) and s3rver (the object store) —
// generates synthetic MSD tracks once (kept in node_modules/.cache/bench-scale/), ingests
// them, and for each store (S3 on s3rver, and a local folder shared by the processes, which
// shows the workers' own scaling without an S3 server on the same cores) measures:
//
//   in-process         the flow in one process, every core (the one-process path)
//   1 worker, 1 task   the whole step as one task on one worker (partition_size=0)
//   1 worker           partitions on one worker process pinned to one CPU
//   2 workers          partitions on two worker processes, each pinned to its own CPU
//
// Throughput is tracks over the flow run's recorded time (start to end, as PostgreSQL has it;
// not the command's start-up). The per-partition overhead is what partitioning adds on one
// worker: (1 worker − 1 worker, 1 task) / partitions, the merge included. Memory is the peak
// resident set of the worker processes. Every partitioned output is checked byte for byte
// against the in-process run's. Everything started is stopped at the end, on failure and on
// Ctrl-C. The machine is shared: the load average is printed with each figure.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chown, link, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { readTable } from "../src/features/table.ts";
import { ingest } from "../src/ingest/ingest.ts";
import { generateSubset } from "../src/msd/synth.ts";
import { LocalObjectStore } from "../src/storage/local.ts";
import type { ObjectStore } from "../src/storage/object-store.ts";
import { S3ObjectStore, type S3Settings } from "../src/storage/s3.ts";
import { StoreTrackingClient } from "../src/tracking/client.ts";
import { startRedis } from "../test/helpers/redis-server.ts";

const repo = fileURLToPath(new URL("..", import.meta.url));
const entry = join(repo, "src/cli/entry.ts");
const tsx = import.meta.resolve("tsx");
const cacheRoot = join(repo, "node_modules/.cache/bench-scale");
const SEED = 2024;
const BUCKET = "bench";
const MODEL = "genre-classifier";

const { values: flags } = parseArgs({
  options: {
    tracks: { type: "string", default: "20000" },
    "partition-size": { type: "string" },
    "predict-partition-size": { type: "string" },
    "skip-generate": { type: "boolean", default: false },
    stores: { type: "string", default: "s3,folder" },
    "no-pin": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (flags.help) {
  console.log(`npm run bench:scale -- [options]
  --tracks <n>                  synthetic tracks (default 20000; generated once, cached)
  --partition-size <n>          preprocess: track files per partition (default tracks/20)
  --predict-partition-size <n>  predict: rows per partition (default rows/8)
  --skip-generate               use the cached tracks; fail if they are not there
  --stores <s3,folder>          which stores to measure (default both)
  --no-pin                      do not pin each worker process to its own CPU (taskset)`);
  process.exit(0);
}

function wholeNumber(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} ${value}: expected a whole number of at least ${min}`);
    process.exit(2);
  }
  return n;
}
const TRACKS = wholeNumber("tracks", flags.tracks, 20) as number;
const PARTITION = wholeNumber("partition-size", flags["partition-size"], 1);
const PREDICT_PARTITION = wholeNumber("predict-partition-size", flags["predict-partition-size"], 1);
const STORES = (flags.stores ?? "").split(",").filter(Boolean);
if (STORES.length === 0 || STORES.some((s) => s !== "s3" && s !== "folder")) {
  console.error(`--stores ${flags.stores}: expected s3, folder or s3,folder`);
  process.exit(2);
}
const PIN = !flags["no-pin"] && existsSync("/usr/bin/taskset");

// ---- what was started, stopped in reverse order whatever happens --------------------------

const stops: { what: string; stop: () => Promise<void> }[] = [];
let stopping: Promise<void> | undefined;
function stopAll(): Promise<void> {
  stopping ??= (async () => {
    for (const { what, stop } of stops.splice(0).reverse()) {
      await stop().catch((error: Error) => console.error(`  stopping ${what}: ${error.message}`));
    }
  })();
  return stopping;
}
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    console.error(`\n${signal}: stopping what the bench started…`);
    void stopAll().then(() => process.exit(130));
  });

const log = (line: string) => console.error(line);

/** CPU seconds a process has used (user + system), from /proc; 0 once it is gone. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}
let s3rverPid: number | undefined;
const load = () => loadavg()[0]?.toFixed(1) ?? "?";

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** A child process that is killed at the end if it is still running. */
function track(child: ChildProcess, what: string): ChildProcess {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  stops.push({
    what,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  });
  return child;
}

// ---- services ------------------------------------------------------------------------------

async function startPostgres(): Promise<string> {
  const bin = readdirSafe("/usr/lib/postgresql")
    .map((v) => join("/usr/lib/postgresql", v, "bin"))
    .filter((b) => existsSync(join(b, "initdb")))
    .sort()
    .at(-1);
  if (!bin) throw new Error("no PostgreSQL under /usr/lib/postgresql (apt-get install postgresql)");
  const dir = await mkdtemp(join(tmpdir(), "gc-bench-postgres-"));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    await chown(dir, uid, gid);
  }
  const as = (command: string, args: string[]) =>
    asRoot
      ? execFileSync("runuser", ["-u", "postgres", "--", command, ...args], { stdio: "pipe" })
      : execFileSync(command, args, { stdio: "pipe" });
  const port = await freePort();
  as(join(bin, "initdb"), [
    "-D",
    join(dir, "data"),
    "-U",
    "postgres",
    "--auth=trust",
    "-E",
    "UTF8",
  ]);
  const ctl = join(bin, "pg_ctl");
  stops.push({
    what: "PostgreSQL",
    stop: async () => {
      as(ctl, ["-D", join(dir, "data"), "-m", "fast", "-w", "stop"]);
      await rm(dir, { recursive: true, force: true });
    },
  });
  as(ctl, [
    "-D",
    join(dir, "data"),
    "-l",
    join(dir, "server.log"),
    "-w",
    "-o",
    `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=200`,
    "start",
  ]);
  return `postgres://postgres@127.0.0.1:${port}`;
}

function readdirSafe(path: string): string[] {
  try {
    return execFileSync("ls", [path], { encoding: "utf8" }).split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

async function createDatabase(server: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: `${server}/postgres` });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  return `${server}/${name}`;
}

/** s3rver on its own folder in the cache, so that a re-run finds the tracks already there. */
async function startS3(): Promise<S3Settings & { endpoint: string }> {
  const directory = join(cacheRoot, `s3rver-${TRACKS}-${SEED}`);
  await mkdir(directory, { recursive: true });
  const script = join(repo, "test/helpers/s3rver-process.mjs");
  const child = track(
    spawn(process.execPath, ["--openssl-legacy-provider", script, directory, BUCKET], {
      stdio: ["pipe", "pipe", "inherit"],
    }),
    "s3rver",
  );
  s3rverPid = child.pid;
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`s3rver exited with code ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", (line) =>
      resolve(JSON.parse(line).port),
    );
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    forcePathStyle: true,
    accessKeyId: "S3RVER",
    secretAccessKey: "S3RVER",
    maxAttempts: 5,
    partSizeMib: 8,
    uploadConcurrency: 4,
  };
}

// ---- the synthetic tracks, generated once -------------------------------------------------

async function syntheticTracks(): Promise<string> {
  const dir = join(cacheRoot, `tracks-${TRACKS}-seed-${SEED}`);
  const done = join(dir, "complete.json");
  if (existsSync(done)) return join(dir, "data");
  if (flags["skip-generate"])
    throw new Error(`--skip-generate: no cached tracks in ${dir}; run once without it`);
  await rm(dir, { recursive: true, force: true });
  log(
    `generating ${TRACKS} synthetic tracks (compressed, like the MSD's) into ${relative(repo, dir)} …`,
  );
  const started = Date.now();
  let shown = 0;
  await generateSubset({
    tracks: TRACKS,
    outDir: dir,
    seed: SEED,
    compress: true,
    onProgress: (n, total) => {
      if (n - shown >= total / 20 || n === total) {
        shown = n;
        log(`  ${n}/${total} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
      }
    },
  });
  await writeFile(done, JSON.stringify({ tracks: TRACKS, seed: SEED, compress: true }));
  return join(dir, "data");
}

async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".h5"))
    .map((e) => join(e.parentPath, e.name));
}

// ---- the command line and the records of its runs -----------------------------------------

interface RunRecord {
  id: string;
  seconds: number;
  result: Record<string, unknown>;
  tasks: {
    task_name: string;
    state: string;
    worker: string | null;
    started_at: number;
    ended_at: number;
  }[];
}

function cli(args: string[], env: NodeJS.ProcessEnv, prefix: string[] = []): ChildProcess {
  const [command, ...rest] = [...prefix, process.execPath, "--import", tsx, entry, ...args];
  return spawn(command as string, rest, { cwd: repo, env, stdio: ["ignore", "pipe", "pipe"] });
}

async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const child = track(cli(args, env), `genre-classifier ${args[0]}`);
  let out = "";
  let err = "";
  child.stdout?.on("data", (c) => {
    out += c;
  });
  child.stderr?.on("data", (c) => {
    err += c;
  });
  const code = await new Promise<number>((resolve) => child.once("close", (c) => resolve(c ?? 1)));
  if (code !== 0)
    throw new Error(`genre-classifier ${args.join(" ")} exited with ${code}:\n${err}${out}`);
  return out;
}

async function flowRun(
  flow: string,
  params: Record<string, string | number>,
  env: NodeJS.ProcessEnv,
) {
  const args = ["flows", "run", flow, "--wait"];
  for (const [k, v] of Object.entries(params)) args.push("--param", `${k}=${v}`);
  const out = await runCli(args, env);
  const id = /^flow run (\S+)/m.exec(out)?.[1] as string;
  const shown = JSON.parse(await runCli(["flows", "runs", "show", id, "--json"], env));
  const run = shown.flow_run as { started_at: number; ended_at: number };
  return {
    id,
    seconds: (run.ended_at - run.started_at) / 1000,
    result: JSON.parse(/^result: (.*)$/m.exec(out)?.[1] ?? "{}"),
    tasks: shown.task_runs,
  } as RunRecord;
}

/** Worker processes, each pinned to its own CPU, with their peak resident set sampled. */
async function startWorkers(count: number, env: NodeJS.ProcessEnv) {
  const children: ChildProcess[] = [];
  for (let i = 0; i < count; i++) {
    const name = `w${i + 1}`;
    const pin = PIN ? ["/usr/bin/taskset", "-c", String(i % availableParallelism())] : [];
    children.push(
      track(cli(["worker", "--name", name, "--concurrency", "1"], env, pin), `worker ${name}`),
    );
  }
  await Promise.all(
    children.map(
      (child, i) =>
        new Promise<void>((resolve, reject) => {
          let text = "";
          const look = (chunk: Buffer) => {
            text += chunk;
            if (new RegExp(`worker w${i + 1}`).test(text)) resolve();
          };
          child.stdout?.on("data", look);
          child.stderr?.on("data", look);
          child.once("exit", (code) => reject(new Error(`worker exited with ${code}:\n${text}`)));
        }),
    ),
  );
  // CPU from here on: the work, not the start-up.
  const startCpu = children.reduce((sum, child) => sum + cpuSeconds(child.pid), 0);
  const peak = new Map<number, number>();
  const sample = () => {
    for (const child of children) {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
        const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
        peak.set(child.pid as number, Math.max(peak.get(child.pid as number) ?? 0, kib));
      } catch {}
    }
  };
  const timer = setInterval(sample, 250);
  return {
    /** Stops the workers; gives their peak resident set (MiB) and CPU seconds. */
    async stop(): Promise<{ peakMib: number; cpu: number }> {
      sample();
      clearInterval(timer);
      const cpu = children.reduce((sum, child) => sum + cpuSeconds(child.pid), 0) - startCpu;
      for (const child of children) child.kill("SIGTERM");
      await Promise.all(
        children.map((c) =>
          c.exitCode !== null ? undefined : new Promise((r) => c.once("exit", r)),
        ),
      );
      return { peakMib: Math.max(...peak.values()) / 1024, cpu };
    },
  };
}

// ---- one store ----------------------------------------------------------------------------

interface Row {
  store: string;
  step: string;
  mode: string;
  tracks: number;
  seconds: number;
  partitions: number;
  overheadMs?: number;
  mergeSeconds?: number;
  peakMib?: number;
  /** CPU milliseconds per track: of the worker processes, and of the S3 server. */
  workerCpuMs?: number;
  s3CpuMs?: number;
  identical?: boolean;
  load: string;
}
const rows: Row[] = [];

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function benchStore(kind: "s3" | "folder", server: string, redisUrl: string, data: string) {
  const files = await filesUnder(data);
  let store: ObjectStore;
  let storeUri: string;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_EC2_METADATA_DISABLED: "true",
    GENRE_CLASSIFIER_TRACKING_URI: await createDatabase(server, `bench_${kind}_${Date.now()}`),
    GENRE_CLASSIFIER_ORCHESTRATION_HEARTBEAT_SECONDS: "1",
  };
  if (kind === "s3") {
    const s3 = await startS3();
    store = new S3ObjectStore(BUCKET, "", s3);
    storeUri = `s3://${BUCKET}`;
    Object.assign(env, {
      GENRE_CLASSIFIER_STORAGE_S3_ENDPOINT: s3.endpoint,
      GENRE_CLASSIFIER_STORAGE_S3_FORCE_PATH_STYLE: "true",
      GENRE_CLASSIFIER_STORAGE_S3_ACCESS_KEY_ID: s3.accessKeyId,
      GENRE_CLASSIFIER_STORAGE_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
    // Outputs of an earlier run go; the tracks stay and ingest leaves unchanged ones alone.
    const stale: string[] = [];
    for await (const info of store.listAll(""))
      if (!info.key.startsWith("raw/")) stale.push(info.key);
    for (const key of stale) await store.delete(key);
    log(`[s3] ingesting ${files.length} track files into ${storeUri} (s3rver) …`);
    const started = Date.now();
    const summary = await ingest({ source: data, store, prefix: "raw/msd" });
    log(
      `[s3] ingest: ${summary.copied} copied, ${summary.unchanged} unchanged in ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
  } else {
    const root = await mkdtemp(join(tmpdir(), "gc-bench-store-"));
    stops.push({ what: "folder store", stop: () => rm(root, { recursive: true, force: true }) });
    // The cached files linked (not copied) under the keys ingest gives them.
    for (const file of files) {
      const target = join(root, "raw/msd", relative(data, file));
      await mkdir(dirname(target), { recursive: true });
      await link(file, target).catch(async () => {
        const { copyFile } = await import("node:fs/promises");
        await copyFile(file, target);
      });
    }
    store = new LocalObjectStore(root);
    storeUri = `file://${root}`;
  }
  env.GENRE_CLASSIFIER_STORAGE_URI = storeUri;
  const queue = {
    ...env,
    GENRE_CLASSIFIER_ORCHESTRATION_EXECUTOR: "bullmq",
    GENRE_CLASSIFIER_ORCHESTRATION_REDIS_URL: redisUrl,
    GENRE_CLASSIFIER_ORCHESTRATION_REDIS_PREFIX: `bench-${kind}`,
  };
  const partitionSize = PARTITION ?? Math.max(1, Math.ceil(files.length / 20));

  // preprocess, in one process: the reference bytes
  log(`[${kind}] preprocess in-process (load ${load()}) …`);
  const one = await flowRun("preprocess", {}, env);
  const tracks = one.result.tracks as number;
  const reference = {
    features: sha(await store.get("datasets/features.parquet")),
    rejects: sha(await store.get("datasets/rejects.parquet")),
  };
  rows.push({
    store: kind,
    step: "preprocess",
    mode: "in-process",
    tracks,
    seconds: one.seconds,
    partitions: 1,
    load: load(),
  });
  log(`  ${(tracks / one.seconds).toFixed(0)} tracks/s`);

  // split, train and a champion for predict
  const { rows: yearRows } = await readTable(await localCopy(store, "datasets/features.parquet"), [
    "year",
  ]);
  const years = yearRows.map((r) => Number(r.year)).filter((y) => y > 0);
  const distinct = [...new Set(years)].sort((a, b) => b - a);
  let testYears = 1;
  while (
    testYears < distinct.length &&
    years.filter((y) => y >= (distinct[testYears - 1] as number)).length < years.length * 0.6
  )
    testYears++;
  const testRows = years.filter((y) => y >= (distinct[testYears - 1] as number)).length;
  const split = await flowRun("split", { test_years: testYears, batch_size: testRows }, env);
  const trainRows = (split.result as { counts: { tracks: { train: number } } }).counts.tracks.train;
  log(`[${kind}] train (defaults) on the split's training rows (load ${load()}) …`);
  const trained = await flowRun("train", {}, env);
  rows.push({
    store: kind,
    step: "train",
    mode: "in-process",
    tracks: trainRows,
    seconds: trained.seconds,
    partitions: 1,
    load: load(),
  });
  await ensureChampion(env.GENRE_CLASSIFIER_TRACKING_URI as string, store, trained.result);
  const predictSize = PREDICT_PARTITION ?? Math.max(1, Math.ceil(testRows / 8));

  log(`[${kind}] predict in-process, ${testRows} rows (load ${load()}) …`);
  const p1 = await flowRun("predict", { day: 1, force: "true" }, env);
  const predictionsSha = sha(await store.get("predictions/day=0001/predictions.parquet"));
  rows.push({
    store: kind,
    step: "predict",
    mode: "in-process",
    tracks: testRows,
    seconds: p1.seconds,
    partitions: 1,
    load: load(),
  });

  const cases: { mode: string; workers: number; partition: boolean }[] = [
    { mode: "1 worker, 1 task", workers: 1, partition: false },
    { mode: "1 worker", workers: 1, partition: true },
    { mode: "2 workers", workers: 2, partition: true },
  ];
  for (const step of ["preprocess", "predict"] as const) {
    const oneTask: Record<string, number> = {};
    for (const c of cases) {
      const size = c.partition ? (step === "preprocess" ? partitionSize : predictSize) : 0;
      const workers = await startWorkers(c.workers, queue);
      let run: RunRecord;
      let identical: boolean;
      let stopped = { peakMib: 0, cpu: 0 };
      const s3Before = cpuSeconds(s3rverPid);
      const label = `[${kind}] ${step}, ${c.mode}${c.partition ? ` (partitions of ${size})` : ""}`;
      try {
        log(`${label} (load ${load()}) …`);
        if (step === "preprocess") {
          await store.delete("datasets/features.parquet");
          run = await flowRun("preprocess", { partition_size: size, workers: 1 }, queue);
          identical =
            sha(await store.get("datasets/features.parquet")) === reference.features &&
            sha(await store.get("datasets/rejects.parquet")) === reference.rejects;
        } else {
          run = await flowRun("predict", { day: 1, force: "true", partition_size: size }, queue);
          identical =
            sha(await store.get("predictions/day=0001/predictions.parquet")) === predictionsSha;
        }
      } finally {
        stopped = await workers.stop();
      }
      const { peakMib } = stopped;
      const n = step === "preprocess" ? tracks : testRows;
      const parts = run.tasks.filter((t) => t.task_name === `${step}-part`);
      const merge = run.tasks.find((t) => t.task_name === `${step}-merge`);
      const workersUsed = new Set(parts.map((t) => t.worker));
      if (!c.partition) oneTask[step] = run.seconds;
      const base = oneTask[step];
      rows.push({
        store: kind,
        step,
        mode: c.mode,
        tracks: n,
        seconds: run.seconds,
        partitions: Math.max(1, parts.length),
        ...(c.partition && c.workers === 1 && base !== undefined && parts.length > 0
          ? { overheadMs: ((run.seconds - base) * 1000) / parts.length }
          : {}),
        ...(merge ? { mergeSeconds: (merge.ended_at - merge.started_at) / 1000 } : {}),
        peakMib,
        workerCpuMs: (stopped.cpu * 1000) / n,
        ...(kind === "s3" ? { s3CpuMs: ((cpuSeconds(s3rverPid) - s3Before) * 1000) / n } : {}),
        identical,
        load: load(),
      });
      log(
        `  ${(n / run.seconds).toFixed(0)} tracks/s, ${parts.length} partitions on ${workersUsed.size} worker(s), peak ${peakMib.toFixed(0)} MiB, ${identical ? "identical" : "DIFFERENT"} output`,
      );
      if (!identical) throw new Error(`${label}: the output differs from the in-process run's`);
    }
  }
  await store.close();
}

async function localCopy(store: ObjectStore, key: string): Promise<string> {
  const local = await store.localFile(key);
  if (local) return local;
  const dir = await mkdtemp(join(tmpdir(), "gc-bench-copy-"));
  stops.push({ what: "scratch", stop: () => rm(dir, { recursive: true, force: true }) });
  const path = join(dir, key.replaceAll("/", "_"));
  await store.getFile(key, path);
  return path;
}

/** The trained version becomes champion even when the gates held it back (predict needs one). */
async function ensureChampion(uri: string, store: ObjectStore, result: Record<string, unknown>) {
  const client = await StoreTrackingClient.open(uri, store);
  try {
    const existing = await client.getModelVersionByAlias(MODEL, "champion").catch(() => undefined);
    if (existing) return;
    const runId = result.runId as string;
    const version = await client.registerModelVersion(MODEL, runId, "model");
    await client.setAlias(MODEL, "champion", version.version);
  } finally {
    await client.close();
  }
}

// ---- the table ----------------------------------------------------------------------------

function printTable(): void {
  const speed = (r: Row) => r.tracks / r.seconds;
  const oneWorker = (r: Row) =>
    rows.find((o) => o.store === r.store && o.step === r.step && o.mode === "1 worker");
  const header = [
    "store",
    "step",
    "run",
    "tracks",
    "partitions",
    "seconds",
    "tracks/s",
    "vs 1 worker",
    "overhead/partition",
    "merge s",
    "peak RSS (workers)",
    "worker CPU ms/track",
    "s3rver CPU ms/track",
    "same bytes",
    "load",
  ];
  const body = rows.map((r) => {
    const base = oneWorker(r);
    return [
      r.store,
      r.step,
      r.mode,
      r.tracks.toLocaleString("en-US"),
      String(r.partitions),
      r.seconds.toFixed(1),
      speed(r).toFixed(0),
      base && r.mode !== "1 worker" && r.step !== "train"
        ? `${(speed(r) / speed(base)).toFixed(2)}×`
        : "",
      r.overheadMs === undefined ? "" : `${r.overheadMs.toFixed(0)} ms`,
      r.mergeSeconds === undefined ? "" : r.mergeSeconds.toFixed(1),
      r.peakMib === undefined ? "" : `${r.peakMib.toFixed(0)} MiB`,
      r.workerCpuMs === undefined ? "" : r.workerCpuMs.toFixed(2),
      r.s3CpuMs === undefined ? "" : r.s3CpuMs.toFixed(2),
      r.identical === undefined ? "" : r.identical ? "yes" : "NO",
      r.load,
    ];
  });
  const widths = header.map((h, i) =>
    Math.max(h.length, ...body.map((b) => (b[i] as string).length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const b of body) console.log(line(b));
}

async function main(): Promise<void> {
  log(
    `bench:scale: ${TRACKS} tracks, stores ${STORES.join(", ")}, ${availableParallelism()} CPUs, workers ${PIN ? "pinned one per CPU" : "not pinned"}; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  const data = await syntheticTracks();
  const postgres = await startPostgres();
  const redis = await startRedis();
  stops.push({ what: "redis-server", stop: () => redis.stop() });
  log(`services: PostgreSQL ${postgres}, Redis ${redis.url}`);
  for (const kind of STORES as ("s3" | "folder")[])
    await benchStore(kind, postgres, redis.url, data);
  console.log();
  printTable();
  console.log(
    `\nload average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")} (1, 5, 15 min) on ${availableParallelism()} CPUs`,
  );
}

main()
  .then(stopAll)
  .catch(async (error: Error) => {
    console.error(`bench:scale failed: ${error.stack ?? error.message}`);
    await stopAll();
    process.exit(1);
  });
