// bench:msd: MSD track extraction (the reader + feature summaries) per file and in tracks per
// second, in one thread and on every core (the preprocess step), next to h5py and numpy doing
// the same extraction on the same files in the same run. Runs on the real sample
// (../shared/msd-sample, when present) and on 10,000 synthetic files. The preprocess step
// runs BENCH_MSD_ROUNDS times (5) with 1 worker, with every core and with 1 worker pinned to
// one CPU (taskset), each round beside what the machine gives at all: a pure-CPU loop in 1
// thread, then in one thread per core at once. The machine is shared, so each figure is
// printed with the load average when it was taken, and scaling is judged on the rounds where
// the pure-CPU loop found every core free.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MessageChannel, Worker } from "node:worker_threads";
import { startWorker } from "../src/common/worker-pool.ts";
import { extractFeatures, FEATURE_ARRAYS } from "../src/features/extract.ts";
import { preprocess } from "../src/features/preprocess.ts";
import { defaultVocabulary } from "../src/features/vocabulary.ts";
import { readTrack } from "../src/msd/reader.ts";
import { generateSubset } from "../src/msd/synth.ts";
import { LocalObjectStore } from "../src/storage/local.ts";

const SYNTHETIC_TRACKS = Number(process.env.BENCH_MSD_TRACKS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_MSD_ROUNDS ?? 5);
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

async function oursPreprocess(
  store: LocalObjectStore,
  rawPrefix: string,
  workers: number,
): Promise<{ seconds: number; steadySeconds: number }> {
  // The steady rate: from the 10th to the 90th percent of files written, without the start-up
  // (threads, first files) and the end (last row group, putting the tables in the store).
  const marks: number[] = [];
  const summary = await preprocess({
    store,
    vocabulary: defaultVocabulary(),
    workers,
    rawPrefix,
    featuresKey: `.bench-msd/features-${workers}.parquet`,
    rejectsKey: `.bench-msd/rejects-${workers}.parquet`,
    onFile: (done, total) => {
      if (done === Math.ceil(total * 0.1) || done === Math.floor(total * 0.9))
        marks.push(performance.now());
    },
  });
  await store.delete(`.bench-msd/features-${workers}.parquet`);
  await store.delete(`.bench-msd/rejects-${workers}.parquet`);
  const [from = 0, to = 0] = marks;
  return { seconds: summary.seconds, steadySeconds: (to - from) / 1000 / 0.8 };
}

function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}

/** Units of a pure-CPU loop done in `ms` by `threads` worker threads running at once. */
async function cpuUnits(threads: number, ms: number): Promise<number> {
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    let x = 1, units = 0;
    const end = Date.now() + workerData.ms;
    while (Date.now() < end) {
      for (let i = 0; i < 1e5; i++) x = (x * 1103515245 + 12345) | 0;
      units++;
    }
    parentPort.postMessage(units + (x === 0.5 ? 1 : 0));`;
  const workers = Array.from(
    { length: threads },
    () => new Worker(code, { eval: true, workerData: { ms } }),
  );
  const units = await Promise.all(
    workers.map((w) => new Promise<number>((resolve) => w.once("message", resolve))),
  );
  await Promise.all(workers.map((w) => w.terminate()));
  return units.reduce((a, b) => a + b, 0);
}

/** What `cores` threads at once give over one thread, on this machine right now. */
async function machineCeiling(): Promise<number> {
  const one = await cpuUnits(1, 1500);
  const all = await cpuUnits(cores, 1500);
  return all / one;
}

/**
 * Our own reading alone, without the listing, the hand-out or the writing: files per second
 * of one reader thread, and of one reader per core at once (each on its own files).
 */
async function readerCeiling(files: string[]): Promise<number> {
  const setup = { vocabulary: [...defaultVocabulary()], minTermWeight: 0 };
  const base = new URL("../src/features/preprocess.ts", import.meta.url).href;
  // The readers' rows go to channels nobody reads, so this thread does no work for them.
  const channels = Array.from({ length: cores }, () => new MessageChannel());
  const readers = channels.map((channel) => {
    const reader = startWorker(base, "preprocess-reader", setup);
    reader.postMessage({ writerPort: channel.port1 }, [channel.port1]);
    return reader;
  });
  const read = async (reader: Worker, list: string[]) => {
    for (let i = 0; i < list.length; i += 32) {
      const paths = list.slice(i, i + 32);
      reader.postMessage({ id: i, seq: i, part: 0, parts: 1, keys: paths, paths });
      await new Promise((resolve) => reader.once("message", resolve));
    }
  };
  try {
    const share = Math.min(2000, Math.floor(files.length / (cores + 1)));
    await Promise.all(readers.map((r, i) => read(r, files.slice(i * 50, i * 50 + 50))));
    let started = performance.now();
    await read(readers[0] as Worker, files.slice(0, share));
    const one = performance.now() - started;
    started = performance.now();
    await Promise.all(
      readers.map((r, i) => read(r, files.slice((i + 1) * share, (i + 2) * share))),
    );
    const all = performance.now() - started;
    return (cores * one) / all;
  } finally {
    await Promise.all(readers.map((r) => r.terminate()));
    for (const channel of channels) channel.port2.close();
  }
}

/** Pins this process (every thread, and the threads it starts) to these CPUs. */
function pin(cpus: string): boolean {
  try {
    execFileSync("taskset", ["-a", "-p", "-c", cpus, String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function affinity(): string | undefined {
  try {
    const out = execFileSync("taskset", ["-p", "-c", String(process.pid)], { encoding: "utf8" });
    return out.split(":").at(-1)?.trim();
  } catch {
    return undefined;
  }
}

interface Result {
  label: string;
  files: number;
  seconds: number;
  /** The whole run's time at its steady rate (files 10%–90%), for the preprocess step. */
  steadySeconds?: number;
  load?: string;
}

/** How much faster `b` ran than `a` at their steady rates. */
function steadyRatio(a: Result, b: Result): string {
  return a.steadySeconds && b.steadySeconds ? (a.steadySeconds / b.steadySeconds).toFixed(2) : "-";
}

function print(title: string, results: Result[]): void {
  console.log(`\n${title}`);
  console.log(`${"".padEnd(56)} ${"ms/file".padStart(9)} ${"tracks/s".padStart(10)}  load average`);
  for (const r of results) {
    console.log(
      `${r.label.padEnd(56)} ${((r.seconds * 1000) / r.files).toFixed(2).padStart(9)} ${(r.files / r.seconds).toFixed(0).padStart(10)}  ${r.load ?? ""}`,
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
  await oursOneThread(files.slice(0, 5), 1);
  const repeat = Math.max(1, Math.ceil(500 / files.length));
  const reads = files.length * repeat;
  const measure = async (
    label: string,
    count: number,
    run: () =>
      | Promise<number | { seconds: number; steadySeconds: number }>
      | number
      | { seconds: number; steadySeconds: number },
  ): Promise<Result> => {
    const outcome = await run();
    const timing = typeof outcome === "number" ? { seconds: outcome } : outcome;
    return { label, files: count, ...timing, load: loadAverage() };
  };
  const results: Result[] = [
    await measure("ours: read + extract, 1 thread", reads, () => oursOneThread(files, repeat)),
  ];
  if (withH5py) {
    results.push(
      await measure("h5py + numpy: same extraction, 1 process", reads, () =>
        h5py(listing, 1, repeat),
      ),
    );
  }
  const preprocessed = files.length >= 1000;
  const rounds: {
    one: Result;
    all: Result;
    pinned?: Result;
    ceiling: number;
    readers: number;
    load: string;
  }[] = [];
  if (preprocessed) {
    // The track files are preprocessed where they are: a store whose root holds the folder.
    const store = new LocalObjectStore(join(folder, ".."));
    const rawPrefix = folder.split("/").at(-1) as string;
    const allCpus = affinity();
    for (let round = 0; round < ROUNDS; round++) {
      const ceiling = await machineCeiling();
      const readers = await readerCeiling(files);
      const load = loadAverage();
      const one = await measure("ours: preprocess step, 1 worker", files.length, () =>
        oursPreprocess(store, rawPrefix, 1),
      );
      const all = await measure(`ours: preprocess step, ${cores} workers`, files.length, () =>
        oursPreprocess(store, rawPrefix, cores),
      );
      let pinned: Result | undefined;
      if (allCpus && pin("0")) {
        try {
          pinned = await measure(
            "ours: preprocess step, 1 worker, whole process on 1 CPU",
            files.length,
            () => oursPreprocess(store, rawPrefix, 1),
          );
        } finally {
          pin(allCpus);
        }
      }
      rounds.push({ one, all, pinned, ceiling, readers, load });
      console.log(
        `  round ${round + 1}: pure-CPU loop ${cores} threads vs 1 ${ceiling.toFixed(2)}×, our readers alone ${readers.toFixed(2)}× (load ${load}); preprocess 1 worker ${one.seconds.toFixed(2)} s, ${cores} workers ${all.seconds.toFixed(2)} s (${(one.seconds / all.seconds).toFixed(2)}×)${pinned ? `, 1 worker on 1 CPU ${pinned.seconds.toFixed(2)} s (${(pinned.seconds / all.seconds).toFixed(2)}×)` : ""}; steady rate ${steadyRatio(one, all)}×${pinned ? `, vs 1 CPU ${steadyRatio(pinned, all)}×` : ""} (load ${all.load})`,
      );
    }
    const best = (pick: (r: (typeof rounds)[number]) => Result | undefined) =>
      rounds
        .map(pick)
        .filter((r): r is Result => r !== undefined)
        .sort((a, b) => a.seconds - b.seconds)[0];
    for (const pick of [
      (r: (typeof rounds)[number]) => r.one,
      (r: (typeof rounds)[number]) => r.all,
      (r: (typeof rounds)[number]) => r.pinned,
    ]) {
      const result = best(pick);
      if (result) results.push({ ...result, label: `${result.label} (best of ${rounds.length})` });
    }
  }
  let h5pyAll: Result | undefined;
  if (withH5py) {
    h5pyAll = await measure(`h5py + numpy: same extraction, ${cores} processes`, reads, () =>
      h5py(listing, cores, repeat),
    );
    results.push(h5pyAll);
  }
  print(
    `${title}: ${files.length} files (read ${repeat}× over for the extraction rows${preprocessed ? "; the preprocess step reads each once" : ""})`,
    results,
  );
  const ours = results[0] as Result;
  const h5pyOne = results.find((r) => r.label.startsWith("h5py + numpy: same extraction, 1 "));
  if (h5pyOne) {
    console.log(
      `extraction, 1 thread: ours ${((ours.seconds * 1000) / ours.files).toFixed(2)} ms/file, h5py ${((h5pyOne.seconds * 1000) / h5pyOne.files).toFixed(2)} ms/file (${(h5pyOne.seconds / ours.seconds).toFixed(2)}× faster)`,
    );
  }
  if (rounds.length > 0) {
    const bestOf = (values: number[]) => Math.max(...values).toFixed(2);
    const ratios = (f: (r: (typeof rounds)[number]) => number | undefined) =>
      rounds.map(f).filter((x): x is number => x !== undefined);
    const workersScaling = ratios((r) => r.one.seconds / r.all.seconds);
    const coresScaling = ratios((r) => (r.pinned ? r.pinned.seconds / r.all.seconds : undefined));
    const ceilings = ratios((r) => r.ceiling);
    const readerCeilings = ratios((r) => r.readers);
    const list = (values: number[]) => values.map((v) => v.toFixed(2)).join(", ");
    const medianOf = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      const median =
        sorted.length % 2 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
      return (median ?? 0).toFixed(2);
    };
    // A round says something about scaling only when the machine had every core free for it.
    const free = rounds.filter((r) => r.ceiling >= cores * 0.95);
    const freeRatios = (f: (r: (typeof rounds)[number]) => number | undefined) =>
      free.map(f).filter((x): x is number => x !== undefined);
    const describe = (all: number[], onFree: number[]) =>
      `best ${bestOf(all)}×, median ${medianOf(all)}× (rounds: ${list(all)}); on a free machine (pure-CPU loop ≥ ${(cores * 0.95).toFixed(1)}×): ${onFree.length > 0 ? `median ${medianOf(onFree)}× over ${onFree.length} (${list(onFree)})` : "no such round"}`;
    console.log(
      `scaling, preprocess ${cores} workers vs 1 worker: ${describe(
        workersScaling,
        freeRatios((r) => r.one.seconds / r.all.seconds),
      )}`,
    );
    if (coresScaling.length > 0)
      console.log(
        `scaling, preprocess ${cores} workers vs 1 worker with the whole process on 1 CPU (the one-core throughput): ${describe(
          coresScaling,
          freeRatios((r) => (r.pinned ? r.pinned.seconds / r.all.seconds : undefined)),
        )}`,
      );
    const steady = (a?: Result, b?: Result) =>
      a?.steadySeconds && b?.steadySeconds ? a.steadySeconds / b.steadySeconds : undefined;
    console.log(
      `scaling at the steady rate (files 10%–90%), ${cores} workers vs 1 worker: ${describe(
        ratios((r) => steady(r.one, r.all)),
        freeRatios((r) => steady(r.one, r.all)),
      )}`,
    );
    if (coresScaling.length > 0)
      console.log(
        `scaling at the steady rate (files 10%–90%), ${cores} workers vs 1 worker on 1 CPU: ${describe(
          ratios((r) => steady(r.pinned, r.all)),
          freeRatios((r) => steady(r.pinned, r.all)),
        )}`,
      );
    console.log(
      `machine ceiling, a pure-CPU loop in ${cores} threads at once vs 1: best ${bestOf(ceilings)}× (rounds: ${list(ceilings)})`,
    );
    console.log(
      `our readers alone (no listing, hand-out or writing), ${cores} threads at once vs 1: best ${bestOf(readerCeilings)}× (rounds: ${list(readerCeilings)})`,
    );
  }
  if (h5pyOne && h5pyAll) {
    console.log(
      `scaling, h5py ${cores} processes vs 1: ${(h5pyOne.seconds / h5pyAll.seconds).toFixed(2)}×`,
    );
  }
}

const scratch = await mkdtemp(join(tmpdir(), "gc-bench-msd-"));
const withH5py = hasH5py();
if (!withH5py)
  console.log(`(no h5py at ${PYTHON}: install python3-h5py for the reference figures)`);
console.log(`load average at start: ${loadAverage()}`);
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
  console.log(`\nload average at end: ${loadAverage()}`);
}
