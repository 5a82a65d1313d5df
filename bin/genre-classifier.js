#!/usr/bin/env node
// The `genre-classifier` command: runs the compiled CLI in dist/ (built by `npm ci`/`npm run build`).
import { existsSync } from "node:fs";

const entry = new URL("../dist/cli/entry.js", import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write(
    "genre-classifier: dist/ is missing: run `npm run build` (npm ci runs it for you)\n",
  );
  process.exit(1);
}
await import(entry.href);
