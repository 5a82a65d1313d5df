// Preprocess: reads every MSD track file in the store on all CPU cores (worker threads) and
// writes one Parquet feature table, plus a table of the files and tracks it had to reject.
// Rows are written in key order as results arrive, so memory stays bounded and a re-run over
// the same inputs writes a byte-identical table.
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../common/errors.ts";
import { WorkerPool } from "../common/worker-pool.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { FEATURE_COLUMNS } from "./extract.ts";
import { type ColumnSpec, type Row, TableWriter } from "./table.ts";
import type { GenreVocabulary } from "./vocabulary.ts";

export const DEFAULT_FEATURES_KEY = "datasets/features.parquet";
export const DEFAULT_REJECTS_KEY = "datasets/rejects.parquet";

export const REJECT_COLUMNS: readonly ColumnSpec[] = [
  { name: "path", type: "STRING" },
  { name: "track_id", type: "STRING" },
  { name: "reason", type: "STRING" },
];

export interface WorkerSetup {
  vocabulary: string[];
  minTermWeight: number;
}

/** A batch of track files for one worker: a few dozen at once, so no worker waits for work. */
export interface FileTask {
  paths: string[];
}

/** What one file gave: its rows and its rejects (a worker answers a task with one per path). */
export interface FileResult {
  rows: Row[];
  rejects: { track_id: string; reason: string }[];
}

/** Files per task grow from 1 (every worker busy at once) to this. */
const MAX_BATCH = 32;

export interface PreprocessOptions {
  store: ObjectStore;
  vocabulary: GenreVocabulary;
  /** Where the track files are (default raw/msd). */
  rawPrefix?: string;
  featuresKey?: string;
  rejectsKey?: string;
  minTermWeight?: number;
  /** Worker threads (default: one per CPU core). */
  workers?: number;
  /** Called once per file, with the number of files to read. */
  onFile?: (done: number, total: number) => void;
}

export interface PreprocessSummary {
  files: number;
  /** Rows written: one per track. */
  tracks: number;
  tracksWithoutGenres: number;
  rejects: number;
  /** The most common reasons for rejects, most frequent first. */
  rejectReasons: { reason: string; count: number }[];
  genres: number;
  features: string;
  rejectsTable: string;
  workers: number;
  seconds: number;
}

export async function preprocess(options: PreprocessOptions): Promise<PreprocessSummary> {
  const started = Date.now();
  const { store } = options;
  const rawPrefix = (options.rawPrefix ?? "raw/msd").replace(/^\/+|\/+$/g, "");
  const featuresKey = options.featuresKey ?? DEFAULT_FEATURES_KEY;
  const rejectsKey = options.rejectsKey ?? DEFAULT_REJECTS_KEY;
  const workers = options.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 1)
    throw new InputError(`--workers ${workers}: expected a whole number of at least 1`);

  const scratch = await mkdtemp(join(tmpdir(), "gc-preprocess-"));
  const setup: WorkerSetup = {
    vocabulary: [...options.vocabulary],
    minTermWeight: options.minTermWeight ?? 0,
  };
  // The workers start while the store is listed, and read files as the listing finds them.
  const pool = new WorkerPool<FileTask, FileResult[]>(
    import.meta.url,
    "preprocess-worker",
    workers,
    setup,
  );
  try {
    const features = new TableWriter(join(scratch, "features.parquet"), FEATURE_COLUMNS);
    const rejects = new TableWriter(join(scratch, "rejects.parquet"), REJECT_COLUMNS);
    const reasons = new Map<string, number>();
    const genres = new Set<string>();
    let withoutGenres = 0;

    const crashed = (error: unknown): FileResult => ({
      rows: [],
      rejects: [
        { track_id: "", reason: `reading crashed its worker: ${(error as Error).message}` },
      ],
    });
    const readBatch = async (keys: string[], first: number): Promise<FileResult[]> => {
      const copies: string[] = [];
      try {
        const paths = await Promise.all(
          keys.map(async (key, i) => {
            const path = await store.localFile(key);
            if (path) return path;
            const copy = join(scratch, `${first + i}.h5`);
            copies.push(copy);
            await store.getFile(key, copy);
            return copy;
          }),
        );
        try {
          return await pool.run({ paths });
        } catch (error) {
          if (paths.length === 1) return [crashed(error)];
          // One of the files crashed its worker: read each alone, so only that one is rejected.
          return await Promise.all(
            paths.map((path) =>
              pool.run({ paths: [path] }).then((results) => results[0] as FileResult, crashed),
            ),
          );
        }
      } finally {
        await Promise.all(copies.map((copy) => rm(copy, { force: true })));
      }
    };
    const consume = (key: string, result: FileResult) => {
      for (const row of result.rows) {
        features.add(row);
        const rowGenres = row.genres as string[];
        if (rowGenres.length === 0) withoutGenres++;
        for (const genre of rowGenres) genres.add(genre);
      }
      for (const reject of result.rejects) {
        rejects.add({ path: key, track_id: reject.track_id, reason: reject.reason });
        reasons.set(reject.reason, (reasons.get(reject.reason) ?? 0) + 1);
      }
    };

    // Batches in flight, consumed strictly in key order (the listing's order), so the table
    // does not depend on timing; progress is reported once the listing has the total.
    const window: {
      keys: string[];
      result: Promise<FileResult[] | { failure: unknown }>;
    }[] = [];
    let total: number | undefined;
    let done = 0;
    let reported = 0;
    const report = () => {
      const { onFile } = options;
      if (total === undefined || onFile === undefined) return;
      while (reported < done) onFile(++reported, total);
    };
    const takeOldest = async () => {
      const { keys, result } = window.shift() as (typeof window)[number];
      const outcome = await result;
      if ("failure" in outcome) throw outcome.failure;
      for (const [i, key] of keys.entries()) consume(key, outcome[i] as FileResult);
      done += keys.length;
      report();
    };
    let listed = 0;
    let batch: string[] = [];
    const submit = async () => {
      const keys = batch;
      batch = [];
      window.push({
        keys,
        result: readBatch(keys, listed).catch((failure: unknown) => ({ failure })),
      });
      listed += keys.length;
      if (window.length >= workers * 3) await takeOldest();
    };
    for await (const info of store.listAll(`${rawPrefix}/`)) {
      if (!info.key.endsWith(".h5")) continue;
      batch.push(info.key);
      if (batch.length >= Math.min(MAX_BATCH, 1 + Math.floor(listed / (workers * 4)))) {
        await submit();
      }
    }
    if (batch.length > 0) await submit();
    total = listed;
    if (total === 0) {
      throw new InputError(
        `no track files under ${store.uri}/${rawPrefix}/: run \`genre-classifier ingest\` first`,
      );
    }
    report();
    while (window.length > 0) await takeOldest();

    features.close();
    rejects.close();
    await store.putFile(featuresKey, features.path, {
      contentType: "application/vnd.apache.parquet",
    });
    await store.putFile(rejectsKey, rejects.path, {
      contentType: "application/vnd.apache.parquet",
    });
    return {
      files: total,
      tracks: features.rows,
      tracksWithoutGenres: withoutGenres,
      rejects: rejects.rows,
      rejectReasons: [...reasons]
        .map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
        .slice(0, 10),
      genres: genres.size,
      features: `${store.uri}/${featuresKey}`,
      rejectsTable: `${store.uri}/${rejectsKey}`,
      workers,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await pool.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
