// Writes Tracks as MSD HDF5 files with h5wasm: the real files' groups, dataset names, dtypes
// (packed compound songs tables with fixed-length ASCII-flagged NUL-terminated strings,
// |S256 / |S20 string arrays, float64 and N×12 float64 arrays, int32 tag counts), chunk
// shapes, unlimited first dimension and superblock version 0. One track makes a per-track
// file; several make an aggregate file whose idx_* columns give each song's offsets.
//
// h5wasm's Group.create_dataset can write compound types from a Map of columns, but it
// re-encodes strings itself and interleaves rows in JS; here each dataset's bytes are laid out
// once in the file layout and passed to the library's create_dataset binding (H5Dcreate +
// H5Dwrite with that same type as memory type), which also lets tests store bytes that are
// not valid UTF-8. Datasets are stored uncompressed unless asked (deflate in wasm doubles the
// writing time); compressed, they are deflated at level 1 like PyTables' default, without the
// real files' shuffle filter (h5wasm applies one filter per dataset). PyTables' attributes
// (CLASS, TITLE, FIELD_n_NAME...) are not written. Readers of the data see none of this.
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import {
  type H5Module,
  H5T_COMPOUND,
  H5T_FLOAT,
  H5T_INTEGER,
  H5T_STRING,
  loadHdf5,
} from "./hdf5.ts";
import {
  type FieldKind,
  type FieldSpec,
  type Group,
  SONGS_TABLES,
  TRACK_ARRAYS,
  type Track,
} from "./track.ts";

const H5S_UNLIMITED = 0xffffffffffffffffn;
const H5T_CSET_ASCII = 0;
const H5Z_FILTER_DEFLATE = 1;

type WriteMetadata = Parameters<H5Module["create_dataset"]>[3];

interface TypeMetadata {
  type: number;
  size: number;
  signed: boolean;
  vlen: boolean;
  littleEndian: boolean;
  cset?: number;
}

export interface WriteOptions {
  /** Deflate every dataset (level 1): files about 2.4× smaller, written about 2× slower. */
  compress?: boolean;
}

/** Writes one track (per-track file) or several (aggregate file) to `file`, atomically. */
export async function writeTrackFile(
  file: string,
  tracks: Track | readonly Track[],
  options: WriteOptions = {},
): Promise<void> {
  const writer = await createTrackWriter(options);
  writer.write(file, tracks);
}

export async function createTrackWriter(options: WriteOptions = {}): Promise<TrackWriter> {
  return new TrackWriter(await loadHdf5(), options);
}

let temporaryCounter = 0;

export class TrackWriter {
  private readonly encoder = new TextEncoder();
  private readonly madeDirectories = new Set<string>();

  constructor(
    private readonly h5: H5Module,
    private readonly options: WriteOptions = {},
  ) {}

  /**
   * Writes to a temporary name in the target folder, then renames, so a reader never sees a
   * half-written file. Creates missing folders.
   */
  write(file: string, trackOrTracks: Track | readonly Track[]): void {
    const tracks: readonly Track[] = Array.isArray(trackOrTracks)
      ? trackOrTracks
      : [trackOrTracks as Track];
    const folder = dirname(file);
    if (!this.madeDirectories.has(folder)) {
      mkdirSync(folder, { recursive: true });
      this.madeDirectories.add(folder);
    }
    temporaryCounter += 1;
    const temporary = join(folder, `.${basename(file)}.${process.pid}.${temporaryCounter}.tmp`);
    try {
      this.writeHdf5(temporary, tracks);
      renameSync(temporary, file);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }

  private writeHdf5(file: string, tracks: readonly Track[]): void {
    const h5 = this.h5;
    const id = h5.open(file, h5.H5F_ACC_TRUNC, false, h5.H5F_LIBVER_EARLIEST, h5.H5F_LIBVER_V18);
    if (id < 0n) throw new Error(`${file}: HDF5 cannot create the file`);
    try {
      for (const { group } of SONGS_TABLES) h5.create_group(id, `/${group}`, false);
      const offsets = this.writeArrays(id, tracks);
      for (const { group, fields, chunk } of SONGS_TABLES) {
        this.writeSongsTable(id, group, fields, chunk, tracks, offsets);
      }
    } finally {
      h5.close_file(id);
    }
  }

  /** Writes every array and returns, per idx_* column, each track's start offset. */
  private writeArrays(id: bigint, tracks: readonly Track[]): Map<string, number[]> {
    const offsets = new Map<string, number[]>();
    const lengthsByIndex = new Map<string, number[]>();
    for (const spec of TRACK_ARRAYS) {
      const parts = tracks.map((track) => arrayOf(track, spec.group, spec.name));
      const lengths = parts.map((part) => rowCount(part, spec.name));
      const shared = lengthsByIndex.get(spec.index);
      if (shared === undefined) {
        lengthsByIndex.set(spec.index, lengths);
        let start = 0;
        offsets.set(
          spec.index,
          lengths.map((length) => {
            const offset = start;
            start += length;
            return offset;
          }),
        );
      } else {
        lengths.forEach((length, i) => {
          if (length !== shared[i]) {
            throw new Error(
              `track ${i}: ${spec.group}/${spec.name} has ${length} rows but another array indexed by ${spec.index} has ${shared[i]}`,
            );
          }
        });
      }
      const total = lengths.reduce((a, b) => a + b, 0);
      const columns = "columns" in spec ? spec.columns : undefined;
      const type = typeOf(spec.kind, "bytes" in spec ? spec.bytes : undefined);
      let bytes: Uint8Array;
      if (spec.kind === "string") {
        bytes = new Uint8Array(total * spec.bytes);
        let at = 0;
        for (const part of parts) {
          for (const text of part as string[]) {
            this.encodeInto(text, bytes, at, spec.bytes, `${spec.group}/${spec.name}`);
            at += spec.bytes;
          }
        }
      } else {
        const width = columns ?? 1;
        const values =
          spec.kind === "int32" ? new Int32Array(total * width) : new Float64Array(total * width);
        let at = 0;
        for (const part of parts) {
          const source = (
            columns ? (part as { data: Float64Array }).data : part
          ) as ArrayLike<number>;
          values.set(source, at);
          at += source.length;
        }
        bytes = new Uint8Array(values.buffer);
      }
      const shape = columns ? [total, columns] : [total];
      const chunks = columns ? [spec.chunk, columns] : [spec.chunk];
      this.createDataset(id, `/${spec.group}/${spec.name}`, type, shape, chunks, bytes);
    }
    return offsets;
  }

  private writeSongsTable(
    id: bigint,
    group: Group,
    fields: readonly FieldSpec[],
    chunk: number,
    tracks: readonly Track[],
    offsets: ReadonlyMap<string, number[]>,
  ): void {
    const members: (TypeMetadata & { name: string; offset: number })[] = [];
    let rowSize = 0;
    for (const field of fields) {
      const type = typeOf(field.kind, field.bytes);
      members.push({ ...type, name: field.name, offset: rowSize });
      rowSize += type.size;
    }
    const bytes = new Uint8Array(rowSize * tracks.length);
    const view = new DataView(bytes.buffer);
    tracks.forEach((track, row) => {
      const values = track[group] as unknown as Record<string, unknown>;
      fields.forEach((field, f) => {
        const member = members[f] as { offset: number; size: number };
        const at = row * rowSize + member.offset;
        const value = offsets.get(field.name)?.[row] ?? values[field.name];
        const where = `${group}/songs.${field.name}`;
        if (field.kind === "string") {
          if (typeof value !== "string") throw new Error(`track ${row}: ${where} must be a string`);
          this.encodeInto(value, bytes, at, member.size, where);
        } else if (typeof value !== "number") {
          throw new Error(`track ${row}: ${where} must be a number`);
        } else if (field.kind === "int32") {
          view.setInt32(at, value, true);
        } else {
          view.setFloat64(at, value, true);
        }
      });
    });
    const type = {
      type: H5T_COMPOUND,
      size: rowSize,
      signed: false,
      vlen: false,
      littleEndian: true,
    };
    const compound = { ...type, compound_type: { members, nmembers: members.length } };
    this.createDataset(id, `/${group}/songs`, compound, [tracks.length], [chunk], bytes);
  }

  private encodeInto(
    text: string,
    bytes: Uint8Array,
    at: number,
    size: number,
    where: string,
  ): void {
    const target = bytes.subarray(at, at + size);
    const { read } = this.encoder.encodeInto(text, target);
    if (read < text.length) {
      throw new Error(`${where}: ${JSON.stringify(text)} does not fit in ${size} bytes as UTF-8`);
    }
  }

  private createDataset(
    id: bigint,
    path: string,
    type: TypeMetadata & { compound_type?: unknown },
    shape: number[],
    chunks: number[],
    bytes: Uint8Array,
  ): void {
    const h5 = this.h5;
    const metadata = {
      ...type,
      shape: shape.map(BigInt),
      maxshape: shape.map((dim, axis) => (axis === 0 ? H5S_UNLIMITED : BigInt(dim))),
      chunks: chunks.map(BigInt),
      compression: this.options.compress ? H5Z_FILTER_DEFLATE : 0,
      compression_opts: this.options.compress ? [1] : [],
      track_order: false,
    } as unknown as WriteMetadata;
    const pointer = h5._malloc(Math.max(bytes.length, 1));
    if (pointer === 0) throw new Error(`${path}: cannot allocate ${bytes.length} bytes`);
    try {
      h5.HEAPU8.set(bytes, pointer);
      const status = h5.create_dataset(id, path, BigInt(pointer), metadata);
      if (status < 0) throw new Error(`${path}: HDF5 cannot write the dataset`);
    } finally {
      h5._free(pointer);
    }
  }
}

const INT32: TypeMetadata = {
  type: H5T_INTEGER,
  size: 4,
  signed: true,
  vlen: false,
  littleEndian: true,
};
const FLOAT64: TypeMetadata = {
  type: H5T_FLOAT,
  size: 8,
  signed: false,
  vlen: false,
  littleEndian: true,
};

function typeOf(kind: FieldKind, bytes: number | undefined): TypeMetadata {
  if (kind === "int32") return INT32;
  if (kind === "float64") return FLOAT64;
  return {
    type: H5T_STRING,
    size: bytes ?? 0,
    signed: false,
    vlen: false,
    littleEndian: true,
    cset: H5T_CSET_ASCII,
  };
}

function arrayOf(track: Track, group: Group, name: string): unknown {
  const value = (track[group] as unknown as Record<string, unknown>)[name];
  if (value === undefined) throw new Error(`the track has no ${group}/${name}`);
  return value;
}

function rowCount(value: unknown, name: string): number {
  if (Array.isArray(value) || ArrayBuffer.isView(value))
    return (value as ArrayLike<unknown>).length;
  const matrix = value as { rows?: unknown; columns?: unknown; data?: unknown };
  if (typeof matrix.rows === "number" && matrix.data instanceof Float64Array) {
    if (matrix.data.length !== matrix.rows * Number(matrix.columns)) {
      throw new Error(
        `${name}: a ${matrix.rows}×${matrix.columns} matrix needs ${matrix.rows * Number(matrix.columns)} values, has ${matrix.data.length}`,
      );
    }
    return matrix.rows;
  }
  throw new Error(`${name}: expected an array or a matrix`);
}
