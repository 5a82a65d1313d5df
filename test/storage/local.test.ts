// The local-folder object store: the conformance suite, plus what only a folder can get
// wrong (symbolic links out of the root, temporary files, file-versus-folder keys).
import assert from "node:assert/strict";
import { existsSync, utimesSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { InputError } from "../../src/common/errors.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";
import { objectStoreConformance } from "./conformance.ts";

objectStoreConformance("local folder", async () => {
  const root = await mkdtemp(join(tmpdir(), "gc-local-store-"));
  return {
    store: new LocalObjectStore(join(root, "store")),
    teardown: () => rm(root, { recursive: true, force: true }),
  };
});

describe("local object store", () => {
  let root: string;
  let store: LocalObjectStore;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "gc-local-"));
    store = new LocalObjectStore(join(root, "store"));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("leaves no object and no temporary file when a write fails midway", async () => {
    await store.put("crash/kept", "old");
    async function* failing() {
      yield Buffer.from("partial data");
      throw new Error("source died");
    }
    await assert.rejects(store.put("crash/new", failing()), /source died/);
    await assert.rejects(store.put("crash/kept", Readable.from(failing())), /source died/);
    assert.equal(await store.exists("crash/new"), false);
    assert.equal(Buffer.from(await store.get("crash/kept")).toString(), "old");
    assert.deepEqual(await readdir(join(store.root, ".incoming")), []);
  });

  it("refuses keys that lead outside the root through a symbolic link", async () => {
    const outside = join(root, "outside");
    await rm(outside, { recursive: true, force: true });
    await writeFile(join(root, "secret.txt"), "secret");
    await store.put("links/placeholder", "x");
    await symlink(root, join(store.root, "links", "up"));
    await assert.rejects(store.get("links/up/secret.txt"), /outside the store root/);
    await assert.rejects(store.put("links/up/planted.txt", "x"), /outside the store root/);
    await assert.rejects(
      store.put("links/up/new-folder/deeper/planted.txt", "x"),
      /outside the store root/,
    );
    assert.equal(
      existsSync(join(root, "new-folder")),
      false,
      "no folder was created outside the root",
    );
  });

  it("lists each object with its own file, never through a symbolic link", async () => {
    await store.put("walk/a/1.h5", "one");
    await store.put("walk/b/2.h5", "two");
    await symlink(join(store.root, "walk", "a"), join(store.root, "walk", "linked-folder"));
    await symlink(join(store.root, "walk", "a", "1.h5"), join(store.root, "walk", "linked.h5"));
    const listed = [];
    for await (const info of store.listAll("walk/")) listed.push(info);
    assert.deepEqual(
      listed.map((info) => [info.key, info.localPath, info.size]),
      [
        ["walk/a/1.h5", join(store.root, "walk", "a", "1.h5"), 3],
        ["walk/b/2.h5", join(store.root, "walk", "b", "2.h5"), 3],
      ],
    );
    await symlink(root, join(store.root, "walk", "up"));
    await assert.rejects(
      (async () => {
        for await (const _ of store.listAll("walk/up/")) {
        }
      })(),
      /outside the store root/,
    );
  });

  it("removes temporary files older than a day when opened, never younger ones", async () => {
    const folder = join(root, "stale-store");
    const incoming = join(folder, ".incoming");
    await mkdir(join(incoming, "old-folder"), { recursive: true });
    const hours = (h: number) => new Date(Date.now() - h * 3600_000);
    const ages: [string, number][] = [
      ["killed-writer", 25],
      ["check-probe", 24 * 30],
      ["old-folder", 48],
      ["busy-writer", 23],
      ["just-started", 0],
    ];
    for (const [name, age] of ages) {
      const path = join(incoming, name);
      if (name !== "old-folder") await writeFile(path, "partial");
      utimesSync(path, hours(age), hours(age));
    }
    const opened = new LocalObjectStore(folder);
    assert.deepEqual((await readdir(incoming)).sort(), ["busy-writer", "just-started"]);
    await opened.put("kept", "x");
    assert.equal(Buffer.from(await opened.get("kept")).toString(), "x");
    // A store whose folder does not exist yet opens as before.
    new LocalObjectStore(join(root, "not-yet"));
    assert.equal(existsSync(join(root, "not-yet")), false);
  });

  it("reserves the temporary folder and explains file-versus-folder conflicts", async () => {
    await assert.rejects(store.put(".incoming/x", "x"), InputError);
    await store.put("conflict/a", "x");
    await assert.rejects(store.put("conflict/a/b", "x"), /conflicts with an object/);
    await store.put("conflict/c/d", "x");
    await assert.rejects(store.put("conflict/c", "x"), /conflicts with a folder/);
    const page = await store.list("", { recursive: false });
    assert.ok(!page.prefixes.includes(".incoming/"));
  });
});
