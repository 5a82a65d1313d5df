// The tracking server: the MLflow API router (api-router.ts) on node's http module, so MLflow's
// own clients can log to it. With a token every request must carry `Authorization: Bearer
// <token>`; without one the server refuses to listen beyond the loopback interface unless
// explicitly allowed.
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pipeline } from "node:stream/promises";
import { InputError } from "../common/errors.ts";
import { type Logger, silentLogger } from "../common/logger.ts";
import { type ApiResponse, errorResponse, trackingApi } from "./api-router.ts";
import type { StoreTrackingClient } from "./client.ts";

export interface TrackingServerOptions {
  client: StoreTrackingClient;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** Serve without a token on a non-loopback address. */
  allowUnauthenticated?: boolean;
  log?: Logger;
}

export interface RunningTrackingServer {
  /** `http://host:port`. */
  url: string;
  port: number;
  /**
   * Stops listening, lets the requests in flight end until `until` (ms since the epoch;
   * default now), then closes every connection; gives the number of requests cut off.
   */
  close(until?: number): Promise<{ cutOff: number }>;
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startTrackingServer(
  options: TrackingServerOptions,
): Promise<RunningTrackingServer> {
  const { client, host, token } = options;
  const log = options.log ?? silentLogger;
  if (token !== undefined && token.trim() !== token)
    throw new InputError(
      "tracking server: the token is blank or has leading or trailing whitespace; set tracking.token to the token itself",
    );
  if (!token && !isLoopback(host) && !options.allowUnauthenticated)
    throw new InputError(
      `tracking server: refusing to listen on ${host} without a token; set tracking.token (clients send it as a bearer token), or listen on 127.0.0.1`,
    );
  const api = trackingApi({ client, token, log });

  let inFlight = 0;
  const server: Server = createServer((request, response) => {
    const started = performance.now();
    inFlight++;
    response.once("close", () => inFlight--);
    const path = (request.url ?? "/").split("?")[0] as string;
    const answer = async () =>
      api({
        method: request.method ?? "GET",
        path,
        query: new URL(request.url ?? "/", "http://tracking.invalid").searchParams,
        headers: request.headers,
        body: request,
      });
    answer()
      .then((answered) => send(response, answered))
      .catch((error) => {
        if (response.headersSent) {
          log.warn({ err: error }, "tracking server: failed while streaming an answer");
          response.destroy();
        } else send(response, errorResponse(error, log));
      })
      .finally(() =>
        log.debug(
          {
            method: request.method,
            url: path,
            status: response.statusCode,
            ms: Math.round(performance.now() - started),
          },
          "tracking request",
        ),
      );
  });
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((error: NodeJS.ErrnoException) => {
    throw new InputError(
      `tracking server: cannot listen on ${host}:${options.port} (${error.code ?? error.message})`,
    );
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    async close(until = Date.now()) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      while (inFlight > 0 && Date.now() < until)
        await new Promise((resolve) => setTimeout(resolve, Math.min(50, until - Date.now())));
      const cutOff = inFlight;
      server.closeAllConnections();
      await closed;
      return { cutOff };
    },
  };
}

function send(response: ServerResponse, answer: ApiResponse): Promise<void> {
  response.writeHead(answer.status, answer.headers);
  if (typeof answer.body !== "string") return pipeline(answer.body, response);
  response.end(answer.body);
  return Promise.resolve();
}
