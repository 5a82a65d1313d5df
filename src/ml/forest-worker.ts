// Worker thread of forest.ts: grows the trees it is asked for on the shared training data.
import { parentPort } from "node:worker_threads";
import type { SharedInputs, WorkerReply, WorkerRequest } from "./forest.ts";
import { type GrownTree, growTree } from "./tree.ts";

const port = parentPort;
if (port === null) throw new Error("forest-worker must run as a worker thread");
let inputs: SharedInputs | undefined;

port.on("message", (request: WorkerRequest) => {
  if (request.type === "init") {
    inputs = request.inputs;
    return;
  }
  const { index, seed } = request;
  let tree: GrownTree;
  try {
    if (inputs === undefined) throw new Error("no training data received");
    tree = growTree(inputs.data, inputs.params, seed);
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
