// `serve` against its targets, measured from outside over 127.0.0.1: online prediction latency
// p50/p99 for one track (goal p50 under 5 ms) and throughput for batches of 100 tracks, driven
// by autocannon; and the flow runs and experiment runs lists with 10,000 runs recorded (goal
// under 100 ms a page). A fresh data folder gets a model fitted on synthetic MSD tracks as
// training would fit it (100 trees, 50 genres, knn imputation), registered as champion, and
// 10,000 flow runs and 10,000 tracking runs of one experiment written through the stores; then
// `genre-classifier serve` runs as a child process over it. Latencies are taken per response
// (autocannon's own histogram counts whole milliseconds), beside the predictor's own time in
// this process.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { loadConfig } from "../src/config/load.ts";
import type { Row as FeatureRow } from "../src/features/table.ts";
import { RunStore } from "../src/orchestration/run-store.ts";
import type { RunState } from "../src/orchestration/states.ts";
import { ModelPredictor } from "../src/serving/predictor.ts";
import { LocalObjectStore } from "../src/storage/local.ts";
import { StoreTrackingClient } from "../src/tracking/client.ts";
import { fitModel } from "../src/training/fit.ts";
import { registerModel, syntheticRows, writeFeatureTable } from "../test/helpers/genre-model.ts";

const TRACKS = Number(process.env.BENCH_TRACKS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RUNS = Number(process.env.BENCH_RUNS ?? 10_000);
const PAGE_REQUESTS = Number(process.env.BENCH_PAGE_REQUESTS ?? 30);
const entry = fileURLToPath(new URL("../src/cli/entry.ts", import.meta.url));
const tsx = import.meta.resolve("tsx");
const SAMPLE = new URL("../../shared/msd-sample/data", import.meta.url).pathname;

interface Row {
  what: string;
  requests: number;
  p50: number;
  p99: number;
  perSecond: string;
  target: string;
  status?: string;
}
const rows: Row[] = [];

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function log(line: string): void {
  console.error(`  ${line}`);
}

/** A model as training fits it, on `TRACKS` synthetic tracks, registered as champion. */
async function trainChampion(dir: string, tracking: StoreTrackingClient): Promise<ModelPredictor> {
  let started = performance.now();
  const all = syntheticRows(21, 0, TRACKS);
  log(
    `${all.length} synthetic tracks extracted in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const cut = Math.floor(all.length * 0.8);
  const train = await writeFeatureTable(join(dir, "train.parquet"), all.slice(0, cut));
  const valid = await writeFeatureTable(join(dir, "valid.parquet"), all.slice(cut));
  started = performance.now();
  const { model } = await fitModel({ train, valid, unseenGenres: "ignore" });
  log(
    `model fitted in ${((performance.now() - started) / 1000).toFixed(1)} s: ${model.features.length} features, ${model.labels.length} genres, ${model.parts.forest?.trees.length} trees`,
  );
  await registerModel(tracking, "genre-classifier", model, dir);
  return new ModelPredictor(model);
}

const FLOW_STATES: RunState[] = [
  "completed",
  "completed",
  "completed",
  "failed",
  "cancelled",
  "crashed",
];

async function recordFlowRuns(uri: string): Promise<void> {
  const store = await RunStore.open(uri);
  const started = performance.now();
  try {
    for (let i = 0; i < RUNS; i++) {
      await store.createFlowRun({
        id: randomUUID(),
        flowName: ["daily-inference", "predict", "monitor", "complete-training", "selfcheck"][
          i % 5
        ] as string,
        parameters: { day: (i % 365) + 1 },
        state: FLOW_STATES[i % FLOW_STATES.length] as RunState,
        deploymentName: i % 2 === 0 ? "daily" : undefined,
      });
    }
  } finally {
    await store.close();
  }
  log(`${RUNS} flow runs recorded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function recordTrackingRuns(tracking: StoreTrackingClient): Promise<string> {
  const experimentId = await tracking.createExperiment("bench-runs");
  const started = performance.now();
  const t0 = Date.now() - RUNS * 60_000;
  for (let i = 0; i < RUNS; i++) {
    const run = await tracking.startRun(experimentId, {
      runName: `run-${i}`,
      startTime: t0 + i * 60_000,
    });
    await tracking.logBatch(run.info.runId, {
      params: [
        { key: "n_trees", value: String(50 + (i % 4) * 50) },
        { key: "max_features", value: String(0.2 + (i % 5) * 0.1) },
        { key: "min_samples_leaf", value: String(1 + (i % 3)) },
        { key: "imputer", value: i % 2 ? "knn" : "median" },
      ],
      metrics: [
        { key: "valid_jaccard", value: 0.3 + (i % 100) / 500, timestamp: t0 + i * 60_000, step: 0 },
        { key: "valid_f1_micro", value: 0.4 + (i % 70) / 400, timestamp: t0 + i * 60_000, step: 0 },
        {
          key: "valid_hamming_loss",
          value: 0.05 + (i % 30) / 1000,
          timestamp: t0 + i * 60_000,
          step: 0,
        },
      ],
      tags: [{ key: "mlflow.source.name", value: "bench/serve.ts" }],
    });
    await tracking.updateRun(run.info.runId, {
      status: "FINISHED",
      endTime: t0 + i * 60_000 + 30_000,
    });
  }
  log(`${RUNS} tracking runs recorded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return experimentId;
}

async function startServe(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["--import", tsx, entry, "--data-dir", dir, "--log-level", "warn", "serve", "--port", "0"],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env } },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /serving on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1] as string);
    });
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
  });
  return { child, url };
}

async function waitForModel(url: string): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const response = await fetch(`${url}/api/v1/predict/model`);
    await response.arrayBuffer();
    if (response.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error("serve did not load the champion within 60 s");
}

/** autocannon against one request; latencies per response, in ms with fractions. */
async function load(options: {
  what: string;
  url: string;
  body: string | Buffer;
  contentType: string;
  connections: number;
  seconds: number;
  tracksPerRequest: number;
  target: string;
}): Promise<void> {
  const latencies: number[] = [];
  let failures = 0;
  const instance = autocannon({
    url: `${options.url}/api/v1/predict`,
    method: "POST",
    headers: { "content-type": options.contentType },
    body: options.body,
    connections: options.connections,
    duration: options.seconds,
  });
  instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status === 200) latencies.push(ms);
    else failures++;
  });
  const result = await instance;
  latencies.sort((a, b) => a - b);
  const requests = latencies.length;
  const perSecond = requests / result.duration;
  const tracks = perSecond * options.tracksPerRequest;
  rows.push({
    what: options.what,
    requests,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    perSecond:
      options.tracksPerRequest === 1
        ? `${perSecond.toFixed(0)} req/s`
        : `${perSecond.toFixed(1)} req/s = ${tracks.toFixed(0)} tracks/s`,
    target: options.target,
    status: failures === 0 ? "200" : `${failures} not 200`,
  });
  log(
    `${options.what}: p50 ${percentile(latencies, 0.5).toFixed(2)} ms, p99 ${percentile(latencies, 0.99).toFixed(2)} ms, ${perSecond.toFixed(1)} req/s (autocannon p50 ${result.latency.p50} ms)${failures ? `, ${failures} failed` : ""}`,
  );
}

/** Sequential GETs of a page: its status, size and time per request. */
async function timePage(url: string, path: string, what: string): Promise<void> {
  const times: number[] = [];
  let status = 0;
  let bytes = 0;
  for (let i = 0; i < 3 + PAGE_REQUESTS; i++) {
    const started = performance.now();
    const response = await fetch(`${url}${path}`);
    const body = await response.arrayBuffer();
    const ms = performance.now() - started;
    status = response.status;
    bytes = body.byteLength;
    if (i >= 3) times.push(ms);
  }
  times.sort((a, b) => a - b);
  rows.push({
    what,
    requests: times.length,
    p50: percentile(times, 0.5),
    p99: percentile(times, 0.99),
    perSecond: `${(bytes / 1024).toFixed(0)} KiB page`,
    target: "< 100 ms",
    status: String(status),
  });
  log(`${what}: ${status}, ${bytes} bytes, p50 ${percentile(times, 0.5).toFixed(1)} ms`);
}

function trackBody(values: FeatureRow, features: readonly string[]): Record<string, number> {
  const track: Record<string, number> = {};
  for (const name of features) if (typeof values[name] === "number") track[name] = values[name];
  return track;
}

/** The one-track cost inside the process, without HTTP: the predictor alone. */
function predictorAlone(predictor: ModelPredictor, track: Record<string, number>): void {
  const times: number[] = [];
  for (let i = 0; i < 3_000; i++) {
    const started = performance.now();
    predictor.predictNow(predictor.parseJson({ tracks: [track] }, 1));
    if (i >= 500) times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  rows.push({
    what: "predictor alone, one track (no HTTP; in this process)",
    requests: times.length,
    p50: percentile(times, 0.5),
    p99: percentile(times, 0.99),
    perSecond: `${(1000 / percentile(times, 0.5)).toFixed(0)} /s`,
    target: "",
  });
}

async function uploadBody(dir: string): Promise<{ body: Buffer; type: string } | undefined> {
  let file: string | undefined;
  if (existsSync(SAMPLE)) {
    const entries = await readdir(SAMPLE, { recursive: true, withFileTypes: true });
    const first = entries.filter((e) => e.isFile() && e.name.endsWith(".h5"))[0];
    if (first) file = join(first.parentPath, first.name);
  }
  if (file === undefined) {
    const { writeTrackFile } = await import("../src/msd/writer.ts");
    const { generateTrack } = await import("../src/msd/synth.ts");
    file = join(dir, "TRBENCH.h5");
    await writeTrackFile(file, generateTrack(21, TRACKS + 7));
  }
  const boundary = "----gc-bench-boundary";
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="track.h5"\r\nContent-Type: application/x-hdf5\r\n\r\n`,
    ),
    await readFile(file),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "gc-bench-serve-"));
  let child: ChildProcess | undefined;
  try {
    const { config } = loadConfig({ cwd: dir, env: {}, flags: { dataDir: dir } });
    const store = new LocalObjectStore(new URL(config.storage.uri as string).pathname);
    const tracking = await StoreTrackingClient.open(config.tracking.uri as string, store);
    const predictor = await trainChampion(dir, tracking);
    const experimentId = await recordTrackingRuns(tracking);
    await recordFlowRuns(config.tracking.uri as string);
    await tracking.close();
    await store.close();

    const held = syntheticRows(21, TRACKS, 101);
    const full =
      held.find((r) => Number(r.year) > 0 && Number(r.tempo) >= 70 && Number(r.tempo) <= 180) ??
      held[0];
    const track = trackBody(full as FeatureRow, predictor.features);
    const partial = { ...track };
    for (const name of ["year", "loudness", "tempo", "duration", "key"]) delete partial[name];
    const batch = { tracks: held.slice(0, 100).map((r) => trackBody(r, predictor.features)) };
    predictorAlone(predictor, track);

    const serve = await startServe(dir);
    child = serve.child;
    await waitForModel(serve.url);
    log(`serve at ${serve.url}`);
    const json = "application/json";
    const warm = { url: serve.url, contentType: json, seconds: 2, tracksPerRequest: 1, target: "" };
    await load({
      ...warm,
      what: "warm-up",
      body: JSON.stringify({ tracks: [track] }),
      connections: 2,
    });
    rows.pop();
    await load({
      what: "one track, every feature (JSON), 1 connection",
      url: serve.url,
      body: JSON.stringify({ tracks: [track] }),
      contentType: json,
      connections: 1,
      seconds: SECONDS,
      tracksPerRequest: 1,
      target: "p50 < 5 ms",
    });
    await load({
      what: "one track, year 0 (knn-imputed, as for half the MSD), 1 connection",
      url: serve.url,
      body: JSON.stringify({ tracks: [{ ...track, year: 0 }] }),
      contentType: json,
      connections: 1,
      seconds: SECONDS,
      tracksPerRequest: 1,
      target: "p50 < 5 ms",
    });
    await load({
      what: "one track, 5 features left out (knn-imputed), 1 connection",
      url: serve.url,
      body: JSON.stringify({ tracks: [partial] }),
      contentType: json,
      connections: 1,
      seconds: SECONDS,
      tracksPerRequest: 1,
      target: "p50 < 5 ms",
    });
    await load({
      what: "one track, every feature (JSON), 8 connections",
      url: serve.url,
      body: JSON.stringify({ tracks: [track] }),
      contentType: json,
      connections: 8,
      seconds: SECONDS,
      tracksPerRequest: 1,
      target: "",
    });
    await load({
      what: "batches of 100 tracks (JSON), 4 connections",
      url: serve.url,
      body: JSON.stringify(batch),
      contentType: json,
      connections: 4,
      seconds: SECONDS,
      tracksPerRequest: 100,
      target: "",
    });
    const upload = await uploadBody(dir);
    if (upload)
      await load({
        what: "one MSD .h5 upload (multipart), 1 connection",
        url: serve.url,
        body: upload.body,
        contentType: upload.type,
        connections: 1,
        seconds: Math.max(3, SECONDS / 2),
        tracksPerRequest: 1,
        target: "",
      });

    await timePage(serve.url, "/flow-runs", `GET /flow-runs (${RUNS} flow runs recorded)`);
    await timePage(
      serve.url,
      `/experiments/${experimentId}`,
      `GET /experiments/${experimentId} (${RUNS} runs in the experiment)`,
    );
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  }

  console.log();
  console.log("| case | requests | p50 ms | p99 ms | rate | status | target |");
  console.log("| --- | ---: | ---: | ---: | --- | --- | --- |");
  for (const row of rows)
    console.log(
      `| ${row.what} | ${row.requests} | ${row.p50.toFixed(2)} | ${row.p99.toFixed(2)} | ${row.perSecond} | ${row.status ?? ""} | ${row.target} |`,
    );
}

await main();
