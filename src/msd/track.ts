// The shape of one Million Song Dataset track, and the lists of fields and arrays of the MSD
// per-track HDF5 layout (/metadata, /analysis, /musicbrainz) that the reader and the
// synthetic writer share. Names are the MSD's own, so they match its documentation.

export type FieldKind = "string" | "int32" | "float64";

export interface FieldSpec {
  readonly name: string;
  readonly kind: FieldKind;
  /** Length in bytes of a fixed-length string field. */
  readonly bytes?: number;
}

/** Columns of the compound table /metadata/songs, in file order. */
export const METADATA_SONGS_FIELDS = [
  { name: "analyzer_version", kind: "string", bytes: 32 },
  { name: "artist_7digitalid", kind: "int32" },
  { name: "artist_familiarity", kind: "float64" },
  { name: "artist_hotttnesss", kind: "float64" },
  { name: "artist_id", kind: "string", bytes: 32 },
  { name: "artist_latitude", kind: "float64" },
  { name: "artist_location", kind: "string", bytes: 1024 },
  { name: "artist_longitude", kind: "float64" },
  { name: "artist_mbid", kind: "string", bytes: 40 },
  { name: "artist_name", kind: "string", bytes: 1024 },
  { name: "artist_playmeid", kind: "int32" },
  { name: "genre", kind: "string", bytes: 1024 },
  { name: "idx_artist_terms", kind: "int32" },
  { name: "idx_similar_artists", kind: "int32" },
  { name: "release", kind: "string", bytes: 1024 },
  { name: "release_7digitalid", kind: "int32" },
  { name: "song_hotttnesss", kind: "float64" },
  { name: "song_id", kind: "string", bytes: 32 },
  { name: "title", kind: "string", bytes: 1024 },
  { name: "track_7digitalid", kind: "int32" },
] as const satisfies readonly FieldSpec[];

/** Columns of the compound table /analysis/songs, in file order. */
export const ANALYSIS_SONGS_FIELDS = [
  { name: "analysis_sample_rate", kind: "int32" },
  { name: "audio_md5", kind: "string", bytes: 32 },
  { name: "danceability", kind: "float64" },
  { name: "duration", kind: "float64" },
  { name: "end_of_fade_in", kind: "float64" },
  { name: "energy", kind: "float64" },
  { name: "idx_bars_confidence", kind: "int32" },
  { name: "idx_bars_start", kind: "int32" },
  { name: "idx_beats_confidence", kind: "int32" },
  { name: "idx_beats_start", kind: "int32" },
  { name: "idx_sections_confidence", kind: "int32" },
  { name: "idx_sections_start", kind: "int32" },
  { name: "idx_segments_confidence", kind: "int32" },
  { name: "idx_segments_loudness_max", kind: "int32" },
  { name: "idx_segments_loudness_max_time", kind: "int32" },
  { name: "idx_segments_loudness_start", kind: "int32" },
  { name: "idx_segments_pitches", kind: "int32" },
  { name: "idx_segments_start", kind: "int32" },
  { name: "idx_segments_timbre", kind: "int32" },
  { name: "idx_tatums_confidence", kind: "int32" },
  { name: "idx_tatums_start", kind: "int32" },
  { name: "key", kind: "int32" },
  { name: "key_confidence", kind: "float64" },
  { name: "loudness", kind: "float64" },
  { name: "mode", kind: "int32" },
  { name: "mode_confidence", kind: "float64" },
  { name: "start_of_fade_out", kind: "float64" },
  { name: "tempo", kind: "float64" },
  { name: "time_signature", kind: "int32" },
  { name: "time_signature_confidence", kind: "float64" },
  { name: "track_id", kind: "string", bytes: 32 },
] as const satisfies readonly FieldSpec[];

/** Columns of the compound table /musicbrainz/songs, in file order. */
export const MUSICBRAINZ_SONGS_FIELDS = [
  { name: "idx_artist_mbtags", kind: "int32" },
  { name: "year", kind: "int32" },
] as const satisfies readonly FieldSpec[];

type ValueOfKind<K extends FieldKind> = K extends "string" ? string : number;
type RowOf<Fields extends readonly FieldSpec[]> = {
  -readonly [F in Fields[number] as F["name"]]: ValueOfKind<F["kind"]>;
};

export type MetadataSongs = RowOf<typeof METADATA_SONGS_FIELDS>;
export type AnalysisSongs = RowOf<typeof ANALYSIS_SONGS_FIELDS>;
export type MusicbrainzSongs = RowOf<typeof MUSICBRAINZ_SONGS_FIELDS>;

export type Group = "metadata" | "analysis" | "musicbrainz";

export interface ArraySpec {
  readonly group: Group;
  readonly name: string;
  readonly kind: FieldKind;
  /** Length in bytes of each fixed-length string. */
  readonly bytes?: number;
  /** 12 for the per-segment timbre and pitch vectors (N×12); absent for 1-D arrays. */
  readonly columns?: number;
  /** The column of the group's songs table holding each song's offset into this array. */
  readonly index: string;
  /** Chunk shape of the real files (PyTables' choice), reused by the writer. */
  readonly chunk: number;
}

/** Every per-track array dataset, grouped as in the file, in file order within each group. */
export const TRACK_ARRAYS = [
  {
    group: "metadata",
    name: "artist_terms",
    kind: "string",
    bytes: 256,
    index: "idx_artist_terms",
    chunk: 32,
  },
  {
    group: "metadata",
    name: "artist_terms_freq",
    kind: "float64",
    index: "idx_artist_terms",
    chunk: 1024,
  },
  {
    group: "metadata",
    name: "artist_terms_weight",
    kind: "float64",
    index: "idx_artist_terms",
    chunk: 1024,
  },
  {
    group: "metadata",
    name: "similar_artists",
    kind: "string",
    bytes: 20,
    index: "idx_similar_artists",
    chunk: 409,
  },
  {
    group: "analysis",
    name: "bars_confidence",
    kind: "float64",
    index: "idx_bars_confidence",
    chunk: 1024,
  },
  { group: "analysis", name: "bars_start", kind: "float64", index: "idx_bars_start", chunk: 1024 },
  {
    group: "analysis",
    name: "beats_confidence",
    kind: "float64",
    index: "idx_beats_confidence",
    chunk: 1024,
  },
  {
    group: "analysis",
    name: "beats_start",
    kind: "float64",
    index: "idx_beats_start",
    chunk: 1024,
  },
  {
    group: "analysis",
    name: "sections_confidence",
    kind: "float64",
    index: "idx_sections_confidence",
    chunk: 1024,
  },
  {
    group: "analysis",
    name: "sections_start",
    kind: "float64",
    index: "idx_sections_start",
    chunk: 1024,
  },
  {
    group: "analysis",
    name: "segments_confidence",
    kind: "float64",
    index: "idx_segments_confidence",
    chunk: 1024,
  },
  {
    group: "analysis",
    name: "segments_loudness_max",
    kind: "float64",
    index: "idx_segments_loudness_max",
    chunk: 1024,
  },
  {
    group: "analysis",
    name: "segments_loudness_max_time",
    kind: "float64",
    index: "idx_segments_loudness_max_time",
    chunk: 1024,
  },
  {
    group: "analysis",
    name: "segments_loudness_start",
    kind: "float64",
    index: "idx_segments_loudness_start",
    chunk: 1024,
  },
  {
    group: "analysis",
    name: "segments_pitches",
    kind: "float64",
    columns: 12,
    index: "idx_segments_pitches",
    chunk: 85,
  },
  {
    group: "analysis",
    name: "segments_start",
    kind: "float64",
    index: "idx_segments_start",
    chunk: 1024,
  },
  {
    group: "analysis",
    name: "segments_timbre",
    kind: "float64",
    columns: 12,
    index: "idx_segments_timbre",
    chunk: 85,
  },
  {
    group: "analysis",
    name: "tatums_confidence",
    kind: "float64",
    index: "idx_tatums_confidence",
    chunk: 1024,
  },
  {
    group: "analysis",
    name: "tatums_start",
    kind: "float64",
    index: "idx_tatums_start",
    chunk: 1024,
  },
  {
    group: "musicbrainz",
    name: "artist_mbtags",
    kind: "string",
    bytes: 256,
    index: "idx_artist_mbtags",
    chunk: 32,
  },
  {
    group: "musicbrainz",
    name: "artist_mbtags_count",
    kind: "int32",
    index: "idx_artist_mbtags",
    chunk: 2048,
  },
] as const satisfies readonly ArraySpec[];

/** The songs table of each group, with its columns. */
export const SONGS_TABLES = [
  { group: "metadata", fields: METADATA_SONGS_FIELDS, chunk: 3 },
  { group: "analysis", fields: ANALYSIS_SONGS_FIELDS, chunk: 37 },
  { group: "musicbrainz", fields: MUSICBRAINZ_SONGS_FIELDS, chunk: 1024 },
] as const satisfies readonly { group: Group; fields: readonly FieldSpec[]; chunk: number }[];

/** A row-major N×columns matrix of float64 (segments_timbre and segments_pitches: N×12). */
export interface Matrix {
  readonly rows: number;
  readonly columns: number;
  readonly data: Float64Array;
}

export interface MetadataArrays {
  artist_terms: string[];
  artist_terms_freq: Float64Array;
  artist_terms_weight: Float64Array;
  similar_artists: string[];
}

export interface AnalysisArrays {
  bars_confidence: Float64Array;
  bars_start: Float64Array;
  beats_confidence: Float64Array;
  beats_start: Float64Array;
  sections_confidence: Float64Array;
  sections_start: Float64Array;
  segments_confidence: Float64Array;
  segments_loudness_max: Float64Array;
  segments_loudness_max_time: Float64Array;
  segments_loudness_start: Float64Array;
  segments_pitches: Matrix;
  segments_start: Float64Array;
  segments_timbre: Matrix;
  tatums_confidence: Float64Array;
  tatums_start: Float64Array;
}

export interface MusicbrainzArrays {
  artist_mbtags: string[];
  artist_mbtags_count: Int32Array;
}

/**
 * One track: each group holds the fields of its one-row songs table and its arrays. The idx_*
 * fields are kept as read (0 in a single-track file, offsets in an aggregate file); the writer
 * recomputes them.
 */
export interface Track {
  metadata: MetadataSongs & MetadataArrays;
  analysis: AnalysisSongs & AnalysisArrays;
  musicbrainz: MusicbrainzSongs & MusicbrainzArrays;
}

/** Where a track's file lives in the MSD folder layout: A/B/C/<id>.h5 from letters 3–5 of the id. */
export function trackRelativePath(trackId: string): string {
  if (!/^TR[A-Z0-9]{16}$/.test(trackId)) {
    throw new Error(`not an MSD track id (TR + 16 letters or digits): ${JSON.stringify(trackId)}`);
  }
  return `${trackId[2]}/${trackId[3]}/${trackId[4]}/${trackId}.h5`;
}
