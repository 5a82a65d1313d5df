// MLflow's API as a mountable router, free of any HTTP server: a function from a request
// (method, path, query, headers, body stream) to an answer (status, headers, body text or
// stream). It serves MLflow's REST API 2.0 under /api/2.0/mlflow/ and the artifact proxy under
// /api/2.0/mlflow-artifacts/; the bearer-token check is a step of its own in front of it.
// server.ts adapts it to node:http; another HTTP stack can mount it the same way.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Readable } from "node:stream";
import { InputError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import type { PutBody } from "../storage/object-store.ts";
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

export interface ApiRequest {
  method: string;
  /** The path as sent, still percent-encoded, without the query string. */
  path: string;
  query: URLSearchParams;
  /** Header names in lower case. */
  headers: Record<string, string | string[] | undefined>;
  body: Readable | AsyncIterable<Uint8Array>;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string | number>;
  /** Text, or a stream (an artifact download) to pipe to the client. */
  body: string | Readable;
}

export type ApiHandler = (request: ApiRequest) => Promise<ApiResponse>;

/**
 * The tracking server's whole answer: `/health` without credentials, then the token check
 * (when a token is set), then MLflow's API.
 */
export function trackingApi(options: {
  client: StoreTrackingClient;
  token?: string | undefined;
  log: Logger;
}): ApiHandler {
  const router = mlflowApiRouter(options.client, options.log);
  const refuse = options.token ? bearerTokenCheck(options.token) : () => undefined;
  return async (request) => {
    if (new URL(request.path, "http://tracking.invalid").pathname === "/health")
      return { status: 200, headers: { "Content-Type": "text/plain" }, body: "OK" };
    return refuse(request.headers) ?? router(request);
  };
}

/** A check of `Authorization: Bearer <token>`, compared in constant time: a 401 answer, or undefined to go on. */
export function bearerTokenCheck(
  token: string,
): (headers: ApiRequest["headers"]) => ApiResponse | undefined {
  const expected = digest(token);
  return (headers) => {
    const header = headers.authorization;
    const match = /^Bearer\s+(.+)$/i.exec(typeof header === "string" ? header : "");
    if (match !== null && timingSafeEqual(digest((match[1] as string).trim()), expected))
      return undefined;
    return json(
      401,
      {
        error_code: "UNAUTHENTICATED",
        message:
          "this tracking server needs Authorization: Bearer <token> (the tracking.token setting)",
      },
      { "WWW-Authenticate": 'Bearer realm="genre-classifier tracking"' },
    );
  };
}

/** MLflow's API without authentication; every failure becomes MLflow's `{error_code, message}`. */
export function mlflowApiRouter(client: StoreTrackingClient, log: Logger): ApiHandler {
  const endpoints = mlflowEndpoints(client);

  async function route(request: ApiRequest): Promise<ApiResponse> {
    const { method, path: rawPath, query } = request;
    const path = new URL(rawPath, "http://tracking.invalid").pathname;
    if (rawPath === ARTIFACTS_API_PREFIX || rawPath.startsWith(`${ARTIFACTS_API_PREFIX}/`))
      return artifactsRoute(request, path);
    if (method === "POST" && MULTIPART_UPLOAD.test(rawPath))
      return json(501, { error_code: "NOT_IMPLEMENTED", message: MULTIPART_UNSUPPORTED });
    if (!path.startsWith(API_PREFIX)) return endpointNotFound(method, path);
    const byMethod = endpoints.get(path.slice(API_PREFIX.length));
    if (!byMethod) return endpointNotFound(method, path);
    const handler: Handler | undefined = byMethod.get(method);
    if (!handler) {
      const allowed = [...byMethod.keys()];
      return json(
        405,
        {
          error_code: "ENDPOINT_NOT_FOUND",
          message: `${path} does not take ${method}; use ${allowed.join(" or ")}`,
        },
        { Allow: allowed.join(", ") },
      );
    }
    const fields = new RequestFields({
      ...queryFields(query),
      ...(method === "GET" ? {} : await readJsonBody(request.body)),
    });
    return json(200, await handler(fields));
  }

  async function artifactsRoute(request: ApiRequest, path: string): Promise<ApiResponse> {
    const { artifacts } = client;
    const { method, query } = request;
    const rest = request.path.slice(ARTIFACTS_API_PREFIX.length).replace(/^\//, "");
    if (rest === "") {
      if (method !== "GET") return endpointNotFound(method, path);
      const listed = query.get("path") ?? "";
      const location =
        listed === "" ? "" : checkArtifactPath(listed.replace(/\/+$/, ""), "path", true);
      const entries = await artifacts.list(artifacts.proxied(location));
      return json(200, {
        files: entries.map((e) =>
          fileInfoToJson({ path: e.name, isDir: e.isDir, fileSize: e.size }),
        ),
      });
    }
    const location = artifacts.proxied(checkArtifactPath(decodePath(rest), "artifact path"));
    if (method === "PUT") {
      await artifacts.put(location, request.body as PutBody);
      return json(200, {});
    }
    if (method === "GET")
      return {
        status: 200,
        headers: {
          "Content-Type": "application/octet-stream",
          "X-Content-Type-Options": "nosniff",
        },
        body: await artifacts.getStream(location),
      };
    if (method === "DELETE") {
      await artifacts.delete(location);
      return json(200, {});
    }
    return endpointNotFound(method, path);
  }

  return (request) => route(request).catch((error) => errorResponse(error, log));
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

function queryFields(query: URLSearchParams): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const name of new Set(query.keys())) {
    const values = query.getAll(name);
    fields[name] = values.length === 1 ? values[0] : values;
  }
  return fields;
}

async function readJsonBody(body: ApiRequest["body"]): Promise<Record<string, unknown>> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY_BYTES)
      throw invalidParameter(
        `request body is larger than ${MAX_JSON_BODY_BYTES / 1024 / 1024} MiB`,
      );
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalidParameter(`request body is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw invalidParameter("request body must be a JSON object");
  return parsed as Record<string, unknown>;
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

function endpointNotFound(method: string, path: string): ApiResponse {
  return json(404, {
    error_code: "ENDPOINT_NOT_FOUND",
    message: `No API endpoint ${method} ${path}`,
  });
}

function json(status: number, body: JsonObject, headers: Record<string, string> = {}): ApiResponse {
  const text = JSON.stringify(body);
  return {
    status,
    headers: {
      ...headers,
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(text),
    },
    body: text,
  };
}

/** MLflow's `{error_code, message}` for a failure: its status, 400 for bad input, 503 when the database is busy, else 500. */
export function errorResponse(error: unknown, log: Logger): ApiResponse {
  if (error instanceof TrackingError)
    return json(error.httpStatus, { error_code: error.code, message: error.message });
  if (error instanceof InputError)
    return json(400, { error_code: "INVALID_PARAMETER_VALUE", message: error.message });
  if (error instanceof TrackingUnavailableError) {
    log.warn({ err: error }, "tracking server: the database did not answer in time");
    return json(503, { error_code: "TEMPORARILY_UNAVAILABLE", message: error.message });
  }
  log.error({ err: error }, "tracking server: request failed");
  const message = error instanceof Error ? error.message : String(error);
  return json(500, { error_code: "INTERNAL_ERROR", message });
}
