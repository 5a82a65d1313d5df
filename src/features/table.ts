// Parquet tables (hyparquet-writer, snappy): typed columns written in row groups as rows
// arrive, so a table never has to be held whole; and reading a table back (hyparquet).
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { fileWriter, ParquetWriter } from "hyparquet-writer";
import { InputError } from "../common/errors.ts";
import { type ColumnBatch, type ColumnValues, toColumnBatch } from "./column-batch.ts";

export type ColumnType = "STRING" | "INT32" | "DOUBLE" | "STRING_LIST";

export interface ColumnSpec {
  name: string;
  type: ColumnType;
}

export type CellValue = string | number | string[];
export type Row = Record<string, CellValue>;

type SchemaElement = NonNullable<ConstructorParameters<typeof ParquetWriter>[0]["schema"]>[number];

export function parquetSchema(columns: readonly ColumnSpec[]): SchemaElement[] {
  const schema: SchemaElement[] = [{ name: "root", num_children: columns.length }];
  for (const { name, type } of columns) {
    if (type === "STRING")
      schema.push({
        name,
        type: "BYTE_ARRAY",
        converted_type: "UTF8",
        repetition_type: "REQUIRED",
      });
    else if (type === "INT32") schema.push({ name, type: "INT32", repetition_type: "REQUIRED" });
    else if (type === "DOUBLE") schema.push({ name, type: "DOUBLE", repetition_type: "REQUIRED" });
    else {
      schema.push(
        { name, repetition_type: "REQUIRED", converted_type: "LIST", num_children: 1 },
        { name: "list", repetition_type: "REPEATED", num_children: 1 },
        {
          name: "element",
          type: "BYTE_ARRAY",
          converted_type: "UTF8",
          repetition_type: "REQUIRED",
        },
      );
    }
  }
  return schema;
}

/**
 * Writes rows to a local Parquet file, one row group per `rowGroupSize` rows. Floating-point
 * columns are written PLAIN and without statistics: dictionaries and min/max of measurements
 * cost more than they give, and the table is read whole.
 */
export class TableWriter {
  private readonly writer: ParquetWriter;
  private buffered: ColumnBatch[] = [];
  private bufferedRows = 0;
  rows = 0;

  constructor(
    readonly path: string,
    readonly columns: readonly ColumnSpec[],
    private readonly rowGroupSize = 4_096,
  ) {
    this.writer = new ParquetWriter({
      writer: fileWriter(path),
      schema: parquetSchema(columns),
      codec: "SNAPPY",
      createdBy: "genre-classifier",
    });
  }

  add(row: Row): void {
    this.addBatch(toColumnBatch([row], this.columns));
  }

  addBatch(batch: ColumnBatch): void {
    let offset = 0;
    while (offset < batch.rows) {
      const take = Math.min(batch.rows - offset, this.rowGroupSize - this.bufferedRows);
      this.buffered.push(
        offset === 0 && take === batch.rows ? batch : sliceBatch(batch, offset, offset + take),
      );
      this.bufferedRows += take;
      this.rows += take;
      offset += take;
      if (this.bufferedRows >= this.rowGroupSize) this.flush();
    }
  }

  close(): void {
    this.flush();
    this.writer.finish();
  }

  private flush(): void {
    if (this.bufferedRows === 0) return;
    const batches = this.buffered;
    const rows = this.bufferedRows;
    this.buffered = [];
    this.bufferedRows = 0;
    const columnData = this.columns.map(({ name, type }, c) => {
      const parts = batches.map((batch) => batch.columns[c] as ColumnValues);
      if (type === "DOUBLE")
        return {
          name,
          data: concatTyped(parts as Float64Array[], new Float64Array(rows)),
          encoding: "PLAIN" as const,
          statistics: false,
        };
      if (type === "INT32")
        return { name, data: concatTyped(parts as Int32Array[], new Int32Array(rows)) };
      const values: unknown[] = [];
      for (const part of parts as unknown[][]) for (const value of part) values.push(value);
      return { name, data: values as never };
    });
    this.writer.write({ columnData: columnData as never, rowGroupSize: rows });
  }
}

function sliceBatch(batch: ColumnBatch, start: number, end: number): ColumnBatch {
  return { rows: end - start, columns: batch.columns.map((values) => values.slice(start, end)) };
}

function concatTyped<T extends Float64Array | Int32Array>(parts: T[], into: T): T {
  let offset = 0;
  for (const part of parts) {
    into.set(part, offset);
    offset += part.length;
  }
  return into;
}

export interface TableContents {
  columns: string[];
  rows: Row[];
}

export type ParquetFile = Awaited<ReturnType<typeof asyncBufferFromFile>>;
export type ParquetMetadata = Awaited<ReturnType<typeof parquetMetadataAsync>>;

/** Opens a local Parquet file and reads its footer, with errors naming the file. */
export async function openParquet(
  path: string,
): Promise<{ file: ParquetFile; metadata: ParquetMetadata }> {
  let file: ParquetFile;
  try {
    file = await asyncBufferFromFile(path);
  } catch (error) {
    throw new InputError(`table ${path}: cannot be read (${(error as Error).message})`);
  }
  try {
    return { file, metadata: await parquetMetadataAsync(file) };
  } catch (error) {
    throw new InputError(`table ${path}: not a Parquet file (${(error as Error).message})`);
  }
}

/** Reads a whole Parquet table from a local file. */
export async function readTable(path: string, columns?: string[]): Promise<TableContents> {
  const { file, metadata } = await openParquet(path);
  const names = (
    metadata.schema[0]?.num_children ? topLevelNames(metadata.schema) : []
  ) as string[];
  const rows = (await parquetReadObjects({
    file,
    metadata,
    ...(columns ? { columns } : {}),
  })) as Row[];
  return { columns: columns ?? names, rows };
}

/** A Parquet schema's top-level column names (the nested columns' children skipped). */
export function topLevelNames(schema: { name: string; num_children?: number }[]): string[] {
  const names: string[] = [];
  let index = 1;
  const skip = (): void => {
    const element = schema[index++];
    for (let i = 0; i < (element?.num_children ?? 0); i++) skip();
  };
  while (index < schema.length) {
    names.push(schema[index]?.name as string);
    skip();
  }
  return names;
}
