// The UI's static files, all served by the server itself: stylesheet, script, htmx (from its npm
// package) and the icon; cached for a year (their URLs carry a version).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Hono } from "hono";
import type { ServerEnv } from "../context.ts";
import { SCRIPT } from "../ui/script.ts";
import { STYLESHEET } from "../ui/style.ts";

const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#3a5bd9"/><path d="M12 23a3 3 0 1 1-2-2.8V9l11-2v12a3 3 0 1 1-2-2.8V10.4l-7 1.3V23z" fill="#fff"/></svg>`;

let htmx: string | undefined;
function htmxSource(): string {
  htmx ??= readFileSync(
    createRequire(import.meta.url).resolve("htmx.org/dist/htmx.min.js"),
    "utf8",
  );
  return htmx;
}

export function assetRoutes(): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const asset = (path: string, type: string, body: () => string) =>
    app.get(path, (c) =>
      c.body(body(), 200, {
        "Content-Type": type,
        "Cache-Control": "public, max-age=31536000, immutable",
      }),
    );
  asset("/assets/app.css", "text/css; charset=utf-8", () => STYLESHEET);
  asset("/assets/app.js", "text/javascript; charset=utf-8", () => SCRIPT);
  asset("/assets/htmx.min.js", "text/javascript; charset=utf-8", htmxSource);
  asset("/assets/favicon.svg", "image/svg+xml", () => FAVICON);
  app.get("/favicon.ico", (c) => c.redirect("/assets/favicon.svg", 301));
  return app;
}
