// Ingest from folders and streamed archives into a real local store: layout, HDF5 checks,
// idempotent re-runs, rejects with reasons, and the errors for bad sources.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { createGzip } from "node:zlib";
import h5wasm from "h5wasm/node";
import { pack } from "tar-stream";
import { InputError } from "../../src/common/errors.ts";
import { hdf5Problem, ingest } from "../../src/ingest/ingest.ts";
import { generateTrack } from "../../src/msd/synth.ts";
import { writeTrackFile } from "../../src/msd/writer.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";

const sample = fileURLToPath(new URL("../../../shared/msd-sample/data", import.meta.url));

/** Writes synthetic track `variant` as track `id`, so its name matches the id inside it. */
async function writeTrack(path: string, id: string, variant: number): Promise<void> {
  const track = generateTrack(1, variant);
  track.analysis.track_id = id;
  await writeTrackFile(path, track);
}

/** An HDF5 file that is not an MSD track file. */
async function writeHdf5(path: string, value: number): Promise<void> {
  await h5wasm.ready;
  await mkdir(dirname(path), { recursive: true });
  const file = new h5wasm.File(path, "w");
  try {
    file
      .create_group("metadata")
      .create_dataset({ name: "value", data: new Float64Array([value]) });
  } finally {
    file.close();
  }
}

async function writeTarGz(
  path: string,
  entries: { name: string; data?: Buffer; type?: "directory" }[],
): Promise<void> {
  const archive = pack();
  const chunks: Buffer[] = [];
  const gzip = archive.pipe(createGzip());
  gzip.on("data", (c: Buffer) => chunks.push(c));
  const done = new Promise((resolve) => gzip.on("end", resolve));
  for (const entry of entries) {
    if (entry.type === "directory") archive.entry({ name: entry.name, type: "directory" });
    else archive.entry({ name: entry.name }, entry.data ?? Buffer.alloc(0));
  }
  archive.finalize();
  await done;
  await writeFile(path, Buffer.concat(chunks));
}

const ids = [
  "TRAAABD128F429CF47",
  "TRAAAEF128F4273421",
  "TRBCDEF123456789AB",
  "TRZZZZZ12903CEC282",
];

describe("ingest", () => {
  let dir: string;
  let source: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gc-ingest-"));
    source = join(dir, "MillionSongSubset");
    for (const [i, id] of ids.entries())
      await writeTrack(
        join(source, "data", id[2] ?? "", id[3] ?? "", id[4] ?? "", `${id}.h5`),
        id,
        i,
      );
    await writeFile(
      join(source, "data", "A", "A", "A", "._TRAAABD128F429CF47.h5"),
      "AppleDouble junk",
    );
    await writeFile(join(source, "README.txt"), "not a track");
    await mkdir(join(source, "broken"), { recursive: true });
    await writeFile(join(source, "broken", "TRBROKEN1234567890.h5"), "this is not HDF5 at all");
    await writeFile(join(source, "broken", "TREMPTY12345678901.h5"), "");
    await writeHdf5(join(source, "broken", "TRNOTATRACK0000001.h5"), 1);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("copies a folder into raw/msd/A/B/C, rejects files that are not track files, and skips the rest", async () => {
    const store = new LocalObjectStore(join(dir, "store-folder"));
    const outcomes: string[] = [];
    const summary = await ingest({ source, store, onFile: (o) => outcomes.push(o) });
    assert.equal(summary.found, 7);
    assert.equal(summary.copied, 4);
    assert.equal(summary.unchanged, 0);
    assert.deepEqual(summary.rejected, [
      { path: "broken/TRBROKEN1234567890.h5", reason: "not an HDF5 file (no HDF5 signature)" },
      { path: "broken/TREMPTY12345678901.h5", reason: "empty file" },
      {
        path: "broken/TRNOTATRACK0000001.h5",
        reason:
          "cannot read the track id inside it: /analysis: group is missing (not an MSD track file?)",
      },
    ]);
    assert.equal(summary.skipped, 2);
    assert.equal(outcomes.length, 7);
    assert.equal(summary.target, `${store.uri}/raw/msd`);
    const keys: string[] = [];
    for await (const info of store.listAll("raw/msd/")) keys.push(info.key);
    assert.deepEqual(keys, ids.map((id) => `raw/msd/${id[2]}/${id[3]}/${id[4]}/${id}.h5`).sort());
    const original = await readFile(join(source, "data", "B", "C", "D", "TRBCDEF123456789AB.h5"));
    assert.deepEqual(Buffer.from(await store.get("raw/msd/B/C/D/TRBCDEF123456789AB.h5")), original);
  });

  it("does not copy unchanged files again, and copies a changed one", async () => {
    const store = new LocalObjectStore(join(dir, "store-rerun"));
    await ingest({ source, store });
    const before = await store.head("raw/msd/A/A/A/TRAAABD128F429CF47.h5");
    const again = await ingest({ source, store });
    assert.equal(again.copied, 0);
    assert.equal(again.unchanged, 4);
    assert.deepEqual(await store.head("raw/msd/A/A/A/TRAAABD128F429CF47.h5"), before);
    await writeTrack(
      join(source, "data", "Z", "Z", "Z", "TRZZZZZ12903CEC282.h5"),
      "TRZZZZZ12903CEC282",
      99,
    );
    const changed = await ingest({ source, store });
    assert.equal(changed.copied, 1);
    assert.equal(changed.unchanged, 3);
  });

  it("streams a .tar.gz, skipping macOS ._ files, folders and other files", async () => {
    const archive = join(dir, "subset.tar.gz");
    const entries = [{ name: "MillionSongSubset/", type: "directory" as const }];
    for (const id of ids) {
      const path = join(source, "data", id[2] ?? "", id[3] ?? "", id[4] ?? "", `${id}.h5`);
      entries.push({
        name: `MillionSongSubset/data/${id[2]}/${id[3]}/${id[4]}/${id}.h5`,
        data: await readFile(path),
      } as never);
      entries.push({
        name: `MillionSongSubset/data/${id[2]}/${id[3]}/${id[4]}/._${id}.h5`,
        data: Buffer.from("junk"),
      } as never);
    }
    entries.push({
      name: "MillionSongSubset/AdditionalFiles/subset_msd_summary_file.h5",
      data: Buffer.alloc(10),
    } as never);
    entries.push({
      name: "MillionSongSubset/data/X/X/X/TRXXXXX00000000000.h5",
      data: Buffer.from("truncated"),
    } as never);
    await writeTarGz(archive, entries);
    const store = new LocalObjectStore(join(dir, "store-archive"));
    const summary = await ingest({ source: archive, store, concurrency: 2 });
    assert.equal(summary.copied, 4);
    assert.equal(summary.skipped, 5);
    assert.deepEqual(
      summary.rejected.map((r) => r.path),
      ["MillionSongSubset/data/X/X/X/TRXXXXX00000000000.h5"],
    );
    const again = await ingest({ source: archive, store });
    assert.equal(again.unchanged, 4);
    assert.equal(again.copied, 0);
  });

  it("rejects a second file with the same track id", async () => {
    const twice = join(dir, "twice");
    await writeTrack(join(twice, "one", "TRAAABD128F429CF47.h5"), "TRAAABD128F429CF47", 1);
    await writeTrack(join(twice, "two", "TRAAABD128F429CF47.h5"), "TRAAABD128F429CF47", 2);
    const summary = await ingest({
      source: twice,
      store: new LocalObjectStore(join(dir, "store-twice")),
    });
    assert.equal(summary.copied, 1);
    assert.match(
      summary.rejected[0]?.reason ?? "",
      /duplicate track id TRAAABD128F429CF47 \(also at one\/TRAAABD128F429CF47\.h5\)/,
    );
  });

  it("rejects a copy of another track under a wrong name, whatever the walk order", async () => {
    const genuine = generateTrack(7, 0);
    const other = generateTrack(7, 1);
    const id = genuine.analysis.track_id;
    const otherId = other.analysis.track_id;
    const canonical = (trackId: string) =>
      `raw/msd/${trackId[2]}/${trackId[3]}/${trackId[4]}/${trackId}.h5`;
    for (const [order, copyFolder] of [
      ["copy first", "0-copies"],
      ["copy last", "z-copies"],
    ] as const) {
      const folder = join(dir, `mislabelled-${copyFolder}`);
      await writeTrackFile(join(folder, "tracks", `${id}.h5`), genuine);
      await writeTrackFile(join(folder, "tracks", `${otherId}.h5`), other);
      await writeTrackFile(join(folder, copyFolder, `${id}.h5`), other);
      const store = new LocalObjectStore(join(dir, `store-mislabelled-${copyFolder}`));
      const summary = await ingest({ source: folder, store, concurrency: 3 });
      assert.deepEqual(
        summary.rejected,
        [
          {
            path: `${copyFolder}/${id}.h5`,
            reason: `file name ${id} does not match the track id ${otherId} inside it`,
          },
        ],
        order,
      );
      assert.equal(summary.copied, 2, order);
      assert.deepEqual(
        Buffer.from(await store.get(canonical(id))),
        await readFile(join(folder, "tracks", `${id}.h5`)),
        `${order}: the genuine file is in the store`,
      );
      const keys: string[] = [];
      for await (const info of store.listAll("raw/msd/")) keys.push(info.key);
      assert.deepEqual(keys, [canonical(id), canonical(otherId)].sort(), order);

      const archive = join(dir, `mislabelled-${copyFolder}.tar.gz`);
      const names = [`${copyFolder}/${id}.h5`, `tracks/${id}.h5`, `tracks/${otherId}.h5`].sort();
      await writeTarGz(
        archive,
        await Promise.all(
          names.map(async (name) => ({ name, data: await readFile(join(folder, name)) })),
        ),
      );
      const fromArchive = await ingest({
        source: archive,
        store: new LocalObjectStore(join(dir, `store-mislabelled-tar-${copyFolder}`)),
      });
      assert.deepEqual(fromArchive.rejected, summary.rejected, `${order}, from an archive`);
      assert.equal(fromArchive.copied, 2, `${order}, from an archive`);
    }
  });

  it("fails clearly on a missing source, an empty archive, a corrupt archive or a plain file", async () => {
    const store = new LocalObjectStore(join(dir, "store-errors"));
    const empty = join(dir, "empty.tar.gz");
    await writeTarGz(empty, []);
    const corrupt = join(dir, "corrupt.tar.gz");
    await writeFile(corrupt, Buffer.from("definitely not gzip"));
    const emptyFolder = join(dir, "nothing-here");
    await mkdir(emptyFolder);
    const plain = join(dir, "notes.txt");
    await writeFile(plain, "x");
    for (const [path, pattern] of [
      [join(dir, "absent"), /--source .*absent: no such file or folder/],
      [empty, /the archive contains no MSD track files/],
      [emptyFolder, /the folder contains no MSD track files/],
      [corrupt, /archive .*corrupt\.tar\.gz: cannot be read as gzip-compressed tar/],
      [plain, /expected a folder or a \.tar, \.tar\.gz or \.tgz archive/],
    ] as const) {
      await assert.rejects(
        ingest({ source: path, store }),
        (error: Error) => error instanceof InputError && pattern.test(error.message),
        path,
      );
    }
    assert.equal(existsSync(join(dir, "store-errors", "raw")), false, "nothing was written");
  });

  it("ingests the real MSD sample", {
    skip: !existsSync(sample) && `no MSD sample at ${sample}`,
  }, async () => {
    const store = new LocalObjectStore(join(dir, "store-sample"));
    const summary = await ingest({ source: sample, store });
    assert.equal(summary.copied, 13);
    assert.deepEqual(summary.rejected, []);
  });

  it("recognizes the HDF5 signature at 0 and at a user-block offset", () => {
    const signature = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.equal(hdf5Problem(Buffer.concat([signature, Buffer.alloc(100)])), undefined);
    assert.equal(
      hdf5Problem(Buffer.concat([Buffer.alloc(512), signature, Buffer.alloc(100)])),
      undefined,
    );
    assert.match(hdf5Problem(Buffer.alloc(4096)) ?? "", /not an HDF5 file/);
  });
});
