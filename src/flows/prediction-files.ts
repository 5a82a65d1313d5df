// Reading the predict flow's outputs back: the days predicted with the lineage of their run.json,
// a day's rows by range with the day's labels beside them once they have arrived, and a track's
// rows searched across days. Tables are read through the object store by byte ranges (a local
// store's file through one open handle), so a page reads the footer and the row groups it
// shows, and a search reads only the track_id column, skipping row groups whose statistics
// rule the id out.
import { type FileHandle, open } from "node:fs/promises";
import { parquetMetadataAsync, parquetRead, parquetReadObjects } from "hyparquet";
import { InputError, OperationError } from "../common/errors.ts";
import { readSplitManifest } from "../datasets/manifest.ts";
import { dayKey } from "../datasets/split.ts";
import { GENRES_COLUMN, TRACK_ID_COLUMN } from "../features/feature-table.ts";
import { topLevelNames } from "../features/table.ts";
import { ObjectNotFoundError, type ObjectStore } from "../storage/object-store.ts";
import {
  type ModelLineage,
  PREDICT_RUN_FILE,
  PREDICTIONS_PREFIX,
  predictionKey,
} from "./predict.ts";

/** An MSD track id: `TR` and 16 upper-case letters or digits. */
export const TRACK_ID_PATTERN = /^TR[A-Z0-9]{16}$/;
/** The most rows one page of a day gives. */
export const MAX_PAGE_ROWS = 100;
/** The highest day number a key can carry (`day=NNNN`, padded to four digits, may grow). */
export const MAX_DAY = 999_999;
const PROBABILITY_PREFIX = "p_";
const LABELS_FILE = "labels.parquet";
const DAY_FOLDER = new RegExp(`^${PREDICTIONS_PREFIX}/day=(\\d{4,6})/$`);

export interface PredictedDay {
  day: number;
  /** The key of the day's predictions table. */
  key: string;
  /** Rows in the day's table; null when neither run.json nor the table says. */
  tracks: number | null;
  /** The model whose predictions the day holds. */
  model: ModelLineage | null;
  /** The registry alias the model was taken from. */
  alias: string | null;
  /** When the day was written (ISO), from run.json. */
  predictedAt: string | null;
}

export interface PredictionRow {
  /** The row's position in the day's table, from 0. */
  row: number;
  trackId: string;
  genres: string[];
  /** One per genre of the model, in the order of `PredictionPage.labels`. */
  probabilities: number[];
  /** The track's genres from the day's labels, or null when they have not arrived. */
  trueGenres: string[] | null;
}

export interface PredictionPage {
  day: PredictedDay;
  /** Rows in the day's table. */
  total: number;
  offset: number;
  /** The model's genres, the order of every row's probabilities. */
  labels: string[];
  /** Whether the day's labels are in the store. */
  labelled: boolean;
  rows: PredictionRow[];
}

export interface TrackMatch extends PredictionRow {
  day: number;
  model: ModelLineage | null;
  labels: string[];
}

export interface TrackSearch {
  trackId: string;
  matches: TrackMatch[];
  /** Days whose track ids were read. */
  searchedDays: number;
  totalDays: number;
  /** False when the time limit ran out before every day was searched. */
  complete: boolean;
}

/** A day number from text (a URL segment or a query value); an InputError naming `day`. */
export function parseDay(text: string | undefined): number {
  if (text === undefined || !/^\d{1,7}$/.test(text) || Number(text) < 1 || Number(text) > MAX_DAY)
    throw new InputError(
      `day ${JSON.stringify(String(text ?? "").slice(0, 40))}: expected a whole number from 1 to ${MAX_DAY}`,
    );
  return Number(text);
}

/** A track id checked against the MSD's form; an InputError naming `track_id`. */
export function parseTrackId(text: string | undefined): string {
  const id = (text ?? "").trim();
  if (!TRACK_ID_PATTERN.test(id))
    throw new InputError(
      `track_id ${JSON.stringify(id.slice(0, 40))}: expected an MSD track id, TR followed by 16 upper-case letters or digits (e.g. TRAAAAW128F429D538)`,
    );
  return id;
}

/** Every predicted day's number, newest first (from the store's folder listing). */
export async function predictedDayNumbers(store: ObjectStore): Promise<number[]> {
  const days: number[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(`${PREDICTIONS_PREFIX}/`, { recursive: false, cursor });
    for (const prefix of page.prefixes) {
      const match = DAY_FOLDER.exec(prefix);
      if (match) days.push(Number(match[1]));
    }
    cursor = page.cursor;
  } while (cursor);
  return days.sort((a, b) => b - a);
}

/** One page of the predicted days, newest first, with their lineage. */
export async function listPredictedDays(
  store: ObjectStore,
  page: { offset: number; limit: number },
): Promise<{ total: number; days: PredictedDay[] }> {
  const numbers = await predictedDayNumbers(store);
  const shown = numbers.slice(page.offset, page.offset + Math.min(page.limit, MAX_PAGE_ROWS));
  const days = await Promise.all(shown.map((day) => readPredictedDay(store, day)));
  return {
    total: numbers.length,
    days: days.filter((d): d is PredictedDay => d !== undefined),
  };
}

/** A day's record from its run.json, else from its table; undefined when the day has neither. */
export async function readPredictedDay(
  store: ObjectStore,
  day: number,
): Promise<PredictedDay | undefined> {
  const key = predictionKey(day);
  const record = await readRunRecord(store, day);
  if (record !== undefined) return { ...record, day, key };
  const table = await StoredParquet.open(store, key);
  if (table === undefined) return undefined;
  try {
    const first = table.rows > 0 ? (await table.objects(LINEAGE, 0, 1))[0] : undefined;
    return {
      day,
      key,
      tracks: table.rows,
      model: first === undefined ? null : lineageOf(first),
      alias: null,
      predictedAt: null,
    };
  } finally {
    await table.close();
  }
}

/** Rows [offset, offset + limit) of a day (at most MAX_PAGE_ROWS), with their labels if arrived. */
export async function readDayPredictions(
  store: ObjectStore,
  day: number,
  page: { offset: number; limit: number },
): Promise<PredictionPage | undefined> {
  const key = predictionKey(day);
  const table = await StoredParquet.open(store, key);
  if (table === undefined) return undefined;
  try {
    const record = (await readRunRecord(store, day)) ?? {
      tracks: table.rows,
      model: null,
      alias: null,
      predictedAt: null,
    };
    const probabilityColumns = table.columns.filter((c) => c.startsWith(PROBABILITY_PREFIX));
    const labels = probabilityColumns.map((c) => c.slice(PROBABILITY_PREFIX.length));
    const from = Math.min(page.offset, table.rows);
    const to = Math.min(from + Math.min(page.limit, MAX_PAGE_ROWS), table.rows);
    const objects =
      to > from
        ? await table.objects([TRACK_ID_COLUMN, GENRES_COLUMN, ...probabilityColumns], from, to)
        : [];
    const rows = objects.map((o, i) => toRow(o, from + i, probabilityColumns));
    if (record.model === null && objects.length > 0)
      record.model = lineageOf((await table.objects(LINEAGE, from, from + 1))[0] ?? {});
    const labelled = await attachLabels(store, day, rows, from, to);
    return {
      day: { ...record, day, key, tracks: table.rows },
      total: table.rows,
      offset: from,
      labels,
      labelled,
      rows,
    };
  } finally {
    await table.close();
  }
}

/**
 * The rows of `trackId` in every predicted day, newest day first. Each day's track_id column is
 * read alone (a few days at a time); when `timeLimitMs` runs out the days not yet searched are
 * left, and the answer says so.
 */
export async function searchTrack(
  store: ObjectStore,
  trackId: string,
  options: { timeLimitMs?: number; concurrency?: number } = {},
): Promise<TrackSearch> {
  const id = parseTrackId(trackId);
  const deadline = performance.now() + (options.timeLimitMs ?? 10_000);
  const days = await predictedDayNumbers(store);
  const found = new Map<number, TrackMatch[]>();
  let next = 0;
  let searched = 0;
  const worker = async () => {
    while (next < days.length && performance.now() < deadline) {
      const day = days[next++] as number;
      const matches = await searchDay(store, day, id);
      searched++;
      if (matches.length > 0) found.set(day, matches);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  const matches = days.flatMap((day) => found.get(day) ?? []);
  return {
    trackId: id,
    matches,
    searchedDays: searched,
    totalDays: days.length,
    complete: searched === days.length,
  };
}

async function searchDay(store: ObjectStore, day: number, id: string): Promise<TrackMatch[]> {
  const table = await StoredParquet.open(store, predictionKey(day));
  if (table === undefined) return [];
  try {
    const positions: number[] = [];
    for (const [from, to] of table.groupsThatMayHold(TRACK_ID_COLUMN, id)) {
      const ids = await table.column(TRACK_ID_COLUMN, from, to);
      ids.forEach((value, i) => {
        if (value === id) positions.push(from + i);
      });
    }
    if (positions.length === 0) return [];
    const probabilityColumns = table.columns.filter((c) => c.startsWith(PROBABILITY_PREFIX));
    const labels = probabilityColumns.map((c) => c.slice(PROBABILITY_PREFIX.length));
    const record = await readRunRecord(store, day);
    const matches: TrackMatch[] = [];
    for (const row of positions) {
      const [object] = await table.objects(
        [TRACK_ID_COLUMN, GENRES_COLUMN, ...probabilityColumns, ...LINEAGE],
        row,
        row + 1,
      );
      if (object === undefined) continue;
      const match: TrackMatch = {
        ...toRow(object, row, probabilityColumns),
        day,
        model: record?.model ?? lineageOf(object),
        labels,
      };
      await attachLabels(store, day, [match], row, row + 1);
      matches.push(match);
    }
    return matches;
  } finally {
    await table.close();
  }
}

// ---- the pieces -----------------------------------------------------------------------------

const LINEAGE = ["model_name", "model_version", "run_id"];

type RunRecord = Omit<PredictedDay, "day" | "key">;

async function readRunRecord(store: ObjectStore, day: number): Promise<RunRecord | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(predictionKey(day, PREDICT_RUN_FILE));
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const record = parsed as Record<string, unknown>;
  const model = record.model as Record<string, unknown> | undefined;
  return {
    tracks: typeof record.tracks === "number" ? record.tracks : null,
    model:
      model && typeof model.name === "string" && typeof model.version === "string"
        ? { name: model.name, version: model.version, runId: String(model.runId ?? "") }
        : null,
    alias: typeof record.alias === "string" ? record.alias : null,
    predictedAt: typeof record.predicted_at === "string" ? record.predicted_at : null,
  };
}

function lineageOf(object: Record<string, unknown>): ModelLineage | null {
  if (typeof object.model_name !== "string") return null;
  return {
    name: object.model_name,
    version: String(object.model_version ?? ""),
    runId: String(object.run_id ?? ""),
  };
}

function toRow(
  object: Record<string, unknown>,
  row: number,
  probabilityColumns: readonly string[],
): PredictionRow {
  return {
    row,
    trackId: String(object[TRACK_ID_COLUMN] ?? ""),
    genres: textList(object[GENRES_COLUMN]),
    probabilities: probabilityColumns.map((c) => Number(object[c])),
    trueGenres: null,
  };
}

function textList(value: unknown): string[] {
  return Array.isArray(value) ? value.map((v) => String(v)) : [];
}

/** The key of a day's labels: the split manifest's, else the default daily folder's. */
async function labelsKey(store: ObjectStore, day: number): Promise<string> {
  try {
    const manifest = await readSplitManifest(store);
    const entry = manifest.days.find((d) => d.day === day);
    if (entry !== undefined) return entry.labels.key;
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
  }
  return dayKey(day, LABELS_FILE);
}

/**
 * Sets the true genres of `rows` (rows [from, to) of the day) from the day's labels, whose rows
 * follow the tracks' order; a row whose track the labels' row does not name keeps null.
 */
async function attachLabels(
  store: ObjectStore,
  day: number,
  rows: PredictionRow[],
  from: number,
  to: number,
): Promise<boolean> {
  const labels = await StoredParquet.open(store, await labelsKey(store, day));
  if (labels === undefined) return false;
  try {
    if (to <= from || from >= labels.rows) return true;
    const objects = await labels.objects(
      [TRACK_ID_COLUMN, GENRES_COLUMN],
      from,
      Math.min(to, labels.rows),
    );
    rows.forEach((row, i) => {
      const label = objects[i];
      if (label !== undefined && label[TRACK_ID_COLUMN] === row.trackId)
        row.trueGenres = textList(label[GENRES_COLUMN]);
    });
    return true;
  } finally {
    await labels.close();
  }
}

type AsyncBuffer = { byteLength: number; slice(start: number, end?: number): Promise<ArrayBuffer> };
type Metadata = Awaited<ReturnType<typeof parquetMetadataAsync>>;

/** A Parquet object of the store opened for reading by ranges. */
class StoredParquet {
  private constructor(
    private readonly name: string,
    private readonly file: AsyncBuffer,
    private readonly metadata: Metadata,
    private readonly handle: FileHandle | undefined,
  ) {}

  /** Opens `key`; undefined when the store has no such object. */
  static async open(store: ObjectStore, key: string): Promise<StoredParquet | undefined> {
    const name = `${store.uri}/${key}`;
    let file: AsyncBuffer;
    let handle: FileHandle | undefined;
    const path = await store.localFile(key);
    if (path !== undefined) {
      try {
        handle = await open(path, "r");
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") return undefined;
        throw error;
      }
      file = handleBuffer(handle, (await handle.stat()).size);
    } else {
      const info = await store.head(key);
      if (info === undefined) return undefined;
      file = {
        byteLength: info.size,
        async slice(start, end = info.size) {
          if (end <= start) return new ArrayBuffer(0);
          const bytes = await store.get(key, { start, end: end - 1 });
          return new Uint8Array(bytes).buffer;
        },
      };
    }
    try {
      return new StoredParquet(name, file, await parquetMetadataAsync(file), handle);
    } catch (error) {
      await handle?.close();
      throw new OperationError(`${name}: not a readable Parquet table (${errorText(error)})`);
    }
  }

  get rows(): number {
    return Number(this.metadata.num_rows);
  }

  /** The top-level column names. */
  get columns(): string[] {
    return topLevelNames(this.metadata.schema);
  }

  /**
   * Row ranges of the row groups whose statistics of `column` may hold `value` (statistics may
   * be truncated prefixes: the maximum is compared on the value's prefix of its length).
   */
  groupsThatMayHold(column: string, value: string): [number, number][] {
    const ranges: [number, number][] = [];
    let start = 0;
    for (const group of this.metadata.row_groups) {
      const end = start + Number(group.num_rows);
      const chunk = group.columns.find((c) => c.meta_data?.path_in_schema[0] === column);
      const statistics = chunk?.meta_data?.statistics;
      const min = statistics?.min_value;
      const max = statistics?.max_value;
      const below = typeof min === "string" && value < min;
      const above = typeof max === "string" && value.slice(0, max.length) > max;
      if (!below && !above && end > start) ranges.push([start, end]);
      start = end;
    }
    return ranges;
  }

  /** One column's values of rows [from, to). */
  async column(name: string, from: number, to: number): Promise<unknown[]> {
    const values: unknown[] = new Array(to - from);
    await this.read(() =>
      parquetRead({
        file: this.file,
        metadata: this.metadata,
        columns: [name],
        rowStart: from,
        rowEnd: to,
        onChunk: ({ columnData, rowStart }) => {
          for (let i = 0; i < columnData.length; i++) {
            const at = rowStart + i - from;
            if (at >= 0 && at < values.length) values[at] = columnData[i];
          }
        },
      }),
    );
    return values;
  }

  /** Rows [from, to) as objects of the named columns. */
  async objects(names: string[], from: number, to: number): Promise<Record<string, unknown>[]> {
    const present = new Set(this.columns);
    const columns = names.filter((n) => present.has(n));
    return this.read(
      () =>
        parquetReadObjects({
          file: this.file,
          metadata: this.metadata,
          columns,
          rowStart: from,
          rowEnd: to,
        }) as Promise<Record<string, unknown>[]>,
    );
  }

  async close(): Promise<void> {
    await this.handle?.close();
  }

  private async read<T>(reading: () => Promise<T>): Promise<T> {
    try {
      return await reading();
    } catch (error) {
      throw new OperationError(`${this.name}: cannot be read as Parquet (${errorText(error)})`);
    }
  }
}

function handleBuffer(handle: FileHandle, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const bytes = new Uint8Array(Math.max(0, end - start));
      for (let done = 0; done < bytes.length; ) {
        const { bytesRead } = await handle.read(bytes, done, bytes.length - done, start + done);
        if (bytesRead === 0) throw new Error(`the file ends at byte ${start + done}`);
        done += bytesRead;
      }
      return bytes.buffer;
    },
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A page's `offset` (from 0) and `limit` (1 to MAX_PAGE_ROWS) from query text; absent means 0
 * and `defaultLimit`. An InputError names the field.
 */
export function parseRowPage(
  query: { offset?: string | undefined; limit?: string | undefined },
  defaultLimit = 50,
): { offset: number; limit: number } {
  const whole = (
    field: string,
    text: string | undefined,
    min: number,
    max: number,
    fallback: number,
  ) => {
    if (text === undefined || text === "") return fallback;
    if (!/^\d{1,10}$/.test(text) || Number(text) < min || Number(text) > max)
      throw new InputError(
        `${field} ${JSON.stringify(text.slice(0, 40))}: expected a whole number from ${min} to ${max}`,
      );
    return Number(text);
  };
  return {
    offset: whole("offset", query.offset, 0, 1_000_000_000, 0),
    limit: whole("limit", query.limit, 1, MAX_PAGE_ROWS, defaultLimit),
  };
}

/** The `count` most probable genres of a row, most probable first. */
export function topGenres(
  row: PredictionRow,
  labels: readonly string[],
  count = 3,
): { genre: string; probability: number }[] {
  return row.probabilities
    .map((probability, k) => ({ genre: labels[k] as string, probability }))
    .filter((g) => Number.isFinite(g.probability))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, count);
}

/**
 * The Jaccard index of a row's predicted and true genres, or null without labels; 0 when both
 * are empty, as the samples-averaged Jaccard of the metrics counts such a row.
 */
export function rowJaccard(row: PredictionRow): number | null {
  if (row.trueGenres === null) return null;
  const truth = new Set(row.trueGenres);
  const predicted = new Set(row.genres);
  let both = 0;
  for (const g of predicted) if (truth.has(g)) both++;
  const either = truth.size + predicted.size - both;
  return either === 0 ? 0 : both / either;
}
