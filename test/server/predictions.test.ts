// The predictions pages and API over a data folder the flows made (three predicted days of 60
// tracks with their labels): the days with their lineage, a day's rows page by page checked
// against the stored tables, the labels beside them or absent, a track found by id across days,
// every kind of bad input refused naming its field, and the pages driven in chromium.
import assert from "node:assert/strict";
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readTable } from "../../src/features/table.ts";
import { createServerApp } from "../../src/server/app.tsx";
import { listen, type RunningHttpServer } from "../../src/server/http.ts";
import { S3ObjectStore } from "../../src/storage/s3.ts";
import { noBrowser, openWatchedPage, screenshot, withBrowser } from "../helpers/browser.ts";
import { type DailyData, startServerWithDailyData } from "../helpers/daily-data.ts";
import { startLocalS3 } from "../helpers/s3-server.ts";
import type { TestServer } from "../helpers/serve.ts";

interface DayJson {
  day: number;
  tracks: number;
  model: { name: string; version: string; runId: string };
  alias: string;
  predictedAt: string;
}
interface RowJson {
  row: number;
  trackId: string;
  genres: string[];
  trueGenres: string[] | null;
  probabilities: Record<string, number>;
}
interface DayPageJson extends DayJson {
  total: number;
  offset: number;
  limit: number;
  genres: string[];
  labelled: boolean;
  rows: RowJson[];
}
interface SearchJson {
  trackId: string;
  searchedDays: number;
  totalDays: number;
  complete: boolean;
  matches: (RowJson & { day: number; model: DayJson["model"] })[];
}

const BATCH = 60;

describe("predictions", () => {
  let data: DailyData;
  let server: TestServer;
  const stored = (day: number, file: string) =>
    join(server.dir, "store", `${file}/day=${String(day).padStart(4, "0")}`);

  async function json<T>(path: string, status = 200): Promise<T> {
    const answer = await server.request(path);
    const body = (await answer.json()) as T;
    assert.equal(answer.status, status, `${path}: ${JSON.stringify(body)}`);
    return body;
  }

  before(async () => {
    data = await startServerWithDailyData({ tracks: 400, batchSize: BATCH });
    server = data.server;
  });
  after(async () => {
    await server?.close();
  });

  it("lists the predicted days newest first with the model that tagged them", async () => {
    const list = await json<{ total: number; days: (DayJson & { href: string })[] }>(
      "/api/v1/predictions",
    );
    assert.equal(list.total, 3);
    assert.deepEqual(
      list.days.map((d) => [d.day, d.tracks, d.model.name, d.model.version, d.alias]),
      [
        [3, BATCH, "genre-classifier", "1", "champion"],
        [2, BATCH, "genre-classifier", "1", "champion"],
        [1, BATCH, "genre-classifier", "1", "champion"],
      ],
    );
    assert.match(list.days[0]?.model.runId ?? "", /^[0-9a-f]{32}$/);
    assert.ok(!Number.isNaN(Date.parse(list.days[0]?.predictedAt ?? "")));
    assert.equal(list.days[2]?.href, "/api/v1/predictions/day/1");
    const second = await json<{ days: DayJson[] }>("/api/v1/predictions?offset=1&limit=1");
    assert.deepEqual(
      second.days.map((d) => d.day),
      [2],
    );
  });

  it("gives a day's rows by offset and limit, as the stored tables hold them", async () => {
    const page = await json<DayPageJson>("/api/v1/predictions/day/2?offset=10&limit=15");
    assert.equal(page.total, BATCH);
    assert.equal(page.offset, 10);
    assert.equal(page.labelled, true);
    assert.equal(page.rows.length, 15);
    const predictions = await readTable(join(stored(2, "predictions"), "predictions.parquet"));
    const labels = await readTable(join(stored(2, "daily"), "labels.parquet"));
    page.rows.forEach((row, i) => {
      const expected = predictions.rows[10 + i] as Record<string, unknown>;
      assert.equal(row.row, 10 + i);
      assert.equal(row.trackId, expected.track_id);
      assert.deepEqual(row.genres, expected.genres);
      assert.deepEqual(row.trueGenres, labels.rows[10 + i]?.genres);
      for (const genre of page.genres)
        assert.equal(row.probabilities[genre], expected[`p_${genre}`], genre);
    });
    assert.deepEqual(
      page.genres,
      predictions.columns.filter((c) => c.startsWith("p_")).map((c) => c.slice(2)),
    );

    const tail = await json<DayPageJson>("/api/v1/predictions/day/2?offset=55&limit=100");
    assert.deepEqual(
      tail.rows.map((r) => r.row),
      [55, 56, 57, 58, 59],
    );
    const beyond = await json<DayPageJson>("/api/v1/predictions/day/2?offset=500");
    assert.equal(beyond.rows.length, 0);
    assert.equal(beyond.total, BATCH);
  });

  it("shows no true genres for a day whose labels have not arrived", async () => {
    const labels = join(stored(3, "daily"), "labels.parquet");
    await rename(labels, `${labels}.away`);
    try {
      const page = await json<DayPageJson>("/api/v1/predictions/day/3?limit=5");
      assert.equal(page.labelled, false);
      assert.deepEqual(
        page.rows.map((r) => r.trueGenres),
        [null, null, null, null, null],
      );
      const html = await (await server.request("/predictions/day/3")).text();
      assert.match(html, /not yet/);
      assert.doesNotMatch(html, /True genres/);
    } finally {
      await rename(`${labels}.away`, labels);
    }
  });

  it("finds a track by id across days, and answers an unknown one with no match", async () => {
    const predictions = await readTable(join(stored(2, "predictions"), "predictions.parquet"));
    const wanted = predictions.rows[42]?.track_id as string;
    const found = await json<SearchJson>(`/api/v1/predictions/search?track_id=${wanted}`);
    assert.equal(found.complete, true);
    assert.equal(found.searchedDays, 3);
    assert.deepEqual(
      found.matches.map((m) => [m.day, m.row, m.trackId, m.model.version]),
      [[2, 42, wanted, "1"]],
    );
    assert.deepEqual(found.matches[0]?.genres, predictions.rows[42]?.genres);
    assert.ok(Array.isArray(found.matches[0]?.trueGenres));

    const none = await json<SearchJson>("/api/v1/predictions/search?track_id=TRZZZZZ12903ZZZZZZ");
    assert.deepEqual(none.matches, []);
    assert.equal(none.complete, true);
  });

  it("refuses bad days, pages and track ids with a JSON error naming the field", async () => {
    const refusals: [string, number, string][] = [
      ["/api/v1/predictions/day/0", 400, "day"],
      ["/api/v1/predictions/day/abc", 400, "day"],
      ["/api/v1/predictions/day/1e3", 400, "day"],
      ["/api/v1/predictions/day/-1", 400, "day"],
      ["/api/v1/predictions/day/99999999", 400, "day"],
      ["/api/v1/predictions/day/9", 404, "day"],
      ["/api/v1/predictions/day/1?limit=0", 400, "limit"],
      ["/api/v1/predictions/day/1?limit=101", 400, "limit"],
      ["/api/v1/predictions/day/1?offset=-1", 400, "offset"],
      ["/api/v1/predictions/day/1?offset=1.5", 400, "offset"],
      ["/api/v1/predictions?limit=x", 400, "limit"],
      ["/api/v1/predictions/search", 400, "track_id"],
      ["/api/v1/predictions/search?track_id=TRabc", 400, "track_id"],
      ["/api/v1/predictions/search?track_id=traaaaw128f429d538", 400, "track_id"],
      ["/api/v1/predictions/search?track_id=TRAAAAW128F429D5389", 400, "track_id"],
      [`/api/v1/predictions/search?track_id=${"TR".repeat(5000)}`, 400, "track_id"],
      ["/api/v1/predictions/search?track_id=%3Cscript%3E", 400, "track_id"],
    ];
    for (const [path, status, field] of refusals) {
      const body = await json<{ error: string; field: string }>(path, status);
      assert.equal(body.field, field, path);
      assert.match(body.error, new RegExp(`^${field} `), path);
    }
  });

  it("answers bad input on the pages with a message, escaped", async () => {
    const day = await server.request("/predictions/day/nope");
    assert.equal(day.status, 400);
    assert.match(await day.text(), /day &quot;nope&quot;: expected a whole number/);
    const missing = await server.request("/predictions/day/12");
    assert.equal(missing.status, 404);
    const search = await server.request(
      `/predictions/search?track_id=${encodeURIComponent("<script>alert(1)</script>")}`,
    );
    assert.equal(search.status, 400);
    const html = await search.text();
    assert.doesNotMatch(html, /<script>alert/);
    assert.match(html, /&lt;script&gt;alert/);
    assert.match(html, /expected an MSD track id/);
  });

  it("answers the same from an S3 store, reading tables and report files by ranges", async () => {
    const s3 = await startLocalS3();
    const store = new S3ObjectStore(s3.bucket, "served", s3.settings);
    let remote: RunningHttpServer | undefined;
    try {
      for (const prefix of ["predictions/", "daily/", "datasets/split/manifest.json", "reports/"])
        for await (const object of server.store.listAll(prefix))
          await store.put(object.key, await server.store.get(object.key));
      remote = await listen({
        app: createServerApp({ ...server, store }),
        host: "127.0.0.1",
        port: 0,
        what: "serve",
        log: server.log,
      });
      for (const path of [
        "/api/v1/predictions",
        "/api/v1/predictions/day/1?offset=20&limit=30",
        "/api/v1/predictions/day/3?offset=59",
        `/api/v1/predictions/search?track_id=${(await json<DayPageJson>("/api/v1/predictions/day/3?offset=59")).rows[0]?.trackId}`,
        "/api/v1/reports",
      ]) {
        const local = await (await server.request(path)).text();
        const answer = await fetch(`${remote.url}${path}`);
        assert.equal(answer.status, 200, path);
        assert.equal(
          (await answer.text()).replace(/"key":"[^"]*"/g, ""),
          local.replace(/"key":"[^"]*"/g, ""),
          path,
        );
      }
      const page = await fetch(`${remote.url}/reports/monitoring/day=0002/report.html`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-security-policy") ?? "", /^default-src 'none'/);
      assert.equal(
        await page.text(),
        new TextDecoder().decode(await server.store.get("reports/monitoring/day=0002/report.html")),
      );
      const data = await fetch(`${remote.url}/reports/monitoring/day=0002/report.json`);
      assert.equal(((await data.json()) as { day: number }).day, 2);
      const revalidated = await fetch(`${remote.url}/reports/monitoring/day=0002/report.json`, {
        headers: { "if-none-match": data.headers.get("etag") ?? "" },
      });
      assert.equal(revalidated.status, 304);
    } finally {
      await remote?.close();
      await store.close();
      await s3.stop();
    }
  });

  it("lists days, shows a day with its labels and finds a track in the browser", {
    skip: noBrowser,
  }, async () => {
    await withBrowser(async (browser) => {
      const { page, watch } = await openWatchedPage(browser, server.url, { timeoutMs: 5000 });
      await page.goto(`${server.url}/predictions`);
      assert.deepEqual(await page.locator("table tbody tr td:first-child").allTextContents(), [
        "Day 3",
        "Day 2",
        "Day 1",
      ]);
      assert.equal(
        await page.locator("table tbody tr").nth(0).locator("td").nth(2).textContent(),
        "genre-classifier version 1",
      );
      await screenshot(page, "predictions");

      await page.getByRole("link", { name: "Day 2" }).click();
      await page.waitForURL(/\/predictions\/day\/2$/);
      assert.equal(await page.locator("h1").textContent(), "Day 2");
      assert.equal(await page.locator("table tbody tr").count(), 50);
      assert.ok(await page.getByRole("columnheader", { name: "True genres" }).isVisible());
      assert.ok((await page.locator("td .bar").count()) >= 50);
      assert.match((await page.locator("nav.pager").textContent()) ?? "", /1–50 of 60/);
      await screenshot(page, "prediction-day");
      await page.getByRole("link", { name: "Next →" }).click();
      await page.waitForURL(/offset=50/);
      assert.equal(await page.locator("table tbody tr").count(), 10);

      const predictions = await readTable(join(stored(1, "predictions"), "predictions.parquet"));
      const wanted = predictions.rows[7]?.track_id as string;
      await page.getByRole("link", { name: "Predictions", exact: true }).first().click();
      await page.waitForURL(/\/predictions$/);
      await page.getByLabel("Track id").fill(wanted);
      await page.getByRole("button", { name: "Search" }).click();
      await page.waitForURL(/\/predictions\/search\?track_id=/);
      const link = page.getByRole("link", { name: "Day 1, #8" });
      assert.ok(await link.isVisible());
      await link.click();
      await page.waitForURL(/\/predictions\/day\/1\?offset=0#row-8$/);
      assert.match((await page.locator("#row-8").textContent()) ?? "", new RegExp(wanted));

      assert.deepEqual(watch.problems, []);
    });
  });
});
