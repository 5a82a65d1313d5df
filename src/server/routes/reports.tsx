/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The reports pages and their /api/v1 endpoints (being built).
import { Hono } from "hono";
import type { ServerContext, ServerEnv } from "../context.ts";

export function reportsRoutes(_context: ServerContext): Hono<ServerEnv> {
  return new Hono<ServerEnv>();
}
