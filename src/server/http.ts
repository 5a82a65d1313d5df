// The one HTTP stack: a Hono application on node's http module, with requests in flight counted
// so that stopping lets them end within a deadline. `serve` and `tracking serve` both listen
// through it.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { InputError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";

export interface RunningHttpServer {
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

/**
 * Refuses a blank-edged token, and no token on an address beyond loopback unless allowed:
 * `what` names the command and `setting` the configuration key in the message.
 */
export function checkListenSecurity(options: {
  what: string;
  setting: string;
  host: string;
  token: string | undefined;
  allowUnauthenticated: boolean | undefined;
}): void {
  const { what, setting, host, token } = options;
  if (token !== undefined && token.trim() !== token)
    throw new InputError(
      `${what}: the token is blank or has leading or trailing whitespace; set ${setting} to the token itself`,
    );
  if (!token && !isLoopback(host) && !options.allowUnauthenticated)
    throw new InputError(
      `${what}: refusing to listen on ${host} without a token; set ${setting} (clients send it as a bearer token), or listen on 127.0.0.1`,
    );
}

export async function listen(options: {
  app: { fetch: Parameters<typeof getRequestListener>[0] };
  host: string;
  /** 0 picks a free port. */
  port: number;
  what: string;
  log: Logger;
}): Promise<RunningHttpServer> {
  const { app, host, log, what } = options;
  const listener = getRequestListener(app.fetch, {
    errorHandler: (error) => {
      log.error({ err: error }, `${what}: request failed`);
      return new Response(JSON.stringify({ message: "internal error" }), {
        status: 500,
        headers: { "Content-Type": "application/json" },
      });
    },
  });
  let inFlight = 0;
  const server: Server = createServer((request, response) => {
    inFlight++;
    response.once("close", () => inFlight--);
    void listener(request, response);
  });
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 20_000;
  server.requestTimeout = 300_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch((error: NodeJS.ErrnoException) => {
    throw new InputError(
      `${what}: cannot listen on ${host}:${options.port} (${error.code ?? error.message})`,
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
