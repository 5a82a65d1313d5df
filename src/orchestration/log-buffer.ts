// Run log lines are written in batches: a line waits at most a moment, and a burst of lines
// costs one insert per few hundred.
import { errorMessage } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import type { LogLine, RunStore } from "./run-store.ts";

const FLUSH_MS = 200;
const BATCH = 500;

export class RunLogBuffer {
  private pending: LogLine[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly runs: RunStore,
    private readonly log: Logger,
  ) {}

  record(line: LogLine): void {
    this.pending.push(line);
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, BATCH);
      try {
        await this.runs.appendLogs(batch);
      } catch (error) {
        this.log.warn({ err: errorMessage(error) }, "could not record run log lines");
      }
    }
  }
}
