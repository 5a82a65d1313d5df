// The preprocess writer thread: takes the readers' deliveries from their channels, puts the
// batches back in order and writes them: as the feature and rejects tables (through
// FeatureTableAssembler, which keeps each track id once and counts genres and rejects), or,
// for one partition of a partitioned preprocess, as records of a part file for the merge.
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { FeatureTableAssembler } from "./feature-assembler.ts";
import { PartFileWriter } from "./part-file.ts";
import type {
  Delivery,
  WriterMessage,
  WriterReport,
  WriterSetup,
  WriterSummary,
} from "./preprocess.ts";

const setup = workerData as WriterSetup;

interface Sink {
  write(delivery: Delivery): number;
  finish(): WriterSummary;
}

/** A partition's deliveries as they are, in order: the merge assembles the tables. */
class PartSink implements Sink {
  private readonly part: PartFileWriter;
  private rows = 0;
  private rejects = 0;

  constructor(part: { path: string; header: object }) {
    this.part = new PartFileWriter(part.path, part.header);
  }

  write(delivery: Delivery): number {
    this.part.append({
      files: delivery.files,
      features: delivery.features,
      keys: delivery.keys,
      rejects: delivery.rejects,
    });
    this.rows += delivery.features.rows;
    this.rejects += delivery.rejects.length;
    return delivery.files;
  }

  finish(): WriterSummary {
    this.part.close();
    return {
      features: this.rows,
      rejects: this.rejects,
      withoutGenres: 0,
      genres: 0,
      rejectReasons: [],
    };
  }
}

const sink: Sink = setup.part ? new PartSink(setup.part) : new FeatureTableAssembler(setup);
const ports: MessagePort[] = [];

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
    for (let part = 0; part < count; part++) files += sink.write(parts.get(part) as Delivery);
    pending.delete(next++);
    parentPort?.postMessage({ written: files } satisfies WriterReport);
  }
  if (batches !== undefined && next >= batches && !finished) finish();
}

function finish(): void {
  finished = true;
  const summary = sink.finish();
  for (const port of ports) port.close();
  parentPort?.postMessage({ summary } satisfies WriterReport);
}

parentPort?.on("message", receive);
