// Reads the real MSD sample files (../shared/msd-sample, skipped when absent) and compares
// every field with what h5py read (expected.json); checks the errors for unreadable input.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import h5wasm from "h5wasm/node";
import { TrackReadError } from "../../src/msd/errors.ts";
import { loadHdf5 } from "../../src/msd/hdf5.ts";
import { NativeUnsupported } from "../../src/msd/hdf5-native.ts";
import { readTrack, readTrackBytes, readTracks } from "../../src/msd/reader.ts";
import { generateTrack } from "../../src/msd/synth.ts";
import {
  ANALYSIS_SONGS_FIELDS,
  type Matrix,
  METADATA_SONGS_FIELDS,
  MUSICBRAINZ_SONGS_FIELDS,
  SONGS_TABLES,
  TRACK_ARRAYS,
  type Track,
} from "../../src/msd/track.ts";
import { writeTrackFile } from "../../src/msd/writer.ts";
import { NO_SEGMENT_ROWS, trackWithoutSegments } from "../helpers/tracks.ts";
import {
  type HostileFiles,
  h5pyMissing,
  makeHostileFiles,
  SECRET_MARKER,
} from "./hostile-files.ts";

const SAMPLE_DIR = fileURLToPath(new URL("../../../shared/msd-sample", import.meta.url));
const EXPECTED_FILE = join(SAMPLE_DIR, "expected.json");
const sampleMissing = existsSync(EXPECTED_FILE) ? false : `no MSD sample at ${SAMPLE_DIR}`;

type Scalar = string | number | null;
interface ArrayStats {
  shape: number[];
  mean: number | null;
  std: number | null;
  column_means?: (number | null)[];
}
interface Expected {
  path: string;
  "metadata/songs": Record<string, Scalar>;
  "analysis/songs": Record<string, Scalar>;
  "musicbrainz/songs": Record<string, Scalar>;
  "metadata/artist_terms": string[];
  "metadata/artist_terms_freq": number[];
  "metadata/artist_terms_weight": number[];
  "metadata/similar_artists": string[];
  "musicbrainz/artist_mbtags": string[];
  "musicbrainz/artist_mbtags_count": number[];
  "analysis/arrays": Record<string, ArrayStats>;
}

const expectedByTrack: Record<string, Expected> = sampleMissing
  ? {}
  : JSON.parse(readFileSync(EXPECTED_FILE, "utf8"));

function samplePath(expected: Expected): string {
  return join(SAMPLE_DIR, "data", expected.path);
}

/** Mean and population standard deviation the way numpy computes them (two passes). */
function meanAndStd(values: Float64Array): { mean: number; std: number } {
  if (values.length === 0) return { mean: Number.NaN, std: Number.NaN };
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { mean, std: Math.sqrt(squares / values.length) };
}

function columnMeans(matrix: Matrix): number[] {
  const sums = new Array<number>(matrix.columns).fill(0);
  for (let r = 0; r < matrix.rows; r++) {
    for (let c = 0; c < matrix.columns; c++) {
      sums[c] = (sums[c] as number) + (matrix.data[r * matrix.columns + c] as number);
    }
  }
  return sums.map((s) => s / matrix.rows);
}

function assertClose(actual: number, expected: number | null, what: string): void {
  if (expected === null) {
    assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
    return;
  }
  assert.ok(Math.abs(actual - expected) <= 1e-9, `${what}: ${actual} differs from ${expected}`);
}

function assertRowEquals(
  row: object,
  expected: Record<string, Scalar>,
  fieldNames: readonly string[],
  what: string,
): void {
  const actual = row as Record<string, unknown>;
  assert.deepEqual([...fieldNames].sort(), Object.keys(expected).sort(), `${what}: field list`);
  for (const name of fieldNames) {
    const value = actual[name];
    const want = expected[name];
    if (want === null) {
      assert.ok(Number.isNaN(value), `${what}.${name}: expected NaN, got ${value}`);
    } else {
      assert.equal(value, want, `${what}.${name}`);
    }
  }
}

function assertMatchesExpected(track: Track, expected: Expected): void {
  assertRowEquals(
    track.metadata,
    expected["metadata/songs"],
    METADATA_SONGS_FIELDS.map((f) => f.name),
    "metadata/songs",
  );
  assertRowEquals(
    track.analysis,
    expected["analysis/songs"],
    ANALYSIS_SONGS_FIELDS.map((f) => f.name),
    "analysis/songs",
  );
  assertRowEquals(
    track.musicbrainz,
    expected["musicbrainz/songs"],
    MUSICBRAINZ_SONGS_FIELDS.map((f) => f.name),
    "musicbrainz/songs",
  );
  assert.deepEqual(track.metadata.artist_terms, expected["metadata/artist_terms"]);
  assert.deepEqual([...track.metadata.artist_terms_freq], expected["metadata/artist_terms_freq"]);
  assert.deepEqual(
    [...track.metadata.artist_terms_weight],
    expected["metadata/artist_terms_weight"],
  );
  assert.deepEqual(track.metadata.similar_artists, expected["metadata/similar_artists"]);
  assert.deepEqual(track.musicbrainz.artist_mbtags, expected["musicbrainz/artist_mbtags"]);
  assert.deepEqual(
    [...track.musicbrainz.artist_mbtags_count],
    expected["musicbrainz/artist_mbtags_count"],
  );

  const arrays = track.analysis as unknown as Record<string, Float64Array | Matrix>;
  for (const [name, stats] of Object.entries(expected["analysis/arrays"])) {
    const array = arrays[name];
    assert.ok(array !== undefined, `analysis/${name} is missing from the track`);
    if (array instanceof Float64Array) {
      assert.deepEqual([array.length], stats.shape, `analysis/${name} shape`);
      const { mean, std } = meanAndStd(array);
      assertClose(mean, stats.mean, `analysis/${name} mean`);
      assertClose(std, stats.std, `analysis/${name} std`);
    } else {
      assert.deepEqual([array.rows, array.columns], stats.shape, `analysis/${name} shape`);
      assert.equal(array.data.length, array.rows * array.columns);
      const { mean, std } = meanAndStd(array.data);
      assertClose(mean, stats.mean, `analysis/${name} mean`);
      assertClose(std, stats.std, `analysis/${name} std`);
      const means = columnMeans(array);
      assert.equal(means.length, stats.column_means?.length);
      means.forEach((m, c) => {
        assertClose(m, stats.column_means?.[c] ?? null, `analysis/${name} column ${c} mean`);
      });
    }
  }
}

describe("reading the real MSD sample files", () => {
  it("has the 13 sample tracks", { skip: sampleMissing }, () => {
    assert.equal(Object.keys(expectedByTrack).length, 13);
  });

  for (const [trackId, expected] of Object.entries(expectedByTrack)) {
    it(`reads ${trackId} exactly as h5py does`, async () => {
      const track = await readTrack(samplePath(expected));
      assert.equal(track.analysis.track_id, trackId);
      assertMatchesExpected(track, expected);
    });
  }

  it("yields the one track of a per-track file", { skip: sampleMissing }, async () => {
    const expected = Object.values(expectedByTrack)[0] as Expected;
    const tracks: Track[] = [];
    for await (const track of readTracks(samplePath(expected))) tracks.push(track);
    assert.equal(tracks.length, 1);
    assertMatchesExpected(tracks[0] as Track, expected);
  });

  it("reads a track from bytes in memory", { skip: sampleMissing }, async () => {
    const expected = Object.values(expectedByTrack)[1] as Expected;
    const track = await readTrackBytes(await readFile(samplePath(expected)));
    assertMatchesExpected(track, expected);
  });
});

describe("reading bad input", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "msd-reader-test-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function assertReadError(file: string, pattern: RegExp): Promise<TrackReadError> {
    const error = await readTrack(file).then(
      () => assert.fail(`reading ${file} should fail`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TrackReadError, `expected a TrackReadError, got ${error}`);
    assert.ok(error.message.includes(file), `the message names the file: ${error.message}`);
    assert.match(error.message, pattern);
    return error;
  }

  it("rejects a file that is not HDF5", async () => {
    const file = join(dir, "notes.h5");
    await writeFile(file, "track_id,genre\nTRAAAAW128F429D538,hip hop\n");
    await assertReadError(file, /not an HDF5 file/);
  });

  it("rejects an empty file", async () => {
    const file = join(dir, "empty.h5");
    await writeFile(file, "");
    await assertReadError(file, /not an HDF5 file/);
  });

  it("rejects a missing file", async () => {
    await assertReadError(join(dir, "nowhere.h5"), /cannot open the file \(ENOENT\)/);
  });

  it("rejects a truncated copy of a real file", { skip: sampleMissing }, async () => {
    const source = samplePath(Object.values(expectedByTrack)[0] as Expected);
    const bytes = await readFile(source);
    const file = join(dir, "truncated.h5");
    await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assertReadError(
      file,
      /truncated HDF5 file: it has \d+ bytes but its superblock says \d+/,
    );
  });

  it("rejects a copy cut inside its superblock", { skip: sampleMissing }, async () => {
    const source = samplePath(Object.values(expectedByTrack)[0] as Expected);
    const file = join(dir, "cut.h5");
    await writeFile(file, (await readFile(source)).subarray(0, 20));
    await assertReadError(file, /truncated HDF5 file: it ends inside the superblock/);
  });

  it("names the file a bad byte buffer came from", async () => {
    const error = await readTrackBytes(new TextEncoder().encode("not hdf5"), "upload.h5").then(
      () => assert.fail("should fail"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TrackReadError);
    assert.match(error.message, /^upload\.h5: not an HDF5 file/);
  });

  it("rejects an HDF5 file without the MSD groups", async () => {
    await h5wasm.ready;
    const file = join(dir, "other.h5");
    const other = new h5wasm.File(file, "w");
    try {
      other.create_dataset({ name: "values", data: new Float64Array([1, 2, 3]) });
    } finally {
      other.close();
    }
    const error = await assertReadError(file, /group is missing/);
    assert.equal(error.field, "/metadata");
  });

  it("reads a file whose copy is whole", { skip: sampleMissing }, async () => {
    const expected = Object.values(expectedByTrack)[2] as Expected;
    const file = join(dir, "copy.h5");
    await copyFile(samplePath(expected), file);
    assertMatchesExpected(await readTrack(file), expected);
  });
});

describe("the own HDF5 reader (hdf5-native.ts) against the HDF5 library", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "msd-reader-native-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function readBoth(file: string): Promise<{ native: Track[]; library: Track[] }> {
    const native: Track[] = [];
    const library: Track[] = [];
    for await (const track of readTracks(file, { engine: "native" })) native.push(track);
    for await (const track of readTracks(file, { engine: "hdf5" })) library.push(track);
    return { native, library };
  }

  it("reads every real sample file (gzip and shuffle) byte for byte as the library does", {
    skip: sampleMissing,
  }, async () => {
    for (const expected of Object.values(expectedByTrack)) {
      const { native, library } = await readBoth(samplePath(expected));
      assert.equal(native.length, 1);
      assert.deepEqual(native, library);
      assertMatchesExpected(native[0] as Track, expected);
    }
  });

  for (const compress of [false, true]) {
    it(`reads this project's ${compress ? "deflated" : "uncompressed"} files, per track and aggregate`, async () => {
      const tracks = [generateTrack(5, 0), generateTrack(5, 1), trackWithoutSegments(5, 2)];
      tracks.push(generateTrack(5, 3));
      const single = join(dir, `single-${compress}.h5`);
      const aggregate = join(dir, `aggregate-${compress}.h5`);
      await writeTrackFile(single, tracks[0] as Track, { compress });
      await writeTrackFile(aggregate, tracks, { compress });
      const one = await readBoth(single);
      assert.deepEqual(one.native, [tracks[0]]);
      assert.deepEqual(one.native, one.library);
      const all = await readBoth(aggregate);
      assert.deepEqual(all.native, all.library);
      assert.deepEqual(all.native.map(withoutOffsets), tracks);
    });
  }

  it("reads only the arrays asked for", { skip: sampleMissing }, async () => {
    const file = samplePath(Object.values(expectedByTrack)[3] as Expected);
    const arrays = ["segments_timbre", "artist_terms", "bars_start"];
    const native = await readTrack(file, { arrays, engine: "native" });
    assert.deepEqual(native, await readTrack(file, { arrays, engine: "hdf5" }));
    assert.equal(native.analysis.segments_pitches.rows, 0);
  });

  it("leaves files outside its subset to the library", async () => {
    // h5wasm's high-level API writes superblock version 2 with new-style groups.
    const track = generateTrack(8, 9);
    const file = join(dir, "superblock-2.h5");
    await writeWithH5wasmApi(file, track);
    await assert.rejects(readTrack(file, { engine: "native" }), NativeUnsupported);
    assert.deepEqual(await readTrack(file), track);
  });

  it("leaves broken files to the library, whose errors stay the same", {
    skip: sampleMissing,
  }, async () => {
    const bytes = await readFile(samplePath(Object.values(expectedByTrack)[0] as Expected));
    const file = join(dir, "half.h5");
    await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(readTrack(file, { engine: "native" }), NativeUnsupported);
    await assert.rejects(readTrack(file), /truncated HDF5 file/);
  });
});

/** A track with its idx_* fields set to 0, as a single-track file holds it. */
function withoutOffsets(track: Track): Track {
  const copy = structuredClone(track);
  for (const group of [copy.metadata, copy.analysis, copy.musicbrainz]) {
    const record = group as unknown as Record<string, unknown>;
    for (const name of Object.keys(record)) if (name.startsWith("idx_")) record[name] = 0;
  }
  return copy;
}

/**
 * Writes a track with h5wasm's own high-level API (contiguous datasets, compound tables from a
 * Map of columns), leaving out one field or dataset, or giving one dataset another shape: a
 * second, independent writer of real HDF5 files for the reader's layout checks.
 */
async function writeWithH5wasmApi(
  file: string,
  track: Track,
  change: { dropField?: string; dropDataset?: string; reshape?: string } = {},
): Promise<void> {
  await h5wasm.ready;
  const out = new h5wasm.File(file, "w");
  try {
    for (const { group, fields } of SONGS_TABLES) {
      const values = track[group] as unknown as Record<string, string | number>;
      const kept = fields.filter((f) => f.name !== change.dropField);
      const columns = new Map<string, unknown>(
        kept.map((f) => [
          f.name,
          f.kind === "string"
            ? [values[f.name]]
            : f.kind === "int32"
              ? Int32Array.of(values[f.name] as number)
              : Float64Array.of(values[f.name] as number),
        ]),
      );
      const dtype = kept.map((f): [string, string] => [
        f.name,
        // h5wasm's type codes are struct-module style: "<d" is float64, while "<f8" means float32.
        f.kind === "string" ? `A${"bytes" in f ? f.bytes : 0}` : f.kind === "int32" ? "<i" : "<d",
      ]);
      out.create_group(group).create_dataset({ name: "songs", data: columns, dtype });
    }
    for (const spec of TRACK_ARRAYS) {
      if (`/${spec.group}/${spec.name}` === change.dropDataset) continue;
      const group = out.get(spec.group) as InstanceType<typeof h5wasm.Group>;
      const value = (track[spec.group] as unknown as Record<string, unknown>)[spec.name];
      if (spec.kind === "string") {
        const strings = value as string[];
        group.create_dataset({
          name: spec.name,
          data: strings,
          dtype: `A${spec.bytes}`,
          shape: [strings.length],
        });
      } else if ("columns" in spec) {
        const matrix = value as Matrix;
        const columns = `/${spec.group}/${spec.name}` === change.reshape ? 6 : matrix.columns;
        const data = matrix.data.subarray(0, Math.floor(matrix.data.length / columns) * columns);
        group.create_dataset({ name: spec.name, data, shape: [data.length / columns, columns] });
      } else {
        group.create_dataset({ name: spec.name, data: value as Float64Array | Int32Array });
      }
    }
  } finally {
    out.close();
  }
}

describe("reading files written by this project", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "msd-reader-written-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function readError(file: string): Promise<TrackReadError> {
    const error = await readTrack(file).then(
      () => assert.fail(`reading ${file} should fail`),
      (e: unknown) => e,
    );
    assert.ok(error instanceof TrackReadError, `expected a TrackReadError, got ${error}`);
    return error;
  }

  it("reads an aggregate file song by song, each from its idx_* offsets", async () => {
    const tracks = [generateTrack(3, 0), generateTrack(3, 17), generateTrack(3, 40)];
    const file = join(dir, "aggregate.h5");
    await writeTrackFile(file, tracks);
    const read: Track[] = [];
    for await (const track of readTracks(file)) read.push(track);
    assert.equal(read.length, 3);
    for (const [i, track] of read.entries()) assert.deepEqual(withoutOffsets(track), tracks[i]);
    const second = read[1] as Track;
    assert.equal(second.analysis.idx_segments_start, tracks[0]?.analysis.segments_start.length);
    assert.equal(second.metadata.idx_artist_terms, tracks[0]?.metadata.artist_terms.length);
    const error = await readError(file);
    assert.match(error.message, /expected one track, the file holds 3/);
  });

  it("reads a track with zero segments", async () => {
    const track = trackWithoutSegments(3, 1);
    const file = join(dir, "no-segments.h5");
    await writeTrackFile(file, track);
    const read = await readTrack(file);
    assert.equal(read.analysis.segments_start.length, 0);
    assert.deepEqual(read.analysis.segments_timbre, NO_SEGMENT_ROWS);
    assert.deepEqual(read, track);
  });

  it("reads only the arrays asked for, leaving the rest empty and unchecked", async () => {
    const track = generateTrack(8, 3);
    const file = join(dir, "partial-read.h5");
    await writeWithH5wasmApi(file, track, { dropDataset: "/analysis/tatums_start" });
    const read = await readTrack(file, {
      arrays: ["segments_start", "segments_timbre", "artist_terms"],
    });
    assert.deepEqual(read.analysis.segments_start, track.analysis.segments_start);
    assert.deepEqual(read.analysis.segments_timbre, track.analysis.segments_timbre);
    assert.deepEqual(read.metadata.artist_terms, track.metadata.artist_terms);
    assert.equal(read.metadata.similar_artists.length, 0);
    assert.equal(read.analysis.tatums_start.length, 0);
    assert.equal(read.analysis.segments_pitches.rows, 0);
    assert.equal(read.analysis.tempo, track.analysis.tempo);
  });

  it("reads files written with h5wasm's generic API (contiguous datasets)", async () => {
    const track = generateTrack(8, 2);
    const file = join(dir, "h5wasm-api.h5");
    await writeWithH5wasmApi(file, track);
    assert.deepEqual(await readTrack(file), track);
  });

  it("rejects invalid UTF-8 in a string field, naming the field", async () => {
    const track = generateTrack(3, 2);
    track.metadata.artist_name = "@@NAME@@";
    const file = join(dir, "bad-name.h5");
    await writeTrackFile(file, track);
    await corrupt(file, "@@NAME@@");
    const error = await readError(file);
    assert.equal(error.field, "/metadata/songs.artist_name");
    assert.match(error.message, /bad-name\.h5: \/metadata\/songs\.artist_name: invalid UTF-8/);
  });

  it("rejects invalid UTF-8 in a string array, naming the dataset", async () => {
    const track = generateTrack(3, 3);
    track.metadata.artist_terms = ["rock", "@@TERM@@"];
    track.metadata.artist_terms_freq = Float64Array.of(1, 0.5);
    track.metadata.artist_terms_weight = Float64Array.of(1, 0.5);
    const file = join(dir, "bad-term.h5");
    await writeTrackFile(file, track);
    await corrupt(file, "@@TERM@@");
    const error = await readError(file);
    assert.equal(error.field, "/metadata/artist_terms");
    assert.match(error.message, /invalid UTF-8/);
  });

  it("rejects a missing field", async () => {
    const file = join(dir, "no-year.h5");
    await writeWithH5wasmApi(file, generateTrack(3, 4), { dropField: "year" });
    const error = await readError(file);
    assert.equal(error.field, "/musicbrainz/songs.year");
    assert.match(error.message, /field is missing \(expected an integer\)/);
  });

  it("rejects a missing dataset", async () => {
    const file = join(dir, "no-timbre.h5");
    await writeWithH5wasmApi(file, generateTrack(3, 5), {
      dropDataset: "/analysis/segments_timbre",
    });
    const error = await readError(file);
    assert.equal(error.field, "/analysis/segments_timbre");
    assert.match(error.message, /dataset is missing \(expected a float array of shape \(N, 12\)\)/);
  });

  it("rejects a dataset of the wrong shape", async () => {
    const file = join(dir, "timbre-6.h5");
    await writeWithH5wasmApi(file, generateTrack(3, 6), { reshape: "/analysis/segments_timbre" });
    const error = await readError(file);
    assert.equal(error.field, "/analysis/segments_timbre");
    assert.match(
      error.message,
      /expected a float array of shape \(N, 12\), found float64 of shape \(\d+, 6\)/,
    );
  });
});

const ENGINES = ["auto", "native", "hdf5"] as const;
type Engine = (typeof ENGINES)[number];

/** Whether any string or number buffer of a track holds the secret file's marker bytes. */
function holdsSecret(track: Track): boolean {
  const needle = Buffer.from(SECRET_MARKER);
  const parts: Buffer[] = [];
  for (const group of [track.metadata, track.analysis, track.musicbrainz]) {
    for (const value of Object.values(group as unknown as Record<string, unknown>)) {
      if (typeof value === "string") parts.push(Buffer.from(value));
      else if (Array.isArray(value)) parts.push(Buffer.from(value.join("\n")));
      else if (ArrayBuffer.isView(value)) {
        parts.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      } else if (value && typeof value === "object" && "data" in value) {
        const { data } = value as Matrix;
        parts.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      }
    }
  }
  return parts.some((part) => part.includes(needle));
}

describe("hostile track files (made with h5py)", { skip: h5pyMissing }, () => {
  let dir: string;
  let files: HostileFiles;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "msd-reader-hostile-"));
    const base = join(dir, "base.h5");
    await writeTrackFile(base, generateTrack(5, 0));
    files = await makeHostileFiles(dir, base);
    await loadHdf5();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function refusal(file: string, engine: Engine): Promise<TrackReadError> {
    const result = await readTrack(file, { engine }).then(
      (track) => track,
      (error: unknown) => error,
    );
    if (!(result instanceof Error)) {
      const leak = holdsSecret(result as Track) ? " holding bytes of the secret host file" : "";
      assert.fail(`reading ${file} should be refused, it gave a track${leak}`);
    }
    assert.ok(result instanceof TrackReadError, `expected a TrackReadError, got ${result}`);
    assert.ok(!result.message.includes(SECRET_MARKER), "the reason quotes no secret byte");
    return result;
  }

  const links = [
    ["external storage on /metadata/songs", "externalSongs", "/metadata/songs", "secretText"],
    [
      "external storage on /analysis/segments_timbre",
      "externalTimbre",
      "/analysis/segments_timbre",
      "secretText",
    ],
    ["an external link", "externalLink", "/analysis/segments_start", "secretHdf5"],
    [
      "an external link in a group's header",
      "externalLinkCompact",
      "/musicbrainz/artist_mbtags_count",
      "secretHdf5",
    ],
    ["a virtual dataset", "virtualDataset", "/analysis/segments_start", "secretHdf5"],
  ] as const;
  for (const [what, file, field, target] of links) {
    for (const engine of ENGINES) {
      it(`refuses ${what}, naming the dataset and the host file (${engine} reader)`, async () => {
        if (file === "externalLink" && engine === "native") {
          // The own reader does not read groups whose links are in a fractal heap: it reads
          // nothing of this file (and "auto" hands it to the library, which refuses it).
          await assert.rejects(readTrack(files[file], { engine }), NativeUnsupported);
          return;
        }
        const error = await refusal(files[file], engine);
        assert.equal(error.field, field);
        assert.ok(error.message.startsWith(`${files[file]}: ${field}: `), error.message);
        assert.match(error.problem, /another file/);
        assert.ok(
          error.problem.includes(files[target]),
          `names ${files[target]}: ${error.problem}`,
        );
      });
    }
  }

  const oversized = [
    ["an artist_terms declared with 4e9 rows, 37 written", "hugeTerms", "/metadata/artist_terms"],
    [
      "a segments_timbre declared 192 MB with no chunk written",
      "unwrittenTimbre",
      "/analysis/segments_timbre",
    ],
  ] as const;
  for (const [what, file, field] of oversized) {
    for (const engine of ENGINES) {
      it(`refuses ${what} before allocating it (${engine} reader)`, async () => {
        const h5 = await loadHdf5();
        const heap = h5.HEAPU8.length;
        const started = performance.now();
        const error = await refusal(files[file], engine);
        const elapsed = performance.now() - started;
        assert.equal(error.field, field);
        assert.match(error.problem, /(declares|takes) \d+ bytes\b.*, more than/);
        assert.ok(elapsed < 1000, `refused in ${Math.round(elapsed)} ms`);
        const grown = h5.HEAPU8.length - heap;
        assert.ok(grown < 16 * 2 ** 20, `the HDF5 library's memory grew by ${grown} bytes`);
      });
    }
  }

  // The HDF5 library inflates a chunk without bound (745 MB of wasm memory for this 630 KB
  // file), so only the own reader can refuse it: "hdf5" alone is not tested.
  for (const engine of ["auto", "native"] as const) {
    it(`refuses a chunk that inflates past its declared size (${engine} reader)`, async () => {
      const h5 = await loadHdf5();
      const heap = h5.HEAPU8.length;
      const started = performance.now();
      const error = await refusal(files.deflateBomb, engine);
      const elapsed = performance.now() - started;
      assert.equal(error.field, "/analysis/segments_start");
      assert.match(error.problem, /a chunk inflates past the \d+ bytes/);
      assert.ok(elapsed < 1000, `refused in ${Math.round(elapsed)} ms`);
      const grown = h5.HEAPU8.length - heap;
      assert.ok(grown < 16 * 2 ** 20, `the HDF5 library's memory grew by ${grown} bytes`);
    });
  }

  it("keeps a reader's memory small while refusing oversized datasets (a real process)", () => {
    const script = `
      import { readTrack } from ${JSON.stringify(new URL("../../src/msd/reader.ts", import.meta.url).href)};
      const reasons = [];
      for (const file of process.argv.slice(1)) {
        reasons.push(await readTrack(file).then(() => "read", (e) => e.problem));
      }
      console.log(JSON.stringify({ reasons, maxRss: process.resourceUsage().maxRSS * 1024 }));
    `;
    const child = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        script,
        files.hugeTerms,
        files.unwrittenTimbre,
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    assert.equal(child.status, 0, child.stderr);
    const { reasons, maxRss } = JSON.parse(child.stdout) as { reasons: string[]; maxRss: number };
    for (const reason of reasons) assert.match(reason, /(declares|takes) \d+ bytes\b.*, more than/);
    assert.ok(maxRss < 300 * 2 ** 20, `peak resident memory ${Math.round(maxRss / 2 ** 20)} MiB`);
  });
});

describe("HDF5's diagnostics", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "msd-reader-diag-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("never reach stderr, while the reasons name what HDF5 found broken", async () => {
    const base = join(dir, "base.h5");
    await writeTrackFile(base, generateTrack(5, 1));
    const bytes = await readFile(base);
    const broken: string[] = [];
    // Damaged B-tree nodes, symbol table nodes and local heaps: the own reader hands these to
    // the HDF5 library, which finds them broken (printing its error stack unless silenced).
    for (const signature of ["TREE", "SNOD", "HEAP"]) {
      const copy = Buffer.from(bytes);
      for (let at = copy.indexOf(signature); at >= 0; at = copy.indexOf(signature, at + 1)) {
        copy[at + 3] = 0x21;
      }
      const file = join(dir, `broken-${signature}.h5`);
      await writeFile(file, copy);
      broken.push(file);
    }
    const script = `
      import { readTrack } from ${JSON.stringify(new URL("../../src/msd/reader.ts", import.meta.url).href)};
      import { TrackReadError } from ${JSON.stringify(new URL("../../src/msd/errors.ts", import.meta.url).href)};
      const results = [];
      for (const file of process.argv.slice(1)) {
        for (const engine of ["auto", "hdf5"]) {
          results.push(await readTrack(file, { engine }).then(
            () => "read",
            (e) => (e instanceof TrackReadError ? e.message : "not a TrackReadError: " + e),
          ));
        }
      }
      console.log(JSON.stringify(results));
    `;
    const child = spawnSync(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script, ...broken],
      { encoding: "utf8", timeout: 60_000 },
    );
    assert.equal(child.status, 0, child.stderr);
    assert.doesNotMatch(child.stderr, /HDF5-DIAG/);
    assert.equal(child.stderr, "", "nothing on stderr");
    const results = JSON.parse(child.stdout) as string[];
    assert.equal(results.length, 2 * broken.length);
    for (const message of results) {
      assert.match(message, /: HDF5 cannot [a-z ]+: \S.*/, message);
    }
  });
});

/** Replaces the first byte of `marker`, found once in the file, with 0xFF (never valid UTF-8). */
async function corrupt(file: string, marker: string): Promise<void> {
  const bytes = await readFile(file);
  const at = bytes.indexOf(marker);
  assert.ok(at >= 0 && bytes.indexOf(marker, at + 1) < 0, `${marker} occurs once in ${file}`);
  bytes[at] = 0xff;
  await writeFile(file, bytes);
}
