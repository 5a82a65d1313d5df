// One of several processes opening a fresh tracking database at the same moment (run by
// database.test.ts), so that they race to apply the migrations; prints the experiments it sees.
import { once } from "node:events";
import { createInterface } from "node:readline";
import { openTrackingDatabase } from "../../src/tracking/database.ts";

const uri = process.argv[2] as string;
const lines = createInterface({ input: process.stdin });
process.stdout.write("ready\n");
await once(lines, "line");
lines.close();
const database = await openTrackingDatabase(uri);
try {
  const names = await database.db.selectFrom("experiments").select("name").execute();
  process.stdout.write(`${JSON.stringify(names.map((n) => n.name))}\n`);
} finally {
  await database.close();
}
