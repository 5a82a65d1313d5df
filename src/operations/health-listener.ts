// The small HTTP listener of `worker` and `scheduler` (`--health-port`): GET /healthz,
// /readyz and /metrics on node's http module, nothing else. /metrics needs the bearer token
// when one is configured, unless metrics are public; the other two never do. Requests carry
// no body and are answered within seconds, so the listener holds little for anyone.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { InputError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import {
  bearerMatches,
  type HealthAnswer,
  type HealthState,
  livenessAnswer,
  type ReadinessProbe,
  readinessAnswer,
} from "./health.ts";
import { metricsAnswer } from "./metrics.ts";

export interface HealthListenerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Names the command in messages: "worker w1". */
  what: string;
  state: HealthState;
  readiness: ReadinessProbe;
  registry: Registry;
  /** Required from /metrics callers as a bearer token, unless undefined. */
  metricsToken: string | undefined;
  log: Logger;
}

export interface HealthListener {
  /** `http://host:port`. */
  url: string;
  close(): Promise<void>;
}

export async function startHealthListener(options: HealthListenerOptions): Promise<HealthListener> {
  const { host, log, what } = options;
  const server = createServer((request, response) => {
    answer(options, request, response).catch((error) => {
      log.error({ err: error }, `${what}: health request failed`);
      if (!response.headersSent) send(response, 500, { error: "internal error" });
      else response.destroy();
    });
  });
  server.headersTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((error: NodeJS.ErrnoException) => {
    throw new InputError(
      `${what}: --health-port: cannot listen on ${host}:${options.port} (${error.code ?? error.message})`,
    );
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(
  options: HealthListenerOptions,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = (request.url ?? "/").split("?")[0];
  if (path !== "/healthz" && path !== "/readyz" && path !== "/metrics")
    return send(response, 404, {
      error: `no such resource; this listener serves /healthz, /readyz and /metrics`,
    });
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.setHeader("Allow", "GET, HEAD");
    return send(response, 405, { error: `${request.method} ${path}: use GET` });
  }
  if (path === "/healthz") return sendAnswer(response, livenessAnswer(options.state));
  if (path === "/readyz")
    return sendAnswer(response, await readinessAnswer(options.state, options.readiness));
  if (
    options.metricsToken !== undefined &&
    !bearerMatches(request.headers.authorization, options.metricsToken)
  ) {
    response.setHeader("WWW-Authenticate", 'Bearer realm="genre-classifier"');
    return send(response, 401, {
      error:
        "this listener needs Authorization: Bearer <token> for /metrics (the server.token setting; server.metricsPublic lifts it)",
    });
  }
  const metrics = await metricsAnswer(options.registry);
  response.writeHead(200, { "Content-Type": metrics.contentType, "Cache-Control": "no-store" });
  response.end(request.method === "HEAD" ? undefined : metrics.body);
}

function sendAnswer(response: ServerResponse, answer: HealthAnswer): void {
  send(response, answer.status, answer.body);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
  });
  response.end(JSON.stringify(body));
}
