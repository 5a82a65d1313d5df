// Feature extraction on the real MSD sample, checked against what h5py and numpy read from
// the same files (../shared/msd-sample/expected.json); on synthetic files, the songs tables'
// fields checked against h5py live; missing values kept missing.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  columnStats,
  extractFeatures,
  FEATURE_COLUMNS,
  stats,
} from "../../src/features/extract.ts";
import { defaultVocabulary, genresFromTerms } from "../../src/features/vocabulary.ts";
import { readTrack } from "../../src/msd/reader.ts";
import { generateSubset, generateTrack } from "../../src/msd/synth.ts";
import { hasPythonModules, PYTHON } from "../helpers/python.ts";

const sampleRoot = fileURLToPath(new URL("../../../shared/msd-sample", import.meta.url));
const hasSample = existsSync(join(sampleRoot, "expected.json"));

interface ArrayStats {
  mean: number | null;
  std: number | null;
  shape: number[];
  column_means?: number[];
}
interface Expected {
  path: string;
  "analysis/arrays": Record<string, ArrayStats>;
  "analysis/songs": Record<string, number | string | null>;
  "metadata/artist_terms": string[];
  "metadata/artist_terms_weight": number[];
  "metadata/songs": Record<string, number | string | null>;
  "musicbrainz/songs": Record<string, number>;
}

/** The songs tables' scalar fields the table takes as they are, by the table they are in. */
const SCALAR_FIELDS = {
  "analysis/songs": [
    "duration",
    "key",
    "key_confidence",
    "loudness",
    "mode",
    "mode_confidence",
    "tempo",
    "time_signature",
    "time_signature_confidence",
    "end_of_fade_in",
    "start_of_fade_out",
  ],
  "metadata/songs": [
    "artist_familiarity",
    "artist_hotttnesss",
    "song_hotttnesss",
    "artist_latitude",
    "artist_longitude",
  ],
} as const;

const close = (actual: number, expected: number | null | undefined, what: string) => {
  if (expected === null || expected === undefined)
    return assert.ok(Number.isNaN(actual), `${what} is NaN`);
  assert.ok(
    Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} vs ${expected}`,
  );
};

describe("feature extraction", () => {
  it("computes means and population deviations like numpy", () => {
    const s = stats(new Float64Array([1, 2, 3, 4]));
    assert.equal(s.mean, 2.5);
    assert.equal(s.std, Math.sqrt(1.25));
    assert.equal(s.max, 4);
    assert.ok(Number.isNaN(stats(new Float64Array(0)).mean));
    const m = columnStats({ rows: 2, columns: 2, data: new Float64Array([1, 10, 3, 30]) });
    assert.deepEqual([...m.mean], [2, 20]);
    assert.deepEqual([...m.std], [1, 10]);
  });

  it("matches h5py on every real sample track", {
    skip: !hasSample && "no MSD sample",
  }, async () => {
    const expected = JSON.parse(readFileSync(join(sampleRoot, "expected.json"), "utf8")) as Record<
      string,
      Expected
    >;
    const vocabulary = defaultVocabulary();
    assert.equal(Object.keys(expected).length, 13);
    for (const [trackId, want] of Object.entries(expected)) {
      const track = await readTrack(join(sampleRoot, "data", want.path));
      const extraction = extractFeatures(track, { vocabulary });
      assert.ok(
        "row" in extraction,
        `${trackId}: ${"reason" in extraction ? extraction.reason : ""}`,
      );
      const row = extraction.row;
      assert.deepEqual(
        Object.keys(row),
        FEATURE_COLUMNS.map((c) => c.name),
      );
      assert.equal(row.track_id, trackId);
      assert.equal(row.year, want["musicbrainz/songs"].year);
      for (const [table, fields] of Object.entries(SCALAR_FIELDS)) {
        for (const field of fields) {
          const value = want[table as keyof typeof SCALAR_FIELDS][field] ?? Number.NaN;
          assert.equal(row[field], value, `${trackId} ${field}`);
        }
      }
      const arrays = want["analysis/arrays"];
      for (let i = 0; i < 12; i++) {
        close(
          row[`timbre_mean_${i}`] as number,
          arrays.segments_timbre?.column_means?.[i],
          `${trackId} timbre_mean_${i}`,
        );
        close(
          row[`pitch_mean_${i}`] as number,
          arrays.segments_pitches?.column_means?.[i],
          `${trackId} pitch_mean_${i}`,
        );
      }
      close(
        row.segment_loudness_max_mean as number,
        arrays.segments_loudness_max?.mean,
        `${trackId} loudness max mean`,
      );
      close(
        row.segment_loudness_max_std as number,
        arrays.segments_loudness_max?.std,
        `${trackId} loudness max std`,
      );
      const duration = want["analysis/songs"].duration as number;
      close(
        row.segments_per_second as number,
        (arrays.segments_start?.shape[0] ?? 0) / duration,
        `${trackId} segments/s`,
      );
      close(
        row.beats_per_second as number,
        (arrays.beats_start?.shape[0] ?? 0) / duration,
        `${trackId} beats/s`,
      );
      const genres = genresFromTerms(
        want["metadata/artist_terms"],
        want["metadata/artist_terms_weight"],
        vocabulary,
      );
      assert.deepEqual(row.genres, genres, `${trackId} genres`);
    }
    const songs = Object.values(expected).map((want) => want["metadata/songs"]);
    assert.ok(songs.some((s) => s.artist_latitude === null && s.song_hotttnesss === null));
    assert.ok(songs.some((s) => s.song_hotttnesss === 0 && typeof s.artist_latitude === "number"));
  });

  it("matches h5py on the songs fields of synthetic files, NaN where a value is missing", {
    skip: !hasPythonModules("h5py") && "no h5py",
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "msd-synth-scalars-"));
    try {
      const { files } = await generateSubset({ tracks: 30, outDir: dir, seed: 2024, workers: 1 });
      const script = `
import h5py, json, math, sys
out = {}
for path in sys.argv[1:]:
    with h5py.File(path, "r") as f:
        row = {}
        for table, fields in json.loads(${JSON.stringify(JSON.stringify(SCALAR_FIELDS))}).items():
            songs = f[table][0]
            for name in fields:
                value = float(songs[name])
                row[name] = None if math.isnan(value) else value
        out[f["analysis/songs"][0]["track_id"].decode()] = row
print(json.dumps(out))
`;
      const result = spawnSync(PYTHON, ["-c", script, ...files], { encoding: "utf8" });
      assert.equal(result.status, 0, result.stderr);
      const expected = JSON.parse(result.stdout) as Record<string, Record<string, number | null>>;
      const vocabulary = defaultVocabulary();
      let missing = 0;
      for (const file of files) {
        const extraction = extractFeatures(await readTrack(file), { vocabulary });
        assert.ok("row" in extraction, file);
        const want = expected[extraction.row.track_id as string] as Record<string, number | null>;
        for (const [name, value] of Object.entries(want)) {
          if (value === null) missing++;
          assert.equal(extraction.row[name], value ?? Number.NaN, `${file} ${name}`);
        }
      }
      assert.ok(missing > 0, "some values are missing");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("keeps a missing value NaN and a 0 as 0", () => {
    const track = generateTrack(3, 0);
    Object.assign(track.metadata, {
      artist_latitude: Number.NaN,
      artist_longitude: Number.NaN,
      song_hotttnesss: 0,
      artist_hotttnesss: Number.NaN,
    });
    const extraction = extractFeatures(track, { vocabulary: defaultVocabulary() });
    assert.ok("row" in extraction);
    const { row } = extraction;
    assert.ok(Number.isNaN(row.artist_latitude) && Number.isNaN(row.artist_longitude));
    assert.ok(Number.isNaN(row.artist_hotttnesss));
    assert.equal(row.song_hotttnesss, 0);
    assert.equal(row.artist_familiarity, track.metadata.artist_familiarity);
    assert.equal(row.end_of_fade_in, track.analysis.end_of_fade_in);
    assert.equal(row.start_of_fade_out, track.analysis.start_of_fade_out);
  });
});
