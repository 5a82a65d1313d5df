// Small synthetic feature tables for the training and model command tests: the seed's six
// features plus two more, with genres that depend on them.
import { writeTable } from "../../src/features/feature-table.ts";
import { Rng } from "../../src/ml/random.ts";

export async function writeGenreTable(path: string, rows: number, seed: number): Promise<void> {
  const rng = new Rng(seed);
  const ids: string[] = [];
  const genres: string[][] = [];
  const columns: Record<string, Float64Array> = {};
  for (const name of [
    "duration",
    "key",
    "loudness",
    "mode",
    "tempo",
    "year",
    "brightness",
    "energy",
  ]) {
    columns[name] = new Float64Array(rows);
  }
  const set = (name: string, i: number, v: number) => {
    (columns[name] as Float64Array)[i] = v;
  };
  for (let i = 0; i < rows; i++) {
    ids.push(`${path.endsWith(".parquet") ? "V" : "T"}${seed}-${i}`);
    const bright = rng.float();
    const energy = rng.float();
    const tempo = 60 + 140 * rng.float();
    set("duration", i, 120 + 200 * rng.float());
    set("key", i, rng.int(12));
    set("loudness", i, -20 + 15 * energy + 2 * rng.float());
    set("mode", i, rng.int(2));
    set("tempo", i, rng.float() < 0.05 ? 0 : tempo);
    set("year", i, rng.float() < 0.3 ? 0 : 1960 + Math.round(50 * bright));
    set("brightness", i, rng.float() < 0.05 ? Number.NaN : bright);
    set("energy", i, energy);
    const g: string[] = [];
    if (energy > 0.3) g.push("rock");
    if (bright > 0.5 && energy < 0.7) g.push("pop");
    if (energy < 0.4 && tempo > 110) g.push("jazz");
    if (energy > 0.75) g.push("metal");
    if (bright < 0.3) g.push("blues");
    if (g.length === 0 || rng.float() < 0.1) g.push("folk");
    genres.push(g);
  }
  await writeTable(path, [
    { name: "track_id", kind: "text", values: ids },
    ...Object.entries(columns).map(([name, values]) => ({ name, kind: "number" as const, values })),
    { name: "genres", kind: "list", values: genres },
  ]);
}
