// The preprocess writer thread: takes the readers' deliveries from their channels, puts the
// batches back in order and appends them to the Parquet tables, counting genres and rejects.
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import type {
  Delivery,
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
  features.addBatch(delivery.features);
  for (const trackGenres of (delivery.features.columns[genresColumn] ?? []) as string[][]) {
    if (trackGenres.length === 0) withoutGenres++;
    for (const genre of trackGenres) genres.add(genre);
  }
  for (const reject of delivery.rejects) {
    rejects.add({ ...reject });
    reasons.set(reject.reason, (reasons.get(reject.reason) ?? 0) + 1);
  }
  return delivery.files;
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
