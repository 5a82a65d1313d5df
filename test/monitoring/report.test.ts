// The HTML report and index: size for a day of 100 tracks × 80 columns, escaping of hostile
// strings, non-finite numbers kept out of the drawing, relative links only, and in Debian's
// chromium (through playwright-core) opened from files: no request leaves the page, no console
// error, every column's charts drawn, sorting, no horizontal overflow on a phone; screenshots
// in the test's output folder.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import type { Browser, Page } from "playwright-core";
import { InputError } from "../../src/common/errors.ts";
import { renderDayReport, renderIndex } from "../../src/monitoring/report.ts";
import type { ColumnDrift, MonitoringReport } from "../../src/monitoring/types.ts";
import { GENRES, HOSTILE_NAMES, sampleDays, sampleReport } from "./report-sample.ts";

const KB = 1024;

/** Every value of `attribute` in document order. */
function attributeValues(html: string, element: string, attribute: string): string[] {
  const pattern = new RegExp(`<${element}\\b[^>]*?\\s${attribute}="([^"]*)"`, "g");
  return [...html.matchAll(pattern)].map((m) => m[1] as string);
}

function decodeEntities(text: string): string {
  return text
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&amp;", "&");
}

/** A report whose chart data holds every kind of bad number and shape. */
function hostileChartsReport(): MonitoringReport {
  const report = sampleReport();
  const base = report.drift.columns[0] as ColumnDrift;
  const variants: Partial<ColumnDrift>[] = [
    {
      charts: {
        sparkline: {
          reference: { edges: [Number.NaN, 1, Number.POSITIVE_INFINITY], counts: [3, 4] },
          current: { edges: [0, 1], counts: [Number.NaN] },
        },
        distribution: {
          reference: { edges: [3, 2, 1], counts: [5, 5] },
          current: { edges: [0, 1, 2], counts: [Number.POSITIVE_INFINITY, -4] },
        },
        order: {
          buckets: [
            { start: 0, end: 1, mean: Number.NaN, std: 1 },
            { start: 1, end: 2, mean: 3, std: Number.POSITIVE_INFINITY },
            { start: Number.NEGATIVE_INFINITY, end: 3, mean: 1, std: 1 },
          ],
          referenceMean: Number.NaN,
          referenceStd: Number.NaN,
        },
      },
      score: Number.NaN,
      statistic: Number.NEGATIVE_INFINITY,
    },
    {
      charts: {
        sparkline: { reference: [], current: { edges: [], counts: [] } },
        distribution: { reference: [], current: [] },
        order: { buckets: [], referenceMean: Number.NaN, referenceStd: 0 },
      },
    },
    {
      // One row on each side, and counts too large to add up.
      charts: {
        sparkline: {
          reference: { edges: [5, 5], counts: [1] },
          current: [
            { value: "x", count: 1e308 },
            { value: "y", count: 1e308 },
          ],
        },
        distribution: {
          reference: { edges: [5, 5], counts: [1] },
          current: { edges: [1e300, 1e301, 1e302], counts: [1e308, 1e308] },
        },
        order: {
          buckets: [{ start: 0, end: 1, mean: 5, std: 0 }],
          referenceMean: 5,
          referenceStd: 0,
        },
      },
    },
  ];
  report.drift.columns = variants.map((v, i) => ({ ...base, ...v, column: `hostile ${i}` }));
  return report;
}

describe("monitoring report page", () => {
  it("keeps a day of 100 tracks and 80 columns under 300 KB, with or without spread bands", (t) => {
    for (const rowsPerBucket of [1, 2]) {
      const report = sampleReport(rowsPerBucket);
      const columns = report.drift.columns.length + report.drift.excluded.length;
      assert.equal(columns, 80);
      const started = performance.now();
      const html = renderDayReport(report, { indexHref: "../index.html" });
      const took = performance.now() - started;
      const size = Buffer.byteLength(html);
      t.diagnostic(
        `${rowsPerBucket} row(s) per bucket: ${(size / KB).toFixed(1)} KB in ${took.toFixed(0)} ms`,
      );
      assert.ok(size < 300 * KB, `${size} bytes`);
    }
  });

  it("shows Evidently's summary and one row per column in the order given, scores with 6 decimals", () => {
    const report = sampleReport();
    const html = renderDayReport(report);
    const { dataset } = report.drift;
    assert.ok(dataset.drift, "the sample's dataset drifts");
    assert.match(html, /Dataset Drift is detected\./);
    assert.match(html, /Prediction Drift is NOT detected\./);
    assert.ok(html.includes(`<b>${dataset.columns}</b>Columns`));
    assert.ok(html.includes(`<b>${dataset.drifted}</b>Drifted Columns`));
    assert.ok(html.includes(`<b>${dataset.share.toFixed(3)}</b>Share of Drifted Columns`));

    const rowNames = attributeValues(html, "(?:details|div)", "data-column").map(decodeEntities);
    const expected = [
      ...report.drift.columns.map((c) => c.column),
      ...report.drift.excluded.map((c) => c.column),
      ...(report.predictionDrift?.columns ?? []).map((c) => c.column),
    ];
    assert.deepEqual(rowNames, expected);

    const scores = [...html.matchAll(/<span class="num">([^<]*)<\/span><\/summary>/g)].map(
      (m) => m[1],
    );
    const tested = [...report.drift.columns, ...(report.predictionDrift?.columns ?? [])];
    assert.deepEqual(
      scores,
      tested.map((c) => (c.score === null ? "—" : c.score.toFixed(6))),
    );
    assert.match(html, /untestable: no finite value in the current data/);
    assert.match(html, /<text x="\d+" y="\d+" class="end">\+ \d+ others<\/text>/);
    assert.match(html, /excluded: drifts by construction/);
    assert.match(html, /Retraining was triggered/);
    assert.ok(html.includes("Jaccard 0.318 &lt; floor 0.338"));
    assert.match(html, /Day 3 · model genre-classifier version 4 \(run 8f1c2d3e4b5a\)/);
  });

  it("escapes every string from data: column and genre names, sources, reasons, title", () => {
    const report = sampleReport();
    report.title = "<script>alert('title')</script>";
    report.current.source = '"><img src=x onerror=alert(2)>';
    report.model = { name: "<i>model</i>", version: "1&2" };
    (report.retrain as { reasons: string[] }).reasons.push("</li><script>alert(3)</script>");
    const html = renderDayReport(report);
    assert.equal((html.match(/<script/g) ?? []).length, 1, "only the page's own script");
    assert.doesNotMatch(html, /<img|<i>|<b>bold/);
    for (const name of [...HOSTILE_NAMES, ...GENRES, report.title, report.current.source]) {
      const escaped = name
        .replaceAll("&", "&amp;")
        .replaceAll("<", "&lt;")
        .replaceAll(">", "&gt;")
        .replaceAll('"', "&quot;")
        .replaceAll("'", "&#39;");
      assert.ok(html.includes(escaped), `escaped ${name}`);
    }
    assert.ok(html.includes("model &lt;i&gt;model&lt;/i&gt; version 1&amp;2"));
  });

  it("allows only its own inline style and script, by hash, and names no outside address", () => {
    const html = renderDayReport(sampleReport());
    const policy = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html)?.[1] ?? "";
    assert.match(policy, /default-src 'none'/);
    const hash = (text: string) => createHash("sha256").update(text).digest("base64");
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] as string;
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] as string;
    assert.ok(policy.includes(`style-src 'sha256-${hash(style)}'`));
    assert.ok(policy.includes(`script-src 'sha256-${hash(script)}'`));
    assert.doesNotMatch(html, /(?:src|href)="[a-z][a-z0-9+.-]*:|url\(|@import|\sstyle="/i);
    assert.match(html, /<meta name="viewport" content="width=device-width,initial-scale=1">/);
  });

  it("never writes a non-finite number into a chart's attributes", () => {
    const html = renderDayReport(hostileChartsReport());
    const attributes = [...html.matchAll(/\s(?:d|x|y|width|height|cx|cy|viewBox)="([^"]*)"/g)];
    assert.ok(attributes.length > 10);
    for (const [whole, value] of attributes) {
      assert.doesNotMatch(value as string, /NaN|Infinity|e[+-]/, whole);
    }
    assert.match(html, /no values to draw/);
    assert.match(html, /<span class="num">NaN<\/span>/);
  });

  it("renders a day without columns, quality or model", () => {
    const html = renderDayReport({
      title: "Empty",
      createdAt: "2026-01-01T00:00:00Z",
      reference: { rows: 0, source: "a.csv" },
      current: { rows: 0, source: "b.csv" },
      drift: {
        dataset: { drift: false, share: 0, drifted: 0, columns: 0, threshold: 0.5 },
        columns: [],
        excluded: [],
      },
    });
    assert.match(html, /Dataset Drift is NOT detected/);
    assert.match(html, /Drift is detected for 0 out of 0 columns/);
    assert.doesNotMatch(html, /id="quality"|id="prediction-drift"|id="retrain"/);
  });
});

describe("monitoring index page", () => {
  it("links every day relatively, newest first, with the timeline", () => {
    const days = sampleDays();
    const html = renderIndex(days, { title: "Monitoring <index>" });
    const links = attributeValues(html, "a", "href");
    assert.deepEqual(
      links,
      [...days].reverse().map((d) => d.href),
    );
    assert.match(html, /<h1>Monitoring &lt;index&gt;<\/h1>/);
    assert.equal((html.match(/<path class="retrain"/g) ?? []).length, 1);
    assert.equal((html.match(/<circle class="cur"/g) ?? []).length, 2, "two drifted days");
    assert.match(html, /threshold 0\.5/);
  });

  it("refuses a link that is not relative, naming the day", () => {
    for (const href of [
      "https://example.org/r.html",
      "javascript:alert(1)",
      "/abs/report.html",
      "//host/x",
      "",
    ]) {
      const days = sampleDays();
      (days[2] as { href: string }).href = href;
      assert.throws(
        () => renderIndex(days, { title: "t" }),
        (e: unknown) =>
          e instanceof InputError && /day 3: href .* must be a relative path/.test(e.message),
        href,
      );
    }
  });

  it("renders no day, one day, and a day with non-finite figures", () => {
    assert.match(renderIndex([], { title: "t" }), /No day has been monitored yet/);
    const [one] = sampleDays();
    assert.match(renderIndex([one as never], { title: "t" }), /1 day monitored/);
    const odd = { ...(one as object), driftShare: Number.NaN, jaccard: Number.POSITIVE_INFINITY };
    const html = renderIndex([odd as never], { title: "t" });
    for (const [, value] of html.matchAll(/\s(?:d|cx|cy)="([^"]*)"/g)) {
      assert.doesNotMatch(value as string, /NaN|Infinity/);
    }
  });
});

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const noBrowser = existsSync(CHROMIUM) ? false : `no chromium at ${CHROMIUM}`;

interface PageWatch {
  requests: string[];
  problems: string[];
}

function watch(page: Page): PageWatch {
  const seen: PageWatch = { requests: [], problems: [] };
  page.on("request", (request) => seen.requests.push(request.url()));
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      seen.problems.push(`${message.type()}: ${message.text()}`);
    }
  });
  page.on("pageerror", (error) => seen.problems.push(`page error: ${error.message}`));
  return seen;
}

interface MeasuredCharts {
  column: string;
  sparkReference: number;
  sparkCurrent: number;
  distributionReference: number;
  distributionCurrent: number;
  orderMean: number;
  orderBand: number;
  svgs: number;
}

// Scripts run in the pages, as source text: tsx's transform would add helpers the page lacks.
const OPEN_ALL_ROWS =
  'for (const details of document.querySelectorAll("details")) details.open = true';

/**
 * Per column row, the drawn area of its marks and the length of its order chart's mean line.
 */
const MEASURE_CHARTS = `[...document.querySelectorAll("details.col")].map((row) => {
  const area = (selector) => [...row.querySelectorAll(selector)]
    .map((element) => element.getBBox())
    .reduce((total, box) => total + box.width * box.height, 0);
  const mean = row.querySelector("svg.order path.cur.mean");
  return {
    column: row.dataset.column,
    sparkReference: area("svg.spark.ref path"),
    sparkCurrent: area("svg.spark.cur path"),
    distributionReference: area("svg.dist path.ref"),
    distributionCurrent: area("svg.dist path.cur"),
    orderMean: mean ? mean.getTotalLength() : 0,
    orderBand: area("svg.order path.cur.band"),
    svgs: row.querySelectorAll("svg").length,
  };
})`;

describe("monitoring pages in chromium, opened from files", { skip: noBrowser }, () => {
  let browser: Browser;
  let folder: string;
  let reportUrl: string;
  let indexUrl: string;
  const report = sampleReport(2);

  before(async () => {
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM });
    folder = await mkdtemp(join(tmpdir(), "gc-monitoring-report-"));
    await mkdir(join(folder, "day=0003"));
    const reportPath = join(folder, "day=0003", "report.html");
    await writeFile(reportPath, renderDayReport(report, { indexHref: "../index.html" }));
    await writeFile(join(folder, "index.html"), renderIndex(sampleDays(), { title: "Monitoring" }));
    reportUrl = pathToFileURL(reportPath).href;
    indexUrl = pathToFileURL(join(folder, "index.html")).href;
  });

  after(async () => {
    await browser?.close();
  });

  it("opens the index, follows a day's link to its report, and nothing leaves the files", async (t) => {
    t.diagnostic(`pages and screenshots: ${folder}`);
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const seen = watch(page);
    await page.goto(indexUrl);
    await page.screenshot({ path: join(folder, "index.png"), fullPage: true });
    await page.click('a[href="day=0003/report.html"]');
    await page.waitForURL(reportUrl);
    assert.equal(await page.title(), "Genre monitoring · day 3");
    await page.click('a[href="../index.html"]');
    await page.waitForURL(indexUrl);
    assert.deepEqual(seen.requests, [indexUrl, reportUrl, indexUrl]);
    assert.deepEqual(seen.problems, []);
    await page.close();
  });

  it("draws every column's sparklines, distributions and order chart", async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const seen = watch(page);
    await page.goto(reportUrl);
    await page.evaluate(OPEN_ALL_ROWS);
    const drawn = (await page.evaluate(MEASURE_CHARTS)) as MeasuredCharts[];
    const columns = [...report.drift.columns, ...(report.predictionDrift?.columns ?? [])];
    assert.equal(drawn.length, columns.length);
    drawn.forEach((chart, i) => {
      const column = columns[i] as ColumnDrift;
      assert.equal(chart.column, column.column);
      const what = `${column.column}: ${JSON.stringify(chart)}`;
      const hasCurrent = column.currentRows > 0;
      assert.equal(chart.svgs, column.charts?.order ? 4 : 3, what);
      assert.ok(chart.sparkReference > 0, what);
      assert.equal(chart.sparkCurrent > 0, hasCurrent, what);
      assert.ok(chart.distributionReference > 0, what);
      assert.equal(chart.distributionCurrent > 0, hasCurrent, what);
      if (column.charts?.order) {
        assert.ok(chart.orderMean > 100, what);
        assert.ok(chart.orderBand > 0, what);
      }
    });
    assert.deepEqual(seen.problems, []);
    await page.close();
  });

  it("sorts the drift table by score, up then down, untested columns last", async () => {
    const page = await browser.newPage();
    await page.goto(reportUrl);
    const scores = () =>
      page.evaluate(
        '[...document.querySelectorAll("#data-drift .rows > *")].map((row) => row.dataset.score)',
      ) as Promise<string[]>;
    const button = page.locator('#data-drift button[data-sort="score"]');
    await button.click();
    const up = await scores();
    const tested = up.filter((s) => s !== "").map(Number);
    assert.equal(tested.length, report.drift.columns.filter((c) => c.test !== null).length);
    assert.deepEqual(
      tested,
      [...tested].sort((a, b) => a - b),
    );
    assert.deepEqual(up.slice(tested.length), ["", ""]);
    await button.click();
    const down = (await scores()).filter((s) => s !== "").map(Number);
    assert.deepEqual(down, [...tested].reverse());
    await page.close();
  });

  it("fits a phone's width, every row open, and takes the screenshots", async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    for (const url of [reportUrl, indexUrl]) {
      await phone.goto(url);
      await phone.evaluate(OPEN_ALL_ROWS);
      const width = (await phone.evaluate("document.documentElement.scrollWidth")) as number;
      assert.ok(width <= 390, `${url}: ${width}px wide`);
    }
    await phone.goto(reportUrl);
    await phone.screenshot({ path: join(folder, "report-phone.png") });
    await phone.close();

    const desktop = await browser.newPage({ viewport: { width: 1100, height: 820 } });
    await desktop.goto(reportUrl);
    await desktop.evaluate('document.querySelector("details.col").open = true');
    await desktop.screenshot({ path: join(folder, "report.png") });
    await desktop.close();
  });

  it("keeps a phone's and a desktop's width with long unbroken strings in every text", async () => {
    const long = (what: string) => `${what}_${"w".repeat(240)}`;
    const report = sampleReport();
    report.title = long("title");
    report.reference.source = long("reference");
    report.current.source = long("current");
    report.model = { name: long("model"), version: long("version"), runId: long("run") };
    report.createdAt = long("created");
    (report.retrain as { reasons: string[] }).reasons.push(long("reason"));
    for (const genre of report.quality?.genres ?? []) genre.genre = long(genre.genre);
    for (const column of report.drift.columns.slice(0, 5)) column.column = long(column.column);
    report.drift.excluded = [{ column: long("excluded"), reason: long("because") }];
    const days = sampleDays().map((d) => ({
      ...d,
      modelVersion: long("v"),
      createdAt: long("at"),
    }));
    await writeFile(join(folder, "long.html"), renderDayReport(report));
    await writeFile(join(folder, "long-index.html"), renderIndex(days, { title: long("index") }));
    for (const [width, height] of [
      [390, 844],
      [1100, 820],
    ] as const) {
      const page = await browser.newPage({ viewport: { width, height }, isMobile: width < 600 });
      for (const file of ["long.html", "long-index.html"]) {
        await page.goto(pathToFileURL(join(folder, file)).href);
        await page.evaluate(OPEN_ALL_ROWS);
        const scrolled = (await page.evaluate("document.documentElement.scrollWidth")) as number;
        assert.ok(scrolled <= width, `${file} in ${width}px: ${scrolled}px wide`);
      }
      await page.close();
    }
  });

  it("opens a report with broken chart data without a console error", async () => {
    const path = join(folder, "hostile.html");
    await writeFile(path, renderDayReport(hostileChartsReport()));
    const page = await browser.newPage();
    const seen = watch(page);
    await page.goto(pathToFileURL(path).href);
    await page.evaluate(OPEN_ALL_ROWS);
    await page.screenshot({ path: join(folder, "hostile.png") });
    assert.deepEqual(seen.problems, []);
    assert.deepEqual(seen.requests, [pathToFileURL(path).href]);
    await page.close();
  });
});
