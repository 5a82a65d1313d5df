// Opening the tracking database on both backends: migrations applied once even when several
// processes open a fresh database together, one shared SQLite connection per file in a
// process, a schema from a newer version refused, and on PostgreSQL a statement timeout that
// keeps one slow statement from holding the pool.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { sql } from "kysely";
import pg from "pg";
import { OperationError } from "../../src/common/errors.ts";
import { startTrackingServer } from "../../src/server/tracking-server.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";
import { StoreTrackingClient } from "../../src/tracking/client.ts";
import { openTrackingDatabase } from "../../src/tracking/database.ts";
import { MIGRATION_TABLE } from "../../src/tracking/migrations.ts";
import { backends } from "./backends.ts";
import { runTogether } from "./processes.ts";

function model(name: string) {
  return { name, creation_time: 1, last_updated_time: 1, description: "", last_version: 0 };
}

for (const backend of backends) {
  describe(`tracking database on ${backend.name}`, { skip: backend.skip }, () => {
    it("migrates once when several processes open a fresh database at the same moment", async () => {
      const fresh = await backend.create();
      try {
        const outputs = await runTogether("./concurrent-opener.ts", [
          [fresh.uri],
          [fresh.uri],
          [fresh.uri],
        ]);
        assert.deepEqual(
          outputs.map((o) => JSON.parse(o)),
          [["Default"], ["Default"], ["Default"]],
        );
        const database = await openTrackingDatabase(fresh.uri);
        const migrations = await sql<{
          name: string;
        }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(database.db);
        assert.deepEqual(
          migrations.rows.map((r) => r.name),
          ["0001_tracking_and_registry", "0002_model_version_stage_and_storage_location"],
          "each migration applied once",
        );
        await database.close();
      } finally {
        await fresh.drop();
      }
    });

    it("shares one connection per SQLite file within a process, and a pool on PostgreSQL", async () => {
      const fresh = await backend.create();
      try {
        const opened = await Promise.all([1, 2, 3].map(() => openTrackingDatabase(fresh.uri)));
        const [first, second, third] = opened as [
          (typeof opened)[0],
          (typeof opened)[0],
          (typeof opened)[0],
        ];
        assert.equal(first.db === second.db, backend.name === "sqlite");
        await Promise.all([
          first.write((trx) => trx.insertInto("registered_models").values(model("a")).execute()),
          second.write((trx) => trx.insertInto("registered_models").values(model("b")).execute()),
        ]);
        await first.close();
        await first.close();
        const names = await third.db
          .selectFrom("registered_models")
          .select("name")
          .orderBy("name")
          .execute();
        assert.deepEqual(
          names.map((n) => n.name),
          ["a", "b"],
        );
        await second.close();
        await third.close();
      } finally {
        await fresh.drop();
      }
    });

    it("refuses a schema written by a newer version", async () => {
      const fresh = await backend.create();
      try {
        const first = await openTrackingDatabase(fresh.uri);
        await sql`insert into ${sql.table(MIGRATION_TABLE)} (name, timestamp) values ('9999_from_the_future', '2030-01-01T00:00:00Z')`.execute(
          first.db,
        );
        await first.close();
        await assert.rejects(openTrackingDatabase(fresh.uri), (error: unknown) => {
          assert.ok(error instanceof OperationError);
          assert.match(error.message, /newer genre-classifier/);
          return true;
        });
      } finally {
        await fresh.drop();
      }
    });

    it("cancels statements that run past statement_timeout, so slow ones cannot hold the pool", {
      skip:
        backend.name === "postgres" ? false : "PostgreSQL only: SQLite has no statement timeout",
    }, async () => {
      const fresh = await backend.create();
      const storeRoot = await mkdtemp(join(tmpdir(), "gc-tracking-timeout-"));
      const byDefault = await openTrackingDatabase(fresh.uri);
      const limited = new URL(fresh.uri);
      limited.searchParams.set("statement_timeout", "500");
      const database = await openTrackingDatabase(limited.href);
      const store = new LocalObjectStore(storeRoot);
      const client = new StoreTrackingClient(database, store);
      const server = await startTrackingServer({ client, host: "127.0.0.1", port: 0 });
      const locker = new pg.Client({ connectionString: fresh.uri });
      try {
        const shown = await sql<{
          statement_timeout: string;
        }>`show statement_timeout`.execute(byDefault.db);
        assert.equal(shown.rows[0]?.statement_timeout, "30s");

        const started = performance.now();
        const slow = Promise.allSettled(
          Array.from({ length: 12 }, () => sql`select pg_sleep(20)`.execute(database.db)),
        );
        const meanwhile = await client.searchExperiments();
        assert.deepEqual(
          meanwhile.items.map((e) => e.name),
          ["Default"],
        );
        for (const outcome of await slow) {
          assert.equal(outcome.status, "rejected");
          const error = (outcome as PromiseRejectedResult).reason;
          assert.ok(error instanceof OperationError, `expected an OperationError, got ${error}`);
          assert.match(error.message, /statement_timeout \(500 ms\)/);
        }
        assert.ok(performance.now() - started < 10_000, "the slow statements were cancelled");

        await locker.connect();
        await locker.query("begin");
        await locker.query("lock table experiments in access exclusive mode");
        const answer = await fetch(`${server.url}/api/2.0/mlflow/experiments/search`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: "{}",
        });
        const body = (await answer.json()) as { error_code: string; message: string };
        assert.equal(answer.status, 503);
        assert.equal(body.error_code, "TEMPORARILY_UNAVAILABLE");
        assert.match(body.message, /statement_timeout \(500 ms\)/);
        await locker.query("rollback");
      } finally {
        await locker.end().catch(() => {});
        await server.close();
        await client.close();
        await store.close();
        await byDefault.close();
        await fresh.drop();
        await rm(storeRoot, { recursive: true, force: true });
      }
    });
  });
}
