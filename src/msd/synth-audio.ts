// The synthetic MSD's audio: a track's levels, key, metre and timbre drawn around its voice
// (the plan), then its analysis arrays (segments with loudness, timbre and pitches; beats,
// tatums, bars and sections with their confidences) drawn in a production style. The trend for
// new releases is another style and shifted levels, drawn from a stream of its own.
import type { AudioProfile } from "./genres.ts";
import type { Random } from "./random.ts";
import type { Matrix, Track } from "./track.ts";

/**
 * A shift in production style for new releases. At strength 1: tempo ×1.15, loudness +3 dB,
 * segment loudness and timbre less spread (compression, uniform production), timbre brighter
 * and sharper (several coefficients about half a between-track standard deviation off, so
 * that genres stay apart), a flatter pitch profile, more segments per second and clearer
 * onsets. Strength 0 changes nothing; effects grow with strength, up to physical ceilings.
 */
export interface SubsetTrend {
  fromYear: number;
  strength: number;
}

/** Whether a track of this release year (0: unknown) follows the trend. */
export function followsTrend(year: number, trend: SubsetTrend): boolean {
  return year > 0 && year >= trend.fromYear && trend.strength > 0;
}

/** Between-track standard deviation of each timbre coefficient. */
export const TIMBRE_SD = [6, 45, 35, 28, 22, 18, 16, 14, 13, 12, 11, 10];
const METERS = [1, 3, 4, 5, 7];
const MAJOR_SCALE = [0, 2, 4, 5, 7, 9, 11];
const MINOR_SCALE = [0, 2, 3, 5, 7, 8, 10];

/** The sound a performer's tracks vary around (an artist's, in the catalogue). */
export interface Voice {
  readonly profile: AudioProfile;
  readonly tempoShift: number;
  readonly loudnessShift: number;
  /** Mean timbre coefficients. */
  readonly timbreMean: Float64Array;
}

/** What a track's audio arrays are drawn from. */
export interface SoundPlan {
  tempo: number;
  loudness: number;
  duration: number;
  key: number;
  mode: number;
  timeSignature: number;
  endOfFadeIn: number;
  startOfFadeOut: number;
  segmentRate: number;
  tonality: number;
  timbreMean: Float64Array;
  fewSegments: boolean;
}

/** How segments are drawn around a track's levels; CATALOGUE_STYLE is the catalogue's own. */
export interface ProductionStyle {
  /** Scales the spread of segment loudness peaks and the depth of their attacks. */
  dynamics: number;
  /** Scales the spread of timbre from segment to segment. */
  timbreSpread: number;
  /** Lifts every pitch class toward the strongest: 0 keeps the chroma as drawn, 1 flattens it. */
  pitchFloor: number;
  /** Added to the mean onset confidence of segments. */
  confidenceGain: number;
}

export const CATALOGUE_STYLE: ProductionStyle = {
  dynamics: 1,
  timbreSpread: 1,
  pitchFloor: 0,
  confidenceGain: 0,
};

/**
 * The trend's shift of timbre means at strength 1, about half a between-track standard
 * deviation on coefficients 1–7: brighter, noisier, sharper attacks, a changed spectral shape.
 */
const TREND_TIMBRE_SHIFT = [0, 12, 7, 8, -5, 3.5, -4, 5, 0, 0, 0, 0];
/** [cumulative probability, value], in increasing order; a repeated probability is a jump. */
type Quantile = readonly [number, number];
type Quantiles = readonly Quantile[];

/** Share of tracks whose fade-in ends at 0 s, as in the real subset. */
const NO_FADE_IN = 0.31;
/**
 * The real subset's end_of_fade_in where it is above 0, as [cumulative probability, seconds]:
 * mostly a fraction of a second, a fifth of them a real fade of 2 to 9 s.
 */
const FADE_IN_QUANTILES: Quantiles = [
  [0, 0.06],
  [0.1, 0.125],
  [0.2, 0.166],
  [0.3, 0.206],
  [0.4, 0.264],
  [0.5, 0.328],
  [0.6, 0.386],
  [0.7, 0.514],
  [0.74, 0.68],
  [0.76, 0.91],
  [0.78, 1.08],
  [0.8, 2.04],
  [0.85, 2.45],
  [0.9, 3.17],
  [0.95, 4.57],
  [0.98, 7.09],
  [0.99, 8.91],
  [0.999, 19.7],
  [1, 43.1],
];
/**
 * The real subset's duration − start_of_fade_out in seconds: 0 (the fade-out "starts" at the
 * end) for 11% of tracks, otherwise 2 s or more, 7.6 s at the median.
 */
const FADE_OUT_TAIL_QUANTILES: Quantiles = [
  [0, 0],
  [0.109, 0],
  [0.109, 2],
  [0.15, 2.98],
  [0.2, 3.73],
  [0.3, 5.04],
  [0.4, 6.34],
  [0.5, 7.58],
  [0.6, 9.02],
  [0.7, 10.62],
  [0.8, 12.68],
  [0.9, 16.16],
  [0.95, 19.8],
  [0.98, 25.39],
  [0.99, 32],
  [0.999, 54.45],
  [1, 123.34],
];

/** The value at cumulative probability `u` of a distribution given by quantiles, linear between. */
function fromQuantiles(quantiles: Quantiles, u: number): number {
  let i = 0;
  while (i + 2 < quantiles.length && (quantiles[i + 1] as Quantile)[0] <= u) i++;
  const [p0, v0] = quantiles[i] as Quantile;
  const [p1, v1] = quantiles[i + 1] as Quantile;
  return p1 > p0 ? v0 + ((v1 - v0) * (u - p0)) / (p1 - p0) : v1;
}

/** The analyser's ceiling on reported tempo and the loudest a master gets, in dB. */
const MAX_TEMPO = 250;
const MAX_LOUDNESS = -0.5;

/** Draws a track's levels, key, metre, length, fades and timbre around its voice. */
export function drawSoundPlan(random: Random, voice: Voice, fewSegments: boolean): SoundPlan {
  const { profile } = voice;
  const trueTempo = clamp(
    random.normal(profile.tempo[0] + voice.tempoShift, profile.tempo[1] * 0.8),
    50,
    225,
  );
  const octaveError = random.chance(0.1) ? (trueTempo < 110 ? 2 : 0.5) : 1;
  const tempo = round(trueTempo * octaveError, 3);
  const loudness = round(
    clamp(
      random.normal(profile.loudness[0] + voice.loudnessShift, profile.loudness[1] * 0.7),
      -40,
      -0.5,
    ),
    3,
  );
  const mode = random.chance(profile.major) ? 1 : 0;
  const key = random.int(12);
  const duration = round(
    fewSegments
      ? random.uniform(1.5, 6)
      : clamp(profile.duration[0] * Math.exp(random.normal(0, profile.duration[1])), 30, 1500),
    5,
  );
  const timeSignature = METERS[random.weighted(profile.meter)] as number;
  const endOfFadeIn = round(
    random.chance(NO_FADE_IN)
      ? 0
      : Math.min(fromQuantiles(FADE_IN_QUANTILES, random.next()), duration / 4),
    3,
  );
  const tail = fromQuantiles(FADE_OUT_TAIL_QUANTILES, random.next());
  const startOfFadeOut = round(Math.max(endOfFadeIn, duration - tail), 3);
  const { segmentRate, tonality } = profile;
  const timbreMean = voice.timbreMean.map(
    (mean, c) => mean + random.normal(0, (TIMBRE_SD[c] as number) / 10),
  );

  return {
    tempo,
    loudness,
    duration,
    key,
    mode,
    timeSignature,
    endOfFadeIn,
    startOfFadeOut,
    segmentRate,
    tonality,
    timbreMean,
    fewSegments,
  };
}

type SoundArrays = Pick<
  Track["analysis"],
  | "bars_confidence"
  | "bars_start"
  | "beats_confidence"
  | "beats_start"
  | "sections_confidence"
  | "sections_start"
  | "segments_confidence"
  | "segments_loudness_max"
  | "segments_loudness_max_time"
  | "segments_loudness_start"
  | "segments_pitches"
  | "segments_start"
  | "segments_timbre"
  | "tatums_confidence"
  | "tatums_start"
>;

/** The analysis arrays of a drawn sound, with the confidences of its beat grid drawn now. */
export function soundArrays(random: Random, sound: Sound, tonality: number): SoundArrays {
  const { segments, beatsStart, tatumsStart, barsStart, sectionsStart } = sound;
  const beatRegularity = 1 - 0.6 * tonality;
  return {
    bars_confidence: confidenceArray(random, barsStart.length, 0.3 * beatRegularity + 0.1),
    bars_start: barsStart,
    beats_confidence: confidenceArray(random, beatsStart.length, 0.7 * beatRegularity),
    beats_start: beatsStart,
    sections_confidence: confidenceArray(random, sectionsStart.length, 0.5),
    sections_start: sectionsStart,
    segments_confidence: segments.confidence,
    segments_loudness_max: segments.loudnessMax,
    segments_loudness_max_time: segments.loudnessMaxTime,
    segments_loudness_start: segments.loudnessStart,
    segments_pitches: segments.pitches,
    segments_start: segments.start,
    segments_timbre: segments.timbre,
    tatums_confidence: confidenceArray(random, tatumsStart.length, 0.6 * beatRegularity),
    tatums_start: tatumsStart,
  };
}

/**
 * The track as a new release following the trend: the same metadata, key, mode, metre and
 * duration, its audio drawn again from `random` (a stream of its own) in the new style.
 */
export function withTrend(track: Track, plan: SoundPlan, strength: number, random: Random): Track {
  const saturating = strength / (1 + strength);
  const tempo = round(Math.min(MAX_TEMPO, plan.tempo * (1 + 0.15 * strength)), 3);
  const loudness = round(Math.min(MAX_LOUDNESS, plan.loudness + 3 * strength), 3);
  const timbreMean = plan.timbreMean.map(
    (mean, c) => mean + strength * (TREND_TIMBRE_SHIFT[c] as number),
  );
  const style: ProductionStyle = {
    dynamics: 1 / (1 + 0.5 * strength),
    timbreSpread: 1 / (1 + 0.15 * strength),
    pitchFloor: 0.5 * saturating,
    confidenceGain: 0.15 * saturating,
  };
  const trended: SoundPlan = {
    ...plan,
    tempo,
    loudness,
    timbreMean,
    segmentRate: plan.segmentRate * (1 + 0.3 * strength),
  };
  return {
    ...track,
    analysis: {
      ...track.analysis,
      loudness,
      tempo,
      ...soundArrays(random, drawSound(random, trended, style), plan.tonality),
    },
  };
}

export type Sound = ReturnType<typeof drawSound>;

/** A track's segments, beats, tatums, bars and sections for a plan in a production style. */
export function drawSound(random: Random, plan: SoundPlan, style: ProductionStyle) {
  const { tempo, duration, timeSignature, endOfFadeIn, startOfFadeOut, fewSegments } = plan;
  const segments = makeSegments(random, plan, style);
  const beatsStart = makeBeats(random, tempo, endOfFadeIn, startOfFadeOut);
  const tatumsPerBeat = timeSignature === 3 || random.chance(0.1) ? 3 : 2;
  const tatumsStart = subdivide(beatsStart, tatumsPerBeat, 60 / tempo);
  const barPhase = random.int(Math.max(1, timeSignature));
  const barsStart = beatsStart.filter((_, b) => b % Math.max(1, timeSignature) === barPhase);
  const sectionsStart = makeSections(random, duration, fewSegments);
  return { segments, beatsStart, tatumsStart, barsStart, sectionsStart };
}

function confidenceArray(random: Random, count: number, mean: number): Float64Array {
  return Float64Array.from({ length: count }, () =>
    round(clamp(random.normal(mean, 0.22), 0, 1), 3),
  );
}

function makeSegments(random: Random, plan: SoundPlan, style: ProductionStyle) {
  const { duration, loudness, segmentRate, tonality, timbreMean, key, mode, fewSegments } = plan;
  const { dynamics, timbreSpread, pitchFloor, confidenceGain } = style;
  const starts: number[] = [];
  if (fewSegments) {
    for (let i = 0; i < 5; i++)
      starts.push(round((duration * i) / 5 + random.uniform(0, duration / 20), 5));
  } else {
    for (
      let t = 0;
      t < duration;
      t += clamp((0.35 + 0.65 * random.exponential(1)) / segmentRate, 0.04, 3)
    ) {
      starts.push(round(t, 5));
    }
  }
  const count = starts.length;
  const start = Float64Array.from(starts);
  const confidence = new Float64Array(count);
  const loudnessStart = new Float64Array(count);
  const loudnessMax = new Float64Array(count);
  const loudnessMaxTime = new Float64Array(count);
  const timbre = new Float64Array(count * 12);
  const pitches = new Float64Array(count * 12);

  const scale = mode === 1 ? MAJOR_SCALE : MINOR_SCALE;
  const template = new Float64Array(12).fill(0.12);
  scale.forEach((step, degree) => {
    template[(key + step) % 12] =
      degree === 0 ? 1 : degree === 4 ? 0.85 : degree === 2 ? 0.75 : 0.55;
  });

  for (let s = 0; s < count; s++) {
    const length = (s + 1 < count ? (start[s + 1] as number) : duration) - (start[s] as number);
    confidence[s] = round(clamp(random.normal(0.55 + confidenceGain, 0.3), 0, 1), 3);
    const peak = Math.min(0, loudness - 2 + random.normal(0, 3.5 * dynamics));
    loudnessMax[s] = round(peak, 3);
    loudnessStart[s] = round(Math.max(-60, peak - dynamics * Math.abs(random.normal(10, 5))), 3);
    loudnessMaxTime[s] = round(random.next() * Math.min(Math.max(length, 0), 0.12), 5);

    const row = s * 12;
    timbre[row] = round(
      clamp(55 + 1.05 * peak + random.normal(0, (TIMBRE_SD[0] as number) * timbreSpread), 0, 62),
      3,
    );
    for (let c = 1; c < 12; c++) {
      timbre[row + c] = round(
        (timbreMean[c] as number) + random.normal(0, (TIMBRE_SD[c] as number) * timbreSpread),
        3,
      );
    }

    const accent = (key + (scale[random.int(scale.length)] as number)) % 12;
    let largest = 0;
    for (let n = 0; n < 12; n++) {
      const tonal = (template[n] as number) * random.uniform(0.45, 1) + (n === accent ? 0.35 : 0);
      const value = tonality * tonal + (1 - tonality) * random.next();
      pitches[row + n] = value;
      if (value > largest) largest = value;
    }
    for (let n = 0; n < 12; n++) {
      const level = (pitches[row + n] as number) / largest;
      pitches[row + n] = round(pitchFloor + (1 - pitchFloor) * level, 3);
    }
  }
  const matrix = (data: Float64Array): Matrix => ({ rows: count, columns: 12, data });
  return {
    start,
    confidence,
    loudnessStart,
    loudnessMax,
    loudnessMaxTime,
    timbre: matrix(timbre),
    pitches: matrix(pitches),
  };
}

function makeBeats(random: Random, tempo: number, from: number, to: number): Float64Array {
  const period = 60 / tempo;
  const beats: number[] = [];
  for (
    let t = from + random.uniform(0, period);
    t < to;
    t += period * (1 + random.normal(0, 0.01))
  ) {
    beats.push(round(t, 5));
  }
  return Float64Array.from(beats);
}

function subdivide(beats: Float64Array, parts: number, period: number): Float64Array {
  const out = new Float64Array(beats.length * parts);
  beats.forEach((beat, b) => {
    const next = b + 1 < beats.length ? (beats[b + 1] as number) : beat + period;
    for (let p = 0; p < parts; p++)
      out[b * parts + p] = round(beat + ((next - beat) * p) / parts, 5);
  });
  return out;
}

function makeSections(random: Random, duration: number, fewSegments: boolean): Float64Array {
  if (fewSegments) return Float64Array.of(0);
  const count = Math.max(1, Math.round(duration / random.uniform(18, 32)));
  const starts = Array.from({ length: count - 1 }, () =>
    round(random.uniform(0.05, 0.97) * duration, 5),
  );
  return Float64Array.from([0, ...starts.sort((a, b) => a - b)]);
}

export function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

export function round(value: number, decimals: 3 | 5): number {
  return decimals === 3 ? Math.round(value * 1_000) / 1_000 : Math.round(value * 100_000) / 100_000;
}
