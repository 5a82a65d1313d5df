// Worker thread of generateSubset: writes the synthetic tracks of one index range and posts
// each batch of written files back to the main thread.
import { parentPort, workerData } from "node:worker_threads";
import { type TrackRange, writeTrackRange } from "./synth.ts";

const port = parentPort;
if (port === null) throw new Error("synth-worker.ts runs only as a worker thread");
const { range } = workerData as { range: TrackRange };
await writeTrackRange(range, (written) => port.postMessage(written));
