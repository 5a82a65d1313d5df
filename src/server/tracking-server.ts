// `tracking serve`: MLflow's API alone (tracking/api-router.ts with its `/health` and bearer-token
// check) on the same Hono stack as `serve`, so MLflow's own clients can log to it. Without a
// token the server refuses to listen beyond the loopback interface unless explicitly allowed.
import type { HttpBindings } from "@hono/node-server";
import { Hono } from "hono";
import { type Logger, silentLogger } from "../common/logger.ts";
import { trackingApi } from "../tracking/api-router.ts";
import type { StoreTrackingClient } from "../tracking/client.ts";
import { checkListenSecurity, listen, type RunningHttpServer } from "./http.ts";
import { type BodyLimits, mountMlflowApi } from "./mlflow.ts";

export interface TrackingServerOptions {
  client: StoreTrackingClient;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** Serve without a token on a non-loopback address. */
  allowUnauthenticated?: boolean;
  /** Default: 2 GiB artifact uploads, 16 MiB otherwise (server.maxArtifactBytes, server.maxBodyBytes). */
  limits?: BodyLimits;
  log?: Logger;
}

export type RunningTrackingServer = RunningHttpServer;

export async function startTrackingServer(
  options: TrackingServerOptions,
): Promise<RunningTrackingServer> {
  const { client, host, token } = options;
  const log = options.log ?? silentLogger;
  checkListenSecurity({
    what: "tracking server",
    setting: "tracking.token",
    host,
    token,
    allowUnauthenticated: options.allowUnauthenticated,
  });
  const app = new Hono<{ Bindings: HttpBindings }>();
  mountMlflowApi(
    app,
    trackingApi({ client, token, log }),
    options.limits ?? { artifactBytes: 2 * 1024 ** 3, otherBytes: 16 * 1024 * 1024 },
    "*",
  );
  return listen({ app, host, port: options.port, what: "tracking server", log });
}
