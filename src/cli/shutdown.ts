// Stopping a long-running command (`worker`, `scheduler`, `tracking serve`) on SIGTERM or
// SIGINT, in bounded time whatever its Redis or database is doing: the first signal starts the
// command's own shutdown, which has `--shutdown-timeout` seconds; a process still running
// then exits 1 with one line saying what it left, and a second signal exits at once the same way.
import { InvalidArgumentError } from "commander";

export const DEFAULT_SHUTDOWN_SECONDS = 8;

export const SHUTDOWN_OPTION = [
  "--shutdown-timeout <seconds>",
  `after SIGTERM or Ctrl-C, how long it may take to stop before it exits anyway (default ${DEFAULT_SHUTDOWN_SECONDS})`,
  shutdownSeconds,
] as const;

function shutdownSeconds(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed) || parsed <= 0 || parsed > 3600)
    throw new InvalidArgumentError("expected a number of seconds above 0 and at most 3600.");
  return parsed;
}

export interface StopSignals {
  /** Resolves with the first SIGTERM or SIGINT. */
  readonly requested: Promise<NodeJS.Signals>;
  /** When the grace period ends, in ms since the epoch (Infinity before the first signal). */
  readonly deadline: number;
  /**
   * The command has stopped: the grace period's exit is called off, and the process exits
   * shortly even if a dropped connection still holds it.
   */
  finished(): void;
}

/**
 * Watches for SIGTERM and SIGINT on behalf of `command` (e.g. "worker w1"); `unfinished`
 * describes what a forced exit leaves behind, or undefined when nothing.
 */
export function watchStopSignals(
  command: string,
  seconds: number,
  unfinished: () => string | undefined,
): StopSignals {
  let first: NodeJS.Signals | undefined;
  let deadline = Number.POSITIVE_INFINITY;
  let backstop: NodeJS.Timeout | undefined;
  let resolveRequested!: (signal: NodeJS.Signals) => void;
  const requested = new Promise<NodeJS.Signals>((resolve) => {
    resolveRequested = resolve;
  });
  const exitNow = (why: string, code: number) => {
    const left = unfinished();
    process.stderr.write(`genre-classifier: ${command}: ${why}${left ? `; ${left}` : ""}\n`);
    process.exit(code);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (first !== undefined) {
      exitNow(`stopped at once on a second ${signal}`, signal === "SIGINT" ? 130 : 143);
      return;
    }
    first = signal;
    deadline = Date.now() + seconds * 1000;
    backstop = setTimeout(
      () => exitNow(`still stopping ${seconds} s after ${signal}, exited anyway`, 1),
      seconds * 1000,
    );
    resolveRequested(signal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    requested,
    get deadline() {
      return deadline;
    },
    finished() {
      clearTimeout(backstop);
      setTimeout(() => process.exit(), 500).unref();
    },
  };
}
