// Tracking store speed against the targets: a log-batch of 1,000 metrics (under 50 ms) and a
// runs search over 10,000 runs (under 200 ms) on SQLite, and the same on PostgreSQL when
// POSTGRES_TEST_URL names a server the bench may create a database on. Also the same two
// calls through the HTTP server, for the cost of the REST layer.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startTrackingServer } from "../src/server/tracking-server.ts";
import { LocalObjectStore } from "../src/storage/local.ts";
import { StoreTrackingClient, type TrackingClient } from "../src/tracking/client.ts";
import { openTrackingDatabase, type TrackingDatabase } from "../src/tracking/database.ts";
import type { SearchRunsQuery } from "../src/tracking/entities.ts";
import { HttpTrackingClient } from "../src/tracking/http-client.ts";
import { sqliteUri } from "../src/tracking/uri.ts";

const RUNS = Number(process.env.BENCH_RUNS ?? 10_000);
const REPEATS = 15;
const BATCH_TARGET_MS = 50;
const SEARCH_TARGET_MS = 200;

interface Figure {
  label: string;
  median: number;
  p95: number;
  target?: number;
}

async function timeRepeated(
  repeats: number,
  work: (i: number) => Promise<unknown>,
): Promise<{ median: number; p95: number }> {
  for (let i = 0; i < 3; i++) await work(-1 - i);
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    await work(i);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return {
    median: times[Math.floor(times.length / 2)] as number,
    p95: times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)] as number,
  };
}

function batchOf(step: number) {
  return {
    metrics: Array.from({ length: 1000 }, (_, i) => ({
      key: `metric_${i % 100}`,
      value: Math.random(),
      step: step * 10 + Math.floor(i / 100),
      timestamp: 1_700_000_000_000 + step,
    })),
  };
}

/** 10,000 finished runs with 3 params, 3 metrics and 2 tags each, inserted in bulk. */
async function seedRuns(database: TrackingDatabase, experimentId: number): Promise<void> {
  const models = ["forest", "boost", "linear"];
  const chunk = 500;
  for (let start = 0; start < RUNS; start += chunk) {
    await database.write(async (trx) => {
      const ids = Array.from({ length: Math.min(chunk, RUNS - start) }, () =>
        randomBytes(16).toString("hex"),
      );
      await trx
        .insertInto("runs")
        .values(
          ids.map((id, i) => ({
            run_uuid: id,
            name: `run-${start + i}`,
            experiment_id: experimentId,
            user_id: "bench",
            status: "FINISHED",
            start_time: 1_700_000_000_000 + start + i,
            end_time: 1_700_000_000_500 + start + i,
            lifecycle_stage: "active",
            artifact_uri: `mlflow-artifacts:/${experimentId}/${id}/artifacts`,
            deleted_time: null,
          })),
        )
        .execute();
      await trx
        .insertInto("params")
        .values(
          ids.flatMap((id, i) => [
            { run_uuid: id, key: "model", value: models[(start + i) % 3] as string },
            { run_uuid: id, key: "trees", value: String(10 * (1 + ((start + i) % 30))) },
            { run_uuid: id, key: "max_depth", value: String(4 + ((start + i) % 12)) },
          ]),
        )
        .execute();
      const metricRows = ids.flatMap((id) => {
        const f1 = Math.random();
        return [
          {
            run_uuid: id,
            key: "f1_micro",
            value: f1,
            timestamp: 1_700_000_000_100,
            step: 0,
            is_nan: 0,
          },
          {
            run_uuid: id,
            key: "accuracy",
            value: Math.min(1, f1 + 0.1),
            timestamp: 1_700_000_000_100,
            step: 0,
            is_nan: 0,
          },
          {
            run_uuid: id,
            key: "loss",
            value: 1 - f1,
            timestamp: 1_700_000_000_100,
            step: 0,
            is_nan: 0,
          },
        ];
      });
      await trx.insertInto("metrics").values(metricRows).execute();
      await trx.insertInto("latest_metrics").values(metricRows).execute();
      await trx
        .insertInto("tags")
        .values(
          ids.flatMap((id, i) => [
            { run_uuid: id, key: "mlflow.runName", value: `run-${start + i}` },
            { run_uuid: id, key: "stage", value: (start + i) % 10 === 0 ? "prod" : "dev" },
          ]),
        )
        .execute();
    });
  }
}

async function measure(name: string, uri: string): Promise<Figure[]> {
  const storeRoot = await mkdtemp(join(tmpdir(), "gc-bench-tracking-store-"));
  const store = new LocalObjectStore(storeRoot);
  const database = await openTrackingDatabase(uri);
  const client = new StoreTrackingClient(database, store);
  const server = await startTrackingServer({ client, host: "127.0.0.1", port: 0 });
  const http = new HttpTrackingClient(server.url);
  try {
    const experimentId = await client.createExperiment("bench");
    process.stderr.write(`${name}: seeding ${RUNS.toLocaleString("en")} runs…\n`);
    await seedRuns(database, Number(experimentId));
    const searches: [string, SearchRunsQuery][] = [
      [
        "filter + order, top 100",
        {
          experimentIds: [experimentId],
          filter: "metrics.f1_micro > 0.5 and params.model = 'forest' and tags.stage = 'dev'",
          orderBy: ["metrics.f1_micro DESC"],
          maxResults: 100,
        },
      ],
      [
        "filter + order, top 1,000",
        {
          experimentIds: [experimentId],
          filter: "metrics.f1_micro > 0.5 and params.model = 'forest'",
          orderBy: ["metrics.f1_micro DESC"],
          maxResults: 1000,
        },
      ],
      ["no filter, newest 1,000", { experimentIds: [experimentId], maxResults: 1000 }],
    ];
    const figures: Figure[] = [];
    const runInto = async (target: TrackingClient, via: string) => {
      const run = await target.startRun(experimentId);
      figures.push({
        label: `log-batch 1,000 metrics${via}`,
        ...(await timeRepeated(REPEATS, (i) => target.logBatch(run.info.runId, batchOf(i + 10)))),
        target: BATCH_TARGET_MS,
      });
    };
    await runInto(client, "");
    for (const [label, query] of searches) {
      const found = await client.searchRuns(query);
      figures.push({
        label: `search ${RUNS.toLocaleString("en")} runs: ${label} (${found.items.length} found)`,
        ...(await timeRepeated(REPEATS, () => client.searchRuns(query))),
        target: SEARCH_TARGET_MS,
      });
    }
    await runInto(http, " (HTTP)");
    const [label, query] = searches[0] as [string, SearchRunsQuery];
    figures.push({
      label: `search ${RUNS.toLocaleString("en")} runs: ${label} (HTTP)`,
      ...(await timeRepeated(REPEATS, () => http.searchRuns(query))),
      target: SEARCH_TARGET_MS,
    });
    return figures;
  } finally {
    await server.close();
    await client.close();
    await rm(storeRoot, { recursive: true, force: true });
  }
}

function print(name: string, uri: string, figures: Figure[]): void {
  const width = Math.max(...figures.map((f) => f.label.length));
  console.log(`\n${name} (${uri.replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:****@")})`);
  for (const f of figures) {
    const verdict =
      f.target === undefined
        ? ""
        : f.median < f.target
          ? `  ok (target < ${f.target} ms)`
          : `  OVER (target < ${f.target} ms)`;
    console.log(
      `  ${f.label.padEnd(width)}  median ${f.median.toFixed(1).padStart(6)} ms  p95 ${f.p95.toFixed(1).padStart(6)} ms${verdict}`,
    );
  }
}

const sqliteDir = await mkdtemp(join(tmpdir(), "gc-bench-tracking-"));
try {
  const uri = sqliteUri(join(sqliteDir, "tracking.db"));
  print("SQLite", uri, await measure("SQLite", uri));
} finally {
  await rm(sqliteDir, { recursive: true, force: true });
}

const postgresUrl = process.env.POSTGRES_TEST_URL;
if (postgresUrl) {
  const name = `gc_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  try {
    print("PostgreSQL", url.href, await measure("PostgreSQL", url.href));
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
} else {
  console.log(
    "\nPostgreSQL: skipped (set POSTGRES_TEST_URL=postgres://user@127.0.0.1:port/db to include it)",
  );
}
