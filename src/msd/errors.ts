// The errors the MSD reader throws for unreadable input: each names the file, the field or
// dataset involved, and what was expected. They are InputErrors, so the CLI exits with code 2.
// A TrackFileRefused is a file refused for what it would make a reader do (open another file
// on the host, allocate far more than it holds): final, never retried with another reader.
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

export class TrackFileRefused extends TrackReadError {
  override name = "TrackFileRefused";
}
