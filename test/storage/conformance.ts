// The object store conformance suite: the same cases run against every backend (local
// folder, s3rver, and a real S3 endpoint when S3_TEST_ENDPOINT is set).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { InputError } from "../../src/common/errors.ts";
import { ObjectNotFoundError, type ObjectStore } from "../../src/storage/object-store.ts";

export interface ConformanceTarget {
  store: ObjectStore;
  teardown(): Promise<void>;
  /** Known faults of a test server (s3rver): the cases they break are skipped with the reason. */
  quirks?: {
    /** Cannot page a delimiter listing, or order keys whose bytes sort unlike their folders. */
    listing?: string;
    /** Writes objects in place, so racing writers can interleave. */
    atomicWrites?: string;
  };
}

const MIB = 1024 * 1024;

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function listEverything(
  store: ObjectStore,
  prefix: string,
  recursive: boolean,
  pageSize: number,
) {
  const keys: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.list(prefix, { recursive, pageSize, cursor });
    assert.ok(
      page.objects.length + page.prefixes.length <= pageSize,
      "a page holds at most pageSize entries",
    );
    keys.push(...page.objects.map((o) => o.key), ...page.prefixes);
    cursor = page.cursor;
    pages++;
    assert.ok(pages < 10_000, "listing must end");
  } while (cursor);
  return { keys, pages };
}

const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

export function objectStoreConformance(
  name: string,
  setup: () => Promise<ConformanceTarget>,
): void {
  describe(`object store conformance: ${name}`, () => {
    let target: ConformanceTarget;
    let store: ObjectStore;
    let scratch: string;

    before(async () => {
      target = await setup();
      store = target.store;
      scratch = await mkdtemp(join(tmpdir(), "gc-conformance-"));
    });
    after(async () => {
      await target?.teardown();
      await rm(scratch, { recursive: true, force: true });
    });

    it("puts and gets bytes and strings, with head and exists", async () => {
      const bytes = randomBytes(1000);
      const info = await store.put("basic/bytes.bin", bytes);
      assert.equal(info.key, "basic/bytes.bin");
      assert.equal(info.size, 1000);
      assert.ok(info.etag.length > 0);
      assert.deepEqual(Buffer.from(await store.get("basic/bytes.bin")), bytes);
      await store.put("basic/text.txt", "héllo wörld");
      assert.equal(Buffer.from(await store.get("basic/text.txt")).toString("utf8"), "héllo wörld");
      const head = await store.head("basic/bytes.bin");
      assert.equal(head?.size, 1000);
      assert.equal(head?.etag, info.etag);
      assert.ok(head && Math.abs(head.lastModified.getTime() - Date.now()) < 10 * 60_000);
      assert.equal(await store.exists("basic/bytes.bin"), true);
      assert.equal(await store.exists("basic/nope.bin"), false);
      assert.equal(await store.head("basic/nope.bin"), undefined);
    });

    it("stores an empty object", async () => {
      await store.put("basic/empty", new Uint8Array(0));
      assert.equal((await store.head("basic/empty"))?.size, 0);
      assert.equal((await store.get("basic/empty")).byteLength, 0);
    });

    it("puts from a stream and an async iterable, and reads back as a stream", async () => {
      const parts = [randomBytes(3000), randomBytes(5000)];
      await store.put("stream/readable.bin", Readable.from(parts));
      async function* generate() {
        yield parts[0] as Uint8Array;
        yield parts[1] as Uint8Array;
      }
      const info = await store.put("stream/iterable.bin", generate());
      assert.equal(info.size, 8000);
      const expected = Buffer.concat(parts);
      assert.deepEqual(await collect(await store.getStream("stream/readable.bin")), expected);
      assert.deepEqual(Buffer.from(await store.get("stream/iterable.bin")), expected);
    });

    it("puts a file and gets it back to a file", async () => {
      const source = join(scratch, "source.bin");
      const bytes = randomBytes(12345);
      await writeFile(source, bytes);
      const info = await store.putFile("files/one.bin", source);
      assert.equal(info.size, 12345);
      const target = join(scratch, "out", "copy.bin");
      await store.getFile("files/one.bin", target);
      assert.deepEqual(await readFile(target), bytes);
      await assert.rejects(
        store.getFile("files/missing.bin", join(scratch, "x")),
        ObjectNotFoundError,
      );
    });

    it("reads byte ranges", async () => {
      const bytes = Buffer.from("0123456789");
      await store.put("range/digits", bytes);
      assert.equal(
        Buffer.from(await store.get("range/digits", { start: 2, end: 5 })).toString(),
        "2345",
      );
      assert.equal(Buffer.from(await store.get("range/digits", { start: 7 })).toString(), "789");
      assert.equal(
        Buffer.from(await store.get("range/digits", { start: 8, end: 100 })).toString(),
        "89",
      );
      assert.equal(
        (await collect(await store.getStream("range/digits", { start: 1, end: 1 }))).toString(),
        "1",
      );
      await assert.rejects(store.get("range/digits", { start: 10 }), InputError);
      await assert.rejects(store.get("range/digits", { start: 5, end: 2 }), InputError);
    });

    it("overwrites an object and changes its etag", async () => {
      const first = await store.put("overwrite/key", "first version");
      await new Promise((r) => setTimeout(r, 1100));
      const second = await store.put("overwrite/key", "second, longer version");
      assert.notEqual(first.etag, second.etag);
      assert.equal(
        Buffer.from(await store.get("overwrite/key")).toString(),
        "second, longer version",
      );
    });

    it("reports missing objects clearly and deletes idempotently", async () => {
      await assert.rejects(store.get("missing/key"), (error: Error) => {
        assert.ok(error instanceof ObjectNotFoundError);
        assert.match(error.message, /missing\/key/);
        return true;
      });
      await assert.rejects(store.getStream("missing/key"), ObjectNotFoundError);
      await store.delete("missing/key");
      await store.put("missing/there", "x");
      await store.delete("missing/there");
      assert.equal(await store.exists("missing/there"), false);
      await store.delete("missing/there");
    });

    it("keeps keys with spaces and unicode exactly", async () => {
      const key = "unicode/folder with spaces/Ünïcödé 🎵 Björk – Jóga (live).h5";
      await store.put(key, "music");
      assert.equal(Buffer.from(await store.get(key)).toString(), "music");
      const { keys } = await listEverything(store, "unicode/", true, 1000);
      assert.deepEqual(keys, [key]);
      const copied = await store.copy(key, "unicode/copy – ✓.h5");
      assert.equal(copied.size, 5);
      assert.equal(Buffer.from(await store.get("unicode/copy – ✓.h5")).toString(), "music");
      const { keys: folders } = await listEverything(store, "unicode/", false, 1000);
      assert.deepEqual(folders, ["unicode/copy – ✓.h5", "unicode/folder with spaces/"]);
    });

    it("copies objects", async () => {
      const bytes = randomBytes(2048);
      await store.put("copy/source", bytes);
      const info = await store.copy("copy/source", "copy/nested/target");
      assert.equal(info.key, "copy/nested/target");
      assert.equal(info.size, 2048);
      assert.deepEqual(Buffer.from(await store.get("copy/nested/target")), bytes);
      assert.ok(await store.exists("copy/source"));
      await assert.rejects(store.copy("copy/absent", "copy/other"), ObjectNotFoundError);
    });

    it("rejects invalid keys before touching the store", async () => {
      for (const key of [
        "",
        "/abs",
        "a//b",
        "../escape",
        "a/../../b",
        "a/./b",
        "trailing/",
        "back\\slash",
        "nul\u0000",
      ]) {
        await assert.rejects(store.put(key, "x"), InputError, `key ${JSON.stringify(key)}`);
        await assert.rejects(store.get(key), InputError, `key ${JSON.stringify(key)}`);
      }
      await assert.rejects(store.list("../"), InputError);
    });

    it("lists recursively and by folder, with prefixes that end mid-name", async () => {
      for (const key of ["tree/a/1", "tree/a/2", "tree/a/b/3", "tree/ab/4", "tree/c"])
        await store.put(key, key);
      const all = await listEverything(store, "tree/", true, 1000);
      assert.deepEqual(all.keys, ["tree/a/1", "tree/a/2", "tree/a/b/3", "tree/ab/4", "tree/c"]);
      const midName = await listEverything(store, "tree/a", true, 1000);
      assert.deepEqual(midName.keys, ["tree/a/1", "tree/a/2", "tree/a/b/3", "tree/ab/4"]);
      const folder = await listEverything(store, "tree/", false, 1000);
      assert.deepEqual(folder.keys, ["tree/c", "tree/a/", "tree/ab/"]);
      const page = await store.list("tree/a/", { recursive: false });
      assert.deepEqual(
        page.objects.map((o) => o.key),
        ["tree/a/1", "tree/a/2"],
      );
      assert.deepEqual(page.prefixes, ["tree/a/b/"]);
      assert.equal(page.cursor, undefined);
      assert.equal(page.objects[0]?.size, "tree/a/1".length);
      assert.deepEqual(await listEverything(store, "no-such-prefix/", true, 1000), {
        keys: [],
        pages: 1,
      });
    });

    it("lists only the keys after startAfter, across pages and folders", async () => {
      await Promise.all(
        [
          "after-range/a/1",
          "after-range/a/2",
          "after-range/b/1",
          "after-range/b/2",
          "after-range/c",
        ].map((k) => store.put(k, k)),
      );
      const after = async (startAfter: string, pageSize?: number) => {
        const keys: string[] = [];
        for await (const info of store.listAll("after-range/", {
          startAfter,
          ...(pageSize ? { pageSize } : {}),
        }))
          keys.push(info.key);
        return keys;
      };
      assert.deepEqual(await after("after-range/a/2"), [
        "after-range/b/1",
        "after-range/b/2",
        "after-range/c",
      ]);
      assert.deepEqual(await after("after-range/a/15", 1), [
        "after-range/a/2",
        "after-range/b/1",
        "after-range/b/2",
        "after-range/c",
      ]);
      assert.deepEqual(await after("after-range/b/"), [
        "after-range/b/1",
        "after-range/b/2",
        "after-range/c",
      ]);
      assert.deepEqual(await after("after-range/c"), []);
      const page = await store.list("after-range/", { startAfter: "after-range/b/1", pageSize: 2 });
      assert.deepEqual(
        page.objects.map((o) => o.key),
        ["after-range/b/2", "after-range/c"],
      );
    });

    it("pages through more than 1,000 keys", async () => {
      const keys = Array.from(
        { length: 1050 },
        (_, i) => `many/item-${String(i).padStart(5, "0")}`,
      );
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((key) => store.put(key, key)));
      }
      const first = await store.list("many/");
      assert.equal(first.objects.length, 1000);
      assert.ok(first.cursor, "a first page of 1,000 has a cursor");
      const listed = await listEverything(store, "many/", true, 1000);
      assert.equal(listed.pages, 2);
      assert.deepEqual(listed.keys, keys);
      const small = await listEverything(store, "many/", true, 97);
      assert.equal(small.pages, Math.ceil(1050 / 97));
      assert.deepEqual(small.keys, keys);
      const seen: string[] = [];
      for await (const info of store.listAll("many/", { pageSize: 300 })) seen.push(info.key);
      assert.deepEqual(seen, keys);
    });

    it("orders keys by UTF-8 bytes, across folders, when paging", async (t) => {
      if (target.quirks?.listing) return t.skip(target.quirks.listing);
      const keys = [
        "order/a-x",
        "order/a.b",
        "order/a/1",
        "order/a/2",
        "order/a0",
        "order/b/ä",
        "order/b/z",
        "order/é",
      ];
      for (const key of keys) await store.put(key, key);
      const expected = [...keys].sort(byteOrder);
      for (const pageSize of [1, 2, 3, 1000]) {
        assert.deepEqual(
          (await listEverything(store, "order/", true, pageSize)).keys,
          expected,
          `page size ${pageSize}`,
        );
      }
    });

    it("pages a folder listing with prefixes", async (t) => {
      if (target.quirks?.listing) return t.skip(target.quirks.listing);
      for (let i = 0; i < 12; i++) await store.put(`folders/d${String(i).padStart(2, "0")}/x`, "x");
      for (let i = 0; i < 5; i++) await store.put(`folders/f${i}`, "x");
      const expected = [
        ...Array.from({ length: 12 }, (_, i) => `folders/d${String(i).padStart(2, "0")}/`),
        ...Array.from({ length: 5 }, (_, i) => `folders/f${i}`),
      ];
      for (const pageSize of [1, 4, 1000]) {
        const { keys } = await listEverything(store, "folders/", false, pageSize);
        assert.deepEqual([...keys].sort(byteOrder), expected, `page size ${pageSize}`);
      }
    });

    it("writes and reads a 20 MiB object in parts", async () => {
      const size = 20 * MIB;
      const chunk = randomBytes(MIB);
      const expected = createHash("sha256");
      const chunks: Buffer[] = [];
      for (let i = 0; i < 20; i++) {
        const piece = Buffer.from(chunk);
        piece.writeUInt32BE(i, 0);
        chunks.push(piece);
        expected.update(piece);
      }
      const info = await store.put("large/twenty.bin", Readable.from(chunks));
      assert.equal(info.size, size);
      assert.equal((await store.head("large/twenty.bin"))?.size, size);
      const actual = createHash("sha256");
      for await (const piece of await store.getStream("large/twenty.bin")) actual.update(piece);
      assert.equal(actual.digest("hex"), expected.digest("hex"));
      const middle = await store.get("large/twenty.bin", { start: 11 * MIB, end: 11 * MIB + 7 });
      assert.deepEqual(Buffer.from(middle), chunks[11]?.subarray(0, 8));
      const fromBytes = await store.put("large/bytes.bin", Buffer.concat(chunks.slice(0, 12)));
      assert.equal(fromBytes.size, 12 * MIB);
      assert.equal((await store.head("large/bytes.bin"))?.size, 12 * MIB);
    });

    it("keeps one whole version when writers race on a key", async (t) => {
      if (target.quirks?.atomicWrites) return t.skip(target.quirks.atomicWrites);
      const versions = Array.from({ length: 8 }, (_, i) => Buffer.alloc(256 * 1024, i + 1));
      await Promise.all(versions.map((v) => store.put("race/key", v)));
      const stored = Buffer.from(await store.get("race/key"));
      assert.equal(stored.length, 256 * 1024);
      assert.ok(
        versions.some((v) => v.equals(stored)),
        "the stored object is one writer's whole version",
      );
    });

    it("deletes objects so that listings no longer show them", async () => {
      await store.put("gone/a/one", "1");
      await store.put("gone/two", "2");
      await store.delete("gone/a/one");
      const { keys } = await listEverything(store, "gone/", false, 1000);
      assert.deepEqual(keys, ["gone/two"]);
    });

    it("passes its own check", async () => {
      await store.check();
    });
  });
}
