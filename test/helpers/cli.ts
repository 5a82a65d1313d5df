// Runs the genre-classifier command line from source in a child process, as a user would.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const entry = fileURLToPath(new URL("../../src/cli/entry.ts", import.meta.url));
/** Resolved here, so that the CLI runs from any working folder. */
const tsx = import.meta.resolve("tsx");

/** A clean environment: no GENRE_CLASSIFIER_* or AWS_* from the caller, no cloud metadata lookups. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (
      !name.startsWith("GENRE_CLASSIFIER_") &&
      !name.startsWith("AWS_") &&
      !name.startsWith("NODE_TEST")
    )
      env[name] = value;
  }
  return { ...env, AWS_EC2_METADATA_DISABLED: "true", ...extra };
}

export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", tsx, entry, ...args], {
      cwd: options.cwd,
      env: options.env ?? cleanEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
