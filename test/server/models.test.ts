// The models pages and /api/v1/models over a registered model with two versions logged through
// the tracking client: versions with their source runs, gate decisions and aliases; moving an
// alias through the JSON API (bad versions and bodies named) and through the confirmed form;
// and in chromium, moving `champion` with the confirmation accepted (and not when dismissed).
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { logIn, noBrowser, screenshot, suiteBrowser, watchPage } from "../helpers/browser.ts";
import { startTestServer, type TestServer } from "../helpers/serve.ts";

const MODEL = "genre-forest";
const HOSTILE_MODEL = "<script>alert(1)</script>";

interface ModelAnswer {
  name: string;
  aliases: Record<string, string>;
  versions: {
    version: string;
    aliases: string[];
    runId: string;
    runName: string;
    gate: { decision?: string; reason?: string };
  }[];
}

describe("models pages and API", () => {
  let server: TestServer;
  const runIds: string[] = [];

  before(async () => {
    server = await startTestServer({ token: "models-token" });
    const tracking = server.tracking;
    const experimentId = await tracking.createExperiment("training");
    for (const [index, jaccard] of [0.41, 0.47].entries()) {
      const run = await tracking.startRun(experimentId, { runName: `train-${index + 1}` });
      const runId = run.info.runId;
      runIds.push(runId);
      await tracking.logArtifactBytes(runId, "model/model.gcm", `model ${index + 1}`);
      const gate = {
        "gate.decision": "registered",
        "gate.reason": `passed: jaccard ${jaccard}`,
      };
      for (const [key, value] of Object.entries(gate)) await tracking.setTag(runId, key, value);
      await tracking.endRun(runId);
      await tracking.registerModelVersion(MODEL, runId, "model", { tags: gate });
    }
    await tracking.setAlias(MODEL, "champion", "2");
    await tracking.setAlias(MODEL, "previous", "1");
    await tracking.createRegisteredModel(HOSTILE_MODEL);
  });
  after(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    await server.tracking.setAlias(MODEL, "champion", "2");
  });

  const postAlias = (alias: string, body: string, contentType = "application/json") =>
    server.request(`/api/v1/models/${encodeURIComponent(MODEL)}/aliases/${alias}`, {
      method: "POST",
      headers: { "content-type": contentType },
      body,
    });

  it("lists registered models with their aliases and latest versions", async () => {
    const answer = await server.request("/api/v1/models");
    assert.equal(answer.status, 200);
    const { models } = (await answer.json()) as {
      models: { name: string; aliases: Record<string, string>; latestVersion: string }[];
    };
    const model = models.find((m) => m.name === MODEL);
    assert.deepEqual(model?.aliases, { champion: "2", previous: "1" });
    assert.equal(model?.latestVersion, "2");
    assert.ok(models.some((m) => m.name === HOSTILE_MODEL));
    assert.equal((await fetch(`${server.url}/api/v1/models`)).status, 401);
  });

  it("gives a model's versions, newest first, with source runs, gate decisions and aliases", async () => {
    const answer = await server.request(`/api/v1/models/${MODEL}`);
    assert.equal(answer.status, 200);
    const model = (await answer.json()) as ModelAnswer;
    assert.deepEqual(model.aliases, { champion: "2", previous: "1" });
    assert.deepEqual(
      model.versions.map((v) => [v.version, v.runId, v.runName, v.aliases, v.gate.decision]),
      [
        ["2", runIds[1], "train-2", ["champion"], "registered"],
        ["1", runIds[0], "train-1", ["previous"], "registered"],
      ],
    );
    assert.equal(model.versions[1]?.gate.reason, "passed: jaccard 0.41");
    const missing = await server.request("/api/v1/models/nope");
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { field: string }).field, "name");
    const badPage = await server.request(`/api/v1/models/${MODEL}?max_results=1000`);
    assert.equal(badPage.status, 400);
    assert.equal(((await badPage.json()) as { field: string }).field, "max_results");
  });

  it("moves an alias through the JSON API", async () => {
    const answer = await postAlias("champion", JSON.stringify({ version: "1" }));
    assert.equal(answer.status, 200);
    assert.deepEqual(await answer.json(), { name: MODEL, alias: "champion", version: "1" });
    assert.equal((await server.tracking.getModelVersionByAlias(MODEL, "champion")).version, "1");
    const numeric = await postAlias("staging", JSON.stringify({ version: 2 }));
    assert.equal(numeric.status, 200);
    assert.equal((await server.tracking.getModelVersionByAlias(MODEL, "staging")).version, "2");
  });

  it("refuses bad alias moves, naming the field, and leaves the alias where it was", async () => {
    const cases: [string, string, string | undefined, number, string, RegExp][] = [
      [
        "champion",
        JSON.stringify({ version: "9" }),
        undefined,
        404,
        "version",
        /version 9 .* does not exist/,
      ],
      [
        "champion",
        JSON.stringify({ version: "two" }),
        undefined,
        400,
        "version",
        /"two" must be a positive whole number/,
      ],
      ["champion", JSON.stringify({}), undefined, 400, "version", /version: missing/],
      ["champion", "{nope", undefined, 400, "body", /not valid JSON/],
      ["champion", "[1]", undefined, 400, "body", /JSON object/],
      [
        "champion",
        "version=1",
        "application/x-www-form-urlencoded",
        400,
        "body",
        /Content-Type: application\/json/,
      ],
      ["latest", JSON.stringify({ version: "1" }), undefined, 400, "alias", /reserved/],
      ["bad%20alias", JSON.stringify({ version: "1" }), undefined, 400, "alias", /letters, digits/],
    ];
    for (const [alias, body, contentType, status, field, message] of cases) {
      const answer = await postAlias(alias, body, contentType);
      assert.equal(answer.status, status, `${alias} ${body}`);
      const error = (await answer.json()) as { error: string; field: string };
      assert.equal(error.field, field, `${alias} ${body}`);
      assert.match(error.error, message);
    }
    const unknownModel = await server.request("/api/v1/models/nope/aliases/champion", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ version: "1" }),
    });
    assert.equal(unknownModel.status, 404);
    assert.equal(((await unknownModel.json()) as { field: string }).field, "name");
    assert.equal((await server.tracking.getModelVersionByAlias(MODEL, "champion")).version, "2");
  });

  it("shows the models and a model's versions with source run links, gates and aliases, names escaped", async () => {
    const list = await (await server.request("/models")).text();
    assert.match(list, new RegExp(`href="/models/${MODEL}">${MODEL}</a>`));
    assert.match(list, /champion → v2/);
    assert.match(list, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.doesNotMatch(list, /<script>alert/);

    const page = await (await server.request(`/models/${MODEL}`)).text();
    assert.match(page, new RegExp(`href="/runs/${runIds[0]}">train-1</a>`));
    assert.match(page, /passed: jaccard 0.47/);
    const row1 = page.slice(page.indexOf('id="version-1"'));
    assert.match(row1.slice(0, row1.indexOf("</tr>")), /Make champion/);
    const row2 = page.slice(page.indexOf('id="version-2"'));
    assert.doesNotMatch(row2.slice(0, row2.indexOf("</tr>")), /Make champion/);
    assert.match(
      page,
      /data-confirm="Make version 1 of genre-forest the champion \(now version 2\)\?/,
    );

    const hostile = await server.request(`/models/${encodeURIComponent(HOSTILE_MODEL)}`);
    assert.equal(hostile.status, 200);
    assert.doesNotMatch(await hostile.text(), /<script>alert/);
    assert.equal((await server.request("/models/nope")).status, 404);
  });

  it("moves an alias from the form and says so; refuses an unknown version with the page and a message", async () => {
    const form = (version: string) =>
      server.request(`/models/${MODEL}/aliases`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url },
        body: new URLSearchParams({ alias: "champion", version }).toString(),
        redirect: "manual",
      });
    const moved = await form("1");
    assert.equal(moved.status, 303);
    assert.equal(moved.headers.get("location"), `/models/${MODEL}?moved=champion#aliases`);
    const after = await (await server.request(`/models/${MODEL}?moved=champion`)).text();
    assert.match(after, /Alias <strong>champion<\/strong> now points at version 1\./);
    assert.equal((await server.tracking.getModelVersionByAlias(MODEL, "champion")).version, "1");

    const missing = await form("9");
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /The alias was not moved: version 9 of registered model/);
    assert.equal((await server.tracking.getModelVersionByAlias(MODEL, "champion")).version, "1");
  });

  describe("in a browser", { skip: noBrowser }, () => {
    const browser = suiteBrowser();

    it("moves champion after the confirmation is accepted, and not when it is dismissed", async () => {
      const context = await browser().newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      const watch = watchPage(page, server.url);
      await logIn(page, server.url, "models-token", "/models");
      assert.equal(await page.getByText(HOSTILE_MODEL, { exact: true }).count(), 1);
      await page.getByRole("link", { name: MODEL, exact: true }).click();
      await page.waitForURL(`**/models/${MODEL}`);

      const questions: string[] = [];
      let answer: "accept" | "dismiss" = "dismiss";
      page.on("dialog", async (dialog) => {
        questions.push(dialog.message());
        if (answer === "accept") await dialog.accept();
        else await dialog.dismiss();
      });
      const makeChampion = page
        .locator("#version-1")
        .getByRole("button", { name: "Make champion" });
      await makeChampion.click();
      assert.equal(questions.length, 1);
      assert.match(
        questions[0] as string,
        /Make version 1 of genre-forest the champion \(now version 2\)/,
      );
      assert.equal((await server.tracking.getModelVersionByAlias(MODEL, "champion")).version, "2");

      answer = "accept";
      await makeChampion.click();
      await page.waitForURL("**moved=champion*");
      assert.equal(questions.length, 2);
      assert.match(
        (await page.getByRole("status").textContent()) ?? "",
        /champion now points at version 1/,
      );
      assert.equal(await page.locator("#version-1 .badge", { hasText: "champion" }).count(), 1);
      assert.equal(await page.locator("#version-2 .badge", { hasText: "champion" }).count(), 0);
      assert.equal((await server.tracking.getModelVersionByAlias(MODEL, "champion")).version, "1");
      await screenshot(page, "models");
      assert.deepEqual(watch.problems, []);
      await context.close();
    });
  });
});
