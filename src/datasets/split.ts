// The split step: the feature table's newest release years become the test set, in a seeded
// order cut into daily batches (tracks and their labels apart, as labels arrive later); the
// rest is split into train and validation by artist (or at random). The table is checked and
// read first (ids and years only), the outputs are written to local files row group by row
// group, and only then put into the store: day files, the three tables, stale days removed,
// and the manifest last, so that a split is complete exactly when its manifest is there.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../common/errors.ts";
import type { ColumnBatch, ColumnValues } from "../features/column-batch.ts";
import { DEFAULT_FEATURES_KEY } from "../features/preprocess.ts";
import { type ColumnSpec, TableWriter } from "../features/table.ts";
import { type ObjectStore, validateKey } from "../storage/object-store.ts";
import {
  assignSplit,
  type SplitParameters,
  type SplitStrategy,
  TEST,
  TRAIN,
  VALID,
} from "./assign.ts";
import { ColumnarTable } from "./columns.ts";
import {
  manifestBytes,
  manifestDigest,
  type SplitDay,
  type SplitManifest,
  type SplitManifestContent,
  type StoredObject,
  type YearRange,
} from "./manifest.ts";

export const DEFAULT_SPLIT_PREFIX = "datasets/split";
export const DEFAULT_DAILY_PREFIX = "daily";

export const SPLIT_DEFAULTS: SplitParameters = {
  seed: 42,
  testYears: 1,
  batchSize: 100,
  validFraction: 0.2,
  strategy: "artist",
};

const STRATEGIES: readonly SplitStrategy[] = ["artist", "random"];
const PARQUET = { contentType: "application/vnd.apache.parquet" };
const TRACK_ID = "track_id";
const ARTIST_ID = "artist_id";
const YEAR = "year";
const GENRES = "genres";

export interface SplitOptions extends Partial<SplitParameters> {
  /** The feature table's key (default datasets/features.parquet). */
  featuresKey?: string;
  /** Where train/valid/test.parquet and manifest.json go (default datasets/split). */
  splitPrefix?: string;
  /** Where the day folders go (default daily): daily/day=0001/tracks.parquet, labels.parquet. */
  dailyPrefix?: string;
}

export interface SplitSummary {
  manifest: SplitManifest;
  manifestKey: string;
  /** Day folders of an earlier split beyond this one's last day, now removed. */
  staleDaysRemoved: number;
  seconds: number;
}

/** The key of a day's file: `daily/day=0001/tracks.parquet`. */
export function dayKey(day: number, file: string, dailyPrefix = DEFAULT_DAILY_PREFIX): string {
  return `${dailyPrefix}/day=${String(day).padStart(4, "0")}/${file}`;
}

export function splitParameters(options: Partial<SplitParameters>): SplitParameters {
  const p: SplitParameters = {
    seed: options.seed ?? SPLIT_DEFAULTS.seed,
    testYears: options.testYears ?? SPLIT_DEFAULTS.testYears,
    batchSize: options.batchSize ?? SPLIT_DEFAULTS.batchSize,
    validFraction: options.validFraction ?? SPLIT_DEFAULTS.validFraction,
    strategy: options.strategy ?? SPLIT_DEFAULTS.strategy,
  };
  if (!Number.isSafeInteger(p.seed) || p.seed < 0)
    throw new InputError(`split option seed ${p.seed}: expected a whole number of at least 0`);
  for (const [name, parameter] of [
    ["testYears", "test_years"],
    ["batchSize", "batch_size"],
  ] as const)
    if (!Number.isSafeInteger(p[name]) || p[name] < 1)
      throw new InputError(
        `split option ${parameter} ${p[name]}: expected a whole number of at least 1`,
      );
  if (!(Number.isFinite(p.validFraction) && p.validFraction > 0 && p.validFraction < 1))
    throw new InputError(
      `split option valid_fraction ${p.validFraction}: expected a number between 0 and 1 (exclusive)`,
    );
  if (!STRATEGIES.includes(p.strategy))
    throw new InputError(
      `split option split ${JSON.stringify(p.strategy)}: expected one of ${STRATEGIES.join(", ")}`,
    );
  return p;
}

export async function splitDataset(
  store: ObjectStore,
  options: SplitOptions = {},
): Promise<SplitSummary> {
  const started = performance.now();
  const parameters = splitParameters(options);
  const featuresKey = options.featuresKey ?? DEFAULT_FEATURES_KEY;
  const splitPrefix = trimSlashes(options.splitPrefix ?? DEFAULT_SPLIT_PREFIX);
  const dailyPrefix = trimSlashes(options.dailyPrefix ?? DEFAULT_DAILY_PREFIX);
  validateKey(splitPrefix, "prefix (splitPrefix)");
  validateKey(dailyPrefix, "prefix (dailyPrefix)");
  const manifestKey = `${splitPrefix}/manifest.json`;
  const tableName = `${store.uri}/${featuresKey}`;
  if (!(await store.exists(featuresKey)))
    throw new InputError(
      `no feature table at ${tableName}: run \`genre-classifier preprocess\` first`,
    );

  const scratch = await mkdtemp(join(tmpdir(), "gc-split-"));
  try {
    let path = await store.localFile(featuresKey);
    if (path === undefined) {
      path = join(scratch, "features.parquet");
      await store.getFile(featuresKey, path);
    }
    const table = await ColumnarTable.open(path, tableName);
    try {
      const written = await writeSplit(table, parameters, scratch, dailyPrefix, splitPrefix);
      const input: StoredObject = {
        key: featuresKey,
        sha256: await table.sha256(),
        bytes: table.bytes,
        rows: table.rows,
      };
      const content: SplitManifestContent = { ...written.content(input) };

      // Nothing was put into the store before this point. Without a manifest no split is
      // complete, so the old one goes first and the new one comes last.
      await store.delete(manifestKey);
      for (const file of written.files) await store.putFile(file.key, file.path, PARQUET);
      const staleDaysRemoved = await removeStaleDays(store, dailyPrefix, content.days.length);
      await store.put(manifestKey, manifestBytes(content), { contentType: "application/json" });
      return {
        manifest: { ...content, digest: manifestDigest(content) },
        manifestKey,
        staleDaysRemoved,
        seconds: (performance.now() - started) / 1000,
      };
    } finally {
      await table.close();
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

interface LocalOutput {
  key: string;
  path: string;
  rows: number;
}

/** Checks the table, assigns its rows and writes every output to a local file. */
async function writeSplit(
  table: ColumnarTable,
  parameters: SplitParameters,
  scratch: string,
  dailyPrefix: string,
  splitPrefix: string,
) {
  requireColumn(table, TRACK_ID, ["STRING"], "each track's id");
  requireColumn(table, ARTIST_ID, ["STRING"], "each track's artist id");
  requireColumn(table, YEAR, ["INT32", "DOUBLE"], "each track's release year, 0 when unknown");
  requireColumn(table, GENRES, ["STRING_LIST"], "each track's genres");
  if (table.rows === 0) throw new InputError(`table ${table.name}: the table has no rows`);

  const keys = await table.read([TRACK_ID, ARTIST_ID, YEAR], 0, table.rows);
  const trackIds = keys.columns[0] as string[];
  const artistIds = keys.columns[1] as string[];
  const years = keys.columns[2] as Float64Array | Int32Array;
  const { side, testOrder, testYears } = assignSplit(
    { table: table.name, trackIds, artistIds, years },
    parameters,
  );

  const columns = table.columns;
  const names = columns.map((c) => c.name);
  const local = (key: string): string => join(scratch, key.replaceAll("/", "_"));
  const trainKey = `${splitPrefix}/train.parquet`;
  const validKey = `${splitPrefix}/valid.parquet`;
  const testKey = `${splitPrefix}/test.parquet`;
  const train = new TableWriter(local(trainKey), columns);
  const valid = new TableWriter(local(validKey), columns);
  const testParts: ColumnBatch[] = [];
  for (const [from, to] of table.groups) {
    if (to === from) continue;
    const batch = await table.read(names, from, to);
    const picked: [number[], number[], number[]] = [[], [], []];
    for (let i = from; i < to; i++) picked[side[i] as number]?.push(i - from);
    train.addBatch(gather(batch, picked[TRAIN]));
    valid.addBatch(gather(batch, picked[VALID]));
    if (picked[TEST].length > 0) testParts.push(gather(batch, picked[TEST]));
  }
  train.close();
  valid.close();

  // The test rows were gathered in table order; put them in daily order.
  const testRowsInTableOrder = Uint32Array.from(testOrder).sort();
  const position = new Map<number, number>();
  testRowsInTableOrder.forEach((row, at) => {
    position.set(row, at);
  });
  const testBatch = gather(
    concatBatches(testParts, columns),
    Array.from(testOrder, (row) => position.get(row) as number),
  );
  const test = new TableWriter(local(testKey), columns);
  test.addBatch(testBatch);
  test.close();

  const files: LocalOutput[] = [];
  const trackColumns = columns.filter((c) => c.name !== GENRES);
  const trackColumnIndexes = trackColumns.map((c) => names.indexOf(c.name));
  const labelColumns = [TRACK_ID, GENRES].map((n) => columns[names.indexOf(n)] as ColumnSpec);
  const labelColumnIndexes = [names.indexOf(TRACK_ID), names.indexOf(GENRES)];
  const { batchSize } = parameters;
  const days = Math.ceil(testBatch.rows / batchSize);
  for (let day = 1; day <= days; day++) {
    const slice = sliceRows(
      testBatch,
      (day - 1) * batchSize,
      Math.min(day * batchSize, testBatch.rows),
    );
    for (const [file, specs, indexes] of [
      ["tracks.parquet", trackColumns, trackColumnIndexes],
      ["labels.parquet", labelColumns, labelColumnIndexes],
    ] as const) {
      const key = dayKey(day, file, dailyPrefix);
      const writer = new TableWriter(local(key), specs);
      writer.addBatch({
        rows: slice.rows,
        columns: indexes.map((i) => slice.columns[i] as ColumnValues),
      });
      writer.close();
      files.push({ key, path: local(key), rows: slice.rows });
    }
  }
  files.push(
    { key: trainKey, path: local(trainKey), rows: train.rows },
    { key: validKey, path: local(validKey), rows: valid.rows },
    { key: testKey, path: local(testKey), rows: test.rows },
  );

  const digests = new Map<string, StoredObject>();
  for (const file of files) digests.set(file.key, await storedObject(file));
  const stored = (key: string) => digests.get(key) as StoredObject;

  const artistsOf = (wanted: number) => {
    const set = new Set<string>();
    for (let i = 0; i < side.length; i++) if (side[i] === wanted) set.add(artistIds[i] as string);
    return set;
  };
  const trainArtists = artistsOf(TRAIN);
  const testArtists = artistsOf(TEST);
  const unknownYears = (wanted: number) => {
    let count = 0;
    for (let i = 0; i < side.length; i++)
      if (side[i] === wanted && !((years[i] as number) > 0)) count++;
    return count;
  };
  const dayList: SplitDay[] = Array.from({ length: days }, (_, d) => ({
    day: d + 1,
    tracks: stored(dayKey(d + 1, "tracks.parquet", dailyPrefix)),
    labels: stored(dayKey(d + 1, "labels.parquet", dailyPrefix)),
  }));

  return {
    files,
    content: (input: StoredObject): SplitManifestContent => ({
      format: "genre-classifier/split",
      version: 1,
      input,
      parameters,
      counts: {
        tracks: { train: train.rows, valid: valid.rows, test: test.rows },
        artists: { train: trainArtists.size, valid: artistsOf(VALID).size, test: testArtists.size },
        testArtistsInTrain: [...testArtists].filter((a) => trainArtists.has(a)).length,
        yearUnknown: { train: unknownYears(TRAIN), valid: unknownYears(VALID) },
        days,
        batchSize,
        lastDayTracks: test.rows - (days - 1) * batchSize,
      },
      years: {
        test: testYears,
        train: yearRange(side, years, TRAIN),
        valid: yearRange(side, years, VALID),
      },
      outputs: { train: stored(trainKey), valid: stored(validKey), test: stored(testKey) },
      days: dayList,
    }),
  };
}

function requireColumn(
  table: ColumnarTable,
  name: string,
  types: readonly string[],
  what: string,
): void {
  const column = table.columns.find((c) => c.name === name);
  if (column === undefined)
    throw new InputError(`table ${table.name}: no "${name}" column (${what})`);
  if (!types.includes(column.type))
    throw new InputError(
      `table ${table.name}: column "${name}" is ${column.type}; expected ${types.join(" or ")} (${what})`,
    );
}

/** The rows `indexes` of a batch, in that order. */
function gather(batch: ColumnBatch, indexes: readonly number[]): ColumnBatch {
  const n = indexes.length;
  return {
    rows: n,
    columns: batch.columns.map((values) => {
      if (values instanceof Float64Array || values instanceof Int32Array) {
        const out = values instanceof Float64Array ? new Float64Array(n) : new Int32Array(n);
        for (let k = 0; k < n; k++) out[k] = values[indexes[k] as number] as number;
        return out;
      }
      const source = values as unknown[];
      const out = new Array(n);
      for (let k = 0; k < n; k++) out[k] = source[indexes[k] as number];
      return out as ColumnValues;
    }),
  };
}

function sliceRows(batch: ColumnBatch, start: number, end: number): ColumnBatch {
  return { rows: end - start, columns: batch.columns.map((values) => values.slice(start, end)) };
}

function concatBatches(parts: readonly ColumnBatch[], columns: readonly ColumnSpec[]): ColumnBatch {
  const rows = parts.reduce((sum, part) => sum + part.rows, 0);
  return {
    rows,
    columns: columns.map(({ type }, c) => {
      if (type === "DOUBLE" || type === "INT32") {
        const out = type === "DOUBLE" ? new Float64Array(rows) : new Int32Array(rows);
        let offset = 0;
        for (const part of parts) {
          const values = part.columns[c] as Float64Array | Int32Array;
          out.set(values, offset);
          offset += values.length;
        }
        return out;
      }
      return parts.flatMap((part) => part.columns[c] as unknown[]) as ColumnValues;
    }),
  };
}

function yearRange(side: Uint8Array, years: ArrayLike<number>, wanted: number): YearRange | null {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < side.length; i++) {
    const year = years[i] as number;
    if (side[i] !== wanted || !(year > 0)) continue;
    if (year < min) min = year;
    if (year > max) max = year;
  }
  return min <= max ? { min, max } : null;
}

async function storedObject(file: LocalOutput): Promise<StoredObject> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of createReadStream(file.path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { key: file.key, sha256: hash.digest("hex"), bytes, rows: file.rows };
}

/** Deletes every object of the day folders numbered above `days`; returns how many folders. */
async function removeStaleDays(
  store: ObjectStore,
  dailyPrefix: string,
  days: number,
): Promise<number> {
  const stale: string[] = [];
  const staleDays = new Set<number>();
  for await (const info of store.listAll(`${dailyPrefix}/`)) {
    const match = /^day=(\d+)\//.exec(info.key.slice(dailyPrefix.length + 1));
    if (match === null) continue;
    const day = Number(match[1]);
    if (day > days) {
      stale.push(info.key);
      staleDays.add(day);
    }
  }
  for (const key of stale) await store.delete(key);
  return staleDays.size;
}

function trimSlashes(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, "");
}
