// Partitioned preprocess: the track files cut into ranges of keys, each range read by
// `preprocess` in part mode (on whichever worker takes it) into a part file holding its rows
// and rejects as the readers delivered them, and the merge, which replays the parts in key
// order through the same FeatureTableAssembler the one-process writer uses: the tables are
// byte for byte those of a one-process run over the same files.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InputError } from "../common/errors.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { ColumnValues } from "./column-batch.ts";
import { FEATURE_COLUMNS } from "./extract.ts";
import { FeatureTableAssembler } from "./feature-assembler.ts";
import { readPartFile } from "./part-file.ts";
import {
  type Delivery,
  type KeyRange,
  REJECT_COLUMNS,
  type Reject,
  type WriterSummary,
} from "./preprocess.ts";

/** Cuts keys, listed in order, into ranges of `size` track files (.h5 keys) each. */
export class PartitionPlanner {
  readonly ranges: KeyRange[] = [];
  private startAfter: string | undefined;
  private inRange = 0;
  private lastKey: string | undefined;

  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new InputError(`partition_size ${size}: expected a whole number of at least 1`);
  }

  /** Takes the next listed key (keys that are not track files are skipped, as preprocess does). */
  add(key: string): void {
    if (!key.endsWith(".h5")) return;
    this.lastKey = key;
    if (++this.inRange < this.size) return;
    this.close();
  }

  finish(): KeyRange[] {
    if (this.inRange > 0) this.close();
    return this.ranges;
  }

  private close(): void {
    const last = this.lastKey as string;
    this.ranges.push({
      ...(this.startAfter === undefined ? {} : { startAfter: this.startAfter }),
      last,
      files: this.inRange,
    });
    this.startAfter = last;
    this.inRange = 0;
  }
}

/** The header a preprocess part carries, checked by the merge. */
export interface PreprocessPartHeader {
  step: "preprocess";
  /** Which partition, from 0, and of how many. */
  index: number;
  partitions: number;
  range: KeyRange;
  /** The digest of the inputs the plan was made from. */
  plan: string;
}

export interface MergeOptions {
  store: ObjectStore;
  rawPrefix: string;
  /** The parts in key order, as planned: each is read once, whatever else lies beside them. */
  parts: { key: string; header: PreprocessPartHeader }[];
  featuresKey: string;
  rejectsKey: string;
  onPart?: (done: number, total: number) => void;
}

export interface MergeSummary extends WriterSummary {
  files: number;
  /** Bytes of the parts read. */
  partBytes: number;
}

/** Replays the parts into the feature and rejects tables and puts both into the store. */
export async function mergePreprocessParts(options: MergeOptions): Promise<MergeSummary> {
  const { store } = options;
  const scratch = await mkdtemp(join(tmpdir(), "gc-preprocess-merge-"));
  try {
    const featuresPath = join(scratch, "features.parquet");
    const rejectsPath = join(scratch, "rejects.parquet");
    const assembler = new FeatureTableAssembler({
      rawPrefix: options.rawPrefix,
      features: { path: featuresPath, columns: FEATURE_COLUMNS },
      rejects: { path: rejectsPath, columns: REJECT_COLUMNS },
    });
    let files = 0;
    let partBytes = 0;
    // The next part is downloaded while this one is replayed.
    const fetchPart = (i: number) => {
      const part = options.parts[i];
      return part ? store.get(part.key) : undefined;
    };
    let next = fetchPart(0);
    next?.catch(() => {});
    for (let i = 0; i < options.parts.length; i++) {
      const { key, header: expected } = options.parts[i] as MergeOptions["parts"][number];
      const bytes = await (next as Promise<Uint8Array>);
      next = fetchPart(i + 1);
      next?.catch(() => {});
      partBytes += bytes.byteLength;
      const name = `${store.uri}/${key}`;
      const part = readPartFile(bytes, name);
      checkHeader(part.header, expected, name);
      let partFiles = 0;
      for (const [r, record] of part.records.entries()) {
        const delivery = checkDelivery(record, `${name}, record ${r + 1}`);
        partFiles += assembler.write(delivery);
      }
      if (partFiles !== expected.range.files)
        throw new InputError(
          `part ${name}: covers ${partFiles} track files, ${expected.range.files} planned`,
        );
      files += partFiles;
      options.onPart?.(i + 1, options.parts.length);
    }
    const summary = assembler.finish();
    const parquet = { contentType: "application/vnd.apache.parquet" };
    await store.putFile(options.featuresKey, featuresPath, parquet);
    await store.putFile(options.rejectsKey, rejectsPath, parquet);
    return { ...summary, files, partBytes };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function checkHeader(found: Record<string, unknown>, expected: PreprocessPartHeader, name: string) {
  const same = JSON.stringify(found) === JSON.stringify(expected);
  if (!same)
    throw new InputError(
      `part ${name}: its header ${JSON.stringify(found)} is not the planned ${JSON.stringify(expected)}`,
    );
}

/** A part's record checked to be a delivery of feature rows as the readers make them. */
function checkDelivery(record: unknown, where: string): Delivery {
  const refuse = (problem: string): never => {
    throw new InputError(`part ${where}: ${problem}`);
  };
  if (typeof record !== "object" || record === null) return refuse("not a record");
  const { files, features, keys, rejects } = record as Record<string, unknown>;
  if (!Number.isInteger(files) || (files as number) < 0) refuse("no file count");
  if (typeof features !== "object" || features === null) return refuse("no feature rows");
  const { rows, columns } = features as { rows: unknown; columns: unknown };
  if (!Number.isInteger(rows) || (rows as number) < 0) refuse("no row count");
  const n = rows as number;
  if (!Array.isArray(columns) || columns.length !== FEATURE_COLUMNS.length)
    refuse(`expected ${FEATURE_COLUMNS.length} feature columns`);
  FEATURE_COLUMNS.forEach(({ name, type }, c) => {
    const values = (columns as unknown[])[c];
    const ok =
      type === "DOUBLE"
        ? values instanceof Float64Array
        : type === "INT32"
          ? values instanceof Int32Array
          : Array.isArray(values) &&
            values.every((v) =>
              type === "STRING"
                ? typeof v === "string"
                : Array.isArray(v) && v.every((g) => typeof g === "string"),
            );
    if (!ok || (values as ColumnValues).length !== n)
      refuse(`column ${name}: expected ${n} values of type ${type}`);
  });
  if (!Array.isArray(keys) || keys.length !== n || !keys.every((k) => typeof k === "string"))
    refuse(`expected ${n} keys`);
  if (
    !Array.isArray(rejects) ||
    !rejects.every(
      (r: Partial<Reject>) =>
        typeof r === "object" &&
        r !== null &&
        typeof r.path === "string" &&
        typeof r.track_id === "string" &&
        typeof r.reason === "string",
    )
  )
    refuse("rejects are not (path, track_id, reason) rows");
  return {
    seq: 0,
    part: 0,
    parts: 1,
    files: files as number,
    features: features as Delivery["features"],
    keys: keys as string[],
    rejects: rejects as Reject[],
  };
}
