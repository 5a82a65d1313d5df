// The deployment pages and /api/v1/deployments on the whole serve application: schedules with
// their next run, pause and resume, "run now" with parameters checked by the flow's schema (a
// bad one named) and the run seen to completion, hostile names shown as text; and in chromium
// starting selfcheck from its deployment page and watching its run page reach completed.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { deploy } from "../../src/orchestration/scheduler.ts";
import { noBrowser, openWatchedPage, screenshot, withBrowser } from "../helpers/browser.ts";
import { startTestServer, type TestServer } from "../helpers/serve.ts";

const HOSTILE = "<script>alert(1)</script>";

interface DeploymentJson {
  name: string;
  flow_name: string;
  schedule: string;
  paused: boolean;
  next_run_at: number | null;
  last_run: { id: string; state: string } | null;
  parameters: Record<string, unknown>;
}

interface ErrorAnswer {
  error: string;
  field: string;
}

async function waitForState(server: TestServer, id: string, ms = 15_000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const run = (await (await server.request(`/api/v1/flow-runs/${id}`)).json()) as {
      flow_run: { state: string };
    };
    if (["completed", "failed", "crashed", "cancelled"].includes(run.flow_run.state))
      return run.flow_run.state;
    if (Date.now() > deadline) throw new Error(`run ${id} still ${run.flow_run.state}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function postJson(server: TestServer, path: string, body: unknown): Promise<Response> {
  return server.request(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("deployments", () => {
  let server: TestServer;
  let emptyPage: string;

  before(async () => {
    server = await startTestServer();
    emptyPage = await (await server.request("/deployments")).text();
    const { orchestrator } = server;
    await deploy(orchestrator, {
      name: "selfcheck",
      flow: "selfcheck",
      parameters: { tasks: 3, sleep_ms: 20 },
    });
    await deploy(orchestrator, {
      name: "nightly-selfcheck",
      flow: "selfcheck",
      cron: "0 6 * * *",
      timezone: "Europe/Paris",
    });
    await deploy(orchestrator, { name: "every-minute", flow: "selfcheck", intervalSeconds: 60 });
    await deploy(orchestrator, {
      name: HOSTILE,
      flow: "selfcheck",
      parameters: { tasks: 1, cache_key: HOSTILE },
    });
  });
  after(async () => {
    await server?.close();
  });

  it("says how to create deployments when there are none", () => {
    assert.match(emptyPage, /No deployments yet/);
    assert.match(emptyPage, /genre-classifier deploy/);
  });

  it("lists deployments with their schedule and next run", async () => {
    const { deployments } = (await (await server.request("/api/v1/deployments")).json()) as {
      deployments: DeploymentJson[];
    };
    const byName = new Map(deployments.map((d) => [d.name, d]));
    assert.deepEqual(
      [...byName.keys()].sort(),
      [HOSTILE, "every-minute", "nightly-selfcheck", "selfcheck"].sort(),
    );
    const nightly = byName.get("nightly-selfcheck") as DeploymentJson;
    assert.equal(nightly.schedule, 'cron "0 6 * * *" (Europe/Paris)');
    const next = new Date(nightly.next_run_at as number);
    assert.ok(next.getTime() > Date.now() && next.getTime() <= Date.now() + 86_400_000);
    assert.equal(
      new Intl.DateTimeFormat("en-GB", {
        timeZone: "Europe/Paris",
        hour: "2-digit",
        minute: "2-digit",
      }).format(next),
      "06:00",
    );
    const minute = byName.get("every-minute") as DeploymentJson;
    assert.ok((minute.next_run_at as number) - Date.now() <= 60_000);
    assert.equal(byName.get("selfcheck")?.next_run_at, null);
    assert.equal(byName.get("selfcheck")?.last_run, null);
    const page = await (await server.request("/deployments")).text();
    assert.match(page, /cron &quot;0 6 \* \* \*&quot; \(Europe\/Paris\)/);
    assert.match(page, /only when triggered/);
  });

  it("pauses and resumes a deployment", async () => {
    const paused = (await (
      await server.request("/api/v1/deployments/nightly-selfcheck/pause", { method: "POST" })
    ).json()) as { deployment: DeploymentJson };
    assert.equal(paused.deployment.paused, true);
    assert.equal(paused.deployment.next_run_at, null);
    const page = await (await server.request("/deployments/nightly-selfcheck")).text();
    assert.match(page, /Resume schedule/);
    const resumed = await server.request("/deployments/nightly-selfcheck/resume", {
      method: "POST",
      redirect: "manual",
    });
    assert.equal(resumed.status, 303);
    assert.equal(resumed.headers.get("location"), "/deployments/nightly-selfcheck");
    const after = (await (
      await server.request("/api/v1/deployments/nightly-selfcheck")
    ).json()) as {
      deployment: DeploymentJson;
    };
    assert.equal(after.deployment.paused, false);
  });

  it("refuses bad run requests with the field named", async () => {
    const cases: [string, RequestInit, number, string, RegExp][] = [
      [
        "selfcheck",
        { body: JSON.stringify({ parameters: { tasks: "many" } }) },
        400,
        "tasks",
        /parameter tasks of flow selfcheck/,
      ],
      [
        "selfcheck",
        { body: JSON.stringify({ parameters: { tasks: 2, colour: "red" } }) },
        400,
        "colour",
        /flow selfcheck has no parameter "colour"/,
      ],
      ["selfcheck", { body: JSON.stringify({ parameters: [1] }) }, 400, "parameters", /object/],
      ["selfcheck", { body: JSON.stringify({ params: {} }) }, 400, "params", /not a field/],
      ["selfcheck", { body: "{not json" }, 400, "body", /not JSON/],
      [
        "selfcheck",
        { body: "tasks=2", headers: { "content-type": "application/x-www-form-urlencoded" } },
        415,
        "content-type",
        /application\/json/,
      ],
      ["no-such-deployment", { body: "{}" }, 404, "name", /no deployment "no-such-deployment"/],
    ];
    for (const [name, init, status, field, message] of cases) {
      const answer = await server.request(`/api/v1/deployments/${name}/run`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        ...init,
      });
      assert.equal(answer.status, status, `${field}: ${init.body}`);
      const body = (await answer.json()) as ErrorAnswer;
      assert.equal(body.field, field);
      assert.match(body.error, message);
    }
    const form = await server.request("/deployments/selfcheck/run", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "param%3Atasks=lots&param%3Asleep_ms=",
    });
    assert.equal(form.status, 400);
    const html = await form.text();
    assert.match(html, /parameter tasks of flow selfcheck: Invalid input: expected number/);
    assert.match(html, /value="lots"/, "the form keeps what was typed");
    assert.equal(
      (await server.orchestrator.runs.pageFlowRuns({ deploymentName: "selfcheck", limit: 5 })).runs
        .length,
      0,
      "no run started",
    );
  });

  it("starts a run with parameters that runs to completion in the server", async () => {
    const answer = await postJson(server, "/api/v1/deployments/selfcheck/run", {
      parameters: { tasks: 2 },
    });
    assert.equal(answer.status, 201);
    const started = (await answer.json()) as {
      flow_run: { id: string; deployment_name: string; parameters: Record<string, unknown> };
      url: string;
    };
    assert.equal(started.flow_run.deployment_name, "selfcheck");
    assert.deepEqual(started.flow_run.parameters, {
      tasks: 2,
      sleep_ms: 20,
      fail_once: 0,
      sequential: false,
    });
    assert.equal(started.url, `/flow-runs/${started.flow_run.id}`);
    assert.equal(await waitForState(server, started.flow_run.id), "completed");
    const { deployment } = (await (
      await server.request("/api/v1/deployments/selfcheck")
    ).json()) as {
      deployment: DeploymentJson;
    };
    assert.deepEqual(deployment.last_run?.id, started.flow_run.id);
    const form = await server.request("/deployments/selfcheck/run", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "param%3Atasks=1&param%3Asequential=true",
      redirect: "manual",
    });
    assert.equal(form.status, 303);
    const location = form.headers.get("location") ?? "";
    assert.match(location, /^\/flow-runs\/[0-9a-f-]{36}$/);
    assert.equal(await waitForState(server, location.split("/").pop() as string), "completed");
  });

  it("shows a hostile deployment name and parameters as text", async () => {
    const path = `/deployments/${encodeURIComponent(HOSTILE)}`;
    const answer = await server.request(path);
    assert.equal(answer.status, 200);
    const html = await answer.text();
    assert.doesNotMatch(html, /<script>alert/);
    assert.match(html, /Deployment &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    const list = await (await server.request("/deployments")).text();
    assert.doesNotMatch(list, /<script>alert/);
    const run = await postJson(
      server,
      `/api/v1/deployments/${encodeURIComponent(HOSTILE)}/run`,
      {},
    );
    assert.equal(run.status, 201);
    const { flow_run } = (await run.json()) as { flow_run: { id: string } };
    await waitForState(server, flow_run.id);
    const runPage = await (await server.request(`/flow-runs/${flow_run.id}`)).text();
    assert.doesNotMatch(runPage, /<script>alert/);
    assert.match(runPage, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  });

  it("starts selfcheck from its page in chromium and follows the run to completed", {
    skip: noBrowser,
  }, async () => {
    await withBrowser(async (browser) => {
      const { page, watch, dialogs } = await openWatchedPage(browser, server.url);
      await page.goto(`${server.url}/deployments`);
      await screenshot(page, "deployments");
      await page.click('a[href="/deployments/selfcheck"]');
      await page.waitForURL(`${server.url}/deployments/selfcheck`);
      await screenshot(page, "deployment");
      await page.fill('input[name="param:tasks"]', "4");
      await page.fill('input[name="param:sleep_ms"]', "250");
      await page.fill('input[name="param:sequential"]', "true");
      await page.click("form[aria-label='Run now'] button[type=submit]");
      await page.waitForURL(/\/flow-runs\/[0-9a-f-]{36}$/);
      await page.locator("#run-live [data-state=running]").waitFor();
      await page.locator("#run-live [data-state=completed]").waitFor({ timeout: 15_000 });
      await page.locator("#run-log", { hasText: "done:" }).waitFor({ timeout: 5_000 });
      const log = (await page.locator("#run-log").textContent()) ?? "";
      assert.match(log, /fanning out 4 tasks/);
      assert.equal(await page.locator("td.tree", { hasText: "selfcheck-item" }).count(), 4);
      const polls = () => watch.requests.filter((url) => /\/(live|log\?)/.test(url)).length;
      assert.ok(polls() > 0, "the page polled while the run went on");
      await page.locator("#run-log [hx-get]").waitFor({ state: "detached", timeout: 5_000 });
      assert.equal(await page.locator("#run-live[hx-get]").count(), 0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const settled = polls();
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      assert.equal(polls(), settled, "the page stops polling once the run ended");

      await page.goto(`${server.url}/deployments/${encodeURIComponent(HOSTILE)}`);
      assert.equal(await page.locator("h1").textContent(), `Deployment ${HOSTILE}`);
      assert.match((await page.locator("pre.log").first().textContent()) ?? "", /<script>/);
      assert.deepEqual(dialogs, []);
      assert.deepEqual(watch.problems, []);
    });
  });
});
