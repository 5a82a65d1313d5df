// Loads the effective configuration: defaults ← config file ← GENRE_CLASSIFIER_* environment
// variables ← command-line flags, validated with zod, remembering where each value came from.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type * as Yaml from "yaml";
import type { z } from "zod";
import { InputError } from "../common/errors.ts";
import { CONFIG_FILE_NAMES, type Config, configSchema, ENV_PREFIX } from "./schema.ts";

export type ConfigSource =
  | { kind: "default"; note?: string }
  | { kind: "file"; file: string }
  | { kind: "env"; name: string }
  | { kind: "flag"; flag: string };

export interface ConfigKey {
  /** Dotted path, e.g. `storage.s3.region`. */
  path: string;
  envName: string;
  kind: "string" | "number" | "boolean" | "enum";
  values?: readonly string[];
  description: string;
  secret: boolean;
}

/** Options given on the command line that bear on configuration. */
export interface ConfigFlags {
  config?: string | undefined;
  set?: string[] | undefined;
  dataDir?: string | undefined;
  store?: string | undefined;
  logLevel?: string | undefined;
  logFormat?: string | undefined;
  logFile?: string | undefined;
  verbose?: boolean | undefined;
  quiet?: boolean | undefined;
}

export interface LoadedConfig {
  config: Config;
  /** Where each key's effective value came from. */
  sources: Map<string, ConfigSource>;
  /** The config file read, if any. */
  file: string | undefined;
}

export interface LoadOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  flags?: ConfigFlags;
}

const CONFIG_FILE_ENV = `${ENV_PREFIX}CONFIG`;

const FLAG_KEYS: Record<string, { path: string; flag: string }> = {
  dataDir: { path: "dataDir", flag: "--data-dir" },
  store: { path: "storage.uri", flag: "--store" },
  logLevel: { path: "log.level", flag: "--log-level" },
  logFormat: { path: "log.format", flag: "--log-format" },
  logFile: { path: "log.file", flag: "--log-file" },
};

export const configKeys: ConfigKey[] = collectKeys(configSchema, "");
const keysByPath = new Map(configKeys.map((k) => [k.path, k]));

export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const flags = options.flags ?? {};
  const values = new Map<string, unknown>();
  const sources = new Map<string, ConfigSource>();

  const file = findConfigFile(cwd, env, flags);
  if (file) {
    const source: ConfigSource = { kind: "file", file };
    for (const [path, value] of flattenFileValues(readConfigFile(file), "", file)) {
      values.set(path, value);
      sources.set(path, source);
    }
  }

  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === CONFIG_FILE_ENV || raw === undefined) continue;
    const key = configKeys.find((k) => k.envName === name);
    if (!key) {
      throw new InputError(
        `environment variable ${name} is not a known setting (expected one of ${CONFIG_FILE_ENV}, ${configKeys.map((k) => k.envName).join(", ")})`,
      );
    }
    values.set(key.path, coerce(key, raw, `environment variable ${name}`));
    sources.set(key.path, { kind: "env", name });
  }

  for (const assignment of flags.set ?? []) {
    const eq = assignment.indexOf("=");
    if (eq <= 0)
      throw new InputError(`--set ${assignment}: expected key=value, e.g. --set log.level=debug`);
    const path = assignment.slice(0, eq).trim();
    const key = keysByPath.get(path);
    if (!key)
      throw new InputError(
        `--set ${path}: unknown key (expected one of ${configKeys.map((k) => k.path).join(", ")})`,
      );
    values.set(path, coerce(key, assignment.slice(eq + 1), `--set ${path}`));
    sources.set(path, { kind: "flag", flag: `--set ${path}` });
  }
  for (const [option, { path, flag }] of Object.entries(FLAG_KEYS)) {
    const raw = flags[option as keyof ConfigFlags];
    if (typeof raw !== "string") continue;
    values.set(path, coerce(keysByPath.get(path) as ConfigKey, raw, flag));
    sources.set(path, { kind: "flag", flag });
  }
  if (flags.verbose && flags.quiet)
    throw new InputError("--verbose and --quiet cannot be used together");
  if (flags.verbose || flags.quiet) {
    values.set("log.level", flags.verbose ? "debug" : "error");
    sources.set("log.level", { kind: "flag", flag: flags.verbose ? "--verbose" : "--quiet" });
  }

  const parsed = configSchema.safeParse(unflatten(values));
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    const path = issue.path.join(".");
    const source = sources.get(path);
    const from = source ? ` (from ${describeSource(source)})` : "";
    throw new InputError(`config key ${path}${from}: ${issue.message}`);
  }
  const config = resolvePaths(parsed.data, cwd, sources);
  for (const key of configKeys)
    if (!sources.has(key.path)) sources.set(key.path, { kind: "default" });
  if (!values.has("storage.uri"))
    sources.set("storage.uri", { kind: "default", note: "<dataDir>/store" });
  if (!values.has("tracking.uri"))
    sources.set("tracking.uri", { kind: "default", note: "<dataDir>/tracking.db" });
  return { config, sources, file };
}

export function describeSource(source: ConfigSource): string {
  switch (source.kind) {
    case "default":
      return source.note ? `default: ${source.note}` : "default";
    case "file":
      return `file ${source.file}`;
    case "env":
      return `env ${source.name}`;
    case "flag":
      return `flag ${source.flag}`;
  }
}

/** Reads a dotted path out of a config object. */
export function configValue(config: Config, path: string): unknown {
  let node: unknown = config;
  for (const part of path.split(".")) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** A value as it may be shown: secrets and passwords inside URIs masked. */
export function displayValue(key: ConfigKey, value: unknown): string {
  if (value === undefined) return "(unset)";
  if (key.secret) return "****";
  const text = String(value);
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@]*:)[^/@]*@/i, "$1****@");
}

function findConfigFile(
  cwd: string,
  env: NodeJS.ProcessEnv,
  flags: ConfigFlags,
): string | undefined {
  const named = flags.config ?? env[CONFIG_FILE_ENV];
  if (named) {
    const file = resolve(cwd, named);
    const origin = flags.config ? "--config" : CONFIG_FILE_ENV;
    if (!existsSync(file)) throw new InputError(`${origin} ${named}: config file not found`);
    return file;
  }
  const found = CONFIG_FILE_NAMES.map((n) => resolve(cwd, n)).filter((f) => existsSync(f));
  if (found.length > 1) {
    throw new InputError(
      `several config files in ${cwd} (${found.join(", ")}): keep one, or choose with --config`,
    );
  }
  return found[0];
}

/** The YAML parser, loaded (synchronously: a CommonJS package) only for a YAML config file. */
function yaml(): typeof Yaml {
  return createRequire(import.meta.url)("yaml") as typeof Yaml;
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new InputError(`config file ${file}: cannot be read (${(error as Error).message})`);
  }
  const ext = extname(file).toLowerCase();
  try {
    if (ext === ".json") return JSON.parse(text);
    if (ext === ".yaml" || ext === ".yml") return yaml().parse(text) ?? {};
  } catch (error) {
    const format = ext === ".json" ? "JSON" : "YAML";
    throw new InputError(
      `config file ${file}: not valid ${format}: ${(error as Error).message.split("\n")[0]}`,
    );
  }
  throw new InputError(`config file ${file}: expected a .json, .yaml or .yml file`);
}

function flattenFileValues(node: unknown, prefix: string, file: string): [string, unknown][] {
  if (node === null || typeof node !== "object" || Array.isArray(node)) {
    throw new InputError(
      `config file ${file}: ${prefix || "the top level"} must be an object of settings`,
    );
  }
  const out: [string, unknown][] = [];
  for (const [name, value] of Object.entries(node)) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (keysByPath.has(path)) {
      out.push([path, value]);
    } else if (configKeys.some((k) => k.path.startsWith(`${path}.`))) {
      out.push(...flattenFileValues(value, path, file));
    } else {
      const siblings = childNames(prefix);
      throw new InputError(
        `config file ${file}: unknown key ${path} (expected one of: ${siblings.join(", ")})`,
      );
    }
  }
  return out;
}

function childNames(prefix: string): string[] {
  const depth = prefix ? prefix.split(".").length : 0;
  const names = configKeys
    .filter((k) => !prefix || k.path.startsWith(`${prefix}.`))
    .map((k) => k.path.split(".")[depth] as string);
  return [...new Set(names)];
}

function coerce(key: ConfigKey, raw: string, origin: string): unknown {
  const text = raw.trim();
  switch (key.kind) {
    case "number": {
      const value = Number(text);
      if (text === "" || !Number.isFinite(value))
        throw new InputError(`${origin}: expected a number, got "${raw}"`);
      return value;
    }
    case "boolean": {
      const lower = text.toLowerCase();
      if (["true", "1", "yes", "on"].includes(lower)) return true;
      if (["false", "0", "no", "off"].includes(lower)) return false;
      throw new InputError(`${origin}: expected true or false, got "${raw}"`);
    }
    case "enum":
      if (!key.values?.includes(text)) {
        throw new InputError(`${origin}: expected one of ${key.values?.join(", ")}, got "${raw}"`);
      }
      return text;
    case "string":
      return raw;
  }
}

function unflatten(values: Map<string, unknown>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [path, value] of values) {
    const parts = path.split(".");
    let node = root;
    for (const part of parts.slice(0, -1)) {
      node[part] ??= {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1] as string] = value;
  }
  return root;
}

function resolvePaths(config: Config, cwd: string, sources: Map<string, ConfigSource>): Config {
  const baseDir = (path: string) => {
    const source = sources.get(path);
    return source?.kind === "file" ? dirname(source.file) : cwd;
  };
  const dataDir = resolve(baseDir("dataDir"), config.dataDir);
  let storageUri = config.storage.uri ?? pathToFileURL(resolve(dataDir, "store")).href;
  if (!/^[a-z][a-z0-9+.-]*:/i.test(storageUri)) {
    storageUri = pathToFileURL(resolve(baseDir("storage.uri"), storageUri)).href;
  }
  let trackingUri = config.tracking.uri ?? sqliteUri(resolve(dataDir, "tracking.db"));
  if (!/^[a-z][a-z0-9+.-]*:/i.test(trackingUri)) {
    trackingUri = sqliteUri(resolve(baseDir("tracking.uri"), trackingUri));
  }
  const logFile = config.log.file ? resolve(baseDir("log.file"), config.log.file) : undefined;
  return {
    ...config,
    dataDir,
    storage: { ...config.storage, uri: storageUri },
    tracking: { ...config.tracking, uri: trackingUri },
    log: { ...config.log, file: logFile },
  };
}

/** An SQLite tracking URI for a file: `sqlite:///abs/path/tracking.db`. */
function sqliteUri(file: string): string {
  return pathToFileURL(file).href.replace(/^file:/, "sqlite:");
}

function collectKeys(schema: z.ZodType, prefix: string): ConfigKey[] {
  const def = (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
  switch (def.type) {
    case "default":
    case "prefault":
    case "optional":
      return collectKeys(def.innerType as z.ZodType, prefix).map((k) =>
        k.path === prefix && !k.description ? { ...k, description: schema.description ?? "" } : k,
      );
    case "object":
      return Object.entries(def.shape as Record<string, z.ZodType>).flatMap(([name, child]) =>
        collectKeys(child, prefix ? `${prefix}.${name}` : name),
      );
    case "string":
    case "number":
    case "boolean":
    case "enum": {
      const name = prefix.split(".").at(-1) as string;
      return [
        {
          path: prefix,
          envName:
            ENV_PREFIX +
            prefix
              .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
              .replaceAll(".", "_")
              .toUpperCase(),
          kind: def.type,
          ...(def.type === "enum" ? { values: Object.keys(def.entries as object) } : {}),
          description: schema.description ?? "",
          secret: /secret|token|password/i.test(name),
        },
      ];
    }
    default:
      throw new Error(`config schema: unsupported type ${def.type} at ${prefix}`);
  }
}

interface ZodDef {
  type: string;
  innerType?: unknown;
  shape?: unknown;
  entries?: unknown;
}
