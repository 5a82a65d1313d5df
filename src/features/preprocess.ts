// Preprocess: reads every MSD track file in the store on all CPU cores (worker threads) and
// writes one Parquet feature table, plus a table of the files and tracks it had to reject.
// Rows are written in key order as results arrive, so memory stays bounded and a re-run over
// the same inputs writes a byte-identical table.
//
// Three kinds of thread share the work. The main thread lists the store and hands out
// numbered batches of files; it never touches a row. Reader threads (one per worker) read a
// batch and send its rows, column by column, straight to the writer thread, which puts the
// batches back in order and encodes the Parquet tables. Each reader always holds a second
// batch, so it never waits for the main thread.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { MessageChannel, type MessagePort, type Worker } from "node:worker_threads";
import { InputError } from "../common/errors.ts";
import { startWorker } from "../common/worker-pool.ts";
import { compareKeys, type ObjectStore } from "../storage/object-store.ts";
import type { ColumnBatch } from "./column-batch.ts";
import { FEATURE_COLUMNS } from "./extract.ts";
import type { ColumnSpec } from "./table.ts";
import type { GenreVocabulary } from "./vocabulary.ts";

export const DEFAULT_FEATURES_KEY = "datasets/features.parquet";
export const DEFAULT_REJECTS_KEY = "datasets/rejects.parquet";
export const PART_CONTENT_TYPE = "application/x-genre-classifier-part";

export const REJECT_COLUMNS: readonly ColumnSpec[] = [
  { name: "path", type: "STRING" },
  { name: "track_id", type: "STRING" },
  { name: "reason", type: "STRING" },
];

export interface ReaderSetup {
  vocabulary: string[];
  minTermWeight: number;
}

export interface WriterSetup {
  /** Where the track files are: a track's own key is `<rawPrefix>/A/B/C/<id>.h5`. */
  rawPrefix: string;
  features: { path: string; columns: readonly ColumnSpec[] };
  rejects: { path: string; columns: readonly ColumnSpec[] };
  /** Write the deliveries to this part file instead of the tables (one partition's share). */
  part?: { path: string; header: object };
}

/** A range of track-file keys: those after `startAfter` (all from the first when unset) up to `last`. */
export interface KeyRange {
  startAfter?: string | undefined;
  last: string;
  /** Track files (.h5) in the range when it was planned. */
  files: number;
}

/**
 * A reader's task: part `part` of `parts` of batch `seq` (a batch whose reader crashed is read
 * again one file per part). `keys` name the files in the store, `paths` where to read them.
 */
export interface ReadTask {
  id: number;
  seq: number;
  part: number;
  parts: number;
  keys: string[];
  paths: string[];
}

/** What a reader sends the main thread when it has delivered a task to the writer. */
export interface ReadDone {
  id: number;
}

export interface Reject {
  path: string;
  track_id: string;
  reason: string;
}

/** A part of a batch, as the writer receives it. */
export interface Delivery {
  seq: number;
  part: number;
  parts: number;
  files: number;
  features: ColumnBatch;
  /** The key of the file each feature row comes from. */
  keys: string[];
  rejects: Reject[];
}

/** Messages to the writer: a reader's port to listen on, a delivery, or the number of batches. */
export type WriterMessage = { readerPort: MessagePort } | Delivery | { finish: number };

/** Messages from the writer: files written so far, or the end. */
export type WriterReport = { written: number } | { summary: WriterSummary };

export interface WriterSummary {
  features: number;
  rejects: number;
  withoutGenres: number;
  genres: number;
  rejectReasons: { reason: string; count: number }[];
}

/** A listed track file: its key, its own file on a local store, its size. */
interface Listed {
  key: string;
  path?: string | undefined;
  size: number;
}

/** Remote files up to this size are fetched into memory, larger ones streamed to disk. */
const IN_MEMORY_COPY_BYTES = 16 * 1024 * 1024;

/** Files per batch grow from 1 (every worker busy at once) to this. */
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
  /**
   * Read only the track files in `range` and put their rows and rejects, as they are, into the
   * part file `key` (a partition of a partitioned preprocess) instead of writing the tables.
   */
  part?: { key: string; range: KeyRange; header: object };
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
  /** The part file's size, when writing a part. */
  partBytes?: number;
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
  const featuresPath = join(scratch, "features.parquet");
  const rejectsPath = join(scratch, "rejects.parquet");
  const { part } = options;
  const partPath = join(scratch, "part.gcpart");
  // The threads start while the store is listed, and read files as the listing finds them.
  const writer = new WriterThread({
    rawPrefix,
    features: { path: featuresPath, columns: FEATURE_COLUMNS },
    rejects: { path: rejectsPath, columns: REJECT_COLUMNS },
    ...(part ? { part: { path: partPath, header: part.header } } : {}),
  });
  const readerSetup = {
    vocabulary: [...options.vocabulary],
    minTermWeight: options.minTermWeight ?? 0,
  };
  const pool = takeReaders(workers, readerSetup, Boolean(part));
  pool.attach(writer);
  let finished = false;
  try {
    let total: number | undefined;
    let reported = 0;
    const report = () => {
      const { onFile } = options;
      if (total === undefined || onFile === undefined) return;
      while (reported < writer.written) onFile(++reported, total);
    };
    writer.onWritten = report;

    const crashed = (seq: number, part: number, parts: number, keys: string[], error: unknown) =>
      writer.deliver({
        seq,
        part,
        parts,
        files: keys.length,
        features: { rows: 0, columns: FEATURE_COLUMNS.map(() => []) },
        keys: [],
        rejects: keys.map((path) => ({
          path,
          track_id: "",
          reason: `reading crashed its worker: ${(error as Error).message}`,
        })),
      });
    const readBatch = async (seq: number, files: Listed[]) => {
      const keys = files.map((f) => f.key);
      const copies: string[] = [];
      try {
        const paths = await Promise.all(
          files.map(async ({ key, path, size }, i) => {
            const local = path ?? (await store.localFile(key));
            if (local) return local;
            const copy = join(scratch, `${seq}-${i}.h5`);
            copies.push(copy);
            // One GET for a file of a track's size (getFile asks for the object's details first).
            if (size <= IN_MEMORY_COPY_BYTES) await writeFile(copy, await store.get(key));
            else await store.getFile(key, copy);
            return copy;
          }),
        );
        try {
          await pool.run({ seq, part: 0, parts: 1, keys, paths });
        } catch (error) {
          if (keys.length === 1) return crashed(seq, 0, 1, keys, error);
          // A file crashed its reader: read each alone, so only that one is rejected.
          await Promise.all(
            keys.map((key, i) =>
              pool
                .run({ seq, part: i, parts: keys.length, keys: [key], paths: [paths[i] as string] })
                .catch((error: unknown) => crashed(seq, i, keys.length, [key], error)),
            ),
          );
        }
      } finally {
        await Promise.all(copies.map((copy) => rm(copy, { force: true })));
      }
    };

    // The listing runs ahead (a key is small), so the total, and with it the progress bar, is
    // known early. Batches are numbered in the listing's (key) order; at most a few per reader
    // are read and not yet written, which bounds the rows held anywhere.
    const found: Listed[] = [];
    let listed = false;
    let listingMoved: (() => void) | undefined;
    const listing = (async () => {
      try {
        const listed = store.listAll(
          `${rawPrefix}/`,
          part?.range.startAfter ? { startAfter: part.range.startAfter } : {},
        );
        for await (const info of listed) {
          if (part && compareKeys(info.key, part.range.last) > 0) break;
          if (!info.key.endsWith(".h5")) continue;
          found.push({ key: info.key, path: info.localPath, size: info.size });
          listingMoved?.();
        }
      } finally {
        listed = true;
        listingMoved?.();
      }
    })();
    listing.catch((error: unknown) => writer.fail(error));
    const moreListed = () =>
      new Promise<void>((resolve) => {
        listingMoved = () => {
          listingMoved = undefined;
          resolve();
        };
      });

    let batches = 0;
    let handedOut = 0;
    for (;;) {
      const size = Math.min(MAX_BATCH, 1 + Math.floor(handedOut / (workers * 4)));
      const waiting = found.length - handedOut;
      if (waiting < size && !listed) {
        await Promise.race([moreListed(), writer.progress()]);
        continue;
      }
      if (total === undefined && listed) {
        await listing;
        total = found.length;
        if (part && total !== part.range.files)
          throw new InputError(
            `track files under ${store.uri}/${rawPrefix}/ changed while preprocess ran: ${part.range.files} planned from ${part.range.startAfter ?? "the first"} to ${part.range.last}, ${total} found; run preprocess again`,
          );
        if (total === 0) {
          throw new InputError(
            `no track files under ${store.uri}/${rawPrefix}/: run \`genre-classifier ingest\` first`,
          );
        }
        report();
      }
      if (waiting === 0) break;
      if (batches - writer.batchesWritten >= workers * 4) {
        await writer.progress();
        continue;
      }
      const files = found.slice(handedOut, handedOut + size);
      handedOut += files.length;
      readBatch(batches++, files).catch((error: unknown) => writer.fail(error));
    }
    const written = await writer.finish(batches);
    report();

    if (part) {
      const put = await store.putFile(part.key, partPath, { contentType: PART_CONTENT_TYPE });
      finished = true;
      return {
        files: found.length,
        tracks: written.features,
        tracksWithoutGenres: 0,
        rejects: written.rejects,
        rejectReasons: [],
        genres: 0,
        features: `${store.uri}/${part.key}`,
        rejectsTable: `${store.uri}/${part.key}`,
        workers,
        seconds: (Date.now() - started) / 1000,
        partBytes: put.size,
      };
    }
    await store.putFile(featuresKey, featuresPath, {
      contentType: "application/vnd.apache.parquet",
    });
    await store.putFile(rejectsKey, rejectsPath, {
      contentType: "application/vnd.apache.parquet",
    });
    const summary: PreprocessSummary = {
      files: found.length,
      tracks: written.features,
      tracksWithoutGenres: written.withoutGenres,
      rejects: written.rejects,
      rejectReasons: written.rejectReasons,
      genres: written.genres,
      features: `${store.uri}/${featuresKey}`,
      rejectsTable: `${store.uri}/${rejectsKey}`,
      workers,
      seconds: (Date.now() - started) / 1000,
    };
    finished = true;
    return summary;
  } finally {
    await Promise.all([
      finished && part ? keepReaders(pool, workers, readerSetup) : pool.close(),
      writer.close(),
    ]);
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Reader threads kept warm between the partitions one worker process reads: starting threads
 * and compiling the reader again for each partition cost about a third of a second.
 */
let keptReaders: { key: string; pool: ReaderPool } | undefined;

function takeReaders(workers: number, setup: ReaderSetup, reuse: boolean): ReaderPool {
  const key = JSON.stringify([workers, setup]);
  const kept = keptReaders;
  if (reuse && kept?.key === key && kept.pool.usable) {
    keptReaders = undefined;
    return kept.pool;
  }
  return new ReaderPool(workers, setup);
}

async function keepReaders(pool: ReaderPool, workers: number, setup: ReaderSetup): Promise<void> {
  const previous = keptReaders;
  pool.detach();
  keptReaders = { key: JSON.stringify([workers, setup]), pool };
  if (previous && previous.pool !== pool) await previous.pool.close();
}

interface Job {
  task: ReadTask;
  resolve(): void;
  reject(error: Error): void;
}

interface Reader {
  worker: Worker;
  jobs: Map<number, Job>;
}

/**
 * Reader threads, each given up to `depth` tasks at once: the next one already waits in its
 * message queue when it finishes one. A thread that dies fails the task it was reading, hands
 * the others on, and is replaced. Each reader has its own channel to the writer thread.
 */
class ReaderPool {
  private readonly readers: Reader[] = [];
  private readonly queue: Job[] = [];
  private nextId = 0;
  private closed = false;
  private writer: WriterThread | undefined;

  constructor(
    size: number,
    private readonly setup: ReaderSetup,
    private readonly depth = 2,
  ) {
    for (let i = 0; i < size; i++) this.readers.push(this.spawn());
  }

  /** Connects every reader to this run's writer thread (and keeps the process alive). */
  attach(writer: WriterThread): void {
    this.writer = writer;
    for (const reader of this.readers) {
      this.connect(reader);
      reader.worker.ref();
    }
  }

  /** Leaves the readers idle between runs, without holding the process open. */
  detach(): void {
    this.writer = undefined;
    for (const reader of this.readers) reader.worker.unref();
  }

  get usable(): boolean {
    return !this.closed && this.queue.length === 0;
  }

  private connect(reader: Reader): void {
    if (!this.writer) return;
    const channel = new MessageChannel();
    reader.worker.postMessage({ writerPort: channel.port1 }, [channel.port1]);
    this.writer.listen(channel.port2);
  }

  run(task: Omit<ReadTask, "id">): Promise<void> {
    if (this.closed) return Promise.reject(new Error("reader pool is closed"));
    return new Promise((resolve, reject) => {
      this.queue.push({ task: { id: this.nextId++, ...task }, resolve, reject });
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
      worker: startWorker(import.meta.url, "preprocess-reader", this.setup),
      jobs: new Map(),
    };
    this.connect(reader);
    reader.worker.on("message", ({ id }: ReadDone) => {
      const job = reader.jobs.get(id);
      reader.jobs.delete(id);
      job?.resolve();
      this.dispatch();
    });
    const retire = (error: Error) => {
      const at = this.readers.indexOf(reader);
      if (at < 0) return;
      this.readers.splice(at, 1);
      void reader.worker.terminate();
      // A reader works through its tasks in order: the first was being read, the others only
      // waited and go to another reader.
      const [reading, ...waiting] = reader.jobs.values();
      reading?.reject(error);
      this.queue.unshift(...waiting);
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
      target.jobs.set(job.task.id, job);
      target.worker.postMessage(job.task);
    }
  }
}

/**
 * The writer thread: takes deliveries from the readers' channels (and from this thread for
 * crashed files), writes batches in order and reports how far it got.
 */
class WriterThread {
  private readonly worker: Worker;
  private failure: Error | undefined;
  private readonly summary: Promise<WriterSummary>;
  private waiting: (() => void)[] = [];
  /** Files and batches written so far. */
  written = 0;
  batchesWritten = 0;
  onWritten: (() => void) | undefined;

  constructor(setup: WriterSetup) {
    this.worker = startWorker(import.meta.url, "preprocess-writer", setup);
    this.summary = new Promise<WriterSummary>((resolve, reject) => {
      this.worker.on("message", (report: WriterReport) => {
        if ("summary" in report) return resolve(report.summary);
        this.written += report.written;
        this.batchesWritten++;
        this.onWritten?.();
        this.wake();
      });
      this.worker.once("error", (error) => {
        this.fail(error);
        reject(error);
      });
      this.worker.once("exit", (code) => {
        this.fail(new Error(`the table writer exited with code ${code}`));
        reject(this.failure);
      });
    });
    this.summary.catch(() => {});
  }

  listen(port: MessagePort): void {
    this.worker.postMessage({ readerPort: port } satisfies WriterMessage, [port]);
  }

  deliver(delivery: Delivery): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage(delivery satisfies WriterMessage);
  }

  /** Stops the run: the next wait for progress, or the end, throws this error. */
  fail(error: unknown): void {
    this.failure ??= error instanceof Error ? error : new Error(String(error));
    this.wake();
  }

  /** Resolves when another batch is written; rejects once the run has failed. */
  progress(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) =>
      this.waiting.push(() => (this.failure ? reject(this.failure) : resolve())),
    );
  }

  /** Waits until all `batches` batches are written and the tables closed. */
  async finish(batches: number): Promise<WriterSummary> {
    this.worker.postMessage({ finish: batches } satisfies WriterMessage);
    while (!this.failure) {
      const outcome = await Promise.race([this.summary, this.progress().then(() => undefined)]);
      if (outcome) return outcome;
    }
    throw this.failure;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }
}
