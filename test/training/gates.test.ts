// The registration gates: relative to the baseline and the champion, optional absolute ones.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_GATES, decideRegistration } from "../../src/training/gates.ts";

const candidate = { jaccard: 0.4, hammingLoss: 0.1 };

describe("registration gates", () => {
  it("registers a first model that beats the baseline by the margin", () => {
    const d = decideRegistration({ candidate, baseline: { jaccard: 0.37 } }, DEFAULT_GATES);
    assert.equal(d.register, true);
    assert.match(
      d.reason,
      /^passed: baseline ok \(jaccard 0\.4000 >= baseline 0\.3700 \+ margin 0\.0200 = 0\.3900\); champion ok \(no champion yet\)$/,
    );
  });

  it("refuses a model within the margin of the baseline, naming the numbers", () => {
    const d = decideRegistration({ candidate, baseline: { jaccard: 0.39 } }, DEFAULT_GATES);
    assert.equal(d.register, false);
    assert.match(
      d.reason,
      /^refused by baseline: baseline FAILED \(jaccard 0\.4000 < baseline 0\.3900 \+ margin 0\.0200 = 0\.4100\)/,
    );
  });

  it("refuses a model worse than the champion and accepts an equal one", () => {
    const worse = decideRegistration(
      { candidate, baseline: { jaccard: 0.2 }, champion: { version: "3", jaccard: 0.41 } },
      DEFAULT_GATES,
    );
    assert.equal(worse.register, false);
    assert.match(
      worse.reason,
      /refused by champion: champion FAILED \(jaccard 0\.4000 < champion v3 0\.4100/,
    );
    const equal = decideRegistration(
      { candidate, baseline: { jaccard: 0.2 }, champion: { version: "3", jaccard: 0.4 } },
      DEFAULT_GATES,
    );
    assert.equal(equal.register, true);
  });

  it("lets a tolerance accept a slightly worse model", () => {
    const d = decideRegistration(
      { candidate, baseline: { jaccard: 0.2 }, champion: { version: "1", jaccard: 0.405 } },
      { ...DEFAULT_GATES, championTolerance: 0.01 },
    );
    assert.equal(d.register, true);
    assert.match(d.reason, /champion v1 0\.4050 - tolerance 0\.0100 = 0\.3950/);
  });

  it("applies the optional absolute gates only when set", () => {
    const inputs = { candidate, baseline: { jaccard: 0.1 } };
    assert.equal(decideRegistration(inputs, DEFAULT_GATES).checks.length, 2);
    const d = decideRegistration(inputs, {
      ...DEFAULT_GATES,
      minJaccard: 0.5,
      maxHammingLoss: 0.05,
    });
    assert.equal(d.register, false);
    assert.deepEqual(
      d.checks.filter((c) => !c.passed).map((c) => c.gate),
      ["min-jaccard", "max-hamming-loss"],
    );
    assert.match(d.reason, /^refused by min-jaccard, max-hamming-loss: /);
  });
});
