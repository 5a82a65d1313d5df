// Structured logging with pino: readable lines on stderr by default, JSON on request, and
// JSON lines to a file when one is configured. Command results go to stdout, never here.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import pino, { type Logger, type StreamEntry } from "pino";
import pretty from "pino-pretty";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "silent";
export type LogFormat = "auto" | "pretty" | "json";

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Also write every record as a JSON line to this file (at debug level or lower). */
  file?: string | undefined;
}

export type { Logger };

export function createLogger(options: LoggerOptions): Logger {
  const streams: StreamEntry[] = [];
  if (options.level !== "silent") {
    const json = options.format === "json";
    const stream = json
      ? pino.destination({ fd: 2, sync: true })
      : pretty({
          destination: 2,
          sync: true,
          colorize: process.stderr.isTTY === true,
          ignore: "pid,hostname",
          translateTime: "HH:MM:ss.l",
          singleLine: true,
        });
    streams.push({ level: options.level as pino.Level, stream });
  }
  if (options.file) {
    mkdirSync(dirname(options.file), { recursive: true });
    streams.push({
      level: levelBelow(options.level === "silent" ? "info" : options.level, "debug") as pino.Level,
      stream: pino.destination({ dest: options.file, sync: true, append: true }),
    });
  }
  const level = streams.length === 0 ? "silent" : lowestLevel(streams.map((s) => s.level));
  return pino({ level, base: { pid: process.pid } }, pino.multistream(streams));
}

/** A logger that drops everything: for library calls made without one. */
export const silentLogger: Logger = pino({ level: "silent" });

const ORDER: LogLevel[] = ["trace", "debug", "info", "warn", "error", "silent"];

function levelBelow(a: LogLevel, b: LogLevel): LogLevel {
  return ORDER.indexOf(a) < ORDER.indexOf(b) ? a : b;
}

function lowestLevel(levels: (string | undefined)[]): LogLevel {
  let best: LogLevel = "silent";
  for (const level of levels) {
    if (level && ORDER.includes(level as LogLevel)) best = levelBelow(best, level as LogLevel);
  }
  return best;
}
