// Progress for long work: a redrawn bar on a terminal, a count line every few seconds
// elsewhere (CI logs, pipes), nothing when quiet. Written to stderr.

export interface ProgressOptions {
  label: string;
  total?: number | undefined;
  unit?: string;
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
}

export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private lastDraw = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.tty = this.stream.isTTY === true;
  }

  get count(): number {
    return this.done;
  }

  setTotal(total: number): void {
    this.options.total = total;
  }

  tick(n = 1): void {
    this.done += n;
    const now = Date.now();
    if (now - this.lastDraw >= (this.tty ? 100 : 5000)) {
      this.lastDraw = now;
      this.draw(false);
    }
  }

  finish(): void {
    this.draw(true);
  }

  private draw(final: boolean): void {
    if (this.options.quiet) return;
    const { label, total, unit = "items" } = this.options;
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? this.done / seconds : 0;
    const counts = total === undefined ? `${this.done}` : `${this.done}/${total}`;
    const tail = `${counts} ${unit} · ${rate.toFixed(rate < 10 ? 1 : 0)}/s · ${seconds.toFixed(1)}s`;
    if (this.tty) {
      const width = 28;
      const share = total ? Math.min(1, this.done / total) : 0;
      const filled = Math.round(share * width);
      const bar = total ? `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ` : "";
      this.stream.write(`\r\x1b[2K${label} ${bar}${tail}${final ? "\n" : ""}`);
    } else if (final || this.done > 0) {
      this.stream.write(`${label}: ${tail}\n`);
    }
  }
}
