// The UI end to end in chromium, as a user with a token goes through it: the login form, every
// page of the navigation (no console error, nothing from another host, a screenshot each), then
// moving `champion` on the Models page and seeing the online API answer with the new version,
// and a track file uploaded on the Predict page. The sections' own tests go deeper.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
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

const TOKEN = "ui-test-token";
const SECTIONS = [
  ["Overview", "Overview"],
  ["Flow runs", "Flow runs"],
  ["Deployments", "Deployments"],
  ["Experiments", "Experiments"],
  ["Models", "Models"],
  ["Predictions", "Predictions"],
  ["Reports", "Reports"],
  ["Predict", "Predict"],
] as const;

describe("the web UI in chromium, logged in with a token", { skip: noBrowser }, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let seen: PageWatch;
  let scratch: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), "gc-ui-"));
    server = await startTestServer({
      token: TOKEN,
      configure: (config) => {
        config.server.predict.refreshSeconds = 0.5;
      },
    });
    const name = server.config.pipeline.registeredModel;
    await registerModel(server.tracking, name, await fitSmallModel(scratch, { seed: 1 }), scratch);
    await registerModel(
      server.tracking,
      name,
      await fitSmallModel(scratch, { seed: 2 }),
      scratch,
      "candidate",
    );
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    seen = watchPage(page, server.url);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it("asks for the token, refuses a wrong one, and logs in with the right one", async () => {
    await page.goto(`${server.url}/models`);
    assert.match(page.url(), /\/login\?next=%2Fmodels$/);
    await page.fill('input[name="token"]', "not-the-token");
    await page.click('button[type="submit"]');
    assert.match((await page.textContent("main")) ?? "", /not the server's token/);
    assert.deepEqual(seen.problems, [
      "console error: Failed to load resource: the server responded with a status of 401 (Unauthorized)",
    ]);
    seen.problems.length = 0;
    await page.fill('input[name="token"]', TOKEN);
    await page.click('button[type="submit"]');
    await page.waitForURL(`${server.url}/models`);
    assert.equal(await page.textContent("h1"), "Models");
  });

  it("opens every page from the navigation, cleanly, and takes its screenshot", async () => {
    await page.goto(`${server.url}/`);
    for (const [link, title] of SECTIONS) {
      await page.click(`header nav >> text="${link}"`);
      await page.waitForLoadState("load");
      assert.equal(await page.textContent("h1"), title, `${link} shows its title`);
      assert.equal(await page.getAttribute(`header nav >> text="${link}"`, "aria-current"), "page");
      await screenshot(page, `ui-${link.toLowerCase().replace(/ /g, "-")}`);
    }
    assert.deepEqual(seen.problems, []);
    assert.ok(seen.requests.every((url) => url.startsWith(server.url)));
  });

  it("moves champion to version 2 on the Models page, and the online API answers with version 2", async () => {
    const predict = async () => {
      const answer = await server.request("/api/v1/predict", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ tracks: [{ tempo: 120 }] }),
      });
      assert.equal(answer.status, 200);
      return ((await answer.json()) as { model: { version: string } }).model.version;
    };
    const deadline = Date.now() + 15_000;
    while ((await predict().catch(() => "")) !== "1" && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(await predict(), "1");

    await page.goto(`${server.url}/models/${server.config.pipeline.registeredModel}`);
    page.once("dialog", (dialog) => void dialog.accept());
    await page.click('button:has-text("Make champion")');
    await page.waitForLoadState("load");
    assert.match((await page.textContent("main")) ?? "", /champion/);
    const moved = Date.now();
    let version = await predict();
    while (version !== "2" && Date.now() - moved < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      version = await predict();
    }
    assert.equal(version, "2", "the online API serves the new champion within 10 s");
    await screenshot(page, "ui-models-moved");
    assert.deepEqual(seen.problems, []);
  });

  it("uploads a track file on the Predict page and shows its genres with the served version", async () => {
    const file = join(scratch, "TRUPLOAD0000000001.h5");
    await writeTrackFile(file, generateTrack(5, 3));
    await page.goto(`${server.url}/predict`);
    await page.setInputFiles('input[type="file"]', file);
    await page.click('form[enctype="multipart/form-data"] button[type="submit"]');
    await page.waitForLoadState("load");
    const text = await page.textContent("main");
    assert.match(text ?? "", /Genres:/);
    assert.match(text ?? "", /version 2/);
    await screenshot(page, "ui-predict-upload");
    assert.deepEqual(seen.problems, []);
  });
});
