// Benchmark of data drift against a Python script doing the same tests with numpy and scipy
// (bench/drift_reference.py, Debian's /usr/bin/python3) on the same tables, in the same run:
// reference tables of 10,000 and 1,000,000 rows × 68 MSD-like numeric columns (the feature
// table's seed and audio columns: confidences on a 0.001 grid, key, mode, time signature and
// year with few values and many ties, timbre and pitch statistics) and a current batch of 100
// rows that has moved in a few columns.
//
//   npm run bench:drift [-- --rows 10000,1000000] [--current 100] [--tests evidently,p-values]
//     [--runs N] [--daily-runs 5] [--from-source]
//
// --runs N runs the full drift N times on each side, alternating (default 3 up to 100,000
// reference rows, 1 above: scipy takes about a minute per run at 1,000,000 on a busy 2-core
// machine); the daily run, a fraction of a second, runs --daily-runs times.
//
// Every figure is a whole process, timed from spawn to exit, reading its data from files:
//   full     ours: a node process that reads both tables and computes the drift (computeDrift:
//            summarize the reference, then test; no charts). scipy: the script on the same bytes.
//   daily    ours: a fresh process that opens the kept reference summary, reads the batch and
//            computes the drift with the report's chart data, as the daily monitor does.
//   summary  ours: the one-off cost of a process that reads the reference table and writes its
//            summary file.
// Both sides read the tables as raw float64 (column after column), so neither pays for a file
// format the other does not. "evidently" is DataDriftPreset's test choice (distances above
// 1,000 reference rows), "p-values" the daily monitor's (K-S, chi-square or Z at any size).
// The bench checks that the results agree before printing them: each column's test and drift
// decision equal and its score within 1e-9 (relative) of scipy's, and the daily run's JSON equal
// to the full run's. Ours runs as it ships: this file and the sources it imports are compiled
// with tsc into a temporary folder and run with plain node (--from-source: under tsx).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { computeDrift, type DriftOptions, driftAgainstSummary } from "../src/monitoring/drift.ts";
import { summarizeReference } from "../src/monitoring/reference.ts";
import {
  openReferenceSummary,
  serializeReferenceSummary,
} from "../src/monitoring/reference-file.ts";
import type { DriftResult } from "../src/monitoring/types.ts";

const { values: args } = parseArgs({
  options: {
    rows: { type: "string", default: "10000,1000000" },
    current: { type: "string", default: "100" },
    tests: { type: "string", default: "evidently,p-values" },
    runs: { type: "string" },
    "daily-runs": { type: "string", default: "5" },
    "from-source": { type: "boolean", default: false },
    /** Internal: full|daily|summary, on the case in this folder. */
    child: { type: "string" },
    folder: { type: "string" },
    choice: { type: "string", default: "evidently" },
  },
});

// ---------------------------------------------------------------------------------------------
// The tables

/** A deterministic stream (xorshift32) in [0, 1). */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

function normal(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

const round = (v: number, step: number) => Math.round(v / step) * step;

type Column = [name: string, value: (next: () => number, shift: number) => number];

/** The feature table's 68 seed and audio columns, each drawn roughly as the MSD has them. */
function columns(): Column[] {
  const out: Column[] = [
    [
      "year",
      (n, s) => (n() < 0.45 ? 0 : Math.min(2011, Math.round(2011 - 12 * -Math.log(1 - n()) + s))),
    ],
    ["duration", (n, s) => round(Math.exp(5.4 + 0.45 * normal(n)) + 20 * s, 1e-5)],
    ["key", (n) => Math.floor(n() * 12)],
    ["key_confidence", (n) => round(n(), 0.001)],
    ["loudness", (n, s) => round(-Math.min(60, 2 + 8 * -Math.log(1 - n())) + s, 0.001)],
    ["mode", (n, s) => (n() < 0.69 - 0.1 * s ? 1 : 0)],
    ["mode_confidence", (n) => round(n(), 0.001)],
    ["tempo", (n, s) => round(Math.max(0, 122 + 30 * normal(n) + 8 * s), 0.001)],
    ["time_signature", (n) => [4, 4, 4, 4, 4, 4, 3, 3, 1, 5, 7][Math.floor(n() * 11)] as number],
    ["time_signature_confidence", (n) => round(n(), 0.001)],
  ];
  for (let i = 1; i <= 12; i++) {
    const scale = i === 1 ? 6 : 60 / i;
    out.push([`timbre_mean_${i}`, (n, s) => scale * normal(n) + (i <= 3 ? 0.6 * s * scale : 0)]);
  }
  for (let i = 1; i <= 12; i++) {
    out.push([`timbre_std_${i}`, (n) => Math.exp(Math.log(40 / Math.sqrt(i)) + 0.3 * normal(n))]);
  }
  for (let i = 1; i <= 12; i++) out.push([`pitch_mean_${i}`, (n) => 0.05 + 0.9 * n() ** 1.5]);
  for (let i = 1; i <= 12; i++) out.push([`pitch_std_${i}`, (n) => 0.1 + 0.25 * n()]);
  out.push(
    ["segment_loudness_max_mean", (n, s) => -8 - 5 * -Math.log(1 - n()) + 0.5 * s],
    ["segment_loudness_max_std", (n) => 2 + 4 * n()],
    ["segment_loudness_max_peak", (n) => round(-Math.min(40, 3 * -Math.log(1 - n())), 0.001)],
    ["segment_loudness_start_mean", (n) => -25 + 8 * normal(n)],
    ["segment_loudness_max_time_mean", (n) => 0.05 + 0.1 * n()],
    ["segment_confidence_mean", (n) => 0.2 + 0.6 * n()],
    ["segments_per_second", (n) => 2 + 3 * n() ** 2],
    ["beats_per_second", (n, s) => (122 + 30 * normal(n) + 8 * s) / 60],
    ["bars_per_second", (n) => (30 + 10 * normal(n)) / 60],
    ["sections_per_minute", (n) => round(1 + 3 * n(), 1 / 60)],
  );
  return out;
}

/** A table column after column (rows × 68 float64), a few NaN in the measured columns. */
function table(rows: number, seed: number, shift: number): Float64Array {
  const all = columns();
  const out = new Float64Array(rows * all.length);
  all.forEach(([, value], k) => {
    const next = random(seed * 1000 + k + 1);
    for (let i = 0; i < rows; i++) {
      out[k * rows + i] = k > 10 && next() < 0.002 ? Number.NaN : value(next, shift);
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// The child processes (ours)

/**
 * The process's peak resident set (VmHWM): getrusage's maxrss would include the parent's, which
 * a child inherits through fork on Linux.
 */
function peakResidentMiB(): number {
  const status = readFileSync("/proc/self/status", "utf8");
  const kib = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
  return kib === undefined ? process.resourceUsage().maxRSS / 1024 : Number(kib) / 1024;
}

interface Layout {
  columns: string[];
  referenceRows: number;
  currentRows: number;
}

function readTable(folder: string, side: "reference" | "current", names: string[]) {
  const bytes = readFileSync(join(folder, `${side}.bin`));
  const all = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  const rows = all.length / names.length;
  return new Map(names.map((name, k) => [name, all.subarray(k * rows, (k + 1) * rows)]));
}

/** What both sides print: the dataset and each column's test, score and decision. */
function tests(result: DriftResult) {
  return {
    dataset: {
      drift: result.dataset.drift,
      share: result.dataset.share,
      drifted: result.dataset.drifted,
    },
    columns: result.columns.map((c) => ({
      column: c.column,
      referenceRows: c.referenceRows,
      currentRows: c.currentRows,
      test: c.test,
      score: c.score,
      statistic: c.statistic ?? null,
      drift: c.drift,
    })),
  };
}

function runChild(mode: string, folder: string, choice: string): void {
  const started = performance.now();
  const layout = JSON.parse(readFileSync(join(folder, "columns.json"), "utf8")) as Layout;
  const options: DriftOptions = { testChoice: choice as "evidently" | "p-values", charts: false };
  const peakMiB = peakResidentMiB;
  const cpuSeconds = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1e6;
  };
  if (mode === "summary") {
    const reference = readTable(folder, "reference", layout.columns);
    const bytes = serializeReferenceSummary(summarizeReference(reference));
    writeFileSync(join(folder, "reference.summary"), bytes);
    process.stdout.write(
      JSON.stringify({ bytes: bytes.length, peakMiB: peakMiB(), cpuSeconds: cpuSeconds() }),
    );
    return;
  }
  if (mode === "full") {
    const reference = readTable(folder, "reference", layout.columns);
    const current = readTable(folder, "current", layout.columns);
    const read = performance.now();
    const result = tests(computeDrift(reference, current, options));
    const done = performance.now();
    process.stdout.write(
      JSON.stringify({
        ...result,
        readSeconds: (read - started) / 1000,
        testSeconds: (done - read) / 1000,
        peakMiB: peakMiB(),
        cpuSeconds: cpuSeconds(),
      }),
    );
    return;
  }
  const summary = openReferenceSummary(join(folder, "reference.summary"));
  const current = readTable(folder, "current", layout.columns);
  const read = performance.now();
  const full = driftAgainstSummary(summary, current, { ...options, charts: true });
  const done = performance.now();
  summary.close();
  process.stdout.write(
    JSON.stringify({
      ...tests(full),
      readSeconds: (read - started) / 1000,
      testSeconds: (done - read) / 1000,
      summaryBytesRead: summary.reads.bytes,
      peakMiB: peakMiB(),
      cpuSeconds: cpuSeconds(),
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// The parent

interface Outcome {
  seconds: number;
  output: {
    dataset?: { drift: boolean; share: number; drifted: number };
    columns?: { column: string; test: string | null; score: number | null; drift: boolean }[];
    readSeconds?: number;
    testSeconds?: number;
    peakMiB: number;
    /** The process's CPU time, user and system: what it would take on an idle core. */
    cpuSeconds: number;
    bytes?: number;
    summaryBytesRead?: number;
  };
}

function run(command: string, argv: string[], what: string): Outcome {
  const started = performance.now();
  const r = spawnSync(command, argv, { encoding: "utf8", maxBuffer: 1 << 24 });
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) {
    const why = r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit code ${r.status}`);
    throw new Error(`${what} failed (${why}): ${r.stderr.slice(-2000)}`);
  }
  return { seconds, output: JSON.parse(r.stdout) as Outcome["output"] };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Differences between two results, each a line; none when they agree. */
function disagreements(
  ours: Outcome["output"],
  theirs: Outcome["output"],
  exact: boolean,
): string[] {
  const out: string[] = [];
  const close = (a: number | null, b: number | null) =>
    a === b ||
    (a !== null && b !== null && Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)));
  if (
    ours.dataset?.share !== theirs.dataset?.share ||
    ours.dataset?.drift !== theirs.dataset?.drift
  ) {
    out.push(`dataset: share ${ours.dataset?.share} vs ${theirs.dataset?.share}`);
  }
  if (exact && JSON.stringify(ours.columns) !== JSON.stringify(theirs.columns)) {
    out.push("the daily run's columns differ from the full run's");
  }
  const byName = new Map((theirs.columns ?? []).map((c) => [c.column, c]));
  for (const c of ours.columns ?? []) {
    const t = byName.get(c.column);
    if (!t) out.push(`${c.column}: missing on the other side`);
    else if (c.test !== t.test || c.drift !== t.drift || !close(c.score, t.score)) {
      out.push(`${c.column}: ${c.test} ${c.score} ${c.drift} vs ${t.test} ${t.score} ${t.drift}`);
    }
  }
  return out;
}

function report(choice: string, problems: string[]): void {
  if (problems.length === 0) return;
  failed = true;
  console.log(`  ${choice}: THE RESULTS DISAGREE:\n    ${problems.join("\n    ")}`);
}

let failed = false;

function compileSelf(): { command: string; argv: string[]; folder: string } {
  const self = fileURLToPath(import.meta.url);
  const root = join(dirname(self), "..");
  const folder = mkdtempSync(join(tmpdir(), "bench-drift-js-"));
  writeFileSync(
    join(folder, "tsconfig.json"),
    JSON.stringify({
      extends: join(root, "tsconfig.json"),
      compilerOptions: {
        rootDir: root,
        outDir: folder,
        noEmit: false,
        sourceMap: false,
        typeRoots: [join(root, "node_modules", "@types")],
      },
      files: [self],
      include: [],
    }),
  );
  writeFileSync(join(folder, "package.json"), JSON.stringify({ type: "module" }));
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", join(folder, "tsconfig.json")], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`tsc failed: ${r.stdout}${r.stderr}`);
  return { command: process.execPath, argv: [join(folder, "bench", "drift.js")], folder };
}

function main(): void {
  const self = fileURLToPath(import.meta.url);
  const compiled = args["from-source"] ? undefined : compileSelf();
  const ours = (mode: string, folder: string, choice = "evidently") =>
    run(
      compiled?.command ?? process.execPath,
      [
        ...(compiled?.argv ?? [...process.execArgv, self]),
        "--child",
        mode,
        "--folder",
        folder,
        "--choice",
        choice,
      ],
      `ours (${mode})`,
    );
  const scipy = (folder: string, choice: string) =>
    run(
      "/usr/bin/python3",
      [join(dirname(self), "drift_reference.py"), folder, choice],
      "the scipy script",
    );
  const choices = (args.tests as string).split(",");
  const runsFor = (rows: number) =>
    args.runs === undefined ? (rows <= 100_000 ? 3 : 1) : Number(args.runs);
  const dailyRuns = Number(args["daily-runs"]);
  const currentRows = Number(args.current);
  const names = columns().map(([name]) => name);
  const figures: string[][] = [];
  console.log(
    `ours ${compiled ? "compiled to JavaScript" : "from the .ts sources under tsx"}, scipy on /usr/bin/python3; ${names.length} columns, ${currentRows} current rows; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")} at the start`,
  );
  try {
    for (const rows of (args.rows as string).split(",").map(Number)) {
      const folder = mkdtempSync(join(tmpdir(), "bench-drift-"));
      try {
        const t0 = performance.now();
        writeFileSync(join(folder, "reference.bin"), table(rows, 1, 0));
        writeFileSync(join(folder, "current.bin"), table(currentRows, 2, 1));
        const layout: Layout = { columns: names, referenceRows: rows, currentRows };
        writeFileSync(join(folder, "columns.json"), JSON.stringify(layout));
        const summary = ours("summary", folder);
        const fileBytes = statSync(join(folder, "reference.summary")).size;
        console.log(
          `\n${rows.toLocaleString("en")} reference rows: tables made in ${((performance.now() - t0) / 1000).toFixed(1)} s; summary ${(fileBytes / 2 ** 20).toFixed(1)} MiB written in ${summary.seconds.toFixed(2)} s (peak ${summary.output.peakMiB.toFixed(0)} MiB)`,
        );
        for (const choice of choices) {
          const times = { ours: [] as number[], scipy: [] as number[], daily: [] as number[] };
          const cpu = { ours: [] as number[], scipy: [] as number[], daily: [] as number[] };
          const peak = { ours: 0, scipy: 0, daily: 0 };
          let read = 0;
          let full: Outcome | undefined;
          let reference: Outcome | undefined;
          for (let r = 0; r < runsFor(rows); r++) {
            const load = loadavg()[0] as number;
            full = ours("full", folder, choice);
            reference = scipy(folder, choice);
            const problems = disagreements(full.output, reference.output, false);
            report(choice, problems);
            times.ours.push(full.seconds);
            times.scipy.push(reference.seconds);
            cpu.ours.push(full.output.cpuSeconds);
            cpu.scipy.push(reference.output.cpuSeconds);
            peak.ours = Math.max(peak.ours, full.output.peakMiB);
            peak.scipy = Math.max(peak.scipy, reference.output.peakMiB);
            console.log(
              `  ${choice} run ${r + 1}: full ours ${full.seconds.toFixed(2)} s (read ${full.output.readSeconds?.toFixed(2)}, test ${full.output.testSeconds?.toFixed(2)}, CPU ${full.output.cpuSeconds.toFixed(2)}), scipy ${reference.seconds.toFixed(2)} s (read ${reference.output.readSeconds?.toFixed(2)}, test ${reference.output.testSeconds?.toFixed(2)}, CPU ${reference.output.cpuSeconds.toFixed(2)}), ours/scipy ${(full.seconds / reference.seconds).toFixed(2)}; load ${load.toFixed(1)} before${problems.length === 0 ? "; results agree" : ""}`,
            );
          }
          const dailyLines: string[] = [];
          for (let r = 0; r < dailyRuns; r++) {
            const load = loadavg()[0] as number;
            const daily = ours("daily", folder, choice);
            report(choice, disagreements(daily.output, (full as Outcome).output, true));
            times.daily.push(daily.seconds);
            cpu.daily.push(daily.output.cpuSeconds);
            peak.daily = Math.max(peak.daily, daily.output.peakMiB);
            read = daily.output.summaryBytesRead ?? 0;
            dailyLines.push(
              `${daily.seconds.toFixed(3)} s (drift ${daily.output.testSeconds?.toFixed(3)}, CPU ${daily.output.cpuSeconds.toFixed(3)}, load ${load.toFixed(1)})`,
            );
          }
          console.log(`  ${choice} daily runs: ${dailyLines.join(", ")}`);
          const tested = new Set(
            ((reference as Outcome).output.columns ?? []).map((c) => c.test ?? "untested"),
          );
          figures.push([
            rows.toLocaleString("en"),
            `${choice} (${[...tested].join(", ")})`,
            `${median(times.ours).toFixed(2)} s (CPU ${median(cpu.ours).toFixed(2)}), ${peak.ours.toFixed(0)} MiB`,
            `${median(times.scipy).toFixed(2)} s (CPU ${median(cpu.scipy).toFixed(2)}), ${peak.scipy.toFixed(0)} MiB`,
            (median(times.ours) / median(times.scipy)).toFixed(2),
            `${median(times.daily).toFixed(3)} s (CPU ${median(cpu.daily).toFixed(3)}), ${peak.daily.toFixed(0)} MiB, read ${(read / 2 ** 20).toFixed(1)} of ${(fileBytes / 2 ** 20).toFixed(1)} MiB`,
            `${summary.seconds.toFixed(2)} s (CPU ${summary.output.cpuSeconds.toFixed(2)})`,
          ]);
        }
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    }
  } finally {
    if (compiled) rmSync(compiled.folder, { recursive: true, force: true });
  }
  const head = [
    "reference rows",
    "tests",
    "full: ours",
    "full: scipy",
    "ours/scipy",
    "daily: ours (summary kept)",
    "summary (once)",
  ];
  const widths = head.map((h, i) =>
    Math.max(h.length, ...figures.map((f) => (f[i] as string).length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(" | ")} |`;
  console.log(`\n${line(head)}\n${line(widths.map((w) => "-".repeat(w)))}`);
  for (const f of figures) console.log(line(f));
  console.log(
    "\nwhole processes from spawn to exit, medians (CPU: the process's user + system time, about what it takes on an idle core); MiB: the process's peak resident set. full: read both tables and test every column (ours summarizes the reference first); daily: open the kept summary, read the batch, test with the report's chart data; summary: read the reference table, summarize, write the summary file",
  );
  if (failed) {
    console.log("\nTHE RESULTS DISAGREED in at least one run (see above)");
    process.exitCode = 1;
  }
}

if (args.child !== undefined) runChild(args.child, args.folder as string, args.choice as string);
else main();
