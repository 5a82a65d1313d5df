// Synthetic tracks bent into the edge cases the real MSD has: a track with no segments.
import { generateTrack } from "../../src/msd/synth.ts";
import type { Matrix, Track } from "../../src/msd/track.ts";

export const NO_SEGMENT_ROWS: Matrix = { rows: 0, columns: 12, data: new Float64Array(0) };

/** Track `index` of the synthetic catalogue for `seed`, with every per-segment array emptied. */
export function trackWithoutSegments(seed: number, index: number): Track {
  const track = generateTrack(seed, index);
  const empty = new Float64Array(0);
  Object.assign(track.analysis, {
    segments_start: empty,
    segments_confidence: empty,
    segments_loudness_start: empty,
    segments_loudness_max: empty,
    segments_loudness_max_time: empty,
    segments_timbre: NO_SEGMENT_ROWS,
    segments_pitches: NO_SEGMENT_ROWS,
  });
  return track;
}
