// The split on feature tables written with the project's table writer into a local store:
// newest years only in test, daily batches and their separate labels, artist-disjoint train
// and validation, byte-identical re-runs, stale days removed, the manifest as the commit
// point, and every refusal; then the same invariants on the real MSD tracks when present.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isKnownError } from "../../src/common/errors.ts";
import { seededHash } from "../../src/datasets/assign.ts";
import { ColumnarTable } from "../../src/datasets/columns.ts";
import { readSplitManifest, splitProblems } from "../../src/datasets/manifest.ts";
import { dayKey, type SplitOptions, splitDataset } from "../../src/datasets/split.ts";
import { FeatureTable, writeTable } from "../../src/features/feature-table.ts";
import { type ColumnSpec, type Row, readTable, TableWriter } from "../../src/features/table.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";
import type { ObjectStore } from "../../src/storage/object-store.ts";

const REAL_TRACKS = "/work/shared/msd-10k-dev/tracks.csv";
const FEATURES = "datasets/features.parquet";

let dir: string;
let counter = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "gc-split-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const COLUMNS: ColumnSpec[] = [
  { name: "track_id", type: "STRING" },
  { name: "artist_id", type: "STRING" },
  { name: "title", type: "STRING" },
  { name: "year", type: "INT32" },
  { name: "tempo", type: "DOUBLE" },
  { name: "loudness", type: "DOUBLE" },
  { name: "genres", type: "STRING_LIST" },
];

interface Synthetic {
  tracks?: number;
  artists?: number;
  /** Tracks of the newest year (2010). */
  newest?: number;
  columns?: ColumnSpec[];
  year?: (i: number) => number;
}

/** A feature table of `tracks` rows: artists with 1-20 tracks, a third of years unknown. */
function syntheticRows(options: Synthetic = {}): Row[] {
  const { tracks = 700, artists = 70, newest = 130 } = options;
  let state = 12345;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const genres = ["rock", "pop", "jazz", "blues", "metal", "folk"];
  const rows: Row[] = [];
  for (let i = 0; i < tracks; i++) {
    const artist = Math.floor(next() ** 2 * artists);
    const year =
      options.year?.(i) ?? (i < newest ? 2010 : next() < 0.33 ? 0 : 1990 + Math.floor(next() * 20));
    rows.push({
      track_id: `TR${String(i).padStart(6, "0")}X`,
      artist_id: `AR${String(artist).padStart(4, "0")}`,
      title: `song ${i}`,
      year,
      tempo: 60 + next() * 120,
      loudness: -30 + next() * 30,
      genres: [genres[artist % 6] as string, genres[(artist * 7 + 1) % 6] as string],
    });
  }
  // Mix the newest tracks through the table.
  return rows.sort((a, b) =>
    seededHash(0, a.track_id as string) < seededHash(0, b.track_id as string) ? -1 : 1,
  );
}

async function storeWith(rows: Row[], columns: ColumnSpec[] = COLUMNS): Promise<LocalObjectStore> {
  const root = join(dir, `store-${++counter}`);
  const store = new LocalObjectStore(root);
  const file = join(dir, `features-${counter}.parquet`);
  const writer = new TableWriter(file, columns, 128);
  for (const row of rows) {
    const kept: Row = {};
    for (const c of columns) kept[c.name] = row[c.name] as Row[string];
    writer.add(kept);
  }
  writer.close();
  await store.putFile(FEATURES, file);
  return store;
}

async function table(store: ObjectStore, key: string): Promise<Row[]> {
  return (await readTable((await store.localFile(key)) as string)).rows;
}

async function columnsOf(store: ObjectStore, key: string): Promise<ColumnSpec[]> {
  const t = await ColumnarTable.open((await store.localFile(key)) as string, key);
  await t.close();
  return [...t.columns];
}

async function snapshot(store: ObjectStore): Promise<Map<string, string>> {
  const objects = new Map<string, string>();
  for await (const info of store.listAll(""))
    objects.set(
      info.key,
      createHash("sha256")
        .update(await store.get(info.key))
        .digest("hex"),
    );
  return objects;
}

async function assertRefused(
  store: ObjectStore,
  options: SplitOptions,
  pattern: RegExp,
): Promise<void> {
  const before = await snapshot(store);
  await assert.rejects(splitDataset(store, options), (error: unknown) => {
    assert.ok(isKnownError(error) && error.exitCode === 2, `InputError, got ${String(error)}`);
    assert.match(error.message, pattern);
    assert.ok(!error.message.includes("\n"), "one line");
    return true;
  });
  assert.deepEqual(await snapshot(store), before, "nothing written");
}

/** Every invariant of a split against the feature table it came from. */
async function checkSplit(store: ObjectStore, source: Row[], options: SplitOptions) {
  const summary = await splitDataset(store, options);
  const { manifest } = summary;
  const batchSize = options.batchSize ?? 100;
  const seed = options.seed ?? 42;
  const byId = new Map(source.map((row) => [row.track_id as string, row]));
  const train = await table(store, "datasets/split/train.parquet");
  const valid = await table(store, "datasets/split/valid.parquet");
  const test = await table(store, "datasets/split/test.parquet");

  // Every track on exactly one side; the test set is the newest known years and nothing else.
  const ids = [...train, ...valid, ...test].map((r) => r.track_id as string);
  assert.equal(ids.length, source.length);
  assert.equal(new Set(ids).size, source.length);
  const years = [...new Set(source.map((r) => r.year as number).filter((y) => y > 0))].sort(
    (a, b) => b - a,
  );
  const testYears = years.slice(0, options.testYears ?? 1);
  assert.deepEqual(manifest.years.test, testYears);
  const newest = source.filter((r) => testYears.includes(r.year as number));
  assert.deepEqual(new Set(test.map((r) => r.track_id)), new Set(newest.map((r) => r.track_id)));
  const oldestTest = Math.min(...testYears);
  for (const row of [...train, ...valid]) assert.ok((row.year as number) < oldestTest);

  // Rows are copied whole, with the feature table's columns and types.
  for (const row of [...train, ...valid, ...test])
    assert.deepEqual(row, byId.get(row.track_id as string));
  const sourceColumns = await columnsOf(store, FEATURES);
  for (const side of ["train", "valid", "test"])
    assert.deepEqual(await columnsOf(store, `datasets/split/${side}.parquet`), sourceColumns);

  // Artist-disjoint train and validation, about the asked share in validation.
  if ((options.strategy ?? "artist") === "artist") {
    const trainArtists = new Set(train.map((r) => r.artist_id));
    for (const row of valid)
      assert.ok(!trainArtists.has(row.artist_id), `${row.artist_id} on both sides`);
  }
  const share = valid.length / (train.length + valid.length);
  const asked = options.validFraction ?? 0.2;
  assert.ok(Math.abs(share - asked) < 0.05, `validation share ${share}, asked ${asked}`);

  // The test order is release order: by year, oldest first, then the seeded hash order; days
  // cut it in batches, labels apart.
  const order = [...test.map((r) => r.track_id as string)];
  const year = (id: string) => byId.get(id)?.year as number;
  const sorted = [...order].sort(
    (a, b) => year(a) - year(b) || (seededHash(seed, a) < seededHash(seed, b) ? -1 : 1),
  );
  assert.deepEqual(order, sorted);
  const days = Math.ceil(test.length / batchSize);
  assert.equal(manifest.counts.days, days);
  const dayIds: string[] = [];
  for (let day = 1; day <= days; day++) {
    const tracks = await table(store, dayKey(day, "tracks.parquet"));
    const labels = await table(store, dayKey(day, "labels.parquet"));
    assert.equal(tracks.length, day < days ? batchSize : test.length - (days - 1) * batchSize);
    assert.ok(tracks.length > 0);
    const trackColumns = (await columnsOf(store, dayKey(day, "tracks.parquet"))).map((c) => c.name);
    assert.deepEqual(
      trackColumns,
      sourceColumns.map((c) => c.name).filter((n) => n !== "genres"),
    );
    assert.deepEqual(
      (await columnsOf(store, dayKey(day, "labels.parquet"))).map((c) => c.name),
      ["track_id", "genres"],
    );
    assert.deepEqual(
      labels.map((r) => r.track_id),
      tracks.map((r) => r.track_id),
    );
    for (const label of labels)
      assert.deepEqual(label.genres, byId.get(label.track_id as string)?.genres);
    dayIds.push(...tracks.map((r) => r.track_id as string));
  }
  assert.deepEqual(dayIds, order, "every test track in exactly one day, in test order");
  assert.equal(await store.exists(dayKey(days + 1, "tracks.parquet")), false);

  // The manifest: counts, the input's digest, every object whole.
  assert.deepEqual(manifest.counts.tracks, {
    train: train.length,
    valid: valid.length,
    test: test.length,
  });
  assert.equal(manifest.counts.artists.valid, new Set(valid.map((r) => r.artist_id)).size);
  assert.equal(
    manifest.input.sha256,
    createHash("sha256")
      .update(await store.get(FEATURES))
      .digest("hex"),
  );
  assert.deepEqual(await readSplitManifest(store), manifest);
  assert.deepEqual(await splitProblems(store, manifest), []);
  return { summary, train, valid, test };
}

describe("split on a synthetic feature table", () => {
  it("puts the newest year in daily batches and splits the rest by artist", async () => {
    const rows = syntheticRows();
    const store = await storeWith(rows);
    const { summary } = await checkSplit(store, rows, { batchSize: 50 });
    assert.equal(summary.manifest.counts.days, 3);
    assert.equal(summary.manifest.counts.lastDayTracks, 30);
    assert.deepEqual(summary.manifest.parameters, {
      seed: 42,
      testYears: 1,
      batchSize: 50,
      validFraction: 0.2,
      strategy: "artist",
    });
  });

  it("takes the newest testYears years, a random split by track, and year as a double", async () => {
    const rows = syntheticRows();
    const doubleYear = COLUMNS.map((c) =>
      c.name === "year" ? { ...c, type: "DOUBLE" as const } : c,
    );
    const store = await storeWith(rows, doubleYear);
    await checkSplit(store, rows, { testYears: 2, batchSize: 40 });
    const random = await checkSplit(store, rows, { strategy: "random", validFraction: 0.3 });
    const rest = random.train.length + random.valid.length;
    assert.equal(random.valid.length, Math.round(0.3 * rest));
  });

  it("writes the same bytes for the same table and seed, and another order for another seed", async () => {
    const rows = syntheticRows();
    const first = await storeWith(rows);
    const second = await storeWith(rows);
    await splitDataset(first, { batchSize: 50, seed: 7 });
    await splitDataset(second, { batchSize: 50, seed: 7 });
    const a = await snapshot(first);
    assert.deepEqual(await snapshot(second), a);
    assert.ok(a.size >= 10);

    const again = await splitDataset(first, { batchSize: 50, seed: 7 });
    assert.deepEqual(await snapshot(first), a, "a re-run is idempotent");
    assert.equal(again.staleDaysRemoved, 0);

    const other = await checkSplit(second, rows, { batchSize: 50, seed: 8 });
    const order7 = (await table(first, "datasets/split/test.parquet")).map((r) => r.track_id);
    const order8 = other.test.map((r) => r.track_id);
    assert.deepEqual(new Set(order8), new Set(order7));
    assert.notDeepEqual(order8, order7);
    const valid7 = new Set(
      (await table(first, "datasets/split/valid.parquet")).map((r) => r.artist_id),
    );
    assert.notDeepEqual(new Set(other.valid.map((r) => r.artist_id)), valid7);
  });

  it("removes the day folders of an earlier split that had more days", async () => {
    const rows = syntheticRows();
    const store = await storeWith(rows);
    const many = await splitDataset(store, { batchSize: 20 });
    assert.equal(many.manifest.counts.days, 7);
    await store.put("daily/day=0012/tracks.parquet", "left by hand");
    await store.put("daily/notes.txt", "not a day");
    const fewer = await checkSplit(store, rows, { batchSize: 50 });
    assert.equal(fewer.summary.staleDaysRemoved, 5);
    const keys: string[] = [];
    for await (const info of store.listAll("daily/")) keys.push(info.key);
    assert.deepEqual(keys, [
      "daily/day=0001/labels.parquet",
      "daily/day=0001/tracks.parquet",
      "daily/day=0002/labels.parquet",
      "daily/day=0002/tracks.parquet",
      "daily/day=0003/labels.parquet",
      "daily/day=0003/tracks.parquet",
      "daily/notes.txt",
    ]);
  });

  it("writes the manifest last: a split that fails midway leaves no manifest", async () => {
    const rows = syntheticRows();
    const store = await storeWith(rows);
    await splitDataset(store, { batchSize: 50 });
    let puts = 0;
    const failing = Object.create(store) as LocalObjectStore;
    failing.putFile = async (key: string, path: string) => {
      if (++puts === 3) throw new Error("disk full");
      return store.putFile(key, path);
    };
    await assert.rejects(splitDataset(failing, { batchSize: 40 }), /disk full/);
    await assert.rejects(
      readSplitManifest(store),
      /no split manifest at .*manifest\.json: run the split/,
    );
    await checkSplit(store, rows, { batchSize: 40 });
  });

  it("refuses bad input and bad options with one line, writing nothing", async () => {
    const rows = syntheticRows();
    const store = await storeWith(rows);
    await splitDataset(store, { batchSize: 50 });
    await assertRefused(
      store,
      { batchSize: 0 },
      /split option batch_size 0: expected a whole number/,
    );
    await assertRefused(store, { testYears: 1.5 }, /split option test_years 1\.5/);
    await assertRefused(store, { seed: -1 }, /split option seed -1/);
    await assertRefused(
      store,
      { validFraction: 1 },
      /split option valid_fraction 1: expected a number between 0 and 1/,
    );
    await assertRefused(
      store,
      { strategy: "year" as never },
      /split option split "year": expected one of artist, random/,
    );
    await assertRefused(
      store,
      { testYears: 99 },
      /split option test_years 99: table .* has only 21 known release years/,
    );
    await assertRefused(
      store,
      { batchSize: 131 },
      /the test set \(130 tracks of 2010\) is smaller than one batch of batch_size 131 tracks/,
    );
    await assertRefused(
      store,
      { featuresKey: "datasets/none.parquet" },
      /no feature table at .*datasets\/none\.parquet: run `genre-classifier preprocess` first/,
    );

    await assertRefused(
      store,
      { dailyPrefix: "/" },
      /object prefix \(dailyPrefix\) "": must not be empty/,
    );
    await assertRefused(
      store,
      { splitPrefix: "a/../b" },
      /object prefix \(splitPrefix\) "a\/..\/b": must not contain/,
    );

    for (const column of ["year", "artist_id", "track_id", "genres"]) {
      const without = await storeWith(
        rows,
        COLUMNS.filter((c) => c.name !== column),
      );
      await assertRefused(
        without,
        { batchSize: 10 },
        new RegExp(`features\\.parquet: no "${column}" column`),
      );
    }
    const textYear = await storeWith(
      rows.map((r) => ({ ...r, year: String(r.year) })),
      COLUMNS.map((c) => (c.name === "year" ? { ...c, type: "STRING" as const } : c)),
    );
    await assertRefused(
      textYear,
      { batchSize: 10 },
      /column "year" is STRING; expected INT32 or DOUBLE/,
    );
    const undated = await storeWith(rows.map((r) => ({ ...r, year: 0 })));
    await assertRefused(undated, { batchSize: 10 }, /features\.parquet: no track has a known year/);
    const duplicated = await storeWith([...rows, { ...(rows[5] as Row) }]);
    await assertRefused(
      duplicated,
      { batchSize: 10 },
      /track_id "TR\d+X" appears more than once \(row 701\)/,
    );
    const oneArtist = await storeWith(rows.map((r) => ({ ...r, artist_id: "AR1" })));
    await assertRefused(
      oneArtist,
      { batchSize: 10 },
      /tracks \(of 1 artist\) outside the test set cannot be split into train and validation/,
    );
    const noArtist = await storeWith(rows.map((r, i) => (i === 3 ? { ...r, artist_id: "" } : r)));
    await assertRefused(
      noArtist,
      { batchSize: 10 },
      /row 4 \(track TR\d+X\) has an empty artist_id/,
    );
    const notParquet = new LocalObjectStore(join(dir, `store-${++counter}`));
    await notParquet.put(FEATURES, "track_id,year\n");
    await assertRefused(notParquet, {}, /features\.parquet: not a Parquet file/);
  });
});

describe("split on the real MSD tracks", {
  skip: !existsSync(REAL_TRACKS) && `${REAL_TRACKS} is absent`,
}, () => {
  let store: LocalObjectStore;
  let rows: Row[];
  before(async () => {
    const csv = await FeatureTable.read(REAL_TRACKS, {
      text: ["track_id", "artist_id", "artist_name", "title", "genres"],
    });
    const file = join(dir, "real-features.parquet");
    await writeTable(
      file,
      csv.columns.map((c) =>
        c.name === "genres"
          ? { name: c.name, kind: "list" as const, values: csv.genres() }
          : c.kind === "number"
            ? { name: c.name, kind: "number" as const, values: csv.numeric(c.name) }
            : { name: c.name, kind: "text" as const, values: csv.text(c.name) },
      ),
    );
    store = new LocalObjectStore(join(dir, "real-store"));
    await store.putFile(FEATURES, file);
    rows = await table(store, FEATURES);
  });

  it("keeps the invariants on 7,798 real tracks, with the same bytes for the same seed", async (t) => {
    const { summary } = await checkSplit(store, rows, { testYears: 2, batchSize: 50 });
    const first = await snapshot(store);
    await splitDataset(store, { testYears: 2, batchSize: 50 });
    assert.deepEqual(await snapshot(store), first);
    const { counts, years } = summary.manifest;
    t.diagnostic(
      `tracks ${JSON.stringify(counts.tracks)}, artists ${JSON.stringify(counts.artists)}, test years ${years.test.join(",")}, train years ${years.train?.min}-${years.train?.max}, days ${counts.days} (last ${counts.lastDayTracks}), year unknown ${JSON.stringify(counts.yearUnknown)}, ${summary.seconds.toFixed(2)} s`,
    );
    const random = await checkSplit(store, rows, {
      testYears: 2,
      batchSize: 50,
      strategy: "random",
    });
    t.diagnostic(`random: tracks ${JSON.stringify(random.summary.manifest.counts.tracks)}`);
  });

  it("refuses the defaults: the newest year (2010) holds fewer tracks than one batch", async () => {
    await assertRefused(
      store,
      {},
      /the test set \(51 tracks of 2010\) is smaller than one batch of batch_size 100/,
    );
  });
});
