// The tracking server: MLflow's REST API 2.0 under /api/2.0/mlflow/ and the artifact proxy
// under /api/2.0/mlflow-artifacts/, on node's http module, so MLflow's own clients can log to
// it. With a token every request must carry `Authorization: Bearer <token>`; without one the
// server refuses to listen beyond the loopback interface unless explicitly allowed.
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pipeline } from "node:stream/promises";
import { InputError } from "../common/errors.ts";
import { type Logger, silentLogger } from "../common/logger.ts";
import { checkArtifactPath } from "./artifact-uri.ts";
import type { StoreTrackingClient } from "./client.ts";
import { invalidParameter, TrackingError, TrackingUnavailableError } from "./errors.ts";
import { fileInfoToJson, type JsonObject } from "./mlflow-json.ts";
import { type Handler, mlflowEndpoints, RequestFields } from "./rest-api.ts";

export const API_PREFIX = "/api/2.0/mlflow/";
export const ARTIFACTS_API_PREFIX = "/api/2.0/mlflow-artifacts/artifacts";
/** MLflow's multipart proxy upload: `…/mpu/create|complete|abort/<artifact path>`. */
const MULTIPART_UPLOAD = /^\/api\/2\.0\/mlflow-artifacts\/mpu\/(create|complete|abort)(\/|$)/;
/** MLflow's answer when the artifact store cannot take multipart uploads; its clients then upload in one piece. */
export const MULTIPART_UNSUPPORTED =
  "Multipart upload is not supported for the current artifact repository";
const MAX_JSON_BODY_BYTES = 16 * 1024 * 1024;

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
  const endpoints = mlflowEndpoints(client);
  const expected = token ? digest(token) : undefined;

  let inFlight = 0;
  const server: Server = createServer((request, response) => {
    const started = performance.now();
    inFlight++;
    response.once("close", () => inFlight--);
    handle(request, response)
      .catch((error) => sendError(response, error, log))
      .finally(() =>
        log.debug(
          {
            method: request.method,
            url: request.url?.split("?")[0],
            status: response.statusCode,
            ms: Math.round(performance.now() - started),
          },
          "tracking request",
        ),
      );
  });
  server.keepAliveTimeout = 5000;

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://tracking.invalid");
    const rawPath = (request.url ?? "/").split("?")[0] as string;
    const method = request.method ?? "GET";
    if (url.pathname === "/health") return sendText(response, 200, "OK");
    if (expected && !authorized(request.headers.authorization, expected)) {
      response.setHeader("WWW-Authenticate", 'Bearer realm="genre-classifier tracking"');
      return sendJson(response, 401, {
        error_code: "UNAUTHENTICATED",
        message:
          "this tracking server needs Authorization: Bearer <token> (the tracking.token setting)",
      });
    }
    if (rawPath === ARTIFACTS_API_PREFIX || rawPath.startsWith(`${ARTIFACTS_API_PREFIX}/`))
      return handleArtifacts(request, response, url, rawPath, method);
    if (method === "POST" && MULTIPART_UPLOAD.test(rawPath))
      return sendJson(response, 501, {
        error_code: "NOT_IMPLEMENTED",
        message: MULTIPART_UNSUPPORTED,
      });
    if (!url.pathname.startsWith(API_PREFIX))
      return endpointNotFound(response, method, url.pathname);
    const byMethod = endpoints.get(url.pathname.slice(API_PREFIX.length));
    if (!byMethod) return endpointNotFound(response, method, url.pathname);
    const handler: Handler | undefined = byMethod.get(method);
    if (!handler) {
      response.setHeader("Allow", [...byMethod.keys()].join(", "));
      return sendJson(response, 405, {
        error_code: "ENDPOINT_NOT_FOUND",
        message: `${url.pathname} does not take ${method}; use ${[...byMethod.keys()].join(" or ")}`,
      });
    }
    const fields = new RequestFields({
      ...queryFields(url),
      ...(method === "GET" ? {} : await readJsonBody(request)),
    });
    sendJson(response, 200, await handler(fields));
  }

  async function handleArtifacts(
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
    rawPath: string,
    method: string,
  ): Promise<void> {
    const { artifacts } = client;
    const rest = rawPath.slice(ARTIFACTS_API_PREFIX.length).replace(/^\//, "");
    if (rest === "") {
      if (method !== "GET") return endpointNotFound(response, method, url.pathname);
      const path = url.searchParams.get("path") ?? "";
      const location = path === "" ? "" : checkArtifactPath(path.replace(/\/+$/, ""), "path", true);
      const entries = await artifacts.list(artifacts.proxied(location));
      return sendJson(response, 200, {
        files: entries.map((e) =>
          fileInfoToJson({ path: e.name, isDir: e.isDir, fileSize: e.size }),
        ),
      });
    }
    const location = artifacts.proxied(checkArtifactPath(decodePath(rest), "artifact path"));
    if (method === "PUT") {
      await artifacts.put(location, request);
      return sendJson(response, 200, {});
    }
    if (method === "GET") {
      const stream = await artifacts.getStream(location);
      response.writeHead(200, {
        "Content-Type": "application/octet-stream",
        "X-Content-Type-Options": "nosniff",
      });
      await pipeline(stream, response);
      return;
    }
    if (method === "DELETE") {
      await artifacts.delete(location);
      return sendJson(response, 200, {});
    }
    return endpointNotFound(response, method, url.pathname);
  }

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

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function authorized(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  return match !== null && timingSafeEqual(digest((match[1] as string).trim()), expected);
}

function queryFields(url: URL): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const name of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(name);
    fields[name] = values.length === 1 ? values[0] : values;
  }
  return fields;
}

async function readJsonBody(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY_BYTES)
      throw invalidParameter(
        `request body is larger than ${MAX_JSON_BODY_BYTES / 1024 / 1024} MiB`,
      );
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw invalidParameter(`request body is not valid JSON: ${(error as Error).message}`);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw invalidParameter("request body must be a JSON object");
  return body as Record<string, unknown>;
}

function decodePath(raw: string): string {
  try {
    return raw
      .split("/")
      .map((segment) => decodeURIComponent(segment))
      .join("/");
  } catch {
    throw invalidParameter(`artifact path ${JSON.stringify(raw)} is not valid percent-encoding`);
  }
}

function endpointNotFound(response: ServerResponse, method: string, path: string): void {
  sendJson(response, 404, {
    error_code: "ENDPOINT_NOT_FOUND",
    message: `No API endpoint ${method} ${path}`,
  });
}

function sendJson(response: ServerResponse, status: number, body: JsonObject): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  response.end(text);
}

function sendText(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { "Content-Type": "text/plain" });
  response.end(text);
}

function sendError(response: ServerResponse, error: unknown, log: Logger): void {
  if (response.headersSent) {
    log.warn({ err: error }, "tracking server: failed while streaming an answer");
    response.destroy();
    return;
  }
  if (error instanceof TrackingError) {
    sendJson(response, error.httpStatus, { error_code: error.code, message: error.message });
    return;
  }
  if (error instanceof InputError) {
    sendJson(response, 400, { error_code: "INVALID_PARAMETER_VALUE", message: error.message });
    return;
  }
  if (error instanceof TrackingUnavailableError) {
    log.warn({ err: error }, "tracking server: the database did not answer in time");
    sendJson(response, 503, { error_code: "TEMPORARILY_UNAVAILABLE", message: error.message });
    return;
  }
  log.error({ err: error }, "tracking server: request failed");
  const message = error instanceof Error ? error.message : String(error);
  sendJson(response, 500, { error_code: "INTERNAL_ERROR", message });
}
