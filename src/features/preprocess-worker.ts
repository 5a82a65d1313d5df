// A preprocess worker thread. A reader reads batches of MSD track files and extracts their
// feature rows; the writer appends rows to the Parquet tables in the order they come.
import { parentPort, workerData } from "node:worker_threads";
import { TrackReadError } from "../msd/errors.ts";
import { readTracks } from "../msd/reader.ts";
import { extractFeatures, FEATURE_ARRAYS } from "./extract.ts";
import type {
  BatchResult,
  FileResult,
  FileTask,
  WorkerSetup,
  WriterMessage,
  WriterSummary,
} from "./preprocess.ts";
import { TableWriter } from "./table.ts";

const setup = workerData as WorkerSetup;

if (setup.role === "writer") {
  const features = new TableWriter(setup.features.path, setup.features.columns);
  const rejects = new TableWriter(setup.rejects.path, setup.rejects.columns);
  parentPort?.on("message", (message: WriterMessage) => {
    if ("finish" in message) {
      features.close();
      rejects.close();
      parentPort?.postMessage({
        features: features.rows,
        rejects: rejects.rows,
      } satisfies WriterSummary);
      return;
    }
    for (const row of message.rows) features.add(row);
    for (const row of message.rejects) rejects.add(row);
  });
} else {
  const options = { vocabulary: new Set(setup.vocabulary), minTermWeight: setup.minTermWeight };
  // Batches are read one after the other, in the order they came.
  let queue = Promise.resolve();
  parentPort?.on("message", (task: FileTask) => {
    queue = queue.then(async () => {
      const results: FileResult[] = [];
      for (const path of task.paths) results.push(await processFile(path, options));
      parentPort?.postMessage({ id: task.id, results } satisfies BatchResult);
    });
  });
}

async function processFile(
  path: string,
  options: { vocabulary: Set<string>; minTermWeight: number },
): Promise<FileResult> {
  const result: FileResult = { rows: [], rejects: [] };
  try {
    for await (const track of readTracks(path, { arrays: FEATURE_ARRAYS })) {
      const extraction = extractFeatures(track, options);
      if ("row" in extraction) result.rows.push(extraction.row);
      else result.rejects.push({ track_id: track.analysis.track_id, reason: extraction.reason });
    }
  } catch (error) {
    const reason =
      error instanceof TrackReadError
        ? `${error.field ? `${error.field}: ` : ""}${error.problem}`
        : `cannot be read: ${(error as Error).message}`;
    result.rejects.push({ track_id: "", reason });
  }
  return result;
}
