// `genre-classifier model fit|predict|evaluate` as a user runs them: JSON summaries, prediction
// files in CSV and Parquet, and exit code 2 with a line naming the file and column for bad input.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { FeatureTable } from "../../../src/features/feature-table.ts";
import { MODEL_FORMAT_VERSION } from "../../../src/ml/model.ts";
import { type CliResult, runCli } from "../../helpers/cli.ts";
import { withHeader } from "../../ml/model-file.ts";
import { writeGenreTable } from "../../training/tables.ts";

const quick = ["--trees", "10", "--workers", "0"];

describe("model command", () => {
  let cwd: string;
  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "gc-cli-model-"));
    await writeGenreTable(join(cwd, "train.csv"), 500, 1);
    await writeGenreTable(join(cwd, "valid.parquet"), 150, 2);
  });
  after(() => rm(cwd, { recursive: true, force: true }));

  it("fits, predicts and evaluates on CSV and Parquet tables", async () => {
    const fit = await runCli(
      [
        "model",
        "fit",
        "--train",
        "train.csv",
        "--valid",
        "valid.parquet",
        "--out",
        "m",
        "--compare-seed",
        ...quick,
      ],
      { cwd },
    );
    assert.equal(fit.code, 0, fit.stderr);
    const summary = JSON.parse(fit.stdout);
    assert.equal(summary.modelFile, join(cwd, "m", "model.gcm"));
    assert.ok(existsSync(summary.modelFile));
    assert.equal(summary.features.length, 8);
    assert.equal(summary.modelCard, join(cwd, "m", "model-card.md"));
    const card = await readFile(summary.modelCard, "utf8");
    assert.match(card, /^# Model card/);
    assert.ok(card.includes(summary.features.map((f: string) => `\`${f}\``).join(", ")), card);
    assert.match(
      card,
      /```\ngenre-classifier model fit --train train\.csv --valid valid\.parquet --out m --trees 10 --compare-seed --workers 0\n```/,
    );
    assert.ok(
      card.includes(`| **model** | ${summary.validation.model.jaccardSamples.toFixed(4)} |`),
    );
    assert.deepEqual((await readdir(join(cwd, "m"))).sort(), ["model-card.md", "model.gcm"]);
    const v = summary.validation;
    assert.ok(v.model.jaccardSamples > v["most-frequent-5"].jaccardSamples);
    // The seed's model is close on these small synthetic tables (10 trees); fit.test.ts compares
    // with it on more trees.
    assert.ok(
      v.model.f1Micro > v["seed model (balanced forest, 0.5)"].f1Micro - 0.02,
      JSON.stringify(v),
    );

    const [csv, parquet, evaluated] = await Promise.all([
      runCli(
        ["model", "predict", "--model", "m", "--input", "valid.parquet", "--output", "p.csv"],
        { cwd },
      ),
      runCli(
        [
          "model",
          "predict",
          "--model",
          "m/model.gcm",
          "--input",
          "train.csv",
          "--output",
          "p.parquet",
        ],
        { cwd },
      ),
      runCli(["model", "evaluate", "--model", "m", "--input", "valid.parquet"], { cwd }),
    ]);
    assert.equal(csv.code, 0, csv.stderr);
    assert.match(csv.stdout, /predicted the genres of 150 tracks \(6 genres\)/);
    const lines = (await readFile(join(cwd, "p.csv"), "utf8")).trim().split("\n");
    assert.equal(lines.length, 151);
    assert.match(lines[0] as string, /^track_id,genres,p\(rock\),p\(pop\),/);
    assert.match(lines[1] as string, /^V2-0,[a-z|]*,[01]/);
    assert.equal(parquet.code, 0, parquet.stderr);
    const table = await FeatureTable.read(join(cwd, "p.parquet"));
    assert.equal(table.rows, 500);
    assert.equal(table.genres().length, 500);
    assert.ok(table.numeric("p(rock)").every((p) => p >= 0 && p <= 1));
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const evaluation = JSON.parse(evaluated.stdout);
    assert.equal(evaluation.model.jaccardSamples, v.model.jaccardSamples);
    assert.ok(evaluation.baselines["most-frequent-5"]);
    assert.equal(evaluation.perGenre.length, 6);
  });

  it("reads a CSV table's artist_id as text and tunes on out-of-bag rows by artist", async () => {
    const withArtists = async (from: string, to: string) => {
      const lines = (await readFile(join(cwd, from), "utf8")).trimEnd().split("\n");
      const rows = lines.map((line, i) => `${line},${i === 0 ? "artist_id" : `AR${i % 37}`}`);
      await writeFile(join(cwd, to), `${rows.join("\n")}\n`);
    };
    await withArtists("train.csv", "train-artists.csv");
    await writeGenreTable(join(cwd, "valid.csv"), 150, 2);
    await withArtists("valid.csv", "valid-artists.csv");
    const fit = await runCli(
      [
        "model",
        "fit",
        "--train",
        "train-artists.csv",
        "--valid",
        "valid-artists.csv",
        "--out",
        "artists",
        "--tune-on",
        "validation+out-of-bag",
        ...quick,
      ],
      { cwd },
    );
    assert.equal(fit.code, 0, fit.stderr);
    const summary = JSON.parse(fit.stdout);
    assert.equal(summary.decision.tunedOn, "validation+out-of-bag");
    assert.ok(!summary.features.includes("artist_id"));
  });

  it("exits 2 with one line naming the file and column for bad input", async () => {
    // Every kind of bad input is tested in process (test/features, test/training); these
    // check the exit code and the single line for each command.
    const header = "track_id,duration,key,loudness,mode,tempo,year,brightness,energy,genres";
    await writeFile(
      join(cwd, "inf.csv"),
      `${header}\nT,200,1,-7,1,120,1999,0.5,0.5,rock\nT2,200,1,-7,1,inf,1999,0.5,0.5,rock\n`,
    );
    await writeFile(join(cwd, "narrow.csv"), "track_id,tempo,genres\nT1,120,rock\n");
    const model = join(cwd, "m", "model.gcm");
    const bytes = await readFile(model);
    const other = bytes
      .toString("latin1")
      .replace(`"version":${MODEL_FORMAT_VERSION},`, `"version":${MODEL_FORMAT_VERSION + 1},`);
    await writeFile(join(cwd, "v2.gcm"), Buffer.from(other, "latin1"));
    const cases: [string[], RegExp][] = [
      [
        [
          "model",
          "fit",
          "--train",
          "inf.csv",
          "--valid",
          "valid.parquet",
          "--out",
          "bad",
          ...quick,
        ],
        /inf\.csv: column "tempo": row 2: inf is not a finite number/,
      ],
      [
        ["model", "predict", "--model", "m", "--input", "narrow.csv", "--output", "x.csv"],
        /narrow\.csv: missing feature columns "duration", "key", "loudness", "mode", "year", "brightness", "energy"/,
      ],
      [
        ["model", "evaluate", "--model", "v2.gcm", "--input", "valid.parquet"],
        new RegExp(
          `v2\\.gcm: model file format version ${MODEL_FORMAT_VERSION + 1} is not supported: this genre-classifier reads version ${MODEL_FORMAT_VERSION}`,
        ),
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args, { cwd })));
    results.forEach((r, i) => {
      const pattern = (cases[i] as [string[], RegExp])[1];
      assert.equal(r.code, 2, `${pattern}: exit ${r.code}, ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    });
  });

  it("never writes over the input table, nor into a folder that does not exist", async () => {
    await writeGenreTable(join(cwd, "own.parquet"), 40, 3);
    await mkdir(join(cwd, "sub"));
    await symlink(join(cwd, "own.parquet"), join(cwd, "sub", "link.parquet"));
    const original = await readFile(join(cwd, "own.parquet"));
    const predict = (input: string, output: string) =>
      runCli(["model", "predict", "--model", "m", "--input", input, "--output", output], { cwd });
    const same = await Promise.all([
      predict("own.parquet", "own.parquet"),
      predict("own.parquet", "./sub/../own.parquet"),
      predict("sub/link.parquet", "own.parquet"),
      predict("own.parquet", "sub/link.parquet"),
    ]);
    for (const r of same) {
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /--output .*\.parquet is the input table .*\.parquet: name another/);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    assert.deepEqual(await readFile(join(cwd, "own.parquet")), original);

    const noFolder = await predict("own.parquet", "missing/deeper/p.csv");
    assert.equal(noFolder.code, 2, noFolder.stderr);
    assert.match(
      noFolder.stderr,
      /--output .*missing\/deeper\/p\.csv: the folder .*missing\/deeper does not exist/,
    );
    assert.equal(existsSync(join(cwd, "missing")), false);

    const written = await predict("own.parquet", "sub/p.csv");
    assert.equal(written.code, 0, written.stderr);
    assert.deepEqual((await readdir(join(cwd, "sub"))).sort(), ["link.parquet", "p.csv"]);
  });

  it("exits 2 naming the file and the field when a model's header lacks one", async () => {
    const bytes = await readFile(join(cwd, "m", "model.gcm"));
    await writeFile(
      join(cwd, "no-labels.gcm"),
      withHeader(bytes, (h) => delete h.labels),
    );
    await writeFile(
      join(cwd, "no-decision.gcm"),
      withHeader(bytes, (h) => delete h.decision),
    );
    const results = await Promise.all(
      ["no-labels.gcm", "no-decision.gcm"].map((model) =>
        runCli(
          ["model", "predict", "--model", model, "--input", "valid.parquet", "--output", "q.csv"],
          { cwd },
        ),
      ),
    );
    const [labels, decision] = results as [CliResult, CliResult];
    assert.equal(labels.code, 2, labels.stderr);
    assert.match(labels.stderr, /no-labels\.gcm: .*header field "labels"/);
    assert.equal(decision.code, 2, decision.stderr);
    assert.match(decision.stderr, /no-decision\.gcm: .*header field "decision"/);
    for (const r of results) assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.equal(existsSync(join(cwd, "q.csv")), false);
  });
});
