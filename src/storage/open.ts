// Opens the object store a URI names, with the backend's settings from the configuration.
import { LocalObjectStore } from "./local.ts";
import type { ObjectStore } from "./object-store.ts";
import { S3ObjectStore, type S3Settings } from "./s3.ts";
import { parseStoreUri } from "./uri.ts";

export function openObjectStore(uri: string, s3: S3Settings): ObjectStore {
  const location = parseStoreUri(uri);
  return location.kind === "file"
    ? new LocalObjectStore(location.root)
    : new S3ObjectStore(location.bucket, location.prefix, s3);
}
