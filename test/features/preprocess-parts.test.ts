// Partitioned preprocess on a real local store: ranges of keys read into part files in any
// order and merged give the one-process run's tables byte for byte, copies and duplicates
// across partitions and broken files included; damaged, foreign or stale parts are refused.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { InputError } from "../../src/common/errors.ts";
import { preprocess } from "../../src/features/preprocess.ts";
import {
  mergePreprocessParts,
  PartitionPlanner,
  type PreprocessPartHeader,
} from "../../src/features/preprocess-parts.ts";
import { defaultVocabulary } from "../../src/features/vocabulary.ts";
import { ingest } from "../../src/ingest/ingest.ts";
import { generateSubset, generateTrack } from "../../src/msd/synth.ts";
import type { Track } from "../../src/msd/track.ts";
import { writeTrackFile } from "../../src/msd/writer.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";

describe("partitioned preprocess", () => {
  let dir: string;
  let store: LocalObjectStore;
  let oneProcess: { features: Buffer; rejects: Buffer };

  const plan = async (size: number) => {
    const planner = new PartitionPlanner(size);
    for await (const info of store.listAll("raw/msd/")) planner.add(info.key);
    return planner.finish();
  };

  /** Reads each range into a part (last range first), then merges them into `out/`. */
  const partitioned = async (size: number, out: string) => {
    const ranges = await plan(size);
    const parts = ranges.map((range, index) => ({
      key: `parts/${out}/part-${index}`,
      header: {
        step: "preprocess",
        index,
        partitions: ranges.length,
        range,
        plan: "test",
      } satisfies PreprocessPartHeader,
    }));
    for (const part of parts.toReversed())
      await preprocess({
        store,
        vocabulary: defaultVocabulary(),
        workers: 1,
        part: { key: part.key, range: part.header.range, header: part.header },
      });
    const summary = await mergePreprocessParts({
      store,
      rawPrefix: "raw/msd",
      parts,
      featuresKey: `${out}/features.parquet`,
      rejectsKey: `${out}/rejects.parquet`,
    });
    return { ranges, parts, summary };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gc-preprocess-parts-"));
    store = new LocalObjectStore(join(dir, "store"));
    await generateSubset({ tracks: 40, outDir: join(dir, "subset"), seed: 8, workers: 1 });
    await ingest({ source: join(dir, "subset", "data"), store });
    const [a, b] = [0, 1].map((i) => generateTrack(8, i)) as [Track, Track];
    const put = async (key: string, tracks: Track | Track[]) => {
      const file = join(dir, "files", key);
      await writeTrackFile(file, tracks);
      await store.putFile(key, file);
    };
    // Copies far from their originals in key order, so they land in other partitions, an
    // aggregate file, a file that is not HDF5 and an object that is not a track file.
    await put(`raw/msd/copies/${a.analysis.track_id}.h5`, a);
    await put("raw/msd/~aggregate.h5", [generateTrack(9, 0), b]);
    await store.put("raw/msd/X/X/X/TRXXXNOTHDF5000001.h5", "plain text, not HDF5");
    await store.put("raw/msd/README.txt", "not a track file");
    const summary = await preprocess({ store, vocabulary: defaultVocabulary(), workers: 2 });
    assert.equal(summary.files, 43);
    assert.equal(summary.rejects, 3, "two duplicates and a file that is not HDF5");
    oneProcess = {
      features: await readFile(join(dir, "store", "datasets", "features.parquet")),
      rejects: await readFile(join(dir, "store", "datasets", "rejects.parquet")),
    };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("cuts the track files into ranges of the partition size", async () => {
    const ranges = await plan(10);
    assert.deepEqual(
      ranges.map((r) => r.files),
      [10, 10, 10, 10, 3],
    );
    assert.equal(ranges[0]?.startAfter, undefined);
    for (let i = 1; i < ranges.length; i++)
      assert.equal(ranges[i]?.startAfter, ranges[i - 1]?.last, "each range starts after the last");
    assert.throws(() => new PartitionPlanner(0), InputError);
  });

  for (const size of [1, 7, 1000])
    it(`merges parts of ${size} track file(s) into the one-process tables, byte for byte`, async () => {
      const { summary, ranges } = await partitioned(size, `size-${size}`);
      assert.equal(ranges.length, Math.ceil(43 / size));
      assert.equal(summary.files, 43);
      assert.equal(summary.features, 41);
      assert.equal(summary.rejects, 3);
      assert.ok(
        (await readFile(join(dir, "store", `size-${size}`, "features.parquet"))).equals(
          oneProcess.features,
        ),
        "features.parquet",
      );
      assert.ok(
        (await readFile(join(dir, "store", `size-${size}`, "rejects.parquet"))).equals(
          oneProcess.rejects,
        ),
        "rejects.parquet",
      );
    });

  it("refuses a damaged part, a part of another plan and a range whose files changed", async () => {
    const { parts } = await partitioned(20, "checked");
    const merge = (list: typeof parts) =>
      mergePreprocessParts({
        store,
        rawPrefix: "raw/msd",
        parts: list,
        featuresKey: "checked/again.parquet",
        rejectsKey: "checked/again-rejects.parquet",
      });
    const bytes = Buffer.from(await store.get(parts[1]?.key as string));
    bytes[bytes.length - 40] = (bytes[bytes.length - 40] as number) ^ 1;
    await store.put(parts[1]?.key as string, bytes);
    await assert.rejects(merge(parts), /part .*part-1: damaged or truncated/);
    await assert.rejects(
      merge([
        {
          key: parts[0]?.key as string,
          header: { ...(parts[0]?.header as PreprocessPartHeader), plan: "other" },
        },
      ]),
      /is not the planned/,
    );
    await assert.rejects(
      preprocess({
        store,
        vocabulary: defaultVocabulary(),
        workers: 1,
        part: {
          key: "checked/stale",
          range: { ...(parts[0]?.header.range as PreprocessPartHeader["range"]), files: 19 },
          header: {},
        },
      }),
      /changed while preprocess ran: 19 planned .* 20 found/,
    );
  });
});
