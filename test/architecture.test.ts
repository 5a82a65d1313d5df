// Keeps docs/architecture.md true: every folder under src/ is listed there, and no folder
// imports from one that the table does not allow it to use.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const src = join(root, "src");

async function allowedUses(): Promise<Map<string, Set<string>>> {
  const doc = await readFile(join(root, "docs", "architecture.md"), "utf8");
  const table = new Map<string, string>();
  for (const match of doc.matchAll(/^\|\s*`([a-z-]+)\/`\s*\|[^|]+\|\s*([^|]+?)\s*\|/gm)) {
    table.set(match[1] as string, (match[2] as string).trim());
  }
  const folders = [...table.keys()];
  const allowed = new Map<string, Set<string>>();
  for (const [folder, uses] of table) {
    if (uses === "everything") allowed.set(folder, new Set(folders));
    else if (uses.startsWith("every area above")) {
      allowed.set(folder, new Set(folders.slice(0, folders.indexOf(folder))));
    } else allowed.set(folder, new Set(uses === "—" ? [] : uses.split(",").map((u) => u.trim())));
  }
  return allowed;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

describe("architecture", () => {
  it("lists every folder under src/ in docs/architecture.md", async () => {
    const allowed = await allowedUses();
    const folders = (await readdir(src, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    for (const folder of folders)
      assert.ok(allowed.has(folder), `src/${folder}/ is described in docs/architecture.md`);
  });

  it("keeps dependencies pointing the way the table says", async () => {
    const allowed = await allowedUses();
    const violations: string[] = [];
    for (const file of await sourceFiles(src)) {
      const from = relative(src, file).split("/")[0] as string;
      const text = await readFile(file, "utf8");
      for (const match of text.matchAll(/(?:from|import)\s*\(?\s*"(\.\.?\/[^"]+)"/g)) {
        const target = relative(src, join(file, "..", match[1] as string)).split("/")[0] as string;
        if (target === from) continue;
        if (!allowed.get(from)?.has(target))
          violations.push(`${relative(root, file)} imports ${target}/`);
      }
    }
    assert.deepEqual(violations, []);
  });
});
