// Who may use the server. With a token configured every page and API needs it: APIs as
// `Authorization: Bearer <token>`, the UI through a login form that sets an HttpOnly, SameSite
// cookie (a digest of the token, never the token itself). State-changing requests from a
// browser must come from the server's own origin. Without a token everything is open (serve
// then listens on loopback only), and the origin rule still holds for browsers.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { ServerEnv } from "./context.ts";

export const SESSION_COOKIE = "gc_session";
const SESSION_DAYS = 30;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Paths served without credentials: the login form itself and the assets it shows. */
const PUBLIC_PATHS = [/^\/login$/, /^\/assets\//, /^\/favicon\.ico$/];

export function sessionValue(token: string): string {
  return createHmac("sha256", token).update("genre-classifier session v1").digest("base64url");
}

export function sameSecret(given: string, expected: string): boolean {
  const a = createHmac("sha256", "compare").update(given).digest();
  const b = createHmac("sha256", "compare").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Lets a request in or answers it: 401 for APIs, a redirect to the login form for pages. */
export function authentication(token: string | undefined): MiddlewareHandler<ServerEnv> {
  const session = token === undefined ? undefined : sessionValue(token);
  return async (c, next) => {
    if (token === undefined || session === undefined) {
      c.set("authenticatedBy", "open");
      return next();
    }
    const path = c.req.path;
    if (PUBLIC_PATHS.some((pattern) => pattern.test(path))) return next();
    const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header("authorization") ?? "");
    if (bearer !== null && sameSecret((bearer[1] as string).trim(), token)) {
      c.set("authenticatedBy", "bearer");
      return next();
    }
    const cookie = getCookie(c, SESSION_COOKIE);
    if (cookie !== undefined && sameSecret(cookie, session)) {
      c.set("authenticatedBy", "cookie");
      return next();
    }
    if (isApiPath(path) || !SAFE_METHODS.has(c.req.method)) return unauthenticated(c);
    const target = `${path}${new URL(c.req.url).search}`;
    return c.redirect(`/login?next=${encodeURIComponent(target)}`, 303);
  };
}

/**
 * Refuses a state-changing request a browser sent from another origin (cross-site request
 * forgery): its Origin (or, without one, Referer) must be this server's. Requests with a bearer
 * header come from scripts, not browsers, and pass.
 */
export function sameOrigin(): MiddlewareHandler<ServerEnv> {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method) || c.get("authenticatedBy") === "bearer") return next();
    const origin = c.req.header("origin") ?? refererOrigin(c.req.header("referer"));
    const host = c.req.header("host");
    if (origin === undefined) {
      if (c.get("authenticatedBy") === "cookie")
        return forbidden(c, "a browser request that changes state must carry an Origin header");
      return next();
    }
    let originHost: string;
    try {
      originHost = new URL(origin).host;
    } catch {
      return forbidden(c, `Origin ${JSON.stringify(origin)} is not a URL`);
    }
    if (host === undefined || originHost !== host)
      return forbidden(c, `requests from ${origin} may not change this server's state`);
    return next();
  };
}

/** Sets the login cookie when `given` is the token; false otherwise. */
export function logIn(c: Context<ServerEnv>, token: string, given: string): boolean {
  if (!sameSecret(given.trim(), token)) return false;
  setCookie(c, SESSION_COOKIE, sessionValue(token), {
    httpOnly: true,
    sameSite: "Strict",
    path: "/",
    secure: new URL(c.req.url).protocol === "https:",
    maxAge: SESSION_DAYS * 24 * 3600,
  });
  return true;
}

export function logOut(c: Context<ServerEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { path: "/" });
}

/** A local path to go back to after logging in; anything else (another host) is `/`. */
export function safeNext(next: string | undefined): string {
  if (next === undefined || !next.startsWith("/") || next.startsWith("//") || next.includes("\\"))
    return "/";
  return next;
}

/** Paths answered with a 401 rather than a redirect to the login form: APIs, and /metrics for scrapers. */
function isApiPath(path: string): boolean {
  return path.startsWith("/api/") || path.startsWith("/ajax/") || path === "/metrics";
}

function refererOrigin(referer: string | undefined): string | undefined {
  if (referer === undefined) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return referer;
  }
}

function unauthenticated(c: Context<ServerEnv>) {
  const mlflow = c.req.path.startsWith("/api/2.0/");
  c.header("WWW-Authenticate", 'Bearer realm="genre-classifier"');
  return c.json(
    mlflow
      ? {
          error_code: "UNAUTHENTICATED",
          message: "this server needs Authorization: Bearer <token> (the server.token setting)",
        }
      : { error: "this server needs Authorization: Bearer <token> (the server.token setting)" },
    401,
  );
}

function forbidden(c: Context<ServerEnv>, message: string) {
  return c.json({ error: message }, 403);
}
