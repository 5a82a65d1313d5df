// Keeps the Dockerfile, .dockerignore, compose.yaml and .env.example true to the code, since no
// image can be built nor compose run here: every command they run is parsed by the real
// commander program, every GENRE_CLASSIFIER_* variable is loaded by the real configuration
// loader, and the ports, healthchecks, stages, users, volumes and the wiring between the
// services (hosts, credentials, bucket) agree with each other. The healthcheck script is run
// against a real HTTP server.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { Command } from "commander";
import { parseDocument } from "yaml";
import { buildProgram } from "../../src/cli/main.ts";
import { configKeys, loadConfig } from "../../src/config/load.ts";
import { type Config, configSchema } from "../../src/config/schema.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const read = (file: string) => readFile(join(root, file), "utf8");

const defaults = configSchema.parse({});
const knownEnvNames = new Set([...configKeys.map((k) => k.envName), "GENRE_CLASSIFIER_CONFIG"]);

// --- the Dockerfile -------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  name: string;
  image: string;
  instructions: Instruction[];
}

/** Instructions with their continuation lines joined; comments and parser directives dropped. */
function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = "";
  let start = 0;
  text.split("\n").forEach((raw, index) => {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (pending === "" && line.trim() === "")) return;
    if (pending === "") start = index + 1;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    pending += line;
    const match = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(pending);
    assert.ok(match, `Dockerfile line ${start}: an instruction`);
    instructions.push({
      keyword: (match[1] as string).toUpperCase(),
      args: (match[2] as string).trim().replace(/\s+/g, " "),
      line: start,
    });
    pending = "";
  });
  return instructions;
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === "FROM") {
      const [image, as, name] = instruction.args.split(" ");
      assert.equal(as?.toUpperCase(), "AS", `FROM on line ${instruction.line} names its stage`);
      stages.push({ name: name as string, image: image as string, instructions: [] });
    } else stages.at(-1)?.instructions.push(instruction);
  }
  return stages;
}

/** An exec-form argument list (JSON array), as Docker requires for ENTRYPOINT, CMD, HEALTHCHECK. */
function execForm(args: string, what: string): string[] {
  assert.ok(args.startsWith("["), `${what} uses the exec form (a JSON array)`);
  const parsed = JSON.parse(args) as unknown;
  assert.ok(Array.isArray(parsed) && parsed.every((a) => typeof a === "string"));
  return parsed as string[];
}

function only(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

/** `ENV A=1 B=2` as pairs (the Dockerfile's values hold no spaces or quotes). */
function envPairs(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of only(stage, "ENV"))
    for (const pair of args.split(" ")) {
      const eq = pair.indexOf("=");
      assert.ok(eq > 0, `ENV ${pair}: NAME=value`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  return env;
}

interface Copy {
  from: string | undefined;
  sources: string[];
  destination: string;
}

function copiesOf(stage: Stage): Copy[] {
  return only(stage, "COPY").map(({ args }) => {
    const words = args.split(" ");
    const from = words.find((w) => w.startsWith("--from="))?.slice("--from=".length);
    const paths = words.filter((w) => !w.startsWith("--"));
    return { from, sources: paths.slice(0, -1), destination: paths.at(-1) as string };
  });
}

// --- compose.yaml ---------------------------------------------------------------------------

interface Healthcheck {
  test?: string[] | string;
  disable?: boolean;
}

interface Service {
  image?: string;
  build?: { context: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
  volumes?: string[];
  container_name?: string;
  restart?: string;
  profiles?: string[];
  stop_grace_period?: string;
  deploy?: { replicas?: number };
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** Compose's interpolation of `${NAME}`, `${NAME:-default}`, `${NAME:?error}` and `$$`. */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?|-|\?)([^}]*))?\}/g,
    (whole, name: string | undefined, operator: string | undefined, operand: string) => {
      if (whole === "$$") return "$";
      const value = vars[name as string];
      const set = operator?.startsWith(":") ? Boolean(value) : value !== undefined;
      if (set) return value as string;
      if (operator?.endsWith("?"))
        throw new Error(`\${${name}} is required (${operand}) and unset`);
      return operator ? operand : "";
    },
  );
}

/** Variable names used in `${…}` expressions, with whether they have a default. */
function variablesIn(text: string): Map<string, { required: boolean }> {
  const found = new Map<string, { required: boolean }>();
  for (const match of text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?])?/g)) {
    const name = match[1] as string;
    const required = match[2] === undefined || match[2].endsWith("?");
    found.set(name, { required: (found.get(name)?.required ?? false) || required });
  }
  return found;
}

function parseEnvFile(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const eq = trimmed.indexOf("=");
    assert.ok(eq > 0, `.env.example: ${trimmed}: NAME=value`);
    values.set(trimmed.slice(0, eq), trimmed.slice(eq + 1));
  }
  return values;
}

function commandOf(service: Service, name: string): string[] {
  assert.ok(Array.isArray(service.command), `${name}'s command is a list of arguments`);
  return service.command.map(String);
}

/** The value of `--name value` or `--name=value` in an argument list. */
function flagValue(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === name) return argv[i + 1];
    if (argv[i]?.startsWith(`${name}=`)) return argv[i]?.slice(name.length + 1);
  }
  return undefined;
}

function seconds(duration: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(duration);
  assert.ok(match, `${duration}: a compose duration`);
  const factor = { ms: 0.001, s: 1, m: 60, h: 3600 }[match[2] as "ms" | "s" | "m" | "h"];
  return Number(match[1]) * factor;
}

// --- the command line -----------------------------------------------------------------------

interface ParsedCommand {
  /** The command path: "serve", "flows run". */
  path: string;
  /** The command's options with the global ones, as commander parsed them. */
  options: Record<string, unknown>;
}

/**
 * Parses argv with the real commander program, whose commands' actions are replaced by one that
 * records what was parsed: unknown commands and options, missing arguments and bad option
 * values (port numbers, seconds) fail here as they would in the container.
 */
async function parseWithCli(argv: string[]): Promise<ParsedCommand> {
  const program = await buildProgram();
  let parsed: ParsedCommand | undefined;
  const prepare = (command: Command, path: string[]) => {
    command.exitOverride();
    command.configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
    if (command.commands.length === 0)
      command.action((...args: unknown[]) => {
        const self = args.at(-1) as Command;
        parsed = { path: path.join(" "), options: self.optsWithGlobals() };
      });
    for (const sub of command.commands) prepare(sub, [...path, sub.name()]);
  };
  prepare(program, []);
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    throw new Error(`genre-classifier ${argv.join(" ")}: ${(error as Error).message}`);
  }
  assert.ok(parsed, `genre-classifier ${argv.join(" ")}: runs a command`);
  return parsed;
}

/** Loads the configuration from these environment variables alone, as the container would. */
function configFrom(env: Record<string, string>, cwd: string): Config {
  for (const name of Object.keys(env))
    if (name.startsWith("GENRE_CLASSIFIER_"))
      assert.ok(knownEnvNames.has(name), `${name} is a configuration key's variable`);
  return loadConfig({ cwd, env }).config;
}

// --- the healthcheck script, run for real ---------------------------------------------------

const execFileAsync = promisify(execFile);

/** The `node -e` script of a healthcheck and the URL it reads. */
function healthcheckScript(test: string[]): { script: string; url: URL } {
  const args = test[0] === "CMD" ? test.slice(1) : test;
  assert.equal(args[0], "node", "the healthcheck runs node (the slim image has no curl)");
  assert.equal(args[1], "-e");
  const script = args[2] as string;
  const url = /'(http:\/\/[^']+)'/.exec(script)?.[1];
  assert.ok(url, "the healthcheck script names its URL");
  return { script, url: new URL(url) };
}

async function healthcheckExitCode(script: string): Promise<number> {
  try {
    await execFileAsync(process.execPath, ["-e", script], { timeout: 15_000 });
    return 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

describe("container: Dockerfile", () => {
  let instructions: Instruction[];
  let stages: Stage[];
  let runtime: Stage;
  let packageJson: {
    bin: Record<string, string>;
    scripts: Record<string, string>;
    allowScripts?: Record<string, boolean>;
  };
  let cwd: string;

  before(async () => {
    instructions = parseDockerfile(await read("Dockerfile"));
    stages = stagesOf(instructions);
    runtime = stages.at(-1) as Stage;
    packageJson = JSON.parse(await read("package.json"));
    cwd = await mkdtemp(join(tmpdir(), "gc-container-"));
  });
  after(() => rm(cwd, { recursive: true, force: true }));

  it("takes the base image as a build argument, a Debian-based Node.js 20 or newer", () => {
    const first = instructions[0] as Instruction;
    assert.equal(first.keyword, "ARG", "the base image argument comes before the first FROM");
    const match = /^NODE_IMAGE=node:(\d+)-(bookworm|trixie)-slim$/.exec(first.args);
    assert.ok(match, `ARG ${first.args}: NODE_IMAGE defaulting to node:<major>-<debian>-slim`);
    assert.ok(Number(match[1]) >= 20, "Node.js 20 or newer (package.json engines)");
    assert.ok(stages.length >= 3, "build, production dependencies and runtime stages");
    for (const stage of stages) assert.equal(stage.image, `\${NODE_IMAGE}`, `stage ${stage.name}`);
  });

  it("compiles dist/ in a build stage, as npm run build does", async () => {
    const build = copiesOf(runtime).find((c) => c.sources.includes("/app/dist"));
    assert.ok(build?.from, "the runtime copies dist/ from a stage");
    const stage = stages.find((s) => s.name === build.from) as Stage;
    const runs = only(stage, "RUN").map((r) => r.args);
    assert.ok(runs.some((r) => /\bnpm ci\b/.test(r) && !r.includes("--omit=dev")));
    assert.ok(runs.includes("npm run build"), "the build stage runs npm run build");
    assert.match(packageJson.scripts.build as string, /tsc -p tsconfig\.build\.json/);
    const buildConfig = JSON.parse(await read("tsconfig.build.json")) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    assert.deepEqual(
      [buildConfig.compilerOptions.rootDir, buildConfig.compilerOptions.outDir],
      ["src", "dist"],
    );
    // bin/genre-classifier.js loads dist/cli/entry.js, compiled from src/cli/entry.ts.
    assert.match(await read("bin/genre-classifier.js"), /\.\.\/dist\/cli\/entry\.js/);
    assert.ok(existsSync(join(root, "src/cli/entry.ts")));
    const copied = copiesOf(stage).flatMap((c) => c.sources);
    for (const file of [
      "package.json",
      "package-lock.json",
      "tsconfig.json",
      "tsconfig.build.json",
    ])
      assert.ok(copied.includes(file), `the build stage copies ${file}`);
    assert.ok(copied.includes("src"), "the build stage copies src");
  });

  it("installs production dependencies only, and builds every native one", async () => {
    const runtimeRuns = only(runtime, "RUN").map((r) => r.args);
    assert.ok(!runtimeRuns.some((r) => /\bnpm\b/.test(r)), "the runtime stage installs nothing");
    const modules = copiesOf(runtime).filter((c) => c.sources.some((s) => /node_modules/.test(s)));
    assert.equal(modules.length, 1, "node_modules comes from one stage");
    const stage = stages.find((s) => s.name === modules[0]?.from) as Stage;
    assert.ok(stage, "node_modules comes from a named stage");
    const install = only(stage, "RUN").find((r) => /\bnpm ci\b/.test(r.args))?.args ?? "";
    assert.match(install, /npm ci --omit=dev\b/, `stage ${stage.name}: npm ci --omit=dev`);
    // Install scripts are skipped (the package's own prepare would need TypeScript); each
    // production dependency with an install script is rebuilt, or denied in allowScripts.
    assert.match(install, /--ignore-scripts/);
    const lock = JSON.parse(await read("package-lock.json")) as {
      packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }>;
    };
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (!entry.hasInstallScript || entry.dev) continue;
      const name = path.replace(/^.*node_modules\//, "");
      if (packageJson.allowScripts?.[name] === false) continue;
      assert.match(install, new RegExp(`npm rebuild [^&]*\\b${name}\\b`), `rebuilds ${name}`);
    }
  });

  it("runs as a non-root user that owns only the data folder", () => {
    const users = only(runtime, "USER");
    assert.ok(users.length > 0, "the runtime stage sets USER");
    const user = (users.at(-1) as Instruction).args;
    const [uid, gid] = user.split(":");
    assert.match(uid as string, /^[1-9]\d*$/, `USER ${user}: a numeric non-root uid`);
    assert.notEqual(gid, "0", "not the root group");
    const setup = only(runtime, "RUN")
      .map((r) => r.args)
      .join(" ");
    assert.match(setup, new RegExp(`useradd .*--uid ${uid}\\b`), `a user with uid ${uid}`);
    if (gid) assert.match(setup, new RegExp(`groupadd .*--gid ${gid}\\b`));
    const dataDir = envPairs(runtime).GENRE_CLASSIFIER_DATA_DIR;
    assert.ok(dataDir, "GENRE_CLASSIFIER_DATA_DIR is set");
    assert.match(setup, new RegExp(`chown \\S+ ${dataDir}\\b`), `${dataDir} belongs to the user`);
    assert.deepEqual(
      only(runtime, "VOLUME").map((v) => execForm(v.args, "VOLUME")),
      [[dataDir]],
      "the data folder is the volume",
    );
  });

  it("sets only known configuration variables, which load", () => {
    const env = envPairs(runtime);
    assert.ok(Object.keys(env).some((name) => name.startsWith("GENRE_CLASSIFIER_")));
    const config = configFrom(env, cwd);
    assert.equal(config.dataDir, env.GENRE_CLASSIFIER_DATA_DIR);
  });

  it("runs the CLI as its entrypoint, and serve on every interface by default", async () => {
    const [entrypoint] = only(runtime, "ENTRYPOINT");
    const [workdir] = only(runtime, "WORKDIR");
    assert.ok(entrypoint && workdir);
    const binFile = packageJson.bin["genre-classifier"] as string;
    assert.deepEqual(execForm(entrypoint.args, "ENTRYPOINT"), [
      "node",
      `${workdir.args}/${binFile}`,
    ]);
    const copies = copiesOf(runtime);
    for (const needed of [binFile.split("/")[0] as string, "package.json"])
      assert.ok(
        copies.some((c) => c.from === undefined && c.sources.includes(needed)),
        `the runtime copies ${needed} (bin loads dist/, main.ts reads package.json)`,
      );
    const [cmd] = only(runtime, "CMD");
    assert.ok(cmd, "a default command");
    const parsed = await parseWithCli(execForm(cmd.args, "CMD"));
    assert.equal(parsed.path, "serve");
    assert.equal(parsed.options.host, "0.0.0.0", "serve listens beyond the container");
  });

  it("exposes serve's port and checks its /healthz there", () => {
    const exposed = only(runtime, "EXPOSE").map((e) => Number(e.args));
    assert.deepEqual(exposed, [defaults.server.port], "EXPOSE serve's default port");
    const [healthcheck] = only(runtime, "HEALTHCHECK");
    assert.ok(healthcheck, "a HEALTHCHECK");
    const test = /CMD (\[.*\])$/.exec(healthcheck.args)?.[1];
    assert.ok(test, "HEALTHCHECK CMD in exec form");
    const { url } = healthcheckScript(execForm(test, "HEALTHCHECK"));
    assert.equal(url.hostname, "127.0.0.1");
    assert.equal(Number(url.port), defaults.server.port);
    assert.equal(url.pathname, "/healthz");
    assert.match(healthcheck.args, /--timeout=(\d+)s/);
  });

  it("builds from exactly what .dockerignore lets through", async () => {
    const patterns = (await read(".dockerignore"))
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#"));
    assert.equal(patterns[0], "*", ".dockerignore starts by leaving everything out");
    const allowed = patterns.slice(1).map((p) => {
      assert.ok(p.startsWith("!"), `${p}: after *, only exceptions`);
      return p.slice(1).replace(/\/$/, "");
    });
    const sources = new Set(
      stages
        .flatMap((s) => copiesOf(s).filter((c) => c.from === undefined))
        .flatMap((c) => c.sources),
    );
    assert.deepEqual([...sources].sort(), [...allowed].sort(), "the COPY sources, no more");
    for (const source of sources) assert.ok(existsSync(join(root, source)), `${source} exists`);
  });
});

/** The shell lines of a Markdown page's sh blocks, continuations joined and comments dropped. */
function shellLines(markdown: string): string[] {
  const lines: string[] = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g))
    for (const line of (block[1] as string).replace(/\\\n\s*/g, " ").split("\n")) {
      const command = line.replace(/(^|\s)#.*$/, "").trim();
      if (command) lines.push(command);
    }
  return lines;
}

/** Words of a shell line: whitespace-separated, with '…' and "…" quoting. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? "");
}

/** The options of `docker compose run` and `docker run` that take a value. */
const DOCKER_OPTIONS_WITH_VALUE = new Set([
  "-v",
  "--volume",
  "-e",
  "--env",
  "-p",
  "--publish",
  "-u",
  "--user",
  "-w",
  "--workdir",
  "--name",
  "--entrypoint",
]);

describe("container: compose.yaml", () => {
  let compose: ComposeFile;
  let composeText: string;
  let envExample: Map<string, string>;
  /** .env.example with a sample value for every empty secret. */
  let vars: Record<string, string>;
  let appServices: [string, Service][];
  let dockerfileEnv: Record<string, string>;
  let cwd: string;

  const resolved = (text: string) => interpolate(text, vars);
  const serviceEnv = (service: Service): Record<string, string> =>
    Object.fromEntries(
      Object.entries(service.environment ?? {}).map(([k, v]) => [k, resolved(String(v))]),
    );

  before(async () => {
    composeText = await read("compose.yaml");
    const document = parseDocument(composeText, { merge: true, uniqueKeys: true });
    assert.deepEqual(document.errors, [], "compose.yaml is valid YAML");
    compose = document.toJS() as ComposeFile;
    envExample = parseEnvFile(await read(".env.example"));
    vars = Object.fromEntries(
      [...envExample].map(([name, value]) => [name, value || `sample${name.length}x`]),
    );
    appServices = Object.entries(compose.services).filter(([, s]) => s.build?.context === ".");
    const dockerfile = stagesOf(parseDockerfile(await read("Dockerfile"))).at(-1) as Stage;
    dockerfileEnv = envPairs(dockerfile);
    cwd = await mkdtemp(join(tmpdir(), "gc-compose-"));
  });
  after(() => rm(cwd, { recursive: true, force: true }));

  it("holds PostgreSQL, Redis, an S3 server and serve, scheduler and worker", () => {
    const images = Object.values(compose.services).map((s) => s.image ?? "");
    assert.ok(images.some((i) => /^postgres:\d+/.test(i)));
    assert.ok(images.some((i) => /^redis:\d+/.test(i)));
    assert.ok(compose.services.s3, "an s3 service");
    for (const name of ["serve", "scheduler", "worker"])
      assert.ok(
        appServices.some(([n]) => n === name),
        `${name} is built from the Dockerfile`,
      );
    const built = new Set(appServices.map(([, s]) => s.image));
    assert.equal(built.size, 1, "every genre-classifier service runs the same image");
    for (const [name, service] of appServices)
      assert.ok(service.build?.args?.NODE_IMAGE, `${name} passes the NODE_IMAGE build argument`);
  });

  it("runs commands and options the CLI has", async () => {
    const expected: Record<string, string> = {
      serve: "serve",
      scheduler: "scheduler",
      worker: "worker",
    };
    for (const [name, service] of appServices) {
      const argv = commandOf(service, name);
      if (service.profiles?.length && argv.length === 1 && argv[0] === "--help") continue;
      const parsed = await parseWithCli(argv);
      if (expected[name]) assert.equal(parsed.path, expected[name], `${name} runs ${name}`);
    }
  });

  it("configures the services with known variables that load, wired to the other services", () => {
    const postgres = serviceEnv(compose.services.postgres as Service);
    const s3 = compose.services.s3 as Service;
    const s3Env = serviceEnv(s3);
    const s3Port = flagValue(commandOf(s3, "s3"), "-s3.port");
    const redisCommand = commandOf(compose.services.redis as Service, "redis").map(resolved);
    const bucket = serviceEnv(compose.services["create-bucket"] as Service).S3_BUCKET;
    for (const [name, service] of appServices) {
      for (const [key, value] of Object.entries(service.environment ?? {}))
        assert.ok(
          typeof value === "string" || typeof value === "number",
          `${name}: ${key} is a string (compose refuses booleans)`,
        );
      const config = configFrom({ ...dockerfileEnv, ...serviceEnv(service) }, cwd);
      const where = `${name}'s configuration`;

      assert.equal(config.orchestration.executor, "bullmq", `${where}: BullMQ workers`);
      const redis = new URL(config.orchestration.redis.url);
      assert.ok(compose.services[redis.hostname], `${where}: Redis host is a service`);
      assert.equal(redis.password, flagValue(redisCommand, "--requirepass"), `${where}: Redis`);

      const tracking = new URL(config.tracking.uri as string);
      assert.equal(tracking.protocol, "postgres:", `${where}: PostgreSQL tracking`);
      assert.equal(tracking.hostname, "postgres");
      assert.equal(tracking.port, "5432");
      assert.equal(tracking.username, postgres.POSTGRES_USER);
      assert.equal(tracking.password, postgres.POSTGRES_PASSWORD);
      assert.equal(tracking.pathname, `/${postgres.POSTGRES_DB}`);

      const store = new URL(config.storage.uri as string);
      assert.equal(store.protocol, "s3:", `${where}: the S3 object store`);
      assert.equal(store.hostname, bucket, `${where}: the bucket create-bucket creates`);
      const endpoint = new URL(config.storage.s3.endpoint as string);
      assert.ok(compose.services[endpoint.hostname], `${where}: S3 endpoint host is a service`);
      assert.equal(endpoint.port, s3Port, `${where}: the S3 server's port`);
      assert.equal(config.storage.s3.forcePathStyle, true, `${where}: path-style buckets`);
      assert.equal(config.storage.s3.accessKeyId, s3Env.AWS_ACCESS_KEY_ID);
      assert.equal(config.storage.s3.secretAccessKey, s3Env.AWS_SECRET_ACCESS_KEY);
    }
    const serve = compose.services.serve as Service;
    const config = configFrom({ ...dockerfileEnv, ...serviceEnv(serve) }, cwd);
    assert.ok(config.server.token, "serve requires a token (it listens beyond loopback)");
  });

  it("checks each long-running service's health, on the port it listens on", async () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.restart === "no") continue;
      assert.ok(service.healthcheck?.test, `${name} has a healthcheck`);
    }
    for (const [name, service] of appServices) {
      if (service.profiles?.length) continue;
      const argv = commandOf(service, name);
      const parsed = await parseWithCli(argv);
      const test = service.healthcheck?.test;
      assert.ok(Array.isArray(test), `${name}'s healthcheck is an argument list`);
      const { url } = healthcheckScript(test);
      assert.equal(url.pathname, "/healthz", `${name}: liveness`);
      const listens =
        parsed.path === "serve"
          ? Number(parsed.options.port ?? configFrom(serviceEnv(service), cwd).server.port)
          : parsed.options.healthPort;
      assert.ok(listens !== undefined, `${name} is started with --health-port`);
      assert.equal(Number(url.port), Number(listens), `${name}'s healthcheck reads its port`);
    }
  });

  it("publishes serve's port, and nothing that would stop workers scaling", async () => {
    const serve = compose.services.serve as Service;
    const parsed = await parseWithCli(commandOf(serve, "serve"));
    const port = Number(parsed.options.port ?? defaults.server.port);
    const published = (serve.ports ?? []).map((p) => resolved(p).split(":").at(-1));
    assert.deepEqual(published, [String(port)], "serve publishes the port it listens on");
    const worker = compose.services.worker as Service;
    assert.equal(worker.container_name, undefined, "no fixed name: --scale worker=N");
    assert.equal(worker.ports, undefined, "no published port: --scale worker=N");
    assert.equal(worker.deploy?.replicas, undefined, "the number of workers is --scale's");
  });

  it("gives each service longer to stop than its own --shutdown-timeout", () => {
    for (const [name, service] of appServices) {
      const timeout = flagValue(commandOf(service, name), "--shutdown-timeout");
      if (timeout === undefined) continue;
      assert.ok(service.stop_grace_period, `${name} sets stop_grace_period`);
      assert.ok(
        seconds(service.stop_grace_period) > Number(timeout),
        `${name}: stop_grace_period ${service.stop_grace_period} > --shutdown-timeout ${timeout}`,
      );
    }
  });

  it("starts services after the ones they depend on are healthy or done", () => {
    for (const [name, service] of Object.entries(compose.services))
      for (const [target, { condition }] of Object.entries(service.depends_on ?? {})) {
        const dependency = compose.services[target];
        assert.ok(dependency, `${name} depends on ${target}, a service`);
        if (condition === "service_healthy")
          assert.ok(dependency.healthcheck?.test, `${target} has a healthcheck to wait for`);
        else if (condition === "service_completed_successfully")
          assert.equal(dependency.restart, "no", `${target} is a one-shot`);
        else assert.fail(`${name} → ${target}: condition ${condition}`);
      }
  });

  it("keeps the servers' data in declared named volumes", () => {
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    for (const name of ["postgres", "redis", "s3"]) {
      const volumes = compose.services[name]?.volumes ?? [];
      assert.ok(volumes.length > 0, `${name} keeps its data in a volume`);
      for (const volume of volumes)
        assert.ok(declared.has(volume.split(":")[0] as string), `${volume}: a declared volume`);
    }
  });

  it("reads the variables .env.example lists, and no secret has a default", () => {
    const used = variablesIn(composeText);
    assert.deepEqual(
      [...used.keys()].sort(),
      [...envExample.keys()].sort(),
      "compose.yaml and .env.example name the same variables",
    );
    const secrets = [...used.keys()].filter((name) => /TOKEN|PASSWORD|SECRET/.test(name));
    assert.ok(secrets.length >= 4, "the token and the three servers' secrets");
    for (const name of secrets) {
      assert.equal(used.get(name)?.required, true, `${name} is required, without a default`);
      assert.equal(envExample.get(name), "", `.env.example leaves ${name} to fill in`);
    }
    assert.throws(() => interpolate(composeText, {}), /is required/, "compose stops without .env");
  });

  it("documents commands for the cli service and the image that the CLI runs", async () => {
    const pages = ["README.md", "docs/deployment.md"];
    let checked = 0;
    for (const page of pages)
      for (const line of shellLines(await read(page))) {
        const words = shellWords(line);
        let rest: string[];
        if (words.slice(0, 3).join(" ") === "docker compose run") rest = words.slice(3);
        else if (words.slice(0, 2).join(" ") === "docker run") rest = words.slice(2);
        else continue;
        const env: Record<string, string> = {};
        let i = 0;
        for (; i < rest.length && /^(-|…$)/.test(rest[i] as string); i++)
          if (DOCKER_OPTIONS_WITH_VALUE.has(rest[i] as string)) {
            const [name, value] = (rest[i + 1] ?? "").split(/=(.*)/s);
            if (rest[i] === "-e" || rest[i] === "--env") env[name as string] = value ?? "";
            i++;
          }
        const target = rest[i];
        const argv = rest.slice(i + 1);
        if (target !== "cli" && target !== "genre-classifier") continue;
        const where = `${page}: ${line}`;
        if (Object.keys(env).length > 0) {
          const service = compose.services.cli as Service;
          configFrom({ ...dockerfileEnv, ...serviceEnv(service), ...env }, cwd);
        }
        if (argv.length === 0 || argv[0] === "--help") continue;
        await parseWithCli(argv).catch((error: Error) => assert.fail(`${where}: ${error.message}`));
        checked++;
      }
    assert.ok(checked >= 8, `${checked} documented commands checked`);
  });

  it("runs a healthcheck script that passes on a 200 and fails otherwise", async () => {
    const scripts = new Set<string>();
    for (const [, service] of appServices)
      if (Array.isArray(service.healthcheck?.test))
        scripts.add(healthcheckScript(service.healthcheck.test).script);
    const dockerfile = stagesOf(parseDockerfile(await read("Dockerfile"))).at(-1) as Stage;
    const [instruction] = only(dockerfile, "HEALTHCHECK");
    const test = /CMD (\[.*\])$/.exec(instruction?.args ?? "")?.[1] as string;
    scripts.add(healthcheckScript(execForm(test, "HEALTHCHECK")).script);

    let status = 200;
    const server: Server = createServer((request, response) => {
      response.writeHead(request.url === "/healthz" ? status : 404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      for (const script of scripts) {
        const local = script.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`);
        assert.notEqual(local, script, "the script names 127.0.0.1:<port>");
        status = 200;
        assert.equal(await healthcheckExitCode(local), 0, "healthy on 200");
        status = 503;
        assert.equal(await healthcheckExitCode(local), 1, "unhealthy on 503");
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    for (const script of scripts)
      assert.equal(
        await healthcheckExitCode(script.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`)),
        1,
        "unhealthy when nothing listens",
      );
  });
});
