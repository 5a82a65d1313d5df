// The KERNEL bytes embedded in split-kernel.ts are split-kernel.wat assembled: nothing else ties
// the hand-written .wat to what runs, so an edit to either alone fails here. The kernel imports
// the offset of exactly the buffers KERNEL_BUFFERS lays out, by name.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assembleKernel } from "../../scripts/assemble-kernel.ts";
import { KERNEL, KERNEL_BUFFERS, splitKernel } from "../../src/ml/split-kernel.ts";

// The part of the WebAssembly API used here (the project's TypeScript libraries leave it out).
declare const WebAssembly: {
  Module: {
    new (bytes: Uint8Array): object;
    imports(module: object): { module: string; name: string; kind: string }[];
  };
};

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

  it("imports the offset of each buffer of KERNEL_BUFFERS by name, and nothing else", () => {
    const imports = WebAssembly.Module.imports(
      new WebAssembly.Module(Buffer.from(KERNEL, "base64")),
    );
    assert.deepEqual(
      imports.filter((i) => i.module === "layout").map((i) => `${i.name}:${i.kind}`),
      Object.keys(KERNEL_BUFFERS).map((name) => `${name}:global`),
    );
    assert.deepEqual(
      imports.filter((i) => i.module !== "layout").map((i) => `${i.module}.${i.name}`),
      ["env.memory"],
    );
  });

  it("lays the buffers out in table order, each 8-aligned, with views of their element types", () => {
    const lengths = Object.fromEntries(
      Object.keys(KERNEL_BUFFERS).map((name, i) => [name, 3 + i]),
    ) as Record<keyof typeof KERNEL_BUFFERS, number>;
    const { views } = splitKernel(lengths);
    let offset = 0;
    for (const [name, type] of Object.entries(KERNEL_BUFFERS)) {
      const view = views[name as keyof typeof KERNEL_BUFFERS];
      assert.ok(view instanceof type, name);
      assert.equal(view.byteOffset, offset, name);
      assert.equal(view.length, lengths[name as keyof typeof KERNEL_BUFFERS], name);
      offset += Math.ceil(view.byteLength / 8) * 8;
    }
  });
});
