// `tracking serve`: the MLflow-compatible tracking server over the configured store; and the
// helper the experiments, runs and models commands use to open the configured tracking client.
// The tracking modules (database drivers) load only when a tracking command runs.
import type { Command } from "commander";
import { doneBy } from "../../common/deadline.ts";
import { InputError, OperationError } from "../../common/errors.ts";
import type { ObjectStore } from "../../storage/object-store.ts";
import type { StoreTrackingClient, TrackingClient } from "../../tracking/client.ts";
import { parseTrackingUri } from "../../tracking/uri.ts";
import { type CommandContext, createContext } from "../context.ts";
import { portNumber } from "../options.ts";
import { printLine } from "../output.ts";
import { DEFAULT_SHUTDOWN_SECONDS, SHUTDOWN_OPTION, watchStopSignals } from "../shutdown.ts";

/** Runs `work` with the configured tracking client, closing it (and the object store) after. */
export async function withTracking<T>(
  command: Command,
  work: (client: TrackingClient, context: CommandContext) => Promise<T>,
): Promise<T> {
  const context = createContext(command);
  const { openTrackingClient } = await import("../../tracking/open.ts");
  let store: ObjectStore | undefined;
  const client = await openTrackingClient(
    { uri: context.config.tracking.uri as string, token: context.config.tracking.token },
    () => {
      store = context.openStore();
      return store;
    },
  );
  try {
    return await work(client, context);
  } finally {
    await client.close();
    await store?.close();
  }
}

interface ServeFlags {
  host?: string;
  port?: number;
  allowNoToken?: boolean;
  shutdownTimeout?: number;
}

export function registerTrackingCommands(program: Command): void {
  const tracking = program
    .command("tracking")
    .description("the tracking server (MLflow REST API 2.0)");
  tracking
    .command("serve")
    .description("serve MLflow's REST API over the configured tracking store and object store")
    .option("--host <address>", "address to listen on (config tracking.server.host)")
    .option(
      "--port <port>",
      "port to listen on, 0 for any free port (config tracking.server.port)",
      portNumber,
    )
    .option(
      "--allow-no-token",
      "serve without a token on a non-loopback address (anyone who can reach it can write)",
    )
    .option(...SHUTDOWN_OPTION)
    .action(async (flags: ServeFlags, command: Command) => {
      const context = createContext(command);
      const { tracking: settings } = context.config;
      const uri = settings.uri as string;
      if (parseTrackingUri(uri).kind === "http")
        throw new InputError(
          `tracking serve: tracking.uri ${uri} is a server; serve a database (sqlite:///… or postgres://…)`,
        );
      const { StoreTrackingClient } = await import("../../tracking/client.ts");
      const { startTrackingServer } = await import("../../server/tracking-server.ts");
      const seconds = flags.shutdownTimeout ?? DEFAULT_SHUTDOWN_SECONDS;
      const stop = watchStopSignals("tracking serve", seconds, () => undefined);
      const store = context.openStore();
      let client: StoreTrackingClient | undefined;
      let server: Awaited<ReturnType<typeof startTrackingServer>>;
      try {
        client = await StoreTrackingClient.open(uri, store);
        server = await startTrackingServer({
          client,
          host: flags.host ?? settings.server.host,
          port: flags.port ?? settings.server.port,
          token: settings.token,
          allowUnauthenticated: flags.allowNoToken === true,
          limits: {
            artifactBytes: context.config.server.maxArtifactBytes,
            otherBytes: context.config.server.maxBodyBytes,
          },
          log: context.log,
        });
        printLine(`tracking server listening on ${server.url}`);
        printLine(
          `store: ${client.uri}; artifacts: ${store.uri}/tracking/; ${settings.token ? "bearer token required" : "no token"}`,
        );
      } catch (error) {
        stop.finished();
        await client?.close();
        await store.close();
        throw error;
      }
      // Requests in flight get most of the shutdown timeout to end; a database that does not
      // answer cannot hold the process beyond it.
      await stop.requested;
      context.log.info("tracking server: stopping");
      const deadline = stop.deadline - Math.min(1_000, seconds * 200);
      const { cutOff } = await server.close(deadline - Math.min(2_000, (seconds * 1000) / 3));
      const [databaseClosed, storeClosed] = await Promise.all([
        doneBy(client.close(), deadline),
        doneBy(store.close(), deadline),
      ]);
      stop.finished();
      const unanswered = databaseClosed ? "" : "; the tracking database did not answer";
      if (cutOff > 0)
        throw new OperationError(
          `tracking serve: ${cutOff} request${cutOff === 1 ? " was" : "s were"} still waiting for an answer when it stopped${unanswered}`,
        );
      if (!databaseClosed)
        throw new OperationError(
          "tracking serve: the tracking database did not answer while stopping",
        );
      if (!storeClosed) context.log.warn("the object store did not answer while stopping");
    });
}
