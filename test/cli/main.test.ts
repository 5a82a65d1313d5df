// The command line as a user meets it: help everywhere, exit codes, one-line errors, the
// configuration layers, logging options and the demo.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Command } from "commander";
import { buildProgram } from "../../src/cli/main.ts";
import { readTable } from "../../src/features/table.ts";
import { cleanEnv, runCli } from "../helpers/cli.ts";
import { type LocalS3Server, startLocalS3 } from "../helpers/s3-server.ts";

function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((sub) => [
    [...prefix, sub.name()],
    ...commandPaths(sub, [...prefix, sub.name()]),
  ]);
}

/** A demo small enough for a test: 200 tracks give 9 test tracks in the two newest years. */
const SMALL_DEMO = ["--tracks", "200", "--batch-size", "5"];

describe("command line", () => {
  let cwd: string;
  let s3: LocalS3Server;
  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "gc-cli-"));
    s3 = await startLocalS3("cli-bucket");
  });
  after(async () => {
    await s3.stop();
    await rm(cwd, { recursive: true, force: true });
  });

  it("lists the commands in --help", async () => {
    const { code, stdout } = await runCli(["--help"], { cwd });
    assert.equal(code, 0);
    for (const name of ["demo", "config", "storage"])
      assert.match(stdout, new RegExp(`^  ${name}\\b`, "m"));
  });

  it("gives every command --help, showing --verbose and --quiet", async () => {
    const program = await buildProgram();
    const paths = commandPaths(program);
    assert.ok(paths.length >= 8);
    for (const path of paths) {
      const command = path.reduce<Command>(
        (parent, name) => parent.commands.find((c) => c.name() === name) as Command,
        program,
      );
      const help = command.helpInformation();
      const name = path.join(" ");
      assert.match(help, new RegExp(`Usage: genre-classifier ${name}`), `${name} --help`);
      assert.match(help, /--verbose/, `${name} --help shows --verbose`);
      assert.match(help, /--quiet/, `${name} --help shows --quiet`);
    }
    const spawned = await runCli([...(paths.at(-1) as string[]), "--help"], { cwd });
    assert.equal(spawned.code, 0);
    assert.match(spawned.stdout, /--verbose/);
  });

  it("gives each command the same help when only its own module is loaded", async () => {
    const full = await buildProgram();
    const find = (program: Command, path: string[]) =>
      path.reduce<Command | undefined>(
        (parent, name) => parent?.commands.find((c) => c.name() === name),
        program,
      );
    for (const path of commandPaths(full)) {
      const alone = await buildProgram(["--log-level", "warn", ...path, "--help"]);
      assert.ok(alone.commands.length < full.commands.length, `${path[0]} loads alone`);
      assert.equal(
        find(alone, path)?.helpInformation(),
        find(full, path)?.helpInformation(),
        path.join(" "),
      );
    }
    for (const argv of [["--help"], ["help", "model"], ["-vc", "x.json", "model"], ["nope"]]) {
      const program = await buildProgram(argv);
      assert.equal(program.commands.length, full.commands.length, argv.join(" "));
      assert.equal(program.helpInformation(), full.helpInformation());
    }
  });

  it("exits 2 on bad usage", async () => {
    for (const args of [
      ["nope"],
      ["config", "show", "--bogus"],
      ["storage", "put", "only-one"],
      [],
    ]) {
      const { code } = await runCli(args, { cwd });
      assert.equal(code, 2, args.join(" "));
    }
  });

  it("shows config from a file, an environment variable and a flag overriding each other", async () => {
    const dir = await mkdtemp(join(cwd, "layers-"));
    await writeFile(
      join(dir, "genre-classifier.config.json"),
      JSON.stringify({
        storage: {
          s3: {
            region: "eu-west-1",
            maxAttempts: 3,
            secretAccessKey: "hunter2",
            accessKeyId: "AK",
          },
        },
      }),
    );
    const env = cleanEnv({
      GENRE_CLASSIFIER_STORAGE_S3_MAX_ATTEMPTS: "9",
      GENRE_CLASSIFIER_STORAGE_S3_REGION: "eu-north-1",
    });
    const { code, stdout } = await runCli(
      ["config", "show", "--set", "storage.s3.region=us-west-2"],
      { cwd: dir, env },
    );
    assert.equal(code, 0);
    const row = (key: string) =>
      stdout
        .split("\n")
        .find((line) => line.startsWith(`${key} `))
        ?.split(/\s{2,}/);
    assert.deepEqual(row("storage.s3.region"), [
      "storage.s3.region",
      "us-west-2",
      "flag --set storage.s3.region",
    ]);
    assert.deepEqual(row("storage.s3.maxAttempts"), [
      "storage.s3.maxAttempts",
      "9",
      "env GENRE_CLASSIFIER_STORAGE_S3_MAX_ATTEMPTS",
    ]);
    assert.equal(
      row("storage.s3.accessKeyId")?.[2],
      `file ${join(dir, "genre-classifier.config.json")}`,
    );
    assert.equal(row("storage.s3.secretAccessKey")?.[1], "****");
    assert.doesNotMatch(stdout, /hunter2/);
    assert.deepEqual(row("log.level"), ["log.level", "info", "default"]);
    const json = await runCli(["config", "show", "--json"], { cwd: dir, env });
    const parsed = JSON.parse(json.stdout) as {
      keys: { key: string; value: string; source: string }[];
    };
    assert.equal(parsed.keys.find((k) => k.key === "storage.s3.region")?.value, "eu-north-1");
  });

  it("reports bad configuration in one line with exit 2, the stack only with --verbose", async () => {
    const env = cleanEnv({ GENRE_CLASSIFIER_STORAGE_S3_MAX_ATTEMPTS: "x" });
    const plain = await runCli(["config", "show"], { cwd, env });
    assert.equal(plain.code, 2);
    assert.equal(
      plain.stderr,
      'genre-classifier: environment variable GENRE_CLASSIFIER_STORAGE_S3_MAX_ATTEMPTS: expected a number, got "x"\n',
    );
    const verbose = await runCli(["config", "show", "--verbose"], { cwd, env });
    assert.equal(verbose.code, 2);
    assert.match(verbose.stderr, /\n\s+at /);
  });

  it("names a malformed storage URI, a missing bucket, missing credentials and an unreachable endpoint", async () => {
    const badUri = await runCli(["--store", "s3://Bad_Bucket", "storage", "check"], { cwd });
    assert.equal(badUri.code, 2);
    assert.match(
      badUri.stderr,
      /^genre-classifier: storage URI s3:\/\/Bad_Bucket: expected s3:\/\/bucket\/prefix/,
    );

    const s3env = (extra: Record<string, string> = {}) =>
      cleanEnv({
        HOME: cwd,
        GENRE_CLASSIFIER_STORAGE_S3_ENDPOINT: s3.endpoint,
        GENRE_CLASSIFIER_STORAGE_S3_FORCE_PATH_STYLE: "true",
        GENRE_CLASSIFIER_STORAGE_S3_MAX_ATTEMPTS: "2",
        ...extra,
      });
    const keys = {
      GENRE_CLASSIFIER_STORAGE_S3_ACCESS_KEY_ID: "S3RVER",
      GENRE_CLASSIFIER_STORAGE_S3_SECRET_ACCESS_KEY: "S3RVER",
    };

    const missingBucket = await runCli(["--store", "s3://absent-bucket/x", "storage", "check"], {
      cwd,
      env: s3env(keys),
    });
    assert.equal(missingBucket.code, 2);
    assert.match(
      missingBucket.stderr,
      /bucket absent-bucket does not exist at http:\/\/127\.0\.0\.1/,
    );

    const noCredentials = await runCli(["--store", `s3://${s3.bucket}`, "storage", "check"], {
      cwd,
      env: s3env(),
    });
    assert.equal(noCredentials.code, 2);
    assert.match(noCredentials.stderr, /no S3 credentials found: set storage\.s3\.accessKeyId/);

    const unreachable = await runCli(["--store", `s3://${s3.bucket}`, "storage", "check"], {
      cwd,
      env: s3env({ ...keys, GENRE_CLASSIFIER_STORAGE_S3_ENDPOINT: "http://127.0.0.1:9" }),
    });
    assert.equal(unreachable.code, 1);
    assert.match(
      unreachable.stderr,
      /cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/,
    );
    for (const result of [missingBucket, noCredentials, unreachable]) {
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    }

    const works = await runCli(["--store", `s3://${s3.bucket}/cli`, "storage", "check"], {
      cwd,
      env: s3env(keys),
    });
    assert.equal(works.code, 0, works.stderr);
    assert.match(works.stdout, /ok: s3:\/\/cli-bucket\/cli is reachable and writable/);
  });

  it("moves objects with the storage commands", async () => {
    const dir = await mkdtemp(join(cwd, "objects-"));
    await writeFile(join(dir, "song.txt"), "la la la");
    const put = await runCli(["storage", "put", "song.txt", "music/la la.txt"], { cwd: dir });
    assert.equal(put.code, 0, put.stderr);
    const ls = await runCli(["storage", "ls", "music/"], { cwd: dir });
    assert.match(ls.stdout, /8 B .* music\/la la\.txt/);
    assert.match(ls.stdout, /1 objects, 8 B/);
    const cat = await runCli(["storage", "get", "music/la la.txt", "-"], { cwd: dir });
    assert.equal(cat.stdout, "la la la");
    const missing = await runCli(["storage", "stat", "music/none"], { cwd: dir });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /object "music\/none" not found in file:\/\//);
    const rmResult = await runCli(["storage", "rm", "music/la la.txt"], { cwd: dir });
    assert.equal(rmResult.code, 0);
    assert.match((await runCli(["storage", "ls", "-r"], { cwd: dir })).stdout, /0 objects/);
  });

  it("logs readable lines by default, JSON on request, to a file, and nothing with --quiet", async () => {
    const dir = await mkdtemp(join(cwd, "logs-"));
    const demo = ["demo", ...SMALL_DEMO];
    const readable = await runCli(demo, { cwd: dir });
    assert.equal(readable.code, 0, readable.stderr);
    assert.match(readable.stderr, /INFO.*1\/3 generating a synthetic MSD subset/);
    const json = await runCli([...demo, "--log-format", "json", "--log-file", "run.log"], {
      cwd: dir,
    });
    const line = JSON.parse(json.stderr.trim().split("\n")[0] as string) as {
      level: number;
      msg: string;
    };
    assert.equal(line.msg, "1/3 reusing the generated subset");
    const logged = (await readFile(join(dir, "run.log"), "utf8")).trim().split("\n");
    assert.ok(logged.length >= 3);
    assert.ok(logged.every((l) => typeof JSON.parse(l).time === "number"));
    const quiet = await runCli([...demo, "--quiet"], { cwd: dir });
    assert.equal(quiet.stderr, "");
    assert.match(quiet.stdout, /genre-classifier demo: done/);
  });

  it("runs the loop in the demo: complete-training, then daily-inference day by day", async () => {
    const dir = await mkdtemp(join(cwd, "demo-"));
    // One champion through the loop: on 200 tracks the validation Jaccard (31 tracks) is far above
    // what a day of 5 tracks scores, so the quality rule would retrain on day 1 (the demo test
    // covers retraining on the default subset).
    const { code, stdout, stderr } = await runCli(["demo", ...SMALL_DEMO, "--days", "3"], {
      cwd: dir,
      env: cleanEnv({ GENRE_CLASSIFIER_MONITORING_RETRAIN: "false" }),
    });
    assert.equal(code, 0, stderr);
    const store = join(dir, ".genre-classifier", "store");
    assert.match(stdout, /data\s+200 synthetic MSD track files/);
    assert.match(stdout, /ingest\s+200 copied/);
    assert.match(stdout, /preprocess\s+200 tracks/);
    assert.match(
      stdout,
      /split\s+\d+ train, \d+ validation \(by artist\), 9 test tracks .* in 2 days of 5/,
    );
    assert.match(stdout, /gate\s+registered: passed: baseline ok/);
    assert.match(stdout, /model\s+genre-classifier version 1 is the champion/);
    assert.match(stdout, /the split has 2 days of 5 tracks: lower --batch-size/);
    assert.match(stdout, /\d+ released from 2010 on follow a trend of strength 1/);
    for (const day of [1, 2])
      assert.match(
        stdout,
        new RegExp(
          `drift: \\d+ of \\d+ columns \\(share [01]\\.\\d{3}\\).*, Jaccard [01]\\.\\d{3} → file://${store}/reports/monitoring/day=000${day}/report\\.html`,
        ),
      );
    assert.match(stdout, new RegExp(`reports\\s+file://${store}/reports/monitoring/index\\.html`));
    const index = await readFile(join(store, "reports", "monitoring", "index.html"), "utf8");
    assert.match(index, /day=0002\/report\.html/);
    for (const day of [1, 2]) {
      const key = `predictions/day=000${day}/predictions.parquet`;
      assert.match(
        stdout,
        new RegExp(
          `day ${day}\\s+\\d+ tracks tagged by version 1 \\(written\\) → file://${store}/${key}`,
        ),
      );
      const predictions = await readTable(join(store, key));
      const batch = await readTable(join(store, `daily/day=000${day}/tracks.parquet`));
      assert.deepEqual(
        predictions.rows.map((r) => r.track_id),
        batch.rows.map((r) => r.track_id),
      );
      assert.ok(predictions.rows.every((r) => r.model_version === "1"));
    }
    const models = await runCli(["models", "show", "genre-classifier", "--json"], { cwd: dir });
    assert.equal(models.code, 0, models.stderr);
    assert.deepEqual(JSON.parse(models.stdout).registered_model.aliases, [
      { alias: "champion", version: "1" },
    ]);

    const again = await runCli(["demo", ...SMALL_DEMO, "--days", "3"], { cwd: dir });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /gate\s+already registered/);
    assert.match(again.stdout, /day 1\s+5 tracks tagged by version 1 \(unchanged\)/);
  });
});
