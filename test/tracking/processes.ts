// Child processes for the tracking tests that need several processes at once: each script
// connects, prints "ready", and starts its work when told "go" on stdin, so that the test can
// release them all together.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const tsx = import.meta.resolve("tsx");

export interface Worker {
  ready: Promise<void>;
  go(): void;
  /** What the script printed after "ready". */
  done: Promise<string>;
}

/** Starts `script` (a file beside this one) with `args`. */
export function startWorker(script: string, args: string[]): Worker {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = spawn(process.execPath, ["--import", tsx, path, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let signalReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    signalReady = resolve;
  });
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
    if (stdout.startsWith("ready\n")) signalReady();
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const done = new Promise<string>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve(stdout.slice("ready\n".length))
        : reject(new Error(`${script} exited with ${code}: ${stderr}`)),
    );
  });
  return {
    ready: Promise.race([ready, done.then(() => {})]),
    go: () => child.stdin.end("go\n"),
    done,
  };
}

/** Starts workers, waits until all are ready, releases them together, returns their output. */
export async function runTogether(script: string, argsPerWorker: string[][]): Promise<string[]> {
  const workers = argsPerWorker.map((args) => startWorker(script, args));
  await Promise.all(workers.map((w) => w.ready));
  for (const worker of workers) worker.go();
  return Promise.all(workers.map((w) => w.done));
}
