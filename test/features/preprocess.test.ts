// Preprocess over a real local store: the real sample plus broken files, on worker threads;
// the table's rows and schema, the rejects with reasons, and byte-identical re-runs.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
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
import { LocalObjectStore } from "../../src/storage/local.ts";

const sample = fileURLToPath(new URL("../../../shared/msd-sample/data", import.meta.url));
const hasSample = existsSync(sample);

describe("preprocess", { skip: !hasSample && "no MSD sample" }, () => {
  let dir: string;
  let store: LocalObjectStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gc-preprocess-test-"));
    store = new LocalObjectStore(join(dir, "store"));
    await ingest({ source: sample, store });
    const real = Buffer.from(await store.get("raw/msd/A/A/A/TRAAAAW128F429D538.h5"));
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
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("writes one row per readable track and rejects the rest with reasons", async () => {
    const files: number[] = [];
    const summary = await preprocess({
      store,
      vocabulary: defaultVocabulary(),
      workers: 2,
      onFile: (d) => files.push(d),
    });
    assert.equal(summary.files, 16);
    assert.equal(files.length, 16);
    assert.equal(summary.tracks, 13);
    assert.equal(summary.rejects, 3);
    assert.equal(summary.workers, 2);
    assert.ok(summary.genres > 20);
    const table = await readTable(join(dir, "store", "datasets", "features.parquet"));
    assert.deepEqual(
      table.columns,
      FEATURE_COLUMNS.map((c) => c.name),
    );
    assert.equal(table.rows.length, 13);
    const ids = table.rows.map((r) => r.track_id as string);
    assert.deepEqual(ids, [...ids].sort(), "rows in key order");
    assert.ok(table.rows.every((r) => Array.isArray(r.genres)));
    assert.equal(
      summary.tracksWithoutGenres,
      table.rows.filter((r) => (r.genres as string[]).length === 0).length,
    );
    const rejects = await readTable(join(dir, "store", "datasets", "rejects.parquet"));
    const byPath = Object.fromEntries(rejects.rows.map((r) => [r.path, r.reason]));
    assert.deepEqual(Object.keys(byPath).sort(), [
      "raw/msd/X/X/X/TRXXXNOGROUPS00001.h5",
      "raw/msd/X/X/X/TRXXXNOTHDF5000001.h5",
      "raw/msd/X/X/X/TRXXXTRUNCATED0001.h5",
    ]);
    for (const reason of Object.values(byPath))
      assert.ok(String(reason).length > 10, String(reason));
    assert.match(String(byPath["raw/msd/X/X/X/TRXXXNOGROUPS00001.h5"]), /analysis|songs/);
  });

  it("writes a byte-identical table when run again on the same files", async () => {
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
});
