// Feature extraction on the real MSD sample, checked against what h5py and numpy read from
// the same files (../shared/msd-sample/expected.json).
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
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
  "musicbrainz/songs": Record<string, number>;
}

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
      for (const field of [
        "duration",
        "key",
        "loudness",
        "mode",
        "tempo",
        "time_signature",
        "key_confidence",
      ]) {
        assert.equal(row[field], want["analysis/songs"][field], `${trackId} ${field}`);
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
  });
});
