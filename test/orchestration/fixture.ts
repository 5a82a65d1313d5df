// A fresh SQLite tracking database and local object store for each orchestration test.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Orchestrator, type OrchestratorOptions } from "../../src/orchestration/runtime.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";
import { sqliteUri } from "../../src/tracking/uri.ts";

export interface OrchestrationFixture {
  dir: string;
  databaseUri: string;
  storeRoot: string;
  open(options?: Partial<OrchestratorOptions>): Promise<Orchestrator>;
  close(): Promise<void>;
}

export async function createFixture(): Promise<OrchestrationFixture> {
  const dir = await mkdtemp(join(tmpdir(), "gc-orchestration-"));
  const databaseUri = sqliteUri(join(dir, "tracking.db"));
  const storeRoot = join(dir, "store");
  const opened: Orchestrator[] = [];
  return {
    dir,
    databaseUri,
    storeRoot,
    async open(options = {}) {
      const orchestrator = await Orchestrator.open({
        databaseUri,
        store: new LocalObjectStore(storeRoot),
        heartbeatMs: 200,
        ...options,
      });
      opened.push(orchestrator);
      return orchestrator;
    },
    async close() {
      for (const orchestrator of opened) await orchestrator.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
