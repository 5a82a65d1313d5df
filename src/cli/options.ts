// Parsers for command-line option values; a bad value is a usage error (exit 2).
import { InvalidArgumentError } from "commander";

export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError("expected a whole number of at least 1.");
  return parsed;
}
