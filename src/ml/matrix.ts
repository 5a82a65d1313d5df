// Dense row-major matrices shared by the ml modules, and the checks that guard their inputs.
import { InputError } from "../common/errors.ts";

export interface Matrix<T extends ArrayLike<number>> {
  readonly data: T;
  readonly rows: number;
  readonly cols: number;
}

/** 0/1 label indicators, `rows` samples × `cols` labels. */
export type IndicatorMatrix = Matrix<Uint8Array>;
/** Real-valued features or per-label scores. */
export type RealMatrix = Matrix<Float64Array | Float32Array>;

export function matrix<T extends ArrayLike<number>>(
  data: T,
  rows: number,
  cols: number,
): Matrix<T> {
  checkShape(data, rows, cols, "matrix");
  return { data, rows, cols };
}

export function checkShape(
  data: ArrayLike<number>,
  rows: number,
  cols: number,
  what: string,
): void {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    throw new InputError(`${what}: dimensions must be non-negative integers, got ${rows}×${cols}`);
  }
  if (data.length !== rows * cols) {
    throw new InputError(
      `${what}: data has ${data.length} values but dimensions ${rows}×${cols} need ${rows * cols}`,
    );
  }
}

export function checkIndicator(m: IndicatorMatrix, what: string): void {
  checkShape(m.data, m.rows, m.cols, what);
  const d = m.data;
  for (let i = 0; i < d.length; i++) {
    const v = d[i] as number;
    if (v > 1) {
      throw new InputError(
        `${what}: indicator values must be 0 or 1, found ${v} at row ${Math.floor(i / m.cols)}, column ${i % m.cols}`,
      );
    }
  }
}

export function checkNoNaN(m: RealMatrix, what: string): void {
  checkShape(m.data, m.rows, m.cols, what);
  const d = m.data;
  for (let i = 0; i < d.length; i++) {
    if (Number.isNaN(d[i])) {
      throw new InputError(
        `${what}: NaN at row ${Math.floor(i / m.cols)}, column ${i % m.cols} (impute missing values first)`,
      );
    }
  }
}

export function checkSameShape(
  a: Matrix<ArrayLike<number>>,
  b: Matrix<ArrayLike<number>>,
  what: string,
): void {
  if (a.rows !== b.rows || a.cols !== b.cols) {
    throw new InputError(`${what}: shapes differ, ${a.rows}×${a.cols} vs ${b.rows}×${b.cols}`);
  }
}
