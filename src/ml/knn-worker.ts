// Worker thread of knn-imputer.ts: fills the missing values of ranges of rows of a matrix in
// shared memory, with the imputer it was started with.
import { parentPort, workerData } from "node:worker_threads";
import { KnnImputer, type KnnTask, type KnnWorkerSetup } from "./knn-imputer.ts";

const setup = workerData as KnnWorkerSetup;
const imputer = new KnnImputer(
  setup.nFeatures,
  setup.neighbors,
  setup.reference,
  setup.trainingRows,
);

parentPort?.on("message", (task: KnnTask) => {
  const data = new Float64Array(task.buffer);
  imputer.imputeRows(
    { data, rows: data.length / setup.nFeatures, cols: setup.nFeatures },
    task.from,
    task.to,
  );
  parentPort?.postMessage(task.to - task.from);
});
