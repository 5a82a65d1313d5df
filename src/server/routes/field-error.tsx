/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// Requests refused for bad input or for what does not exist: the status each error answers with,
// the request field at fault named in `{"error", "field"}` JSON for /api/v1, the message on a page
// for the UI, and the page-size parameter the lists share.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { InputError } from "../../common/errors.ts";
import { TrackingError } from "../../tracking/errors.ts";
import type { ServerEnv } from "../context.ts";
import { Page, type Section } from "../ui/layout.tsx";

export interface FieldProblem {
  /** The query parameter, path part or body field at fault. */
  field: string;
  message: string;
}

/** Bad input naming the request field at fault; 404 when what it names does not exist. */
export class FieldInputError extends InputError {
  constructor(
    readonly field: string,
    message: string,
    readonly status: 400 | 404 = 400,
  ) {
    super(message);
  }
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

/** 400 for bad input, 404 for what does not exist; undefined for anything else (a 500). */
export function statusOf(error: unknown): 400 | 404 | undefined {
  if (error instanceof FieldInputError) return error.status;
  if (error instanceof TrackingError) return error.code === "RESOURCE_DOES_NOT_EXIST" ? 404 : 400;
  if (error instanceof InputError) return 400;
  return undefined;
}

export function fieldError(
  c: Context<ServerEnv>,
  problem: FieldProblem,
  status: ContentfulStatusCode = 400,
): Response {
  return c.json({ error: problem.message, field: problem.field }, status);
}

/**
 * The JSON answer to an error with statusOf's status, naming the field a FieldInputError names,
 * else `field`, else the field the message starts with (`day "0": …`), else `query`. Anything
 * but bad input or a missing resource is thrown again (the server's 500).
 */
export function jsonError(c: Context<ServerEnv>, error: unknown, field?: string): Response {
  const status = statusOf(error);
  if (status === undefined) throw error;
  const message = (error as Error).message;
  const named =
    error instanceof FieldInputError
      ? error.field
      : (field ?? /^([a-z_]+) /.exec(message)?.[1] ?? "query");
  return c.json({ error: message, field: named }, status);
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

/**
 * A section's page with an error's message, answered with statusOf's status (titled "Not found"
 * for a 404) and a link back when given. Anything but bad input or a missing resource is
 * thrown again (the server's 500).
 */
export function errorPage(
  c: Context<ServerEnv>,
  error: unknown,
  page: {
    section: Section;
    loggedIn: boolean;
    title?: string | undefined;
    back?: { href: string; text: string } | undefined;
  },
): Response | Promise<Response> {
  const status = statusOf(error);
  if (status === undefined) throw error;
  return c.html(
    <Page
      title={status === 404 ? "Not found" : (page.title ?? "Error")}
      section={page.section}
      loggedIn={page.loggedIn}
    >
      <p class="alert bad">{(error as Error).message}</p>
      {page.back ? (
        <p>
          <a href={page.back.href}>{page.back.text}</a>
        </p>
      ) : null}
    </Page>,
    status,
  );
}

/** A list's `max_results`: `fallback` when absent, else a whole number from 1 to `max`. */
export function parseMaxResults(
  value: string | null | undefined,
  fallback: number,
  max: number,
): number {
  if (value === null || value === undefined || value === "") return fallback;
  const size = Number(value);
  if (!/^\d+$/.test(value) || size < 1 || size > max)
    throw new FieldInputError(
      "max_results",
      `max_results: expected a whole number from 1 to ${max}, got ${JSON.stringify(value.slice(0, 40))}`,
    );
  return size;
}
