// Preprocess: reads every MSD track file in the store on all CPU cores (worker threads) and
// writes one Parquet feature table, plus a table of the files and tracks it had to reject.
// Rows are written in key order as results arrive, so memory stays bounded and a re-run over
// the same inputs writes a byte-identical table.
//
// The main thread only lists the store, hands out batches of files and passes results on in
// key order: the reader threads always hold a second batch, so they never wait for it, and
// the Parquet tables are encoded on a writer thread, so encoding a row group never stalls
// the readers.
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { InputError } from "../common/errors.ts";
import { startWorker } from "../common/worker-pool.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { FEATURE_COLUMNS } from "./extract.ts";
import type { ColumnSpec, Row } from "./table.ts";
import type { GenreVocabulary } from "./vocabulary.ts";

export const DEFAULT_FEATURES_KEY = "datasets/features.parquet";
export const DEFAULT_REJECTS_KEY = "datasets/rejects.parquet";

export const REJECT_COLUMNS: readonly ColumnSpec[] = [
  { name: "path", type: "STRING" },
  { name: "track_id", type: "STRING" },
  { name: "reason", type: "STRING" },
];

export type WorkerSetup =
  | { role: "reader"; vocabulary: string[]; minTermWeight: number }
  | {
      role: "writer";
      features: { path: string; columns: readonly ColumnSpec[] };
      rejects: { path: string; columns: readonly ColumnSpec[] };
    };

/** A batch of track files for a reader: a few dozen at once. */
export interface FileTask {
  id: number;
  paths: string[];
}

export interface BatchResult {
  id: number;
  results: FileResult[];
}

/** A message to the writer: rows to append, or the end (it answers with WriterSummary). */
export type WriterMessage = { rows: Row[]; rejects: Row[] } | { finish: true };

export interface WriterSummary {
  features: number;
  rejects: number;
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
  // The workers start while the store is listed, and read files as the listing finds them.
  const pool = new ReaderPool(workers, {
    role: "reader",
    vocabulary: [...options.vocabulary],
    minTermWeight: options.minTermWeight ?? 0,
  });
  const featuresPath = join(scratch, "features.parquet");
  const rejectsPath = join(scratch, "rejects.parquet");
  const writer = new TableThread({
    role: "writer",
    features: { path: featuresPath, columns: FEATURE_COLUMNS },
    rejects: { path: rejectsPath, columns: REJECT_COLUMNS },
  });
  try {
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
          return await pool.run(paths);
        } catch (error) {
          if (paths.length === 1) return [crashed(error)];
          // A file crashed its worker: read each alone, so only that one is rejected.
          return await Promise.all(
            paths.map((path) =>
              pool.run([path]).then((results) => results[0] as FileResult, crashed),
            ),
          );
        }
      } finally {
        await Promise.all(copies.map((copy) => rm(copy, { force: true })));
      }
    };
    const consume = (keys: string[], results: FileResult[]) => {
      const rows: Row[] = [];
      const rejectRows: Row[] = [];
      for (const [i, key] of keys.entries()) {
        const result = results[i] as FileResult;
        for (const row of result.rows) {
          rows.push(row);
          const rowGenres = row.genres as string[];
          if (rowGenres.length === 0) withoutGenres++;
          for (const genre of rowGenres) genres.add(genre);
        }
        for (const reject of result.rejects) {
          rejectRows.push({ path: key, track_id: reject.track_id, reason: reject.reason });
          reasons.set(reject.reason, (reasons.get(reject.reason) ?? 0) + 1);
        }
      }
      writer.send({ rows, rejects: rejectRows });
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
      consume(keys, outcome);
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
      if (window.length >= workers * 4) await takeOldest();
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

    const written = await writer.finish();
    await store.putFile(featuresKey, featuresPath, {
      contentType: "application/vnd.apache.parquet",
    });
    await store.putFile(rejectsKey, rejectsPath, {
      contentType: "application/vnd.apache.parquet",
    });
    return {
      files: total,
      tracks: written.features,
      tracksWithoutGenres: withoutGenres,
      rejects: written.rejects,
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
    await Promise.all([pool.close(), writer.close()]);
    await rm(scratch, { recursive: true, force: true });
  }
}

interface Job {
  id: number;
  paths: string[];
  resolve(results: FileResult[]): void;
  reject(error: Error): void;
}

interface Reader {
  worker: Worker;
  jobs: Map<number, Job>;
}

/**
 * Reader threads, each given up to `depth` batches at once: the next batch already waits in
 * its message queue when it finishes one. A thread that dies fails the batches it held and is
 * replaced.
 */
class ReaderPool {
  private readonly readers: Reader[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private closed = false;

  constructor(
    size: number,
    private readonly setup: WorkerSetup,
    private readonly depth = 2,
  ) {
    for (let i = 0; i < size; i++) this.readers.push(this.spawn());
  }

  run(paths: string[]): Promise<FileResult[]> {
    if (this.closed) return Promise.reject(new Error("reader pool is closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, paths, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const readers = this.readers.splice(0);
    await Promise.all(readers.map((r) => r.worker.terminate()));
  }

  private spawn(): Reader {
    const reader: Reader = {
      worker: startWorker(import.meta.url, "preprocess-worker", this.setup),
      jobs: new Map(),
    };
    reader.worker.on("message", ({ id, results }: BatchResult) => {
      const job = reader.jobs.get(id);
      reader.jobs.delete(id);
      job?.resolve(results);
      this.dispatch();
    });
    const retire = (error: Error) => {
      const at = this.readers.indexOf(reader);
      if (at < 0) return;
      this.readers.splice(at, 1);
      void reader.worker.terminate();
      for (const job of reader.jobs.values()) job.reject(error);
      if (!this.closed) {
        this.readers.push(this.spawn());
        this.dispatch();
      }
    };
    reader.worker.on("error", retire);
    reader.worker.on("exit", (code) => retire(new Error(`worker exited with code ${code}`)));
    return reader;
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let target: Reader | undefined;
      for (const reader of this.readers) {
        if (reader.jobs.size < this.depth && (!target || reader.jobs.size < target.jobs.size))
          target = reader;
      }
      if (!target) return;
      const job = this.queue.shift() as Job;
      target.jobs.set(job.id, job);
      target.worker.postMessage({ id: job.id, paths: job.paths } satisfies FileTask);
    }
  }
}

/** The writer thread: appends rows to the Parquet tables in the order they are sent. */
class TableThread {
  private readonly worker: Worker;
  private failure: Error | undefined;
  private readonly done: Promise<WriterSummary>;

  constructor(setup: WorkerSetup) {
    this.worker = startWorker(import.meta.url, "preprocess-worker", setup);
    this.done = new Promise<WriterSummary>((resolve, reject) => {
      this.worker.once("message", resolve);
      this.worker.once("error", (error) => {
        this.failure = error;
        reject(error);
      });
      this.worker.once("exit", (code) =>
        reject(this.failure ?? new Error(`the table writer exited with code ${code}`)),
      );
    });
    this.done.catch(() => {});
  }

  send(message: WriterMessage): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage(message);
  }

  finish(): Promise<WriterSummary> {
    this.send({ finish: true });
    return this.done;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
