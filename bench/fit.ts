// Benchmark of the whole `model fit` command against a whole scikit-learn process doing the same
// work, each timed as a process from start to exit, on real MSD tracks split by artist.
//
//   npm run bench:fit [-- --runs 5] [--features seed|all] [--data FILE] [--no-build] [--cli PATH]
//     [-- <more model fit options>]
//
// The tracks of --data (default ../shared/msd-10k-dev/tracks.csv; the bench skips with a
// message when it is absent) are split into training and validation tables by artist, as
// `split` splits them (validByArtist with split.ts's seed and validation share), and written to
// a temporary folder. Then, --runs times, alternating which side goes first:
//   - ours: `node bin/genre-classifier.js --log-level warn model fit --train … --valid …
//     --features … --out <temp> --ignore-unseen-genres` plus the options after a second `--`
//     (default settings otherwise): read both tables, fit, tune the thresholds, write the model
//     and its card;
//   - scikit-learn: bench/fit_process_reference.py on /usr/bin/python3: read both tables, fit
//     the seed's pipeline (outlier rules, min-max scaling, KNN imputation, a class-balanced
//     forest of 100 trees), predict the validation rows and pickle the forest.
// Each run prints both wall times, CPU times and peak resident sets (from /usr/bin/time when it
// is installed), their ratio and the load average; the end prints the medians, the median of
// the per-run ratios (ours / scikit-learn) and each side's validation samples Jaccard.
// Features: `seed` is the seed's six, `all` every column of the file but the ids, names,
// titles and genres.
//
// Ours runs as it ships, from dist/: it is rebuilt with `npm run build` unless every source
// file is older than its compiled file (--no-build uses dist/ as it is; --cli runs another
// copy's bin/genre-classifier.js).
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { validByArtist } from "../src/datasets/assign.ts";
import { SPLIT_DEFAULTS } from "../src/datasets/split.ts";
import { csvField, parseCsv } from "../src/features/csv.ts";
import { DEFAULT_TOP_K } from "../src/ml/labels.ts";
import { SEED_FEATURES } from "../src/training/tables.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const PYTHON = "/usr/bin/python3";
const TIME = "/usr/bin/time";
const REFERENCE = join(ROOT, "bench", "fit_process_reference.py");
const NOT_FEATURES = new Set(["track_id", "artist_id", "artist_name", "title", "genres"]);

const { values: args, positionals: fitOptions } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: "string", default: "5" },
    features: { type: "string", default: "seed" },
    data: { type: "string", default: join(ROOT, "..", "shared", "msd-10k-dev", "tracks.csv") },
    "no-build": { type: "boolean", default: false },
    cli: { type: "string" },
  },
});

interface Run {
  wall: number;
  /** User + system CPU seconds, null without /usr/bin/time. */
  cpu: number | null;
  /** Peak resident set in MiB, null without /usr/bin/time. */
  peakMiB: number | null;
  jaccard: number;
  /** Ours: the forest settings the summary reports. */
  settings?: string;
}

function fail(message: string): never {
  process.stderr.write(`bench:fit: ${message}\n`);
  process.exit(2);
}

/** Every .ts/.tsx file under src/ has a compiled .js in dist/ at least as new. */
function distIsFresh(): boolean {
  const walk = (dir: string): boolean =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).every((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return walk(path);
      if (!/\.tsx?$/.test(entry.name) || entry.name.endsWith(".d.ts")) return true;
      const compiled = join(ROOT, "dist", relative("src", path).replace(/\.tsx?$/, ".js"));
      return (
        existsSync(compiled) && statSync(compiled).mtimeMs >= statSync(join(ROOT, path)).mtimeMs
      );
    });
  return walk("src");
}

/** Splits the tracks by artist into train.csv and valid.csv in `dir`; returns the columns. */
function writeSplit(data: string, dir: string): { header: string[]; train: number; valid: number } {
  const records = parseCsv(readFileSync(data, "utf8"), data);
  const header = records.shift();
  if (header === undefined) fail(`${data} is empty`);
  const artist = header.indexOf("artist_id");
  if (artist < 0) fail(`${data} has no artist_id column`);
  const rows = records.map((_, i) => i);
  const artistIds = records.map((r) => r[artist] as string);
  const inValid = new Set(
    validByArtist(rows, artistIds, SPLIT_DEFAULTS.seed, SPLIT_DEFAULTS.validFraction),
  );
  const csv = (keep: (i: number) => boolean) =>
    [header, ...records.filter((_, i) => keep(i))]
      .map((r) => `${r.map(csvField).join(",")}\n`)
      .join("");
  writeFileSync(
    join(dir, "train.csv"),
    csv((i) => !inValid.has(i)),
  );
  writeFileSync(
    join(dir, "valid.csv"),
    csv((i) => inValid.has(i)),
  );
  return { header, train: records.length - inValid.size, valid: inValid.size };
}

/** Runs a command as a process of its own: wall time, and CPU and peak memory from time(1). */
function timed(command: string, argv: string[], what: string): { run: Run; stdout: string } {
  const measured = existsSync(TIME);
  const stats = join(tmpdir(), `bench-fit-time-${process.pid}.txt`);
  const [file, fileArgs] = measured
    ? [TIME, ["-o", stats, "-f", "%U %S %M", command, ...argv]]
    : [command, argv];
  const started = performance.now();
  const r = spawnSync(file, fileArgs, {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  const wall = (performance.now() - started) / 1000;
  if (r.status !== 0) fail(`${what} failed (exit ${r.status}):\n${r.stderr}`);
  let cpu: number | null = null;
  let peakMiB: number | null = null;
  if (measured) {
    const [user, system, peakKiB] = readFileSync(stats, "utf8").trim().split(/\s+/).map(Number);
    cpu = (user as number) + (system as number);
    peakMiB = (peakKiB as number) / 1024;
    rmSync(stats, { force: true });
  }
  return { run: { wall, cpu, peakMiB, jaccard: Number.NaN }, stdout: r.stdout };
}

function runOurs(cli: string, dir: string, features: string[], extra: string[]): Run {
  const out = join(dir, "model");
  const { run, stdout } = timed(
    process.execPath,
    [
      cli,
      "--log-level",
      "warn",
      "model",
      "fit",
      "--train",
      join(dir, "train.csv"),
      "--valid",
      join(dir, "valid.csv"),
      "--features",
      features.join(","),
      "--out",
      out,
      "--ignore-unseen-genres",
      ...extra,
    ],
    "genre-classifier model fit",
  );
  rmSync(out, { recursive: true, force: true });
  const summary = JSON.parse(stdout) as {
    validation: { model: { jaccardSamples: number } };
    forest?: { nTrees: number; minSamplesLeaf: number; maxFeatures: string | number };
  };
  run.jaccard = summary.validation.model.jaccardSamples;
  const forest = summary.forest;
  if (forest !== undefined) {
    run.settings = `${forest.nTrees} trees, at least ${forest.minSamplesLeaf} rows per leaf, features per split ${forest.maxFeatures}`;
  }
  return run;
}

function runSklearn(dir: string, features: string[]): Run {
  const out = join(dir, "sklearn.pkl");
  const { run, stdout } = timed(
    PYTHON,
    [
      REFERENCE,
      join(dir, "train.csv"),
      join(dir, "valid.csv"),
      features.join(","),
      String(DEFAULT_TOP_K),
      out,
    ],
    "fit_process_reference.py",
  );
  rmSync(out, { force: true });
  run.jaccard = (
    JSON.parse(stdout.trim().split("\n").at(-1) as string) as { jaccardSamples: number }
  ).jaccardSamples;
  return run;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function describe(run: Run): string {
  const cpu = run.cpu === null ? "" : `, CPU ${run.cpu.toFixed(2)} s`;
  const peak = run.peakMiB === null ? "" : `, peak ${run.peakMiB.toFixed(0)} MiB`;
  return `${run.wall.toFixed(2)} s${cpu}${peak}`;
}

function load(): string {
  return (loadavg()[0] as number).toFixed(2);
}

function main(): void {
  const runs = Number(args.runs);
  if (!Number.isInteger(runs) || runs < 1) fail("--runs: expected an integer ≥ 1");
  if (args.features !== "seed" && args.features !== "all") fail("--features: seed or all");
  const data = resolve(args.data as string);
  if (!existsSync(data)) {
    process.stdout.write(`bench:fit: skipped: ${data} is absent (see docs/benchmarks.md)\n`);
    return;
  }
  if (!existsSync(PYTHON)) fail(`${PYTHON} is missing (Debian's python3 with python3-sklearn)`);
  let cli = join(ROOT, "bin", "genre-classifier.js");
  if (args.cli !== undefined) cli = resolve(args.cli);
  else if (!args["no-build"] && !distIsFresh()) {
    process.stdout.write("dist/ is older than src/: npm run build\n");
    const built = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
    if (built.status !== 0) fail("npm run build failed");
  }
  const extra = fitOptions;
  const dir = mkdtempSync(join(tmpdir(), "bench-fit-"));
  try {
    const { header, train, valid } = writeSplit(data, dir);
    const features =
      args.features === "seed" ? [...SEED_FEATURES] : header.filter((c) => !NOT_FEATURES.has(c));
    process.stdout.write(
      `${relative(ROOT, data)}: ${train} training and ${valid} validation tracks, split by artist; ${features.length} features; ours: model fit${extra.length > 0 ? ` ${extra.join(" ")}` : ""}; load average ${load()}\n`,
    );
    const ours: Run[] = [];
    const sklearn: Run[] = [];
    for (let i = 0; i < runs; i++) {
      if (i % 2 === 0) {
        ours.push(runOurs(cli, dir, features, extra));
        sklearn.push(runSklearn(dir, features));
      } else {
        sklearn.push(runSklearn(dir, features));
        ours.push(runOurs(cli, dir, features, extra));
      }
      const [o, s] = [ours[i] as Run, sklearn[i] as Run];
      process.stdout.write(
        `run ${i + 1}: ours ${describe(o)} | scikit-learn ${describe(s)} | ratio ${(o.wall / s.wall).toFixed(3)} | load ${load()}\n`,
      );
    }
    const ratios = ours.map((o, i) => o.wall / (sklearn[i] as Run).wall);
    const cpuRatios = ours.flatMap((o, i) => {
      const s = (sklearn[i] as Run).cpu;
      return o.cpu === null || s === null ? [] : [o.cpu / s];
    });
    const jaccards = (side: Run[]) =>
      [...new Set(side.map((r) => r.jaccard.toFixed(4)))].join(", ");
    process.stdout.write(
      `${[
        `median wall: ours ${median(ours.map((r) => r.wall)).toFixed(2)} s, scikit-learn ${median(sklearn.map((r) => r.wall)).toFixed(2)} s`,
        `median of the per-run ratios (ours / scikit-learn): wall ${median(ratios).toFixed(3)}${cpuRatios.length > 0 ? `, CPU ${median(cpuRatios).toFixed(3)}` : ""}`,
        `validation samples Jaccard: ours ${jaccards(ours)}, scikit-learn ${jaccards(sklearn)}`,
        `our forest: ${ours[0]?.settings ?? "-"}; scikit-learn's: the seed's (100 full-depth class-balanced trees)`,
        `load average at the end: ${load()}`,
      ].join("\n")}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
