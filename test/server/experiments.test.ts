// The experiments pages over runs logged through the tracking client: experiments with their
// run counts, runs searched with MLflow's filter syntax, sorted by a column and paged, a run's
// page (chart, per-genre table, datasets, artifacts), artifact downloads and their path checks,
// runs compared, names escaped; and in chromium, picking two runs and comparing them.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PER_GENRE_ARTIFACT } from "../../src/flows/train.ts";
import { noBrowser, openWatchedPage, screenshot, suiteBrowser } from "../helpers/browser.ts";
import { rawGet } from "../helpers/raw-get.ts";
import { startTestServer, type TestServer } from "../helpers/serve.ts";

const HOSTILE_NAME = "<script>alert(1)</script>";
const PER_GENRE_CSV = [
  "genre,support,f1,precision,recall",
  "rock,64,0.8888888888888888,0.8,1",
  '"rock, hard",12,0.5,0.25,0.75',
].join("\n");

describe("experiments pages", () => {
  let server: TestServer;
  let experimentId: string;
  let hostileId: string;
  /** Runs by name: a (trees 100, jaccard 0.5), b (trees 200, jaccard 0.3), c (trees 100, jaccard 0.45). */
  const runIds: Record<string, string> = {};

  before(async () => {
    server = await startTestServer();
    const tracking = server.tracking;
    experimentId = await tracking.createExperiment("genre-forest");
    hostileId = await tracking.createExperiment(HOSTILE_NAME);
    const runs: [string, string, number][] = [
      ["run-a", "100", 0.5],
      ["run-b", "200", 0.3],
      ["run-c", "100", 0.45],
    ];
    let start = Date.UTC(2026, 0, 1);
    for (const [name, trees, jaccard] of runs) {
      start += 60_000;
      const run = await tracking.startRun(experimentId, { runName: name, startTime: start });
      const runId = run.info.runId;
      runIds[name] = runId;
      await tracking.logParams(runId, { trees, seed: 0 });
      for (let step = 0; step < 10; step++)
        await tracking.logMetric(runId, "loss", 1 / (step + 1) + jaccard, {
          step,
          timestamp: start + step,
        });
      await tracking.logMetrics(runId, { jaccard, "genre.rock.f1": jaccard / 2 });
      await tracking.setTag(runId, "gate.decision", "registered");
      await tracking.setTag(runId, "gate.reason", `passed: jaccard ${jaccard}`);
      await tracking.endRun(runId, "FINISHED", start + 5000);
    }
    const a = runIds["run-a"] as string;
    await tracking.logArtifactBytes(a, PER_GENRE_ARTIFACT, PER_GENRE_CSV);
    await tracking.logArtifactBytes(a, "model/forest.bin", new Uint8Array([1, 2, 3, 4]));
    await tracking.logArtifactBytes(a, "notes/été.txt", "bonjour");
    await tracking.logDataset(
      a,
      { name: "train", digest: "abc123", sourceType: "object-store", source: "file:///t.parquet" },
      "training",
    );
    const hostileRun = await tracking.startRun(hostileId, { runName: HOSTILE_NAME });
    await tracking.logParam(hostileRun.info.runId, "note", HOSTILE_NAME);
  });
  after(async () => {
    await server?.close();
  });

  it("lists experiments with their run counts, names escaped", async () => {
    const answer = await server.request("/experiments");
    assert.equal(answer.status, 200);
    const html = await answer.text();
    assert.match(html, new RegExp(`href="/experiments/${experimentId}">genre-forest</a>`));
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.doesNotMatch(html, /<script>alert/);
    const row = html.slice(html.indexOf("genre-forest</a>"));
    assert.match(row, /<td class="num">3<\/td>/);
    const named = await (await server.request("/experiments?name=FOREST")).text();
    assert.match(named, />genre-forest</);
    assert.doesNotMatch(named, /alert\(1\)/);
    const literal = await (
      await server.request(`/experiments?name=${encodeURIComponent("%")}`)
    ).text();
    assert.match(literal, /No experiments match that name/);
  });

  it("searches runs with MLflow's filter syntax and shows a bad filter's message, not a 500", async () => {
    const filter = "metrics.jaccard > 0.4 and params.trees = '100'";
    const answer = await server.request(
      `/experiments/${experimentId}?filter=${encodeURIComponent(filter)}`,
    );
    assert.equal(answer.status, 200);
    const html = await answer.text();
    assert.match(html, />run-a</);
    assert.match(html, />run-c</);
    assert.doesNotMatch(html, />run-b</);
    assert.match(html, /value="metrics.jaccard &gt; 0.4 and params.trees = &#39;100&#39;"/);

    const bad = await server.request(
      `/experiments/${experimentId}?filter=${encodeURIComponent("metrics.jaccard >")}`,
    );
    assert.equal(bad.status, 400);
    const badHtml = await bad.text();
    assert.match(badHtml, /expected a number to compare metrics\.jaccard with/);
    assert.match(badHtml, /name="filter"/);

    const or = await server.request(
      `/experiments/${experimentId}?filter=${encodeURIComponent("params.trees = '1' or params.trees = '2'")}`,
    );
    assert.equal(or.status, 400);
    assert.match(await or.text(), /OR is not supported/);

    const tooMany = await server.request(`/experiments/${experimentId}?max_results=500`);
    assert.equal(tooMany.status, 400);
    assert.match(await tooMany.text(), /max_results: expected a whole number from 1 to 100/);
  });

  it("sorts by a metric column through order_by, and pages with page tokens", async () => {
    const ascending = await server.request(
      `/experiments/${experimentId}?order_by=${encodeURIComponent("metrics.`jaccard` ASC")}`,
    );
    const html = await ascending.text();
    const order = ["run-b", "run-c", "run-a"].map((name) => html.indexOf(`>${name}<`));
    assert.deepEqual(
      [...order].sort((x, y) => x - y),
      order,
    );
    // The header's link flips the direction.
    assert.match(html, /order_by=metrics.%60jaccard%60\+DESC/);
    assert.match(html, /class="sorted">jaccard ▲/);

    const first = await (
      await server.request(
        `/experiments/${experimentId}?max_results=2&order_by=attributes.run_name+ASC`,
      )
    ).text();
    assert.match(first, />run-a</);
    assert.match(first, />run-b</);
    assert.doesNotMatch(first, />run-c</);
    const next = /href="([^"]*page_token=[^"]*)"/.exec(first)?.[1]?.replaceAll("&amp;", "&");
    assert.ok(next, "a next-page link");
    const second = await (await server.request(next)).text();
    assert.match(second, />run-c</);
    assert.doesNotMatch(second, />run-a</);
  });

  it("shows the chosen columns, and only those", async () => {
    const html = await (
      await server.request(`/experiments/${experimentId}?columns=chosen&metric=genre.rock.f1`)
    ).text();
    assert.match(html, /title="metrics.genre.rock.f1"/);
    assert.doesNotMatch(html, /title="metrics.jaccard"/);
    assert.doesNotMatch(html, /title="params.trees"/);
  });

  it("answers an unknown experiment with 404 and a malformed id with 400", async () => {
    assert.equal((await server.request("/experiments/987654")).status, 404);
    const bad = await server.request("/experiments/abc");
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /abc/);
  });

  it("shows a run: params, metrics, a chart of the metric with history, tags, datasets, per-genre table, artifacts", async () => {
    const runId = runIds["run-a"] as string;
    const answer = await server.request(`/runs/${runId}`);
    assert.equal(answer.status, 200);
    const html = await answer.text();
    assert.match(html, /<figcaption>loss<\/figcaption>/);
    assert.match(html, /<path d="M[\d.]+ [\d.]+ (L[\d.]+ [\d.]+ ?){9}"/);
    assert.doesNotMatch(html, /<figcaption>jaccard<\/figcaption>/);
    assert.match(html, /<th>trees<\/th>/);
    assert.match(html, /passed: jaccard 0.5/);
    assert.match(html, /id="per-genre"/);
    assert.match(html, /<td>rock, hard<\/td>/);
    assert.match(html, /<td class="num" title="0.8888888888888888">0.8889<\/td>/);
    assert.match(html, /abc123/);
    assert.match(html, /training/);
    assert.match(html, new RegExp(`href="/runs/${runId}/artifacts/${PER_GENRE_ARTIFACT}"`));
    assert.match(html, new RegExp(`href="/runs/${runId}\\?artifacts=model#artifacts">model/<`));

    const folder = await (await server.request(`/runs/${runId}?artifacts=model`)).text();
    assert.match(folder, new RegExp(`href="/runs/${runId}/artifacts/model/forest.bin"`));
    const outside = await server.request(`/runs/${runId}?artifacts=${encodeURIComponent("../x")}`);
    assert.equal(outside.status, 200);
    assert.match(await outside.text(), /must not contain &quot;\.\.&quot;/);

    assert.equal((await server.request("/runs/0123456789abcdef0123456789abcdef")).status, 404);
  });

  it("downloads an artifact as an attachment, sends a folder to its listing, and refuses paths leaving the run", async () => {
    const runId = runIds["run-a"] as string;
    const file = await server.request(`/runs/${runId}/artifacts/${PER_GENRE_ARTIFACT}`);
    assert.equal(file.status, 200);
    assert.match(
      file.headers.get("content-disposition") ?? "",
      /^attachment; filename="per_genre.csv"/,
    );
    assert.equal(file.headers.get("content-type"), "application/octet-stream");
    assert.equal(await file.text(), PER_GENRE_CSV);

    const binary = await server.request(`/runs/${runId}/artifacts/model/forest.bin`);
    assert.deepEqual([...new Uint8Array(await binary.arrayBuffer())], [1, 2, 3, 4]);
    const accented = await server.request(
      `/runs/${runId}/artifacts/notes/${encodeURIComponent("été.txt")}`,
    );
    assert.equal(await accented.text(), "bonjour");
    assert.match(
      accented.headers.get("content-disposition") ?? "",
      /filename\*=UTF-8''%C3%A9t%C3%A9\.txt/,
    );

    const folder = await server.request(`/runs/${runId}/artifacts/model`, { redirect: "manual" });
    assert.equal(folder.status, 303);
    assert.equal(folder.headers.get("location"), `/runs/${runId}?artifacts=model#artifacts`);
    assert.equal((await server.request(`/runs/${runId}/artifacts/nothing.txt`)).status, 404);

    // The HTTP layer resolves `..` segments (plain or %2e-encoded) before routing: nothing of
    // the run is reached. Encoded slashes reach the route, which refuses them.
    for (const [target, status] of [
      [`/runs/${runId}/artifacts/../../../../etc/passwd`, 404],
      [`/runs/${runId}/artifacts/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd`, 404],
      [`/runs/${runId}/artifacts/model/..%2F..%2F..%2Fx`, 400],
      [`/runs/${runId}/artifacts/%2Fetc%2Fpasswd`, 400],
      [`/runs/${runId}/artifacts//etc/passwd`, 400],
      [`/runs/${runId}/artifacts/C:%5Cwindows`, 400],
    ] as const) {
      const answer = await rawGet(server.url, target);
      assert.equal(answer.status, status, target);
      assert.doesNotMatch(answer.body, /root:/);
    }
  });

  it("compares runs side by side with differences highlighted and metric histories overlaid", async () => {
    const a = runIds["run-a"] as string;
    const b = runIds["run-b"] as string;
    const answer = await server.request(`/compare?runs=${a},${b}`);
    assert.equal(answer.status, 200);
    const html = await answer.text();
    assert.match(html, /<tr class="differs"><th>trees<\/th><td>100<\/td><td>200<\/td><\/tr>/);
    assert.match(html, /<tr><th>seed<\/th><td>0<\/td><td>0<\/td><\/tr>/);
    const chart = html.slice(html.indexOf("<figcaption>loss</figcaption>"));
    assert.equal((chart.slice(0, chart.indexOf("</figure>")).match(/<path /g) ?? []).length, 2);

    const only = await (
      await server.request(`/compare?runs=${a}&runs=${b}&differences=only`)
    ).text();
    assert.match(only, /<th>trees<\/th>/);
    assert.doesNotMatch(only, /<th>seed<\/th>/);

    const many = Array.from({ length: 11 }, (_, i) => `${i}`.padStart(32, "0")).join(",");
    const tooMany = await server.request(`/compare?runs=${many}`);
    assert.equal(tooMany.status, 400);
    assert.match(await tooMany.text(), /runs: at most 10 runs can be compared at once; got 11/);
    const one = await server.request(`/compare?runs=${a}`);
    assert.equal(one.status, 400);
    assert.match(await one.text(), /at least 2 runs/);
    const unknown = await server.request(`/compare?runs=${a},${"f".repeat(32)}`);
    assert.equal(unknown.status, 404);
  });

  describe("in a browser", { skip: noBrowser }, () => {
    const browser = suiteBrowser();

    it("opens the experiments, a run with its chart and artifacts, and compares two picked runs", async () => {
      const { page, watch, dialogs } = await openWatchedPage(browser(), server.url, {
        width: 1280,
      });
      await page.goto(`${server.url}/experiments`);
      assert.equal(await page.getByText(HOSTILE_NAME, { exact: true }).count(), 1);
      await screenshot(page, "experiments");

      await page.getByRole("link", { name: HOSTILE_NAME }).click();
      await page.waitForURL(`**/experiments/${hostileId}`);
      assert.equal(await page.locator("h1").textContent(), HOSTILE_NAME);
      await page.getByRole("link", { name: HOSTILE_NAME }).first().click();
      await page.waitForURL("**/runs/*");
      assert.equal(await page.locator("h1").textContent(), HOSTILE_NAME);

      await page.goto(`${server.url}/experiments/${experimentId}`);
      await page.getByRole("link", { name: "run-a" }).click();
      await page.waitForURL(`**/runs/${runIds["run-a"]}`);
      assert.equal(await page.locator("figure.chart svg path").count(), 1);
      await page.getByRole("link", { name: "model/" }).click();
      await page.waitForURL("**artifacts=model*");
      assert.equal(await page.getByRole("link", { name: "forest.bin" }).count(), 1);
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.getByRole("link", { name: "forest.bin" }).click(),
      ]);
      assert.equal(download.suggestedFilename(), "forest.bin");
      await page.goto(`${server.url}/runs/${runIds["run-a"]}`);
      await screenshot(page, "run");

      await page.goto(`${server.url}/experiments/${experimentId}`);
      await page.getByRole("checkbox", { name: "select run run-a" }).check();
      await page.getByRole("checkbox", { name: "select run run-b" }).check();
      await page.getByRole("button", { name: "Compare selected runs" }).click();
      await page.waitForURL("**/compare?**");
      assert.equal(await page.locator("h1").textContent(), "Comparing 2 runs");
      assert.equal(await page.locator("tr.differs", { hasText: "trees" }).count(), 1);
      assert.equal(await page.locator("figure.chart svg path").count(), 2);
      await screenshot(page, "compare");

      assert.deepEqual(dialogs, []);
      assert.deepEqual(watch.problems, []);
      await page.close();
    });
  });
});
