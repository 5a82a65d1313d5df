// Worker thread of forest.ts: grows trees on the shared training data, taking the next tree
// number from the shared counter until every tree is taken, and posts each tree.
import { parentPort } from "node:worker_threads";
import type { WorkerReply, WorkerRequest } from "./forest.ts";
import { deriveSeed } from "./random.ts";
import { type GrownTree, growTree, TreeWorkspace } from "./tree.ts";

const port = parentPort;
if (port === null) throw new Error("forest-worker must run as a worker thread");

port.on("message", (request: WorkerRequest) => {
  const { inputs, next, nTrees, seed } = request;
  let workspace: TreeWorkspace | undefined;
  for (;;) {
    const index = Atomics.add(next, 0, 1);
    if (index >= nTrees) return;
    let tree: GrownTree;
    try {
      workspace ??= new TreeWorkspace(inputs.data, inputs.params);
      tree = growTree(inputs.data, inputs.params, deriveSeed(seed, index), workspace);
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
  }
});
