// `genre-classifier serve` as a process: it prints where it listens, answers pages, MLflow's API,
// the operations endpoints and the token rules, refuses a non-loopback address without a
// token, and stops on SIGTERM with exit code 0 once the request in flight has its answer.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cleanEnv, runCli, startCli } from "../../helpers/cli.ts";

describe("serve", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gc-serve-cli-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("serves the UI and MLflow's API behind the token and stops on SIGTERM with exit code 0", async () => {
    const serve = startCli(["--data-dir", dir, "serve", "--port", "0"], {
      cwd: dir,
      env: cleanEnv({ GENRE_CLASSIFIER_SERVER_TOKEN: "cli-token" }),
    });
    try {
      const line = await serve.waitFor(/serving on http:\/\/127\.0\.0\.1:\d+/);
      const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1] as string;
      const login = await fetch(`${url}/`, { redirect: "manual" });
      assert.equal(login.status, 303);
      assert.match(login.headers.get("location") ?? "", /^\/login/);
      const form = await fetch(`${url}/login`);
      assert.match(await form.text(), /type="password"/);
      const mlflow = await fetch(`${url}/api/2.0/mlflow/experiments/search?max_results=5`, {
        headers: { authorization: "Bearer cli-token" },
      });
      assert.equal(mlflow.status, 200);
      assert.match(serve.output(), /token required/);
    } finally {
      serve.child.kill("SIGTERM");
    }
    assert.equal(await serve.exited, 0);
  });

  it("answers /healthz, /readyz and /metrics, and on SIGTERM lets the request in flight finish, then exits 0", async () => {
    const serve = startCli(["--data-dir", dir, "serve", "--port", "0"], {
      cwd: dir,
      env: cleanEnv({ GENRE_CLASSIFIER_SERVER_TOKEN: "cli-token-0123456789" }),
    });
    try {
      const line = await serve.waitFor(/serving on http:\/\/127\.0\.0\.1:\d+/);
      const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1] as string;
      assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: "ok" });
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 200, await ready.clone().text());
      assert.equal((await fetch(`${url}/metrics`)).status, 401);
      const metrics = await fetch(`${url}/metrics`, {
        headers: { authorization: "Bearer cli-token-0123456789" },
      });
      assert.match(
        await metrics.text(),
        /^genre_classifier_http_request_duration_seconds_count\{/m,
      );
      assert.match(serve.output(), /metrics http:.*\/metrics \(token required\)/);

      const body = JSON.stringify({ tracks: [{ tempo: 120 }] });
      const answered = new Promise<number>((resolve, reject) => {
        const call = request(`${url}/api/v1/predict`, {
          method: "POST",
          headers: {
            authorization: "Bearer cli-token-0123456789",
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
          },
        });
        call.on("error", reject);
        call.on("response", (response) => {
          response.resume();
          response.on("end", () => resolve(response.statusCode ?? 0));
        });
        call.write(body.slice(0, 5));
        setTimeout(() => {
          serve.child.kill("SIGTERM");
          setTimeout(() => call.end(body.slice(5)), 700);
        }, 300);
      });
      // No model is registered: the request's answer is the API's 503, not a cut connection.
      assert.equal(await answered, 503);
      assert.equal(await serve.exited, 0, serve.output());
    } finally {
      serve.child.kill("SIGKILL");
    }
  });

  it("refuses to listen beyond loopback without a token, naming the setting", async () => {
    const result = await runCli(["--data-dir", dir, "serve", "--host", "0.0.0.0", "--port", "0"], {
      cwd: dir,
    });
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /refusing to listen on 0\.0\.0\.0 without a token; set server\.token/,
    );
  });

  it("names the option when the port is not a port", async () => {
    const result = await runCli(["--data-dir", dir, "serve", "--port", "http"], { cwd: dir });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--port.*expected a port number from 0 to 65535/);
  });
});
