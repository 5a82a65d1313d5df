// The tracking commands as a user runs them, on the embedded defaults: listing and searching
// runs, showing and comparing them, the registry, `tracking serve` with a client talking to it
// over HTTP, and exit code 2 with one line for bad input.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { LocalObjectStore } from "../../src/storage/local.ts";
import { StoreTrackingClient } from "../../src/tracking/client.ts";
import { sqliteUri } from "../../src/tracking/uri.ts";
import { cleanEnv, runCli, startCli } from "../helpers/cli.ts";

describe("tracking commands", () => {
  let cwd: string;
  const runIds: string[] = [];
  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "gc-cli-tracking-"));
    const dataDir = join(cwd, ".genre-classifier");
    const store = new LocalObjectStore(join(dataDir, "store"));
    const client = await StoreTrackingClient.open(sqliteUri(join(dataDir, "tracking.db")), store);
    const experiment = await client.getOrCreateExperiment("genres");
    for (const [trees, f1] of [
      [10, 0.41],
      [100, 0.72],
      [300, 0.69],
    ] as const) {
      const run = await client.startRun(experiment.experimentId, { runName: `forest-${trees}` });
      await client.logParams(run.info.runId, { trees, criterion: "gini" });
      await client.logMetrics(run.info.runId, { f1_micro: f1 });
      await client.logDataset(
        run.info.runId,
        {
          name: "features",
          digest: "abc123",
          sourceType: "local",
          source: "datasets/features.parquet",
        },
        "training",
      );
      await client.logArtifactBytes(run.info.runId, "model/forest.json", "{}");
      await client.endRun(run.info.runId);
      await client.registerModelVersion("genre-forest", run.info.runId, "model");
      runIds.push(run.info.runId);
    }
    await client.close();
    await store.close();
  });
  after(() => rm(cwd, { recursive: true, force: true }));

  it("lists, searches, shows and compares runs", async () => {
    const [listed, shown, compared, experiments, missing, badFilter] = await Promise.all([
      runCli(
        [
          "runs",
          "list",
          "--experiment",
          "genres",
          "--filter",
          "metrics.f1_micro > 0.5",
          "--order-by",
          "metrics.f1_micro DESC",
        ],
        { cwd },
      ),
      runCli(["runs", "show", runIds[1] as string], { cwd }),
      runCli(["runs", "compare", runIds[0] as string, runIds[1] as string, "--json"], { cwd }),
      runCli(["experiments", "list"], { cwd }),
      runCli(["runs", "show", "0123456789abcdef0123456789abcdef"], { cwd }),
      runCli(["runs", "list", "--filter", "metrics.f1_micro > 'high'"], { cwd }),
    ]);
    assert.equal(listed.code, 0, listed.stderr);
    const names = listed.stdout
      .split("\n")
      .slice(1, -2)
      .map((line) => line.split(/\s+/)[1]);
    assert.deepEqual(names, ["forest-100", "forest-300"]);
    assert.match(listed.stdout, /2 runs\n$/);

    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^run ${runIds[1]} \\(forest-100\\)`));
    assert.match(shown.stdout, /status\s+FINISHED/);
    assert.match(shown.stdout, /^trees\s+100$/m);
    assert.match(shown.stdout, /^f1_micro\s+0\.72\s+0/m);
    assert.match(shown.stdout, /^training\s+features\s+abc123/m);
    assert.match(shown.stdout, /^model\/\s*$/m);

    assert.equal(compared.code, 0, compared.stderr);
    assert.deepEqual(JSON.parse(compared.stdout), {
      runs: [
        { run_id: runIds[0], run_name: "forest-10" },
        { run_id: runIds[1], run_name: "forest-100" },
      ],
      params: { criterion: ["gini", "gini"], trees: ["10", "100"] },
      metrics: { f1_micro: [0.41, 0.72] },
    });

    assert.equal(experiments.code, 0, experiments.stderr);
    assert.match(experiments.stdout, /^0\s+Default\s+active/m);
    assert.match(experiments.stdout, /^1\s+genres\s+active/m);

    assert.equal(missing.code, 2);
    assert.equal(
      missing.stderr,
      "genre-classifier: Run with id 0123456789abcdef0123456789abcdef not found\n",
    );
    assert.equal(badFilter.code, 2);
    assert.match(
      badFilter.stderr,
      /^genre-classifier: filter "metrics.f1_micro > 'high'": expected a number/,
    );
    assert.equal(badFilter.stderr.split("\n").length, 2);
  });

  it("moves an alias and shows the registry", async () => {
    const set = await runCli(["models", "alias", "set", "genre-forest", "champion", "2"], { cwd });
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, "genre-forest@champion → version 2\n");
    const [shown, reserved] = await Promise.all([
      runCli(["models", "show", "genre-forest"], { cwd }),
      runCli(["models", "alias", "set", "genre-forest", "latest", "1"], { cwd }),
    ]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^aliases\s+champion→2$/m);
    assert.match(
      shown.stdout,
      new RegExp(`^2\\s+champion\\s+${runIds[1]}\\s+runs:/${runIds[1]}/model`, "m"),
    );
    assert.match(shown.stdout, /^3\s+—/m);
    assert.equal(reserved.code, 2);
    assert.match(reserved.stderr, /alias "latest" is reserved/);
  });

  it("serves the store over MLflow's REST API, and a client can use it", async () => {
    const entry = fileURLToPath(new URL("../../src/cli/entry.ts", import.meta.url));
    const server = spawn(
      process.execPath,
      ["--import", import.meta.resolve("tsx"), entry, "tracking", "serve", "--port", "0"],
      {
        cwd,
        env: cleanEnv({ GENRE_CLASSIFIER_TRACKING_TOKEN: "cli-token" }),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const exited = new Promise<number | null>((resolve) => server.on("close", resolve));
    try {
      const firstLine = await new Promise<string>((resolve, reject) => {
        createInterface({ input: server.stdout }).once("line", resolve);
        server.once("close", (code) => reject(new Error(`tracking serve exited with ${code}`)));
      });
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(firstLine)?.[1] as string;
      assert.ok(url, firstLine);
      const [overHttp, unauthorized, exposed] = await Promise.all([
        runCli(["models", "list", "--json", "--set", `tracking.uri=${url}`], {
          cwd,
          env: cleanEnv({ GENRE_CLASSIFIER_TRACKING_TOKEN: "cli-token" }),
        }),
        runCli(["experiments", "list", "--set", `tracking.uri=${url}`], { cwd }),
        runCli(["tracking", "serve", "--host", "0.0.0.0", "--port", "0"], { cwd }),
      ]);
      assert.equal(overHttp.code, 0, overHttp.stderr);
      const models = JSON.parse(overHttp.stdout).registered_models;
      assert.deepEqual(
        models.map((m: { name: string; latest_versions: { version: string }[] }) => [
          m.name,
          m.latest_versions[0]?.version,
        ]),
        [["genre-forest", "3"]],
      );
      assert.equal(unauthorized.code, 2);
      assert.match(unauthorized.stderr, /refused the request \(401\).*tracking\.token/);
      assert.equal(exposed.code, 2);
      assert.match(exposed.stderr, /refusing to listen on 0\.0\.0\.0 without a token/);
    } finally {
      server.kill("SIGTERM");
    }
    assert.equal(await exited, 0);
  });

  it("refuses to serve on 0.0.0.0 with a whitespace-only token", async () => {
    const serve = startCli(["tracking", "serve", "--host", "0.0.0.0", "--port", "0"], {
      cwd,
      env: cleanEnv({ GENRE_CLASSIFIER_TRACKING_TOKEN: "   " }),
    });
    const killer = setTimeout(() => serve.child.kill("SIGKILL"), 20_000);
    try {
      assert.equal(await serve.exited, 2, serve.output());
    } finally {
      clearTimeout(killer);
    }
    assert.match(serve.output(), /tracking\.token \(from env GENRE_CLASSIFIER_TRACKING_TOKEN\)/);
    assert.doesNotMatch(serve.output(), /listening|http:\/\//i);
  });
});
