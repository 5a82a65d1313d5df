// Worker thread of forest.ts: grows the trees it is asked for on the shared training data.
import { parentPort, workerData } from "node:worker_threads";
import type { WorkerReply, WorkerRequest } from "./forest.ts";
import { type GrownTree, growTree, type TrainingData, type TreeParams } from "./tree.ts";

const { data, params } = workerData as { data: TrainingData; params: TreeParams };
const port = parentPort;
if (port === null) throw new Error("forest-worker.ts must run as a worker thread");

port.on("message", ({ index, seed }: WorkerRequest) => {
  let tree: GrownTree;
  try {
    tree = growTree(data, params, seed);
  } catch (error) {
    const reply: WorkerReply = {
      index,
      error: error instanceof Error ? error.message : String(error),
    };
    port.postMessage(reply);
    return;
  }
  const reply: WorkerReply = { index, tree };
  const arrays = [
    tree.feature,
    tree.threshold,
    tree.left,
    tree.right,
    tree.values,
    tree.importances,
  ];
  port.postMessage(
    reply,
    arrays.map((a) => a.buffer as ArrayBuffer),
  );
});
