// Parses tracking URIs: `sqlite:///abs/file.db` (the embedded default), `postgres://…` and
// `postgresql://…` (a shared database), and `http(s)://host:port` (a tracking server).
import { pathToFileURL } from "node:url";
import { InputError } from "../common/errors.ts";

export type TrackingLocation =
  | { kind: "sqlite"; file: string }
  | { kind: "postgres"; connectionString: string }
  | { kind: "http"; baseUrl: string };

const EXPECTED =
  "expected sqlite:///absolute/file.db, postgres://user:password@host:port/database or http(s)://host:port";

export function parseTrackingUri(uri: string): TrackingLocation {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === "sqlite") {
    const path = /^sqlite:\/\/(\/[^?#]*)$/i.exec(uri)?.[1];
    if (!path) throw new InputError(`tracking URI ${uri}: ${EXPECTED}`);
    try {
      return { kind: "sqlite", file: decodeURIComponent(path).replace(/^\/+/, "/") };
    } catch {
      throw new InputError(`tracking URI ${uri}: not valid percent-encoding (${EXPECTED})`);
    }
  }
  if (scheme === "postgres" || scheme === "postgresql") {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new InputError(`tracking URI ${maskPassword(uri)}: ${EXPECTED}`);
    }
    if (!url.hostname || url.pathname.length <= 1)
      throw new InputError(
        `tracking URI ${maskPassword(uri)}: name the host and the database (${EXPECTED})`,
      );
    const timeout = url.searchParams.get("statement_timeout");
    if (timeout !== null && !/^[0-9]{1,9}$/.test(timeout))
      throw new InputError(
        `tracking URI ${maskPassword(uri)}: statement_timeout must be a whole number of milliseconds (0 for none), got ${JSON.stringify(timeout)}`,
      );
    return { kind: "postgres", connectionString: uri };
  }
  if (scheme === "http" || scheme === "https") {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new InputError(`tracking URI ${uri}: ${EXPECTED}`);
    }
    if (url.search || url.hash)
      throw new InputError(`tracking URI ${uri}: a server URI takes no query or fragment`);
    return { kind: "http", baseUrl: url.href.replace(/\/+$/, "") };
  }
  throw new InputError(`tracking URI ${uri}: ${EXPECTED}`);
}

export function sqliteUri(file: string): string {
  return pathToFileURL(file).href.replace(/^file:/, "sqlite:");
}

/** The URI as it may be shown: a password inside it masked. */
export function maskPassword(uri: string): string {
  return uri.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@]*:)[^/@]*@/i, "$1****@");
}
