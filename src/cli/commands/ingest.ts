// `ingest`: brings MSD track files from a folder or an archive into the object store.
import type { Command } from "commander";
import { Progress } from "../../common/progress.ts";
import { DEFAULT_RAW_PREFIX, type IngestSummary, ingest } from "../../ingest/ingest.ts";
import { type CommandContext, createContext } from "../context.ts";
import { positiveInteger } from "../options.ts";
import { formatBytes, printJson, printLine } from "../output.ts";

interface IngestFlags {
  source: string;
  prefix?: string;
  concurrency?: number;
  json?: boolean;
}

export function registerIngestCommand(program: Command): void {
  program
    .command("ingest")
    .description("bring MSD track files (a folder or the subset's .tar.gz) into the object store")
    .requiredOption("--source <path>", "folder of track files, or a .tar, .tar.gz or .tgz archive")
    .option("--prefix <prefix>", "where track files go in the store", DEFAULT_RAW_PREFIX)
    .option("--concurrency <n>", "files written at once", positiveInteger, 8)
    .option("--json", "print the summary as JSON")
    .action(async (flags: IngestFlags, command: Command) => {
      const summary = await runIngest(createContext(command), flags);
      if (flags.json) printJson(summary);
      else printIngestSummary(summary);
    });
}

export async function runIngest(
  context: CommandContext,
  flags: IngestFlags,
): Promise<IngestSummary> {
  const store = context.openStore();
  const progress = new Progress({ label: "ingest", unit: "files", quiet: context.quiet });
  try {
    const summary = await ingest({
      source: flags.source,
      store,
      prefix: flags.prefix,
      concurrency: flags.concurrency,
      onFile: () => progress.tick(),
    });
    progress.finish();
    return summary;
  } finally {
    await store.close();
  }
}

export function printIngestSummary(summary: IngestSummary): void {
  printLine(
    `ingest: ${summary.found} track files found in ${summary.source} (${summary.seconds.toFixed(1)} s)`,
  );
  printLine(`  copied     ${summary.copied} (${formatBytes(summary.bytesCopied)})`);
  printLine(`  unchanged  ${summary.unchanged}`);
  printLine(`  rejected   ${summary.rejected.length}`);
  for (const r of summary.rejected.slice(0, 20)) printLine(`    ${r.path}: ${r.reason}`);
  if (summary.rejected.length > 20)
    printLine(`    … and ${summary.rejected.length - 20} more (use --json for all)`);
  printLine(`  skipped    ${summary.skipped} other files`);
  printLine(`  track files are in ${summary.target}/`);
}
