// The two ways an online prediction is refused: bad input, naming the request field at fault
// (a 400 for the API), and no model behind the alias yet (a 503).
import { InputError, OperationError } from "../common/errors.ts";

export class PredictInputError extends InputError {
  override name = "PredictInputError";

  constructor(
    /** The request field at fault, e.g. `tracks[3].tempo` or `file`. */
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export class ModelUnavailableError extends OperationError {
  override name = "ModelUnavailableError";
}
