// A preprocess reader thread: reads batches of MSD track files, extracts their feature rows and
// sends them, column by column, to the writer thread; then tells the main thread it is done.
import { basename } from "node:path";
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { TrackReadError } from "../msd/errors.ts";
import { readTracks } from "../msd/reader.ts";
import { batchBuffers, toColumnBatch } from "./column-batch.ts";
import { extractFeatures, FEATURE_ARRAYS, FEATURE_COLUMNS } from "./extract.ts";
import type { Delivery, ReadDone, ReaderSetup, ReadTask, Reject } from "./preprocess.ts";
import type { Row } from "./table.ts";

const setup = workerData as ReaderSetup;
const options = { vocabulary: new Set(setup.vocabulary), minTermWeight: setup.minTermWeight };
/** Fault injection for tests: the reader thread exits when it reaches a file of this name. */
const exitOn = process.env.GENRE_CLASSIFIER_TEST_READER_EXIT_ON;

let writer: MessagePort | undefined;
// Tasks are read one after the other, in the order they came.
let queue = Promise.resolve();
parentPort?.on("message", (message: { writerPort: MessagePort } | ReadTask) => {
  if ("writerPort" in message) {
    writer = message.writerPort;
    return;
  }
  queue = queue.then(() => read(message));
});

/** A file named like a track (the name ingest gives it) must hold that track. */
const TRACK_NAME = /^TR[A-Z0-9]{16}$/i;

async function read(task: ReadTask): Promise<void> {
  const rows: Row[] = [];
  const keys: string[] = [];
  const rejects: Reject[] = [];
  for (const [i, path] of task.paths.entries()) {
    if (exitOn && basename(path) === exitOn) process.exit(70);
    await readFile(path, task.keys[i] as string, rows, keys, rejects);
  }
  const features = toColumnBatch(rows, FEATURE_COLUMNS);
  const delivery: Delivery = {
    seq: task.seq,
    part: task.part,
    parts: task.parts,
    files: task.paths.length,
    features,
    keys,
    rejects,
  };
  writer?.postMessage(delivery, batchBuffers(features));
  parentPort?.postMessage({ id: task.id } satisfies ReadDone);
}

async function readFile(
  path: string,
  key: string,
  rows: Row[],
  keys: string[],
  rejects: Reject[],
): Promise<void> {
  const name = basename(key).replace(/\.h5$/i, "");
  const named = TRACK_NAME.test(name);
  try {
    for await (const track of readTracks(path, { arrays: FEATURE_ARRAYS })) {
      const id = track.analysis.track_id;
      if (named && id !== name) {
        const reason = `file name ${name} does not match the track id ${id} inside it`;
        rejects.push({ path: key, track_id: id, reason });
        continue;
      }
      const extraction = extractFeatures(track, options);
      if ("row" in extraction) {
        rows.push(extraction.row);
        keys.push(key);
      } else rejects.push({ path: key, track_id: id, reason: extraction.reason });
    }
  } catch (error) {
    const reason =
      error instanceof TrackReadError
        ? `${error.field ? `${error.field}: ` : ""}${error.problem}`
        : `cannot be read: ${(error as Error).message}`;
    rejects.push({ path: key, track_id: "", reason });
  }
}
