// The model kept loaded behind an alias, over a real SQLite tracking store and local object
// store: nothing served before the alias exists (a clear refusal), the aliased version loaded,
// a moved alias swapped in while a request holding the old model still predicts with it, a
// version that cannot be loaded leaving the old one serving with the reason reported, a deleted
// alias serving nothing, and the watch stopped on close.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { silentLogger } from "../../src/common/logger.ts";
import { loadConfig } from "../../src/config/load.ts";
import type { GenreModel } from "../../src/ml/model.ts";
import { ModelUnavailableError } from "../../src/serving/errors.ts";
import { OnlineModel } from "../../src/serving/online-model.ts";
import { LocalObjectStore } from "../../src/storage/local.ts";
import { StoreTrackingClient } from "../../src/tracking/client.ts";
import { fitSmallModel, registerModel } from "../helpers/genre-model.ts";

const NAME = "genre-classifier";

describe("online model behind an alias", () => {
  let dir: string;
  let store: LocalObjectStore;
  let tracking: StoreTrackingClient;
  let first: GenreModel;
  let second: GenreModel;
  let online: OnlineModel;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gc-online-model-"));
    const { config } = loadConfig({ cwd: dir, env: {}, flags: { dataDir: dir } });
    store = new LocalObjectStore(new URL(config.storage.uri as string).pathname);
    tracking = await StoreTrackingClient.open(config.tracking.uri as string, store);
    [first, second] = await Promise.all([
      fitSmallModel(dir, { seed: 1, trees: 3 }),
      fitSmallModel(dir, { seed: 2, trees: 5 }),
    ]);
    online = new OnlineModel({
      tracking,
      name: NAME,
      alias: "champion",
      refreshSeconds: 3600,
      log: silentLogger,
    });
  });
  after(async () => {
    await online?.close();
    await tracking?.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves nothing before the alias exists, and says how to get a model", async () => {
    await online.refresh();
    assert.equal(online.served, undefined);
    assert.throws(
      () => online.require(),
      (error: unknown) =>
        error instanceof ModelUnavailableError &&
        error.message ===
          "no model behind alias champion of genre-classifier; train one (genre-classifier train)",
    );
    assert.ok(online.status().checkedAt instanceof Date);
  });

  it("loads the aliased version", async () => {
    await registerModel(tracking, NAME, first, dir);
    await online.refresh();
    const served = online.require();
    assert.equal(served.version, "1");
    assert.equal(served.alias, "champion");
    assert.equal(served.predictor.model.parts.forest?.trees.length, 3);
    assert.equal(online.status().problem, undefined);
  });

  it("swaps in the new version when the alias moves; a request holding the old one still ends on it", async () => {
    const held = online.require();
    await registerModel(tracking, NAME, second, dir);
    const refreshing = online.refresh();
    assert.equal(online.refresh(), refreshing, "one look-up at a time");
    assert.equal(online.require().version, "1", "the old version serves while the new one loads");
    await refreshing;
    assert.equal(online.require().version, "2");
    assert.equal(online.require().predictor.model.parts.forest?.trees.length, 5);
    const [answer] = held.predictor.predictNow(held.predictor.parseJson({ tracks: [{}] }, 1));
    assert.ok(answer && answer.imputed.length === held.predictor.width);
    assert.equal(held.version, "1");
  });

  it("keeps serving the old version when the new one cannot be loaded, and says why", async () => {
    const experiment = await tracking.getOrCreateExperiment("genre-classifier");
    const run = await tracking.startRun(experiment.experimentId);
    const folder = join(dir, "not-a-model");
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, "model.gcm"), "not a model file");
    await tracking.logArtifactFolder(run.info.runId, folder, "model");
    const broken = await tracking.registerModelVersion(NAME, run.info.runId, "model");
    await tracking.setAlias(NAME, "champion", broken.version);
    await online.refresh();
    assert.equal(online.require().version, "2");
    assert.match(
      online.status().problem ?? "",
      /^version 3 could not be loaded: model .*model\.gcm: not a valid genre-classifier model file/,
    );
    await tracking.setAlias(NAME, "champion", "1");
    await online.refresh();
    assert.equal(online.require().version, "1");
    assert.equal(online.status().problem, undefined);
  });

  it("serves nothing once the alias is deleted", async () => {
    await tracking.deleteAlias(NAME, "champion");
    await online.refresh();
    assert.equal(online.served, undefined);
    assert.throws(() => online.require(), ModelUnavailableError);
  });

  it("follows the alias on its own every refreshSeconds, and stops on close", async () => {
    await tracking.setAlias(NAME, "champion", "2");
    const watching = OnlineModel.start({
      tracking,
      name: NAME,
      alias: "champion",
      refreshSeconds: 0.05,
      log: silentLogger,
    });
    try {
      await watching.refresh();
      assert.equal(watching.require().version, "2");
      await tracking.setAlias(NAME, "champion", "1");
      const until = Date.now() + 5000;
      while (watching.served?.version !== "1" && Date.now() < until)
        await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(watching.require().version, "1");
    } finally {
      await watching.close();
    }
    assert.equal(watching.served, undefined);
    await tracking.setAlias(NAME, "champion", "2");
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(watching.served, undefined, "a closed online model loads nothing");
  });
});
