// A fresh tracking database (SQLite, or PostgreSQL when POSTGRES_TEST_URL is set; the
// backends of the tracking suite) and a fresh local object store for each orchestration suite.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Orchestrator, type OrchestratorOptions } from "../../src/orchestration/runtime.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";
import { type Backend, backends } from "../tracking/backends.ts";

export { type Backend, backends };

export interface OrchestrationFixture {
  dir: string;
  databaseUri: string;
  storeRoot: string;
  open(options?: Partial<OrchestratorOptions>): Promise<Orchestrator>;
  close(): Promise<void>;
}

export async function createFixture(
  backend: Backend = backends[0] as Backend,
): Promise<OrchestrationFixture> {
  const dir = await mkdtemp(join(tmpdir(), "gc-orchestration-"));
  const database = await backend.create();
  const storeRoot = join(dir, "store");
  const opened: Orchestrator[] = [];
  return {
    dir,
    databaseUri: database.uri,
    storeRoot,
    async open(options = {}) {
      const orchestrator = await Orchestrator.open({
        databaseUri: database.uri,
        store: new LocalObjectStore(storeRoot),
        heartbeatMs: 200,
        ...options,
      });
      opened.push(orchestrator);
      return orchestrator;
    },
    async close() {
      for (const orchestrator of opened) await orchestrator.close().catch(() => {});
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
