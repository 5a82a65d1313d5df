// Parquet tables (hyparquet-writer, snappy): typed columns written in row groups as rows
// arrive, so a table never has to be held whole; and reading a table back (hyparquet).
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from "hyparquet";
import { fileWriter, ParquetWriter } from "hyparquet-writer";
import { InputError } from "../common/errors.ts";

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

/** Writes rows to a local Parquet file, one row group per `rowGroupSize` rows. */
export class TableWriter {
  private readonly writer: ParquetWriter;
  private buffered: Row[] = [];
  rows = 0;

  constructor(
    readonly path: string,
    readonly columns: readonly ColumnSpec[],
    private readonly rowGroupSize = 10_000,
  ) {
    this.writer = new ParquetWriter({
      writer: fileWriter(path),
      schema: parquetSchema(columns),
      codec: "SNAPPY",
      createdBy: "genre-classifier",
    });
  }

  add(row: Row): void {
    this.buffered.push(row);
    this.rows++;
    if (this.buffered.length >= this.rowGroupSize) this.flush();
  }

  close(): void {
    this.flush();
    this.writer.finish();
  }

  private flush(): void {
    if (this.buffered.length === 0) return;
    const rows = this.buffered;
    this.buffered = [];
    const columnData = this.columns.map(({ name, type }) => {
      const values = rows.map((row) => row[name]);
      const data = type === "DOUBLE" ? Float64Array.from(values as number[]) : values;
      return { name, data: data as never };
    });
    this.writer.write({ columnData, rowGroupSize: rows.length });
  }
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

function topLevelNames(schema: { name: string; num_children?: number }[]): string[] {
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
