// The Predict page in chromium against the whole serve application with a real champion:
// logged in with the token, a track file uploaded through the form shows its genres with
// probability bars, typed features show what was imputed, a non-numeric value shows the error
// naming the field and keeps what was typed, a phone-wide window does not scroll sideways, the
// console stays clean and nothing is fetched from another host.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Locator, Page } from "playwright-core";
import { generateTrack } from "../../src/msd/synth.ts";
import { writeTrackFile } from "../../src/msd/writer.ts";
import {
  launchBrowser,
  noBrowser,
  type PageWatch,
  screenshot,
  watchPage,
} from "../helpers/browser.ts";
import { fitSmallModel, registerModel } from "../helpers/genre-model.ts";
import { startTestServer, type TestServer } from "../helpers/serve.ts";

const SAMPLE = new URL("../../../shared/msd-sample/data", import.meta.url).pathname;
const TOKEN = "page-token";

/** The text of an element, spaces as the DOM holds them. */
async function text(locator: Locator): Promise<string> {
  return ((await locator.textContent()) ?? "").replace(/\s+/g, " ").trim();
}

/** A real subset file when the sample is there, else a synthetic track written here. */
async function trackFile(dir: string): Promise<string> {
  if (existsSync(SAMPLE)) {
    const entries = await readdir(SAMPLE, { recursive: true, withFileTypes: true });
    const files = entries.filter((e) => e.isFile() && e.name.endsWith(".h5"));
    const first = files.sort((a, b) => a.name.localeCompare(b.name))[0];
    if (first) return join(first.parentPath, first.name);
  }
  const path = join(dir, "TRSYNTHETIC00000001.h5");
  await writeTrackFile(path, generateTrack(5, 3));
  return path;
}

describe("Predict page", { skip: noBrowser }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let watch: PageWatch;
  let file: string;

  before(async () => {
    server = await startTestServer({ token: TOKEN });
    const model = await fitSmallModel(server.dir, { seed: 3, trees: 4 });
    await registerModel(server.tracking, server.config.pipeline.registeredModel, model, server.dir);
    await server.onlineModel.refresh();
    file = await trackFile(server.dir);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    watch = watchPage(page, server.url);
    await page.goto(`${server.url}/predict`);
    await page.fill('input[name="token"]', TOKEN);
    await Promise.all([
      page.waitForURL(`${server.url}/predict`),
      page.click('button[type="submit"]'),
    ]);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it("shows the served model and uploads a track file to see its genres", async () => {
    assert.match(await text(page.locator("main")), /version 1 \(alias champion\)/);
    await page.setInputFiles('input[name="file"]', file);
    await Promise.all([
      page.waitForLoadState("load"),
      page.locator('form[enctype="multipart/form-data"] button').click(),
    ]);
    const result = page.locator("article.prediction");
    await result.waitFor();
    assert.equal(await result.count(), 1);
    assert.match(await text(result.locator("h3")), / — /);
    const trackId = file.split("/").at(-1)?.replace(/\.h5$/, "") as string;
    assert.match(await text(result), new RegExp(trackId));
    const bars = result.locator(".bar");
    assert.ok((await bars.count()) >= 1);
    const width = await bars.first().evaluate((bar) => bar.getBoundingClientRect().width);
    assert.ok(width > 0);
    const genres = await result.locator(".badge.genre").allInnerTexts();
    const shown = await text(result);
    for (const genre of genres) assert.ok(shown.includes(genre));
    await screenshot(page, "predict");
  });

  it("predicts typed features, listing the imputed ones, and names a non-numeric field", async () => {
    await page.goto(`${server.url}/predict`);
    const form = page.locator('form:not([enctype="multipart/form-data"]):has(input[name="tempo"])');
    await form.locator('input[name="tempo"]').fill("fast");
    await form.locator('input[name="loudness"]').fill("-7.5");
    await Promise.all([page.waitForLoadState("load"), form.locator("button").click()]);
    assert.equal(await text(page.locator(".alert.bad")), 'tempo: expected a number, got "fast"');
    assert.equal(await page.locator('input[name="loudness"]').inputValue(), "-7.5");
    await page.locator('input[name="tempo"]').fill("128");
    await Promise.all([
      page.waitForLoadState("load"),
      page.locator('form:has(input[name="tempo"]) button').click(),
    ]);
    const result = page.locator("article.prediction");
    await result.waitFor();
    const imputed = await text(result.locator("p.muted").last());
    assert.match(imputed, /^Imputed as in training \(\d+\): /);
    assert.doesNotMatch(imputed, /\btempo\b|\bloudness\b/);
    assert.match(imputed, /\bduration\b/);
  });

  it("fits a phone's width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}/predict`);
    const overflow = await page.evaluate(() => {
      const root = (
        globalThis as unknown as {
          document: { documentElement: { scrollWidth: number; clientWidth: number } };
        }
      ).document.documentElement;
      return root.scrollWidth - root.clientWidth;
    });
    assert.ok(overflow <= 0, `${overflow} px wider than the window`);
    await screenshot(page, "predict-phone");
  });

  it("left the console clean and asked no other host", () => {
    assert.deepEqual(watch.problems, []);
  });
});
