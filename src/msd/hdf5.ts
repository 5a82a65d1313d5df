// Thin access to the HDF5 C library compiled to wasm (h5wasm): open a file by path with clean
// errors, list groups, describe datasets, and read a dataset (or a row range of it) as raw
// bytes in one H5Dread. h5wasm's own value getters decode strings leniently and row by row;
// the reader needs the raw bytes to decode strictly and to take numeric arrays whole.
//
// h5wasm in node reaches the host's files directly (emscripten's NODERAWFS), so HDF5 would
// follow a file's external storage, external links and virtual datasets anywhere on the host.
// While a call for a track file runs, the module's file system opens nothing but that file,
// once, when it is opened: any other open fails, and the dataset that tried is refused, naming
// the file it reached for. HDF5's error stack (and emscripten's warnings) printed during the
// call are kept from stderr; the innermost HDF5 error becomes part of the reason instead.
// Declared sizes are checked against limits.ts before anything is read.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type h5wasm from "h5wasm/node";
import { TrackFileRefused, TrackReadError } from "./errors.ts";
import { checkChunkSize, checkDeclaredSize, checkReadSize } from "./limits.ts";

export type H5Module = Awaited<typeof h5wasm.ready>;

/** What the reader needs to know of an HDF5 type (h5wasm's metadata has all of it). */
export interface TypeMetadata {
  type: number;
  size: number;
  signed: boolean;
  vlen: boolean;
  littleEndian: boolean;
  strpad?: number;
  cset?: number;
}

export interface CompoundMember extends TypeMetadata {
  name: string;
  offset: number;
}

export interface DatasetMetadata extends TypeMetadata {
  shape: number[] | null;
  compound_type?: { members: CompoundMember[]; nmembers: number };
}

/** An HDF5 file open for reading: the HDF5 library's (Hdf5File) or this project's own. */
export interface Hdf5Source {
  readonly path: string;
  close(): void;
  isGroup(path: string): boolean;
  isDataset(path: string): boolean;
  /** Names of the members of a group (the caller checks it is a group). */
  names(group: string): string[];
  metadata(dataset: string): DatasetMetadata;
  /**
   * Rows [start, start+count) of a dataset along its first axis (all of it when no range is
   * given), as a copy of the bytes in the file's element layout, little-endian.
   */
  readBytes(
    dataset: string,
    metadata: DatasetMetadata,
    range?: { start: number; count: number },
  ): Uint8Array;
}

let modulePromise: Promise<H5Module> | undefined;

/**
 * The h5wasm module, loaded and initialised on first use (a reader that never needs it never
 * pays for it). In node it reads and writes real paths directly.
 */
export function loadHdf5(): Promise<H5Module> {
  modulePromise ??= import("h5wasm/node").then((module) => module.default.ready);
  return modulePromise;
}

export const H5T_INTEGER = 0;
export const H5T_FLOAT = 1;
export const H5T_STRING = 3;
export const H5T_COMPOUND = 6;
export const H5T_STR_SPACEPAD = 2;

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Checks the HDF5 superblock with plain file reads before HDF5 sees the file, so the common
 * failures (missing file, not HDF5, truncated copy) give one clear error instead of HDF5's
 * diagnostic dump on stderr. Returns the file's size when it looks whole.
 */
export function checkHdf5File(file: string): number {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    throw new TrackReadError(file, undefined, `cannot open the file (${code || String(error)})`);
  }
  try {
    const size = fstatSync(fd).size;
    const at = findSignature(fd, size);
    if (at === undefined) {
      throw new TrackReadError(
        file,
        undefined,
        `not an HDF5 file: no HDF5 signature found in its ${size} bytes`,
      );
    }
    const header = Buffer.alloc(64);
    const got = readSync(fd, header, 0, header.length, at);
    const needed = storedEndOfFile(header.subarray(0, got), at);
    if (needed === "short") {
      throw new TrackReadError(
        file,
        undefined,
        `truncated HDF5 file: it ends inside the superblock (${size} bytes)`,
      );
    }
    if (needed !== undefined && size < needed) {
      throw new TrackReadError(
        file,
        undefined,
        `truncated HDF5 file: it has ${size} bytes but its superblock says ${needed}`,
      );
    }
    return size;
  } finally {
    closeSync(fd);
  }
}

function findSignature(fd: number, size: number): number | undefined {
  const bytes = Buffer.alloc(8);
  // HDF5 looks for its signature at 0, 512, 1024, 2048, ... (after a user block).
  for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
    if (readSync(fd, bytes, 0, 8, at) === 8 && HDF5_SIGNATURE.every((b, i) => bytes[i] === b)) {
      return at;
    }
  }
  return undefined;
}

/** The byte length the superblock promises, "short" if the superblock itself is cut. */
function storedEndOfFile(header: Buffer, at: number): number | "short" | undefined {
  if (header.length < 9) return "short";
  const version = header[8];
  let offsetSize: number | undefined;
  let baseField: number;
  if (version === 0 || version === 1) {
    offsetSize = header[13];
    baseField = version === 0 ? 24 : 28;
  } else if (version === 2 || version === 3) {
    offsetSize = header[9];
    baseField = 12;
  } else {
    return undefined;
  }
  if (offsetSize !== 2 && offsetSize !== 4 && offsetSize !== 8) return undefined;
  const eofField = baseField + 2 * offsetSize;
  if (header.length < eofField + offsetSize) return "short";
  const base = readAddress(header, baseField, offsetSize);
  const eof = readAddress(header, eofField, offsetSize);
  if (base === undefined || eof === undefined) return undefined;
  return Math.max(base, at) + eof;
}

function readAddress(bytes: Buffer, offset: number, size: 2 | 4 | 8): number | undefined {
  if (size === 2) return bytes.readUInt16LE(offset);
  if (size === 4) return bytes.readUInt32LE(offset);
  const value = bytes.readBigUInt64LE(offset);
  return value === 0xffffffffffffffffn ? undefined : Number(value);
}

/** The parts of emscripten's file system the guard wraps. */
interface GuardedFs {
  open(path: unknown, ...rest: unknown[]): unknown;
  write(
    stream: { fd?: number },
    buffer: Uint8Array,
    offset: number,
    length: number,
    ...rest: unknown[]
  ): number;
  ErrnoError: new (errno: number) => Error;
}

/** What the guard of one h5wasm module lets through, and what it kept back, in one call. */
interface Guard {
  active: boolean;
  /** The one path the current call may open (once). */
  mayOpen: string | undefined;
  /** Paths the current call tried to open and could not. */
  refused: string[];
  /** What HDF5 printed on stderr during the current call. */
  printed: string;
}

const EMSCRIPTEN_EACCES = 2;
const MAX_KEPT_DIAGNOSTICS = 64 * 1024;
const guards = new WeakMap<H5Module, Guard>();

/** The guard of an h5wasm module, installed on first use; it acts only while `active`. */
function guardOf(h5: H5Module): Guard {
  const existing = guards.get(h5);
  if (existing) return existing;
  const guard: Guard = { active: false, mayOpen: undefined, refused: [], printed: "" };
  const fs = h5.FS as unknown as GuardedFs;
  const open = fs.open;
  const write = fs.write;
  fs.open = function (this: unknown, path: unknown, ...rest: unknown[]) {
    if (guard.active) {
      if (typeof path !== "string" || path !== guard.mayOpen) {
        guard.refused.push(String(path));
        throw new fs.ErrnoError(EMSCRIPTEN_EACCES);
      }
      guard.mayOpen = undefined;
    }
    return open.call(this, path, ...rest);
  };
  fs.write = function (this: unknown, stream, buffer, offset, length, ...rest) {
    if (guard.active && (stream.fd === 1 || stream.fd === 2)) {
      if (guard.printed.length < MAX_KEPT_DIAGNOSTICS) {
        guard.printed += Buffer.from(buffer.subarray(offset, offset + length)).toString("utf8");
      }
      return length;
    }
    return write.call(this, stream, buffer, offset, length, ...rest);
  };
  guards.set(h5, guard);
  return guard;
}

/** The innermost error of an HDF5 error stack as printed ("#012: ... in H5X(): what"). */
function innermostError(printed: string): string | undefined {
  let last: string | undefined;
  for (const match of printed.matchAll(/#\d+: .* in [\w.]+\(\): (.+)$/gm)) last = match[1];
  return last?.trim();
}

/** An HDF5 file open for reading; every call names the file in its errors. */
export class Hdf5File implements Hdf5Source {
  private constructor(
    private readonly h5: H5Module,
    private readonly guard: Guard,
    readonly path: string,
    private readonly size: number,
    private readonly id: bigint,
  ) {}

  static open(h5: H5Module, path: string): Hdf5File {
    const size = checkHdf5File(path);
    const guard = guardOf(h5);
    guard.mayOpen = path;
    const id = guarded(guard, path, undefined, "open the file", () =>
      h5.open(path, h5.H5F_ACC_RDONLY, false, -1, -1),
    );
    if (id < 0n) {
      throw new TrackReadError(path, undefined, failure(guard, "open the file"));
    }
    return new Hdf5File(h5, guard, path, size, id);
  }

  close(): void {
    this.call(undefined, "close the file", () => this.h5.close_file(this.id));
  }

  isGroup(path: string): boolean {
    return (
      this.call(path, "find the object", () => this.h5.get_type(this.id, path)) ===
      this.h5.H5G_GROUP
    );
  }

  isDataset(path: string): boolean {
    return (
      this.call(path, "find the object", () => this.h5.get_type(this.id, path)) ===
      this.h5.H5G_DATASET
    );
  }

  /** Names of the members of a group (the caller checks it is a group). */
  names(group: string): string[] {
    return this.call(group, "list the group", () => this.h5.get_names(this.id, group, false));
  }

  metadata(dataset: string): DatasetMetadata {
    const metadata = this.call(dataset, "describe the dataset", () =>
      this.h5.get_dataset_metadata(this.id, dataset),
    ) as DatasetMetadata & {
      chunks?: number[] | null;
      virtual_sources?: { file_name: string }[];
    };
    if (metadata.virtual_sources !== undefined) {
      const files = [...new Set(metadata.virtual_sources.map((source) => source.file_name))];
      throw new TrackFileRefused(
        this.path,
        dataset,
        `is a virtual dataset mapping data from another file (${files.slice(0, 4).join(", ")}): a track file must hold all its own data`,
      );
    }
    const filters = this.call(dataset, "describe the dataset", () =>
      this.h5.get_dataset_filters(this.id, dataset),
    );
    checkDeclaredSize(
      this.path,
      dataset,
      metadata.size,
      metadata.shape ?? [],
      this.size,
      filters.length > 0,
    );
    if (metadata.chunks) checkChunkSize(this.path, dataset, metadata.size, metadata.chunks);
    return metadata;
  }

  /**
   * Reads rows [start, start+count) of a dataset along its first axis (all of it when no range
   * is given) and returns a copy of the bytes in the file's element layout, little-endian.
   */
  readBytes(
    dataset: string,
    metadata: DatasetMetadata,
    range?: { start: number; count: number },
  ): Uint8Array {
    const shape = metadata.shape ?? [];
    const rowElements = shape.slice(1).reduce((a, b) => a * b, 1);
    const rows = range ? range.count : (shape[0] ?? 1);
    const byteLength = metadata.size * rows * rowElements;
    if (byteLength === 0) return new Uint8Array(0);
    const start = range?.start ?? 0;
    checkReadSize(this.path, dataset, byteLength, `[${start}, ${start + rows})`);
    const h5 = this.h5;
    const pointer = h5._malloc(byteLength);
    if (pointer === 0) {
      throw new TrackReadError(
        this.path,
        dataset,
        `cannot allocate ${byteLength} bytes to read it`,
      );
    }
    try {
      const status = this.call(dataset, "read the dataset", () => {
        if (range) {
          const count = [BigInt(range.count), ...shape.slice(1).map(BigInt)];
          const offset = [BigInt(range.start), ...shape.slice(1).map(() => 0n)];
          const strides = count.map(() => 1n);
          return h5.get_dataset_data(this.id, dataset, count, offset, strides, BigInt(pointer));
        }
        return h5.get_dataset_data(this.id, dataset, null, null, null, BigInt(pointer));
      });
      if (status < 0) {
        throw new TrackReadError(this.path, dataset, failure(this.guard, "read the dataset"));
      }
      return h5.HEAPU8.slice(pointer, pointer + byteLength);
    } finally {
      h5._free(pointer);
    }
  }

  private call<T>(field: string | undefined, what: string, run: () => T): T {
    return guarded(this.guard, this.path, field, what, run);
  }
}

/**
 * Runs one h5wasm call for `file` under the guard: nothing but `guard.mayOpen` can be opened,
 * nothing reaches stderr. A call that tried to open another file is refused (whatever HDF5
 * made of the failure); an error it throws becomes a TrackReadError with HDF5's reason.
 */
function guarded<T>(
  guard: Guard,
  file: string,
  field: string | undefined,
  what: string,
  run: () => T,
): T {
  guard.active = true;
  guard.refused = [];
  guard.printed = "";
  const stderrWrite = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  let result: T | undefined;
  let failed = false;
  let thrown: unknown;
  try {
    result = run();
  } catch (error) {
    failed = true;
    thrown = error;
  } finally {
    guard.active = false;
    guard.mayOpen = undefined;
    process.stderr.write = stderrWrite;
  }
  if (guard.refused.length > 0) {
    throw new TrackFileRefused(
      file,
      field,
      `reaches for another file (${guard.refused[0]}) through an external link, external storage or a virtual dataset: a track file must hold all its own data`,
    );
  }
  if (failed) {
    if (thrown instanceof TrackReadError) throw thrown;
    const reason = innermostError(guard.printed) ?? String((thrown as Error)?.message ?? thrown);
    throw new TrackReadError(file, field, `HDF5 cannot ${what}: ${reason}`);
  }
  return result as T;
}

/** The reason for a failed call that returned an error status. */
function failure(guard: Guard, what: string): string {
  return `HDF5 cannot ${what}: ${innermostError(guard.printed) ?? "no reason given"}`;
}
