// The preprocess writer thread: takes the readers' deliveries from their channels, puts the
// batches back in order and appends them to the Parquet tables, counting genres and rejects.
// It keeps each track id once: a later row of a track id already written (from another key:
// a copy, an aggregate file) becomes a reject naming both keys.
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { compareKeys } from "../storage/object-store.ts";
import type { ColumnBatch } from "./column-batch.ts";
import type {
  Delivery,
  Reject,
  WriterMessage,
  WriterReport,
  WriterSetup,
  WriterSummary,
} from "./preprocess.ts";
import { TableWriter } from "./table.ts";

const setup = workerData as WriterSetup;
const features = new TableWriter(setup.features.path, setup.features.columns);
const rejects = new TableWriter(setup.rejects.path, setup.rejects.columns);
const genresColumn = setup.features.columns.findIndex((c) => c.name === "genres");
const trackIdColumn = setup.features.columns.findIndex((c) => c.name === "track_id");
/** Every track id written (upper-cased), and the key of its row when not the track's own. */
const writtenIds = new Set<string>();
const writtenElsewhere = new Map<string, string>();
const ports: MessagePort[] = [];
const genres = new Set<string>();
const reasons = new Map<string, number>();
let withoutGenres = 0;

/** Parts received for each batch not yet written, by the number of parts it was cut into. */
const pending = new Map<number, Map<number, Map<number, Delivery>>>();
let next = 0;
let batches: number | undefined;
let finished = false;

function receive(message: WriterMessage): void {
  if ("readerPort" in message) {
    ports.push(message.readerPort);
    message.readerPort.on("message", receive);
    return;
  }
  if ("finish" in message) batches = message.finish;
  else if (message.seq >= next) {
    const cuts = pending.get(message.seq) ?? new Map<number, Map<number, Delivery>>();
    pending.set(message.seq, cuts);
    const parts = cuts.get(message.parts) ?? new Map<number, Delivery>();
    cuts.set(message.parts, parts);
    parts.set(message.part, message);
  }
  writeReady();
}

/** Writes every batch that is complete, in order; a batch is complete once one cut of it is. */
function writeReady(): void {
  for (;;) {
    const cuts = pending.get(next);
    const complete = cuts && [...cuts].find(([count, parts]) => parts.size === count);
    if (!complete) break;
    const [count, parts] = complete;
    let files = 0;
    for (let part = 0; part < count; part++) files += write(parts.get(part) as Delivery);
    pending.delete(next++);
    parentPort?.postMessage({ written: files } satisfies WriterReport);
  }
  if (batches !== undefined && next >= batches && !finished) finish();
}

function write(delivery: Delivery): number {
  const { batch, duplicates } = withoutWrittenIds(delivery);
  features.addBatch(batch);
  for (const trackGenres of (batch.columns[genresColumn] ?? []) as string[][]) {
    if (trackGenres.length === 0) withoutGenres++;
    for (const genre of trackGenres) genres.add(genre);
  }
  for (const reject of inKeyOrder(delivery.rejects, duplicates)) {
    rejects.add({ ...reject });
    reasons.set(reject.reason, (reasons.get(reject.reason) ?? 0) + 1);
  }
  return delivery.files;
}

function ownKey(id: string): string {
  return `${setup.rawPrefix}/${id[2]}/${id[3]}/${id[4]}/${id}.h5`;
}

/** The delivery's rows whose track id is not written yet, and rejects for the others. */
function withoutWrittenIds(delivery: Delivery): { batch: ColumnBatch; duplicates: Reject[] } {
  const ids = (delivery.features.columns[trackIdColumn] ?? []) as string[];
  const kept: number[] = [];
  const duplicates: Reject[] = [];
  for (let row = 0; row < delivery.features.rows; row++) {
    const id = ids[row] as string;
    const key = delivery.keys[row] as string;
    const folded = id.toUpperCase();
    if (writtenIds.has(folded)) {
      const first = writtenElsewhere.get(folded) ?? ownKey(folded);
      duplicates.push({
        path: key,
        track_id: id,
        reason: `duplicate track id ${id} (also at ${first})`,
      });
      continue;
    }
    writtenIds.add(folded);
    if (key !== ownKey(folded)) writtenElsewhere.set(folded, key);
    kept.push(row);
  }
  if (kept.length === delivery.features.rows) return { batch: delivery.features, duplicates };
  const batch: ColumnBatch = {
    rows: kept.length,
    columns: delivery.features.columns.map((values) => {
      if (values instanceof Float64Array)
        return Float64Array.from(kept, (row) => values[row] as number);
      if (values instanceof Int32Array)
        return Int32Array.from(kept, (row) => values[row] as number);
      return kept.map((row) => values[row]) as string[] | string[][];
    }),
  };
  return { batch, duplicates };
}

/** Two lists of rejects, each in key order, merged in key order (the readers' first on a tie). */
function inKeyOrder(read: Reject[], duplicates: Reject[]): Reject[] {
  if (duplicates.length === 0) return read;
  const merged: Reject[] = [];
  let d = 0;
  for (const reject of read) {
    while (d < duplicates.length && compareKeys((duplicates[d] as Reject).path, reject.path) < 0)
      merged.push(duplicates[d++] as Reject);
    merged.push(reject);
  }
  return merged.concat(duplicates.slice(d));
}

function finish(): void {
  finished = true;
  features.close();
  rejects.close();
  for (const port of ports) port.close();
  const summary: WriterSummary = {
    features: features.rows,
    rejects: rejects.rows,
    withoutGenres,
    genres: genres.size,
    rejectReasons: [...reasons]
      .map(([reason, count]) => ({ reason, count }))
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
      .slice(0, 10),
  };
  parentPort?.postMessage({ summary } satisfies WriterReport);
}

parentPort?.on("message", receive);
