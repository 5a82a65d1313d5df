/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The deployments pages and their /api/v1 endpoints (being built).
import { Hono } from "hono";
import type { ServerContext, ServerEnv } from "../context.ts";

export function deploymentsRoutes(_context: ServerContext): Hono<ServerEnv> {
  return new Hono<ServerEnv>();
}
