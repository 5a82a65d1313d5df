// A preprocess worker thread: reads batches of MSD track files and extracts their feature rows.
import { parentPort, workerData } from "node:worker_threads";
import { TrackReadError } from "../msd/errors.ts";
import { readTracks } from "../msd/reader.ts";
import { extractFeatures, FEATURE_ARRAYS } from "./extract.ts";
import type { FileResult, FileTask, WorkerSetup } from "./preprocess.ts";

const setup = workerData as WorkerSetup;
const options = { vocabulary: new Set(setup.vocabulary), minTermWeight: setup.minTermWeight };

parentPort?.on("message", async (task: FileTask) => {
  const results: FileResult[] = [];
  for (const path of task.paths) results.push(await processFile(path));
  parentPort?.postMessage(results);
});

async function processFile(path: string): Promise<FileResult> {
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
