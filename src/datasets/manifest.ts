// The split's manifest, datasets/split/manifest.json: what the split wrote (every object's
// SHA-256), from which feature table, with which parameters, and the counts and years. It is
// written last, so a split is complete exactly when its manifest is there and checks out; its
// own digest (of its content without the digest) is what lineage records.
import { createHash } from "node:crypto";
import { InputError } from "../common/errors.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { SplitParameters } from "./assign.ts";

export const SPLIT_MANIFEST_FORMAT = "genre-classifier/split";
export const SPLIT_MANIFEST_VERSION = 1;

export interface StoredObject {
  key: string;
  sha256: string;
  bytes: number;
  rows: number;
}

export interface YearRange {
  min: number;
  max: number;
}

export interface SplitDay {
  day: number;
  tracks: StoredObject;
  labels: StoredObject;
}

export interface SplitManifestContent {
  format: typeof SPLIT_MANIFEST_FORMAT;
  version: typeof SPLIT_MANIFEST_VERSION;
  input: StoredObject;
  parameters: SplitParameters;
  counts: {
    tracks: { train: number; valid: number; test: number };
    artists: { train: number; valid: number; test: number };
    /** Test artists that also have older tracks in train (allowed: new releases of known artists). */
    testArtistsInTrain: number;
    /** Tracks without a known year, all of them in train or validation. */
    yearUnknown: { train: number; valid: number };
    days: number;
    batchSize: number;
    lastDayTracks: number;
  };
  years: {
    /** The test set's release years, newest first. */
    test: number[];
    train: YearRange | null;
    valid: YearRange | null;
  };
  outputs: { train: StoredObject; valid: StoredObject; test: StoredObject };
  days: SplitDay[];
}

export interface SplitManifest extends SplitManifestContent {
  /** SHA-256 of the JSON of the content above (without this field). */
  digest: string;
}

export function manifestDigest(content: SplitManifestContent): string {
  return createHash("sha256").update(JSON.stringify(content)).digest("hex");
}

/** The manifest's bytes: its content and digest, as indented JSON. */
export function manifestBytes(content: SplitManifestContent): string {
  const manifest: SplitManifest = { ...content, digest: manifestDigest(content) };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Reads and checks a split's manifest; a missing or altered one is an InputError. */
export async function readSplitManifest(
  store: ObjectStore,
  key = "datasets/split/manifest.json",
): Promise<SplitManifest> {
  const where = `${store.uri}/${key}`;
  if (!(await store.exists(key)))
    throw new InputError(`no split manifest at ${where}: run the split first`);
  let parsed: SplitManifest;
  try {
    parsed = JSON.parse(Buffer.from(await store.get(key)).toString("utf8")) as SplitManifest;
  } catch (error) {
    throw new InputError(`split manifest ${where}: not JSON (${(error as Error).message})`);
  }
  if (parsed?.format !== SPLIT_MANIFEST_FORMAT || parsed.version !== SPLIT_MANIFEST_VERSION)
    throw new InputError(
      `split manifest ${where}: expected format ${SPLIT_MANIFEST_FORMAT} version ${SPLIT_MANIFEST_VERSION}`,
    );
  const { digest, ...content } = parsed;
  if (digest !== manifestDigest(content))
    throw new InputError(`split manifest ${where}: its digest does not match its content`);
  return parsed;
}

/** The manifest's objects that are missing from the store or whose bytes differ: empty when whole. */
export async function splitProblems(
  store: ObjectStore,
  manifest: SplitManifest,
): Promise<string[]> {
  const objects = [
    manifest.outputs.train,
    manifest.outputs.valid,
    manifest.outputs.test,
    ...manifest.days.flatMap((d) => [d.tracks, d.labels]),
  ];
  const problems: string[] = [];
  for (const object of objects) {
    if (!(await store.exists(object.key))) {
      problems.push(`${object.key}: missing`);
      continue;
    }
    const hash = createHash("sha256");
    for await (const chunk of await store.getStream(object.key)) hash.update(chunk as Uint8Array);
    if (hash.digest("hex") !== object.sha256) problems.push(`${object.key}: content differs`);
  }
  return problems;
}
