// Preprocess over a real local store on worker threads: synthetic tracks plus every kind of
// broken file (truncated, not HDF5, missing groups, no segments, invalid UTF-8), the table's
// rows and schema, the rejects with reasons, byte-identical re-runs, and the real sample.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import h5wasm from "h5wasm/node";
import { InputError } from "../../src/common/errors.ts";
import { FEATURE_COLUMNS } from "../../src/features/extract.ts";
import { preprocess } from "../../src/features/preprocess.ts";
import { readTable } from "../../src/features/table.ts";
import { defaultVocabulary } from "../../src/features/vocabulary.ts";
import { ingest } from "../../src/ingest/ingest.ts";
import { generateSubset, generateTrack } from "../../src/msd/synth.ts";
import type { Track } from "../../src/msd/track.ts";
import { writeTrackFile } from "../../src/msd/writer.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";
import { S3ObjectStore } from "../../src/storage/s3.ts";
import { startLocalS3 } from "../helpers/s3-server.ts";
import { trackWithoutSegments } from "../helpers/tracks.ts";
import { h5pyMissing, makeHostileFiles, SECRET_MARKER } from "../msd/hostile-files.ts";

const sample = fileURLToPath(new URL("../../../shared/msd-sample/data", import.meta.url));
const SYNTHETIC = 30;

describe("preprocess", () => {
  let dir: string;
  let store: LocalObjectStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gc-preprocess-test-"));
    store = new LocalObjectStore(join(dir, "store"));
    await generateSubset({ tracks: SYNTHETIC, outDir: join(dir, "subset"), seed: 5, workers: 1 });
    await ingest({ source: join(dir, "subset", "data"), store });

    const first = (await store.list("raw/msd/", { pageSize: 1 })).objects[0]?.key as string;
    const real = Buffer.from(await store.get(first));
    await store.put(
      "raw/msd/X/X/X/TRXXXTRUNCATED0001.h5",
      real.subarray(0, Math.floor(real.length / 2)),
    );
    await store.put("raw/msd/X/X/X/TRXXXNOTHDF5000001.h5", "plain text, not HDF5");

    await h5wasm.ready;
    const partial = join(dir, "partial.h5");
    const file = new h5wasm.File(partial, "w");
    file.create_group("metadata");
    file.close();
    await store.putFile("raw/msd/X/X/X/TRXXXNOGROUPS00001.h5", partial);

    const silent = trackWithoutSegments(99, 0);
    silent.analysis.track_id = "TRXXXNOSEGMENTS001";
    await writeTrackFile(join(dir, "silent.h5"), silent);
    await store.putFile("raw/msd/X/X/X/TRXXXNOSEGMENTS001.h5", join(dir, "silent.h5"));

    const garbled = generateTrack(99, 1);
    garbled.metadata.title = "@@TITLE@@";
    await writeTrackFile(join(dir, "garbled.h5"), garbled);
    const bytes = await readFile(join(dir, "garbled.h5"));
    bytes[bytes.indexOf("@@TITLE@@")] = 0xff;
    await writeFile(join(dir, "garbled.h5"), bytes);
    await store.putFile("raw/msd/X/X/X/TRXXXBADUTF8000001.h5", join(dir, "garbled.h5"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("writes one row per readable track and rejects the rest with reasons", async () => {
    const progress: number[] = [];
    const summary = await preprocess({
      store,
      vocabulary: defaultVocabulary(),
      workers: 2,
      onFile: (d) => progress.push(d),
    });
    assert.equal(summary.files, SYNTHETIC + 5);
    assert.deepEqual(
      progress,
      Array.from({ length: SYNTHETIC + 5 }, (_, i) => i + 1),
    );
    assert.equal(summary.tracks, SYNTHETIC);
    assert.equal(summary.rejects, 5);
    assert.equal(summary.workers, 2);
    assert.ok(summary.genres >= 5, `${summary.genres} genres`);

    const table = await readTable(join(dir, "store", "datasets", "features.parquet"));
    assert.deepEqual(
      table.columns,
      FEATURE_COLUMNS.map((c) => c.name),
    );
    assert.equal(table.rows.length, SYNTHETIC);
    const keys = table.rows.map((r) => `${String(r.track_id).slice(2, 5)}${r.track_id}`);
    assert.deepEqual(keys, [...keys].sort(), "rows in key order");
    for (const row of table.rows) {
      assert.ok(Array.isArray(row.genres));
      assert.ok((row.tempo as number) > 0 && (row.segments_per_second as number) > 0);
    }
    assert.equal(
      summary.tracksWithoutGenres,
      table.rows.filter((r) => (r.genres as string[]).length === 0).length,
    );

    const rejects = await readTable(join(dir, "store", "datasets", "rejects.parquet"));
    const reason = Object.fromEntries(
      rejects.rows.map((r) => [String(r.path).slice("raw/msd/X/X/X/".length), String(r.reason)]),
    );
    assert.deepEqual(Object.keys(reason).sort(), [
      "TRXXXBADUTF8000001.h5",
      "TRXXXNOGROUPS00001.h5",
      "TRXXXNOSEGMENTS001.h5",
      "TRXXXNOTHDF5000001.h5",
      "TRXXXTRUNCATED0001.h5",
    ]);
    assert.match(reason["TRXXXBADUTF8000001.h5"] ?? "", /\/metadata\/songs\.title: invalid UTF-8/);
    assert.match(reason["TRXXXNOSEGMENTS001.h5"] ?? "", /no segments/);
    assert.match(reason["TRXXXNOGROUPS00001.h5"] ?? "", /analysis|musicbrainz|songs/);
    assert.match(reason["TRXXXNOTHDF5000001.h5"] ?? "", /HDF5/);
    assert.match(reason["TRXXXTRUNCATED0001.h5"] ?? "", /truncated|end of file|HDF5/i);
  });

  it("writes a byte-identical table when run again, on any number of workers", async () => {
    await preprocess({
      store,
      vocabulary: defaultVocabulary(),
      workers: 1,
      featuresKey: "again/one.parquet",
    });
    await preprocess({
      store,
      vocabulary: defaultVocabulary(),
      workers: 2,
      featuresKey: "again/two.parquet",
    });
    const one = await readFile(join(dir, "store", "again", "one.parquet"));
    const two = await readFile(join(dir, "store", "again", "two.parquet"));
    assert.ok(one.equals(two));
    assert.ok(one.equals(await readFile(join(dir, "store", "datasets", "features.parquet"))));
  });

  it("rejects only the file that crashed its reader thread, and goes on", async () => {
    const keys: string[] = [];
    for await (const info of store.listAll("raw/msd/")) keys.push(info.key);
    // Far enough into the listing that its batch holds several files, which are read again.
    const victim = keys[24] as string;
    const name = victim.split("/").at(-1) as string;
    process.env.GENRE_CLASSIFIER_TEST_READER_EXIT_ON = name;
    let summary: Awaited<ReturnType<typeof preprocess>>;
    try {
      summary = await preprocess({
        store,
        vocabulary: defaultVocabulary(),
        workers: 2,
        featuresKey: "crash/features.parquet",
        rejectsKey: "crash/rejects.parquet",
      });
    } finally {
      delete process.env.GENRE_CLASSIFIER_TEST_READER_EXIT_ON;
    }
    const victimId = name.replace(/\.h5$/, "");
    const normal = await readTable(join(dir, "store", "datasets", "features.parquet"));
    const crashed = await readTable(join(dir, "store", "crash", "features.parquet"));
    assert.deepEqual(
      crashed.rows,
      normal.rows.filter((row) => row.track_id !== victimId),
    );
    assert.equal(summary.files, SYNTHETIC + 5);
    assert.equal(summary.rejects, 6);
    const rejects = await readTable(join(dir, "store", "crash", "rejects.parquet"));
    const crash = rejects.rows.filter((row) => /crashed its worker/.test(String(row.reason)));
    assert.deepEqual(
      crash.map((row) => row.path),
      [victim],
    );
  });

  it("reads from an S3 store through local copies and writes the same table", async () => {
    const server = await startLocalS3("preprocess-bucket");
    const remote = new S3ObjectStore(server.bucket, "run", server.settings);
    try {
      await ingest({ source: join(dir, "subset", "data"), store: remote });
      const summary = await preprocess({
        store: remote,
        vocabulary: defaultVocabulary(),
        workers: 2,
      });
      assert.deepEqual([summary.files, summary.tracks, summary.rejects], [SYNTHETIC, SYNTHETIC, 0]);
      const copy = join(dir, "from-s3.parquet");
      await remote.getFile("datasets/features.parquet", copy);
      const local = await readTable(join(dir, "store", "datasets", "features.parquet"));
      assert.deepEqual((await readTable(copy)).rows, local.rows);
    } finally {
      await remote.close();
      await server.stop();
    }
  });

  it("says to ingest first when the store holds no track files", async () => {
    const empty = new LocalObjectStore(join(dir, "empty-store"));
    await assert.rejects(
      preprocess({ store: empty, vocabulary: defaultVocabulary() }),
      (error: Error) =>
        error instanceof InputError &&
        /no track files under .*raw\/msd\/: run `genre-classifier ingest` first/.test(
          error.message,
        ),
    );
  });

  it("reads the real MSD sample", { skip: !existsSync(sample) && "no MSD sample" }, async () => {
    const real = new LocalObjectStore(join(dir, "real-store"));
    await ingest({ source: sample, store: real });
    const summary = await preprocess({ store: real, vocabulary: defaultVocabulary(), workers: 2 });
    assert.deepEqual([summary.files, summary.tracks, summary.rejects], [13, 13, 0]);
    assert.ok(summary.genres > 20);
  });
});

describe("preprocess: each track id once", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gc-preprocess-ids-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("rejects files named after another track and second rows of a track id, naming both keys", async () => {
    const store = new LocalObjectStore(join(dir, "store"));
    const [a, b, c, d, e] = [0, 1, 2, 3, 4].map((i) => generateTrack(11, i)) as [
      Track,
      Track,
      Track,
      Track,
      Track,
    ];
    const id = (track: Track) => track.analysis.track_id;
    const canonical = (track: Track) =>
      `raw/msd/${id(track)[2]}/${id(track)[3]}/${id(track)[4]}/${id(track)}.h5`;
    const put = async (key: string, tracks: Track | Track[]) => {
      const file = join(dir, "files", key);
      await writeTrackFile(file, tracks);
      await store.putFile(key, file);
    };
    for (const track of [a, b, c, d]) await put(canonical(track), track);
    // A copy of b under a's name, listed before a; a copy of a under c's name, listed after c.
    await put(`raw/msd/0/${id(a)}.h5`, b);
    await put(`raw/msd/~/${id(c)}.h5`, a);
    // The genuine a again under another key, a name in the wrong case, and an aggregate file
    // holding a new track and b again.
    await put(`raw/msd/copies/${id(a)}.h5`, a);
    await put(`raw/msd/lower/${id(d).toLowerCase()}.h5`, d);
    await put("raw/msd/~aggregate.h5", [e, b]);

    const summary = await preprocess({ store, vocabulary: defaultVocabulary(), workers: 2 });
    assert.equal(summary.files, 9);
    const table = await readTable(join(dir, "store", "datasets", "features.parquet"));
    const ids = table.rows.map((row) => String(row.track_id));
    assert.deepEqual(ids.toSorted(), [a, b, c, d, e].map(id).sort(), "each track id once");
    assert.equal(summary.tracks, 5);

    const rejects = await readTable(join(dir, "store", "datasets", "rejects.parquet"));
    assert.deepEqual(
      rejects.rows.map((row) => ({ ...row })),
      [
        {
          path: `raw/msd/0/${id(a)}.h5`,
          track_id: id(b),
          reason: `file name ${id(a)} does not match the track id ${id(b)} inside it`,
        },
        {
          path: `raw/msd/copies/${id(a)}.h5`,
          track_id: id(a),
          reason: `duplicate track id ${id(a)} (also at ${canonical(a)})`,
        },
        {
          path: `raw/msd/lower/${id(d).toLowerCase()}.h5`,
          track_id: id(d),
          reason: `file name ${id(d).toLowerCase()} does not match the track id ${id(d)} inside it`,
        },
        {
          path: `raw/msd/~/${id(c)}.h5`,
          track_id: id(a),
          reason: `file name ${id(c)} does not match the track id ${id(a)} inside it`,
        },
        {
          path: "raw/msd/~aggregate.h5",
          track_id: id(b),
          reason: `duplicate track id ${id(b)} (also at ${canonical(b)})`,
        },
      ],
      "rejects in key order",
    );
    assert.equal(summary.rejects, 5);

    await preprocess({
      store,
      vocabulary: defaultVocabulary(),
      workers: 1,
      featuresKey: "one/features.parquet",
      rejectsKey: "one/rejects.parquet",
    });
    for (const name of ["features.parquet", "rejects.parquet"]) {
      assert.ok(
        (await readFile(join(dir, "store", "one", name))).equals(
          await readFile(join(dir, "store", "datasets", name)),
        ),
        `${name} is the same on one worker`,
      );
    }
  });
});

describe("preprocess: hostile track files (made with h5py)", { skip: h5pyMissing }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gc-preprocess-hostile-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("rejects files reaching for host files or declaring more than they hold, leaking nothing", async () => {
    const store = new LocalObjectStore(join(dir, "store"));
    const keyOf = (track: Track) => {
      const id = track.analysis.track_id;
      return `raw/msd/${id[2]}/${id[3]}/${id[4]}/${id}.h5`;
    };
    const good = generateTrack(13, 0);
    await writeTrackFile(join(dir, "good.h5"), good);
    await store.putFile(keyOf(good), join(dir, "good.h5"));
    const hostile = [
      ["externalSongs", /^\/metadata\/songs: .*another file \(.*secret-passwd\.txt\)/],
      ["externalTimbre", /^\/analysis\/segments_timbre: .*another file \(.*secret-passwd\.txt\)/],
      ["externalLink", /^\/analysis\/segments_start: .*another file \(.*secret-other\.h5/],
      ["virtualDataset", /^\/analysis\/segments_start: .*another file \(.*secret-other\.h5/],
      ["hugeTerms", /^\/metadata\/artist_terms: declares \d+ bytes/],
    ] as const;
    const expected = new Map<string, RegExp>();
    for (const [i, [kind, reason]] of hostile.entries()) {
      // Each from its own track, so that every file is named after the track id it holds.
      const track = generateTrack(13, i + 1);
      const folder = join(dir, kind);
      await mkdir(folder);
      await writeTrackFile(join(folder, "base.h5"), track);
      const files = await makeHostileFiles(folder, join(folder, "base.h5"));
      await store.putFile(keyOf(track), files[kind]);
      expected.set(keyOf(track), reason);
    }

    const summary = await preprocess({ store, vocabulary: defaultVocabulary(), workers: 2 });
    assert.deepEqual([summary.files, summary.tracks, summary.rejects], [6, 1, hostile.length]);
    const table = await readTable(join(dir, "store", "datasets", "features.parquet"));
    assert.deepEqual(
      table.rows.map((row) => row.track_id),
      [good.analysis.track_id],
    );
    const rejects = await readTable(join(dir, "store", "datasets", "rejects.parquet"));
    assert.deepEqual(rejects.rows.map((row) => row.path).sort(), [...expected.keys()].sort());
    for (const row of rejects.rows) {
      assert.match(String(row.reason), expected.get(String(row.path)) as RegExp);
      assert.ok(!String(row.reason).includes(SECRET_MARKER));
    }
  });
});
