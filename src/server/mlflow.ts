// MLflow's REST API and artifact proxy (tracking/api-router.ts) mounted on the Hono stack, so
// `serve` and `tracking serve` answer them through the same code; bodies beyond the size limit
// are refused.
import { Readable } from "node:stream";
import type { Hono } from "hono";
import { InputError } from "../common/errors.ts";
import type { ApiHandler } from "../tracking/api-router.ts";
import type { ServerEnv } from "./context.ts";

/** Answers every request under `/api/2.0/` with `api`. */
export function mountMlflowApi(app: Hono<ServerEnv>, api: ApiHandler, maxBodyBytes: number): void {
  app.all("/api/2.0/*", async (c) => {
    const length = Number(c.req.header("content-length") ?? 0);
    if (length > maxBodyBytes) return c.json(tooLarge(maxBodyBytes), 413);
    const url = new URL(c.req.url);
    const incoming = c.env?.incoming;
    const source: AsyncIterable<Uint8Array> =
      incoming ?? (c.req.raw.body ? Readable.fromWeb(c.req.raw.body as never) : Readable.from([]));
    const answer = await api({
      method: c.req.method,
      path: url.pathname,
      query: url.searchParams,
      headers: incoming?.headers ?? Object.fromEntries(c.req.raw.headers),
      body: limitedBody(source, maxBodyBytes),
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

function tooLarge(maxBodyBytes: number) {
  return {
    error_code: "INVALID_PARAMETER_VALUE",
    message: `request body larger than ${maxBodyBytes} bytes (the server.maxBodyBytes setting)`,
  };
}

async function* limitedBody(
  source: AsyncIterable<Uint8Array>,
  maxBodyBytes: number,
): AsyncIterable<Uint8Array> {
  let bytes = 0;
  for await (const chunk of source) {
    bytes += chunk.byteLength;
    if (bytes > maxBodyBytes) throw new InputError(tooLarge(maxBodyBytes).message);
    yield chunk;
  }
}
