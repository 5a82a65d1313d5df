// `genre-classifier doctor` as a process: a fresh installation passes; a broken one (Redis and
// PostgreSQL that do not answer, a data folder that cannot be written, a bad config file) fails
// with exit code 1, one line per check naming what is wrong and how to fix it, no password
// shown; pending migrations warn and a migration from a newer version fails; a secret in the
// config file and a public address without a token warn; with the BullMQ executor the
// workers that reported in Redis are counted, and a queue without one warns. PostgreSQL runs
// when POSTGRES_TEST_URL is set.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import BetterSqlite3 from "better-sqlite3";
import { silentLogger } from "../../../src/common/logger.ts";
import { WorkerStatusPublisher } from "../../../src/operations/workers.ts";
import { openTrackingDatabase } from "../../../src/tracking/database.ts";
import { sqliteUri } from "../../../src/tracking/uri.ts";
import { cleanEnv, runCli } from "../../helpers/cli.ts";
import { redisUnavailable, sharedRedis, testQueueSettings } from "../../helpers/redis-server.ts";
import { backends } from "../../tracking/backends.ts";

interface Check {
  name: string;
  status: "ok" | "warn" | "fail";
  message: string;
  fix?: string;
}

const postgres = backends.find((b) => b.name === "postgres");

async function doctor(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<{ code: number; checks: Check[]; stderr: string }> {
  const result = await runCli([...args, "doctor", "--json", "--timeout", "3"], {
    env: cleanEnv(env),
    ...(cwd ? { cwd } : {}),
  });
  assert.equal(result.stderr, "", result.stderr);
  const parsed = JSON.parse(result.stdout) as { ok: boolean; checks: Check[] };
  assert.equal(parsed.ok, result.code === 0);
  return { code: result.code, checks: parsed.checks, stderr: result.stderr };
}

function named(checks: Check[], name: string): Check[] {
  return checks.filter((c) => c.name === name);
}

describe("doctor", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gc-doctor-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("passes on a fresh installation, printing one line per check and a summary", async () => {
    const data = join(dir, "fresh");
    const result = await runCli(["--data-dir", data, "doctor"], { env: cleanEnv() });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const lines = result.stdout.trim().split("\n");
    for (const name of [
      "configuration",
      "settings",
      "data folder",
      "object store",
      "tracking database",
      "redis",
    ])
      assert.ok(
        lines.some((line) => line.startsWith(`ok    ${name}: `)),
        `${name}:\n${result.stdout}`,
      );
    assert.match(lines.at(-1) ?? "", /^doctor: 6 ok, 0 warnings, 0 failed$/);
    assert.match(result.stdout, /object store: .*wrote, read and deleted a probe object/);
    const { readdir } = await import("node:fs/promises");
    const left = (await readdir(join(data, "store"), { recursive: true })).filter(
      (name) => !name.startsWith(".incoming"),
    );
    assert.deepEqual(left, [], "the probe object is gone");
  });

  it("reports migrations applied, pending, and from a newer version", async () => {
    const data = join(dir, "migrations");
    await mkdir(data, { recursive: true });
    const uri = sqliteUri(join(data, "tracking.db"));
    const database = await openTrackingDatabase(uri);
    await database.close();
    const pending = await doctor(["--data-dir", data]);
    assert.equal(pending.code, 0);
    const [warned] = named(pending.checks, "migrations");
    assert.equal(warned?.status, "warn", JSON.stringify(pending.checks));
    assert.match(
      warned?.message ?? "",
      /tracking store: \d+ applied; orchestration store: 0 applied, 2 pending \(0001_runs_and_deployments, 0002/,
    );
    assert.match(warned?.fix ?? "", /the next command that opens the database applies them/);

    const listed = await runCli(["--data-dir", data, "flows", "runs", "list"], { env: cleanEnv() });
    assert.equal(listed.code, 0, listed.stderr);
    const applied = await doctor(["--data-dir", data]);
    assert.equal(named(applied.checks, "migrations")[0]?.status, "ok");

    const sqlite = new BetterSqlite3(join(data, "tracking.db"));
    sqlite
      .prepare("insert into tracking_migrations (name, timestamp) values (?, ?)")
      .run("9999_from_the_future", new Date().toISOString());
    sqlite.close();
    const newer = await doctor(["--data-dir", data]);
    assert.equal(newer.code, 1);
    const [failed] = named(newer.checks, "migrations");
    assert.equal(failed?.status, "fail");
    assert.match(
      failed?.message ?? "",
      /1 unknown \(9999_from_the_future\).*newer genre-classifier/,
    );
    assert.match(failed?.fix ?? "", /upgrade genre-classifier/);
  });

  it("fails on PostgreSQL and Redis that do not answer and a data folder that is a file, masking passwords", async () => {
    const blocked = join(dir, "blocked");
    await writeFile(blocked, "not a folder");
    const result = await runCli(["--data-dir", join(blocked, "data"), "doctor", "--timeout", "3"], {
      env: cleanEnv({
        GENRE_CLASSIFIER_TRACKING_URI: "postgres://gc:tr0ub4dor@127.0.0.1:1/genres",
        GENRE_CLASSIFIER_STORAGE_URI: pathToFileURL(join(dir, "store-ok")).href,
        GENRE_CLASSIFIER_ORCHESTRATION_EXECUTOR: "bullmq",
        GENRE_CLASSIFIER_ORCHESTRATION_REDIS_URL: "redis://:s3cret-pass@127.0.0.1:1",
      }),
    });
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, /tr0ub4dor|s3cret-pass/);
    const line = (name: string) =>
      result.stdout.split("\n").find((l) => l.startsWith(`FAIL  ${name}: `)) ?? "";
    assert.match(
      line("tracking database"),
      /postgres:\/\/gc:\*\*\*\*@127\.0\.0\.1:1\/genres: .*ECONNREFUSED/,
    );
    assert.match(line("tracking database"), /— fix: check that PostgreSQL runs/);
    assert.match(
      line("redis"),
      /redis:\/\/:\*\*\*\*@127\.0\.0\.1:1 \(orchestration\.redis\.url\) does not answer: connect ECONNREFUSED/,
    );
    assert.match(line("redis"), /— fix: start Redis there, or set orchestration\.redis\.url/);
    // The data folder holds nothing here (the store and the database are elsewhere): a warning.
    assert.match(
      result.stdout,
      /^warn {2}data folder: .*blocked\/data does not exist and cannot be created: .*blocked is not a folder/m,
    );
    assert.match(result.stdout, /^ok {4}object store: /m);
    assert.match(result.stdout, /^doctor: \d+ ok, \d+ warnings, 2 failed$/m);
  });

  it("gives up on a PostgreSQL and a Redis that accept connections and never answer, and exits", {
    timeout: 60_000,
  }, async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const started = Date.now();
      const result = await runCli(
        ["--data-dir", join(dir, "hung"), "doctor", "--json", "--timeout", "1"],
        {
          env: cleanEnv({
            GENRE_CLASSIFIER_TRACKING_URI: `postgres://gc:pw@127.0.0.1:${port}/genres`,
            GENRE_CLASSIFIER_ORCHESTRATION_EXECUTOR: "bullmq",
            GENRE_CLASSIFIER_ORCHESTRATION_REDIS_URL: `redis://127.0.0.1:${port}`,
          }),
        },
      );
      const seconds = (Date.now() - started) / 1000;
      assert.equal(result.code, 1, result.stderr);
      const checks = (JSON.parse(result.stdout) as { checks: Check[] }).checks;
      assert.match(named(checks, "tracking database")[0]?.message ?? "", /no answer within 1 s/);
      assert.match(named(checks, "redis")[0]?.message ?? "", /no answer within 1 s/);
      // The process start dominates on a loaded machine; the silent server would hold it for ever.
      assert.ok(seconds < 30, `${seconds} s`);
      console.log(`doctor with a hung PostgreSQL and Redis: ${seconds} s`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("fails on a data folder that cannot be written when the stores live in it", async () => {
    const blocked = join(dir, "blocked-too");
    await writeFile(blocked, "not a folder");
    const result = await doctor(["--data-dir", blocked]);
    assert.equal(result.code, 1);
    const [folder] = named(result.checks, "data folder");
    assert.equal(folder?.status, "fail");
    assert.match(folder?.message ?? "", /is not a folder/);
    assert.equal(named(result.checks, "object store")[0]?.status, "fail");
  });

  it("fails on a bad config file, naming the key and where it comes from", async () => {
    const file = join(dir, "bad.yaml");
    await writeFile(file, "server:\n  port: eighty\n");
    const result = await doctor(["-c", file]);
    assert.equal(result.code, 1);
    assert.equal(result.checks.length, 1);
    const [check] = result.checks;
    assert.equal(check?.name, "configuration");
    assert.equal(check?.status, "fail");
    assert.match(check?.message ?? "", /server\.port.*bad\.yaml/);
    assert.match(check?.fix ?? "", /docs\/configuration\.md/);
  });

  it("warns about a secret in the config file, a short token and a public address", async () => {
    const folder = join(dir, "settings");
    await mkdir(folder, { recursive: true });
    await writeFile(
      join(folder, "genre-classifier.config.yaml"),
      "dataDir: data\nserver:\n  token: short\n  host: 0.0.0.0\ntracking:\n  server:\n    host: 0.0.0.0\n",
    );
    const result = await doctor([], {}, folder);
    assert.equal(result.code, 0);
    const messages = named(result.checks, "settings").map((c) => `${c.status} ${c.message}`);
    assert.ok(
      messages.some((m) => /^warn server\.token has 5 characters/.test(m)),
      messages.join("\n"),
    );
    assert.ok(
      messages.some((m) => /^warn server\.token holds a secret in the config file/.test(m)),
    );
    assert.ok(
      messages.some((m) =>
        /^warn tracking\.server\.host is 0\.0\.0\.0 and tracking\.token is unset/.test(m),
      ),
    );
    assert.ok(!messages.some((m) => /^warn server\.host/.test(m)), "server.host has a token");
    const [configuration] = named(result.checks, "configuration");
    assert.match(
      configuration?.message ?? "",
      /file .*genre-classifier\.config\.yaml \(4 settings\)/,
    );
  });

  it("passes on PostgreSQL with its migrations applied", {
    skip: postgres?.skip ?? true,
  }, async () => {
    const database = await (postgres as NonNullable<typeof postgres>).create();
    try {
      const env = { GENRE_CLASSIFIER_TRACKING_URI: database.uri };
      const fresh = await doctor(["--data-dir", join(dir, "pg")], env);
      assert.equal(named(fresh.checks, "migrations")[0]?.status, "warn");
      const listed = await runCli(["--data-dir", join(dir, "pg"), "flows", "runs", "list"], {
        env: cleanEnv(env),
      });
      assert.equal(listed.code, 0, listed.stderr);
      const result = await doctor(["--data-dir", join(dir, "pg")], env);
      assert.equal(result.code, 0, JSON.stringify(result.checks));
      assert.equal(named(result.checks, "tracking database")[0]?.status, "ok");
      assert.equal(named(result.checks, "migrations")[0]?.status, "ok");
    } finally {
      await database.drop();
    }
  });

  it("counts the workers that reported in Redis, and warns while none serves a queue", {
    skip: redisUnavailable(),
  }, async () => {
    const redis = await sharedRedis();
    const settings = testQueueSettings(redis.url);
    const env = {
      GENRE_CLASSIFIER_ORCHESTRATION_EXECUTOR: "bullmq",
      GENRE_CLASSIFIER_ORCHESTRATION_REDIS_URL: redis.url,
      GENRE_CLASSIFIER_ORCHESTRATION_REDIS_PREFIX: settings.prefix,
    };
    const data = join(dir, "redis");
    let publisher: WorkerStatusPublisher | undefined;
    try {
      const none = await doctor(["--data-dir", data], env);
      assert.equal(none.code, 0, JSON.stringify(none.checks, null, 1));
      assert.equal(named(none.checks, "redis")[0]?.status, "ok");
      const [idle] = named(none.checks, "workers");
      assert.equal(idle?.status, "warn");
      assert.match(
        idle?.message ?? "",
        /^0 workers \(0\/0 slots busy\);.* tasks: 0 waiting, 0 active, 0 failed.*no worker reported within 15 s for .*\btasks\b/,
      );
      assert.match(idle?.fix ?? "", /genre-classifier worker --queues \S*\btasks\b/);

      publisher = WorkerStatusPublisher.start(
        settings,
        () => ({ name: "w-doctor", queues: ["tasks"], slots: 4, busy: 1, completed: 7, failed: 0 }),
        silentLogger,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const one = await doctor(["--data-dir", data], env);
      const [served] = named(one.checks, "workers");
      assert.match(served?.message ?? "", /^1 worker \(1\/4 slots busy\)/);
      // Other queues named by tasks may still lack a worker; "tasks" has one now.
      assert.doesNotMatch(served?.message ?? "", /no worker reported .*\btasks\b/);
    } finally {
      await publisher?.stop(Date.now() + 1000);
      await redis.stop();
    }
  });
});
