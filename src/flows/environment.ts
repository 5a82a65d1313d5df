// What a pipeline task runs against in this process: the effective configuration, a logger,
// the object store and the tracking client. The command that runs flows or works on queues
// (`flows run`, `worker`, `scheduler`, the CLI shortcuts) sets it once from its own
// configuration; a task reads it, so a task's input holds only its parameters and the same
// task runs alike in the flow's process and on a worker.

import { OperationError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import type { Config } from "../config/schema.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { TrackingClient } from "../tracking/client.ts";
import { openTrackingClient } from "../tracking/open.ts";

export interface PipelineEnvironment {
  config: Config;
  log: Logger;
  openStore(): ObjectStore;
}

let current: PipelineEnvironment | undefined;
let store: ObjectStore | undefined;
let tracking: Promise<TrackingClient> | undefined;

export function setPipelineEnvironment(environment: PipelineEnvironment): void {
  current = environment;
  store = undefined;
  tracking = undefined;
}

export function pipelineEnvironment(): PipelineEnvironment {
  if (!current)
    throw new OperationError(
      "pipeline tasks need their environment: run them through `flows run`, `worker` or a pipeline command",
    );
  return current;
}

/** The process's object store, opened on first use and shared by every task. */
export function pipelineStore(): ObjectStore {
  store ??= pipelineEnvironment().openStore();
  return store;
}

/** The process's tracking client, opened on first use and shared by every task. */
export function pipelineTracking(): Promise<TrackingClient> {
  const environment = pipelineEnvironment();
  tracking ??= openTrackingClient(
    { uri: environment.config.tracking.uri as string, token: environment.config.tracking.token },
    pipelineStore,
  );
  return tracking;
}

/** Closes the tracking client and the object store if a task opened them. */
export async function closePipelineEnvironment(): Promise<void> {
  const opened = tracking;
  const openedStore = store;
  tracking = undefined;
  store = undefined;
  const client = await opened?.catch(() => undefined);
  await client?.close();
  await openedStore?.close();
}
