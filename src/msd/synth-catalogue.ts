// The synthetic MSD's catalogue: artists (one or two genre families, Echo Nest style terms with
// freq and weight, similar artists, MusicBrainz tags, releases, and the voice their tracks'
// audio varies around) and each track's identifiers and metadata, every artist and track drawn
// from its own stream of the seed, so any one can be made without the others.
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
import {
  CATALOGUE_STYLE,
  clamp,
  drawSound,
  drawSoundPlan,
  followsTrend,
  round,
  type SubsetTrend,
  soundArrays,
  TIMBRE_SD,
  type Voice,
  withTrend,
} from "./synth-audio.ts";
import type { Track } from "./track.ts";
import {
  ADJECTIVES,
  FIRST_NAMES,
  LAST_NAMES,
  NOUNS,
  TITLE_SUFFIXES,
  TITLE_WORDS,
} from "./words.ts";

interface FamilyShare {
  readonly family: GenreFamily;
  readonly familyIndex: number;
  readonly weight: number;
}

interface Release {
  readonly name: string;
  readonly digitalId: number;
}

interface SyntheticArtist extends Voice {
  readonly index: number;
  readonly id: string;
  readonly name: string;
  readonly mbid: string;
  readonly digitalId: number;
  readonly playmeId: number;
  readonly familiarity: number;
  readonly hotttnesss: number;
  /** Chance that a track of the artist has no song_hotttnesss (NaN). */
  readonly songHotttnesssMissing: number;
  /** Chance that a track of the artist with a song_hotttnesss has 0. */
  readonly songHotttnesssZero: number;
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

export class SyntheticCatalog {
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
    ...drawPopularity(random, targetCount),
    place,
    hasCoordinates: place !== undefined && random.chance(0.5),
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

type Popularity = Pick<
  SyntheticArtist,
  "familiarity" | "hotttnesss" | "songHotttnesssMissing" | "songHotttnesssZero"
>;

/**
 * An artist's familiarity and hotttnesss as the real subset has them (means 0.57 and 0.39,
 * correlated 0.8, familiarity higher for artists with more terms, hotttnesss 0 for 4%), and how
 * often its tracks lack a song_hotttnesss or have 0: all or none of them for many artists, 43%
 * and 14% of tracks in all.
 */
function drawPopularity(random: Random, termCount: number): Popularity {
  const familiarity = 0.33 * ((termCount - 26) / 10) + 0.944 * random.normal();
  const hotttnesss = 0.81 * familiarity + 0.586 * random.normal();
  const missing = random.next();
  const zero = random.next();
  return {
    familiarity: clamp(0.57 + 0.155 * familiarity, 0, 1),
    hotttnesss: random.chance(0.04) ? 0 : clamp(0.39 + 0.136 * hotttnesss, 0, 1),
    songHotttnesssMissing: missing < 0.2 ? 0 : missing < 0.3 ? 1 : random.uniform(0.1, 0.85),
    songHotttnesssZero: zero < 0.4 ? 0 : random.uniform(0.05, 0.8),
  };
}

/** A track's song_hotttnesss: NaN, 0, or around its artist's hotttnesss (slope 0.71). */
function songHotttnesss(artist: SyntheticArtist, random: Random): number {
  if (random.chance(artist.songHotttnesssMissing)) return Number.NaN;
  if (random.chance(artist.songHotttnesssZero)) return 0;
  return clamp(0.17 + 0.71 * artist.hotttnesss + random.normal(0, 0.148), 0, 1);
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

  const plan = drawSoundPlan(random, artist, fewSegments);
  const sound = drawSound(random, plan, CATALOGUE_STYLE);

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
      song_hotttnesss: songHotttnesss(artist, random),
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
      duration: plan.duration,
      end_of_fade_in: plan.endOfFadeIn,
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
      key: plan.key,
      key_confidence: round(random.next(), 3),
      loudness: plan.loudness,
      mode: plan.mode,
      mode_confidence: round(random.next(), 3),
      start_of_fade_out: plan.startOfFadeOut,
      tempo: plan.tempo,
      time_signature: plan.timeSignature,
      time_signature_confidence: round(random.next(), 3),
      track_id: id,
      ...soundArrays(random, sound, plan.tonality),
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
