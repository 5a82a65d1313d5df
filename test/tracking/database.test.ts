// Opening the tracking database on both backends: migrations applied once even when several
// processes open a fresh database together, one shared SQLite connection per file in a
// process, and a schema from a newer version refused.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sql } from "kysely";
import { OperationError } from "../../src/common/errors.ts";
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
          ["0001_tracking_and_registry"],
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
  });
}
