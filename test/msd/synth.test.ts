// The synthetic MSD generator: deterministic for a seed, read back exactly by the reader, the
// real files' HDF5 layout and dtypes (checked with h5py when /usr/bin/python3 has it, against
// a real sample file when ../shared/msd-sample exists), and data with the real data's traits.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { GENRE_FAMILIES, GENRES } from "../../src/msd/genres.ts";
import { readTrack } from "../../src/msd/reader.ts";
import { generateSubset, generateTrack } from "../../src/msd/synth.ts";
import { SONGS_TABLES, TRACK_ARRAYS, type Track, trackRelativePath } from "../../src/msd/track.ts";

const SAMPLE_FILE = fileURLToPath(
  new URL("../../../shared/msd-sample/data/A/A/A/TRAAAAW128F429D538.h5", import.meta.url),
);
const PYTHON = "/usr/bin/python3";
const h5pyMissing =
  existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import h5py"]).status === 0
    ? false
    : `${PYTHON} with h5py is not available`;
const sampleMissing = existsSync(SAMPLE_FILE) ? false : `no MSD sample file at ${SAMPLE_FILE}`;

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe("generateSubset", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "msd-synth-test-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes the subset layout data/A/B/C/<id>.h5 and reports progress", async () => {
    const outDir = join(dir, "layout");
    const progress: number[] = [];
    const summary = await generateSubset({
      tracks: 20,
      outDir,
      seed: 7,
      workers: 1,
      onProgress: (done, total) => {
        assert.equal(total, 20);
        progress.push(done);
      },
    });
    assert.equal(summary.tracks, 20);
    assert.ok(summary.artists >= 2 && summary.artists < 20, `${summary.artists} artists`);
    assert.equal(progress.at(-1), 20);
    const files = await listFiles(outDir);
    assert.equal(files.length, 20, "no temporary files left behind");
    for (const file of files) {
      assert.match(file, /^data\/([A-Z])\/([A-Z])\/([A-Z])\/TR\1\2\3[A-Z]{2}[0-9A-F]{11}\.h5$/);
    }
    assert.deepEqual(summary.files.map((f) => relative(outDir, f)).sort(), files);
  });

  it("is deterministic for a seed, with or without worker threads", async () => {
    const a = join(dir, "seed-a");
    const b = join(dir, "seed-b");
    const c = join(dir, "seed-c");
    await generateSubset({ tracks: 8, outDir: a, seed: 123, workers: 1 });
    await generateSubset({ tracks: 8, outDir: b, seed: 123, workers: 2 });
    await generateSubset({ tracks: 8, outDir: c, seed: 124, workers: 1 });
    const files = await listFiles(a);
    assert.deepEqual(await listFiles(b), files);
    assert.notDeepEqual(await listFiles(c), files);
    for (const file of files) {
      // HDF5 stamps each object with its modification time, so compare content, not bytes.
      assert.deepEqual(await readTrack(join(b, file)), await readTrack(join(a, file)), file);
    }
  });

  it("writes the same content compressed, in smaller files", async () => {
    const plain = join(dir, "plain");
    const deflated = join(dir, "deflated");
    await generateSubset({ tracks: 3, outDir: plain, seed: 77, workers: 1 });
    await generateSubset({ tracks: 3, outDir: deflated, seed: 77, workers: 1, compress: true });
    for (const file of await listFiles(plain)) {
      assert.deepEqual(await readTrack(join(deflated, file)), await readTrack(join(plain, file)));
      const [plainSize, deflatedSize] = await Promise.all(
        [plain, deflated].map(async (root) => (await stat(join(root, file))).size),
      );
      assert.ok(
        (deflatedSize as number) < (plainSize as number) * 0.7,
        `${deflatedSize} vs ${plainSize}`,
      );
    }
  });

  it("writes tracks the reader reads back exactly as generated", async () => {
    const outDir = join(dir, "roundtrip");
    const summary = await generateSubset({ tracks: 20, outDir, seed: 99, workers: 1 });
    for (const [index, file] of summary.files.entries()) {
      assert.deepEqual(await readTrack(file), generateTrack(99, index), file);
    }
  });

  it("includes a track with only five segments, read back without trouble", async () => {
    const track = generateTrack(99, 17);
    assert.equal(track.analysis.segments_start.length, 5);
    assert.equal(track.analysis.segments_timbre.rows, 5);
    const file = join(dir, "roundtrip", "data", trackRelativePath(track.analysis.track_id));
    assert.deepEqual(await readTrack(file), track);
  });

  it("matches the groups, datasets, ranks and dtypes of the real files (h5py)", {
    skip: h5pyMissing,
  }, async (t) => {
    const outDir = join(dir, "h5py");
    const { files } = await generateSubset({ tracks: 1, outDir, seed: 5, workers: 1 });
    const generated = describeWithH5py(files[0] as string);
    assert.deepEqual(generated, layoutFromSpec(), "generated file vs the spec in track.ts");
    if (sampleMissing) {
      t.diagnostic(`${sampleMissing}: compared with the spec only`);
      return;
    }
    assert.deepEqual(generated, describeWithH5py(SAMPLE_FILE), "generated file vs a real one");
  });
});

interface DatasetLayout {
  dtype: string | [string, string][];
  rank: number;
  columns: number[];
  maxshape: (number | null)[];
  chunks: number[] | null;
  strings: [number, number][];
}

/** What h5py sees of each group and dataset: dtype, rank, extendability, chunks, string flags. */
function describeWithH5py(file: string): Record<string, DatasetLayout | "group"> {
  const script = `
import h5py, json, sys
def strings(tid):
    if isinstance(tid, h5py.h5t.TypeCompoundID):
        return [p for i in range(tid.get_nmembers()) for p in strings(tid.get_member_type(i))]
    if isinstance(tid, h5py.h5t.TypeStringID):
        return [[tid.get_cset(), tid.get_strpad()]]
    return []
out = {}
def visit(name, obj):
    if isinstance(obj, h5py.Group):
        out[name] = "group"
        return
    dt = obj.dtype
    out[name] = {
        "dtype": [[n, dt.fields[n][0].str] for n in dt.names] if dt.names else dt.str,
        "rank": obj.ndim, "columns": list(obj.shape[1:]), "maxshape": list(obj.maxshape),
        "chunks": list(obj.chunks) if obj.chunks else None, "strings": strings(obj.id.get_type()),
    }
with h5py.File(sys.argv[1], "r") as f:
    f.visititems(visit)
print(json.dumps(out))
`;
  const result = spawnSync(PYTHON, ["-c", script, file], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

/** The layout track.ts describes: fixed-length ASCII NUL-terminated strings (cset 0, pad 0). */
function layoutFromSpec(): Record<string, DatasetLayout | "group"> {
  const layout: Record<string, DatasetLayout | "group"> = {};
  for (const { group, fields, chunk } of SONGS_TABLES) {
    layout[group] = "group";
    layout[`${group}/songs`] = {
      dtype: fields.map((f) => [
        f.name,
        f.kind === "string"
          ? `|S${"bytes" in f ? f.bytes : 0}`
          : f.kind === "int32"
            ? "<i4"
            : "<f8",
      ]),
      rank: 1,
      columns: [],
      maxshape: [null],
      chunks: [chunk],
      strings: fields.filter((f) => f.kind === "string").map(() => [0, 0]),
    };
  }
  for (const spec of TRACK_ARRAYS) {
    const columns = "columns" in spec ? [spec.columns] : [];
    layout[`${spec.group}/${spec.name}`] = {
      dtype: spec.kind === "string" ? `|S${spec.bytes}` : spec.kind === "int32" ? "<i4" : "<f8",
      rank: 1 + columns.length,
      columns,
      maxshape: [null, ...columns],
      chunks: [spec.chunk, ...columns],
      strings: spec.kind === "string" ? [[0, 0]] : [],
    };
  }
  return layout;
}

describe("generateTrack", () => {
  const familyOfGenre = new Map<string, string>();
  for (const family of GENRE_FAMILIES) {
    for (const genre of family.genres) {
      if (!familyOfGenre.has(genre)) familyOfGenre.set(genre, family.name);
    }
  }
  const genres = new Set(GENRES);
  const tracks: Track[] = Array.from({ length: 400 }, (_, i) => generateTrack(2024, i));

  it("keeps a vocabulary of a couple hundred real genre names", () => {
    assert.ok(GENRES.length >= 200, `${GENRES.length} genres`);
    for (const genre of ["rock", "hip hop", "jazz", "alternative rock", "drum and bass"]) {
      assert.ok(genres.has(genre), genre);
    }
  });

  it("gives artists several tracks that share their terms", () => {
    const byArtist = new Map<string, Track[]>();
    for (const track of tracks) {
      const id = track.metadata.artist_id;
      byArtist.set(id, [...(byArtist.get(id) ?? []), track]);
    }
    assert.ok(byArtist.size < tracks.length / 2, `${byArtist.size} artists`);
    for (const artistTracks of byArtist.values()) {
      const [first] = artistTracks as [Track];
      for (const track of artistTracks) {
        assert.deepEqual(track.metadata.artist_terms, first.metadata.artist_terms);
        assert.equal(track.metadata.artist_name, first.metadata.artist_name);
      }
    }
  });

  it("mixes genres with places, decades and descriptors, with freq and weight", () => {
    const terms = new Set(tracks.flatMap((t) => t.metadata.artist_terms));
    for (const word of ["united states", "uk", "80s", "male vocalist", "instrumental"]) {
      assert.ok(terms.has(word), `some artist has the term ${word}`);
    }
    assert.ok([...terms].some((t) => !genres.has(t)) && [...terms].some((t) => genres.has(t)));
    for (const { metadata } of tracks) {
      const n = metadata.artist_terms.length;
      assert.equal(metadata.artist_terms_freq.length, n);
      assert.equal(metadata.artist_terms_weight.length, n);
      if (n === 0) continue;
      assert.equal(metadata.artist_terms_weight[0], 1);
      assert.ok(
        metadata.artist_terms_weight.every((w, i, all) => i === 0 || w <= (all[i - 1] as number)),
      );
      assert.ok(metadata.artist_terms_freq.every((f) => f > 0 && f <= 1));
    }
  });

  it("has the real data's quirks", () => {
    const unknownYears = tracks.filter((t) => t.musicbrainz.year === 0).length / tracks.length;
    assert.ok(unknownYears > 0.4 && unknownYears < 0.6, `${unknownYears} of years unknown`);
    const years = tracks.map((t) => t.musicbrainz.year).filter((y) => y > 0);
    const decades = new Set(years.map((y) => Math.floor(y / 10)));
    assert.ok(decades.size >= 5, `years span ${decades.size} decades`);
    assert.ok(tracks.every((t) => t.analysis.danceability === 0 && t.analysis.energy === 0));
    assert.ok(tracks.some((t) => Number.isNaN(t.metadata.artist_latitude)));
    assert.ok(tracks.some((t) => Number.isNaN(t.metadata.song_hotttnesss)));
    assert.ok(tracks.some((t) => t.analysis.segments_start.length === 5));
    assert.ok(
      tracks.every((t) => t.metadata.genre === "" && t.analysis.analysis_sample_rate === 22050),
    );
  });

  it("gives the scalar fields the real subset's distributions and gaps", () => {
    // Shares of tracks in the real subset: 62%, 43%, 14%, 31% and 11%; the artist-level ones
    // vary more from sample to sample, since all of an artist's tracks go together.
    const shares: [string, (track: Track) => boolean, number, number][] = [
      ["coordinates missing", (t) => Number.isNaN(t.metadata.artist_latitude), 0.5, 0.75],
      ["song_hotttnesss missing", (t) => Number.isNaN(t.metadata.song_hotttnesss), 0.33, 0.55],
      ["song_hotttnesss 0", (t) => t.metadata.song_hotttnesss === 0, 0.06, 0.22],
      ["no fade-in", (t) => t.analysis.end_of_fade_in === 0, 0.24, 0.38],
      [
        "fade-out from the end",
        (t) => t.analysis.start_of_fade_out === Math.round(t.analysis.duration * 1000) / 1000,
        0.06,
        0.16,
      ],
    ];
    for (const [what, test, low, high] of shares) {
      const share = tracks.filter(test).length / tracks.length;
      assert.ok(share >= low && share <= high, `${what}: ${share} outside [${low}, ${high}]`);
    }
    const byArtist = new Map<string, Track>();
    for (const track of tracks) {
      const { metadata: m, analysis: a } = track;
      assert.equal(Number.isNaN(m.artist_latitude), Number.isNaN(m.artist_longitude));
      for (const value of [m.artist_familiarity, m.artist_hotttnesss, m.song_hotttnesss]) {
        assert.ok(Number.isNaN(value) || (value >= 0 && value <= 1), `${value} in [0, 1]`);
      }
      assert.ok(0 <= a.end_of_fade_in && a.end_of_fade_in <= a.start_of_fade_out);
      assert.ok(a.start_of_fade_out <= a.duration + 0.0005);
      const first = byArtist.get(m.artist_id) ?? track;
      byArtist.set(m.artist_id, first);
      for (const field of [
        "artist_familiarity",
        "artist_hotttnesss",
        "artist_latitude",
        "artist_longitude",
      ] as const) {
        assert.equal(m[field], first.metadata[field], `${m.artist_id} ${field}`);
      }
    }
    const fadeIns = tracks.map((t) => t.analysis.end_of_fade_in).sort((a, b) => a - b);
    const median = fadeIns[tracks.length / 2] as number;
    assert.ok(median > 0.1 && median < 0.3, `median fade-in ${median} s`);
    assert.ok(
      fadeIns.some((v) => v > 2),
      "some fade-ins of seconds",
    );
  });

  it("writes consistent analysis arrays", () => {
    for (const { analysis } of tracks) {
      const segments = analysis.segments_start.length;
      for (const name of [
        "segments_confidence",
        "segments_loudness_start",
        "segments_loudness_max",
        "segments_loudness_max_time",
      ] as const) {
        assert.equal(analysis[name].length, segments, name);
      }
      for (const matrix of [analysis.segments_timbre, analysis.segments_pitches]) {
        assert.equal(matrix.rows, segments);
        assert.equal(matrix.columns, 12);
        assert.equal(matrix.data.length, segments * 12);
      }
      for (let row = 0; row < segments; row++) {
        const chroma = analysis.segments_pitches.data.subarray(row * 12, row * 12 + 12);
        assert.equal(Math.max(...chroma), 1, "each pitch vector peaks at 1");
      }
      assert.equal(analysis.beats_confidence.length, analysis.beats_start.length);
      assert.equal(analysis.bars_confidence.length, analysis.bars_start.length);
      assert.equal(analysis.tatums_confidence.length, analysis.tatums_start.length);
      assert.equal(analysis.sections_confidence.length, analysis.sections_start.length);
      assert.ok(
        analysis.segments_start.every((s, i, all) => i === 0 || s > (all[i - 1] as number)),
      );
      assert.ok(
        analysis.key >= 0 && analysis.key < 12 && (analysis.mode === 0 || analysis.mode === 1),
      );
    }
  });

  it("makes audio features depend on the genres", () => {
    const familyOf = (track: Track) => {
      const genre = track.metadata.artist_terms.find((term) => familyOfGenre.has(term));
      return genre === undefined ? undefined : familyOfGenre.get(genre);
    };
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const loudness = (families: string[]) =>
      mean(
        tracks.filter((t) => families.includes(familyOf(t) ?? "")).map((t) => t.analysis.loudness),
      );
    const quiet = loudness(["classical", "ambient and new age", "jazz"]);
    const loud = loudness(["metal", "punk"]);
    assert.ok(loud - quiet > 5, `metal/punk ${loud} dB vs classical/ambient/jazz ${quiet} dB`);
  });

  it("doubles or halves some tempos (octave errors)", () => {
    const tempos = tracks.map((t) => t.analysis.tempo);
    assert.ok(tempos.some((t) => t > 180) && tempos.some((t) => t < 70));
  });

  it("is the same track whatever was generated before", () => {
    const again = generateTrack(2024, 123);
    generateTrack(31, 5);
    assert.deepEqual(generateTrack(2024, 123), again);
    assert.deepEqual(again, tracks[123]);
  });
});

describe("the synthetic subset on disk", () => {
  it("leaves no temporary file behind when the final rename fails", async () => {
    const dir = await mkdtemp(join(tmpdir(), "msd-synth-fail-"));
    try {
      const target = join(dir, "data", trackRelativePath(generateTrack(1, 0).analysis.track_id));
      await mkdir(target, { recursive: true });
      await writeFile(join(target, "keep"), "a folder where the track file should go");
      await assert.rejects(generateSubset({ tracks: 1, outDir: dir, seed: 1, workers: 1 }));
      assert.deepEqual(await listFiles(dir), [relative(dir, join(target, "keep"))]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
