// The whole `serve` application in the test's process, on a free port of 127.0.0.1, over a
// fresh data folder (local store, SQLite tracking database) with the flow catalogue loaded, as
// `genre-classifier serve` opens it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadFlowCatalog } from "../../src/cli/flow-catalog.ts";
import { type Logger, silentLogger } from "../../src/common/logger.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { Config } from "../../src/config/schema.ts";
import { closePipelineEnvironment } from "../../src/flows/environment.ts";
import { serveOperations } from "../../src/operations/serve-operations.ts";
import { Orchestrator } from "../../src/orchestration/runtime.ts";
import { createServerApp } from "../../src/server/app.tsx";
import type { ServerContext } from "../../src/server/context.ts";
import { listen } from "../../src/server/http.ts";
import { OnlineModel } from "../../src/serving/online-model.ts";
import type { ObjectStore } from "../../src/storage/object-store.ts";
import { openObjectStore } from "../../src/storage/open.ts";
import { StoreTrackingClient } from "../../src/tracking/client.ts";

export interface TestServer extends ServerContext {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  dir: string;
  /** fetch() relative to the server, with the bearer token when one is set (unless given headers say otherwise). */
  request(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestServer(
  options: {
    /** An existing data folder (kept); default a fresh temporary one (removed on close). */
    dir?: string;
    token?: string;
    configure?: (config: Config) => void;
    log?: Logger;
  } = {},
): Promise<TestServer> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "gc-serve-")));
  const { config } = loadConfig({ cwd: dir, env: {}, flags: { dataDir: dir } });
  if (options.token !== undefined) config.server.token = options.token;
  options.configure?.(config);
  const log = options.log ?? silentLogger;
  const openStore = (): ObjectStore =>
    openObjectStore(config.storage.uri as string, config.storage.s3);
  await loadFlowCatalog({ config, log, openStore });
  const store = openStore();
  const orchestrator = await Orchestrator.open({
    databaseUri: config.tracking.uri as string,
    store,
    log,
  });
  const tracking = await StoreTrackingClient.open(config.tracking.uri as string, store);
  const token = config.server.token ?? config.tracking.token;
  const onlineModel = OnlineModel.start({
    tracking,
    name: config.pipeline.registeredModel,
    alias: config.server.predict.alias,
    refreshSeconds: config.server.predict.refreshSeconds,
    log,
  });
  const operations = serveOperations({ config, store, runs: orchestrator.runs });
  const context: ServerContext = {
    config,
    store,
    tracking,
    orchestrator,
    onlineModel,
    log,
    token,
    operations,
  };
  const server = await listen({
    app: createServerApp(context),
    host: "127.0.0.1",
    port: 0,
    what: "serve",
    log,
  });
  return {
    ...context,
    url: server.url,
    dir,
    request(path, init = {}) {
      const headers = new Headers(init.headers);
      if (token !== undefined && !headers.has("authorization"))
        headers.set("authorization", `Bearer ${token}`);
      return fetch(`${server.url}${path}`, { ...init, headers });
    },
    async close() {
      await server.close(Date.now() + 2000);
      await operations.close();
      await onlineModel.close();
      await orchestrator.close();
      await tracking.close();
      await closePipelineEnvironment();
      await store.close();
      if (options.dir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}
