// A flow process for the crash tests: runs selfcheck with cached items on the given database
// and store, printing "started <flow run id>" once the run is recorded; "sequential" as the last
// argument runs the tasks one after another.

import { Orchestrator } from "../../src/orchestration/runtime.ts";
import { selfcheck } from "../../src/orchestration/selfcheck.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";

const [databaseUri, storeRoot, tasks, sleepMs, cacheKey, order] = process.argv.slice(2);
const orchestrator = await Orchestrator.open({
  databaseUri: databaseUri as string,
  store: new LocalObjectStore(storeRoot as string),
  heartbeatMs: 200,
});
const started = await orchestrator.start(selfcheck, {
  tasks: Number(tasks),
  sleep_ms: Number(sleepMs),
  cache_key: cacheKey,
  sequential: order === "sequential",
});
process.stdout.write(`started ${started.flowRunId}\n`);
const outcome = await started.outcome;
process.stdout.write(`${outcome.state}\n`);
await orchestrator.close();
