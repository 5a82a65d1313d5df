// The tracking settings: where the store is by default, how plain paths resolve, that the
// token and database passwords are masked, and that tracking URIs are checked.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { InputError } from "../../src/common/errors.ts";
import { configKeys, configValue, displayValue, loadConfig } from "../../src/config/load.ts";
import { parseTrackingUri } from "../../src/tracking/uri.ts";

describe("tracking configuration", () => {
  let cwd: string;
  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "gc-tracking-config-"));
  });
  after(() => rm(cwd, { recursive: true, force: true }));

  it("defaults to an SQLite file in the data folder, and a loopback server", () => {
    const { config, sources } = loadConfig({ cwd, env: {} });
    assert.equal(config.tracking.uri, `sqlite://${cwd}/.genre-classifier/tracking.db`);
    assert.deepEqual(sources.get("tracking.uri"), {
      kind: "default",
      note: "<dataDir>/tracking.db",
    });
    assert.equal(config.tracking.server.host, "127.0.0.1");
    assert.equal(config.tracking.server.port, 5000);
    assert.equal(config.tracking.token, undefined);
    const moved = loadConfig({ cwd, env: { GENRE_CLASSIFIER_DATA_DIR: "elsewhere" } });
    assert.equal(moved.config.tracking.uri, `sqlite://${cwd}/elsewhere/tracking.db`);
  });

  it("resolves a plain path relative to the config file, keeps other URIs, masks secrets", async () => {
    await writeFile(
      join(cwd, "genre-classifier.config.json"),
      JSON.stringify({ tracking: { uri: "db/runs.db" } }),
    );
    try {
      assert.equal(loadConfig({ cwd, env: {} }).config.tracking.uri, `sqlite://${cwd}/db/runs.db`);
    } finally {
      await rm(join(cwd, "genre-classifier.config.json"));
    }
    const { config } = loadConfig({
      cwd,
      env: {
        GENRE_CLASSIFIER_TRACKING_URI: "postgres://ml:hunter2@db.internal:5432/tracking",
        GENRE_CLASSIFIER_TRACKING_TOKEN: "s3cret",
        GENRE_CLASSIFIER_TRACKING_SERVER_PORT: "8080",
      },
    });
    assert.equal(config.tracking.server.port, 8080);
    const shown = (path: string) =>
      displayValue(
        configKeys.find((k) => k.path === path) as (typeof configKeys)[0],
        configValue(config, path),
      );
    assert.equal(shown("tracking.uri"), "postgres://ml:****@db.internal:5432/tracking");
    assert.equal(shown("tracking.token"), "****");
    assert.throws(
      () => loadConfig({ cwd, env: { GENRE_CLASSIFIER_TRACKING_SERVER_PORT: "99999" } }),
      /tracking\.server\.port/,
    );
  });

  it("refuses a blank token or one with surrounding spaces, naming the key and its source", async () => {
    const refused = (options: Parameters<typeof loadConfig>[0], from: RegExp) =>
      assert.throws(
        () => loadConfig(options),
        (error: unknown) => {
          assert.ok(error instanceof InputError, String(error));
          assert.match(error.message, /^config key tracking\.token \(from /);
          assert.match(error.message, from);
          assert.match(error.message, /whitespace/);
          return true;
        },
      );
    refused(
      { cwd, env: { GENRE_CLASSIFIER_TRACKING_TOKEN: "   " } },
      /env GENRE_CLASSIFIER_TRACKING_TOKEN/,
    );
    refused({ cwd, env: {}, flags: { set: ["tracking.token=\t"] } }, /flag --set tracking\.token/);
    refused({ cwd, env: { GENRE_CLASSIFIER_TRACKING_TOKEN: " s3cret" } }, /env /);
    await writeFile(
      join(cwd, "genre-classifier.config.json"),
      JSON.stringify({ tracking: { token: " \n " } }),
    );
    try {
      refused({ cwd, env: {} }, /file .*genre-classifier\.config\.json/);
    } finally {
      await rm(join(cwd, "genre-classifier.config.json"));
    }
    const { config } = loadConfig({ cwd, env: { GENRE_CLASSIFIER_TRACKING_TOKEN: "a b-c" } });
    assert.equal(config.tracking.token, "a b-c");
  });

  it("accepts SQLite, PostgreSQL and server URIs and explains anything else", () => {
    assert.deepEqual(parseTrackingUri("sqlite:///var/lib/gc/tracking.db"), {
      kind: "sqlite",
      file: "/var/lib/gc/tracking.db",
    });
    assert.equal(parseTrackingUri("postgresql://u:p@h:5432/db").kind, "postgres");
    assert.equal(parseTrackingUri("postgres://h/db?statement_timeout=60000").kind, "postgres");
    assert.deepEqual(parseTrackingUri("http://127.0.0.1:5000/"), {
      kind: "http",
      baseUrl: "http://127.0.0.1:5000",
    });
    for (const bad of [
      "mysql://h/db",
      "sqlite:relative.db",
      "postgres://host-only",
      "https://h/?x=1",
      "postgres://h/db?statement_timeout=30s",
    ])
      assert.throws(() => parseTrackingUri(bad), InputError, bad);
    assert.throws(
      () => parseTrackingUri("postgres://u:topsecret@h"),
      (error: Error) => !error.message.includes("topsecret"),
    );
  });
});
