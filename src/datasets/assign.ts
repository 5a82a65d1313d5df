// Decides the split from a table's ids and years alone: which tracks are the test set (the
// newest release years) and their daily order (release year, then hash), and which of the rest train and which
// validate (by artist, or by track for a random split). Every choice comes from a SHA-256
// of the seed and an id, so it depends on nothing but the table's contents and the seed.
import { createHash } from "node:crypto";
import { InputError } from "../common/errors.ts";

export type SplitStrategy = "artist" | "random";

export const TRAIN = 0;
export const VALID = 1;
export const TEST = 2;

export interface SplitKeys {
  /** The table's name in messages. */
  table: string;
  trackIds: readonly string[];
  artistIds: readonly string[];
  /** Release years; 0, a negative number or NaN is unknown. */
  years: Float64Array | Int32Array;
}

export interface SplitParameters {
  seed: number;
  testYears: number;
  batchSize: number;
  validFraction: number;
  strategy: SplitStrategy;
}

export interface Assignment {
  /** Each row's side: TRAIN, VALID or TEST. */
  side: Uint8Array;
  /** The test rows in daily order: by release year, oldest first, then by seeded hash. */
  testOrder: Uint32Array;
  /** The test set's release years, newest first. */
  testYears: number[];
}

/** The hash that orders tracks and assigns artists: sha256 of `seed:id`, as hex. */
export function seededHash(seed: number, id: string): string {
  return createHash("sha256").update(`${seed}:${id}`).digest("hex");
}

export function assignSplit(keys: SplitKeys, parameters: SplitParameters): Assignment {
  const { table, trackIds, artistIds, years } = keys;
  const { seed, testYears: yearsWanted, batchSize, validFraction, strategy } = parameters;
  const rows = trackIds.length;
  const seen = new Set<string>();
  for (let i = 0; i < rows; i++) {
    const id = trackIds[i] as string;
    if (id === "") throw new InputError(`table ${table}: row ${i + 1} has an empty track_id`);
    if (seen.has(id))
      throw new InputError(
        `table ${table}: track_id ${JSON.stringify(id)} appears more than once (row ${i + 1})`,
      );
    seen.add(id);
    if (strategy === "artist" && artistIds[i] === "")
      throw new InputError(
        `table ${table}: row ${i + 1} (track ${id}) has an empty artist_id, so it cannot be split by artist (strategy "random" splits by track)`,
      );
  }

  const distinct = new Set<number>();
  for (const year of years) if (year > 0) distinct.add(year);
  if (distinct.size === 0)
    throw new InputError(
      `table ${table}: no track has a known year (column "year" is 0 or empty in all ${rows} rows), so there is no newest year to test on`,
    );
  const known = [...distinct].sort((a, b) => b - a);
  if (yearsWanted > known.length)
    throw new InputError(
      `split option test_years ${yearsWanted}: table ${table} has only ${known.length} known release year${known.length === 1 ? "" : "s"}`,
    );
  const testYears = known.slice(0, yearsWanted);
  const oldestTestYear = testYears[testYears.length - 1] as number;

  const side = new Uint8Array(rows);
  const test: number[] = [];
  const rest: number[] = [];
  for (let i = 0; i < rows; i++) {
    if ((years[i] as number) >= oldestTestYear) {
      side[i] = TEST;
      test.push(i);
    } else rest.push(i);
  }
  if (test.length < batchSize)
    throw new InputError(
      `split: the test set (${test.length} tracks of ${testYears.join(", ")}) is smaller than one batch of batch_size ${batchSize} tracks: lower batch_size or raise test_years`,
    );

  const testHashes = new Map<number, string>();
  for (const i of test) testHashes.set(i, seededHash(seed, trackIds[i] as string));
  // Days follow release order, as new releases arrive: the older test years first, and within
  // a year the seeded hash's order.
  test.sort(
    (a, b) =>
      (years[a] as number) - (years[b] as number) ||
      compareHex(testHashes.get(a) as string, testHashes.get(b) as string),
  );

  const validRows =
    strategy === "artist"
      ? validByArtist(rest, artistIds, seed, validFraction)
      : validByTrack(rest, trackIds, seed, validFraction);
  for (const i of validRows) side[i] = VALID;
  const valid = validRows.length;
  if (valid === 0 || valid === rest.length) {
    const artists = new Set(rest.map((i) => artistIds[i])).size;
    throw new InputError(
      `split: the ${rest.length} tracks (of ${artists} artist${artists === 1 ? "" : "s"}) outside the test set cannot be split into train and validation with valid_fraction ${validFraction} (strategy ${strategy})`,
    );
  }
  return { side, testOrder: Uint32Array.from(test), testYears };
}

function compareHex(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Artists in the order of their seeded hash; each joins validation when that brings its
 * track count nearer the target, so validation holds whole artists and about the asked share.
 */
export function validByArtist(
  rest: readonly number[],
  artistIds: readonly string[],
  seed: number,
  validFraction: number,
): number[] {
  const tracks = new Map<string, number[]>();
  for (const i of rest) {
    const artist = artistIds[i] as string;
    const list = tracks.get(artist);
    if (list) list.push(i);
    else tracks.set(artist, [i]);
  }
  const order = [...tracks.keys()]
    .map((artist) => ({ artist, hash: seededHash(seed, artist) }))
    .sort((a, b) => compareHex(a.hash, b.hash));
  const target = validFraction * rest.length;
  const valid: number[] = [];
  for (const { artist } of order) {
    const rows = tracks.get(artist) as number[];
    if (Math.abs(valid.length + rows.length - target) < Math.abs(valid.length - target))
      for (const i of rows) valid.push(i);
  }
  return valid;
}

/** Tracks in the order of their seeded hash; the first share of them validate. */
function validByTrack(
  rest: readonly number[],
  trackIds: readonly string[],
  seed: number,
  validFraction: number,
): number[] {
  const order = rest
    .map((i) => ({ i, hash: seededHash(seed, trackIds[i] as string) }))
    .sort((a, b) => compareHex(a.hash, b.hash));
  return order.slice(0, Math.round(validFraction * rest.length)).map(({ i }) => i);
}
