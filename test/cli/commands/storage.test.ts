// `genre-classifier storage rm|get` as a user runs them: rm reports what it deleted and refuses
// missing keys, get never creates folders; exit code 2 with one line for each refusal.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { type CliResult, runCli } from "../../helpers/cli.ts";

describe("storage command", () => {
  let cwd: string;
  let storage: (...args: string[]) => Promise<CliResult>;
  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "gc-cli-storage-"));
    const store = pathToFileURL(join(cwd, "store")).href;
    storage = (...args) => runCli(["--store", store, "storage", ...args], { cwd });
    await writeFile(join(cwd, "song.txt"), "la la la");
    const puts = await Promise.all(
      ["music/a.txt", "music/b.txt", "music/deep/c.txt"].map((key) =>
        storage("put", "song.txt", key),
      ),
    );
    for (const put of puts) assert.equal(put.code, 0, put.stderr);
  });
  after(() => rm(cwd, { recursive: true, force: true }));

  const refused = (result: CliResult, pattern: RegExp) => {
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, pattern);
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
  };

  it("rm deletes what exists and refuses a key with no object, deleting nothing", async () => {
    const [missing, mixed, folder] = await Promise.all([
      storage("rm", "music/none.txt"),
      storage("rm", "music/a.txt", "music/none.txt"),
      storage("rm", "music/deep"),
    ]);
    refused(missing, /no object at "music\/none\.txt" in file:\/\/.*: nothing deleted/);
    refused(mixed, /no object at "music\/none\.txt" in file:\/\/.*: nothing deleted/);
    refused(folder, /no object at "music\/deep" in file:\/\/.* \(it is a prefix of 1 object/);
    assert.ok(existsSync(join(cwd, "store", "music", "a.txt")), "nothing was deleted");
    const deleted = await storage("rm", "music/a.txt", "music/b.txt");
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /^deleted 2 objects from file:\/\//);
    const again = await storage("rm", "music/a.txt");
    refused(again, /no object at "music\/a\.txt"/);
  });

  it("get refuses a folder that does not exist instead of creating it", async () => {
    const missing = await storage("get", "music/deep/c.txt", "out/nested/c.txt");
    refused(missing, /out\/nested\/c\.txt: the folder .*out\/nested does not exist/);
    assert.equal(existsSync(join(cwd, "out")), false, "no folder was created");
    await mkdir(join(cwd, "out"));
    const got = await storage("get", "music/deep/c.txt", "out/c.txt");
    assert.equal(got.code, 0, got.stderr);
    assert.equal(await readFile(join(cwd, "out", "c.txt"), "utf8"), "la la la");
  });
});
