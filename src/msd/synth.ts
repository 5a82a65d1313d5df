// Generates a synthetic Million Song Dataset subset: real HDF5 files in the MSD layout and
// folder naming, deterministic for a seed. Artists belong to one or two genre families, carry
// Echo Nest style terms (genres mixed with places, decades and descriptors, with freq and
// weight) and several tracks each; a track's tempo, loudness, key, mode, duration, metre,
// timbre and pitch vectors follow its artist's genres, so genres can be learned from audio.
// It keeps the real data's quirks: about half the years unknown (0), danceability and energy
// always 0, some tempos off by an octave, some unknown coordinates and hotttnesss (NaN), a few
// artists without terms and a few tracks with only five segments. Optionally the newest
// releases follow a trend in production style (faster, louder, compressed, brighter, denser,
// less tonal), drawn from a stream of their own so that every other track stays the same.
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { startWorker } from "../common/worker-pool.ts";
import {
  type AudioProfile,
  DECADE_TERMS,
  DESCRIPTOR_TERMS,
  GENRE_FAMILIES,
  type GenreFamily,
  PLACES,
  type Place,
} from "./genres.ts";
import { deriveSeed, Random } from "./random.ts";
import { type Matrix, type Track, trackRelativePath } from "./track.ts";
import {
  ADJECTIVES,
  FIRST_NAMES,
  LAST_NAMES,
  NOUNS,
  TITLE_SUFFIXES,
  TITLE_WORDS,
} from "./words.ts";
import { createTrackWriter } from "./writer.ts";

export interface SubsetOptions {
  /** Number of tracks (files) to write. */
  tracks: number;
  /** Folder receiving data/A/B/C/<TRACK_ID>.h5. */
  outDir: string;
  seed: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * Worker threads writing in parallel (each with its own HDF5 module); 1 writes in this
   * thread. The files are the same whatever the count. Default: one per CPU, up to 8, for
   * subsets of 200 tracks or more.
   */
  workers?: number;
  /** Deflate the datasets: smaller files (like the real ones), written about twice as slowly. */
  compress?: boolean;
  /** Tracks released in `fromYear` or later (year known) follow a trend in production style. */
  trend?: SubsetTrend;
}

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

export interface SubsetSummary {
  tracks: number;
  artists: number;
  /** Paths of the written files, in track order. */
  files: string[];
  /** Tracks per release year, "0" being unknown, in the order of years. */
  years: Record<string, number>;
  /** Tracks that follow the trend (0 without one). */
  trendTracks: number;
}

/** Writes `tracks` synthetic MSD track files under `outDir/data`, deterministically for `seed`. */
export async function generateSubset(options: SubsetOptions): Promise<SubsetSummary> {
  const { tracks, outDir, seed, onProgress } = options;
  if (!Number.isInteger(tracks) || tracks < 0) {
    throw new RangeError(`tracks must be a whole number ≥ 0, got ${tracks}`);
  }
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const { trend } = options;
  if (trend !== undefined) {
    if (!Number.isInteger(trend.fromYear)) {
      throw new RangeError(`trend.fromYear must be a whole number, got ${trend.fromYear}`);
    }
    if (!Number.isFinite(trend.strength) || trend.strength < 0) {
      throw new RangeError(`trend.strength must be a finite number ≥ 0, got ${trend.strength}`);
    }
  }
  const workers = Math.max(
    1,
    Math.min(tracks, options.workers ?? (tracks < 200 ? 1 : Math.min(8, availableParallelism()))),
  );
  const files = new Array<string>(tracks);
  const yearCounts = new Map<number, number>();
  let trendTracks = 0;
  let done = 0;
  const record = (written: readonly WrittenTrack[]) => {
    for (const { index, file, year } of written) {
      files[index] = file;
      yearCounts.set(year, (yearCounts.get(year) ?? 0) + 1);
      if (trend !== undefined && followsTrend(year, trend)) trendTracks++;
    }
    done += written.length;
    onProgress?.(done, tracks);
  };
  const compress = options.compress ?? false;
  const ranges = Array.from({ length: workers }, (_, w) => ({
    seed,
    outDir,
    compress,
    trend,
    start: Math.floor((tracks * w) / workers),
    end: Math.floor((tracks * (w + 1)) / workers),
  }));
  if (workers === 1) await writeTrackRange(ranges[0] as TrackRange, record);
  else await runWorkers(ranges, record);
  const artists = tracks === 0 ? 0 : new SyntheticCatalog(seed).artistOfTrack(tracks - 1) + 1;
  const years: Record<string, number> = {};
  for (const year of [...yearCounts.keys()].sort((a, b) => a - b)) {
    years[String(year)] = yearCounts.get(year) as number;
  }
  return { tracks, artists, files, years, trendTracks };
}

export interface TrackRange {
  seed: number;
  outDir: string;
  compress: boolean;
  trend?: SubsetTrend | undefined;
  /** First track index. */
  start: number;
  /** One past the last track index. */
  end: number;
}

export interface WrittenTrack {
  index: number;
  file: string;
  /** Release year, 0 when unknown. */
  year: number;
}

/** Writes tracks [start, end) of a subset, reporting them in small batches. */
export async function writeTrackRange(
  range: TrackRange,
  report: (written: WrittenTrack[]) => void,
): Promise<void> {
  const writer = await createTrackWriter({ compress: range.compress });
  const catalog = new SyntheticCatalog(range.seed);
  let batch: WrittenTrack[] = [];
  for (let index = range.start; index < range.end; index++) {
    const track = catalog.track(index, range.trend);
    const file = join(range.outDir, "data", trackRelativePath(track.analysis.track_id));
    writer.write(file, track);
    batch.push({ index, file, year: track.musicbrainz.year });
    if (batch.length === 32 || index + 1 === range.end) {
      report(batch);
      batch = [];
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

function runWorkers(ranges: TrackRange[], record: (written: WrittenTrack[]) => void) {
  const running: Worker[] = [];
  return new Promise<void>((resolve, reject) => {
    let finished = 0;
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      for (const worker of running) void worker.terminate();
      reject(error);
    };
    for (const range of ranges) {
      const worker = startWorker(import.meta.url, "synth-worker", { range });
      running.push(worker);
      worker.on("message", (written: WrittenTrack[]) => record(written));
      worker.on("error", fail);
      worker.on("exit", (code) => {
        if (code !== 0) {
          fail(
            new Error(
              `synthetic MSD worker for tracks ${range.start}–${range.end} exited with code ${code}`,
            ),
          );
        } else if (++finished === ranges.length && !failed) {
          resolve();
        }
      });
    }
  });
}

const catalogs = new Map<number, SyntheticCatalog>();

/** Track number `index` of the synthetic subset for `seed`, in memory (as generateSubset writes it). */
export function generateTrack(seed: number, index: number, trend?: SubsetTrend): Track {
  let catalog = catalogs.get(seed);
  if (catalog === undefined) {
    if (catalogs.size > 16) catalogs.clear();
    catalog = new SyntheticCatalog(seed);
    catalogs.set(seed, catalog);
  }
  return catalog.track(index, trend);
}

/** Whether a track of this release year (0: unknown) follows the trend. */
export function followsTrend(year: number, trend: SubsetTrend): boolean {
  return year > 0 && year >= trend.fromYear && trend.strength > 0;
}

interface FamilyShare {
  readonly family: GenreFamily;
  readonly familyIndex: number;
  readonly weight: number;
}

interface Release {
  readonly name: string;
  readonly digitalId: number;
}

interface SyntheticArtist {
  readonly index: number;
  readonly id: string;
  readonly name: string;
  readonly mbid: string;
  readonly digitalId: number;
  readonly playmeId: number;
  readonly familiarity: number;
  readonly hotttnesss: number;
  readonly place: Place | undefined;
  readonly hasCoordinates: boolean;
  readonly families: readonly FamilyShare[];
  /** The families' audio profiles mixed by their weights. */
  readonly profile: AudioProfile;
  /** The families' mean timbre mixed, plus the artist's own shift. */
  readonly timbreMean: Float64Array;
  readonly era: number;
  readonly terms: string[];
  readonly termsFreq: Float64Array;
  readonly termsWeight: Float64Array;
  readonly similar: string[];
  readonly mbtags: string[];
  readonly mbtagsCount: Int32Array;
  readonly releases: readonly Release[];
  readonly tempoShift: number;
  readonly loudnessShift: number;
}

const TIMBRE_SD = [6, 45, 35, 28, 22, 18, 16, 14, 13, 12, 11, 10];
const METERS = [1, 3, 4, 5, 7];
const MAJOR_SCALE = [0, 2, 4, 5, 7, 9, 11];
const MINOR_SCALE = [0, 2, 3, 5, 7, 8, 10];
const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const HEX = "0123456789ABCDEF";
const TRACK_LETTER_SPACE = 26 ** 5;
/** Odd and not a multiple of 13, so index ↦ (index·K + offset) mod 26⁵ is a bijection. */
const TRACK_LETTER_MULTIPLIER = 1_000_003;
const FEW_SEGMENTS_PERIOD = 487;

/** Mean timbre of each family: its brightness, flatness and attack, then fixed offsets. */
const FAMILY_TIMBRE: readonly Float64Array[] = GENRE_FAMILIES.map((family, f) => {
  const random = new Random(deriveSeed(0, "family-timbre", f));
  const means = Float64Array.from({ length: 12 }, () => random.normal(0, 12));
  means.set([0, family.profile.brightness, family.profile.flatness, family.profile.attack]);
  return means;
});

const FAMILY_SHARES = GENRE_FAMILIES.map((f) => f.profile.share);
const FAMILY_BY_NAME = new Map(GENRE_FAMILIES.map((f, i) => [f.name, i]));

class SyntheticCatalog {
  /** artistStarts[k] is the index of artist k's first track. */
  private readonly artistStarts: number[] = [0];
  private readonly artists = new Map<number, SyntheticArtist>();

  constructor(private readonly seed: number) {}

  artistOfTrack(index: number): number {
    while ((this.artistStarts.at(-1) as number) <= index) {
      const k = this.artistStarts.length - 1;
      const random = new Random(deriveSeed(this.seed, "artist-size", k));
      const size = 1 + Math.min(24, Math.floor(random.exponential(2.6)));
      this.artistStarts.push((this.artistStarts[k] as number) + size);
    }
    let low = 0;
    let high = this.artistStarts.length - 1;
    while (high - low > 1) {
      const middle = (low + high) >> 1;
      if ((this.artistStarts[middle] as number) <= index) low = middle;
      else high = middle;
    }
    return low;
  }

  artist(k: number): SyntheticArtist {
    let artist = this.artists.get(k);
    if (artist === undefined) {
      if (this.artists.size > 64) this.artists.clear();
      artist = makeArtist(this.seed, k);
      this.artists.set(k, artist);
    }
    return artist;
  }

  track(index: number, trend?: SubsetTrend): Track {
    if (!Number.isInteger(index) || index < 0) {
      throw new RangeError(`track index must be a whole number ≥ 0, got ${index}`);
    }
    return makeTrack(this.seed, index, this.artist(this.artistOfTrack(index)), trend);
  }
}

function code(random: Random, alphabet: string, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[random.int(alphabet.length)];
  return out;
}

function artistId(seed: number, k: number): string {
  const random = new Random(deriveSeed(seed, "artist-id", k));
  return `AR${code(random, ALPHANUMERIC, 5)}1187${random.pick(["B", "F"])}${code(random, HEX, 6)}`;
}

function trackId(seed: number, index: number, random: Random): string {
  const offset = deriveSeed(seed, "track-letters") % TRACK_LETTER_SPACE;
  let n =
    ((((index % TRACK_LETTER_SPACE) * TRACK_LETTER_MULTIPLIER) % TRACK_LETTER_SPACE) + offset) %
    TRACK_LETTER_SPACE;
  let letters = "";
  for (let i = 0; i < 5; i++) {
    letters = LETTERS[n % 26] + letters;
    n = Math.floor(n / 26);
  }
  const tail = random.chance(0.7) ? `128F${code(random, HEX, 7)}` : `12903${code(random, HEX, 6)}`;
  return `TR${letters}${tail}`;
}

function uuid(random: Random): string {
  const hex = code(random, "0123456789abcdef", 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${"89ab"[random.int(4)]}${hex.slice(17, 20)}-${hex.slice(20)}`;
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

function round(value: number, decimals: 3 | 5): number {
  return decimals === 3 ? Math.round(value * 1_000) / 1_000 : Math.round(value * 100_000) / 100_000;
}

function artistName(random: Random): string {
  switch (random.int(7)) {
    case 0:
    case 1:
      return `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)}`;
    case 2:
      return `The ${random.pick(ADJECTIVES)} ${random.pick(NOUNS)}`;
    case 3:
      return `${random.pick(ADJECTIVES)} ${random.pick(NOUNS)}`;
    case 4:
      return `${random.pick(["DJ", "MC", "Lil", "Big"])} ${random.pick(NOUNS)}`;
    case 5:
      return `${random.pick(FIRST_NAMES)} ${random.pick(LAST_NAMES)} & The ${random.pick(NOUNS)}`;
    default:
      return `${random.pick(NOUNS)} of ${random.pick(NOUNS)}`;
  }
}

function titleCase(words: string[]): string {
  return words.map((w) => w[0]?.toUpperCase() + w.slice(1)).join(" ");
}

function phrase(random: Random, min: number, max: number): string {
  const count = min + random.int(max - min + 1);
  return titleCase(Array.from({ length: count }, () => random.pick(TITLE_WORDS)));
}

function chooseFamilies(random: Random): FamilyShare[] {
  const primaryIndex = random.weighted(FAMILY_SHARES);
  const primary = GENRE_FAMILIES[primaryIndex] as GenreFamily;
  if (!random.chance(0.45)) return [{ family: primary, familyIndex: primaryIndex, weight: 1 }];
  const secondaryIndex = random.chance(0.8)
    ? (FAMILY_BY_NAME.get(random.pick(primary.neighbours)) as number)
    : random.weighted(FAMILY_SHARES);
  if (secondaryIndex === primaryIndex) {
    return [{ family: primary, familyIndex: primaryIndex, weight: 1 }];
  }
  const secondary = GENRE_FAMILIES[secondaryIndex] as GenreFamily;
  const weight = random.uniform(0.2, 0.4);
  return [
    { family: primary, familyIndex: primaryIndex, weight: 1 - weight },
    { family: secondary, familyIndex: secondaryIndex, weight },
  ];
}

function makeArtist(seed: number, k: number): SyntheticArtist {
  const random = new Random(deriveSeed(seed, "artist", k));
  const families = chooseFamilies(random);
  const [primary, secondary] = families as [FamilyShare, FamilyShare | undefined];
  const era = clamp(
    Math.round(random.normal(primary.family.profile.era[0], primary.family.profile.era[1])),
    1926,
    2010,
  );
  const place = random.chance(0.75) ? random.pick(PLACES) : undefined;

  // Terms: scored, sorted by weight; genres score highest, the family's root genre first.
  const scored = new Map<string, number>();
  const addTerm = (term: string, score: number) => {
    if (!scored.has(term)) scored.set(term, score);
  };
  const withoutTerms = random.chance(0.004);
  const targetCount = withoutTerms ? 0 : clamp(Math.round(random.normal(26, 10)), 4, 55);
  const genreCount = Math.max(1, Math.round(targetCount * random.uniform(0.45, 0.7)));
  if (!withoutTerms) {
    const rootGenre = primary.family.genres[0] as string;
    if (random.chance(0.7)) addTerm(rootGenre, random.uniform(0.95, 1));
    const secondaryCount = secondary ? Math.max(1, Math.round(genreCount * secondary.weight)) : 0;
    for (const genre of random.sample(primary.family.genres, genreCount - secondaryCount)) {
      addTerm(genre, random.uniform(0.6, 1));
    }
    if (secondary) {
      for (const genre of random.sample(secondary.family.genres, secondaryCount)) {
        addTerm(genre, random.uniform(0.45, 0.9));
      }
    }
    if (place) {
      for (const term of random.sample(place.terms, 1 + random.int(place.terms.length))) {
        addTerm(term, random.uniform(0.4, 0.85));
      }
    }
    const decade = DECADE_TERMS.get(Math.floor(era / 10) * 10);
    if (decade && random.chance(0.6)) addTerm(decade, random.uniform(0.35, 0.8));
    while (scored.size < targetCount)
      addTerm(random.pick(DESCRIPTOR_TERMS), random.uniform(0.25, 0.8));
  }
  const ordered = [...scored.entries()].sort((a, b) => b[1] - a[1]);
  const topScore = ordered[0]?.[1] ?? 1;
  const terms = ordered.map(([term]) => term);
  const termsWeight = Float64Array.from(ordered, ([, score]) => score / topScore);
  const rawFreq = termsWeight.map((w) => clamp(w * random.uniform(0.55, 1.15), 0.05, 1));
  const topFreq = rawFreq.reduce((a, b) => Math.max(a, b), 0) || 1;
  const termsFreq = rawFreq.map((f) => f / topFreq);

  const similarCount = random.chance(0.85) ? 100 : random.int(100);
  const similar = new Set<string>();
  while (similar.size < similarCount) {
    const other = k + random.int(10_001) - 5_000;
    if (other >= 0 && other !== k) similar.add(artistId(seed, other));
  }

  const mbtags: string[] = [];
  if (random.chance(0.3)) {
    const candidates = [...primary.family.genres.slice(0, 6), ...(place?.terms.slice(-2) ?? [])];
    mbtags.push(...random.sample(candidates, 1 + random.int(4)));
  }
  const mbtagsCount = Int32Array.from(mbtags, () => 1 + Math.floor(random.exponential(0.8)));

  const releases = Array.from({ length: 1 + random.int(4) }, () => ({
    name: random.chance(0.15) ? `${phrase(random, 1, 2)} - The Best Of` : phrase(random, 1, 3),
    digitalId: 100_000 + random.int(900_000),
  }));

  return {
    index: k,
    id: artistId(seed, k),
    name: artistName(random),
    mbid: random.chance(0.85) ? uuid(random) : "",
    digitalId: random.chance(0.95) ? 1_000 + random.int(500_000) : -1,
    playmeId: random.chance(0.55) ? 1 + random.int(100_000) : -1,
    familiarity: clamp(random.normal(0.56, 0.16), 0, 1),
    hotttnesss: clamp(random.normal(0.38, 0.13), 0, 1),
    place,
    hasCoordinates: place !== undefined && random.chance(0.55),
    families,
    era,
    terms,
    termsFreq,
    termsWeight,
    similar: [...similar],
    mbtags,
    mbtagsCount,
    releases,
    profile: mixProfiles(families),
    timbreMean: mixTimbre(families, random),
    tempoShift: random.normal(0, 6),
    loudnessShift: random.normal(0, 1.5),
  };
}

function mixProfiles(families: readonly FamilyShare[]): AudioProfile {
  const mix = (trait: (profile: AudioProfile) => number) =>
    families.reduce((sum, { family, weight }) => sum + weight * trait(family.profile), 0);
  return {
    tempo: [mix((p) => p.tempo[0]), mix((p) => p.tempo[1])],
    loudness: [mix((p) => p.loudness[0]), mix((p) => p.loudness[1])],
    major: mix((p) => p.major),
    duration: [mix((p) => p.duration[0]), mix((p) => p.duration[1])],
    meter: [0, 1, 2, 3, 4].map((m) =>
      mix((p) => p.meter[m] as number),
    ) as unknown as AudioProfile["meter"],
    segmentRate: mix((p) => p.segmentRate),
    brightness: mix((p) => p.brightness),
    flatness: mix((p) => p.flatness),
    attack: mix((p) => p.attack),
    tonality: mix((p) => p.tonality),
    era: [mix((p) => p.era[0]), mix((p) => p.era[1])],
    share: mix((p) => p.share),
  };
}

function mixTimbre(families: readonly FamilyShare[], random: Random): Float64Array {
  const means = new Float64Array(12);
  for (const { familyIndex, weight } of families) {
    const familyTimbre = FAMILY_TIMBRE[familyIndex] as Float64Array;
    for (let c = 0; c < 12; c++) {
      means[c] = (means[c] as number) + weight * (familyTimbre[c] as number);
    }
  }
  for (let c = 0; c < 12; c++) {
    means[c] = (means[c] as number) + random.normal(0, (TIMBRE_SD[c] as number) / 6);
  }
  return means;
}

function makeTrack(
  seed: number,
  index: number,
  artist: SyntheticArtist,
  trend: SubsetTrend | undefined,
): Track {
  const random = new Random(deriveSeed(seed, "track", index));
  const id = trackId(seed, index, random);
  const fewSegments = index % FEW_SEGMENTS_PERIOD === 17;
  const { profile } = artist;

  const trueTempo = clamp(
    random.normal(profile.tempo[0] + artist.tempoShift, profile.tempo[1] * 0.8),
    50,
    225,
  );
  const octaveError = random.chance(0.1) ? (trueTempo < 110 ? 2 : 0.5) : 1;
  const tempo = round(trueTempo * octaveError, 3);
  const loudness = round(
    clamp(
      random.normal(profile.loudness[0] + artist.loudnessShift, profile.loudness[1] * 0.7),
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
    random.chance(0.8) ? random.uniform(0, 0.4) : random.uniform(0.4, Math.min(6, duration / 4)),
    3,
  );
  const startOfFadeOut = round(
    Math.max(endOfFadeIn, duration - (random.chance(0.3) ? 0 : random.uniform(0, 12))),
    3,
  );
  const { segmentRate, tonality } = profile;
  const timbreMean = artist.timbreMean.map(
    (mean, c) => mean + random.normal(0, (TIMBRE_SD[c] as number) / 10),
  );

  const plan: SoundPlan = {
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
  const { segments, beatsStart, tatumsStart, barsStart, sectionsStart } = makeSound(
    random,
    plan,
    CATALOGUE_STYLE,
  );
  const beatRegularity = 1 - 0.6 * tonality;
  const confidences = (count: number, mean: number) => confidenceArray(random, count, mean);

  const release = random.pick(artist.releases);
  const title = `${phrase(random, 1, 4)}${random.chance(0.12) ? random.pick(TITLE_SUFFIXES) : ""}`;
  const year = random.chance(0.5) ? 0 : clamp(Math.round(random.normal(artist.era, 3)), 1926, 2010);

  const track: Track = {
    metadata: {
      analyzer_version: "",
      artist_7digitalid: artist.digitalId,
      artist_familiarity: artist.familiarity,
      artist_hotttnesss: artist.hotttnesss,
      artist_id: artist.id,
      artist_latitude: artist.hasCoordinates ? (artist.place as Place).latitude : Number.NaN,
      artist_location: artist.place?.location ?? "",
      artist_longitude: artist.hasCoordinates ? (artist.place as Place).longitude : Number.NaN,
      artist_mbid: artist.mbid,
      artist_name: artist.name,
      artist_playmeid: artist.playmeId,
      genre: "",
      idx_artist_terms: 0,
      idx_similar_artists: 0,
      release: release.name,
      release_7digitalid: release.digitalId,
      song_hotttnesss: random.chance(0.4)
        ? Number.NaN
        : clamp(random.normal(artist.hotttnesss * 0.9, 0.15), 0, 1),
      song_id: `SO${code(random, LETTERS, 5)}12A${code(random, HEX, 8)}`,
      title,
      track_7digitalid: 1_000_000 + random.int(9_000_000),
      artist_terms: [...artist.terms],
      artist_terms_freq: artist.termsFreq.slice(),
      artist_terms_weight: artist.termsWeight.slice(),
      similar_artists: [...artist.similar],
    },
    analysis: {
      analysis_sample_rate: 22050,
      audio_md5: code(random, "0123456789abcdef", 32),
      danceability: 0,
      duration,
      end_of_fade_in: endOfFadeIn,
      energy: 0,
      idx_bars_confidence: 0,
      idx_bars_start: 0,
      idx_beats_confidence: 0,
      idx_beats_start: 0,
      idx_sections_confidence: 0,
      idx_sections_start: 0,
      idx_segments_confidence: 0,
      idx_segments_loudness_max: 0,
      idx_segments_loudness_max_time: 0,
      idx_segments_loudness_start: 0,
      idx_segments_pitches: 0,
      idx_segments_start: 0,
      idx_segments_timbre: 0,
      idx_tatums_confidence: 0,
      idx_tatums_start: 0,
      key,
      key_confidence: round(random.next(), 3),
      loudness,
      mode,
      mode_confidence: round(random.next(), 3),
      start_of_fade_out: startOfFadeOut,
      tempo,
      time_signature: timeSignature,
      time_signature_confidence: round(random.next(), 3),
      track_id: id,
      bars_confidence: confidences(barsStart.length, 0.3 * beatRegularity + 0.1),
      bars_start: barsStart,
      beats_confidence: confidences(beatsStart.length, 0.7 * beatRegularity),
      beats_start: beatsStart,
      sections_confidence: confidences(sectionsStart.length, 0.5),
      sections_start: sectionsStart,
      segments_confidence: segments.confidence,
      segments_loudness_max: segments.loudnessMax,
      segments_loudness_max_time: segments.loudnessMaxTime,
      segments_loudness_start: segments.loudnessStart,
      segments_pitches: segments.pitches,
      segments_start: segments.start,
      segments_timbre: segments.timbre,
      tatums_confidence: confidences(tatumsStart.length, 0.6 * beatRegularity),
      tatums_start: tatumsStart,
    },
    musicbrainz: {
      idx_artist_mbtags: 0,
      year,
      artist_mbtags: [...artist.mbtags],
      artist_mbtags_count: artist.mbtagsCount.slice(),
    },
  };
  if (trend === undefined || !followsTrend(year, trend)) return track;
  return withTrend(track, plan, trend.strength, new Random(deriveSeed(seed, "trend", index)));
}

/** What a track's audio arrays are drawn from. */
interface SoundPlan {
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
interface ProductionStyle {
  /** Scales the spread of segment loudness peaks and the depth of their attacks. */
  dynamics: number;
  /** Scales the spread of timbre from segment to segment. */
  timbreSpread: number;
  /** Lifts every pitch class toward the strongest: 0 keeps the chroma as drawn, 1 flattens it. */
  pitchFloor: number;
  /** Added to the mean onset confidence of segments. */
  confidenceGain: number;
}

const CATALOGUE_STYLE: ProductionStyle = {
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
/** The analyser's ceiling on reported tempo and the loudest a master gets, in dB. */
const MAX_TEMPO = 250;
const MAX_LOUDNESS = -0.5;

function makeSound(random: Random, plan: SoundPlan, style: ProductionStyle) {
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

/**
 * The track as a new release following the trend: the same metadata, key, mode, metre and
 * duration, its audio drawn again from `random` (a stream of its own) in the new style.
 */
function withTrend(track: Track, plan: SoundPlan, strength: number, random: Random): Track {
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
  const { segments, beatsStart, tatumsStart, barsStart, sectionsStart } = makeSound(
    random,
    trended,
    style,
  );
  const beatRegularity = 1 - 0.6 * plan.tonality;
  return {
    ...track,
    analysis: {
      ...track.analysis,
      loudness,
      tempo,
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
    },
  };
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
