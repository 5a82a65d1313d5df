// Configuration loading: defaults, file, environment and flags in order, sources, and the one-line errors for bad values.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { InputError } from "../../src/common/errors.ts";
import { configKeys, describeSource, displayValue, loadConfig } from "../../src/config/load.ts";

function key(path: string) {
  const found = configKeys.find((k) => k.path === path);
  assert.ok(found, path);
  return found;
}

describe("configuration loading", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gc-config-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function folder(name: string, files: Record<string, string> = {}): Promise<string> {
    const path = join(dir, name);
    await mkdir(path, { recursive: true });
    for (const [file, text] of Object.entries(files)) await writeFile(join(path, file), text);
    return path;
  }

  it("embeds defaults that keep everything under ./.genre-classifier", async () => {
    const cwd = await folder("defaults");
    const { config, sources, file } = loadConfig({ cwd, env: {} });
    assert.equal(file, undefined);
    assert.equal(config.dataDir, join(cwd, ".genre-classifier"));
    assert.equal(config.storage.uri, `file://${join(cwd, ".genre-classifier", "store")}`);
    assert.equal(config.storage.s3.region, "us-east-1");
    assert.equal(config.log.level, "info");
    assert.deepEqual(sources.get("storage.s3.region"), { kind: "default" });
  });

  it("layers defaults ← file ← environment ← flags, remembering each source", async () => {
    const cwd = await folder("layers", {
      "genre-classifier.config.json": JSON.stringify({
        storage: { s3: { region: "eu-west-1", maxAttempts: 3, partSizeMib: 16 } },
        log: { level: "warn" },
      }),
    });
    const file = join(cwd, "genre-classifier.config.json");
    const env = {
      GENRE_CLASSIFIER_STORAGE_S3_REGION: "eu-central-1",
      GENRE_CLASSIFIER_STORAGE_S3_MAX_ATTEMPTS: "7",
    };
    const { config, sources } = loadConfig({
      cwd,
      env,
      flags: { set: ["storage.s3.region=ap-south-1"] },
    });
    assert.equal(config.storage.s3.region, "ap-south-1");
    assert.equal(config.storage.s3.maxAttempts, 7);
    assert.equal(config.storage.s3.partSizeMib, 16);
    assert.equal(config.log.level, "warn");
    assert.equal(
      describeSource(sources.get("storage.s3.region") ?? { kind: "default" }),
      "flag --set storage.s3.region",
    );
    assert.deepEqual(sources.get("storage.s3.maxAttempts"), {
      kind: "env",
      name: "GENRE_CLASSIFIER_STORAGE_S3_MAX_ATTEMPTS",
    });
    assert.deepEqual(sources.get("storage.s3.partSizeMib"), { kind: "file", file });
    const withoutFlag = loadConfig({ cwd, env });
    assert.equal(withoutFlag.config.storage.s3.region, "eu-central-1");
    const fileOnly = loadConfig({ cwd, env: {} });
    assert.equal(fileOnly.config.storage.s3.region, "eu-west-1");
  });

  it("reads YAML, and resolves paths in a file relative to that file", async () => {
    const cwd = await folder("yaml", {
      "genre-classifier.config.yaml":
        "dataDir: data\nstorage:\n  uri: objects\nlog:\n  file: logs/run.jsonl\n  format: json\n",
    });
    const { config } = loadConfig({ cwd: join(cwd), env: {} });
    assert.equal(config.dataDir, join(cwd, "data"));
    assert.equal(config.storage.uri, `file://${join(cwd, "objects")}`);
    assert.equal(config.log.file, join(cwd, "logs", "run.jsonl"));
    assert.equal(config.log.format, "json");
  });

  it("takes dedicated flags, --config and GENRE_CLASSIFIER_CONFIG", async () => {
    const cwd = await folder("flags", { "custom.yml": "storage:\n  s3:\n    region: sa-east-1\n" });
    const viaFlag = loadConfig({
      cwd,
      env: {},
      flags: { config: "custom.yml", store: "s3://bucket/pre", logLevel: "debug" },
    });
    assert.equal(viaFlag.config.storage.s3.region, "sa-east-1");
    assert.equal(viaFlag.config.storage.uri, "s3://bucket/pre");
    assert.deepEqual(viaFlag.sources.get("storage.uri"), { kind: "flag", flag: "--store" });
    assert.equal(viaFlag.config.log.level, "debug");
    const viaEnv = loadConfig({ cwd, env: { GENRE_CLASSIFIER_CONFIG: "custom.yml" } });
    assert.equal(viaEnv.config.storage.s3.region, "sa-east-1");
    assert.equal(loadConfig({ cwd, env: {}, flags: { verbose: true } }).config.log.level, "debug");
    assert.equal(loadConfig({ cwd, env: {}, flags: { quiet: true } }).config.log.level, "error");
    assert.throws(
      () => loadConfig({ cwd, env: {}, flags: { quiet: true, verbose: true } }),
      /--verbose and --quiet/,
    );
  });

  it("rejects unknown keys, wrong types and bad files with one clear line", async () => {
    const cases: [Record<string, string>, Record<string, string>, string[] | undefined, RegExp][] =
      [
        [
          { "genre-classifier.config.json": '{"storage":{"s3":{"regoin":"x"}}}' },
          {},
          undefined,
          /genre-classifier\.config\.json: unknown key storage\.s3\.regoin \(expected one of: endpoint, region, forcePathStyle/,
        ],
        [
          { "genre-classifier.config.json": '{"storage":{"s3":{"maxAttempts":"many"}}}' },
          {},
          undefined,
          /config key storage\.s3\.maxAttempts \(from file .*genre-classifier\.config\.json\): .*expected number/,
        ],
        [
          { "genre-classifier.config.json": '{"storage": 3}' },
          {},
          undefined,
          /storage must be an object of settings/,
        ],
        [
          { "genre-classifier.config.json": "{not json" },
          {},
          undefined,
          /genre-classifier\.config\.json: not valid JSON/,
        ],
        [
          { "genre-classifier.config.yaml": "a: [" },
          {},
          undefined,
          /genre-classifier\.config\.yaml: not valid YAML/,
        ],
        [
          { "genre-classifier.config.json": "{}", "genre-classifier.config.yaml": "{}" },
          {},
          undefined,
          /several config files/,
        ],
        [
          {},
          { GENRE_CLASSIFIER_STORAGE_S3_MAX_ATTEMPTS: "lots" },
          undefined,
          /environment variable GENRE_CLASSIFIER_STORAGE_S3_MAX_ATTEMPTS: expected a number, got "lots"/,
        ],
        [
          {},
          { GENRE_CLASSIFIER_LOG_LEVEL: "loud" },
          undefined,
          /GENRE_CLASSIFIER_LOG_LEVEL: expected one of trace, debug, info/,
        ],
        [
          {},
          { GENRE_CLASSIFIER_STORAGE_S3_FORCE_PATH_STYLE: "maybe" },
          undefined,
          /expected true or false, got "maybe"/,
        ],
        [
          {},
          { GENRE_CLASSIFIER_NOPE: "1" },
          undefined,
          /environment variable GENRE_CLASSIFIER_NOPE is not a known setting/,
        ],
        [
          {},
          { GENRE_CLASSIFIER_STORAGE_S3_MAX_ATTEMPTS: "99" },
          undefined,
          /config key storage\.s3\.maxAttempts \(from env GENRE_CLASSIFIER_STORAGE_S3_MAX_ATTEMPTS\): .*<=20/,
        ],
        [{}, {}, ["storage.nope=1"], /--set storage\.nope: unknown key/],
        [{}, {}, ["storage.s3.region"], /--set storage\.s3\.region: expected key=value/],
        [
          {},
          {},
          ["storage.s3.endpoint=not a url"],
          /config key storage\.s3\.endpoint \(from flag --set storage\.s3\.endpoint\)/,
        ],
      ];
    for (const [index, [files, env, set, pattern]] of cases.entries()) {
      const cwd = await folder(`bad-${index}`, files);
      assert.throws(
        () => loadConfig({ cwd, env, flags: { set } }),
        (error: Error) =>
          error instanceof InputError &&
          pattern.test(error.message) &&
          !error.message.includes("\n"),
        `case ${index}: ${pattern}`,
      );
    }
    await assert.rejects(
      async () => loadConfig({ cwd: dir, env: {}, flags: { config: "missing.json" } }),
      /--config missing\.json: config file not found/,
    );
  });

  it("masks secrets and passwords in URIs", () => {
    assert.equal(displayValue(key("storage.s3.secretAccessKey"), "abc"), "****");
    assert.equal(displayValue(key("storage.s3.sessionToken"), "abc"), "****");
    assert.equal(displayValue(key("storage.s3.accessKeyId"), "AKIA123"), "AKIA123");
    assert.equal(displayValue(key("storage.s3.secretAccessKey"), undefined), "(unset)");
    assert.equal(
      displayValue(key("storage.uri"), "postgres://user:hunter2@db/x"),
      "postgres://user:****@db/x",
    );
  });

  it("derives environment variable names from the keys", () => {
    assert.equal(
      key("storage.s3.accessKeyId").envName,
      "GENRE_CLASSIFIER_STORAGE_S3_ACCESS_KEY_ID",
    );
    assert.equal(key("dataDir").envName, "GENRE_CLASSIFIER_DATA_DIR");
    assert.equal(new Set(configKeys.map((k) => k.envName)).size, configKeys.length);
    for (const k of configKeys) assert.ok(k.description.length > 0, `${k.path} has a description`);
  });
});
