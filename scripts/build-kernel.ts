// Regenerates KERNEL in src/ml/split-kernel.ts from src/ml/split-kernel.wat: assembles the .wat
// with the wabt package (the same output as wat2wasm's defaults) and rewrites only the base64
// string, through a temporary file renamed over the original. Run it with `npm run build:kernel`
// after editing the .wat; test/ml/split-kernel.test.ts fails while the two differ.
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { assembleKernel } from "./assemble-kernel.ts";

const tsPath = fileURLToPath(new URL("../src/ml/split-kernel.ts", import.meta.url));

const bytes = await assembleKernel();
const encoded = Buffer.from(bytes).toString("base64");

const source = await readFile(tsPath, "utf8");
const pattern = /(const KERNEL =\s*")([A-Za-z0-9+/=]*)(")/g;
const matches = [...source.matchAll(pattern)];
if (matches.length !== 1) {
  throw new Error(`expected one KERNEL string in ${tsPath}, found ${matches.length}`);
}
const previous = matches[0]?.[2] ?? "";
if (previous === encoded) {
  console.log(`KERNEL in src/ml/split-kernel.ts is up to date (${bytes.length} bytes); unchanged`);
} else {
  const updated = source.replace(pattern, (_, start: string, _old: string, end: string) => {
    return `${start}${encoded}${end}`;
  });
  const temporary = `${tsPath}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, updated);
    await rename(temporary, tsPath);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  const was = Buffer.from(previous, "base64").length;
  console.log(
    `rewrote KERNEL in src/ml/split-kernel.ts: split-kernel.wat assembled to ${bytes.length} bytes (was ${was})`,
  );
}
