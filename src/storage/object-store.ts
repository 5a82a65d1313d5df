// The object store interface every step reads and writes through, and the key rules that
// both backends (local folder, S3) enforce the same way.
import type { Readable } from "node:stream";
import { InputError, OperationError } from "../common/errors.ts";

export interface ObjectInfo {
  /** Key relative to the store's root, `/`-separated. */
  key: string;
  size: number;
  /** Changes whenever the object is rewritten (S3: the server's ETag; local: size and mtime). */
  etag: string;
  lastModified: Date;
  /**
   * The object's own file, set by a local store's listing: the walk follows no symbolic link,
   * so the path lies inside the root and a reader can open it without asking `localFile`.
   */
  localPath?: string;
}

export type PutBody = Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

export interface PutOptions {
  contentType?: string;
}

/** An inclusive byte range, like HTTP's `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  /** Last byte included; omitted means to the end of the object. */
  end?: number;
}

export interface ListOptions {
  /** Descend into sub-prefixes (default true). When false, returns `prefixes` like S3's delimiter `/`. */
  recursive?: boolean;
  /** Most entries (objects plus prefixes) in one page (default 1000). */
  pageSize?: number;
  /** The `cursor` of the previous page. */
  cursor?: string;
  /** Only keys after this one (S3's StartAfter); a cursor, when given, takes its place. */
  startAfter?: string;
}

export interface ListPage {
  objects: ObjectInfo[];
  /** Sub-prefixes ending in `/` (only when not recursive). */
  prefixes: string[];
  /** Pass to the next call for the next page; undefined on the last page. */
  cursor?: string | undefined;
}

export interface ObjectStore {
  /** The root URI: `file:///…` or `s3://bucket/prefix`. */
  readonly uri: string;
  put(key: string, body: PutBody, options?: PutOptions): Promise<ObjectInfo>;
  putFile(key: string, path: string, options?: PutOptions): Promise<ObjectInfo>;
  get(key: string, range?: ByteRange): Promise<Uint8Array>;
  getStream(key: string, range?: ByteRange): Promise<Readable>;
  /** Writes the object to a local file (through a temporary name). */
  getFile(key: string, path: string): Promise<ObjectInfo>;
  head(key: string): Promise<ObjectInfo | undefined>;
  exists(key: string): Promise<boolean>;
  /** One page of the keys starting with `prefix`, in byte order of their UTF-8 encoding. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /** Every object under `prefix`, across pages. */
  listAll(
    prefix: string,
    options?: Omit<ListOptions, "cursor" | "recursive">,
  ): AsyncIterable<ObjectInfo>;
  /** Deletes the object; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  copy(sourceKey: string, targetKey: string): Promise<ObjectInfo>;
  /**
   * The object's own file when the store is a local folder, for readers that need a real
   * path (HDF5); undefined for remote stores, where `getFile` makes a local copy.
   */
  localFile(key: string): Promise<string | undefined>;
  /** Checks the store can be reached and written (bucket exists, credentials work). */
  check(): Promise<void>;
  close(): Promise<void>;
}

export class ObjectNotFoundError extends OperationError {
  override name = "ObjectNotFoundError";
  constructor(
    readonly storeUri: string,
    readonly key: string,
  ) {
    super(`object ${JSON.stringify(key)} not found in ${storeUri}`);
  }
}

export const MAX_KEY_BYTES = 1024;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Keys are `/`-separated relative paths: no empty, `.` or `..` segments, no leading or
 * trailing `/`, no backslash or control characters, at most 1,024 bytes of UTF-8.
 */
export function validateKey(key: string, what = "key"): string {
  const problem = keyProblem(key);
  if (problem) throw new InputError(`object ${what} ${JSON.stringify(key)}: ${problem}`);
  return key;
}

function keyProblem(key: string): string | undefined {
  if (typeof key !== "string" || key.length === 0) return "must not be empty";
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(key))
    return "must not contain control characters or backslashes";
  if (LONE_SURROGATE.test(key)) return "must be valid Unicode";
  if (key.startsWith("/") || key.endsWith("/")) return "must not start or end with /";
  for (const segment of key.split("/")) {
    if (segment === "") return "must not contain empty segments (//)";
    if (segment === "." || segment === "..") return "must not contain . or .. segments";
  }
  return undefined;
}

/** Prefixes are empty or a key prefix; `a/` lists the folder `a`, `a` also matches `ab`. */
export function validatePrefix(prefix: string): string {
  if (prefix === "") return prefix;
  const trimmed = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  const problem = keyProblem(trimmed);
  if (problem) throw new InputError(`object prefix ${JSON.stringify(prefix)}: ${problem}`);
  return prefix;
}

export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function bodyToBytes(body: string | Uint8Array): Uint8Array {
  return typeof body === "string" ? Buffer.from(body) : body;
}

export function checkRange(range: ByteRange | undefined, key: string): void {
  if (!range) return;
  const ok =
    Number.isSafeInteger(range.start) &&
    range.start >= 0 &&
    (range.end === undefined || (Number.isSafeInteger(range.end) && range.end >= range.start));
  if (!ok) {
    throw new InputError(
      `object key ${JSON.stringify(key)}: invalid byte range ${JSON.stringify(range)}`,
    );
  }
}

/** What every backend derives from the rest: `exists` from `head`, `listAll` from `list`. */
export abstract class BaseObjectStore implements ObjectStore {
  abstract readonly uri: string;
  abstract put(key: string, body: PutBody, options?: PutOptions): Promise<ObjectInfo>;
  abstract putFile(key: string, path: string, options?: PutOptions): Promise<ObjectInfo>;
  abstract get(key: string, range?: ByteRange): Promise<Uint8Array>;
  abstract getStream(key: string, range?: ByteRange): Promise<Readable>;
  abstract getFile(key: string, path: string): Promise<ObjectInfo>;
  abstract head(key: string): Promise<ObjectInfo | undefined>;
  abstract list(prefix: string, options?: ListOptions): Promise<ListPage>;
  abstract delete(key: string): Promise<void>;
  abstract copy(sourceKey: string, targetKey: string): Promise<ObjectInfo>;
  abstract localFile(key: string): Promise<string | undefined>;
  abstract check(): Promise<void>;
  abstract close(): Promise<void>;

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== undefined;
  }

  async *listAll(
    prefix: string,
    options: { pageSize?: number; startAfter?: string } = {},
  ): AsyncIterable<ObjectInfo> {
    let cursor: string | undefined;
    do {
      const page = await this.list(prefix, {
        recursive: true,
        pageSize: options.pageSize,
        cursor,
        startAfter: options.startAfter,
      });
      yield* page.objects;
      cursor = page.cursor;
    } while (cursor);
  }
}
