// bench:msd: MSD track extraction (h5wasm reader + feature summaries) per file and in
// tracks per second, in one thread and on every core (the preprocess step), next to h5py and
// numpy doing the same extraction on the same files in the same run. Runs on the real
// sample (../shared/msd-sample, when present) and on 10,000 synthetic files.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { extractFeatures, FEATURE_ARRAYS } from "../src/features/extract.ts";
import { preprocess } from "../src/features/preprocess.ts";
import { defaultVocabulary } from "../src/features/vocabulary.ts";
import { ingest } from "../src/ingest/ingest.ts";
import { readTrack } from "../src/msd/reader.ts";
import { generateSubset } from "../src/msd/synth.ts";
import { LocalObjectStore } from "../src/storage/local.ts";

const SYNTHETIC_TRACKS = Number(process.env.BENCH_MSD_TRACKS ?? 10_000);
const PYTHON = "/usr/bin/python3";
const sample = fileURLToPath(new URL("../../shared/msd-sample/data", import.meta.url));
const h5pyScript = fileURLToPath(new URL("./h5py_extract.py", import.meta.url));
const cores = availableParallelism();

async function trackFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".h5"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function hasH5py(): boolean {
  try {
    execFileSync(PYTHON, ["-c", "import h5py, numpy"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function h5py(listing: string, processes: number, repeat: number): number {
  const out = execFileSync(PYTHON, [h5pyScript, listing, String(processes), String(repeat)], {
    encoding: "utf8",
  });
  return (JSON.parse(out.trim().split("\n").at(-1) as string) as { seconds: number }).seconds;
}

async function oursOneThread(files: string[], repeat: number): Promise<number> {
  const vocabulary = defaultVocabulary();
  const started = process.hrtime.bigint();
  for (let round = 0; round < repeat; round++) {
    for (const file of files)
      extractFeatures(await readTrack(file, { arrays: FEATURE_ARRAYS }), { vocabulary });
  }
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function oursPreprocess(store: LocalObjectStore, workers: number): Promise<number> {
  const summary = await preprocess({
    store,
    vocabulary: defaultVocabulary(),
    workers,
    featuresKey: `bench/features-${workers}.parquet`,
  });
  return summary.seconds;
}

interface Result {
  label: string;
  files: number;
  seconds: number;
}

function print(title: string, results: Result[]): void {
  console.log(`\n${title}`);
  console.log(`${"".padEnd(44)} ${"ms/file".padStart(9)} ${"tracks/s".padStart(10)}`);
  for (const r of results) {
    console.log(
      `${r.label.padEnd(44)} ${((r.seconds * 1000) / r.files).toFixed(2).padStart(9)} ${(r.files / r.seconds).toFixed(0).padStart(10)}`,
    );
  }
}

async function benchFolder(
  title: string,
  folder: string,
  scratch: string,
  withH5py: boolean,
): Promise<void> {
  const files = await trackFiles(folder);
  const listing = join(scratch, `${title.replace(/\W+/g, "-")}.txt`);
  await writeFile(listing, files.join("\n"));
  const store = new LocalObjectStore(join(scratch, `store-${files.length}`));
  await ingest({ source: folder, store });
  await oursOneThread(files.slice(0, 5), 1);
  const repeat = Math.max(1, Math.ceil(500 / files.length));
  const reads = files.length * repeat;
  const results: Result[] = [
    {
      label: "ours: read + extract, 1 thread",
      files: reads,
      seconds: await oursOneThread(files, repeat),
    },
  ];
  if (withH5py) {
    results.push({
      label: "h5py + numpy: same extraction, 1 process",
      files: reads,
      seconds: h5py(listing, 1, repeat),
    });
  }
  const preprocessWorkers = files.length >= 1000 ? [1, cores] : [];
  for (const workers of preprocessWorkers) {
    const label = `ours: preprocess step, ${workers} worker${workers === 1 ? "" : "s"}`;
    results.push({ label, files: files.length, seconds: await oursPreprocess(store, workers) });
  }
  if (withH5py) {
    const label = `h5py + numpy: same extraction, ${cores} processes`;
    results.push({ label, files: reads, seconds: h5py(listing, cores, repeat) });
  }
  print(
    `${title}: ${files.length} files (read ${repeat}× over for the extraction rows${preprocessWorkers.length ? "; the preprocess step reads each once" : ""})`,
    results,
  );
  const one = results.find((r) => r.label.includes("preprocess step, 1 worker"));
  const all = results.find((r) => r.label.includes(`preprocess step, ${cores} workers`));
  if (one && all)
    console.log(
      `scaling, preprocess ${cores} workers vs 1: ${(one.seconds / all.seconds).toFixed(2)}×`,
    );
}

const scratch = await mkdtemp(join(tmpdir(), "gc-bench-msd-"));
const withH5py = hasH5py();
if (!withH5py)
  console.log(`(no h5py at ${PYTHON}: install python3-h5py for the reference figures)`);
try {
  if (existsSync(sample)) await benchFolder("real MSD sample", sample, scratch, withH5py);
  else console.log(`(no real sample at ${sample})`);
  const cache = join(tmpdir(), "genre-classifier-bench", `synthetic-${SYNTHETIC_TRACKS}-seed-7`);
  if (!existsSync(join(cache, ".complete"))) {
    console.log(
      `\ngenerating ${SYNTHETIC_TRACKS} synthetic track files in ${cache} (kept for later runs)…`,
    );
    await rm(cache, { recursive: true, force: true });
    await mkdir(cache, { recursive: true });
    const started = Date.now();
    await generateSubset({ tracks: SYNTHETIC_TRACKS, outDir: cache, seed: 7 });
    console.log(`generated in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await writeFile(join(cache, ".complete"), "");
  }
  await benchFolder("synthetic MSD subset", join(cache, "data"), scratch, withH5py);
} finally {
  await rm(scratch, { recursive: true, force: true });
}
