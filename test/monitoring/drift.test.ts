// The drift engine: Evidently's choice of test case by case, thresholds and their comparison,
// overrides, the dataset rule, untestable columns and bad input, the charts' bins against numpy,
// and whole tables against a scipy implementation of the spec (scripts/drift-reference.py) on
// real MSD tracks when ../shared and Debian's scipy are there.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { InputError } from "../../src/common/errors.ts";
import type { DriftTable, TextValues } from "../../src/monitoring/columns.ts";
import {
  computeDrift,
  DEFAULT_THRESHOLDS,
  type DriftOptions,
  defaultTest,
  isDrift,
} from "../../src/monitoring/drift.ts";
import type {
  ColumnDrift,
  DriftTestName,
  Histogram,
  ValueCount,
} from "../../src/monitoring/types.ts";
import { readCsvRows, writeCsvRows } from "../helpers/csv-tables.ts";
import { type DriftScriptColumn, hasPythonModules, PYTHON } from "../helpers/python.ts";

const hasScipy = hasPythonModules("numpy", "scipy");
const TRACKS = new URL("../../../shared/msd-10k-dev/tracks.csv", import.meta.url).pathname;

/** n numbers cycling through `distinct` values 0..distinct-1. */
function cycle(n: number, distinct: number, offset = 0): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => (i % distinct) + offset);
}

function only(
  reference: Float64Array | TextValues,
  current: Float64Array | TextValues,
  options?: DriftOptions,
): ColumnDrift {
  const result = computeDrift({ x: reference }, { x: current }, { charts: false, ...options });
  assert.equal(result.columns.length, 1);
  return result.columns[0] as ColumnDrift;
}

function throwsInput(f: () => unknown, pattern: RegExp): void {
  assert.throws(f, (e: unknown) => e instanceof InputError && pattern.test(e.message));
}

describe("which test a column gets", () => {
  it("follows Evidently's table row by row", () => {
    assert.equal(defaultTest("num", 1000, 6), "ks");
    assert.equal(defaultTest("num", 1000, 5), "chi-square");
    assert.equal(defaultTest("num", 1000, 3), "chi-square");
    assert.equal(defaultTest("num", 1000, 2), "z");
    assert.equal(defaultTest("cat", 1000, 3), "chi-square");
    assert.equal(defaultTest("cat", 1000, 2), "z");
    assert.equal(defaultTest("cat", 1000, 100), "chi-square");
    assert.equal(defaultTest("num", 1001, 6), "wasserstein");
    assert.equal(defaultTest("num", 1001, 5), "jensen-shannon");
    assert.equal(defaultTest("num", 1001, 2), "jensen-shannon");
    assert.equal(defaultTest("cat", 1001, 2), "jensen-shannon");
    assert.equal(defaultTest("cat", 1001, 1000), "jensen-shannon");
    // the monitor's "p-values" choice keeps the statistical tests on large references
    assert.equal(defaultTest("num", 1_000_000, 6, "p-values"), "ks");
    assert.equal(defaultTest("num", 1_000_000, 5, "p-values"), "chi-square");
    assert.equal(defaultTest("cat", 1_000_000, 2, "p-values"), "z");
    assert.equal(only(cycle(1001, 50), cycle(100, 50), { testChoice: "p-values" }).test, "ks");
    throwsInput(
      () => only(cycle(5, 5), cycle(5, 5), { testChoice: "scipy" as never }),
      /testChoice/,
    );
  });

  it("counts reference rows after dropping NaN and ±inf: 1000 and 1001 values", () => {
    const withGaps = new Float64Array(1003);
    withGaps.set(cycle(1000, 50));
    withGaps.set([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY], 1000);
    const small = only(withGaps, cycle(100, 50));
    assert.equal(small.test, "ks");
    assert.equal(small.referenceRows, 1000);
    assert.equal(small.referenceMissing, 3);
    assert.equal(only(cycle(1001, 50), cycle(100, 50)).test, "wasserstein");
    assert.equal(only(cycle(1000, 50), cycle(100, 50)).test, "ks");
  });

  it("counts distinct values of both sides together, NaN excluded: 2/3/5/6", () => {
    const nan = Number.NaN;
    // reference {0, 1} and a NaN; current {1}: 2 values
    assert.equal(only(new Float64Array([0, 1, nan, 1]), new Float64Array([1, nan])).test, "z");
    // reference {0, 1}, current {2}: 3 values
    assert.equal(only(new Float64Array([0, 1, 0]), new Float64Array([2, 2])).test, "chi-square");
    assert.equal(only(cycle(500, 4), cycle(50, 1, 4)).test, "chi-square"); // 5
    assert.equal(only(cycle(500, 5), cycle(50, 1, 5)).test, "ks"); // 6
    assert.equal(only(cycle(1500, 4), cycle(50, 1, 4)).test, "jensen-shannon"); // 5
    assert.equal(only(cycle(1500, 5), cycle(50, 1, 5)).test, "wasserstein"); // 6
    const fourAndNaN = Float64Array.from({ length: 50 }, (_, i) => (i % 2 ? nan : 4));
    assert.equal(only(cycle(1500, 5), fourAndNaN).test, "jensen-shannon"); // NaN is no value
    assert.equal(only(["a", "b", "a"], ["b", ""]).test, "z");
    assert.equal(only(["a", "b", "a"], ["c"]).test, "chi-square");
    assert.equal(
      only(
        Array.from({ length: 1001 }, () => "a"),
        ["a"],
      ).test,
      "jensen-shannon",
    );
  });

  it("types numbers num and text cat unless told, and tests a numeric column as cat when asked", () => {
    const column = only(cycle(500, 50), cycle(50, 50), { columnTypes: { x: "cat" } });
    assert.equal(column.type, "cat");
    assert.equal(column.test, "chi-square");
    throwsInput(() => only(["a"], ["b"], { columnTypes: { x: "num" } }), /column "x" holds text/);
  });
});

describe("thresholds and drift", () => {
  it("compares as Evidently: p ≤ t for K-S, p < t for chi-square and Z, d ≥ t for distances", () => {
    assert.equal(isDrift("ks", 0.05, 0.05), true);
    assert.equal(isDrift("ks", 0.0500001, 0.05), false);
    assert.equal(isDrift("chi-square", 0.05, 0.05), false);
    assert.equal(isDrift("chi-square", 0.0499999, 0.05), true);
    assert.equal(isDrift("z", 0.05, 0.05), false);
    assert.equal(isDrift("wasserstein", 0.1, 0.1), true);
    assert.equal(isDrift("jensen-shannon", 0.0999999, 0.1), false);
    assert.equal(isDrift("jensen-shannon", Number.NaN, 0.1), false);
  });

  it("applies the defaults and decides at a threshold equal to the score", () => {
    const reference = Float64Array.from({ length: 300 }, (_, i) => i / 10);
    const current = Float64Array.from({ length: 60 }, (_, i) => 3 + i / 10);
    const ks = only(reference, current);
    assert.equal(ks.test, "ks");
    assert.equal(ks.threshold, DEFAULT_THRESHOLDS.ks);
    const score = ks.score as number;
    assert.ok(score > 0 && score < 1);
    assert.equal(only(reference, current, { thresholds: { x: score } }).drift, true);
    assert.equal(only(reference, current, { thresholds: { x: score * 0.999 } }).drift, false);

    const chi = only(["a", "b", "c", "a"], ["a", "b", "c", "c"]);
    assert.equal(chi.test, "chi-square");
    assert.equal(
      only(["a", "b", "c", "a"], ["a", "b", "c", "c"], { thresholds: { x: chi.score as number } })
        .drift,
      false,
    );
    assert.equal(
      only(["a", "b", "c", "a"], ["a", "b", "c", "c"], {
        thresholds: { x: (chi.score as number) * 1.001 },
      }).drift,
      true,
    );

    const big = Float64Array.from({ length: 2000 }, (_, i) => i);
    const shifted = Float64Array.from({ length: 100 }, (_, i) => 20 * i + 100);
    const w = only(big, shifted);
    assert.equal(w.test, "wasserstein");
    assert.equal(only(big, shifted, { thresholds: { x: w.score as number } }).drift, true);
    assert.equal(
      only(big, shifted, { thresholds: { x: (w.score as number) * 1.001 } }).drift,
      false,
    );
  });

  it("matches the spec's Jensen–Shannon check value", () => {
    const reference = Array.from({ length: 200 }, () => [..."aaabbc"]).flat();
    const current = Array.from({ length: 100 }, () => [..."aabbcd"]).flat();
    const js = only(reference, current);
    assert.equal(js.test, "jensen-shannon");
    assert.ok(Math.abs((js.score as number) - 0.2572004323) < 1e-10);
    assert.equal(js.drift, true);
  });

  it("takes per-test defaults, refuses thresholds that cannot be", () => {
    const column = only(cycle(1500, 50), cycle(100, 50), { defaultThresholds: { wasserstein: 0 } });
    assert.equal(column.threshold, 0);
    assert.equal(column.drift, true);
    throwsInput(
      () => only(cycle(10, 10), cycle(10, 10), { thresholds: { x: -1 } }),
      /thresholds, column "x"/,
    );
    throwsInput(
      () => only(cycle(10, 10), cycle(10, 10), { thresholds: { x: 2 } }),
      /between 0 and 1/,
    );
    throwsInput(
      () => only(cycle(10, 10), cycle(10, 10), { defaultThresholds: { ks: Number.NaN } }),
      /defaultThresholds.ks/,
    );
    throwsInput(() => only(cycle(10, 10), cycle(10, 10), { driftShare: 1.5 }), /driftShare/);
  });
});

describe("overrides", () => {
  const reference = { n: cycle(500, 50), c: Array.from({ length: 500 }, (_, i) => `v${i % 7}`) };
  const current = { n: cycle(60, 50, 3), c: Array.from({ length: 60 }, (_, i) => `v${i % 5}`) };
  const tests = (options: DriftOptions) =>
    Object.fromEntries(
      computeDrift(reference, current, { charts: false, ...options }).columns.map((c) => [
        c.column,
        c.test,
      ]),
    );

  it("per column beats per type beats global beats the rules", () => {
    assert.deepEqual(tests({}), { n: "ks", c: "chi-square" });
    assert.deepEqual(tests({ test: "jensen-shannon" }), {
      n: "jensen-shannon",
      c: "jensen-shannon",
    });
    assert.deepEqual(tests({ test: "jensen-shannon", numTest: "wasserstein" }), {
      n: "wasserstein",
      c: "jensen-shannon",
    });
    assert.deepEqual(tests({ catTest: "z", tests: { c: "chi-square", n: "z" } }), {
      n: "z",
      c: "chi-square",
    });
  });

  it("takes columns named like Object's own properties as columns", () => {
    const table: Record<string, Float64Array> = {};
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      Object.defineProperty(table, name, { value: cycle(50, 10), enumerable: true });
    }
    const tests: Record<string, DriftTestName> = {};
    Object.defineProperty(tests, "toString", { value: "z", enumerable: true });
    const result = computeDrift(table, table, { charts: false, tests });
    const chosen = result.columns.map((c) => `${c.column}:${c.test}`).sort();
    assert.deepEqual(chosen, ["__proto__:ks", "constructor:ks", "hasOwnProperty:ks", "toString:z"]);
  });

  it("refuses unknown tests, unknown columns and tests a type cannot take", () => {
    throwsInput(
      () => tests({ tests: { n: "anderson" as never } }),
      /tests, column "n": expected one of/,
    );
    throwsInput(() => tests({ tests: { nope: "ks" } }), /no column "nope"/);
    throwsInput(
      () => tests({ tests: { c: "ks" } }),
      /column "c": the ks test needs a numerical column/,
    );
    throwsInput(() => tests({ test: "wasserstein" }), /column "c": the wasserstein test/);
    throwsInput(() => tests({ columns: ["n", "zz"] }), /columns: column "zz"/);
    throwsInput(() => tests({ exclude: ["zz"] }), /exclude: no column "zz"/);
  });

  it("tests only the columns asked for and lists exclusions with their reasons", () => {
    const result = computeDrift(
      { ...reference, only_ref: cycle(500, 3) },
      { ...current, only_cur: ["a"].concat(Array(59).fill("b")) },
      {
        exclude: [{ column: "c", reason: "drifts by construction" }],
        charts: false,
      },
    );
    assert.deepEqual(
      result.columns.map((c) => c.column),
      ["n"],
    );
    assert.deepEqual(result.excluded, [
      { column: "c", reason: "drifts by construction" },
      { column: "only_ref", reason: "not in the current table" },
      { column: "only_cur", reason: "not in the reference table" },
    ]);
    const chosen = computeDrift(reference, current, { columns: ["c"], charts: false });
    assert.deepEqual(
      chosen.columns.map((c) => c.column),
      ["c"],
    );
    assert.deepEqual(chosen.excluded, []);
  });

  it("jensen-shannon on a numerical column with > 20 reference values bins it with sturges as Evidently", () => {
    // Evidently: np.histogram_bin_edges(both, "sturges"), counts / rows; checked by hand: 0..99 vs 50..99
    const column = only(
      cycle(100, 100),
      Float64Array.from({ length: 50 }, (_, i) => 50 + i),
      { tests: { x: "jensen-shannon" } },
    );
    // 150 values → ceil(log2(150) + 1) = 9 bins over [0, 99]
    const edges = Array.from({ length: 10 }, (_, i) => (i * 99) / 9);
    const count = (values: number[]) =>
      edges
        .slice(0, -1)
        .map(
          (e, i) =>
            values.filter((v) => v >= e && (i === 8 ? v <= 99 : v < (edges[i + 1] as number)))
              .length,
        );
    const p = count(Array.from({ length: 100 }, (_, i) => i)).map((c) => c / 100);
    const q = count(Array.from({ length: 50 }, (_, i) => 50 + i)).map((c) => c / 50);
    let kl = 0;
    p.forEach((pi, i) => {
      const qi = q[i] as number;
      const m = (pi + qi) / 2;
      if (pi > 0) kl += pi * Math.log(pi / m);
      if (qi > 0) kl += qi * Math.log(qi / m);
    });
    assert.ok(Math.abs((column.score as number) - Math.sqrt(kl / 2)) < 1e-12);
  });
});

describe("the dataset rule", () => {
  const drifting = () => ({ r: cycle(300, 30), c: cycle(50, 30, 100) });
  const steady = () => ({ r: cycle(300, 30), c: cycle(60, 30) });
  function table(kinds: ("d" | "s")[]): { reference: DriftTable; current: DriftTable } {
    const reference: Record<string, Float64Array> = {};
    const current: Record<string, Float64Array> = {};
    kinds.forEach((kind, i) => {
      const { r, c } = kind === "d" ? drifting() : steady();
      reference[`col${i}`] = r;
      current[`col${i}`] = c.length === 60 ? c.subarray(0, 50) : c;
    });
    return { reference, current };
  }

  it("drifts at exactly drift_share and not below", () => {
    const half = table(["d", "s", "d", "s"]);
    const result = computeDrift(half.reference, half.current, { charts: false });
    assert.deepEqual(result.dataset, {
      drift: true,
      share: 0.5,
      drifted: 2,
      columns: 4,
      threshold: 0.5,
    });
    assert.equal(
      computeDrift(half.reference, half.current, { charts: false, driftShare: 0.51 }).dataset.drift,
      false,
    );
    const third = table(["d", "s", "s"]);
    assert.equal(
      computeDrift(third.reference, third.current, { charts: false }).dataset.drift,
      false,
    );
  });

  it("sorts drifted columns first, most drifted on top, untestable last", () => {
    const result = computeDrift(
      {
        a: cycle(300, 30),
        b: cycle(300, 30),
        c: cycle(300, 30),
        e: new Float64Array(300).fill(Number.NaN),
      },
      { a: cycle(50, 30), b: cycle(50, 30, 100), c: cycle(50, 30, 10), e: cycle(50, 3) },
      { charts: false },
    );
    assert.deepEqual(
      result.columns.map((c) => c.column),
      ["b", "c", "a", "e"],
    );
    const [b, c] = result.columns as [ColumnDrift, ColumnDrift];
    assert.ok((b.score as number) <= (c.score as number));
  });
});

describe("columns that cannot be tested and bad input", () => {
  it("reports an all-NaN side as untestable, not counted, with its missing rows", () => {
    const result = computeDrift(
      {
        empty: new Float64Array(5).fill(Number.NaN),
        text: ["", "", ""].concat(["a", "b"]),
        ok: cycle(5, 5),
      },
      { empty: cycle(3, 3), text: [null, undefined, ""], ok: cycle(3, 3) },
    );
    const byName = Object.fromEntries(result.columns.map((c) => [c.column, c]));
    assert.equal(byName.empty?.test, null);
    assert.equal(byName.empty?.score, null);
    assert.equal(byName.empty?.untestable, "no value in the reference table");
    assert.equal(byName.empty?.referenceMissing, 5);
    assert.equal(byName.text?.untestable, "no value in the current table");
    assert.equal(byName.text?.currentMissing, 3);
    assert.equal(result.dataset.columns, 1);
    assert.ok(byName.empty?.charts, "an untestable column still has charts");
    assert.doesNotThrow(() => JSON.stringify(result));
  });

  it("lets an empty text column stand beside a numeric one, refuses text against numbers", () => {
    const column = only(cycle(10, 10), ["", "", null]);
    assert.equal(column.untestable, "no value in the current table");
    assert.equal(column.type, "num");
    throwsInput(
      () => only(cycle(10, 10), ["1", "2"]),
      /column "x" holds numbers in the reference table but text in the current table/,
    );
    throwsInput(
      () => only(["a"], cycle(3, 3)),
      /column "x" holds text in the reference table but numbers/,
    );
  });

  it("refuses tables without common columns, without rows or with ragged columns", () => {
    throwsInput(() => computeDrift({ a: cycle(3, 3) }, { b: cycle(3, 3) }), /no column in common/);
    throwsInput(
      () => computeDrift({ a: new Float64Array(0) }, { a: cycle(3, 3) }),
      /reference table has no rows/,
    );
    throwsInput(() => computeDrift({ a: cycle(3, 3) }, {}), /current table has no columns/);
    throwsInput(
      () => computeDrift({ a: cycle(3, 3), b: cycle(2, 2) }, { a: cycle(3, 3) }),
      /column "b": has 2 rows but column "a" has 3/,
    );
    throwsInput(
      () => computeDrift({ a: [1, 2] as never }, { a: cycle(3, 3) }),
      /expected text or a missing value, got number/,
    );
  });

  it("survives one row, huge values and infinities", () => {
    const one = only(new Float64Array([5]), new Float64Array([7]), { charts: true });
    assert.equal(one.test, "z");
    assert.ok((one.score as number) >= 0 && (one.score as number) <= 1);
    const huge = only(
      Float64Array.from({ length: 2000 }, (_, i) => (i % 2 ? 1.7e308 : -1.7e308) * (i / 2000)),
      new Float64Array([1e308, -1e308, Number.POSITIVE_INFINITY, 0, 1, 2, 3]),
      { charts: true },
    );
    assert.equal(huge.currentRows, 6);
    assert.equal(huge.test, "wasserstein");
    const charts = huge.charts;
    assert.ok(charts);
    for (const side of [charts.sparkline.reference, charts.distribution.current] as Histogram[]) {
      assert.ok(side.edges.every(Number.isFinite), "edges stay finite");
    }
  });
});

describe("charts", () => {
  it("draws the top 30 values and folds the rest", () => {
    const reference = Array.from({ length: 4000 }, (_, i) => `v${i % 40}`);
    const current = Array.from({ length: 100 }, (_, i) => `v${i % 35}`);
    const column = only(reference, current, { charts: true });
    const charts = column.charts;
    assert.ok(charts);
    const ref = charts.distribution.reference as ValueCount[];
    const cur = charts.distribution.current as ValueCount[];
    assert.equal(ref.length, 31);
    assert.deepEqual(
      ref.map((v) => v.value),
      cur.map((v) => v.value),
    );
    assert.deepEqual(ref[30], { value: "other", count: 1000, others: 10 });
    assert.equal(
      cur.reduce((s, v) => s + v.count, 0),
      100,
    );
    assert.equal((charts.sparkline.current as ValueCount[]).length, 31);
    assert.equal(column.test, "jensen-shannon");
  });

  it("buckets the current values' order and keeps the reference mean and std", () => {
    const current = Float64Array.from({ length: 400 }, (_, i) => i);
    current[1] = Number.NaN;
    const column = only(cycle(300, 30), current, { charts: true });
    const order = column.charts?.order;
    assert.ok(order);
    assert.equal(order.buckets.length, 150);
    assert.deepEqual(order.buckets[0], { start: 0, end: 2, mean: 0, std: 0 });
    assert.equal(order.buckets[149]?.end, 400);
    assert.ok(Math.abs(order.referenceMean - 14.5) < 1e-12);
    assert.ok(Math.abs(order.referenceStd - Math.sqrt((30 * 30 - 1) / 12)) < 1e-12);
  });

  it("bins like numpy: 10 bins per side and doane over both", {
    skip: !hasScipy && "needs /usr/bin/python3 with numpy",
  }, () => {
    const samples: [number[], number[]][] = [
      [
        Array.from({ length: 3000 }, (_, i) => Math.exp((i % 97) / 13) * (i % 3 ? 1 : -0.2)),
        Array.from({ length: 80 }, (_, i) => i * 1.7 - 3),
      ],
      [Array.from({ length: 500 }, (_, i) => (i * 7919) % 101), [4, 4, 4, 200]],
      [
        [2, 2, 2],
        [2, 2],
      ],
      [[1, 2], [3]],
      [
        Array.from({ length: 1200 }, (_, i) => Math.round(Math.sin(i) * 1000) / 1000),
        Array.from({ length: 30 }, (_, i) => i / 30),
      ],
    ];
    const script = `
import json, sys, numpy as np
out = []
for r, c in json.load(sys.stdin):
    r = np.array(r, dtype=float); c = np.array(c, dtype=float)
    edges = np.histogram_bin_edges(np.concatenate([r, c]), bins="doane")
    out.append({
        "ref10": [list(map(float, np.histogram(r, bins=10)[1])), list(map(int, np.histogram(r, bins=10)[0]))],
        "cur10": [list(map(float, np.histogram(c, bins=10)[1])), list(map(int, np.histogram(c, bins=10)[0]))],
        "doane": list(map(float, edges)),
        "refDoane": list(map(int, np.histogram(r, edges)[0])),
        "curDoane": list(map(int, np.histogram(c, edges)[0])),
    })
print(json.dumps(out))`;
    const run = spawnSync(PYTHON, ["-c", script], {
      input: JSON.stringify(samples),
      encoding: "utf8",
    });
    assert.equal(run.status, 0, run.stderr);
    const expected = JSON.parse(run.stdout) as {
      ref10: [number[], number[]];
      cur10: [number[], number[]];
      doane: number[];
      refDoane: number[];
      curDoane: number[];
    }[];
    samples.forEach(([r, c], k) => {
      const charts = only(Float64Array.from(r), Float64Array.from(c), {
        charts: true,
        tests: { x: "ks" },
      }).charts;
      assert.ok(charts);
      const want = expected[k];
      assert.ok(want);
      const close = (a: number[], b: number[]) => {
        assert.equal(a.length, b.length);
        for (const [i, x] of a.entries()) {
          const y = b[i] as number;
          assert.ok(
            Math.abs(x - y) <= 1e-12 * Math.max(1, Math.abs(x)),
            `sample ${k}: ${a} vs ${b}`,
          );
        }
      };
      const refSpark = charts.sparkline.reference as Histogram;
      const curSpark = charts.sparkline.current as Histogram;
      close(refSpark.edges, want.ref10[0]);
      assert.deepEqual(refSpark.counts, want.ref10[1]);
      close(curSpark.edges, want.cur10[0]);
      assert.deepEqual(curSpark.counts, want.cur10[1]);
      const refDist = charts.distribution.reference as Histogram;
      close(refDist.edges, want.doane);
      assert.deepEqual(refDist.counts, want.refDoane);
      assert.deepEqual((charts.distribution.current as Histogram).counts, want.curDoane);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Against scipy on real MSD tracks

/** Columns as the Python script reads them: numeric when every non-empty cell is a number. */
function columnsOf(header: string[], rows: string[][]): Record<string, Float64Array | string[]> {
  const table: Record<string, Float64Array | string[]> = {};
  header.forEach((name, j) => {
    const cells = rows.map((r) => r[j] ?? "");
    const numeric = cells.every((c) => c === "" || Number.isFinite(Number(c)));
    table[name] = numeric
      ? Float64Array.from(cells, (c) => (c === "" ? Number.NaN : Number(c)))
      : cells;
  });
  return table;
}

describe("against a scipy implementation of the spec on MSD tracks", {
  skip:
    !(hasScipy && existsSync(TRACKS)) &&
    "needs ../shared/msd-10k-dev and /usr/bin/python3 with scipy",
}, () => {
  const splits: [string, (year: number) => boolean, (year: number) => boolean, string[]][] = [
    [
      "years before 2008 against 2008 on (Wasserstein, Jensen–Shannon)",
      (y) => y < 2008,
      (y) => y >= 2008,
      ["wasserstein", "jensen-shannon"],
    ],
    [
      "2000–2004 against 2008 (K-S, chi-square, Z)",
      (y) => y >= 2000 && y <= 2004,
      (y) => y === 2008,
      ["ks", "chi-square", "z"],
    ],
  ];
  for (const [title, inReference, inCurrent, expectTests] of splits) {
    it(title, async () => {
      const { header, rows } = await readCsvRows(TRACKS);
      const year = header.indexOf("year");
      const referenceRows = rows.filter((r) => inReference(Number(r[year])));
      const currentRows = rows.filter((r) => inCurrent(Number(r[year])));
      const dir = mkdtempSync(join(tmpdir(), "drift-msd-"));
      try {
        writeCsvRows(join(dir, "reference.csv"), header, referenceRows);
        writeCsvRows(join(dir, "current.csv"), header, currentRows);
        const script = new URL("../../scripts/drift-reference.py", import.meta.url).pathname;
        const run = spawnSync(
          PYTHON,
          [script, join(dir, "reference.csv"), join(dir, "current.csv")],
          {
            encoding: "utf8",
            maxBuffer: 1 << 26,
          },
        );
        assert.equal(run.status, 0, run.stderr);
        const expected = JSON.parse(run.stdout) as {
          dataset: object;
          columns: DriftScriptColumn[];
        };
        const ours = computeDrift(
          columnsOf(header, referenceRows),
          columnsOf(header, currentRows),
          { charts: false },
        );
        const byName = new Map(ours.columns.map((c) => [c.column, c]));
        assert.equal(byName.size, header.length);
        const seenTests = new Set<string>();
        for (const want of expected.columns) {
          const got = byName.get(want.column);
          assert.ok(got, want.column);
          const where = `column ${want.column}`;
          assert.equal(got.type, want.type, where);
          assert.equal(got.test, want.test, where);
          assert.equal(got.referenceRows, want.referenceRows, where);
          assert.equal(got.currentRows, want.currentRows, where);
          assert.equal(got.drift, want.drift, where);
          if (typeof want.score === "number") {
            const score = got.score as number;
            const tolerance = 1e-9 * Math.max(Math.abs(want.score), 1e-300);
            assert.ok(
              Math.abs(score - want.score) <= tolerance,
              `${where}: ${got.test} ${score} vs scipy ${want.score}`,
            );
          } else {
            assert.equal(String(got.score), String(want.score), where);
          }
          if (got.test) seenTests.add(got.test);
        }
        assert.deepEqual(ours.dataset, expected.dataset);
        for (const test of expectTests)
          assert.ok(seenTests.has(test), `the split exercises ${test}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
