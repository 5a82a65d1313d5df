// Turns one MSD track into one row of the feature table: identifiers, the seed's features
// and their confidences, the songs tables' other scalar fields that can tell genres apart (fade
// times, artist and song popularity, the artist's coordinates; NaN where the file has NaN),
// summaries of the timbre, pitch, loudness and rhythm arrays, and the genres its artist terms
// name. A track that cannot give a row says why.
import type { Matrix, Track } from "../msd/track.ts";
import type { ColumnSpec, Row } from "./table.ts";
import { type GenreVocabulary, genresFromTerms } from "./vocabulary.ts";

const COEFFICIENTS = Array.from({ length: 12 }, (_, i) => i);

/** The columns of datasets/features.parquet, in order. */
export const FEATURE_COLUMNS: readonly ColumnSpec[] = [
  { name: "track_id", type: "STRING" },
  { name: "song_id", type: "STRING" },
  { name: "artist_id", type: "STRING" },
  { name: "artist_name", type: "STRING" },
  { name: "title", type: "STRING" },
  { name: "release", type: "STRING" },
  { name: "year", type: "INT32" },
  { name: "duration", type: "DOUBLE" },
  { name: "key", type: "INT32" },
  { name: "key_confidence", type: "DOUBLE" },
  { name: "loudness", type: "DOUBLE" },
  { name: "mode", type: "INT32" },
  { name: "mode_confidence", type: "DOUBLE" },
  { name: "tempo", type: "DOUBLE" },
  { name: "time_signature", type: "INT32" },
  { name: "time_signature_confidence", type: "DOUBLE" },
  { name: "end_of_fade_in", type: "DOUBLE" },
  { name: "start_of_fade_out", type: "DOUBLE" },
  { name: "artist_familiarity", type: "DOUBLE" },
  { name: "artist_hotttnesss", type: "DOUBLE" },
  { name: "song_hotttnesss", type: "DOUBLE" },
  { name: "artist_latitude", type: "DOUBLE" },
  { name: "artist_longitude", type: "DOUBLE" },
  ...COEFFICIENTS.map((i) => ({ name: `timbre_mean_${i}`, type: "DOUBLE" as const })),
  ...COEFFICIENTS.map((i) => ({ name: `timbre_std_${i}`, type: "DOUBLE" as const })),
  ...COEFFICIENTS.map((i) => ({ name: `pitch_mean_${i}`, type: "DOUBLE" as const })),
  ...COEFFICIENTS.map((i) => ({ name: `pitch_std_${i}`, type: "DOUBLE" as const })),
  { name: "segment_loudness_max_mean", type: "DOUBLE" },
  { name: "segment_loudness_max_std", type: "DOUBLE" },
  { name: "segment_loudness_max_peak", type: "DOUBLE" },
  { name: "segment_loudness_start_mean", type: "DOUBLE" },
  { name: "segment_loudness_max_time_mean", type: "DOUBLE" },
  { name: "segment_confidence_mean", type: "DOUBLE" },
  { name: "segments_per_second", type: "DOUBLE" },
  { name: "beats_per_second", type: "DOUBLE" },
  { name: "bars_per_second", type: "DOUBLE" },
  { name: "sections_per_minute", type: "DOUBLE" },
  { name: "genres", type: "STRING_LIST" },
];

/** The MSD arrays extraction uses; a reader may skip the others. */
export const FEATURE_ARRAYS: readonly string[] = [
  "artist_terms",
  "artist_terms_weight",
  "segments_start",
  "segments_confidence",
  "segments_loudness_start",
  "segments_loudness_max",
  "segments_loudness_max_time",
  "segments_timbre",
  "segments_pitches",
  "beats_start",
  "bars_start",
  "sections_start",
];

export type Extraction = { row: Row } | { reason: string };

export interface ExtractOptions {
  vocabulary: GenreVocabulary;
  /** Only artist terms with at least this weight count as genres (default 0: all). */
  minTermWeight?: number;
}

export function extractFeatures(track: Track, options: ExtractOptions): Extraction {
  const { metadata: m, analysis: a, musicbrainz: b } = track;
  const segments = a.segments_start.length;
  if (segments === 0) return { reason: "the track has no segments" };
  if (!(a.duration > 0))
    return { reason: `duration ${a.duration} is not a positive number of seconds` };
  if (a.segments_timbre.rows !== segments || a.segments_pitches.rows !== segments) {
    return { reason: `segments_timbre/segments_pitches rows differ from the ${segments} segments` };
  }
  const timbre = columnStats(a.segments_timbre);
  const pitch = columnStats(a.segments_pitches);
  const loudnessMax = stats(a.segments_loudness_max);
  const row: Row = {
    track_id: a.track_id,
    song_id: m.song_id,
    artist_id: m.artist_id,
    artist_name: m.artist_name,
    title: m.title,
    release: m.release,
    year: b.year,
    duration: a.duration,
    key: a.key,
    key_confidence: a.key_confidence,
    loudness: a.loudness,
    mode: a.mode,
    mode_confidence: a.mode_confidence,
    tempo: a.tempo,
    time_signature: a.time_signature,
    time_signature_confidence: a.time_signature_confidence,
    end_of_fade_in: a.end_of_fade_in,
    start_of_fade_out: a.start_of_fade_out,
    artist_familiarity: m.artist_familiarity,
    artist_hotttnesss: m.artist_hotttnesss,
    song_hotttnesss: m.song_hotttnesss,
    artist_latitude: m.artist_latitude,
    artist_longitude: m.artist_longitude,
  };
  for (const i of COEFFICIENTS) row[`timbre_mean_${i}`] = timbre.mean[i] as number;
  for (const i of COEFFICIENTS) row[`timbre_std_${i}`] = timbre.std[i] as number;
  for (const i of COEFFICIENTS) row[`pitch_mean_${i}`] = pitch.mean[i] as number;
  for (const i of COEFFICIENTS) row[`pitch_std_${i}`] = pitch.std[i] as number;
  row.segment_loudness_max_mean = loudnessMax.mean;
  row.segment_loudness_max_std = loudnessMax.std;
  row.segment_loudness_max_peak = loudnessMax.max;
  row.segment_loudness_start_mean = stats(a.segments_loudness_start).mean;
  row.segment_loudness_max_time_mean = stats(a.segments_loudness_max_time).mean;
  row.segment_confidence_mean = stats(a.segments_confidence).mean;
  row.segments_per_second = segments / a.duration;
  row.beats_per_second = a.beats_start.length / a.duration;
  row.bars_per_second = a.bars_start.length / a.duration;
  row.sections_per_minute = (a.sections_start.length * 60) / a.duration;
  row.genres = genresFromTerms(
    m.artist_terms,
    m.artist_terms_weight,
    options.vocabulary,
    options.minTermWeight,
  );
  return { row };
}

interface Stats {
  mean: number;
  std: number;
  max: number;
}

/** Mean, population standard deviation (as numpy's default) and maximum; NaN when empty. */
export function stats(values: Float64Array): Stats {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, max: Number.NaN };
  let sum = 0;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    sum += v;
    if (v > max) max = v;
  }
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - mean;
    squares += d * d;
  }
  return { mean, std: Math.sqrt(squares / n), max };
}

/** Per-column mean and population standard deviation of a row-major matrix. */
export function columnStats(matrix: Matrix): { mean: Float64Array; std: Float64Array } {
  const { rows, columns, data } = matrix;
  const mean = new Float64Array(columns);
  const std = new Float64Array(columns);
  const end = rows * columns;
  // One column at a time with the sum in a local: rows are added in the same order as a
  // row-by-row pass would, so the results are the same to the last bit, only faster.
  for (let c = 0; c < columns; c++) {
    let sum = 0;
    for (let i = c; i < end; i += columns) sum += data[i] as number;
    const m = sum / rows;
    let squares = 0;
    for (let i = c; i < end; i += columns) {
      const d = (data[i] as number) - m;
      squares += d * d;
    }
    mean[c] = m;
    std[c] = Math.sqrt(squares / rows);
  }
  return { mean, std };
}
