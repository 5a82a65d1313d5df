// The demo's split plan: the years before the trend fill days 1 and 2, so day 3 is the first
// day of the trend's releases.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planDemoSplit } from "../../../src/cli/commands/demo.ts";

describe("demo split plan", () => {
  it("takes enough years before 2010 for two days and cuts them in two", () => {
    // The default subset (2,000 tracks, seed 42): 84 tracks of 2010, 101 of 2006–2009.
    const years = {
      "0": 978,
      "2005": 23,
      "2006": 25,
      "2007": 29,
      "2008": 26,
      "2009": 21,
      "2010": 84,
    };
    assert.deepEqual(planDemoSplit(years), { testYears: 5, batchSize: 50 });
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
