// Reads the real MSD sample files (../shared/msd-sample, skipped when absent) and compares
// every field with what h5py read (expected.json); checks the errors for unreadable input.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import h5wasm from "h5wasm/node";
import { TrackReadError } from "../../src/msd/errors.ts";
import { readTrack, readTrackBytes, readTracks } from "../../src/msd/reader.ts";
import {
  ANALYSIS_SONGS_FIELDS,
  type Matrix,
  METADATA_SONGS_FIELDS,
  MUSICBRAINZ_SONGS_FIELDS,
  type Track,
} from "../../src/msd/track.ts";

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
