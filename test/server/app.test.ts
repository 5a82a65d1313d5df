// The serve application's frame: authentication (bearer, login cookie), the origin rule, body
// limits, security headers, MLflow's API mounted on it, and errors as JSON for APIs.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../helpers/serve.ts";

describe("serve with a token", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ token: "s3cret-token" });
  });
  after(async () => {
    await server?.close();
  });

  /** The login form posted from the server's own origin, its redirect not followed. */
  const postLogin = (form: string) =>
    fetch(`${server.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url },
      body: form,
      redirect: "manual",
    });

  it("sends a page request without credentials to the login form, and an API request a 401", async () => {
    const page = await fetch(`${server.url}/flow-runs?state=failed`, { redirect: "manual" });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get("location"), "/login?next=%2Fflow-runs%3Fstate%3Dfailed");
    const api = await fetch(`${server.url}/api/v1/flow-runs`);
    assert.equal(api.status, 401);
    assert.match(((await api.json()) as { error: string }).error, /Bearer/);
    const mlflow = await fetch(`${server.url}/api/2.0/mlflow/experiments/search`);
    assert.equal(mlflow.status, 401);
    assert.equal(((await mlflow.json()) as { error_code: string }).error_code, "UNAUTHENTICATED");
  });

  it("lets a bearer token in, and MLflow's API answers through the same server", async () => {
    const answer = await server.request("/api/2.0/mlflow/experiments/search?max_results=10");
    assert.equal(answer.status, 200);
    assert.equal(
      ((await answer.json()) as { experiments: { name: string }[] }).experiments[0]?.name,
      "Default",
    );
    const wrong = await fetch(`${server.url}/api/2.0/mlflow/experiments/search`, {
      headers: { authorization: "Bearer nope" },
    });
    assert.equal(wrong.status, 401);
  });

  it("logs in with the token into an HttpOnly SameSite cookie, refuses a wrong one, and goes back only to local paths", async () => {
    const wrong = await postLogin("token=nope&next=%2Fmodels");
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get("set-cookie"), null);
    const right = await postLogin("token=s3cret-token&next=%2F%2Fevil.example%2F");
    assert.equal(right.status, 303);
    assert.equal(right.headers.get("location"), "/");
    const cookie = right.headers.get("set-cookie") ?? "";
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Strict/i);
    assert.doesNotMatch(cookie, /s3cret-token/);
    const session = cookie.split(";")[0] as string;
    const page = await fetch(`${server.url}/nope`, { headers: { cookie: session } });
    assert.equal(page.status, 404);
    assert.match(await page.text(), /Nothing here/);
  });

  it("refuses a cookie-authenticated change from another origin or without one", async () => {
    const login = await postLogin("token=s3cret-token");
    const session = (login.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const foreign = await fetch(`${server.url}/logout`, {
      method: "POST",
      headers: { cookie: session, origin: "http://evil.example" },
      redirect: "manual",
    });
    assert.equal(foreign.status, 403);
    const bare = await fetch(`${server.url}/logout`, {
      method: "POST",
      headers: { cookie: session },
      redirect: "manual",
    });
    assert.equal(bare.status, 403);
    const own = await fetch(`${server.url}/logout`, {
      method: "POST",
      headers: { cookie: session, origin: server.url },
      redirect: "manual",
    });
    assert.equal(own.status, 303);
  });

  it("sets a content security policy that allows this server only", async () => {
    const answer = await fetch(`${server.url}/login`);
    assert.match(answer.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    assert.equal(answer.headers.get("x-content-type-options"), "nosniff");
    const css = await fetch(`${server.url}/assets/app.css`);
    assert.equal(css.status, 200);
    const htmx = await fetch(`${server.url}/assets/htmx.min.js`);
    assert.equal(htmx.status, 200);
    assert.ok((await htmx.text()).length > 10_000);
  });
});

describe("serve without a token", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      configure: (config) => {
        config.server.maxBodyBytes = 4096;
      },
    });
  });
  after(async () => {
    await server?.close();
  });

  it("refuses bodies over server.maxBodyBytes with a 413 naming the setting", async () => {
    const big = "x".repeat(10_000);
    const answer = await server.request("/api/v1/predict", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: big,
    });
    assert.equal(answer.status, 413);
    assert.match(((await answer.json()) as { error: string }).error, /server\.maxBodyBytes/);
    const mlflow = await server.request("/api/2.0/mlflow/experiments/create", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: big,
    });
    assert.equal(mlflow.status, 413);
  });

  it("still refuses a browser's change from another origin", async () => {
    const answer = await server.request("/logout", {
      method: "POST",
      headers: { origin: "http://evil.example" },
      redirect: "manual",
    });
    assert.equal(answer.status, 403);
  });

  it("answers an unknown API path with JSON", async () => {
    const answer = await server.request("/api/v1/nothing");
    assert.equal(answer.status, 404);
    assert.match(((await answer.json()) as { error: string }).error, /no such resource/);
  });
});
