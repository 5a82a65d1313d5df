/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// A request value at fault, named: answered as `{"error", "field"}` JSON for /api/v1 and as a
// page with the message for the UI.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ServerEnv } from "../context.ts";
import { Page } from "../ui/layout.tsx";

export interface FieldProblem {
  /** The query parameter, path part or body field at fault. */
  field: string;
  message: string;
}

export function isProblem(value: unknown): value is FieldProblem {
  return (
    typeof value === "object" &&
    value !== null &&
    "field" in value &&
    "message" in value &&
    Object.keys(value).length === 2
  );
}

export function fieldError(
  c: Context<ServerEnv>,
  problem: FieldProblem,
  status: ContentfulStatusCode = 400,
): Response {
  return c.json({ error: problem.message, field: problem.field }, status);
}

export function problemPage(
  c: Context<ServerEnv>,
  problem: FieldProblem,
  loggedIn: boolean,
  status: ContentfulStatusCode = 400,
): Response | Promise<Response> {
  return c.html(
    <Page title={status === 404 ? "Not found" : "Bad request"} loggedIn={loggedIn}>
      <p class="alert bad" role="alert">
        {problem.message}
      </p>
      <p>
        <a href="/">Back to the overview</a>
      </p>
    </Page>,
    status,
  );
}
