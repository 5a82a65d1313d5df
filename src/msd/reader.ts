// Reads Million Song Dataset HDF5 files into typed Tracks: the three one-row songs tables,
// the artist term / tag arrays and every analysis array. A per-track file holds one song; an
// aggregate file holds several, each song's slice of an array starting at its idx_* column.
// Strings are decoded strictly as UTF-8; numeric arrays are taken whole as typed arrays.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TrackFileRefused, TrackReadError } from "./errors.ts";
import {
  type CompoundMember,
  type DatasetMetadata,
  H5T_COMPOUND,
  H5T_FLOAT,
  H5T_INTEGER,
  H5T_STR_SPACEPAD,
  H5T_STRING,
  Hdf5File,
  type Hdf5Source,
  loadHdf5,
  type TypeMetadata,
} from "./hdf5.ts";
import { NativeHdf5File } from "./hdf5-native.ts";
import {
  type ArraySpec,
  type FieldKind,
  type FieldSpec,
  type Group,
  type Matrix,
  SONGS_TABLES,
  TRACK_ARRAYS,
  type Track,
} from "./track.ts";

export interface ReadOptions {
  /**
   * Read only these arrays (names as in TRACK_ARRAYS); the others are neither checked nor
   * read and are left empty in the Track. Default: every array.
   */
  arrays?: readonly string[];
  /**
   * Which HDF5 reader: "auto" (the default) reads with this project's own (hdf5-native.ts)
   * and goes to the HDF5 library (h5wasm) for any file the own one does not handle and for
   * every error, so errors are always the library's, except a file the own reader refuses
   * (TrackFileRefused: data in another file, sizes past the limits), which stays refused;
   * "native" only the own reader, whose errors are then its own; "hdf5" only the library.
   */
  engine?: "auto" | "native" | "hdf5";
}

/** Reads the one track of a per-track MSD file. */
export async function readTrack(file: string, options: ReadOptions = {}): Promise<Track> {
  const trackFile = await openTrackFile(file, options);
  try {
    if (trackFile.trackCount !== 1) {
      throw new TrackReadError(
        file,
        undefined,
        `expected one track, the file holds ${trackFile.trackCount} (read it with readTracks)`,
      );
    }
    return await trackFile.readTrack(0);
  } finally {
    trackFile.close();
  }
}

/** Yields every track of an MSD file (one for a per-track file, many for an aggregate file). */
export async function* readTracks(
  file: string,
  options: ReadOptions = {},
): AsyncGenerator<Track, void, undefined> {
  const trackFile = await openTrackFile(file, options);
  try {
    for (let row = 0; row < trackFile.trackCount; row++) {
      yield await trackFile.readTrack(row);
    }
  } finally {
    trackFile.close();
  }
}

/**
 * Reads the one track of an MSD file held in memory. h5wasm in node reads only real paths
 * (its file system is the host's), so the bytes go through a private temporary file.
 */
export async function readTrackBytes(bytes: Uint8Array, name = "track.h5"): Promise<Track> {
  const dir = await mkdtemp(join(tmpdir(), "msd-track-"));
  const file = join(dir, "track.h5");
  try {
    await writeFile(file, bytes);
    return await readTrack(file);
  } catch (error) {
    if (error instanceof TrackReadError) {
      throw new TrackReadError(name, error.field, error.problem);
    }
    throw error;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Opens an MSD file and checks its layout; read its tracks, then close it. The HDF5 library is
 * loaded only for a file the own reader cannot read.
 */
export function openTrackFile(file: string, options: ReadOptions = {}): Promise<TrackFile> {
  return TrackFile.open(file, options);
}

interface TableLayout {
  readonly path: string;
  readonly metadata: DatasetMetadata;
  readonly fields: readonly { spec: FieldSpec; member: CompoundMember }[];
  readonly indexMembers: ReadonlyMap<string, CompoundMember>;
}

type ArrayLayout =
  | { readonly spec: ArraySpec; readonly path: string; readonly skipped: true }
  | {
      readonly spec: ArraySpec;
      readonly path: string;
      readonly skipped?: false;
      readonly metadata: DatasetMetadata;
      readonly length: number;
    };

function emptyArray(spec: ArraySpec): string[] | Int32Array | Float64Array | Matrix {
  if (spec.kind === "string") return [];
  if (spec.kind === "int32") return new Int32Array(0);
  if (spec.columns !== undefined)
    return { rows: 0, columns: spec.columns, data: new Float64Array(0) };
  return new Float64Array(0);
}

const GROUPS: readonly Group[] = ["metadata", "analysis", "musicbrainz"];

interface Layouts {
  readonly trackCount: number;
  readonly tables: ReadonlyMap<Group, TableLayout>;
  readonly arrays: readonly ArrayLayout[];
}

export class TrackFile {
  private constructor(
    private source: Hdf5Source,
    private layouts: Layouts,
    private readonly options: ReadOptions,
  ) {}

  static async open(file: string, options: ReadOptions = {}): Promise<TrackFile> {
    const engine = options.engine ?? "auto";
    if (engine !== "hdf5") {
      try {
        const source = NativeHdf5File.open(file);
        return new TrackFile(source, describe(source, options.arrays), options);
      } catch (error) {
        if (engine === "native" || error instanceof TrackFileRefused) throw error;
      }
    }
    const source = Hdf5File.open(await loadHdf5(), file);
    try {
      return new TrackFile(source, describe(source, options.arrays), options);
    } catch (error) {
      source.close();
      throw error;
    }
  }

  get file(): string {
    return this.source.path;
  }

  get trackCount(): number {
    return this.layouts.trackCount;
  }

  close(): void {
    this.source.close();
  }

  async readTrack(row: number): Promise<Track> {
    if (!Number.isInteger(row) || row < 0 || row >= this.trackCount) {
      throw new RangeError(`track ${row} is out of range: ${this.file} holds ${this.trackCount}`);
    }
    if (this.source instanceof NativeHdf5File && (this.options.engine ?? "auto") === "auto") {
      try {
        return this.read(row);
      } catch (error) {
        if (error instanceof TrackFileRefused) throw error;
        // Anything else the own reader cannot read, and every error, goes to the HDF5 library.
        await this.useLibrary();
      }
    }
    return this.read(row);
  }

  private async useLibrary(): Promise<void> {
    const h5 = await loadHdf5();
    const file = this.source.path;
    this.source.close();
    const source = Hdf5File.open(h5, file);
    try {
      this.layouts = describe(source, this.options.arrays);
    } catch (error) {
      source.close();
      throw error;
    }
    this.source = source;
  }

  private read(row: number): Track {
    const next = row + 1 < this.trackCount ? 1 : 0;
    const values = new Map<Group, Record<string, string | number>>();
    const nextRowIndexes = new Map<string, number>();
    for (const group of GROUPS) {
      const table = this.table(group);
      const bytes = this.source.readBytes(table.path, table.metadata, {
        start: row,
        count: 1 + next,
      });
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      values.set(group, this.decodeRow(table, bytes, view, row));
      if (next) {
        for (const [name, member] of table.indexMembers) {
          nextRowIndexes.set(name, readNumber(view, table.metadata.size + member.offset, member));
        }
      }
    }
    for (const array of this.layouts.arrays) {
      const record = values.get(array.spec.group) as Record<string, unknown>;
      if (array.skipped) {
        record[array.spec.name] = emptyArray(array.spec);
        continue;
      }
      const start = record[array.spec.index] as number;
      const end = nextRowIndexes.get(array.spec.index) ?? array.length;
      record[array.spec.name] = this.readArray(array, row, start, end);
    }
    return {
      metadata: values.get("metadata"),
      analysis: values.get("analysis"),
      musicbrainz: values.get("musicbrainz"),
    } as unknown as Track;
  }

  private table(group: Group): TableLayout {
    return this.layouts.tables.get(group) as TableLayout;
  }

  private where(row: number): string {
    return this.trackCount > 1 ? ` (track ${row})` : "";
  }

  private decodeRow(
    table: TableLayout,
    bytes: Uint8Array,
    view: DataView,
    row: number,
  ): Record<string, string | number> {
    const record: Record<string, string | number> = {};
    for (const { spec, member } of table.fields) {
      if (spec.kind === "string") {
        const text = decodeString(bytes, member.offset, member.size, member.strpad);
        if (text === undefined) {
          throw new TrackReadError(
            this.file,
            `${table.path}.${spec.name}`,
            `invalid UTF-8 in a string field${this.where(row)}`,
          );
        }
        record[spec.name] = text;
      } else {
        record[spec.name] = readNumber(view, member.offset, member);
      }
    }
    return record;
  }

  private readArray(
    array: Extract<ArrayLayout, { skipped?: false }>,
    row: number,
    start: number,
    end: number,
  ) {
    const { spec, path, metadata } = array;
    if (!(Number.isInteger(start) && start >= 0 && start <= end && end <= array.length)) {
      throw new TrackReadError(
        this.file,
        path,
        `${spec.index} gives rows [${start}, ${end}) of a dataset of ${array.length}${this.where(row)}`,
      );
    }
    const count = end - start;
    const whole = start === 0 && end === array.length;
    const bytes =
      count === 0
        ? new Uint8Array(0)
        : this.source.readBytes(path, metadata, whole ? undefined : { start, count });
    if (spec.kind === "string") {
      const strings = decodeStrings(bytes, metadata.size, metadata.strpad);
      if (strings === undefined) {
        throw new TrackReadError(this.file, path, `invalid UTF-8 in a string${this.where(row)}`);
      }
      return strings;
    }
    if (spec.kind === "int32") return toInt32Array(bytes, metadata);
    const data = toFloat64Array(bytes, metadata);
    if (spec.columns !== undefined) {
      return { rows: count, columns: spec.columns, data } satisfies Matrix;
    }
    return data;
  }
}

/** Checks an MSD file's layout: the songs tables' fields and the arrays asked for. */
function describe(hdf5: Hdf5Source, only?: readonly string[]): Layouts {
  const file = hdf5.path;
  const tables = new Map<Group, TableLayout>();
  const groupMembers = new Map<Group, Set<string>>();
  for (const group of GROUPS) {
    if (!hdf5.isGroup(`/${group}`)) {
      throw new TrackReadError(file, `/${group}`, "group is missing (not an MSD track file?)");
    }
    groupMembers.set(group, new Set(hdf5.names(`/${group}`)));
  }
  const requireDataset = (group: Group, name: string, expected: string): DatasetMetadata => {
    const path = `/${group}/${name}`;
    if (!groupMembers.get(group)?.has(name) || !hdf5.isDataset(path)) {
      throw new TrackReadError(file, path, `dataset is missing (expected ${expected})`);
    }
    return hdf5.metadata(path);
  };

  let trackCount: number | undefined;
  for (const { group, fields } of SONGS_TABLES) {
    const path = `/${group}/songs`;
    const metadata = requireDataset(group, "songs", "a compound table");
    if (metadata.type !== H5T_COMPOUND || metadata.shape?.length !== 1) {
      throw new TrackReadError(file, path, "expected a 1-D compound table");
    }
    const rows = metadata.shape[0] as number;
    if (trackCount !== undefined && rows !== trackCount) {
      throw new TrackReadError(
        file,
        path,
        `has ${rows} rows but /metadata/songs has ${trackCount}: every songs table needs one row per track`,
      );
    }
    trackCount = rows;
    const members = new Map(metadata.compound_type?.members.map((m) => [m.name, m]) ?? []);
    const layoutFields = fields.map((spec: FieldSpec) => {
      const member = members.get(spec.name);
      if (member === undefined) {
        throw new TrackReadError(
          file,
          `${path}.${spec.name}`,
          `field is missing (expected ${describeKind(spec.kind)})`,
        );
      }
      if (!kindMatches(spec.kind, member)) {
        throw new TrackReadError(
          file,
          `${path}.${spec.name}`,
          `expected ${describeKind(spec.kind)}, found ${describeMember(member)}`,
        );
      }
      return { spec, member };
    });
    const indexMembers = new Map(
      layoutFields
        .filter((f) => f.spec.name.startsWith("idx_"))
        .map((f) => [f.spec.name, f.member]),
    );
    tables.set(group, { path, metadata, fields: layoutFields, indexMembers });
  }

  const arrays = TRACK_ARRAYS.map((spec: ArraySpec): ArrayLayout => {
    const path = `/${spec.group}/${spec.name}`;
    if (only && !only.includes(spec.name)) return { spec, path, skipped: true };
    const columns = spec.columns;
    const expected = describeArray(spec);
    const metadata = requireDataset(spec.group, spec.name, expected);
    const shape = metadata.shape ?? [];
    const rankMatches = columns ? shape.length === 2 && shape[1] === columns : shape.length === 1;
    if (!rankMatches || !kindMatches(spec.kind, metadata)) {
      throw new TrackReadError(
        file,
        path,
        `expected ${expected}, found ${describeMember(metadata)} of shape (${shape.join(", ")})`,
      );
    }
    return { spec, path, metadata, length: shape[0] as number };
  });
  return { trackCount: trackCount ?? 0, tables, arrays };
}

function kindMatches(kind: FieldKind, metadata: DatasetMetadata | CompoundMember): boolean {
  if (kind === "string") return metadata.type === H5T_STRING && !metadata.vlen;
  if (kind === "int32")
    return metadata.type === H5T_INTEGER && [1, 2, 4, 8].includes(metadata.size);
  return (
    (metadata.type === H5T_FLOAT && (metadata.size === 4 || metadata.size === 8)) ||
    (metadata.type === H5T_INTEGER && [1, 2, 4, 8].includes(metadata.size))
  );
}

function describeKind(kind: FieldKind): string {
  if (kind === "string") return "a fixed-length byte string";
  if (kind === "int32") return "an integer";
  return "a float";
}

function describeArray(spec: ArraySpec): string {
  const element =
    spec.kind === "string"
      ? "a fixed-length string"
      : spec.kind === "int32"
        ? "an integer"
        : "a float";
  return `${element} array of shape ${spec.columns ? `(N, ${spec.columns})` : "(N,)"}`;
}

function describeMember(metadata: DatasetMetadata | CompoundMember): string {
  const bits = metadata.size * 8;
  switch (metadata.type) {
    case H5T_INTEGER:
      return `${metadata.signed ? "" : "u"}int${bits}`;
    case H5T_FLOAT:
      return `float${bits}`;
    case H5T_STRING:
      return metadata.vlen ? "a variable-length string" : `a ${metadata.size}-byte string`;
    case H5T_COMPOUND:
      return "a compound";
    default:
      return `HDF5 type class ${metadata.type}`;
  }
}

function readNumber(view: DataView, offset: number, member: TypeMetadata): number {
  const little = true;
  if (member.type === H5T_FLOAT) {
    return member.size === 8 ? view.getFloat64(offset, little) : view.getFloat32(offset, little);
  }
  switch (member.size) {
    case 1:
      return member.signed ? view.getInt8(offset) : view.getUint8(offset);
    case 2:
      return member.signed ? view.getInt16(offset, little) : view.getUint16(offset, little);
    case 4:
      return member.signed ? view.getInt32(offset, little) : view.getUint32(offset, little);
    default:
      return Number(
        member.signed ? view.getBigInt64(offset, little) : view.getBigUint64(offset, little),
      );
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Decodes a fixed-length string the way h5py does (trailing NUL bytes dropped, and trailing
 * spaces for space-padded strings); undefined when the bytes are not valid UTF-8.
 */
function decodeString(
  bytes: Uint8Array,
  start: number,
  length: number,
  padding: number | undefined,
): string | undefined {
  let end = start + length;
  while (end > start && bytes[end - 1] === 0) end--;
  if (padding === H5T_STR_SPACEPAD) {
    while (end > start && bytes[end - 1] === 0x20) end--;
  }
  try {
    return utf8.decode(bytes.subarray(start, end));
  } catch {
    return undefined;
  }
}

function decodeStrings(
  bytes: Uint8Array,
  size: number,
  padding: number | undefined,
): string[] | undefined {
  const count = size === 0 ? 0 : bytes.length / size;
  const strings: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const text = decodeString(bytes, i * size, size, padding);
    if (text === undefined) return undefined;
    strings[i] = text;
  }
  return strings;
}

function toFloat64Array(bytes: Uint8Array, metadata: DatasetMetadata): Float64Array {
  const count = bytes.length / metadata.size;
  if (metadata.type === H5T_FLOAT && metadata.size === 8) {
    return new Float64Array(bytes.buffer, bytes.byteOffset, count);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = readNumber(view, i * metadata.size, metadata);
  return out;
}

function toInt32Array(bytes: Uint8Array, metadata: DatasetMetadata): Int32Array {
  const count = bytes.length / metadata.size;
  if (metadata.size === 4 && metadata.signed) {
    return new Int32Array(bytes.buffer, bytes.byteOffset, count);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = readNumber(view, i * metadata.size, metadata);
  return out;
}
