// `genre-classifier drift` as a user runs it: the JSON it writes for real MSD tracks split by
// release year, column by column against scripts/drift-reference.py (Evidently's rules on
// scipy); the HTML report; --fail-on-drift; and bad input (no common columns, a column numeric
// on one side and text on the other, a table without rows) as one line with exit code 2, while
// an all-empty column is reported as untestable.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runCli } from "../../helpers/cli.ts";
import { readCsvRows, writeCsvRows } from "../../helpers/csv-tables.ts";
import { type DriftScriptColumn, hasPythonModules, PYTHON } from "../../helpers/python.ts";

const hasScipy = hasPythonModules("numpy", "scipy");
const TRACKS = new URL("../../../../shared/msd-10k-dev/tracks.csv", import.meta.url).pathname;
const SCRIPT = new URL("../../../scripts/drift-reference.py", import.meta.url).pathname;

describe("drift command", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gc-drift-cli-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("matches a scipy implementation of Evidently's rules on MSD tracks split by year", {
    skip: !(hasScipy && existsSync(TRACKS)) && "needs ../shared/msd-10k-dev and scipy",
  }, async () => {
    const { header, rows } = await readCsvRows(TRACKS);
    const year = header.indexOf("year");
    const reference = join(dir, "before-2008.csv");
    const current = join(dir, "from-2008.csv");
    writeCsvRows(
      reference,
      header,
      rows.filter((r) => Number(r[year]) < 2008),
    );
    writeCsvRows(
      current,
      header,
      rows.filter((r) => Number(r[year]) >= 2008),
    );
    const out = join(dir, "report.json");
    const html = join(dir, "report.html");
    const ours = await runCli([
      "drift",
      "--reference",
      reference,
      "--current",
      current,
      "--json",
      out,
      "--out",
      html,
    ]);
    assert.equal(ours.code, 0, ours.stderr);
    assert.match(
      ours.stdout,
      /^Dataset drift is (detected|NOT detected): \d+ of \d+ columns drifted/,
    );
    const got = JSON.parse(await readFile(out, "utf8")) as {
      dataset: object;
      columns: DriftScriptColumn[];
    };
    const python = spawnSync(PYTHON, [SCRIPT, reference, current], {
      encoding: "utf8",
      maxBuffer: 1 << 26,
    });
    assert.equal(python.status, 0, python.stderr);
    const want = JSON.parse(python.stdout) as { dataset: object; columns: DriftScriptColumn[] };
    assert.deepEqual(got.dataset, want.dataset);
    const byName = new Map(got.columns.map((c) => [c.column, c]));
    assert.equal(byName.size, want.columns.length);
    for (const expected of want.columns) {
      const column = byName.get(expected.column);
      const where = `column ${expected.column}`;
      assert.ok(column, where);
      for (const key of ["type", "test", "drift", "referenceRows", "currentRows"] as const)
        assert.equal(column[key], expected[key], `${where}: ${key}`);
      if (typeof expected.score === "number") {
        const score = column.score as number;
        assert.ok(
          Math.abs(score - expected.score) <= 1e-9 * Math.max(Math.abs(expected.score), 1e-300),
          `${where}: ${score} vs scipy ${expected.score}`,
        );
      } else assert.equal(String(column.score), String(expected.score), where);
    }
    const page = await readFile(html, "utf8");
    assert.match(page, /Dataset Drift is (detected|NOT detected)/);
    assert.doesNotMatch(page, /(src|href)="https?:/);
  });

  it("exits 1 with --fail-on-drift when the dataset drifts, 0 without", async () => {
    const reference = join(dir, "a.csv");
    const current = join(dir, "b.csv");
    const a = Array.from({ length: 200 }, (_, i) => [String(i % 50), String(i % 7)]);
    const b = Array.from({ length: 100 }, (_, i) => [String(100 + (i % 50)), String(i % 7)]);
    writeCsvRows(reference, ["tempo", "key"], a);
    writeCsvRows(current, ["tempo", "key"], b);
    const args = ["drift", "--reference", reference, "--current", current];
    const plain = await runCli(args);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /Dataset drift is detected: 1 of 2 columns drifted \(share 0\.500/);
    assert.match(plain.stdout, /tempo\s+num\s+ks\s+0\.000000/);
    const failing = await runCli([...args, "--fail-on-drift"]);
    assert.equal(failing.code, 1);
    const excluded = await runCli([...args, "--exclude", "tempo", "--fail-on-drift"]);
    assert.equal(excluded.code, 0, excluded.stdout);
    assert.match(excluded.stdout, /excluded: tempo: --exclude/);
  });

  it("reports an all-empty column as untestable", async () => {
    const reference = join(dir, "c.csv");
    const current = join(dir, "d.csv");
    writeCsvRows(
      reference,
      ["tempo", "energy"],
      Array.from({ length: 30 }, (_, i) => [String(i), ""]),
    );
    writeCsvRows(
      current,
      ["tempo", "energy"],
      Array.from({ length: 30 }, (_, i) => [String(i), "0.5"]),
    );
    const result = await runCli(["drift", "--reference", reference, "--current", current]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /1 of 1 columns|0 of 1 columns/);
    assert.match(result.stdout, /not tested: energy: /);
  });

  it("refuses bad input in one line with exit code 2", async () => {
    const numbers = join(dir, "numbers.csv");
    const words = join(dir, "words.csv");
    const other = join(dir, "other.csv");
    const empty = join(dir, "empty.csv");
    writeCsvRows(numbers, ["x"], [["1"], ["2"], ["3"]]);
    writeCsvRows(words, ["x"], [["a"], ["b"], ["c"]]);
    writeCsvRows(other, ["y"], [["1"], ["2"]]);
    await writeFile(empty, "x\n");
    const cases: [string, string, RegExp][] = [
      [numbers, other, /no column|common/],
      [numbers, words, /"x"/],
      [numbers, empty, /empty\.csv: the table has no rows/],
      [numbers, join(dir, "missing.csv"), /missing\.csv/],
    ];
    for (const [reference, current, message] of cases) {
      const result = await runCli(["drift", "--reference", reference, "--current", current]);
      assert.equal(result.code, 2, `${current}: ${result.stdout}${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
    }
  });
});
