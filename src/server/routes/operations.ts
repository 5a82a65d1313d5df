// The operations endpoints: GET /healthz (the process is up: 200, or 503 once it is stopping),
// GET /readyz (its stores answer: 200 with each check's time, or 503 naming what failed) and
// GET /metrics (Prometheus text); and the middleware timing every request by method, route
// pattern and status. app.tsx mounts /healthz and /readyz ahead of authentication, and
// /metrics behind it unless server.metricsPublic is set.
import { Hono, type MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { livenessAnswer, readinessAnswer } from "../../operations/health.ts";
import { metricsAnswer } from "../../operations/metrics.ts";
import type { ServeOperations } from "../../operations/serve-operations.ts";
import type { ServerEnv } from "../context.ts";

const NO_STORE = { "Cache-Control": "no-store" };

export function healthRoutes(operations: ServeOperations): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  app.get("/healthz", (c) => {
    const answer = livenessAnswer(operations.health);
    return c.json(answer.body, answer.status, NO_STORE);
  });
  app.get("/readyz", async (c) => {
    const answer = await readinessAnswer(operations.health, operations.readiness);
    return c.json(answer.body, answer.status, NO_STORE);
  });
  return app;
}

export function metricsRoutes(operations: ServeOperations): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  app.get("/metrics", async (c) => {
    const { contentType, body } = await metricsAnswer(operations.metrics.registry);
    return c.body(body, 200, { "Content-Type": contentType, ...NO_STORE });
  });
  return app;
}

/** Times each request under the route pattern that answered it (or would have, had it been let in). */
export function requestMetrics(operations: ServeOperations): MiddlewareHandler<ServerEnv> {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      operations.metrics.request(
        c.req.method,
        routePattern(c),
        c.res.status,
        (performance.now() - started) / 1000,
      );
    }
  };
}

function routePattern(c: Parameters<MiddlewareHandler<ServerEnv>>[0]): string | undefined {
  const routes = matchedRoutes(c).filter((r) => r.path !== "*" && r.path !== "/*");
  const answering = matchedRoutes(c)[c.req.routeIndex];
  if (answering && routes.includes(answering)) return answering.path;
  return routes.at(-1)?.path;
}
