// A Parquet table read column by column, one row group at a time, into the ColumnBatches the
// table writer takes: the split streams the feature table through it without building rows.
// The file is read through one open handle, so a table replaced while it is read (the store
// renames new objects into place) is still read whole from the version first opened.
import { createHash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import { parquetMetadataAsync, parquetRead, parquetSchema } from "hyparquet";
import { InputError } from "../common/errors.ts";
import type { ColumnBatch, ColumnValues } from "../features/column-batch.ts";
import type { SchemaNode } from "../features/feature-table.ts";
import type { ColumnSpec, ColumnType } from "../features/table.ts";

type Metadata = Awaited<ReturnType<typeof parquetMetadataAsync>>;

export class ColumnarTable {
  private constructor(
    /** The table's name in messages (a store URI). */
    readonly name: string,
    private readonly handle: FileHandle,
    private readonly size: number,
    private readonly metadata: Metadata,
    readonly columns: readonly ColumnSpec[],
    /** Each row group's first row and the row after its last. */
    readonly groups: readonly (readonly [number, number])[],
  ) {}

  get rows(): number {
    return Number(this.metadata.num_rows);
  }

  has(name: string): boolean {
    return this.columns.some((c) => c.name === name);
  }

  static async open(path: string, name: string): Promise<ColumnarTable> {
    let handle: FileHandle;
    try {
      handle = await open(path, "r");
    } catch (error) {
      throw new InputError(`table ${name}: cannot be read (${(error as Error).message})`);
    }
    try {
      const size = (await handle.stat()).size;
      let metadata: Metadata;
      try {
        metadata = await parquetMetadataAsync(fileBuffer(handle, size));
      } catch (error) {
        throw new InputError(`table ${name}: not a Parquet file (${(error as Error).message})`);
      }
      const tree = parquetSchema(metadata) as unknown as SchemaNode;
      const columns = tree.children.map((node) => ({
        name: node.element.name,
        type: columnType(node, name),
      }));
      const groups: [number, number][] = [];
      let start = 0;
      for (const group of metadata.row_groups) {
        const end = start + Number(group.num_rows);
        groups.push([start, end]);
        start = end;
      }
      return new ColumnarTable(name, handle, size, metadata, columns, groups);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** SHA-256 of the file's bytes, read through the same handle as the rows. */
  async sha256(): Promise<string> {
    const hash = createHash("sha256");
    const chunk = new Uint8Array(1 << 20);
    for (let position = 0; position < this.size; ) {
      const { bytesRead } = await this.handle.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) throw new InputError(`table ${this.name}: the file shrank while read`);
      hash.update(chunk.subarray(0, bytesRead));
      position += bytesRead;
    }
    return hash.digest("hex");
  }

  get bytes(): number {
    return this.size;
  }

  /** The named columns of rows [from, to) (whole row groups), in the order named. */
  async read(names: readonly string[], from: number, to: number): Promise<ColumnBatch> {
    const specs = names.map((n) => {
      const spec = this.columns.find((c) => c.name === n);
      if (spec === undefined) throw new InputError(`table ${this.name}: no column "${n}"`);
      return spec;
    });
    const rows = to - from;
    const columns: ColumnValues[] = specs.map(({ type }) => {
      if (type === "DOUBLE") return new Float64Array(rows);
      if (type === "INT32") return new Int32Array(rows);
      if (type === "STRING") return new Array<string>(rows).fill("");
      return Array.from({ length: rows }, (): string[] => []);
    });
    const byName = new Map(specs.map((spec, i) => [spec.name, i]));
    let problem: InputError | undefined;
    try {
      await parquetRead({
        file: fileBuffer(this.handle, this.size),
        metadata: this.metadata,
        rowStart: from,
        rowEnd: to,
        columns: specs.map((s) => s.name),
        onChunk: ({ columnName, columnData, rowStart }) => {
          const c = byName.get(columnName);
          if (c === undefined) return;
          const spec = specs[c] as ColumnSpec;
          const into = columns[c] as ColumnValues;
          const first = rowStart - from;
          const count = Math.min(columnData.length, rows - first);
          try {
            copyChunk(spec, into, columnData as ArrayLike<unknown>, first, count);
          } catch (error) {
            if (!(error instanceof RangeError)) throw error;
            problem ??= new InputError(
              `table ${this.name}: row ${rowStart + Number(error.message) + 1}, column "${columnName}": ${spec.type === "INT32" ? "a missing value in a whole-number column" : "not a list of strings"}`,
            );
          }
        },
      });
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw new InputError(
        `table ${this.name}: cannot be read as Parquet (${(error as Error).message})`,
      );
    }
    if (problem) throw problem;
    return { rows, columns };
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

/** Copies a chunk's values; a value that has no place in the column throws RangeError(index). */
function copyChunk(
  spec: ColumnSpec,
  into: ColumnValues,
  data: ArrayLike<unknown>,
  first: number,
  count: number,
): void {
  if (spec.type === "DOUBLE" || spec.type === "INT32") {
    const numbers = into as Float64Array | Int32Array;
    if (ArrayBuffer.isView(data) && count === data.length) {
      numbers.set(data as unknown as ArrayLike<number>, first);
      return;
    }
    for (let i = 0; i < count; i++) {
      const v = data[i];
      if (typeof v === "number") numbers[first + i] = v;
      else if (typeof v === "bigint") numbers[first + i] = Number(v);
      else if (spec.type === "DOUBLE") numbers[first + i] = Number.NaN;
      else throw new RangeError(String(i));
    }
    return;
  }
  if (spec.type === "STRING") {
    const texts = into as string[];
    for (let i = 0; i < count; i++) {
      const v = data[i];
      texts[first + i] = v === null || v === undefined ? "" : String(v);
    }
    return;
  }
  const lists = into as string[][];
  for (let i = 0; i < count; i++) {
    const v = data[i];
    if (v === null || v === undefined) continue;
    if (!Array.isArray(v) || !v.every((s) => typeof s === "string"))
      throw new RangeError(String(i));
    lists[first + i] = v;
  }
}

function columnType(node: SchemaNode, table: string): ColumnType {
  const e = node.element;
  if (e.converted_type === "LIST" || e.logical_type?.type === "LIST") {
    let leaf = node;
    while (leaf.children.length === 1) leaf = leaf.children[0] as SchemaNode;
    if (leaf.children.length === 0 && leaf.element.type === "BYTE_ARRAY") return "STRING_LIST";
  } else if (node.children.length === 0) {
    const plain = e.converted_type === undefined && e.logical_type === undefined;
    if (e.type === "DOUBLE") return "DOUBLE";
    if (e.type === "INT32" && (plain || e.converted_type === "INT_32")) return "INT32";
    if (
      e.type === "BYTE_ARRAY" &&
      (plain || e.converted_type === "UTF8" || e.logical_type?.type === "STRING")
    )
      return "STRING";
  }
  const kind = e.converted_type ?? e.logical_type?.type ?? e.type ?? "group";
  throw new InputError(
    `table ${table}: column "${e.name}" is a Parquet ${kind}; expected text, a 32-bit whole number, a double or a list of text`,
  );
}

/** hyparquet's AsyncBuffer over an open file. */
function fileBuffer(handle: FileHandle, size: number) {
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const bytes = new Uint8Array(end - start);
      for (let done = 0; done < bytes.length; ) {
        const { bytesRead } = await handle.read(bytes, done, bytes.length - done, start + done);
        if (bytesRead === 0) throw new Error(`the file ends at byte ${start + done}`);
        done += bytesRead;
      }
      return bytes.buffer;
    },
  };
}
