// `genre-classifier ingest` as a user runs it: the summary, and exit code 2 for bad sources.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { runCli } from "../../helpers/cli.ts";

const sample = fileURLToPath(new URL("../../../../shared/msd-sample/data", import.meta.url));

describe("ingest command", () => {
  let cwd: string;
  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "gc-cli-ingest-"));
  });
  after(() => rm(cwd, { recursive: true, force: true }));

  it("exits 2 with one line for a missing source or a bad option", async () => {
    const missing = await runCli(["ingest", "--source", "nowhere"], { cwd });
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, "genre-classifier: --source nowhere: no such file or folder\n");
    const badOption = await runCli(["ingest", "--source", ".", "--concurrency", "zero"], { cwd });
    assert.equal(badOption.code, 2);
    assert.match(badOption.stderr, /--concurrency.*expected a whole number of at least 1/);
    const noSource = await runCli(["ingest"], { cwd });
    assert.equal(noSource.code, 2);
    assert.match(noSource.stderr, /required option '--source <path>' not specified/);
  });

  it("ingests the real sample and summarizes", {
    skip: !existsSync(sample) && "no MSD sample",
  }, async () => {
    const first = await runCli(["ingest", "--source", sample], { cwd });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /ingest: 13 track files found/);
    assert.match(first.stdout, /copied\s+13/);
    assert.match(
      first.stdout,
      new RegExp(`track files are in file://${cwd}/.genre-classifier/store/raw/msd/`),
    );
    const again = await runCli(["ingest", "--source", sample, "--json"], { cwd });
    const summary = JSON.parse(again.stdout) as { unchanged: number; copied: number };
    assert.deepEqual([summary.copied, summary.unchanged], [0, 13]);
  });
});
