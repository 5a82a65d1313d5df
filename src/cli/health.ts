// The health listener options of `worker` and `scheduler` (`--health-port`, `--health-host`)
// and starting the listener with the command's readiness checks and metrics.
import type { Command } from "commander";
import type { Registry } from "prom-client";
import { InputError } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import type { Config } from "../config/schema.ts";
import type { HealthState, ReadinessCheck } from "../operations/health.ts";
import type { HealthListener } from "../operations/health-listener.ts";
import { portNumber } from "./options.ts";
import { printLine } from "./output.ts";

export interface HealthFlags {
  healthPort?: number;
  healthHost?: string;
}

export function withHealthOptions(command: Command): Command {
  return command
    .option(
      "--health-port <port>",
      "serve /healthz, /readyz and /metrics on this port (0: any free port; default: no listener)",
      portNumber,
    )
    .option(
      "--health-host <address>",
      "address of the health listener (default 127.0.0.1; 0.0.0.0 in a container)",
    );
}

/** Starts the health listener when --health-port is given, and prints where it listens. */
export async function startHealthListener(
  flags: HealthFlags,
  options: {
    what: string;
    config: Config;
    state: HealthState;
    checks: ReadinessCheck[];
    registry: Registry;
    log: Logger;
  },
): Promise<HealthListener | undefined> {
  if (flags.healthPort === undefined) {
    if (flags.healthHost !== undefined)
      throw new InputError(
        "--health-host: give --health-port too (the listener starts only with a port)",
      );
    return undefined;
  }
  const { ReadinessProbe } = await import("../operations/health.ts");
  const listener = await import("../operations/health-listener.ts");
  const { config } = options;
  const token = config.server.metricsPublic
    ? undefined
    : (config.server.token ?? config.tracking.token);
  const started = await listener.startHealthListener({
    host: flags.healthHost ?? "127.0.0.1",
    port: flags.healthPort,
    what: options.what,
    state: options.state,
    readiness: new ReadinessProbe(options.checks),
    registry: options.registry,
    metricsToken: token,
    log: options.log,
  });
  printLine(
    `health ${started.url}/healthz · readiness ${started.url}/readyz · metrics ${started.url}/metrics${token ? " (token required)" : ""}`,
  );
  return started;
}
