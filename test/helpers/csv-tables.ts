// CSV tables for tests: read a whole file into a header and rows of cells, and write rows back
// (fields quoted when they hold a comma, a quote or a line break).
import { writeFileSync } from "node:fs";
import { csvField, readCsv } from "../../src/features/csv.ts";

export async function readCsvRows(path: string): Promise<{ header: string[]; rows: string[][] }> {
  const rows: string[][] = [];
  let header: string[] = [];
  await readCsv(path, (fields, line) => {
    if (line === 1) header = fields;
    else rows.push(fields);
  });
  return { header, rows };
}

export function writeCsvRows(path: string, header: string[], rows: string[][]): void {
  writeFileSync(path, `${[header, ...rows].map((r) => r.map(csvField).join(",")).join("\n")}\n`);
}
