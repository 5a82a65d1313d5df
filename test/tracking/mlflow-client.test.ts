// MLflow's own Python client (2.12.2, run from its source on Debian's python3) drives the
// tracking server through scripts/mlflow-client-check.py: every operation must pass. Skipped
// when MLflow's source is not on this machine (MLFLOW_SOURCE, or /tmp/mlflow-src).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { backends, type ServerFixture, startServerFixture } from "./backends.ts";

const MLFLOW_SOURCE = process.env.MLFLOW_SOURCE ?? "/tmp/mlflow-src";
const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("../../scripts/mlflow-client-check.py", import.meta.url));

function skipReason(): string | false {
  if (!existsSync(join(MLFLOW_SOURCE, "mlflow", "__init__.py")))
    return `MLflow's source is not at ${MLFLOW_SOURCE} (set MLFLOW_SOURCE to a folder holding mlflow/)`;
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  return false;
}

function runCheck(url: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ["-W", "ignore", SCRIPT, url], {
      env: { ...process.env, PYTHONPATH: MLFLOW_SOURCE, MLFLOW_TRACKING_TOKEN: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("MLflow's Python client against the tracking server", { skip: skipReason() }, () => {
  let fixture: ServerFixture;
  before(async () => {
    fixture = await startServerFixture(backends[0] as (typeof backends)[0]);
  });
  after(() => fixture.close());

  it("passes every operation of scripts/mlflow-client-check.py", { timeout: 120_000 }, async () => {
    const { code, output } = await runCheck(fixture.url);
    const failures = output.split("\n").filter((line) => line.startsWith("FAIL "));
    const summary = /mlflow-client-check: (\d+) passed, (\d+) failed of (\d+) operations/.exec(
      output,
    );
    assert.ok(summary, `no summary line; the script printed:\n${output.slice(-3000)}`);
    assert.deepEqual(failures, [], "operations that failed");
    assert.equal(summary[2], "0");
    assert.ok(Number(summary[3]) >= 121, `only ${summary[3]} operations ran`);
    assert.equal(code, 0);
  });
});
