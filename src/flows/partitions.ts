// What the partitioned steps (preprocess, batch predict) share: whether a step runs as
// partitions (only when its tasks go to queue workers: in one process the threaded one-task
// path is faster), removing a plan's parts once merged, and the tests' fault injection.
import type { ObjectStore } from "../storage/object-store.ts";
import { pipelineEnvironment } from "./environment.ts";

/** Whether a step over `items` runs as partitions of `size` (0: never). */
export function runsPartitioned(items: number, size: number): boolean {
  const { config } = pipelineEnvironment();
  return config.orchestration.executor === "bullmq" && size > 0 && items > size;
}

/** Deletes every object in the folders the parts lie in (what a zombie attempt left too). */
export async function deleteParts(store: ObjectStore, keys: readonly string[]): Promise<void> {
  const folders = new Set(keys.map((key) => key.slice(0, key.lastIndexOf("/") + 1)));
  for (const folder of folders)
    for await (const part of store.listAll(folder)) await store.delete(part.key);
}

/**
 * Fault injection for tests (a name outside the configuration's GENRE_CLASSIFIER_ variables):
 * GC_TEST_FAIL_PARTITION=`<step>:<index>,…` fails each such
 * partition's first attempt after its part is written, as a worker lost after its write would.
 */
export function injectedPartitionFailure(step: string, index: number, attempt: number): void {
  const asked = (process.env.GC_TEST_FAIL_PARTITION ?? "").split(",");
  if (attempt === 1 && asked.includes(`${step}:${index}`))
    throw new Error(`${step} partition ${index}: failing its first attempt, as the test asked`);
}
