// Reading the monitor flow's outputs back: the monitored days (reports/monitoring/days.json, else
// the day folders of the store), a day's result, the store key a `/reports/<path>` request
// names (checked to stay under reports/), and the content security policy a stored report page
// needs: its own inline style and script by their hashes, nothing else.
import { createHash } from "node:crypto";
import { InputError } from "../common/errors.ts";
import { PAGE_SCRIPT, PAGE_STYLE } from "../monitoring/report-style.ts";
import type { MonitoringDay } from "../monitoring/types.ts";
import { ObjectNotFoundError, type ObjectStore, validateKey } from "../storage/object-store.ts";
import { MONITORING_PREFIX, monitoringKey } from "./monitor.ts";
import { MAX_DAY } from "./prediction-files.ts";

export const REPORTS_PREFIX = "reports";
const DAYS_KEY = `${MONITORING_PREFIX}/days.json`;
const DAY_FOLDER = new RegExp(`^${MONITORING_PREFIX}/day=(\\d{4,6})/$`);

export interface MonitoredDay extends Partial<Omit<MonitoringDay, "day">> {
  day: number;
  /** Store keys of the day's report page and data. */
  html: string;
  json: string;
}

/**
 * Every monitored day, newest first: days.json's entries, or when it is missing or unreadable,
 * the day folders under reports/monitoring/ (numbers only).
 */
export async function listMonitoredDays(store: ObjectStore): Promise<MonitoredDay[]> {
  const recorded = await readJson(store, DAYS_KEY);
  let days: MonitoredDay[];
  if (Array.isArray(recorded)) {
    days = recorded
      .filter(
        (d): d is MonitoringDay =>
          typeof d === "object" &&
          d !== null &&
          Number.isInteger((d as MonitoringDay).day) &&
          (d as MonitoringDay).day >= 1 &&
          (d as MonitoringDay).day <= MAX_DAY,
      )
      .map((d) => ({ ...d, ...dayKeys(d.day) }));
  } else {
    days = [];
    let cursor: string | undefined;
    do {
      const page = await store.list(`${MONITORING_PREFIX}/`, { recursive: false, cursor });
      for (const prefix of page.prefixes) {
        const match = DAY_FOLDER.exec(prefix);
        if (match) days.push({ day: Number(match[1]), ...dayKeys(Number(match[1])) });
      }
      cursor = page.cursor;
    } while (cursor);
  }
  return days.sort((a, b) => b.day - a.day);
}

/** A day's result.json (the monitor's decision and digest), or undefined when not monitored. */
export async function readMonitorResult(
  store: ObjectStore,
  day: number,
): Promise<Record<string, unknown> | undefined> {
  const parsed = await readJson(store, monitoringKey(day, "result.json"));
  return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : undefined;
}

/**
 * The store key of a `/reports/<path>` request's raw (still percent-encoded) path after
 * `/reports/`: each segment decoded once, none empty, `.`, `..`, or holding `/` or `\`, the
 * whole a valid key under reports/. Anything else is an InputError naming `path`.
 */
export function reportKey(encodedPath: string): string {
  const refuse = (why: string): never => {
    throw new InputError(
      `path ${JSON.stringify(encodedPath.slice(0, 200))}: ${why}; expected a file under /reports/, e.g. /reports/monitoring/index.html`,
    );
  };
  if (encodedPath === "") refuse("names no file");
  const segments = encodedPath.split("/").map((segment) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return refuse("is not valid percent-encoding");
    }
    if (decoded === "" || decoded === "." || decoded === "..")
      refuse("must not hold empty, . or .. segments");
    if (/[/\\]/.test(decoded)) refuse("must not hold encoded slashes or backslashes");
    if (decoded.startsWith(".")) refuse("must not name hidden files");
    return decoded;
  });
  const key = `${REPORTS_PREFIX}/${segments.join("/")}`;
  try {
    return validateKey(key, "path");
  } catch (error) {
    if (error instanceof InputError) return refuse(error.message);
    throw error;
  }
}

/**
 * The policy for a stored report page: no source but the page's inline style and script,
 * allowed by hash — this version's, and those the page's own head declares (a report written
 * by an earlier version); framed only by this server.
 */
export function reportPagePolicy(html: string): string {
  const styles = new Set([hashSource(PAGE_STYLE)]);
  const scripts = new Set([hashSource(PAGE_SCRIPT)]);
  const head = html.slice(0, Math.max(0, html.indexOf("</head>")));
  const declared = /<meta http-equiv="Content-Security-Policy" content="([^"]*)"/i.exec(head)?.[1];
  for (const directive of (declared ?? "").split(";")) {
    const [name, ...sources] = directive.trim().split(/\s+/);
    const hashes = sources.filter((s) => /^'sha256-[A-Za-z0-9+/]+=*'$/.test(s));
    if (name === "style-src") for (const h of hashes) styles.add(h);
    if (name === "script-src") for (const h of hashes) scripts.add(h);
  }
  return [
    "default-src 'none'",
    `style-src ${[...styles].join(" ")}`,
    `script-src ${[...scripts].join(" ")}`,
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
  ].join("; ");
}

/** The policy for any other stored report file (JSON data): nothing runs, nothing loads. */
export const REPORT_FILE_POLICY = "default-src 'none'; frame-ancestors 'self'; sandbox";

function dayKeys(day: number): { html: string; json: string } {
  return { html: monitoringKey(day, "report.html"), json: monitoringKey(day, "report.json") };
}

function hashSource(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

async function readJson(store: ObjectStore, key: string): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(key);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return undefined;
    throw error;
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}
