// Parsers for command-line option values; a bad value is a usage error (exit 2).
import { InvalidArgumentError } from "commander";

export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError("expected a whole number of at least 1.");
  return parsed;
}

export function nonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new InvalidArgumentError("expected a whole number of at least 0.");
  return parsed;
}

export function positiveNumber(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed) || parsed <= 0)
    throw new InvalidArgumentError("expected a number above 0.");
  return parsed;
}

export function nonNegativeNumber(value: string): number {
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed) || parsed < 0)
    throw new InvalidArgumentError("expected a number of at least 0.");
  return parsed;
}

/** `a,b,c` as a list of non-empty names. */
export function commaList(value: string): string[] {
  const names = value.split(",").map((v) => v.trim());
  if (names.some((n) => n === ""))
    throw new InvalidArgumentError("expected names separated by commas.");
  return names;
}

/**
 * A repeatable `--param key=value`, gathered into one object; the value is read as JSON when it
 * is JSON (`3`, `true`, `[1,2]`), else kept as text.
 */
export function keyValueParameter(
  pair: string,
  previous: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const at = pair.indexOf("=");
  if (at < 1) throw new InvalidArgumentError("expected key=value.");
  const raw = pair.slice(at + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {}
  return { ...previous, [pair.slice(0, at)]: value };
}

/** A TCP port option: an integer from 0 (any free port) to 65535. */
export function portNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535)
    throw new InvalidArgumentError("expected a port number from 0 to 65535.");
  return parsed;
}
