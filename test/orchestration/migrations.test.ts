// The orchestration tables' migrations on both backends, through the runner shared with
// tracking (tracking/migrate.ts): applied once when several stores open a fresh database
// together, recorded in their own version table, and a database from a newer version refused.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { OperationError } from "../../src/common/errors.ts";
import { MIGRATION_TABLE } from "../../src/orchestration/migrations.ts";
import { RunStore } from "../../src/orchestration/run-store.ts";
import { openTrackingDatabase } from "../../src/tracking/database.ts";
import { backends } from "./fixture.ts";

for (const backend of backends) {
  describe(`orchestration migrations on ${backend.name}`, { skip: backend.skip }, () => {
    it("migrates once when several stores open a fresh database together", async () => {
      const fresh = await backend.create();
      try {
        const stores = await Promise.all([1, 2, 3].map(() => RunStore.open(fresh.uri)));
        await Promise.all(stores.map((store) => store.close()));
        const database = await openTrackingDatabase(fresh.uri);
        try {
          const applied = await sql<{
            name: string;
          }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(database.db);
          assert.deepEqual(
            applied.rows.map((r) => r.name),
            ["0001_runs_and_deployments", "0002_flow_run_list_indexes"],
          );
        } finally {
          await database.close();
        }
      } finally {
        await fresh.drop();
      }
    });

    it("refuses a database whose orchestration tables come from a newer version", async () => {
      const fresh = await backend.create();
      try {
        const first = await RunStore.open(fresh.uri);
        await first.close();
        const database = await openTrackingDatabase(fresh.uri);
        try {
          await sql`insert into ${sql.table(MIGRATION_TABLE)} (name, timestamp) values ('9999_from_the_future', '2030-01-01T00:00:00Z')`.execute(
            database.db,
          );
        } finally {
          await database.close();
        }
        await assert.rejects(RunStore.open(fresh.uri), (error: unknown) => {
          assert.ok(error instanceof OperationError);
          assert.match(
            error.message,
            /^orchestration store .*: its schema was written by a newer genre-classifier/,
          );
          return true;
        });
      } finally {
        await fresh.drop();
      }
    });
  });
}
