// The KERNEL bytes embedded in split-kernel.ts are split-kernel.wat assembled: nothing else ties
// the hand-written .wat to what runs, so an edit to either alone fails here.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import wabt from "wabt";
import { KERNEL } from "../../src/ml/split-kernel.ts";

describe("split kernel", () => {
  it("embeds split-kernel.wat as assembled by wabt", async () => {
    const wat = await readFile(new URL("../../src/ml/split-kernel.wat", import.meta.url), "utf8");
    const module = (await wabt()).parseWat("split-kernel.wat", wat);
    let assembled: Uint8Array;
    try {
      module.resolveNames();
      module.validate();
      // wat2wasm's defaults, as scripts/build-kernel.ts uses.
      assembled = module.toBinary({
        log: false,
        canonicalize_lebs: true,
        relocatable: false,
        write_debug_names: false,
      }).buffer;
    } finally {
      module.destroy();
    }
    const embedded = Buffer.from(KERNEL, "base64");
    assert.ok(
      embedded.equals(assembled),
      `KERNEL in src/ml/split-kernel.ts (${embedded.length} bytes) is not src/ml/split-kernel.wat ` +
        `assembled (${assembled.length} bytes): run \`npm run build:kernel\``,
    );
  });
});
