/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The server's one application: request metrics, security headers, /healthz and /readyz, then
// authentication and the origin rule in front of /metrics (unless server.metricsPublic), the UI
// pages, the /api/v1 JSON API, the online prediction API, the monitoring reports and MLflow's
// API under /api/2.0. Routes call the areas; they hold no logic of their own.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { InputError } from "../common/errors.ts";
import { serveOperations } from "../operations/serve-operations.ts";
import { ObjectNotFoundError } from "../storage/object-store.ts";
import { trackingApi } from "../tracking/api-router.ts";
import { TrackingError, TrackingUnavailableError } from "../tracking/errors.ts";
import { authentication, sameOrigin } from "./auth.ts";
import type { ServerContext, ServerEnv } from "./context.ts";
import { mountMlflowApi } from "./mlflow.ts";
import { assetRoutes } from "./routes/assets.ts";
import { compareRoutes } from "./routes/compare.tsx";
import { deploymentsRoutes } from "./routes/deployments.tsx";
import { experimentsRoutes } from "./routes/experiments.tsx";
import { flowRunsRoutes } from "./routes/flow-runs.tsx";
import { loginRoutes } from "./routes/login.tsx";
import { modelsRoutes } from "./routes/models.tsx";
import { healthRoutes, metricsRoutes, requestMetrics } from "./routes/operations.ts";
import { overviewRoutes } from "./routes/overview.tsx";
import { predictRoutes } from "./routes/predict.tsx";
import { predictionsRoutes } from "./routes/predictions.tsx";
import { reportsRoutes } from "./routes/reports.tsx";
import { runsRoutes } from "./routes/runs.tsx";
import { Page } from "./ui/layout.tsx";

/**
 * The pages' content security policy: everything from this server only; inline style attributes
 * (the SVG charts use them) but no inline scripts.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'; object-src 'none'";

export function createServerApp(given: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const operations =
    given.operations ??
    serveOperations({ config: given.config, store: given.store, runs: given.orchestrator.runs });
  const context: ServerContext = { ...given, operations };
  const maxBodyBytes = context.config.server.maxBodyBytes;
  const metricsPublic = context.config.server.metricsPublic;
  app.use(requestMetrics(operations));
  app.use(async (c, next) => {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "same-origin");
    if (!c.res.headers.has("Content-Security-Policy"))
      c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
  });
  app.route("/", healthRoutes(operations));
  if (metricsPublic) app.route("/", metricsRoutes(operations));
  app.use(authentication(context.token));
  app.use(sameOrigin());
  app.use(async (c, next) => {
    if (c.req.path.startsWith("/api/2.0/")) return next();
    return bodyLimit({
      maxSize: maxBodyBytes,
      // The unread rest of the body is not drained: the connection closes after the answer,
      // and says so, lest a client send its next request down a socket about to close.
      onError: (c) =>
        c.json(
          {
            error: `request body larger than ${maxBodyBytes} bytes (the server.maxBodyBytes setting)`,
          },
          413,
          { Connection: "close" },
        ),
    })(c, next);
  });

  if (!metricsPublic) app.route("/", metricsRoutes(operations));
  app.route("/", assetRoutes());
  app.route("/", loginRoutes(context));
  app.route("/", overviewRoutes(context));
  app.route("/", flowRunsRoutes(context));
  app.route("/", deploymentsRoutes(context));
  app.route("/", experimentsRoutes(context));
  app.route("/", runsRoutes(context));
  app.route("/", compareRoutes(context));
  app.route("/", modelsRoutes(context));
  app.route("/", predictionsRoutes(context));
  app.route("/", reportsRoutes(context));
  app.route("/", predictRoutes(context));
  mountMlflowApi(
    app,
    trackingApi({ client: context.tracking, token: undefined, log: context.log }),
    { artifactBytes: context.config.server.maxArtifactBytes, otherBytes: maxBodyBytes },
  );

  app.notFound((c) => {
    if (wantsJson(c.req.path)) return c.json({ error: `no such resource: ${c.req.path}` }, 404);
    return c.html(
      <Page title="Not found" loggedIn={context.token !== undefined}>
        <p>
          Nothing here: <code>{c.req.path}</code>. <a href="/">Back to the overview</a>.
        </p>
      </Page>,
      404,
    );
  });
  app.onError((error, c) => {
    const status = errorStatus(error);
    if (status === 500)
      context.log.error({ err: error, path: c.req.path }, "serve: request failed");
    const message = status === 500 ? "internal error (see the server's log)" : error.message;
    if (wantsJson(c.req.path)) return c.json({ error: message }, status);
    return c.html(
      <Page title={status === 404 ? "Not found" : "Error"} loggedIn={context.token !== undefined}>
        <p class="alert bad">{message}</p>
      </Page>,
      status,
    );
  });
  return app;
}

/** 404 for what does not exist, 400 for bad input, 503 for a busy database, else 500. */
function errorStatus(error: Error): 400 | 404 | 500 | 503 {
  if (error instanceof TrackingError) return error.httpStatus === 404 ? 404 : 400;
  if (error instanceof ObjectNotFoundError) return 404;
  if (error instanceof InputError) return 400;
  if (error instanceof TrackingUnavailableError) return 503;
  return 500;
}

function wantsJson(path: string): boolean {
  return path.startsWith("/api/") || path.startsWith("/ajax/");
}
