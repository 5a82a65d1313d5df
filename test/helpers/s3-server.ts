// Starts a local S3-compatible server (s3rver, in a child process) on 127.0.0.1 for the
// storage tests, with a fresh folder and one bucket, and gives the settings to reach it.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { S3Settings } from "../../src/storage/s3.ts";

export interface LocalS3Server {
  endpoint: string;
  bucket: string;
  settings: S3Settings;
  stop(): Promise<void>;
}

export async function startLocalS3(bucket = "test-bucket"): Promise<LocalS3Server> {
  const directory = await mkdtemp(join(tmpdir(), "gc-s3rver-"));
  const script = new URL("./s3rver-process.mjs", import.meta.url).pathname;
  const child = spawn(process.execPath, ["--openssl-legacy-provider", script, directory, bucket], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) =>
      reject(new Error(`s3rver exited with code ${code} before listening`)),
    );
    createInterface({ input: child.stdout }).once("line", (line) => resolve(JSON.parse(line).port));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    settings: {
      endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      accessKeyId: "S3RVER",
      secretAccessKey: "S3RVER",
      maxAttempts: 3,
      partSizeMib: 5,
      uploadConcurrency: 4,
    },
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      await rm(directory, { recursive: true, force: true });
    },
  };
}
