// Run and model artifacts in the project's object store: under `tracking/` for `mlflow-artifacts:`
// locations, or where an experiment's `s3://` or `file://` location points inside the store.
// The methods take object store keys (`locate`, `proxied`). Paths are checked before anything
// is written: no `..`, no absolute paths, and on a local folder no symbolic link on the way
// that leads outside the store.
import { isAbsolute, join, relative, sep } from "node:path";
import type { Readable } from "node:stream";
import { InputError } from "../common/errors.ts";
import {
  type ObjectInfo,
  ObjectNotFoundError,
  type ObjectStore,
  type PutBody,
} from "../storage/object-store.ts";
import { parseStoreUri, type StoreLocation } from "../storage/uri.ts";
import {
  ARTIFACTS_PREFIX,
  ARTIFACTS_SCHEME,
  artifactRootPath,
  checkArtifactLocation,
  checkArtifactPath,
  joinArtifactPath,
} from "./artifact-uri.ts";
import { invalidParameter, notFound, TrackingError } from "./errors.ts";

export interface ArtifactEntry {
  /** The last segment of the path. */
  name: string;
  isDir: boolean;
  size?: number | undefined;
}

export class ArtifactRepository {
  private readonly root: StoreLocation;

  constructor(readonly store: ObjectStore) {
    this.root = parseStoreUri(store.uri);
  }

  /** The object store key of `path` inside the artifact location `uri`. */
  locate(uri: string, path = ""): string {
    return joinArtifactPath(this.keyOfLocation(uri), path === "" ? "" : checkArtifactPath(path));
  }

  /** The key of a path of the artifact proxy (relative to the `mlflow-artifacts:` root). */
  proxied(path: string): string {
    return joinArtifactPath(ARTIFACTS_PREFIX, path);
  }

  /** The folder below the local store's root that `mlflow-artifacts:/` names, on a local store. */
  localArtifactRoot(): string | undefined {
    return this.root.kind === "file" ? join(this.root.root, ARTIFACTS_PREFIX) : undefined;
  }

  /** The key prefix an artifact location names: it must lie inside this object store. */
  private keyOfLocation(uri: string): string {
    if (uri.startsWith(ARTIFACTS_SCHEME))
      return joinArtifactPath(ARTIFACTS_PREFIX, artifactRootPath(uri));
    const location = checkArtifactLocation(uri);
    const root = this.root;
    let inside: string | undefined;
    if (location.kind === "s3" && root.kind === "s3" && location.bucket === root.bucket)
      inside = keyBelow(location.prefix, root.prefix);
    if (location.kind === "file" && root.kind === "file") {
      const rest = relative(root.root, location.root);
      if (!rest.startsWith("..") && !isAbsolute(rest)) inside = rest.split(sep).join("/");
    }
    if (inside === undefined)
      throw invalidParameter(
        `artifact location ${uri} is outside this server's object store ${this.store.uri}: artifacts are kept only there`,
      );
    return inside;
  }

  async put(location: string, body: PutBody): Promise<ObjectInfo> {
    const key = await this.writableKey(location);
    return this.translate(location, () => this.store.put(key, body));
  }

  async putFile(location: string, file: string): Promise<ObjectInfo> {
    const key = await this.writableKey(location);
    return this.translate(location, () => this.store.putFile(key, file));
  }

  async getStream(location: string): Promise<Readable> {
    const key = this.keyOf(location, false);
    return this.translate(location, () => this.store.getStream(key));
  }

  async getFile(location: string, target: string): Promise<ObjectInfo> {
    const key = this.keyOf(location, false);
    return this.translate(location, () => this.store.getFile(key, target));
  }

  async head(location: string): Promise<ObjectInfo | undefined> {
    const key = this.keyOf(location, false);
    return this.translate(location, () => this.store.head(key));
  }

  async delete(location: string): Promise<void> {
    const key = this.keyOf(location, false);
    await this.translate(location, () => this.store.delete(key));
  }

  /** The files and folders directly inside `location`, in key order. */
  async list(location: string): Promise<ArtifactEntry[]> {
    const prefix = folderPrefix(this.keyOf(location, true));
    const entries: ArtifactEntry[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.translate(location, () =>
        this.store.list(prefix, { recursive: false, cursor }),
      );
      for (const p of page.prefixes)
        entries.push({ name: p.slice(prefix.length, -1), isDir: true });
      for (const o of page.objects)
        entries.push({ name: o.key.slice(prefix.length), isDir: false, size: o.size });
      cursor = page.cursor;
    } while (cursor);
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Every file below `location`, as paths relative to it. */
  async listFiles(location: string): Promise<{ path: string; size: number }[]> {
    const prefix = folderPrefix(this.keyOf(location, true));
    const files: { path: string; size: number }[] = [];
    for await (const object of this.store.listAll(prefix))
      files.push({ path: object.key.slice(prefix.length), size: object.size });
    return files;
  }

  private keyOf(location: string, allowRoot: boolean): string {
    return checkArtifactPath(location, "artifact path", allowRoot);
  }

  /**
   * The key to write, after checking that no folder on its way is a symbolic link leading
   * outside the store (the local store checks only once it has created the folders).
   */
  private async writableKey(location: string): Promise<string> {
    const key = this.keyOf(location, false);
    const segments = key.split("/");
    for (let i = 1; i <= segments.length; i++) {
      const ancestor = segments.slice(0, i).join("/");
      try {
        const file = await this.store.localFile(ancestor);
        if (file === undefined) return key;
      } catch (error) {
        if (error instanceof InputError)
          throw invalidParameter(
            `artifact path ${JSON.stringify(location)} leads outside the artifact store (through a symbolic link); nothing was written`,
          );
        throw error;
      }
    }
    return key;
  }

  private async translate<T>(location: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ObjectNotFoundError)
        throw notFound(`No artifact at ${JSON.stringify(location)}`);
      if (error instanceof InputError && !(error instanceof TrackingError))
        throw invalidParameter(`artifact path ${JSON.stringify(location)}: ${error.message}`);
      throw error;
    }
  }
}

function folderPrefix(key: string): string {
  return key === "" ? "" : `${key}/`;
}

/** `key` relative to `prefix` when it lies below it (or is it), else undefined. */
function keyBelow(key: string, prefix: string): string | undefined {
  if (prefix === "") return key;
  if (key === prefix) return "";
  return key.startsWith(`${prefix}/`) ? key.slice(prefix.length + 1) : undefined;
}
