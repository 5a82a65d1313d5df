// MLflow's REST API and artifact proxy (tracking/api-router.ts) mounted on the Hono stack, so
// `serve` and `tracking serve` answer them through the same code. Bodies are limited: artifact
// uploads to one size, every other request to another.
import { Readable } from "node:stream";
import type { Hono } from "hono";
import { InputError } from "../common/errors.ts";
import { type ApiHandler, ARTIFACTS_API_PREFIX } from "../tracking/api-router.ts";

export interface BodyLimits {
  /** Artifact uploads (`/api/2.0/mlflow-artifacts/…`). */
  artifactBytes: number;
  /** Everything else (MLflow's JSON requests). */
  otherBytes: number;
}

/** Answers every request matching `pattern` (default everything under `/api/2.0/`) with `api`. */
// biome-ignore lint/suspicious/noExplicitAny: mounted on applications whatever their environment
export function mountMlflowApi<E extends { Bindings: any }>(
  app: Hono<E>,
  api: ApiHandler,
  limits: BodyLimits,
  pattern = "/api/2.0/*",
): void {
  app.all(pattern, async (c) => {
    const incoming = (c.env as { incoming?: import("node:http").IncomingMessage } | undefined)
      ?.incoming;
    // The request target as sent: the WHATWG URL would resolve `..` segments the router must see.
    const sent = incoming?.url ?? `${new URL(c.req.url).pathname}${new URL(c.req.url).search}`;
    const [path, search = ""] = sent.split(/\?(.*)/s) as [string, string?];
    const limit = path.startsWith(ARTIFACTS_API_PREFIX.replace(/\/artifacts$/, "/"))
      ? limits.artifactBytes
      : limits.otherBytes;
    const length = Number(c.req.header("content-length") ?? 0);
    if (length > limit) return c.json(tooLarge(limit), 413, { Connection: "close" });
    const source: AsyncIterable<Uint8Array> =
      incoming ?? (c.req.raw.body ? Readable.fromWeb(c.req.raw.body as never) : Readable.from([]));
    const answer = await api({
      method: c.req.method,
      path,
      query: new URLSearchParams(search),
      headers: incoming?.headers ?? Object.fromEntries(c.req.raw.headers),
      body: limitedBody(source, limit),
    });
    const body = typeof answer.body === "string" ? answer.body : Readable.toWeb(answer.body);
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) headers.set(name, String(value));
    return new Response(body as ConstructorParameters<typeof Response>[0], {
      status: answer.status,
      headers,
    });
  });
}

function tooLarge(limit: number) {
  return {
    error_code: "INVALID_PARAMETER_VALUE",
    message: `request body larger than ${limit} bytes (the server.maxBodyBytes / server.maxArtifactBytes settings)`,
  };
}

async function* limitedBody(
  source: AsyncIterable<Uint8Array>,
  limit: number,
): AsyncIterable<Uint8Array> {
  let bytes = 0;
  for await (const chunk of source) {
    bytes += chunk.byteLength;
    if (bytes > limit) throw new InputError(tooLarge(limit).message);
    yield chunk;
  }
}
