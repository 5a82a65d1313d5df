// Any CSV or Parquet table as plain columns typed as pandas reads them: a column whose every
// non-empty cell is a number (NaN and ±inf included) is numeric, with NaN for an empty cell;
// any other column is text, with "" for an empty cell; a Parquet list column is its values
// joined by `|`. For comparing tables column by column (drift), not for training.
import { InputError } from "../common/errors.ts";
import { readCsv } from "./csv.ts";
import { tableFormat } from "./feature-table.ts";
import { readTable } from "./table.ts";

export type PlainColumn = Float64Array | string[];

export interface PlainTable {
  path: string;
  rows: number;
  columns: Map<string, PlainColumn>;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$/i;

function typed(cells: string[]): PlainColumn {
  const trimmed = cells.map((c) => c.trim());
  if (!trimmed.every((c) => c === "" || NUMBER.test(c))) return cells;
  return Float64Array.from(trimmed, (c) => {
    if (c === "" || /nan$/i.test(c)) return Number.NaN;
    if (/inf/i.test(c)) return c.startsWith("-") ? -Infinity : Infinity;
    return Number(c);
  });
}

async function readCsvColumns(path: string): Promise<PlainTable> {
  let header: string[] | undefined;
  let cells: string[][] = [];
  let rows = 0;
  await readCsv(path, (fields, line) => {
    if (header === undefined) {
      header = fields.map((f) => f.trim());
      const seen = new Set<string>();
      for (const [i, name] of header.entries()) {
        if (name === "") throw new InputError(`table ${path}: column ${i + 1} has no name`);
        if (seen.has(name)) throw new InputError(`table ${path}: column "${name}" appears twice`);
        seen.add(name);
      }
      cells = header.map(() => []);
      return;
    }
    if (fields.length !== header.length)
      throw new InputError(
        `table ${path}: line ${line} has ${fields.length} fields but the header names ${header.length} columns`,
      );
    fields.forEach((f, j) => {
      cells[j]?.push(f);
    });
    rows++;
  });
  if (header === undefined) throw new InputError(`table ${path}: the file is empty (no header)`);
  const names: string[] = header;
  return { path, rows, columns: new Map(names.map((name, j) => [name, typed(cells[j] ?? [])])) };
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(cellText).join("|");
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

async function readParquetColumns(path: string): Promise<PlainTable> {
  const { columns: names, rows } = await readTable(path);
  const columns = new Map<string, PlainColumn>();
  for (const name of names) {
    const values = rows.map((r) => (r as Record<string, unknown>)[name]);
    const numeric = values.every(
      (v) => v === null || v === undefined || typeof v === "number" || typeof v === "bigint",
    );
    columns.set(
      name,
      numeric
        ? Float64Array.from(values, (v) => (v === null || v === undefined ? Number.NaN : Number(v)))
        : values.map(cellText),
    );
  }
  return { path, rows: rows.length, columns };
}

/** Reads a local .csv or .parquet file; a table without rows is refused. */
export async function readPlainTable(path: string): Promise<PlainTable> {
  const table =
    tableFormat(path) === "csv" ? await readCsvColumns(path) : await readParquetColumns(path);
  if (table.rows === 0) throw new InputError(`table ${path}: the table has no rows`);
  return table;
}
