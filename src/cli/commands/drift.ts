// `drift --reference A --current B`: data drift between any two tables (CSV or Parquet), as
// Evidently's DataDriftPreset reports it on two DataFrames; prints a short summary, writes the
// self-contained HTML report and the JSON on request, and exits 1 with --fail-on-drift when the
// dataset drifts.
import { writeFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import { InputError } from "../../common/errors.ts";
import { readPlainTable } from "../../features/plain-table.ts";
import { computeDrift, type DriftOptions } from "../../monitoring/drift.ts";
import { renderDayReport } from "../../monitoring/report.ts";
import type { DriftResult, MonitoringReport } from "../../monitoring/types.ts";
import { printLine, printTable } from "../output.ts";

interface DriftFlags {
  reference: string;
  current: string;
  columns?: string;
  exclude?: string;
  out?: string;
  json?: string;
  failOnDrift?: boolean;
  tests: "evidently" | "p-values";
  driftShare?: number;
}

function names(list: string | undefined): string[] | undefined {
  if (list === undefined) return undefined;
  const parsed = list
    .split(",")
    .map((n) => n.trim())
    .filter((n) => n !== "");
  return parsed.length > 0 ? parsed : undefined;
}

function share(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !(parsed > 0 && parsed <= 1))
    throw new InputError(`--drift-share ${value}: expected a number above 0, at most 1`);
  return parsed;
}

/** The JSON the command writes: the dataset and each column's test, without chart data. */
export function driftJson(result: DriftResult) {
  return {
    dataset: result.dataset,
    columns: result.columns.map(({ charts: _charts, ...column }) => column),
    excluded: result.excluded,
  };
}

export function registerDriftCommand(program: Command): void {
  program
    .command("drift")
    .description(
      "data drift between two tables (CSV or Parquet), column by column as Evidently's DataDriftPreset",
    )
    .requiredOption("--reference <table>", "the reference table (.csv or .parquet)")
    .requiredOption("--current <table>", "the current table (.csv or .parquet)")
    .option("--columns <a,b,…>", "test only these columns (default: every common column)")
    .option("--exclude <a,b,…>", "leave these columns out")
    .option("--out <report.html>", "write the self-contained HTML report here")
    .option("--json <report.json>", "write the result as JSON here")
    .option("--fail-on-drift", "exit 1 when the dataset drifts")
    .addOption(
      new Option(
        "--tests <choice>",
        "evidently: DataDriftPreset's choice by reference size; p-values: K-S, chi-square and Z-test at any size",
      )
        .choices(["evidently", "p-values"])
        .default("evidently"),
    )
    .option(
      "--drift-share <share>",
      "share of drifted columns at which the dataset drifts (default 0.5)",
      share,
    )
    .action(async (flags: DriftFlags) => {
      const started = performance.now();
      const reference = await readPlainTable(flags.reference);
      const current = await readPlainTable(flags.current);
      const columns = names(flags.columns);
      const exclude = names(flags.exclude);
      const options: DriftOptions = {
        testChoice: flags.tests,
        charts: flags.out !== undefined,
        ...(columns ? { columns } : {}),
        ...(exclude ? { exclude: exclude.map((column) => ({ column, reason: "--exclude" })) } : {}),
        ...(flags.driftShare === undefined ? {} : { driftShare: flags.driftShare }),
      };
      const result = computeDrift(reference.columns, current.columns, options);
      const seconds = (performance.now() - started) / 1000;
      const { dataset } = result;

      if (flags.json !== undefined)
        await writeFile(flags.json, `${JSON.stringify(driftJson(result), null, 2)}\n`);
      if (flags.out !== undefined) {
        const report: MonitoringReport = {
          title: `drift: ${flags.current} against ${flags.reference}`,
          createdAt: new Date().toISOString(),
          reference: { rows: reference.rows, source: flags.reference },
          current: { rows: current.rows, source: flags.current },
          drift: result,
        };
        await writeFile(flags.out, renderDayReport(report));
      }

      printLine(
        `Dataset drift is ${dataset.drift ? "detected" : "NOT detected"}: ${dataset.drifted} of ${dataset.columns} columns drifted (share ${dataset.share.toFixed(3)}, threshold ${dataset.threshold}); ${reference.rows} reference rows, ${current.rows} current rows, ${seconds.toFixed(2)} s`,
      );
      const drifted = result.columns.filter((c) => c.drift);
      if (drifted.length > 0)
        printTable(
          ["column", "type", "test", "score", "threshold"],
          drifted
            .slice(0, 20)
            .map((c) => [
              c.column,
              c.type,
              c.test ?? "—",
              (c.score ?? Number.NaN).toFixed(6),
              String(c.threshold),
            ]),
        );
      if (drifted.length > 20) printLine(`… and ${drifted.length - 20} more`);
      const untestable = result.columns.filter((c) => c.test === null);
      for (const c of untestable) printLine(`not tested: ${c.column}: ${c.untestable}`);
      for (const e of result.excluded) printLine(`excluded: ${e.column}: ${e.reason}`);
      if (flags.out !== undefined) printLine(`report: ${flags.out}`);
      if (flags.json !== undefined) printLine(`json:   ${flags.json}`);
      if (flags.failOnDrift && dataset.drift) process.exitCode = 1;
    });
}
