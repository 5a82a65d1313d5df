// The one error the MSD reader throws for unreadable input: it names the file, the field or
// dataset involved, and what was expected. It is an InputError, so the CLI exits with code 2.
import { InputError } from "../common/errors.ts";

export class TrackReadError extends InputError {
  override name = "TrackReadError";

  constructor(
    readonly file: string,
    readonly field: string | undefined,
    readonly problem: string,
  ) {
    super(`${file}${field === undefined ? "" : `: ${field}`}: ${problem}`);
  }
}
