// Rows held column by column (numbers in typed arrays): how feature rows travel between
// threads, since a batch of them is cheap to send and its number buffers can be transferred.
import type { ColumnSpec, Row } from "./table.ts";

/** One column's values for a run of rows, in the type its ColumnSpec names. */
export type ColumnValues = Float64Array | Int32Array | string[] | string[][];

/** Rows held column by column, in the order of a table's ColumnSpecs. */
export interface ColumnBatch {
  rows: number;
  columns: ColumnValues[];
}

/** Turns rows into a ColumnBatch for these columns. */
export function toColumnBatch(rows: readonly Row[], columns: readonly ColumnSpec[]): ColumnBatch {
  return {
    rows: rows.length,
    columns: columns.map(({ name, type }) => {
      if (type === "DOUBLE") {
        const values = new Float64Array(rows.length);
        for (let i = 0; i < rows.length; i++) values[i] = (rows[i] as Row)[name] as number;
        return values;
      }
      if (type === "INT32") {
        const values = new Int32Array(rows.length);
        for (let i = 0; i < rows.length; i++) values[i] = (rows[i] as Row)[name] as number;
        return values;
      }
      return rows.map((row) => row[name]) as string[] | string[][];
    }),
  };
}

/** The buffers of a batch's typed columns, to transfer rather than copy. */
export function batchBuffers(batch: ColumnBatch): ArrayBuffer[] {
  return batch.columns.flatMap((values) =>
    ArrayBuffer.isView(values) ? [values.buffer as ArrayBuffer] : [],
  );
}
