// What the AWS deployment (infra/) assumes of the application holds: the container commands
// parse with the real CLI, every environment variable given to the containers is a configuration
// key, the environment the tasks would get (secrets filled in) loads as a valid configuration
// with an S3 store, the BullMQ executor, Redis over TLS and PostgreSQL over TLS, the health
// listener answers the health check's path, and serve's /metrics has the gauge workers scale on.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse as parsePostgresUrl } from "pg-connection-string";
import {
  COMMANDS,
  HEALTH_PATH,
  QUEUE_DEPTH,
  type ServiceName,
  SHUTDOWN_SECONDS,
} from "../../infra/application.ts";
import { STORE_PREFIX } from "../../infra/storage.ts";
import { buildProgram } from "../../src/cli/main.ts";
import { silentLogger } from "../../src/common/logger.ts";
import { configKeys, loadConfig } from "../../src/config/load.ts";
import { HealthState, ReadinessProbe } from "../../src/operations/health.ts";
import { startHealthListener } from "../../src/operations/health-listener.ts";
import { metricsRegistry } from "../../src/operations/metrics.ts";
import { QueueMonitor } from "../../src/operations/queues.ts";
import { ServerMetrics } from "../../src/operations/server-metrics.ts";
import { parseStoreUri } from "../../src/storage/uri.ts";
import { parseTrackingUri } from "../../src/tracking/uri.ts";
import { redisUnavailable, sharedRedis, testQueueSettings } from "../helpers/redis-server.ts";
import { resourcesOf, type Synthesized, synthesize, TEST_REGION } from "./synth.ts";

type Json = Record<string, unknown>;

const SERVICES: ServiceName[] = ["serve", "worker", "scheduler"];
const BUCKET = "genre-classifier-data-example";
const PASSWORD = "Gen3ratedPassw0rd";

/**
 * A CloudFormation value as the deployed stack would have it: references become example names,
 * attributes example hosts, dynamic references to secrets the example password.
 */
function evaluate(value: unknown, s: Synthesized): string {
  if (typeof value === "string")
    return value.replace(/\{\{resolve:secretsmanager:[^}]*\}\}/g, PASSWORD);
  const v = value as Json;
  if ("Ref" in v) {
    if (v.Ref === "AWS::Region") return TEST_REGION;
    if (v.Ref === "ImageTag") return "0.1.0";
    const type = s.json.Resources[v.Ref as string]?.Type;
    return type === "AWS::S3::Bucket" ? BUCKET : `ref-${v.Ref}`;
  }
  if ("Fn::GetAtt" in v) {
    const [, attribute] = v["Fn::GetAtt"] as [string, string];
    if (attribute.endsWith("Port")) return "6379";
    if (attribute.endsWith("Address")) return "db.internal.example";
    return `attribute-${attribute}`;
  }
  if ("Fn::Join" in v) {
    const [separator, parts] = v["Fn::Join"] as [string, unknown[]];
    return evaluate(
      parts
        .map((part) => evaluate(part, s))
        .join(separator)
        .replace(/\{\{resolve:secretsmanager:[^}]*\}\}/g, PASSWORD),
      s,
    );
  }
  throw new Error(`cannot evaluate ${JSON.stringify(value)}`);
}

interface AppContainer {
  service: ServiceName;
  command: string[];
  stopTimeout: unknown;
  environment: Record<string, string>;
  secretNames: string[];
}

function appContainers(s: Synthesized): AppContainer[] {
  const secretStrings = new Map(
    resourcesOf(s, "AWS::SecretsManager::Secret").map(([id, props]) => [id, props.SecretString]),
  );
  const containers: AppContainer[] = [];
  for (const [, props] of resourcesOf(s, "AWS::ECS::TaskDefinition"))
    for (const container of props.ContainerDefinitions as Json[]) {
      const service = container.Name as ServiceName;
      if (!SERVICES.includes(service)) continue;
      const environment: Record<string, string> = {};
      for (const e of (container.Environment ?? []) as Json[])
        environment[e.Name as string] = evaluate(e.Value, s);
      const secretNames: string[] = [];
      for (const secret of (container.Secrets ?? []) as Json[]) {
        secretNames.push(secret.Name as string);
        const id = (secret.ValueFrom as Json).Ref as string;
        const assembled = secretStrings.get(id);
        // A generated secret (the server token) holds some password; an assembled one, its URL.
        environment[secret.Name as string] =
          assembled === undefined ? PASSWORD : evaluate(assembled, s);
      }
      containers.push({
        service,
        command: container.Command as string[],
        stopTimeout: container.StopTimeout,
        environment,
        secretNames,
      });
    }
  return containers;
}

describe("infra: what the deployment assumes of the application", () => {
  let s: Synthesized;
  let containers: AppContainer[];
  let cwd: string;
  before(async () => {
    s = synthesize();
    containers = appContainers(s);
    cwd = await mkdtemp(join(tmpdir(), "gc-infra-"));
  });
  after(() => rm(cwd, { recursive: true, force: true }));

  it("runs serve, worker and scheduler, each with the command infra/application.ts names", () => {
    assert.deepEqual(containers.map((c) => c.service).sort(), [...SERVICES].sort());
    for (const c of containers) assert.deepEqual(c.command, COMMANDS[c.service], c.service);
  });

  it("gives commands the CLI has, with options it accepts", async () => {
    for (const service of SERVICES) {
      const [name, ...args] = COMMANDS[service] as [string, ...string[]];
      const program = await buildProgram([name, ...args]);
      const command = program.commands.find((c) => c.name() === name);
      assert.ok(command, `the CLI has a ${name} command`);
      const parsed = command.parseOptions(args);
      assert.deepEqual(parsed, { operands: [], unknown: [] }, `${name} ${args.join(" ")}`);
    }
  });

  it("lets each command stop within its --shutdown-timeout before ECS kills it", () => {
    for (const c of containers) {
      const flag = c.command.indexOf("--shutdown-timeout");
      assert.equal(Number(c.command[flag + 1]), SHUTDOWN_SECONDS[c.service], c.service);
      assert.ok(
        typeof c.stopTimeout === "number" &&
          c.stopTimeout > SHUTDOWN_SECONDS[c.service] &&
          c.stopTimeout <= 120,
        `${c.service}: ECS stop timeout ${c.stopTimeout} s after --shutdown-timeout, within Fargate's 120 s`,
      );
    }
  });

  it("names only configuration keys in the containers' environment", () => {
    const envNames = new Set(configKeys.map((k) => k.envName));
    for (const c of containers)
      for (const name of Object.keys(c.environment))
        assert.ok(envNames.has(name), `${c.service}: ${name} is a configuration key's variable`);
  });

  it("gives each task an environment that loads as an S3, BullMQ, PostgreSQL installation", () => {
    for (const c of containers) {
      const { config } = loadConfig({ cwd, env: c.environment });
      assert.equal(config.orchestration.executor, "bullmq", c.service);
      assert.deepEqual(parseStoreUri(config.storage.uri as string), {
        kind: "s3",
        bucket: BUCKET,
        prefix: STORE_PREFIX,
      });
      assert.equal(config.storage.s3.region, TEST_REGION);
      assert.equal(config.log.format, "json");

      const tracking = parseTrackingUri(config.tracking.uri as string);
      assert.equal(tracking.kind, "postgres", c.service);
      const postgres = parsePostgresUrl(config.tracking.uri as string);
      assert.equal(postgres.password, PASSWORD);
      assert.equal(postgres.host, "db.internal.example");
      assert.equal(postgres.database, "genre_classifier");
      assert.deepEqual(postgres.ssl, { rejectUnauthorized: false }, "TLS, server unverified");

      const redis = new URL(config.orchestration.redis.url);
      assert.equal(redis.protocol, "rediss:", "Redis over TLS");
      assert.equal(redis.password, PASSWORD);
      assert.equal(redis.hostname, "db.internal.example");
      assert.equal(redis.port, "6379");
      assert.ok(
        c.secretNames.includes("GENRE_CLASSIFIER_TRACKING_URI") &&
          c.secretNames.includes("GENRE_CLASSIFIER_ORCHESTRATION_REDIS_URL"),
        "passwords come from Secrets Manager",
      );
    }
    const serve = containers.find((c) => c.service === "serve") as AppContainer;
    const { config } = loadConfig({ cwd, env: serve.environment });
    assert.equal(config.server.port, 8080);
    assert.equal(config.server.token, PASSWORD);
    assert.ok(serve.secretNames.includes("GENRE_CLASSIFIER_SERVER_TOKEN"));
    const worker = containers.find((c) => c.service === "worker") as AppContainer;
    assert.equal(
      loadConfig({ cwd, env: worker.environment }).config.orchestration.worker.concurrency,
      s.parameters.worker.concurrency,
    );
  });

  it("health-checks a path the worker and scheduler health listener answers", async () => {
    const listener = await startHealthListener({
      host: "127.0.0.1",
      port: 0,
      what: "worker",
      state: new HealthState(),
      readiness: new ReadinessProbe([]),
      registry: metricsRegistry(),
      metricsToken: undefined,
      log: silentLogger,
    });
    try {
      const answer = await fetch(`${listener.url}${HEALTH_PATH}`);
      assert.equal(answer.status, 200);
    } finally {
      await listener.close();
    }
  });

  it("scales on a gauge serve's /metrics has, with the queue and state labels", {
    skip: redisUnavailable(),
  }, async () => {
    const redis = await sharedRedis();
    const settings = testQueueSettings(redis.url);
    const monitor = new QueueMonitor(settings);
    try {
      const metrics = new ServerMetrics({
        queues: { monitor, names: () => [QUEUE_DEPTH.queue] },
      });
      // The monitor's connection fails fast until it is up: scrape until Redis answered (≤ 5 s).
      let text = "";
      for (
        let attempt = 0;
        attempt < 50 && !text.includes(`${QUEUE_DEPTH.prometheusName}{`);
        attempt++
      ) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
        text = await metrics.registry.metrics();
      }
      for (const state of [QUEUE_DEPTH.stateLabel.value, "active"])
        assert.match(
          text,
          new RegExp(
            `^${QUEUE_DEPTH.prometheusName}\\{${QUEUE_DEPTH.queueLabel}="${QUEUE_DEPTH.queue}",${QUEUE_DEPTH.stateLabel.name}="${state}"\\} 0$`,
            "m",
          ),
        );
    } finally {
      await monitor.close();
      await redis.stop();
    }
  });
});
