// Parses object store URIs: `file:///absolute/folder` and `s3://bucket/optional/prefix`.
import { isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError } from "../common/errors.ts";

export type StoreLocation =
  | { kind: "file"; root: string }
  | { kind: "s3"; bucket: string; prefix: string };

const BUCKET_NAME = /^(?!xn--)(?!.*-s3alias$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function parseStoreUri(uri: string): StoreLocation {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === "file") {
    let root: string;
    try {
      root = fileURLToPath(uri);
    } catch (error) {
      throw new InputError(
        `storage URI ${uri}: expected file:///absolute/path (${(error as Error).message})`,
      );
    }
    if (!isAbsolute(root))
      throw new InputError(`storage URI ${uri}: expected file:///absolute/path`);
    return { kind: "file", root };
  }
  if (scheme === "s3") {
    const match = /^s3:\/\/([^/?#]*)(?:\/([^?#]*))?$/i.exec(uri);
    const bucket = match?.[1] ?? "";
    if (!match || !BUCKET_NAME.test(bucket) || bucket.includes("..")) {
      throw new InputError(
        `storage URI ${uri}: expected s3://bucket/prefix with a bucket name of 3-63 lower-case letters, digits, dots or hyphens`,
      );
    }
    const prefix = (match[2] ?? "").replace(/^\/+|\/+$/g, "");
    if (prefix.split("/").some((s) => s === "." || s === "..") || prefix.includes("//")) {
      throw new InputError(
        `storage URI ${uri}: the prefix must not contain empty, . or .. segments`,
      );
    }
    return { kind: "s3", bucket, prefix };
  }
  throw new InputError(`storage URI ${uri}: expected a file:///… or s3://bucket/prefix URI`);
}
