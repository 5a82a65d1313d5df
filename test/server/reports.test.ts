// The monitoring reports over a data folder the flows made (three monitored days): the list as
// JSON and as a page (from days.json, or the day folders without it), a day's result, the stored
// files served at /reports/<path> with their type, ETag and a policy that runs only the report's
// own style and script, traversal attempts refused, and a day's report opened from the list in
// chromium with its charts drawn, its script running and the console clean.
import assert from "node:assert/strict";
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { MonitoringDay } from "../../src/monitoring/types.ts";
import { noBrowser, openWatchedPage, screenshot, withBrowser } from "../helpers/browser.ts";
import { startServerWithDailyData } from "../helpers/daily-data.ts";
import { rawGet } from "../helpers/raw-get.ts";
import type { TestServer } from "../helpers/serve.ts";

interface ReportDayJson {
  day: number;
  drift: boolean | null;
  driftShare: number | null;
  driftedColumns: number | null;
  columns: number | null;
  jaccard: number | null;
  modelVersion: string | null;
  retrained: boolean | null;
  report: string;
  data: string;
  result: string;
}

describe("reports", () => {
  let server: TestServer;

  async function json<T>(path: string, status = 200): Promise<T> {
    const answer = await server.request(path);
    const body = (await answer.json()) as T;
    assert.equal(answer.status, status, `${path}: ${JSON.stringify(body)}`);
    return body;
  }

  before(async () => {
    ({ server } = await startServerWithDailyData({ tracks: 300, batchSize: 30 }));
  });
  after(async () => {
    await server?.close();
  });

  it("lists the monitored days newest first with drift, quality and the retrain decision", async () => {
    const recorded = JSON.parse(
      new TextDecoder().decode(await server.store.get("reports/monitoring/days.json")),
    ) as MonitoringDay[];
    const list = await json<{ total: number; days: ReportDayJson[] }>("/api/v1/reports");
    assert.equal(list.total, 3);
    assert.deepEqual(
      list.days.map((d) => d.day),
      [3, 2, 1],
    );
    for (const day of list.days) {
      const entry = recorded.find((r) => r.day === day.day) as MonitoringDay;
      assert.equal(day.driftShare, entry.driftShare);
      assert.equal(day.driftedColumns, entry.driftedColumns);
      assert.equal(day.columns, entry.columns);
      assert.equal(day.drift, entry.drift);
      assert.equal(day.jaccard, entry.jaccard);
      assert.equal(day.retrained, entry.retrained);
      assert.equal(day.modelVersion, "1");
      assert.equal(day.report, `/reports/monitoring/day=000${day.day}/report.html`);
      assert.equal(day.data, `/reports/monitoring/day=000${day.day}/report.json`);
    }
    assert.equal(list.days[0]?.drift, true, "the third day's tracks drift");

    const result = await json<{ day: number; digest: string; result: { retrain: unknown } }>(
      "/api/v1/reports/day/2",
    );
    assert.equal(result.day, 2);
    assert.match(result.digest, /^[0-9a-f]{64}$/);
    assert.ok(result.result.retrain);
    for (const [path, status] of [
      ["/api/v1/reports/day/0", 400],
      ["/api/v1/reports/day/x", 400],
      ["/api/v1/reports/day/7", 404],
      ["/api/v1/reports?limit=500", 400],
    ] as const) {
      const body = await json<{ field: string }>(path, status);
      assert.equal(body.field, path.includes("limit") ? "limit" : "day", path);
    }
  });

  it("lists the day folders when days.json is missing", async () => {
    const days = join(server.dir, "store", "reports", "monitoring", "days.json");
    await rename(days, `${days}.away`);
    try {
      const list = await json<{ days: ReportDayJson[] }>("/api/v1/reports");
      assert.deepEqual(
        list.days.map((d) => [d.day, d.driftShare]),
        [
          [3, null],
          [2, null],
          [1, null],
        ],
      );
      const page = await (await server.request("/reports")).text();
      assert.match(page, /href="\/reports\/monitoring\/day=0002\/report.html"/);
    } finally {
      await rename(`${days}.away`, days);
    }
  });

  it("serves the stored report files with their type, ETag and a strict policy", async () => {
    const page = await server.request("/reports/monitoring/day=0001/report.html");
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    const html = await page.text();
    assert.equal(
      html,
      new TextDecoder().decode(await server.store.get("reports/monitoring/day=0001/report.html")),
    );
    const policy = page.headers.get("content-security-policy") ?? "";
    assert.match(
      policy,
      /^default-src 'none'; style-src 'sha256-[^']+'; script-src 'sha256-[^']+';/,
    );
    assert.doesNotMatch(policy, /unsafe|https?:|\*/);
    assert.match(policy, /frame-ancestors 'self'/);

    const etag = page.headers.get("etag") as string;
    assert.match(etag, /^".+"$/);
    const again = await server.request("/reports/monitoring/day=0001/report.html", {
      headers: { "if-none-match": etag },
    });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), "");

    const data = await server.request("/reports/monitoring/day=0001/report.json");
    assert.equal(data.headers.get("content-type"), "application/json; charset=utf-8");
    assert.match(data.headers.get("content-security-policy") ?? "", /^default-src 'none'/);
    assert.equal(((await data.json()) as { day: number }).day, 1);

    const index = await server.request("/reports/monitoring/index.html");
    assert.equal(index.status, 200);
    assert.match(await index.text(), /day=0003\/report.html/);

    const missing = await server.request("/reports/monitoring/day=0009/report.html");
    assert.equal(missing.status, 404);
  });

  it("refuses paths that would leave reports/", async () => {
    const attempts = [
      "/reports/..%2Ftracking.db",
      "/reports/..%2f..%2ftracking.db",
      "/reports/%2e%2e/tracking.db",
      "/reports/%2e%2e%2ftracking.db",
      "/reports/../tracking.db",
      "/reports/monitoring/../../tracking.db",
      "/reports/monitoring/..%5C..%5Ctracking.db",
      "/reports/%5Ctracking.db",
      "/reports//tracking.db",
      "/reports/%2Fetc%2Fpasswd",
      "/reports/%00",
      "/reports/%E0%A4%A",
      "/reports/.incoming/x",
      "/reports/monitoring/%252e%252e/%252e%252e/tracking.db",
    ];
    for (const path of attempts) {
      const { status, body } = await rawGet(server.url, path, "latin1");
      assert.ok(status === 400 || status === 404, `${path}: ${status}`);
      assert.doesNotMatch(body, /SQLite format 3/, path);
    }
    const encoded = await rawGet(server.url, "/reports/..%2Ftracking.db", "latin1");
    assert.equal(encoded.status, 400);
    assert.match(encoded.body, /^path "..%2Ftracking.db": must not hold encoded slashes/);
  });

  it("opens a day's report from the list and draws it with its own style and script", {
    skip: noBrowser,
  }, async () => {
    await withBrowser(async (browser) => {
      const { page, watch } = await openWatchedPage(browser, server.url, { timeoutMs: 5000 });
      await page.goto(`${server.url}/reports`);
      assert.deepEqual(await page.locator("table tbody tr td:first-child").allTextContents(), [
        "Day 3",
        "Day 2",
        "Day 1",
      ]);
      assert.match((await page.locator("table tbody tr").first().textContent()) ?? "", /drift/);
      await screenshot(page, "reports");

      await page.getByRole("link", { name: "Day 3", exact: true }).click();
      await page.waitForURL(/\/reports\/monitoring\/day=0003\/report.html$/);
      assert.match((await page.locator("h1").textContent()) ?? "", /day 3/);
      assert.ok((await page.locator("svg").count()) > 0, "the charts are drawn");
      const fill = await page
        .locator("svg.spark.cur path")
        .first()
        .evaluate(
          (path) =>
            (
              globalThis as unknown as { getComputedStyle(e: unknown): { fill: string } }
            ).getComputedStyle(path).fill,
        );
      assert.equal(fill, "rgb(214, 39, 40)", "the report's own style applies");
      const sort = page.locator("button[data-sort]").first();
      await sort.click();
      assert.ok(await sort.getAttribute("data-dir"), "the report's own script sorts the table");
      await screenshot(page, "report");

      await page.getByRole("link", { name: "← all days" }).click();
      await page.waitForURL(/\/reports\/monitoring\/index.html$/);
      assert.equal(await page.locator("a[href='day=0001/report.html']").count(), 1);

      assert.deepEqual(watch.problems, []);
      assert.ok(watch.requests.every((u) => u.startsWith(server.url)));
    });
  });
});
