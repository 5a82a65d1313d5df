// Errors that carry their exit code: the CLI prints one clear line for these and no stack
// trace unless --verbose. Anything else is a bug or an unexpected runtime failure (exit 1).

/** Bad usage or bad input (a config key, a URI, a file): exit code 2. */
export class InputError extends Error {
  readonly exitCode = 2;
  override name = "InputError";
}

/** A runtime failure we understand (unreachable endpoint, server error): exit code 1. */
export class OperationError extends Error {
  readonly exitCode = 1;
  override name = "OperationError";
}

export type KnownError = InputError | OperationError;

export function isKnownError(error: unknown): error is KnownError {
  return error instanceof InputError || error instanceof OperationError;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
