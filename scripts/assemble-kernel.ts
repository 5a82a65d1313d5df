// Assembles src/ml/split-kernel.wat with the wabt package, as wat2wasm does by default: the
// bytes split-kernel.ts must embed. Shared by build-kernel.ts and the test that checks them.
import { readFile } from "node:fs/promises";
import wabt from "wabt";

export const KERNEL_WAT = new URL("../src/ml/split-kernel.wat", import.meta.url);

export async function assembleKernel(): Promise<Uint8Array> {
  const wat = await readFile(KERNEL_WAT, "utf8");
  const module = (await wabt()).parseWat("split-kernel.wat", wat);
  try {
    module.resolveNames();
    module.validate();
    return module.toBinary({
      log: false,
      canonicalize_lebs: true,
      relocatable: false,
      write_debug_names: false,
    }).buffer;
  } finally {
    module.destroy();
  }
}
