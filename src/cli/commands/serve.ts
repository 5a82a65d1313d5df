// `serve`: the web UI, the JSON and online prediction APIs, the monitoring reports, MLflow's API
// and the operations endpoints (/healthz, /readyz, /metrics) from one server over the configured
// stores. On SIGTERM or SIGINT /healthz and /readyz turn 503, it stops listening, lets the
// requests in flight end, and stops in bounded time.
import type { Command } from "commander";
import { doneBy } from "../../common/deadline.ts";
import { OperationError } from "../../common/errors.ts";
import { portNumber } from "../options.ts";
import { openOrchestrator } from "../orchestrator.ts";
import { printLine } from "../output.ts";
import { DEFAULT_SHUTDOWN_SECONDS, SHUTDOWN_OPTION, watchStopSignals } from "../shutdown.ts";

interface ServeFlags {
  host?: string;
  port?: number;
  allowNoToken?: boolean;
  shutdownTimeout?: number;
}

export function registerServeCommand(program: Command): void {
  program
    .command("serve")
    .description(
      "serve the web UI, the JSON and online prediction APIs, the reports and MLflow's API",
    )
    .option("--host <address>", "address to listen on (config server.host)")
    .option(
      "--port <port>",
      "port to listen on, 0 for any free port (config server.port)",
      portNumber,
    )
    .option(
      "--allow-no-token",
      "serve without a token on a non-loopback address (anyone who can reach it can change state)",
    )
    .option(...SHUTDOWN_OPTION)
    .action(async (flags: ServeFlags, command: Command) => {
      const seconds = flags.shutdownTimeout ?? DEFAULT_SHUTDOWN_SECONDS;
      const stop = watchStopSignals("serve", seconds, () => undefined);
      const { orchestrator, context, store } = await openOrchestrator(command).catch((error) => {
        stop.finished();
        throw error;
      });
      const { config, log } = context;
      const token = config.server.token ?? config.tracking.token;
      const host = flags.host ?? config.server.host;
      const { checkListenSecurity, listen } = await import("../../server/http.ts");
      const { StoreTrackingClient } = await import("../../tracking/client.ts");
      const { createServerApp } = await import("../../server/app.tsx");
      const { OnlineModel } = await import("../../serving/online-model.ts");
      const { serveOperations } = await import("../../operations/serve-operations.ts");
      const operations = serveOperations({ config, store, runs: orchestrator.runs, queues: true });
      let tracking: InstanceType<typeof StoreTrackingClient> | undefined;
      let onlineModel: InstanceType<typeof OnlineModel> | undefined;
      let server: Awaited<ReturnType<typeof listen>>;
      try {
        checkListenSecurity({
          what: "serve",
          setting: "server.token",
          host,
          token,
          allowUnauthenticated: flags.allowNoToken,
        });
        tracking = await StoreTrackingClient.open(config.tracking.uri as string, store);
        onlineModel = OnlineModel.start({
          tracking,
          name: config.pipeline.registeredModel,
          alias: config.server.predict.alias,
          refreshSeconds: config.server.predict.refreshSeconds,
          log,
        });
        const app = createServerApp({
          config,
          store,
          tracking,
          orchestrator,
          onlineModel,
          log,
          token,
          operations,
        });
        server = await listen({
          app,
          host,
          port: flags.port ?? config.server.port,
          what: "serve",
          log,
        });
      } catch (error) {
        stop.finished();
        await operations.close();
        await onlineModel?.close();
        await tracking?.close();
        await orchestrator.close();
        await store.close();
        throw error;
      }
      printLine(`genre-classifier serving on ${server.url}`);
      printLine(
        `UI ${server.url}/ · JSON API ${server.url}/api/v1/ · MLflow API ${server.url}/api/2.0/mlflow/ · ${token ? "token required" : "no token"}`,
      );
      printLine(`stores: ${tracking.uri}; objects ${store.uri}`);
      printLine(
        `health ${server.url}/healthz · readiness ${server.url}/readyz · metrics ${server.url}/metrics${token && !config.server.metricsPublic ? " (token required)" : ""}`,
      );
      await stop.requested;
      operations.health.beginStopping();
      log.info("serve: stopping");
      const deadline = stop.deadline - Math.min(1_000, seconds * 200);
      const { cutOff } = await server.close(deadline - Math.min(2_000, (seconds * 1000) / 3));
      await doneBy(operations.close(), deadline);
      await doneBy(onlineModel.close(), deadline);
      const [trackingClosed] = await Promise.all([
        doneBy(tracking.close(), deadline),
        doneBy(orchestrator.close(), deadline),
      ]);
      await doneBy(store.close(), deadline);
      stop.finished();
      if (cutOff > 0)
        throw new OperationError(
          `serve: ${cutOff} request${cutOff === 1 ? " was" : "s were"} still waiting for an answer when it stopped`,
        );
      if (!trackingClosed)
        throw new OperationError("serve: the tracking database did not answer while stopping");
    });
}
