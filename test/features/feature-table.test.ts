// Feature tables in CSV and Parquet: parsing, column kinds, genre cells, every refusal, writing.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readCsv } from "../../src/features/csv.ts";
import {
  FeatureTable,
  type OutputColumn,
  parseGenres,
  writeTable,
} from "../../src/features/feature-table.ts";
import { TableWriter } from "../../src/features/table.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "gc-feature-table-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function csv(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe("CSV reader", () => {
  it("parses quotes, doubled quotes, line breaks in fields, CRLF and a byte order mark", async () => {
    const path = await csv(
      "q.csv",
      '\ufeffa,b\r\n"x, y","say ""hi"""\r\n"two\nlines",\n\nlast,""\n',
    );
    const records: [string[], number][] = [];
    await readCsv(path, (fields, line) => records.push([fields, line]));
    assert.deepEqual(records, [
      [["a", "b"], 1],
      [["x, y", 'say "hi"'], 2],
      [["two\nlines", ""], 3],
      [["last", ""], 6],
    ]);
  });

  it("parses a file read in many small chunks the same way", async () => {
    const lines = ["id,v"];
    for (let i = 0; i < 40000; i++) lines.push(`"t${i}, ""q""",${i}.5`);
    const path = await csv("big.csv", `${lines.join("\n")}\n`);
    let count = 0;
    await readCsv(path, (fields) => {
      if (count > 0) assert.deepEqual(fields, [`t${count - 1}, "q"`, `${count - 1}.5`]);
      count++;
    });
    assert.equal(count, 40001);
  });

  it("refuses stray and unclosed quotes", async () => {
    await assert.rejects(
      readCsv(await csv("s.csv", 'a\nx"y\n'), () => {}),
      /line 2: a quote inside an unquoted field/,
    );
    await assert.rejects(
      readCsv(await csv("u.csv", 'a\n"open\n'), () => {}),
      /line 2: a quoted field is not closed/,
    );
  });
});

describe("feature table", () => {
  it("reads numbers, text and genres from CSV", async () => {
    const path = await csv(
      "t.csv",
      'track_id,tempo,year,title,genres\nTR1,120.5,1999,One,rock|pop\nTR2,,0,Two,\nTR3,NaN,2001,3,"[""jazz"", ""soul""]"\n',
    );
    const table = await FeatureTable.read(path, { text: ["track_id", "genres"] });
    assert.equal(table.rows, 3);
    assert.deepEqual(
      table.columns.map((c) => `${c.name}:${c.kind}`),
      ["track_id:text", "tempo:number", "year:number", "title:text", "genres:text"],
    );
    assert.deepEqual(table.featureColumns(), ["tempo", "year"]);
    assert.deepEqual(Array.from(table.numeric("tempo")), [120.5, Number.NaN, Number.NaN]);
    assert.deepEqual(table.text("track_id"), ["TR1", "TR2", "TR3"]);
    assert.deepEqual(table.genres(), [["rock", "pop"], [], ["jazz", "soul"]]);
    assert.throws(() => table.numeric("title"), /column "title" is not numeric/);
    assert.throws(() => table.numeric("nope"), /no column "nope"/);
  });

  it("names the column and row of text or infinity in a numeric column", async () => {
    const path = await csv("bad.csv", "tempo,loudness,genres\n1,2,a\nfast,inf,b\n3,4,c\n");
    const table = await FeatureTable.read(path);
    assert.throws(() => table.numeric("tempo"), /column "tempo": row 2: "fast" is not a number/);
    assert.throws(
      () => table.numeric("loudness"),
      /column "loudness": row 2: inf is not a finite number/,
    );
  });

  it("refuses extra fields, duplicate or empty headers, empty tables and bad genre cells", async () => {
    await assert.rejects(
      FeatureTable.read(await csv("x.csv", "a,b\n1,2,3\n")),
      /line 2 has 3 fields but the header names 2 columns \(extra columns\)/,
    );
    await assert.rejects(
      FeatureTable.read(await csv("d.csv", "a,a\n1,2\n")),
      /column "a" appears twice/,
    );
    await assert.rejects(
      FeatureTable.read(await csv("n.csv", "a,\n1,2\n")),
      /column 2 has no name/,
    );
    await assert.rejects(FeatureTable.read(await csv("e.csv", "a,b\n")), /the table has no rows/);
    await assert.rejects(FeatureTable.read(await csv("z.csv", "")), /the file is empty/);
    await assert.rejects(FeatureTable.read(join(dir, "t.txt")), /name a \.csv or \.parquet file/);
    await assert.rejects(FeatureTable.read(join(dir, "missing.csv")), /cannot be read/);
    const table = await FeatureTable.read(await csv("g.csv", "a,genres\n1,rock||pop\n"), {
      text: ["genres"],
    });
    assert.throws(() => table.genres(), /row 1, column "genres": "rock\|\|pop" has an empty genre/);
    assert.throws(() => parseGenres('["a", 3]', () => "cell"), /must be a list of genre names/);
    assert.throws(() => parseGenres("[oops", () => "cell"), /is not a JSON array of genres/);
  });

  it("reads Parquet lists and numbers, and refuses infinities there too", async () => {
    const path = join(dir, "p.parquet");
    const writer = new TableWriter(path, [
      { name: "track_id", type: "STRING" },
      { name: "year", type: "INT32" },
      { name: "tempo", type: "DOUBLE" },
      { name: "genres", type: "STRING_LIST" },
    ]);
    writer.add({ track_id: "TR1", year: 1999, tempo: 100, genres: ["rock", "pop"] });
    writer.add({ track_id: "TR2", year: 0, tempo: Number.NaN, genres: [] });
    writer.add({ track_id: "TR3", year: 2000, tempo: Number.POSITIVE_INFINITY, genres: ["jazz"] });
    writer.close();
    const table = await FeatureTable.read(path);
    assert.deepEqual(table.featureColumns(), ["year", "tempo"]);
    assert.deepEqual(Array.from(table.numeric("year")), [1999, 0, 2000]);
    assert.deepEqual(table.genres(), [["rock", "pop"], [], ["jazz"]]);
    assert.throws(
      () => table.numeric("tempo"),
      /column "tempo": row 3: Infinity is not a finite number/,
    );
    const some = await FeatureTable.read(path, { columns: ["year"] });
    assert.deepEqual(Array.from(some.numeric("year")), [1999, 0, 2000]);
    assert.throws(() => some.genres(), /no "genres" column/);
  });

  it("reads a Parquet string column as CSV reads the same cells: numbers, or an error naming the cell", async () => {
    const columns: OutputColumn[] = [
      { name: "track_id", kind: "text", values: ["1", "2", "3"] },
      { name: "tempo", kind: "text", values: ["120.5", "", " 95 "] },
      { name: "loudness", kind: "text", values: ["-7", "loud", "-5e0"] },
      { name: "mode", kind: "text", values: ["1", "NaN", "-inf"] },
      { name: "title", kind: "text", values: ["One", "Two", "3"] },
      { name: "release", kind: "text", values: ["", "", ""] },
      { name: "year", kind: "number", values: Float64Array.from([1999, 0, 2001]) },
      { name: "genres", kind: "list", values: [["rock"], [], ["jazz"]] },
    ];
    const tables: FeatureTable[] = [];
    for (const ext of ["csv", "parquet"]) {
      const path = join(dir, `strings.${ext}`);
      await writeTable(path, columns);
      tables.push(await FeatureTable.read(path, { text: ["track_id", "genres"] }));
    }
    const [fromCsv, fromParquet] = tables as [FeatureTable, FeatureTable];
    for (const table of [fromCsv, fromParquet]) {
      assert.deepEqual(
        table.columns.filter((c) => c.name !== "release").map((c) => `${c.name}:${c.kind}`),
        [
          "track_id:text",
          "tempo:number",
          "loudness:number",
          "mode:number",
          "title:text",
          "year:number",
          `genres:${table.format === "csv" ? "text" : "list"}`,
        ],
      );
      assert.deepEqual(Array.from(table.numeric("tempo")), [120.5, Number.NaN, 95]);
      assert.throws(
        () => table.numeric("loudness"),
        new RegExp(`strings\\.${table.format}: column "loudness": row 2: "loud" is not a number`),
      );
      assert.throws(
        () => table.numeric("mode"),
        /column "mode": row 3: -inf is not a finite number/,
      );
      assert.deepEqual(table.text("track_id"), ["1", "2", "3"]);
      assert.deepEqual(table.genres(), [["rock"], [], ["jazz"]]);
    }
    assert.deepEqual(
      fromParquet.featureColumns(),
      fromCsv.featureColumns().filter((c) => c !== "release"),
    );
    assert.deepEqual(fromParquet.featureColumns(), ["tempo", "loudness", "mode", "year"]);
    assert.deepEqual(fromParquet.text("tempo"), ["120.5", "", " 95 "]);
    // Without a single number, a Parquet string column stays text (a CSV one has no type).
    assert.equal(fromParquet.kind("release"), "text");
  });

  for (const ext of ["csv", "parquet"]) {
    it(`writes and reads back a ${ext} table`, async () => {
      const path = join(dir, `out.${ext}`);
      await writeTable(path, [
        { name: "track_id", kind: "text", values: ["TR1", "TR,2"] },
        { name: "genres", kind: "list", values: [["hip hop", "rock"], []] },
        { name: "p(rock)", kind: "number", values: Float64Array.from([0.25, Number.NaN]) },
      ]);
      const table = await FeatureTable.read(path, { text: ["track_id", "genres"] });
      assert.deepEqual(table.text("track_id"), ["TR1", "TR,2"]);
      assert.deepEqual(table.genres(), [["hip hop", "rock"], []]);
      assert.deepEqual(Array.from(table.numeric("p(rock)")), [0.25, Number.NaN]);
    });
  }
});
