// `doctor`: checks the configuration, the data folder, the object store, the tracking database
// and its migrations, and Redis with the workers when the executor is BullMQ; prints one line
// per check (ok, warn or FAIL, what is wrong and how to fix it) or JSON, and exits 1 when a
// check fails.
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { silentLogger } from "../../common/logger.ts";
import { loadConfig } from "../../config/load.ts";
import { openObjectStore } from "../../storage/open.ts";
import { globalFlags } from "../context.ts";
import { loadFlowCatalog } from "../flow-catalog.ts";
import { printJson, printLine } from "../output.ts";

const DEFAULT_TIMEOUT_SECONDS = 5;

function checkSeconds(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed) || parsed <= 0 || parsed > 300)
    throw new InvalidArgumentError("expected a number of seconds above 0 and at most 300.");
  return parsed;
}

export function registerDoctorCommand(program: Command): void {
  program
    .command("doctor")
    .description(
      "check the configuration, data folder, object store, tracking database and migrations, and Redis; say what is wrong and how to fix it",
    )
    .option("--json", "print the checks as JSON")
    .option(
      "--timeout <seconds>",
      `how long each check may wait for a store or server (default ${DEFAULT_TIMEOUT_SECONDS})`,
      checkSeconds,
    )
    .action(async (flags: { json?: boolean; timeout?: number }, command: Command) => {
      const { runDoctor } = await import("../../operations/doctor.ts");
      const checks = await runDoctor({
        load: () => loadConfig({ flags: globalFlags(command) }),
        timeoutMs: (flags.timeout ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
        prepare: ({ config }) =>
          loadFlowCatalog({
            config,
            log: silentLogger,
            openStore: () => openObjectStore(config.storage.uri as string, config.storage.s3),
          }),
      });
      const failed = checks.filter((c) => c.status === "fail").length;
      const warned = checks.filter((c) => c.status === "warn").length;
      if (flags.json) printJson({ ok: failed === 0, checks });
      else {
        for (const check of checks)
          printLine(
            `${check.status === "fail" ? "FAIL" : check.status.padEnd(4)}  ${check.name}: ${check.message}${check.fix ? ` — fix: ${check.fix}` : ""}`,
          );
        printLine(
          `doctor: ${checks.length - failed - warned} ok, ${warned} warning${warned === 1 ? "" : "s"}, ${failed} failed`,
        );
      }
      if (failed > 0) process.exitCode = 1;
      // A database or Redis that accepted the connection and never answered may still hold a
      // socket the checks gave up on: the report is out, so the process exits regardless.
      setTimeout(() => process.exit(), 200).unref();
    });
}
