// What every command starts from: the effective configuration, a logger and the object
// store, built from the global options of the command line.
import type { Command } from "commander";
import { createLogger, type Logger } from "../common/logger.ts";
import { type ConfigFlags, type LoadedConfig, loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { openObjectStore } from "../storage/open.ts";

export interface CommandContext {
  loaded: LoadedConfig;
  config: Config;
  log: Logger;
  /** Progress bars and counts are hidden with --quiet. */
  quiet: boolean;
  openStore(): ObjectStore;
}

export function globalFlags(command: Command): ConfigFlags {
  return command.optsWithGlobals() as ConfigFlags;
}

export function createContext(command: Command): CommandContext {
  const flags = globalFlags(command);
  const loaded = loadConfig({ flags });
  const { config } = loaded;
  const log = createLogger({
    level: config.log.level,
    format: config.log.format,
    file: config.log.file,
  });
  return {
    loaded,
    config,
    log,
    quiet: flags.quiet === true,
    openStore: () => openObjectStore(config.storage.uri as string, config.storage.s3),
  };
}
