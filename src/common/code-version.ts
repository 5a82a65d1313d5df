// The version of this code as models and runs record it: the package version, and the git
// commit when the code runs from a git checkout.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";

/** The package version, with the git commit when the code is a git checkout. */
export async function codeVersion(): Promise<string> {
  const root = new URL("../../", import.meta.url);
  const { version } = JSON.parse(await readFile(new URL("package.json", root), "utf8")) as {
    version: string;
  };
  try {
    const { stdout } = await promisify(execFile)("git", ["rev-parse", "--short=12", "HEAD"], {
      cwd: root,
      timeout: 5000,
    });
    const commit = stdout.trim();
    return /^[0-9a-f]+$/.test(commit) ? `${version}+${commit}` : version;
  } catch {
    return version;
  }
}
