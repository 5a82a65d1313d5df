// Tracking errors carry MLflow's error code, so that the REST server answers with MLflow's
// code and HTTP status and the command line exits 2 for bad input (see common/errors.ts).
import { InputError, OperationError } from "../common/errors.ts";

export type TrackingErrorCode =
  | "INVALID_PARAMETER_VALUE"
  | "RESOURCE_DOES_NOT_EXIST"
  | "RESOURCE_ALREADY_EXISTS";

const HTTP_STATUS: Record<TrackingErrorCode, number> = {
  INVALID_PARAMETER_VALUE: 400,
  RESOURCE_DOES_NOT_EXIST: 404,
  RESOURCE_ALREADY_EXISTS: 400,
};

/** A request the tracking store refuses: bad input, a missing entity or a duplicate name. */
export class TrackingError extends InputError {
  override name = "TrackingError";
  constructor(
    readonly code: TrackingErrorCode,
    message: string,
  ) {
    super(message);
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}

export function invalidParameter(message: string): TrackingError {
  return new TrackingError("INVALID_PARAMETER_VALUE", message);
}

export function notFound(message: string): TrackingError {
  return new TrackingError("RESOURCE_DOES_NOT_EXIST", message);
}

export function runNotFound(runId: string): TrackingError {
  return notFound(`Run with id ${runId} not found`);
}

export function alreadyExists(message: string): TrackingError {
  return new TrackingError("RESOURCE_ALREADY_EXISTS", message);
}

/** MLflow answers an unknown alias with 400 INVALID_PARAMETER_VALUE and this message. */
export function aliasNotFound(alias: string): TrackingError {
  return invalidParameter(`Registered model alias ${alias} not found.`);
}

/**
 * The clients give the project's callers an unknown alias as RESOURCE_DOES_NOT_EXIST, whether
 * the store or a server (this one or MLflow's) answered it MLflow's way.
 */
export function missingAliasAsNotFound(error: unknown, name: string, alias: string): unknown {
  if (
    error instanceof TrackingError &&
    error.code === "INVALID_PARAMETER_VALUE" &&
    /^Registered model alias .* not found\.$/s.test(error.message)
  )
    return notFound(
      `Registered model ${JSON.stringify(name)} has no alias ${JSON.stringify(alias)}`,
    );
  return error;
}

/**
 * The database could not answer in time: a statement ran past its statement timeout, or no
 * pooled connection came free. The server answers 503 TEMPORARILY_UNAVAILABLE.
 */
export class TrackingUnavailableError extends OperationError {
  override name = "TrackingUnavailableError";
}

/** A tracking server answered with an error code this client does not map to TrackingError. */
export class TrackingServerError extends OperationError {
  override name = "TrackingServerError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
