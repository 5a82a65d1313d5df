// Feature tables from any source: a local CSV or Parquet file read into columns (numbers as
// Float64Array with NaN for a missing value, text, genre lists), and tables written back as
// CSV or Parquet by the file's extension. In CSV a genre list is a `|`-separated string (or a
// JSON array of strings); in Parquet a list column or such a string. The Parquet libraries load
// only when a Parquet table is read or written.
import { randomUUID } from "node:crypto";
import { rename, unlink } from "node:fs/promises";
import { extname } from "node:path";
import { InputError } from "../common/errors.ts";
import { CsvWriter, readCsv } from "./csv.ts";
import type { ColumnSpec } from "./table.ts";

export type ColumnKind = "number" | "text" | "list" | "other";

export interface TableColumn {
  name: string;
  kind: ColumnKind;
}

export type TableFormat = "csv" | "parquet";

export const GENRES_COLUMN = "genres";
export const TRACK_ID_COLUMN = "track_id";

/** Columns that identify a track or carry its labels, never features. */
export function isIdOrLabel(name: string): boolean {
  return name === GENRES_COLUMN || name === "id" || /_id$/.test(name);
}

export function tableFormat(path: string): TableFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".parquet" || ext === ".pq") return "parquet";
  throw new InputError(`table ${path}: name a .csv or .parquet file`);
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const INFINITY = /^[+-]?inf(inity)?$/i;

/** A text cell's number: NaN when it is empty or NaN (missing), undefined when it is text. */
function cellNumber(cell: string): number | undefined {
  const text = cell.trim();
  if (text === "" || text.toLowerCase() === "nan") return Number.NaN;
  if (NUMBER.test(text)) return Number(text);
  if (INFINITY.test(text)) {
    return text.startsWith("-") ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }
  return undefined;
}

function notANumber(row: number, cell: string): string {
  return `row ${row}: ${JSON.stringify(cell)} is not a number`;
}

function notFinite(row: number, cell: string): string {
  return `row ${row}: ${cell.trim()} is not a finite number (leave the cell empty for a missing value)`;
}

/**
 * Text cells as a numeric column when most of the non-empty ones are numbers, as a CSV column
 * is read, with the first cell that is text or infinite as the column's problem.
 */
function textAsNumbers(
  cells: readonly string[],
): { numbers: Float64Array; problem: string | undefined } | undefined {
  const numbers = new Float64Array(cells.length);
  let numeric = 0;
  let textCells = 0;
  let firstText: string | undefined;
  let firstInfinite: string | undefined;
  cells.forEach((cell, i) => {
    const x = cellNumber(cell);
    if (x === undefined) {
      textCells++;
      firstText ??= notANumber(i + 1, cell);
      numbers[i] = Number.NaN;
      return;
    }
    if (!Number.isNaN(x)) numeric++;
    if (x === Number.POSITIVE_INFINITY || x === Number.NEGATIVE_INFINITY) {
      firstInfinite ??= notFinite(i + 1, cell);
    }
    numbers[i] = x;
  });
  if (numeric === 0 || numeric <= textCells) return undefined;
  return { numbers, problem: firstText ?? firstInfinite };
}

interface CsvColumn {
  numbers: Float64Array;
  numeric: number;
  textCells: number;
  firstText: { row: number; value: string } | null;
  firstInfinite: { row: number; value: string } | null;
  raw: string[] | null;
}

export class FeatureTable {
  private constructor(
    readonly path: string,
    readonly format: TableFormat,
    readonly rows: number,
    readonly columns: readonly TableColumn[],
    private readonly numbers: Map<string, Float64Array>,
    private readonly texts: Map<string, string[]>,
    private readonly lists: Map<string, string[][]>,
    private readonly problems: Map<string, string>,
  ) {}

  has(name: string): boolean {
    return this.columns.some((c) => c.name === name);
  }

  kind(name: string): ColumnKind | undefined {
    return this.columns.find((c) => c.name === name)?.kind;
  }

  /** The numeric columns that are not ids or labels, in table order. */
  featureColumns(): string[] {
    return this.columns
      .filter((c) => c.kind === "number" && !isIdOrLabel(c.name))
      .map((c) => c.name);
  }

  /** A numeric column; NaN marks a missing value (an empty cell, NaN or null). */
  numeric(name: string): Float64Array {
    const problem = this.problems.get(name);
    if (problem !== undefined)
      throw new InputError(`table ${this.path}: column "${name}": ${problem}`);
    const values = this.numbers.get(name);
    if (values === undefined) {
      if (!this.has(name)) throw new InputError(`table ${this.path}: no column "${name}"`);
      throw new InputError(`table ${this.path}: column "${name}" is not numeric`);
    }
    return values;
  }

  text(name: string): string[] {
    const values = this.texts.get(name);
    if (values !== undefined) return values;
    const numbers = this.numbers.get(name);
    if (numbers !== undefined)
      return Array.from(numbers, (v) => (Number.isNaN(v) ? "" : String(v)));
    if (!this.has(name)) throw new InputError(`table ${this.path}: no column "${name}"`);
    throw new InputError(`table ${this.path}: column "${name}" is not text`);
  }

  /** Each row's genres, from a list column or `|`-separated (or JSON array) text. */
  genres(name = GENRES_COLUMN): string[][] {
    const list = this.lists.get(name);
    if (list !== undefined) return list;
    if (!this.has(name)) {
      throw new InputError(`table ${this.path}: no "${name}" column with each track's genres`);
    }
    const cells = this.texts.get(name);
    if (cells === undefined) {
      throw new InputError(`table ${this.path}: column "${name}" must hold genre lists or text`);
    }
    const parsed = cells.map((cell, i) =>
      parseGenres(cell, () => `table ${this.path}: row ${i + 1}, column "${name}"`),
    );
    this.lists.set(name, parsed);
    return parsed;
  }

  /** The rows `rows` of this table, named `path` in messages. */
  select(rows: Uint32Array, path: string): FeatureTable {
    const pick = <T>(values: readonly T[]): T[] => Array.from(rows, (i) => values[i] as T);
    const numbers = new Map<string, Float64Array>();
    for (const [name, v] of this.numbers)
      numbers.set(
        name,
        Float64Array.from(rows, (i) => v[i] as number),
      );
    const texts = new Map<string, string[]>();
    for (const [name, v] of this.texts) texts.set(name, pick(v));
    const lists = new Map<string, string[][]>();
    for (const [name, v] of this.lists) lists.set(name, pick(v));
    return new FeatureTable(
      path,
      this.format,
      rows.length,
      this.columns,
      numbers,
      texts,
      lists,
      this.problems,
    );
  }

  /**
   * Reads a local CSV or Parquet file. `columns` limits a Parquet read to those columns (a CSV
   * is always read whole); `text` names the columns wanted as text (ids, genres) rather than
   * numbers, when they are not lists.
   */
  static async read(
    path: string,
    options: { columns?: readonly string[]; text?: readonly string[] } = {},
  ): Promise<FeatureTable> {
    const format = tableFormat(path);
    const table =
      format === "csv"
        ? await readCsvTable(path, options.text ?? [])
        : await readParquetTable(path, options.columns, options.text ?? []);
    if (table.rows === 0) throw new InputError(`table ${path}: the table has no rows`);
    return table;
  }

  /** @internal */
  static create(
    path: string,
    format: TableFormat,
    rows: number,
    columns: TableColumn[],
    numbers: Map<string, Float64Array>,
    texts: Map<string, string[]>,
    lists: Map<string, string[][]>,
    problems: Map<string, string>,
  ): FeatureTable {
    return new FeatureTable(path, format, rows, columns, numbers, texts, lists, problems);
  }
}

/** Parses one genres cell: empty, `a|b|c`, or a JSON array of strings. */
export function parseGenres(cell: string, where: () => string): string[] {
  const text = cell.trim();
  if (text === "") return [];
  if (text.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new InputError(`${where()}: ${JSON.stringify(cell)} is not a JSON array of genres`);
    }
    if (!Array.isArray(parsed) || !parsed.every((g) => typeof g === "string" && g.trim() !== "")) {
      throw new InputError(`${where()}: ${JSON.stringify(cell)} must be a list of genre names`);
    }
    return parsed.map((g: string) => g.trim());
  }
  const genres = text.split("|").map((g) => g.trim());
  if (genres.some((g) => g === "")) {
    throw new InputError(
      `${where()}: ${JSON.stringify(cell)} has an empty genre (genres are separated by "|")`,
    );
  }
  return genres;
}

async function readCsvTable(path: string, textColumns: readonly string[]): Promise<FeatureTable> {
  let header: string[] | null = null;
  let columns: CsvColumn[] = [];
  let rows = 0;
  let capacity = 1024;
  const wantText = new Set(textColumns);
  await readCsv(path, (fields, line) => {
    if (header === null) {
      header = fields.map((f) => f.trim());
      const seen = new Set<string>();
      for (const [i, name] of header.entries()) {
        if (name === "")
          throw new InputError(`table ${path}: column ${i + 1} has no name in the header`);
        if (seen.has(name))
          throw new InputError(`table ${path}: column "${name}" appears twice in the header`);
        seen.add(name);
      }
      columns = header.map((name) => ({
        numbers: new Float64Array(capacity),
        numeric: 0,
        textCells: 0,
        firstText: null,
        firstInfinite: null,
        raw: wantText.has(name) ? [] : null,
      }));
      return;
    }
    if (fields.length !== header.length) {
      throw new InputError(
        `table ${path}: line ${line} has ${fields.length} fields but the header names ${header.length} columns${fields.length > header.length ? " (extra columns)" : ""}`,
      );
    }
    if (rows === capacity) {
      capacity *= 2;
      for (const c of columns) {
        const grown = new Float64Array(capacity);
        grown.set(c.numbers);
        c.numbers = grown;
      }
    }
    const row = rows++;
    for (let j = 0; j < fields.length; j++) {
      const c = columns[j] as CsvColumn;
      const cell = fields[j] as string;
      c.raw?.push(cell);
      const x = cellNumber(cell);
      if (x === undefined) {
        c.numbers[row] = Number.NaN;
        c.textCells++;
        c.firstText ??= { row: row + 1, value: cell };
        continue;
      }
      c.numbers[row] = x;
      if (Number.isNaN(x)) continue;
      c.numeric++;
      if (x === Number.POSITIVE_INFINITY || x === Number.NEGATIVE_INFINITY) {
        c.firstInfinite ??= { row: row + 1, value: cell };
      }
    }
  });
  if (header === null) throw new InputError(`table ${path}: the file is empty (no header)`);
  const names = header as string[];
  const tableColumns: TableColumn[] = [];
  const numbers = new Map<string, Float64Array>();
  const texts = new Map<string, string[]>();
  const problems = new Map<string, string>();
  names.forEach((name, j) => {
    const c = columns[j] as CsvColumn;
    if (c.raw !== null) texts.set(name, c.raw);
    // A column is numeric when most of its non-empty cells are numbers; its other cells are
    // then errors, reported when the column is used.
    const numeric = c.numeric > c.textCells || (c.numeric === 0 && c.textCells === 0);
    if (numeric && !wantText.has(name)) {
      numbers.set(name, c.numbers.subarray(0, rows));
      if (c.firstText !== null) {
        problems.set(name, notANumber(c.firstText.row, c.firstText.value));
      } else if (c.firstInfinite !== null) {
        problems.set(name, notFinite(c.firstInfinite.row, c.firstInfinite.value));
      }
    }
    tableColumns.push({ name, kind: numeric && !wantText.has(name) ? "number" : "text" });
  });
  return FeatureTable.create(path, "csv", rows, tableColumns, numbers, texts, new Map(), problems);
}

/** A node of hyparquet's schema tree, as far as the column readers look at it. */
export interface SchemaNode {
  element: {
    name: string;
    type?: string;
    converted_type?: string;
    logical_type?: { type: string };
  };
  children: SchemaNode[];
}

function parquetKind(node: SchemaNode): ColumnKind {
  const e = node.element;
  if (e.converted_type === "LIST" || e.logical_type?.type === "LIST") {
    let leaf = node;
    while (leaf.children.length === 1) leaf = leaf.children[0] as SchemaNode;
    return leaf.children.length === 0 && leaf.element.type === "BYTE_ARRAY" ? "list" : "other";
  }
  if (node.children.length > 0) return "other";
  switch (e.type) {
    case "BOOLEAN":
    case "INT32":
    case "INT64":
    case "FLOAT":
    case "DOUBLE":
      if (
        ["DATE", "TIME_MILLIS", "TIME_MICROS", "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS"].includes(
          e.converted_type ?? "",
        )
      ) {
        return "other";
      }
      if (e.logical_type !== undefined && !["INTEGER", "DECIMAL"].includes(e.logical_type.type))
        return "other";
      return "number";
    case "BYTE_ARRAY":
      return "text";
    default:
      return "other";
  }
}

async function readParquetTable(
  path: string,
  only: readonly string[] | undefined,
  textColumns: readonly string[],
): Promise<FeatureTable> {
  const { parquetRead, parquetSchema } = await import("hyparquet");
  const { openParquet } = await import("./table.ts");
  const { file, metadata } = await openParquet(path);
  const rows = Number(metadata.num_rows);
  const tree = parquetSchema(metadata) as unknown as SchemaNode;
  const all: TableColumn[] = tree.children.map((c) => ({
    name: c.element.name,
    kind: parquetKind(c),
  }));
  const wanted = only === undefined ? all : all.filter((c) => only.includes(c.name));
  const read = wanted.filter((c) => c.kind !== "other");
  const numbers = new Map<string, Float64Array>();
  const texts = new Map<string, string[]>();
  const lists = new Map<string, string[][]>();
  const problems = new Map<string, string>();
  for (const c of read) {
    if (c.kind === "number") numbers.set(c.name, new Float64Array(rows));
    else if (c.kind === "text") texts.set(c.name, new Array<string>(rows).fill(""));
    else lists.set(c.name, new Array<string[]>(rows));
  }
  const note = (name: string, problem: string): void => {
    if (!problems.has(name)) problems.set(name, problem);
  };
  // One row group at a time: hyparquet keeps a read's decoded pages until it ends.
  const groups: [number, number][] = [];
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    groups.push([start, end]);
    start = end;
  }
  try {
    for (const [rowStart, rowEnd] of groups) await readGroup(rowStart, rowEnd);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`table ${path}: cannot be read as Parquet (${(error as Error).message})`);
  }
  // Numbers stored as strings are read as a CSV column of the same cells would be, so that a
  // feature is neither dropped nor silently different for being in Parquet.
  const wantText = new Set(textColumns);
  const columns = wanted.map((c): TableColumn => {
    if (c.kind !== "text" || wantText.has(c.name)) return c;
    const parsed = textAsNumbers(texts.get(c.name) as string[]);
    if (parsed === undefined) return c;
    numbers.set(c.name, parsed.numbers);
    if (parsed.problem !== undefined) problems.set(c.name, parsed.problem);
    return { name: c.name, kind: "number" };
  });
  return FeatureTable.create(path, "parquet", rows, columns, numbers, texts, lists, problems);

  async function readGroup(from: number, to: number): Promise<void> {
    await parquetRead({
      file,
      metadata,
      rowStart: from,
      rowEnd: to,
      columns: read.map((c) => c.name),
      onChunk: ({ columnName, columnData, rowStart }) => {
        const n = Math.min(columnData.length, rows - rowStart);
        const num = numbers.get(columnName);
        if (num !== undefined) {
          for (let i = 0; i < n; i++) {
            const v = columnData[i] as unknown;
            const at = rowStart + i;
            let x: number;
            if (v === null || v === undefined) x = Number.NaN;
            else if (typeof v === "number") x = v;
            else if (typeof v === "bigint") x = Number(v);
            else if (typeof v === "boolean") x = v ? 1 : 0;
            else {
              note(columnName, `row ${at + 1}: ${JSON.stringify(String(v))} is not a number`);
              x = Number.NaN;
            }
            if (x === Number.POSITIVE_INFINITY || x === Number.NEGATIVE_INFINITY) {
              note(
                columnName,
                `row ${at + 1}: ${x} is not a finite number (store a missing value as null or NaN)`,
              );
            }
            num[at] = x;
          }
          return;
        }
        const text = texts.get(columnName);
        if (text !== undefined) {
          for (let i = 0; i < n; i++) {
            const v = columnData[i] as unknown;
            text[rowStart + i] = v === null || v === undefined ? "" : String(v);
          }
          return;
        }
        const list = lists.get(columnName);
        if (list !== undefined) {
          for (let i = 0; i < n; i++) {
            const v = columnData[i] as unknown;
            const at = rowStart + i;
            if (v === null || v === undefined) list[at] = [];
            else if (Array.isArray(v) && v.every((g) => typeof g === "string")) {
              list[at] = v.map((g: string) => g.trim());
            } else {
              throw new InputError(
                `table ${path}: row ${at + 1}, column "${columnName}": ${JSON.stringify(v)} is not a list of genre names`,
              );
            }
          }
        }
      },
    });
  }
}

export type OutputColumn =
  | { name: string; kind: "text"; values: readonly string[] }
  | { name: string; kind: "number"; values: Float64Array }
  | { name: string; kind: "list"; values: readonly (readonly string[])[] };

/**
 * Writes columns of equal length to a local .csv or .parquet file, through a temporary file
 * beside it renamed into place, so that the file is never seen half-written.
 */
export async function writeTable(path: string, columns: readonly OutputColumn[]): Promise<void> {
  const format = tableFormat(path);
  const rows = columns[0]?.values.length ?? 0;
  for (const c of columns) {
    if (c.values.length !== rows)
      throw new Error(`column ${c.name} has ${c.values.length} rows, not ${rows}`);
  }
  const partial = `${path}.partial-${randomUUID()}`;
  try {
    await writeFormat(partial, format, columns, rows);
    await rename(partial, path);
  } catch (error) {
    await unlink(partial).catch(() => {});
    throw error;
  }
}

async function writeFormat(
  path: string,
  format: TableFormat,
  columns: readonly OutputColumn[],
  rows: number,
): Promise<void> {
  if (format === "parquet") {
    const specs: ColumnSpec[] = columns.map((c) => ({
      name: c.name,
      type: c.kind === "text" ? "STRING" : c.kind === "number" ? "DOUBLE" : "STRING_LIST",
    }));
    const { TableWriter } = await import("./table.ts");
    // One batch of whole columns: the writer cuts it into row groups as it would rows.
    const writer = new TableWriter(path, specs);
    writer.addBatch({
      rows,
      columns: columns.map((c) =>
        c.kind === "number"
          ? c.values
          : c.kind === "list"
            ? c.values.map((genres) => [...genres])
            : [...c.values],
      ),
    });
    writer.close();
    return;
  }
  const writer = new CsvWriter(path);
  await writer.write(columns.map((c) => c.name));
  for (let i = 0; i < rows; i++) {
    await writer.write(
      columns.map((c) => {
        if (c.kind === "text") return c.values[i] as string;
        if (c.kind === "list") return (c.values[i] as string[]).join("|");
        const v = c.values[i] as number;
        return Number.isNaN(v) ? "" : String(v);
      }),
    );
  }
  await writer.close();
}
