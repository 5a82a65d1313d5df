// The local-folder object store (the default): every write goes to a temporary file in the
// store's reserved `.incoming/` folder and is renamed into place, so readers never see a
// half-written object; keys are checked so that no path escapes the root. Opening a store
// removes temporary files older than a day, left by writers that were killed.
import { randomUUID } from "node:crypto";
import {
  createReadStream,
  createWriteStream,
  type Dirent,
  lstatSync,
  readdirSync,
  rmSync,
} from "node:fs";
import {
  copyFile,
  type FileHandle,
  mkdir,
  open,
  realpath,
  rename,
  rmdir,
  stat,
  unlink,
  writeFile,
} from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { pathToFileURL } from "node:url";
import { InputError, OperationError } from "../common/errors.ts";
import {
  BaseObjectStore,
  type ByteRange,
  checkRange,
  compareKeys,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  ObjectNotFoundError,
  type PutBody,
  validateKey,
  validatePrefix,
} from "./object-store.ts";

const INCOMING = ".incoming";
const READ_CHUNK_BYTES = 1024 * 1024;
/** Temporary files this old belong to no live writer: no write takes a day. */
const STALE_INCOMING_MS = 24 * 3600 * 1000;

export class LocalObjectStore extends BaseObjectStore {
  readonly uri: string;
  private readonly incoming: string;
  private realRoot: string | undefined;
  private rootReady: Promise<void> | undefined;
  private incomingReady: Promise<unknown> | undefined;
  /** Folders already created and checked to lie inside the root, so each write costs one rename. */
  private readonly knownFolders = new Set<string>();

  constructor(readonly root: string) {
    super();
    this.uri = pathToFileURL(root).href;
    this.incoming = join(root, INCOMING);
    this.removeStaleIncoming();
  }

  /**
   * Removes what killed writers left in `.incoming/`: entries older than a day. Younger ones
   * may belong to a writer in another process, so they stay. Best effort: a store that cannot
   * be cleaned still opens, and its writes report their own errors.
   */
  private removeStaleIncoming(): void {
    let names: string[];
    try {
      names = readdirSync(this.incoming);
    } catch {
      return;
    }
    const before = Date.now() - STALE_INCOMING_MS;
    for (const name of names) {
      const path = join(this.incoming, name);
      try {
        if (lstatSync(path).mtimeMs < before) rmSync(path, { recursive: true, force: true });
      } catch {
        // Gone meanwhile, or not ours to remove.
      }
    }
  }

  async put(key: string, body: PutBody): Promise<ObjectInfo> {
    const path = await this.writablePath(key);
    return this.writeAtomically(key, path, async (tmp) => {
      if (typeof body === "string" || body instanceof Uint8Array) await writeFile(tmp, body);
      else
        await pipeline(
          body instanceof Readable ? body : Readable.from(body),
          createWriteStream(tmp),
        );
    });
  }

  async putFile(key: string, source: string): Promise<ObjectInfo> {
    const path = await this.writablePath(key);
    return this.writeAtomically(key, path, (tmp) => copyFile(source, tmp));
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const { handle, start, length } = await this.openRange(key, range);
    try {
      const bytes = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await handle.read(bytes, filled, length - filled, start + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return bytes.subarray(0, filled);
    } finally {
      await handle.close();
    }
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    const { handle, start, length } = await this.openRange(key, range);
    if (length === 0) {
      await handle.close();
      return Readable.from([]);
    }
    return createReadStream("", {
      fd: handle,
      start,
      end: start + length - 1,
      autoClose: true,
      highWaterMark: READ_CHUNK_BYTES,
    });
  }

  async getFile(key: string, target: string): Promise<ObjectInfo> {
    const info = await this.head(key);
    if (!info) throw new ObjectNotFoundError(this.uri, key);
    const path = await this.readablePath(key);
    const tmp = `${target}.partial-${randomUUID()}`;
    await mkdir(dirname(target), { recursive: true });
    try {
      await copyFile(path, tmp);
      await rename(tmp, target);
    } catch (error) {
      await unlink(tmp).catch(() => {});
      return this.fail(error, key);
    }
    return info;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = await this.readablePath(key);
    try {
      const info = await stat(path, { bigint: true });
      return info.isFile() ? toInfo(key, info.size, info.mtimeNs) : undefined;
    } catch (error) {
      if (isCode(error, "ENOENT", "ENOTDIR")) return undefined;
      return this.fail(error, key);
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    validatePrefix(prefix);
    const recursive = options.recursive ?? true;
    const pageSize = pageSizeOf(options.pageSize);
    const after = options.cursor ?? options.startAfter;
    const slash = prefix.lastIndexOf("/");
    const folderKey = prefix.slice(0, slash + 1);
    const namePrefix = prefix.slice(slash + 1);
    const page: ListPage = { objects: [], prefixes: [] };
    let last: string | undefined;
    for await (const entry of this.walk(folderKey, namePrefix, recursive, after)) {
      if (page.objects.length + page.prefixes.length === pageSize) {
        page.cursor = last;
        break;
      }
      if (entry.kind === "object") page.objects.push(entry.info);
      else page.prefixes.push(entry.prefix);
      last = entry.kind === "object" ? entry.info.key : entry.prefix;
    }
    return page;
  }

  async delete(key: string): Promise<void> {
    const path = await this.readablePath(key);
    try {
      await unlink(path);
    } catch (error) {
      if (isCode(error, "ENOENT", "ENOTDIR")) return;
      if (isCode(error, "EISDIR", "EPERM"))
        throw new InputError(
          `object key ${JSON.stringify(key)} is a folder in ${this.uri}, not an object`,
        );
      return this.fail(error, key);
    }
    await this.pruneEmptyFolders(dirname(path));
  }

  async copy(sourceKey: string, targetKey: string): Promise<ObjectInfo> {
    const source = await this.readablePath(sourceKey);
    if (!(await this.exists(sourceKey))) throw new ObjectNotFoundError(this.uri, sourceKey);
    const path = await this.writablePath(targetKey);
    return this.writeAtomically(targetKey, path, (tmp) => copyFile(source, tmp));
  }

  async localFile(key: string): Promise<string | undefined> {
    return this.readablePath(key);
  }

  async check(): Promise<void> {
    try {
      await mkdir(this.incoming, { recursive: true });
      const probe = join(this.incoming, `check-${randomUUID()}`);
      await writeFile(probe, "ok");
      await unlink(probe);
    } catch (error) {
      throw new OperationError(
        `storage ${this.uri}: cannot write to the folder (${(error as Error).message})`,
      );
    }
  }

  async close(): Promise<void> {}

  private async writeAtomically(
    key: string,
    path: string,
    write: (tmp: string) => Promise<void>,
  ): Promise<ObjectInfo> {
    this.incomingReady ??= mkdir(this.incoming, { recursive: true }).catch((error) => {
      this.incomingReady = undefined;
      throw error;
    });
    await this.incomingReady;
    const tmp = join(this.incoming, randomUUID());
    try {
      await write(tmp);
      await this.renameIntoPlace(tmp, path, key);
    } catch (error) {
      await unlink(tmp).catch(() => {});
      if (error instanceof InputError || error instanceof OperationError) throw error;
      return this.fail(error, key);
    }
    const info = await stat(path, { bigint: true });
    return toInfo(key, info.size, info.mtimeNs);
  }

  private async renameIntoPlace(tmp: string, path: string, key: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(tmp, path);
        return;
      } catch (error) {
        if (isCode(error, "ENOENT") && attempt < 3) {
          this.knownFolders.delete(dirname(path));
          await mkdir(dirname(path), { recursive: true });
          await this.assertInside(await realpath(dirname(path)), key);
          continue;
        }
        if (isCode(error, "EISDIR", "ENOTDIR", "ENOTEMPTY", "EEXIST")) {
          throw new InputError(
            `object key ${JSON.stringify(key)} conflicts with a folder of other keys in ${this.uri} (a local store cannot hold both "a" and "a/b")`,
          );
        }
        throw error;
      }
    }
  }

  /** The file path of a key, after checking the key and that no symlink leads outside the root. */
  private async readablePath(key: string): Promise<string> {
    const path = this.pathOf(key);
    try {
      await this.assertInside(await realpath(path), key);
    } catch (error) {
      if (!isCode(error, "ENOENT", "ENOTDIR")) throw error;
    }
    return path;
  }

  private async writablePath(key: string): Promise<string> {
    const path = this.pathOf(key);
    const folder = dirname(path);
    if (this.knownFolders.has(folder)) return path;
    this.rootReady ??= mkdir(this.root, { recursive: true }).then(
      async () => {
        this.realRoot = await realpath(this.root);
      },
      (error: Error) => {
        throw new OperationError(
          `storage ${this.uri}: cannot create the folder (${error.message})`,
        );
      },
    );
    await this.rootReady;
    await this.assertInside(await this.realpathOfNearest(folder), key);
    try {
      await mkdir(folder, { recursive: true });
    } catch (error) {
      if (isCode(error, "EEXIST", "ENOTDIR")) {
        throw new InputError(
          `object key ${JSON.stringify(key)} conflicts with an object in ${this.uri} (a local store cannot hold both "a" and "a/b")`,
        );
      }
      return this.fail(error, key);
    }
    await this.assertInside(await realpath(folder), key);
    this.knownFolders.add(folder);
    return path;
  }

  /** The real path of a folder's nearest existing ancestor (or itself), before anything is created. */
  private async realpathOfNearest(folder: string): Promise<string> {
    for (let current = folder; ; current = dirname(current)) {
      try {
        return await realpath(current);
      } catch (error) {
        if (!isCode(error, "ENOENT") || current === dirname(current)) throw error;
      }
    }
  }

  private pathOf(key: string): string {
    validateKey(key);
    if (key === INCOMING || key.startsWith(`${INCOMING}/`)) {
      throw new InputError(
        `object key ${JSON.stringify(key)}: ${INCOMING}/ is reserved for the store's temporary files`,
      );
    }
    const path = join(this.root, ...key.split("/"));
    if (!path.startsWith(this.root + sep))
      throw new InputError(`object key ${JSON.stringify(key)} escapes the store root`);
    return path;
  }

  private async assertInside(real: string, key: string): Promise<void> {
    this.realRoot ??= await realpath(this.root).catch(() => this.root);
    if (real !== this.realRoot && !real.startsWith(this.realRoot + sep)) {
      throw new InputError(
        `object key ${JSON.stringify(key)} leads outside the store root ${this.uri} (through a symbolic link)`,
      );
    }
  }

  /** Opens the object's file and works out which bytes a range asks for. */
  private async openRange(
    key: string,
    range?: ByteRange,
  ): Promise<{ handle: FileHandle; start: number; length: number }> {
    checkRange(range, key);
    const path = await this.readablePath(key);
    const handle = await open(path, "r").catch((error) => this.fail(error, key));
    try {
      const { size } = await handle.stat();
      return { handle, ...this.window(key, size, range) };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  private window(key: string, size: number, range?: ByteRange): { start: number; length: number } {
    if (!range) return { start: 0, length: size };
    if (range.start >= size && !(size === 0 && range.start === 0)) {
      throw new InputError(
        `object key ${JSON.stringify(key)}: range starts at byte ${range.start}, beyond its ${size} bytes`,
      );
    }
    const end = Math.min(range.end ?? size - 1, size - 1);
    return { start: range.start, length: Math.max(0, end - range.start + 1) };
  }

  /** One walk over the whole prefix, instead of a walk per page. */
  override async *listAll(
    prefix: string,
    options: { startAfter?: string } = {},
  ): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    const slash = prefix.lastIndexOf("/");
    const folder = prefix.slice(0, slash + 1);
    const name = prefix.slice(slash + 1);
    for await (const entry of this.walk(folder, name, true, options.startAfter))
      if (entry.kind === "object") yield entry.info;
  }

  /**
   * Objects and folders under a folder key, in key order. Only the starting folder's real path
   * is checked: below it the walk enters real folders and lists regular files, never a
   * symbolic link, so everything it finds lies inside the root. Folders are read and files
   * stat'ed with synchronous calls, which take microseconds on a local disk and a fifth of the
   * CPU of their thread-pool versions; the walk lets the event loop run between folders.
   */
  private async *walk(
    folderKey: string,
    namePrefix: string,
    recursive: boolean,
    after?: string,
  ): AsyncGenerator<{ kind: "object"; info: ObjectInfo } | { kind: "prefix"; prefix: string }> {
    const folder = folderKey ? join(this.root, ...folderKey.slice(0, -1).split("/")) : this.root;
    try {
      await this.assertInside(await realpath(folder), folderKey);
    } catch (error) {
      if (isCode(error, "ENOENT", "ENOTDIR")) return;
      throw error;
    }
    // Entries still to visit, the next one last.
    const pending: WalkEntry[] = [];
    this.readFolder(folderKey, folder, namePrefix, pending);
    let paused = performance.now();
    for (let entry = pending.pop(); entry; entry = pending.pop()) {
      const { key } = entry;
      if (entry.dir) {
        if (after !== undefined && compareKeys(key, after) <= 0 && !after.startsWith(key)) continue;
        if (!recursive) {
          if (after === undefined || compareKeys(key, after) > 0)
            yield { kind: "prefix", prefix: key };
          continue;
        }
        this.readFolder(key, entry.path, "", pending);
        if (performance.now() - paused > 10) {
          await new Promise(setImmediate);
          paused = performance.now();
        }
        continue;
      }
      if (after !== undefined && compareKeys(key, after) <= 0) continue;
      const info = this.statListed(key, entry.path);
      if (info) yield { kind: "object", info };
    }
  }

  /** Pushes a folder's real folders and regular files onto `pending`, last key first. */
  private readFolder(folderKey: string, folder: string, namePrefix: string, pending: WalkEntry[]) {
    let names: Dirent[];
    try {
      names = readdirSync(folder, { withFileTypes: true });
    } catch (error) {
      if (isCode(error, "ENOENT", "ENOTDIR")) return;
      throw error;
    }
    const entries: WalkEntry[] = [];
    for (const e of names) {
      if (!e.name.startsWith(namePrefix) || (folderKey === "" && e.name === INCOMING)) continue;
      const dir = e.isDirectory();
      if (!dir && !e.isFile()) continue;
      entries.push({ key: folderKey + e.name + (dir ? "/" : ""), path: join(folder, e.name), dir });
    }
    entries.sort((a, b) => compareKeys(b.key, a.key));
    for (const entry of entries) pending.push(entry);
  }

  /** A listed file's info; undefined when it went away or stopped being a file meanwhile. */
  private statListed(key: string, path: string): ObjectInfo | undefined {
    try {
      const info = lstatSync(path, { bigint: true });
      if (!info.isFile()) return undefined;
      return { ...toInfo(key, info.size, info.mtimeNs), localPath: path };
    } catch (error) {
      if (isCode(error, "ENOENT", "ENOTDIR")) return undefined;
      return this.fail(error, key);
    }
  }

  private async pruneEmptyFolders(folder: string): Promise<void> {
    while (folder.startsWith(this.root + sep)) {
      try {
        await rmdir(folder);
      } catch {
        return;
      }
      this.knownFolders.delete(folder);
      folder = dirname(folder);
    }
  }

  private fail(error: unknown, key: string): never {
    if (isCode(error, "ENOENT", "ENOTDIR")) throw new ObjectNotFoundError(this.uri, key);
    if (isCode(error, "EISDIR"))
      throw new InputError(
        `object key ${JSON.stringify(key)} is a folder in ${this.uri}, not an object`,
      );
    const reason = error instanceof Error ? error.message : String(error);
    throw new OperationError(`storage ${this.uri}: ${JSON.stringify(key)}: ${reason}`);
  }
}

interface WalkEntry {
  key: string;
  path: string;
  dir: boolean;
}

function toInfo(key: string, size: bigint, mtimeNs: bigint): ObjectInfo {
  return {
    key,
    size: Number(size),
    etag: `${size.toString(16)}-${mtimeNs.toString(16)}`,
    lastModified: new Date(Number(mtimeNs / 1_000_000n)),
  };
}

export function pageSizeOf(pageSize: number | undefined): number {
  const size = pageSize ?? 1000;
  if (!Number.isInteger(size) || size < 1 || size > 1000) {
    throw new InputError(`list page size ${pageSize}: expected a whole number from 1 to 1000`);
  }
  return size;
}

function isCode(error: unknown, ...codes: string[]): boolean {
  return (
    typeof error === "object" &&
    error !== null &&
    codes.includes((error as { code?: string }).code ?? "")
  );
}
