// What a track file may make a reader allocate, checked by both HDF5 readers before they
// allocate: a dataset may declare no more bytes than its file could hold (uncompressed, or at
// zlib's best ratio when filtered), and one read or one chunk takes at most MAX_READ_BYTES.
// Without these, a small file declaring billions of rows (sparse chunks, or none written, read
// as the fill value) takes gigabytes per reader thread before anything else goes wrong.
import { TrackFileRefused } from "./errors.ts";

/** The most one read of a dataset (or one chunk of it) may take: 64 MiB. */
export const MAX_READ_BYTES = 64 * 2 ** 20;

/** zlib's largest expansion: 1032 bytes out for one byte in. */
const DEFLATE_MAX_RATIO = 1032;

/** Element size x dimensions, exactly (the product can pass 2^53). */
export function declaredBytes(elementSize: number, dims: readonly number[]): bigint {
  return dims.reduce((bytes, dim) => bytes * BigInt(dim), BigInt(elementSize));
}

/** Refuses a dataset whose declared bytes its file cannot hold. */
export function checkDeclaredSize(
  file: string,
  dataset: string,
  elementSize: number,
  shape: readonly number[],
  fileSize: number,
  filtered: boolean,
): void {
  const bytes = declaredBytes(elementSize, shape);
  const holds = BigInt(fileSize) * BigInt(filtered ? DEFLATE_MAX_RATIO : 1);
  if (bytes > holds) {
    throw new TrackFileRefused(
      file,
      dataset,
      `declares ${bytes} bytes (shape (${shape.join(", ")}) of ${elementSize}-byte elements), more than its file of ${fileSize} bytes can hold${filtered ? " even compressed" : ""}`,
    );
  }
}

/** Refuses a dataset whose chunks would each take more than MAX_READ_BYTES. */
export function checkChunkSize(
  file: string,
  dataset: string,
  elementSize: number,
  chunk: readonly number[],
): void {
  const bytes = declaredBytes(elementSize, chunk);
  if (bytes > BigInt(MAX_READ_BYTES)) {
    throw new TrackFileRefused(
      file,
      dataset,
      `declares chunks of ${bytes} bytes (${chunk.join(" x ")} elements), more than the ${MAX_READ_BYTES} bytes a chunk may take`,
    );
  }
}

/** Refuses a read of `bytes` bytes when it passes MAX_READ_BYTES. */
export function checkReadSize(file: string, dataset: string, bytes: number, rows: string): void {
  if (bytes > MAX_READ_BYTES) {
    throw new TrackFileRefused(
      file,
      dataset,
      `reading rows ${rows} takes ${bytes} bytes, more than the ${MAX_READ_BYTES} bytes one read may take`,
    );
  }
}
