// What every route of the server reaches the areas through: the configuration, the object
// store, the tracking store, the orchestrator, the model served for online predictions, the
// logger and the operations endpoints' state, opened once by `serve`.
import type { HttpBindings } from "@hono/node-server";
import type { Logger } from "../common/logger.ts";
import type { Config } from "../config/schema.ts";
import type { ServeOperations } from "../operations/serve-operations.ts";
import type { Orchestrator } from "../orchestration/runtime.ts";
import type { OnlineModel } from "../serving/online-model.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import type { StoreTrackingClient } from "../tracking/client.ts";

export interface ServerContext {
  config: Config;
  store: ObjectStore;
  tracking: StoreTrackingClient;
  orchestrator: Orchestrator;
  /** The model behind server.predict.alias, kept loaded for /api/v1/predict. */
  onlineModel: OnlineModel;
  log: Logger;
  /** server.token, else tracking.token; undefined when the server is open. */
  token: string | undefined;
  /** Health, readiness and metrics (default: built from the store and the orchestrator's database). */
  operations?: ServeOperations;
}

/** The Hono environment of every route: node's request and response beside the web ones. */
export interface ServerEnv {
  Bindings: HttpBindings;
  Variables: {
    /** How the request was let in: a bearer header, the login cookie, or no token configured. */
    authenticatedBy: "bearer" | "cookie" | "open";
  };
}
