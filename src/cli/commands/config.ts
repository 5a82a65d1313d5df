// `config show`: the effective configuration, where each value came from, secrets masked.
import type { Command } from "commander";
import { configKeys, configValue, describeSource, displayValue } from "../../config/load.ts";
import { createContext } from "../context.ts";
import { printJson, printLine, printTable } from "../output.ts";

export function registerConfigCommands(program: Command): void {
  const config = program.command("config").description("inspect the configuration");
  config
    .command("show")
    .description("print the effective configuration and where each value came from")
    .option("--json", "print JSON instead of a table")
    .action((options: { json?: boolean }, command: Command) => {
      const { loaded } = createContext(command);
      const rows = configKeys.map((key) => {
        const value = displayValue(key, configValue(loaded.config, key.path));
        const source = describeSource(loaded.sources.get(key.path) ?? { kind: "default" });
        return { key: key.path, value, source, env: key.envName };
      });
      if (options.json) {
        printJson({ file: loaded.file ?? null, keys: rows });
        return;
      }
      printLine(`config file: ${loaded.file ?? "(none found)"}`);
      printTable(
        ["KEY", "VALUE", "SOURCE"],
        rows.map((r) => [r.key, r.value, r.source]),
      );
    });
}
