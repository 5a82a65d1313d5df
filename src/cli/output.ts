// Writing results for people and programs: aligned tables, JSON, byte sizes. Results go to
// stdout; logs and progress go to stderr.

export function printLine(text = ""): void {
  process.stdout.write(`${text}\n`);
}

export function printJson(value: unknown): void {
  printLine(JSON.stringify(value, null, 2));
}

export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  printLine(line(headers));
  for (const row of rows) printLine(line(row));
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Milliseconds since the epoch as `2024-05-01 06:00:00.000` (UTC), or — for none. */
export function formatTime(ms: number | null): string {
  return ms === null ? "—" : new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}

/** From `start` to `end` (or now, while running) in ms below a second, else in seconds. */
export function formatDuration(start: number | null, end: number | null): string {
  if (start === null) return "—";
  const ms = (end ?? Date.now()) - start;
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
