// Ingest: brings MSD track files from a folder or a .tar/.tar.gz archive (streamed, never
// loaded whole) into the object store under raw/msd/A/B/C/TR….h5, checking each is HDF5 and
// holds the track its name says, copying several at once, and skipping files the store
// already holds unchanged.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, opendir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { createGunzip } from "node:zlib";
import { extract } from "tar-stream";
import { InputError } from "../common/errors.ts";
import { TrackReadError } from "../msd/errors.ts";
import { H5T_COMPOUND, H5T_STR_SPACEPAD, H5T_STRING } from "../msd/hdf5.ts";
import { NativeHdf5File } from "../msd/hdf5-native.ts";
import { openTrackFile } from "../msd/reader.ts";
import type { ObjectStore } from "../storage/object-store.ts";

export const DEFAULT_RAW_PREFIX = "raw/msd";

const TRACK_FILE = /^(TR[A-Z0-9]{16})\.h5$/;
const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Larger than any MSD track file by far: a guard against reading a huge stray file. */
const MAX_TRACK_FILE_BYTES = 256 * 1024 * 1024;

export interface IngestOptions {
  /** A folder, or a .tar, .tar.gz or .tgz archive. */
  source: string;
  store: ObjectStore;
  /** Where track files go in the store (default raw/msd). */
  prefix?: string;
  /** Files written at once (default 8). */
  concurrency?: number;
  /** Called once per track file handled. */
  onFile?: (outcome: FileOutcome) => void;
}

export type FileOutcome = "copied" | "unchanged" | "rejected";

export interface Rejection {
  path: string;
  reason: string;
}

export interface IngestSummary {
  source: string;
  /** Where the track files are, e.g. file:///…/store/raw/msd. */
  target: string;
  /** Track files found in the source. */
  found: number;
  copied: number;
  unchanged: number;
  rejected: Rejection[];
  /** Entries that are not track files (folders' other files, macOS `._*` files, …). */
  skipped: number;
  bytesCopied: number;
  seconds: number;
}

interface Candidate {
  /** The file's path in the source, for messages. */
  path: string;
  trackId: string;
  /** The file on disk, when it is one (not an archive entry). */
  file?: string;
  read(): Promise<Buffer>;
}

/**
 * Per track id, the source path of the file taken for it, or, while an earlier file with that
 * id is still being checked, a promise of that (undefined when that file was rejected).
 */
type Holders = Map<string, string | Promise<string | undefined>>;

export async function ingest(options: IngestOptions): Promise<IngestSummary> {
  const started = Date.now();
  const prefix = (options.prefix ?? DEFAULT_RAW_PREFIX).replace(/^\/+|\/+$/g, "");
  const concurrency = options.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InputError(
      `ingest concurrency ${concurrency}: expected a whole number of at least 1`,
    );
  }
  const info = await stat(options.source).catch(() => {
    throw new InputError(`--source ${options.source}: no such file or folder`);
  });
  const isArchive = /\.(tar|tar\.gz|tgz)$/i.test(options.source);
  if (!info.isDirectory() && !(info.isFile() && isArchive)) {
    throw new InputError(
      `--source ${options.source}: expected a folder or a .tar, .tar.gz or .tgz archive`,
    );
  }

  const summary: IngestSummary = {
    source: options.source,
    target: `${options.store.uri}/${prefix}`,
    found: 0,
    copied: 0,
    unchanged: 0,
    rejected: [],
    skipped: 0,
    bytesCopied: 0,
    seconds: 0,
  };
  const holders: Holders = new Map();
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;

  const handle = async (candidate: Candidate): Promise<void> => {
    const outcome = await ingestFile(candidate, options.store, prefix, holders, summary);
    options.onFile?.(outcome);
  };
  const schedule = async (candidate: Candidate) => {
    if (failure) throw failure;
    summary.found++;
    const work = handle(candidate).catch((error) => {
      failure ??= error;
    });
    const tracked = work.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  };

  const candidates = info.isDirectory()
    ? folderCandidates(options.source, summary)
    : archiveCandidates(options.source, summary);
  for await (const candidate of candidates) await schedule(candidate);
  await Promise.all(inFlight);
  if (failure) throw failure;
  if (summary.found === 0) {
    const what = info.isDirectory() ? "folder" : "archive";
    throw new InputError(
      `--source ${options.source}: the ${what} contains no MSD track files (files named TR + 16 letters or digits + .h5)`,
    );
  }
  summary.rejected.sort((a, b) => a.path.localeCompare(b.path));
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

async function ingestFile(
  candidate: Candidate,
  store: ObjectStore,
  prefix: string,
  holders: Holders,
  summary: IngestSummary,
): Promise<FileOutcome> {
  const reject = (reason: string): FileOutcome => {
    summary.rejected.push({ path: candidate.path, reason });
    return "rejected";
  };
  const id = candidate.trackId;
  // Files with the same id are decided in walk order: the first one that passes the checks
  // is taken, whatever order the checks finish in.
  const earlier = holders.get(id);
  let settle = (_holder: string | undefined) => {};
  const decided = new Promise<string | undefined>((resolve) => {
    settle = resolve;
  });
  holders.set(id, decided);
  let holder: string | undefined;
  try {
    let bytes: Buffer;
    try {
      bytes = await candidate.read();
    } catch (error) {
      holder = await earlier;
      return reject(`cannot be read: ${(error as Error).message}`);
    }
    const problem = hdf5Problem(bytes) ?? (await trackIdProblem(id, bytes, candidate));
    holder = await earlier;
    if (problem) return reject(problem);
    if (holder !== undefined) return reject(`duplicate track id ${id} (also at ${holder})`);
    holder = candidate.path;
    const key = `${prefix}/${id[2]}/${id[3]}/${id[4]}/${id}.h5`;
    if (await holdsSameBytes(store, key, bytes)) {
      summary.unchanged++;
      return "unchanged";
    }
    await store.put(key, bytes, { contentType: "application/x-hdf5" });
    summary.copied++;
    summary.bytesCopied += bytes.byteLength;
    return "copied";
  } finally {
    settle(holder);
    if (holders.get(id) === decided) {
      if (holder === undefined) holders.delete(id);
      else holders.set(id, holder);
    }
  }
}

/**
 * Why a file named after track `id` does not hold that track (and only it), or undefined
 * when it does. The /analysis/songs track ids are read with the own HDF5 reader from the
 * bytes in memory; a file it cannot read goes to the full track reader for the reason.
 */
async function trackIdProblem(
  id: string,
  bytes: Buffer,
  candidate: Candidate,
): Promise<string | undefined> {
  let inside: string[];
  try {
    inside = trackIdsInMemory(bytes, candidate.path);
  } catch {
    try {
      inside = await trackIdsFromFile(bytes, candidate);
    } catch (error) {
      const reason =
        error instanceof TrackReadError
          ? `${error.field ? `${error.field}: ` : ""}${error.problem}`
          : (error as Error).message;
      return `cannot read the track id inside it: ${reason}`;
    }
  }
  if (inside.length === 0) return "holds no track (/analysis/songs has no rows)";
  const other = inside.find((inner) => inner !== id);
  if (other !== undefined) return `file name ${id} does not match the track id ${other} inside it`;
  return undefined;
}

const SONGS = "/analysis/songs";
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The track_id column of /analysis/songs, read by the own HDF5 reader; throws otherwise. */
function trackIdsInMemory(bytes: Buffer, name: string): string[] {
  const file = NativeHdf5File.fromBytes(name, bytes);
  const metadata = file.metadata(SONGS);
  const member = metadata.compound_type?.members.find((m) => m.name === "track_id");
  if (
    metadata.type !== H5T_COMPOUND ||
    metadata.shape?.length !== 1 ||
    member?.type !== H5T_STRING ||
    member.vlen
  ) {
    throw new Error(`${SONGS}.track_id is not a fixed-length string field of a 1-D table`);
  }
  const rows = metadata.shape[0] as number;
  const table = file.readBytes(SONGS, metadata);
  const ids: string[] = [];
  for (let row = 0; row < rows; row++) {
    const start = row * metadata.size + member.offset;
    let end = start + member.size;
    while (end > start && table[end - 1] === 0) end--;
    if (member.strpad === H5T_STR_SPACEPAD) while (end > start && table[end - 1] === 0x20) end--;
    ids.push(utf8.decode(table.subarray(start, end)));
  }
  return ids;
}

/** The track ids as the full track reader reads them (from a temporary copy of an entry). */
async function trackIdsFromFile(bytes: Buffer, candidate: Candidate): Promise<string[]> {
  const scratch = candidate.file ? undefined : await mkdtemp(join(tmpdir(), "gc-ingest-"));
  try {
    const path = candidate.file ?? join(scratch as string, basename(candidate.path));
    if (scratch) await writeFile(path, bytes);
    const trackFile = await openTrackFile(path, { arrays: [] });
    try {
      const ids: string[] = [];
      for (let row = 0; row < trackFile.trackCount; row++) {
        ids.push((await trackFile.readTrack(row)).analysis.track_id);
      }
      return ids;
    } finally {
      trackFile.close();
    }
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

/** Why these bytes are not an HDF5 file, or undefined when they are one. */
export function hdf5Problem(bytes: Uint8Array): string | undefined {
  if (bytes.byteLength === 0) return "empty file";
  for (
    let offset = 0;
    offset + HDF5_SIGNATURE.length <= bytes.byteLength;
    offset = offset === 0 ? 512 : offset * 2
  ) {
    if (
      Buffer.from(bytes.buffer, bytes.byteOffset + offset, HDF5_SIGNATURE.length).equals(
        HDF5_SIGNATURE,
      )
    )
      return undefined;
  }
  return "not an HDF5 file (no HDF5 signature)";
}

async function holdsSameBytes(store: ObjectStore, key: string, bytes: Buffer): Promise<boolean> {
  const existing = await store.head(key);
  if (!existing || existing.size !== bytes.byteLength) return false;
  if (/^[0-9a-f]{32}$/.test(existing.etag)) {
    return existing.etag === createHash("md5").update(bytes).digest("hex");
  }
  return Buffer.from(await store.get(key)).equals(bytes);
}

async function* folderCandidates(root: string, summary: IngestSummary): AsyncGenerator<Candidate> {
  const folders = [root];
  while (folders.length > 0) {
    const folder = folders.shift() as string;
    const entries: { name: string; dir: boolean }[] = [];
    for await (const entry of await opendir(folder)) {
      if (entry.isDirectory()) entries.push({ name: entry.name, dir: true });
      else if (entry.isFile()) entries.push({ name: entry.name, dir: false });
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.dir) {
        folders.push(path);
        continue;
      }
      const match = TRACK_FILE.exec(entry.name);
      if (!match) {
        summary.skipped++;
        continue;
      }
      yield {
        path: relative(root, path) || entry.name,
        trackId: match[1] as string,
        file: path,
        read: () => readFile(path),
      };
    }
  }
}

async function* archiveCandidates(file: string, summary: IngestSummary): AsyncGenerator<Candidate> {
  const input = createReadStream(file);
  const unpack = extract();
  const fail = (error: Error) =>
    unpack.destroy(
      new InputError(
        `archive ${file}: cannot be read as ${/\.tar$/i.test(file) ? "tar" : "gzip-compressed tar"} (${error.message})`,
      ),
    );
  input.on("error", fail);
  if (/\.tar$/i.test(file)) input.pipe(unpack);
  else {
    const gunzip = createGunzip();
    gunzip.on("error", fail);
    input.pipe(gunzip).pipe(unpack);
  }
  try {
    for await (const entry of unpack) {
      const name = basename(entry.header.name);
      const match = entry.header.type === "file" ? TRACK_FILE.exec(name) : null;
      if (!match) {
        if (entry.header.type === "file") summary.skipped++;
        entry.resume();
        continue;
      }
      if (entry.header.size > MAX_TRACK_FILE_BYTES) {
        entry.resume();
        summary.found++;
        summary.rejected.push({
          path: entry.header.name,
          reason: `too large for a track file (${entry.header.size} bytes)`,
        });
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      yield { path: entry.header.name, trackId: match[1] as string, read: async () => bytes };
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(
      `archive ${file}: cannot be read as a tar archive (${(error as Error).message})`,
    );
  } finally {
    input.destroy();
  }
}
