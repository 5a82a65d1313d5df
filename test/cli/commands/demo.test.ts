// The demo on the embedded defaults, as the README's quick start runs it: days 1 and 2 quiet,
// day 3 drifts and retrains once, and the index shows it; and the split plan behind it (the
// years before the trend fill days 1 and 2, so day 3 is the first day of the trend).
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { planDemoSplit } from "../../../src/cli/commands/demo.ts";
import type { MonitoringDay } from "../../../src/monitoring/types.ts";
import { runCli } from "../../helpers/cli.ts";

describe("demo on the embedded defaults", () => {
  it("drifts on day 3, retrains once, and the index shows it", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "gc-demo-default-"));
    try {
      const { code, stdout, stderr } = await runCli(["demo", "--quiet"], { cwd });
      assert.equal(code, 0, stderr + stdout);
      assert.match(
        stdout,
        /2000 synthetic MSD track files .*; 78 released from 2010 on follow a trend/,
      );
      assert.match(stdout, /model\s+genre-classifier version 1 is the champion/);
      const days = stdout.split(/\n {2}day (?=\d)/).slice(1);
      assert.equal(days.length, 3, stdout);
      for (const day of days.slice(0, 2)) {
        assert.doesNotMatch(day, /dataset drift/);
        assert.match(day, /no retrain: no rule fired/);
      }
      assert.match(days[2] ?? "", /— dataset drift/);
      assert.match(days[2] ?? "", /retrain: data drift: \d+ of 71 columns drifted/);
      assert.match(
        days[2] ?? "",
        /retrained: complete-training, run [0-9a-f]{32}: registered as version 2/,
      );

      const store = join(cwd, ".genre-classifier", "store", "reports", "monitoring");
      const index = JSON.parse(await readFile(join(store, "days.json"), "utf8")) as MonitoringDay[];
      assert.deepEqual(
        index.map((d) => [d.day, d.drift, d.retrained]),
        [
          [1, false, false],
          [2, false, false],
          [3, true, true],
        ],
      );
      const page = await readFile(join(store, "index.html"), "utf8");
      assert.match(page, /day=0003\/report\.html/);
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});

describe("demo split plan", () => {
  it("takes enough years before 2010 for two days and cuts them in two", () => {
    // The default subset (2,000 tracks, seed 42): 78 tracks of 2010, 116 of 2006–2009.
    const years = {
      "0": 973,
      "2005": 28,
      "2006": 34,
      "2007": 27,
      "2008": 24,
      "2009": 31,
      "2010": 78,
    };
    assert.deepEqual(planDemoSplit(years), { testYears: 5, batchSize: 58 });
  });

  it("keeps a day no bigger than the trend's releases", () => {
    assert.deepEqual(planDemoSplit({ "2008": 40, "2009": 40, "2010": 10 }), {
      testYears: 2,
      batchSize: 10,
    });
  });

  it("falls back to two years of 30 without releases of the trend or before it", () => {
    assert.deepEqual(planDemoSplit({ "0": 5, "2004": 3 }), { testYears: 2, batchSize: 30 });
    assert.deepEqual(planDemoSplit({ "2010": 12 }), { testYears: 2, batchSize: 30 });
  });
});
