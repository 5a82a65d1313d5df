// The KERNEL bytes embedded in split-kernel.ts are split-kernel.wat assembled: nothing else ties
// the hand-written .wat to what runs, so an edit to either alone fails here.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assembleKernel } from "../../scripts/assemble-kernel.ts";
import { KERNEL } from "../../src/ml/split-kernel.ts";

describe("split kernel", () => {
  it("embeds split-kernel.wat as assembled by wabt", async () => {
    const assembled = await assembleKernel();
    const embedded = Buffer.from(KERNEL, "base64");
    assert.ok(
      embedded.equals(assembled),
      `KERNEL in src/ml/split-kernel.ts (${embedded.length} bytes) is not src/ml/split-kernel.wat ` +
        `assembled (${assembled.length} bytes): run \`npm run build:kernel\``,
    );
  });
});
