// Structured logging with pino: readable lines on stderr by default, JSON on request, and
// JSON lines to a file when one is configured. Command results go to stdout, never here.
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import pino, { type Logger, type StreamEntry } from "pino";
import type pretty from "pino-pretty";

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
      : openedOnFirstWrite(() =>
          (createRequire(import.meta.url)("pino-pretty") as typeof pretty)({
            destination: 2,
            sync: true,
            colorize: process.stderr.isTTY === true,
            ignore: "pid,hostname",
            translateTime: "HH:MM:ss.l",
            singleLine: true,
          }),
        );
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

/**
 * A stream opened by its first line: pino-pretty (a CommonJS package, loaded synchronously)
 * loads only when a readable line is written, not for a command that logs nothing.
 */
function openedOnFirstWrite(open: () => NodeJS.WritableStream): pino.DestinationStream {
  let stream: NodeJS.WritableStream | undefined;
  return {
    write(line: string): void {
      stream ??= open();
      stream.write(line);
    },
  };
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
