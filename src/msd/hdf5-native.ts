// A small HDF5 reader in TypeScript for the part of the format MSD track files use, so that
// reading a track needs neither the HDF5 library in wasm nor its wasm zlib: superblock
// version 0 or 1, version 1 object headers, old-style groups (symbol tables: a version 1
// B-tree of symbol nodes and a local heap), little-endian integers, IEEE floats, fixed-length
// strings and compounds of these, and compact, contiguous or chunked storage (version 3
// layout, version 1 B-tree chunk index) with the deflate (node's native zlib) and shuffle
// filters. It reads the whole file with one system call and parses it in place.
//
// It is strict on purpose: anything outside that subset, or anything inconsistent (an
// address past the end, a chunk missing, a chunk that inflates to the wrong size, a version
// it does not know), throws NativeUnsupported, and the caller reads the file with the HDF5
// library instead (which also gives the authoritative error for a broken file). It never
// guesses: what it returns is exactly the bytes HDF5 would return for the same read.
//
// What a file must not make any reader do it refuses with TrackFileRefused, naming the
// dataset: data kept in another file (external storage, external links, virtual datasets),
// and declared sizes past what the file can hold or a read may take (limits.ts), checked
// before anything is allocated.
import { readFileSync } from "node:fs";
import { inflateSync } from "node:zlib";
import { TrackFileRefused } from "./errors.ts";
import type { DatasetMetadata, Hdf5Source } from "./hdf5.ts";
import { checkChunkSize, checkDeclaredSize, checkReadSize } from "./limits.ts";

/** The file uses a part of HDF5 this reader does not handle, or is inconsistent. */
export class NativeUnsupported extends Error {
  override name = "NativeUnsupported";
}

function unsupported(why: string): never {
  throw new NativeUnsupported(why);
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Object header message types. The HDF5 File Format Specification (version 3.0) describes each
 * in section IV.A.2.<letter>, the letters in type order: IV.A.2.a for NIL (0x0000) through
 * IV.A.2.w for the object reference count (0x0016).
 */
const MESSAGE = {
  /** IV.A.2.a: space to be ignored. */
  NIL: 0x0000,
  /** IV.A.2.b: the dataset's rank and dimensions. */
  DATASPACE: 0x0001,
  /** IV.A.2.c: link info, in new-style groups. */
  LINK_INFO: 0x0002,
  /** IV.A.2.d */
  DATATYPE: 0x0003,
  /** IV.A.2.e */
  FILL_VALUE_OLD: 0x0004,
  /** IV.A.2.f */
  FILL_VALUE: 0x0005,
  /** IV.A.2.g: a link of a new-style group. */
  LINK: 0x0006,
  /** IV.A.2.h: raw data kept in other files. */
  EXTERNAL_DATA_FILES: 0x0007,
  /** IV.A.2.i: compact, contiguous, chunked or virtual storage. */
  DATA_LAYOUT: 0x0008,
  /** IV.A.2.k: group info, in new-style groups. */
  GROUP_INFO: 0x000a,
  /** IV.A.2.l: the filters applied to each chunk. */
  FILTER_PIPELINE: 0x000b,
  /** IV.A.2.m */
  ATTRIBUTE: 0x000c,
  /** IV.A.2.n */
  OBJECT_COMMENT: 0x000d,
  /** IV.A.2.o */
  MODIFICATION_TIME_OLD: 0x000e,
  /** IV.A.2.q: where the header goes on. */
  CONTINUATION: 0x0010,
  /** IV.A.2.r: an old-style group's B-tree and local heap. */
  SYMBOL_TABLE: 0x0011,
  /** IV.A.2.s */
  MODIFICATION_TIME: 0x0012,
  /** IV.A.2.t */
  BTREE_K_VALUES: 0x0013,
  /** IV.A.2.v: dense attributes. */
  ATTRIBUTE_INFO: 0x0015,
  /** IV.A.2.w */
  REFERENCE_COUNT: 0x0016,
} as const;

/** Messages that may be shared (stored once elsewhere, flag bit 1), which this reader refuses. */
const SHAREABLE: readonly number[] = [
  MESSAGE.DATASPACE,
  MESSAGE.DATATYPE,
  MESSAGE.DATA_LAYOUT,
  MESSAGE.FILTER_PIPELINE,
  MESSAGE.SYMBOL_TABLE,
];

/** Datatype classes (IV.A.2.d, the datatype message's class bits). */
const H5T_INTEGER = 0;
const H5T_FLOAT = 1;
const H5T_STRING = 3;
const H5T_COMPOUND = 6;
/** Filter identifiers (IV.A.2.l, the filter pipeline message). */
const FILTER_DEFLATE = 1;
const FILTER_SHUFFLE = 2;

interface Filter {
  readonly id: number;
  readonly values: readonly number[];
}

type Layout =
  | { readonly kind: "compact"; readonly at: number; readonly size: number }
  | { readonly kind: "contiguous"; readonly address: number | undefined; readonly size: number }
  | { readonly kind: "chunked"; readonly btree: number | undefined; readonly dims: number[] }
  | { readonly kind: "virtual"; readonly files: readonly string[] };

interface DatasetObject {
  readonly kind: "dataset";
  readonly metadata: DatasetMetadata;
  readonly layout: Exclude<Layout, { kind: "virtual" }>;
  readonly filters: readonly Filter[];
  /** Its declared sizes were checked against the limits. */
  checked?: boolean;
}

interface GroupObject {
  readonly kind: "group";
  readonly btree: number;
  readonly heap: number;
  links?: Map<string, number>;
}

/** An object whose data or links lead out of the file; `link` names the link that does. */
interface RefusedObject {
  readonly kind: "refused";
  readonly reason: string;
  readonly link?: string;
}

type H5Object = DatasetObject | GroupObject | RefusedObject | { readonly kind: "other" };

const OUT_OF_FILE = "a track file must hold all its own data";

interface Chunk {
  readonly address: number;
  readonly size: number;
  readonly filterMask: number;
  readonly offsets: number[];
}

/** Parsed datatype messages by their bytes (the metadata objects are never modified). */
const datatypes = new Map<string, DatasetMetadata>();

export class NativeHdf5File implements Hdf5Source {
  private readonly objects = new Map<number, H5Object>();
  private readonly chunkIndex = new Map<string, Chunk[]>();
  private offsetSize = 8;
  private lengthSize = 8;
  private rootAddress = 0;

  private constructor(
    readonly path: string,
    private readonly bytes: Buffer,
  ) {}

  /** Reads and parses a file; throws NativeUnsupported (or a file system error) otherwise. */
  static open(path: string): NativeHdf5File {
    return NativeHdf5File.fromBytes(path, readFileSync(path));
  }

  /** Parses a file already in memory; `path` names it in messages. */
  static fromBytes(path: string, bytes: Buffer): NativeHdf5File {
    const file = new NativeHdf5File(path, bytes);
    file.parseSuperblock();
    return file;
  }

  close(): void {}

  isGroup(path: string): boolean {
    return this.resolve(path)?.kind === "group";
  }

  isDataset(path: string): boolean {
    return this.resolve(path)?.kind === "dataset";
  }

  names(group: string): string[] {
    const object = this.resolve(group);
    if (object?.kind !== "group") unsupported(`${group} is not a group`);
    return [...this.links(object).keys()];
  }

  metadata(dataset: string): DatasetMetadata {
    return this.dataset(dataset).metadata;
  }

  readBytes(
    dataset: string,
    metadata: DatasetMetadata,
    range?: { start: number; count: number },
  ): Uint8Array {
    const object = this.dataset(dataset);
    if (metadata !== object.metadata) unsupported("metadata from another reader");
    const shape = metadata.shape ?? [];
    const rows = shape[0] ?? 1;
    const start = range ? range.start : 0;
    const count = range ? range.count : rows;
    if (start < 0 || count < 0 || start + count > rows) unsupported("rows out of range");
    const rowBytes = metadata.size * shape.slice(1).reduce((a, b) => a * b, 1);
    const byteLength = rowBytes * count;
    if (byteLength === 0) return new Uint8Array(0);
    checkReadSize(this.path, dataset, byteLength, `[${start}, ${start + count})`);
    const { layout } = object;
    if (layout.kind === "compact" || layout.kind === "contiguous") {
      const at = layout.kind === "compact" ? layout.at : layout.address;
      if (at === undefined || layout.size < rowBytes * rows) unsupported("storage not allocated");
      return this.slice(at + start * rowBytes, byteLength);
    }
    return this.readChunked(dataset, object, layout, shape, rowBytes, start, count);
  }

  private readChunked(
    path: string,
    object: DatasetObject,
    layout: Extract<Layout, { kind: "chunked" }>,
    shape: number[],
    rowBytes: number,
    start: number,
    count: number,
  ): Uint8Array {
    const rank = shape.length;
    const { dims } = layout;
    // Only chunks that span every axis but the first: then each chunk is a run of whole rows.
    if (dims.length !== rank + 1 || dims[rank] !== object.metadata.size) {
      unsupported("chunk dimensions do not match the dataset");
    }
    for (let axis = 1; axis < rank; axis++) {
      if (dims[axis] !== shape[axis]) unsupported("chunks split rows");
    }
    const chunkRows = dims[0] as number;
    const chunkBytes = chunkRows * rowBytes;
    let chunks = this.chunkIndex.get(path);
    if (chunks === undefined) {
      if (layout.btree === undefined) unsupported("chunks not allocated");
      chunks = [];
      this.collectChunks(layout.btree, rank + 1, chunks, 0);
      this.chunkIndex.set(path, chunks);
    }
    const end = start + count;
    const needed: Chunk[] = [];
    let covered = 0;
    for (const chunk of chunks) {
      const first = chunk.offsets[0] as number;
      if (first % chunkRows !== 0) unsupported("chunk offset not on a chunk boundary");
      for (let axis = 1; axis <= rank; axis++) {
        if (chunk.offsets[axis] !== 0) unsupported("chunk offset off the first axis");
      }
      const from = Math.max(first, start);
      const to = Math.min(first + chunkRows, end);
      if (from >= to) continue;
      needed.push(chunk);
      covered += to - from;
    }
    // Chunks never written read as the fill value; this reader leaves that to HDF5, and
    // allocates nothing until it knows the chunks cover the rows.
    if (covered !== count) unsupported("chunks missing or overlapping");
    const out = new Uint8Array(rowBytes * count);
    for (const chunk of needed) {
      const first = chunk.offsets[0] as number;
      const from = Math.max(first, start);
      const to = Math.min(first + chunkRows, end);
      this.decodeChunk(
        path,
        chunk,
        object,
        chunkBytes,
        (from - first) * rowBytes,
        (to - first) * rowBytes,
        out,
        (from - start) * rowBytes,
      );
    }
    return out;
  }

  /** Decodes the bytes [from, to) of a chunk into `out` at `at`. */
  private decodeChunk(
    path: string,
    chunk: Chunk,
    object: DatasetObject,
    chunkBytes: number,
    from: number,
    to: number,
    out: Uint8Array,
    at: number,
  ): void {
    const { filters } = object;
    let data: Uint8Array = this.slice(chunk.address, chunk.size, false);
    for (let i = filters.length - 1; i >= 0; i--) {
      if (chunk.filterMask & (1 << i)) continue;
      const filter = filters[i] as Filter;
      if (filter.id === FILTER_DEFLATE) {
        data = inflateChunk(this.path, path, data, chunkBytes);
      } else if (filter.id === FILTER_SHUFFLE) {
        const elementSize = filter.values[0] ?? 1;
        if (
          i === 0 &&
          data.length === chunkBytes &&
          from % elementSize === 0 &&
          to % elementSize === 0
        ) {
          // The usual last step: unshuffle straight into the output.
          unshuffleInto(data, elementSize, from / elementSize, to / elementSize, out, at);
          return;
        }
        const whole = new Uint8Array(data.length);
        unshuffleInto(data, elementSize, 0, Math.ceil(data.length / elementSize), whole, 0);
        data = whole;
      } else {
        unsupported(`filter ${filter.id}`);
      }
    }
    if (data.length !== chunkBytes) unsupported("a chunk decodes to the wrong size");
    out.set(data.subarray(from, to), at);
  }

  private collectChunks(address: number, keyDims: number, out: Chunk[], depth: number): void {
    if (depth > 32) unsupported("B-tree too deep");
    const b = this.bytes;
    this.need(address, 8 + 2 * this.offsetSize);
    if (b.toString("latin1", address, address + 4) !== "TREE" || b[address + 4] !== 1) {
      unsupported("not a chunk B-tree node");
    }
    const level = b[address + 5] as number;
    const entries = b.readUInt16LE(address + 6);
    const keySize = 8 + 8 * keyDims;
    let at = address + 8 + 2 * this.offsetSize;
    this.need(at, entries * (keySize + this.offsetSize) + keySize);
    for (let i = 0; i < entries; i++) {
      const size = b.readUInt32LE(at);
      const filterMask = b.readUInt32LE(at + 4);
      const offsets: number[] = [];
      for (let d = 0; d < keyDims; d++) offsets.push(this.number(at + 8 + 8 * d, 8));
      const child = this.address(at + keySize);
      if (child === undefined) unsupported("undefined chunk address");
      if (level === 0) {
        this.need(child, size);
        out.push({ address: child, size, filterMask, offsets });
      } else {
        this.collectChunks(child, keyDims, out, depth + 1);
      }
      at += keySize + this.offsetSize;
    }
  }

  private dataset(path: string): DatasetObject {
    const object = this.resolve(path);
    if (object?.kind !== "dataset") unsupported(`${path} is not a dataset`);
    if (!object.checked) {
      const { metadata, layout, filters } = object;
      checkDeclaredSize(
        this.path,
        path,
        metadata.size,
        metadata.shape ?? [],
        this.bytes.length,
        filters.length > 0,
      );
      // The last chunk dimension is the element size in bytes.
      if (layout.kind === "chunked") checkChunkSize(this.path, path, 1, layout.dims);
      object.checked = true;
    }
    return object;
  }

  /**
   * The object a path names, undefined when a link on the way is missing; refuses an object
   * on the way whose data or links lead out of the file.
   */
  private resolve(path: string): H5Object | undefined {
    let object = this.object(this.rootAddress);
    let at = "";
    this.refuseIfOut(object, "/");
    for (const name of path.split("/")) {
      if (name === "") continue;
      if (object.kind !== "group") return undefined;
      const address = this.links(object).get(name);
      if (address === undefined) return undefined;
      object = this.object(address);
      at += `/${name}`;
      this.refuseIfOut(object, at);
    }
    return object;
  }

  private refuseIfOut(object: H5Object, path: string): void {
    if (object.kind !== "refused") return;
    const field = object.link === undefined ? path : `${path === "/" ? "" : path}/${object.link}`;
    throw new TrackFileRefused(this.path, field, object.reason);
  }

  private links(group: GroupObject): Map<string, number> {
    if (group.links) return group.links;
    const b = this.bytes;
    const O = this.offsetSize;
    const L = this.lengthSize;
    this.need(group.heap, 8 + 2 * L + O);
    if (b.toString("latin1", group.heap, group.heap + 4) !== "HEAP" || b[group.heap + 4] !== 0) {
      unsupported("not a local heap");
    }
    const heapSize = this.number(group.heap + 8, L);
    const heapData = this.address(group.heap + 8 + 2 * L);
    if (heapData === undefined) unsupported("local heap without data");
    this.need(heapData, heapSize);
    const links = new Map<string, number>();
    const visit = (address: number, depth: number): void => {
      if (depth > 32) unsupported("B-tree too deep");
      this.need(address, 8 + 2 * O);
      if (b.toString("latin1", address, address + 4) !== "TREE" || b[address + 4] !== 0) {
        unsupported("not a group B-tree node");
      }
      const level = b[address + 5] as number;
      const entries = b.readUInt16LE(address + 6);
      let at = address + 8 + 2 * O + L;
      this.need(at, entries * (O + L));
      for (let i = 0; i < entries; i++, at += O + L) {
        const child = this.address(at);
        if (child === undefined) unsupported("undefined group node address");
        if (level > 0) visit(child, depth + 1);
        else this.symbolNode(child, heapData, heapSize, links);
      }
    };
    visit(group.btree, 0);
    group.links = links;
    return links;
  }

  private symbolNode(address: number, heap: number, heapSize: number, links: Map<string, number>) {
    const b = this.bytes;
    const O = this.offsetSize;
    this.need(address, 8);
    if (b.toString("latin1", address, address + 4) !== "SNOD" || b[address + 4] !== 1) {
      unsupported("not a symbol table node");
    }
    const count = b.readUInt16LE(address + 6);
    const entrySize = 2 * O + 24;
    this.need(address + 8, count * entrySize);
    for (let i = 0; i < count; i++) {
      const at = address + 8 + i * entrySize;
      const nameOffset = this.number(at, O);
      const objectAddress = this.address(at + O);
      if (objectAddress === undefined || nameOffset >= heapSize) unsupported("bad symbol entry");
      const nameStart = heap + nameOffset;
      const nameEnd = b.indexOf(0, nameStart);
      if (nameEnd < 0 || nameEnd >= heap + heapSize) unsupported("unterminated link name");
      const name = b.toString("utf8", nameStart, nameEnd);
      if (links.has(name)) unsupported("duplicate link name");
      links.set(name, objectAddress);
    }
  }

  private object(address: number): H5Object {
    let object = this.objects.get(address);
    if (object === undefined) {
      object = this.parseObjectHeader(address);
      this.objects.set(address, object);
    }
    return object;
  }

  private parseObjectHeader(address: number): H5Object {
    const b = this.bytes;
    this.need(address, 16);
    if (b[address] !== 1) unsupported("object header version other than 1");
    const messageCount = b.readUInt16LE(address + 2);
    const blocks: [number, number][] = [[address + 16, address + 16 + b.readUInt32LE(address + 8)]];
    let dataspace: number[] | null | undefined;
    let datatype: DatasetMetadata | undefined;
    let layout: Layout | undefined;
    let filters: Filter[] = [];
    let symbolTable: { btree: number; heap: number } | undefined;
    // A way out of the file outranks anything this reader does not handle: the first part of
    // the header it does not handle is only reported after every message has been looked at.
    let refused: RefusedObject | undefined;
    let notHandled: string | undefined;
    let seen = 0;
    for (let blockIndex = 0; blockIndex < blocks.length; blockIndex++) {
      if (blockIndex > 64) unsupported("too many continuation blocks");
      const [blockStart, blockEnd] = blocks[blockIndex] as [number, number];
      this.need(blockStart, blockEnd - blockStart);
      let at = blockStart;
      while (at + 8 <= blockEnd && seen < messageCount) {
        const type = b.readUInt16LE(at);
        const size = b.readUInt16LE(at + 2);
        const flags = b[at + 4] as number;
        const data = at + 8;
        if (data + size > blockEnd) unsupported("message past its block");
        seen++;
        at = data + size;
        try {
          if (flags & 0x02 && SHAREABLE.includes(type)) unsupported("shared message");
          switch (type) {
            case MESSAGE.DATASPACE:
              dataspace = this.parseDataspace(data);
              break;
            case MESSAGE.DATATYPE:
              datatype = this.datatype(data, data + size);
              break;
            case MESSAGE.EXTERNAL_DATA_FILES:
              refused ??= {
                kind: "refused",
                reason: `keeps its data in another file (${this.externalFiles(data, size)}) through HDF5 external storage: ${OUT_OF_FILE}`,
              };
              break;
            case MESSAGE.DATA_LAYOUT:
              layout = this.parseLayout(data, size);
              break;
            case MESSAGE.FILTER_PIPELINE:
              filters = this.parseFilters(data);
              break;
            case MESSAGE.CONTINUATION: {
              const next = this.address(data);
              if (next === undefined) unsupported("undefined continuation");
              blocks.push([next, next + this.number(data + this.offsetSize, this.lengthSize)]);
              break;
            }
            case MESSAGE.SYMBOL_TABLE: {
              const btree = this.address(data);
              const heap = this.address(data + this.offsetSize);
              if (btree === undefined || heap === undefined) unsupported("bad symbol table");
              symbolTable = { btree, heap };
              break;
            }
            case MESSAGE.LINK: {
              // A link of a new-style group: one to another file is refused, the group is
              // left to the HDF5 library otherwise.
              const link = this.parseLink(data, size);
              if (link.external !== undefined) {
                refused ??= {
                  kind: "refused",
                  link: link.name,
                  reason: `is an external link to another file (${link.external}): ${OUT_OF_FILE}`,
                };
              } else if (link.type >= 64) {
                refused ??= {
                  kind: "refused",
                  link: link.name,
                  reason: `is a user-defined link (type ${link.type}), which may lead to another file: ${OUT_OF_FILE}`,
                };
              }
              unsupported(`object header message ${type}`);
              break;
            }
            case MESSAGE.LINK_INFO:
            case MESSAGE.GROUP_INFO:
            case MESSAGE.ATTRIBUTE_INFO:
              unsupported(`object header message ${type}`);
              break;
            case MESSAGE.NIL:
            case MESSAGE.FILL_VALUE_OLD:
            case MESSAGE.FILL_VALUE: // only chunks never written read it, and those are refused
            case MESSAGE.ATTRIBUTE:
            case MESSAGE.OBJECT_COMMENT:
            case MESSAGE.MODIFICATION_TIME_OLD:
            case MESSAGE.MODIFICATION_TIME:
            case MESSAGE.BTREE_K_VALUES:
            case MESSAGE.REFERENCE_COUNT:
              break;
            default: // the rest: not understood here
              unsupported(`object header message ${type}`);
          }
        } catch (error) {
          if (!(error instanceof NativeUnsupported)) throw error;
          notHandled ??= error.message;
        }
      }
    }
    if (refused) return refused;
    if (layout?.kind === "virtual") {
      return {
        kind: "refused",
        reason: `is a virtual dataset mapping data from another file (${layout.files.join(", ") || "not named"}): ${OUT_OF_FILE}`,
      };
    }
    if (notHandled !== undefined) unsupported(notHandled);
    if (seen !== messageCount) unsupported("object header message count");
    if (symbolTable) {
      if (layout || datatype) unsupported("a group with data");
      return { kind: "group", ...symbolTable };
    }
    if (layout === undefined) {
      if (datatype || dataspace) unsupported("a dataset without a layout");
      return { kind: "other" };
    }
    if (datatype === undefined || dataspace === undefined) unsupported("incomplete dataset");
    if (layout.kind !== "chunked" && filters.length > 0) unsupported("filters on unchunked data");
    return { kind: "dataset", metadata: { ...datatype, shape: dataspace }, layout, filters };
  }

  /**
   * The file names of an External Data Files message (in a local heap), for the refusal's
   * reason; "names unreadable" when the message or its heap is broken.
   */
  private externalFiles(at: number, size: number): string {
    const b = this.bytes;
    const O = this.offsetSize;
    const L = this.lengthSize;
    try {
      if (size < 8 + O) unsupported("short external files message");
      const used = b.readUInt16LE(at + 6);
      const heap = this.address(at + 8);
      if (heap === undefined) unsupported("no heap");
      this.need(heap, 8 + 2 * L + O);
      if (b.toString("latin1", heap, heap + 4) !== "HEAP") unsupported("not a local heap");
      const heapSize = this.number(heap + 8, L);
      const heapData = this.address(heap + 8 + 2 * L);
      if (heapData === undefined) unsupported("local heap without data");
      this.need(heapData, heapSize);
      const names: string[] = [];
      for (let i = 0; i < Math.min(used, 4); i++) {
        const slot = at + 8 + O + i * 3 * L;
        if (slot + 3 * L > at + size) break;
        const offset = this.number(slot, L);
        if (offset >= heapSize) continue;
        const end = b.indexOf(0, heapData + offset);
        if (end < 0 || end > heapData + heapSize) continue;
        names.push(b.toString("utf8", heapData + offset, Math.min(end, heapData + offset + 256)));
      }
      if (used > names.length) names.push(`${used - names.length} more`);
      return names.join(", ") || "names unreadable";
    } catch (error) {
      if (error instanceof NativeUnsupported) return "names unreadable";
      throw error;
    }
  }

  /** A link message: the link's name and type, and for an external link "file:object". */
  private parseLink(at: number, size: number): { name: string; type: number; external?: string } {
    const b = this.bytes;
    const end = at + size;
    this.need(at, size);
    if (size < 3 || b[at] !== 1) unsupported("link message version");
    const flags = b[at + 1] as number;
    let p = at + 2;
    let type = 0;
    if (flags & 0x08) type = b[p++] as number;
    if (flags & 0x04) p += 8;
    if (flags & 0x10) p++;
    const lengthSize = 1 << (flags & 0x03);
    if (p + lengthSize > end) unsupported("link message past its end");
    const nameLength = b.readUIntLE(p, Math.min(lengthSize, 6));
    p += lengthSize;
    if (p + nameLength > end) unsupported("link name past its end");
    const name = b.toString("utf8", p, p + nameLength);
    p += nameLength;
    if (type !== 64) return { name, type };
    // External: a length, then a version/flags byte, the file name and the object's path.
    if (p + 3 > end) return { name, type, external: "names unreadable" };
    const infoEnd = Math.min(end, p + 2 + b.readUInt16LE(p));
    const fileStart = p + 3;
    const fileEnd = b.indexOf(0, fileStart);
    if (fileEnd < 0 || fileEnd >= infoEnd) return { name, type, external: "names unreadable" };
    const objectEnd = b.indexOf(0, fileEnd + 1);
    const object = b.toString(
      "utf8",
      fileEnd + 1,
      objectEnd < 0 || objectEnd > infoEnd ? infoEnd : objectEnd,
    );
    return { name, type, external: `${b.toString("utf8", fileStart, fileEnd)}:${object}` };
  }

  private parseDataspace(at: number): number[] | null {
    const b = this.bytes;
    this.need(at, 8);
    const version = b[at] as number;
    const rank = b[at + 1] as number;
    let dims: number;
    if (version === 1) {
      dims = at + 8;
    } else if (version === 2) {
      const type = b[at + 3];
      if (type === 2) unsupported("null dataspace");
      dims = at + 4;
    } else {
      unsupported(`dataspace version ${version}`);
    }
    if (rank > 32) unsupported("dataspace rank");
    const shape: number[] = [];
    for (let i = 0; i < rank; i++)
      shape.push(this.number(dims + i * this.lengthSize, this.lengthSize));
    return shape;
  }

  /**
   * The datatype message at [at, end), parsed once per process for each distinct message:
   * every MSD file holds the same few compound tables, and parsing them costs more than
   * looking their bytes up.
   */
  private datatype(at: number, end: number): DatasetMetadata {
    const key = this.bytes.toString("latin1", at, end);
    let metadata = datatypes.get(key);
    if (metadata === undefined) {
      metadata = this.parseDatatype(at, end).metadata;
      if (datatypes.size >= 256) datatypes.clear();
      datatypes.set(key, metadata);
    }
    return metadata;
  }

  /** A datatype message at `at` (ending before `end`): its metadata and its byte length. */
  private parseDatatype(at: number, end: number): { metadata: DatasetMetadata; length: number } {
    const b = this.bytes;
    if (at + 8 > end) unsupported("datatype past its message");
    const classAndVersion = b[at] as number;
    const typeClass = classAndVersion & 0x0f;
    const version = classAndVersion >> 4;
    const bits =
      (b[at + 1] as number) | ((b[at + 2] as number) << 8) | ((b[at + 3] as number) << 16);
    const size = b.readUInt32LE(at + 4);
    const base = { size, shape: null, littleEndian: true, vlen: false, signed: false };
    if (version < 1 || version > 3) unsupported(`datatype version ${version}`);
    switch (typeClass) {
      case H5T_INTEGER: {
        if (at + 12 > end) unsupported("datatype past its message");
        if (bits & 0x01) unsupported("big-endian integer");
        if (b.readUInt16LE(at + 8) !== 0 || b.readUInt16LE(at + 10) !== size * 8) {
          unsupported("integer with padding bits");
        }
        if (![1, 2, 4, 8].includes(size)) unsupported("integer size");
        return {
          metadata: { ...base, type: H5T_INTEGER, signed: (bits & 0x08) !== 0 },
          length: 12,
        };
      }
      case H5T_FLOAT: {
        if (at + 20 > end) unsupported("datatype past its message");
        if (bits & 0x41) unsupported("big-endian or VAX float");
        if (((bits >> 4) & 0x03) !== 2 || ((bits >> 8) & 0xff) !== size * 8 - 1) {
          unsupported("non-IEEE float");
        }
        const precision = b.readUInt16LE(at + 10);
        if (b.readUInt16LE(at + 8) !== 0 || precision !== size * 8) unsupported("float padding");
        const ieee =
          size === 8
            ? b[at + 12] === 52 && b[at + 13] === 11 && b[at + 14] === 0 && b[at + 15] === 52
            : size === 4 &&
              b[at + 12] === 23 &&
              b[at + 13] === 8 &&
              b[at + 14] === 0 &&
              b[at + 15] === 23;
        if (!ieee || b.readUInt32LE(at + 16) !== (size === 8 ? 1023 : 127)) {
          unsupported("non-IEEE float");
        }
        return { metadata: { ...base, type: H5T_FLOAT, signed: true }, length: 20 };
      }
      case H5T_STRING: {
        const padding = bits & 0x0f;
        if (padding > 2 || size === 0) unsupported("string padding");
        return {
          metadata: { ...base, type: H5T_STRING, strpad: padding, cset: (bits >> 4) & 0x0f },
          length: 8,
        };
      }
      case H5T_COMPOUND: {
        const count = bits & 0xffff;
        const members: NonNullable<DatasetMetadata["compound_type"]>["members"] = [];
        let p = at + 8;
        for (let i = 0; i < count; i++) {
          const nameEnd = b.indexOf(0, p);
          if (nameEnd < 0 || nameEnd >= end) unsupported("compound member name");
          const name = b.toString("utf8", p, nameEnd);
          let offset: number;
          if (version === 3) {
            p = nameEnd + 1;
            const offsetBytes = size < 0x100 ? 1 : size < 0x10000 ? 2 : size < 0x1000000 ? 3 : 4;
            if (p + offsetBytes > end) unsupported("compound member offset");
            offset = b.readUIntLE(p, offsetBytes);
            p += offsetBytes;
          } else {
            // The name is padded with NULs to a multiple of eight bytes.
            p += Math.ceil((nameEnd + 1 - p) / 8) * 8;
            if (p + 4 > end) unsupported("compound member offset");
            offset = b.readUInt32LE(p);
            p += 4;
            if (version === 1) {
              if (p + 28 > end) unsupported("compound member dimensions");
              if (b[p] !== 0) unsupported("array member of a version 1 compound");
              p += 28;
            }
          }
          const member = this.parseDatatype(p, end);
          p += member.length;
          const memberType = member.metadata.type;
          if (memberType !== H5T_INTEGER && memberType !== H5T_FLOAT && memberType !== H5T_STRING) {
            unsupported("compound member of another class");
          }
          if (offset + member.metadata.size > size) unsupported("compound member past the end");
          const { shape: _shape, ...rest } = member.metadata;
          members.push({ ...rest, name, offset } as (typeof members)[number]);
        }
        return {
          metadata: {
            ...base,
            type: H5T_COMPOUND,
            compound_type: { members, nmembers: count },
          } as DatasetMetadata,
          length: p - at,
        };
      }
      default:
        unsupported(`datatype class ${typeClass}`);
    }
  }

  private parseLayout(at: number, size: number): Layout {
    const b = this.bytes;
    const O = this.offsetSize;
    const L = this.lengthSize;
    this.need(at, Math.max(size, 2));
    const layoutClass = b[at + 1];
    if ((b[at] === 3 || b[at] === 4) && layoutClass === 3) {
      return { kind: "virtual", files: this.virtualSourceFiles(at + 2) };
    }
    if (b[at] !== 3) unsupported(`layout version ${b[at]}`);
    if (layoutClass === 0) {
      const length = b.readUInt16LE(at + 2);
      this.need(at + 4, length);
      return { kind: "compact", at: at + 4, size: length };
    }
    if (layoutClass === 1) {
      const address = this.address(at + 2);
      const length = this.number(at + 2 + O, L);
      if (address !== undefined) this.need(address, length);
      return { kind: "contiguous", address, size: length };
    }
    if (layoutClass === 2) {
      const rank = b[at + 2] as number;
      if (rank < 2 || rank > 33) unsupported("chunk rank");
      const btree = this.address(at + 3);
      const dims: number[] = [];
      for (let i = 0; i < rank; i++) dims.push(b.readUInt32LE(at + 3 + O + 4 * i));
      if (dims.some((d) => d === 0)) unsupported("zero chunk dimension");
      return { kind: "chunked", btree, dims };
    }
    unsupported(`layout class ${layoutClass}`);
  }

  /**
   * The source file names of a virtual dataset's mappings (version 0 of their encoding, in a
   * global heap object), for the refusal's reason; empty when they cannot be read.
   */
  private virtualSourceFiles(at: number): string[] {
    const b = this.bytes;
    const L = this.lengthSize;
    try {
      const collection = this.address(at);
      if (collection === undefined) return [];
      const index = this.number(at + this.offsetSize, 4);
      this.need(collection, 8 + L);
      if (b.toString("latin1", collection, collection + 4) !== "GCOL") return [];
      const collectionEnd = collection + this.number(collection + 8, L);
      this.need(collection, collectionEnd - collection);
      let p = collection + 8 + L;
      while (p + 8 + L <= collectionEnd) {
        const objectIndex = b.readUInt16LE(p);
        const objectSize = this.number(p + 8, L);
        const data = p + 8 + L;
        if (objectIndex === 0) return [];
        if (objectIndex === index) {
          if (data + 9 > collectionEnd || b[data] !== 0) return [];
          const count = this.number(data + 1, 8);
          // Only the first mapping's names start at a known place (the selections after
          // them have variable lengths).
          const fileEnd = b.indexOf(0, data + 9);
          if (fileEnd < 0 || fileEnd >= data + objectSize) return [];
          const first = b.toString("utf8", data + 9, Math.min(fileEnd, data + 9 + 256));
          return count > 1 ? [first, `${count - 1} more`] : [first];
        }
        p = data + Math.ceil(objectSize / 8) * 8;
      }
      return [];
    } catch (error) {
      if (error instanceof NativeUnsupported) return [];
      throw error;
    }
  }

  private parseFilters(at: number): Filter[] {
    const b = this.bytes;
    this.need(at, 8);
    const version = b[at] as number;
    const count = b[at + 1] as number;
    const filters: Filter[] = [];
    let p = version === 1 ? at + 8 : version === 2 ? at + 2 : unsupported(`filters v${version}`);
    for (let i = 0; i < count; i++) {
      this.need(p, 8);
      const id = b.readUInt16LE(p);
      let nameLength = 0;
      if (version === 1 || id >= 256) {
        nameLength = b.readUInt16LE(p + 2);
        p += 2;
      }
      const valueCount = b.readUInt16LE(p + 4);
      p += 6 + nameLength;
      this.need(p, 4 * valueCount);
      const values: number[] = [];
      for (let v = 0; v < valueCount; v++) values.push(b.readUInt32LE(p + 4 * v));
      p += 4 * valueCount;
      if (version === 1 && valueCount % 2 === 1) p += 4;
      if (id !== FILTER_DEFLATE && id !== FILTER_SHUFFLE) unsupported(`filter ${id}`);
      filters.push({ id, values });
    }
    return filters;
  }

  private parseSuperblock(): void {
    const b = this.bytes;
    if (b.length < 56 || SIGNATURE.some((byte, i) => b[i] !== byte)) {
      unsupported("no signature at 0");
    }
    const version = b[8];
    if (version !== 0 && version !== 1) unsupported(`superblock version ${version}`);
    const O = b[13] as number;
    const L = b[14] as number;
    if ((O !== 4 && O !== 8) || (L !== 4 && L !== 8)) unsupported("address sizes");
    this.offsetSize = O;
    this.lengthSize = L;
    const fields = version === 0 ? 24 : 28;
    const base = this.number(fields, O);
    const endOfFile = this.address(fields + 2 * O);
    if (base !== 0 || endOfFile === undefined) unsupported("base address");
    // The HDF5 library refuses a file shorter than its superblock says: so does this reader.
    if (b.length < endOfFile) unsupported("truncated file");
    const root = fields + 4 * O;
    const rootHeader = this.address(root + O);
    if (rootHeader === undefined) unsupported("no root group");
    this.rootAddress = rootHeader;
  }

  private need(at: number, length: number): void {
    if (!(at >= 0 && length >= 0 && at + length <= this.bytes.length)) {
      unsupported("an address past the end of the file");
    }
  }

  private slice(at: number, length: number, copy = true): Uint8Array {
    this.need(at, length);
    const view = this.bytes.subarray(at, at + length);
    return copy ? new Uint8Array(view) : view;
  }

  private number(at: number, size: number): number {
    this.need(at, size);
    if (size === 4) return this.bytes.readUInt32LE(at);
    const low = this.bytes.readUInt32LE(at);
    const high = this.bytes.readUInt32LE(at + 4);
    if (high > 0x1fffff) unsupported("a number past 2^53");
    return high * 0x100000000 + low;
  }

  /** An address, undefined for HDF5's undefined address (all bits set). */
  private address(at: number): number | undefined {
    const size = this.offsetSize;
    this.need(at, size);
    let allSet = true;
    for (let i = 0; i < size; i++) if (this.bytes[at + i] !== 0xff) allSet = false;
    return allSet ? undefined : this.number(at, size);
  }
}

/**
 * Inflates a deflated chunk, refusing one that inflates past its size (a deflate bomb stops
 * there, where the HDF5 library would go on to gigabytes).
 */
function inflateChunk(file: string, dataset: string, data: Uint8Array, chunkBytes: number) {
  try {
    return inflateSync(data, {
      chunkSize: Math.max(64, chunkBytes),
      maxOutputLength: Math.max(1, chunkBytes),
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ERR_BUFFER_TOO_LARGE") throw error;
    throw new TrackFileRefused(
      file,
      dataset,
      `a chunk inflates past the ${chunkBytes} bytes its dataset declares for it`,
    );
  }
}

/**
 * Undoes HDF5's shuffle filter (byte k of every element was stored in the k-th plane) for the
 * elements [from, to) of a chunk, writing them to `out` at `at`.
 */
function unshuffleInto(
  data: Uint8Array,
  elementSize: number,
  from: number,
  to: number,
  out: Uint8Array,
  at: number,
): void {
  const elements = Math.floor(data.length / elementSize);
  if (elementSize <= 1 || elements <= 1) {
    out.set(data.subarray(from * elementSize, to * elementSize), at);
    return;
  }
  if (to > elements) {
    // The bytes past the last whole element were stored as they are.
    out.set(
      data.subarray(elements * elementSize, to * elementSize),
      at + (elements - from) * elementSize,
    );
    to = elements;
  }
  if ((elementSize === 8 || elementSize === 4) && (out.byteOffset + at) % 4 === 0) {
    // Whole 32-bit words at a time (the machine is little-endian, as the data).
    const words = new Uint32Array(out.buffer, out.byteOffset + at, ((to - from) * elementSize) / 4);
    const perElement = elementSize / 4;
    for (let w = 0; w < perElement; w++) {
      const p0 = 4 * w * elements;
      const p1 = p0 + elements;
      const p2 = p1 + elements;
      const p3 = p2 + elements;
      for (let i = from, o = w; i < to; i++, o += perElement) {
        words[o] =
          ((data[p0 + i] as number) |
            ((data[p1 + i] as number) << 8) |
            ((data[p2 + i] as number) << 16) |
            ((data[p3 + i] as number) << 24)) >>>
          0;
      }
    }
    return;
  }
  for (let k = 0; k < elementSize; k++) {
    const plane = k * elements;
    for (let i = from, o = at + k; i < to; i++, o += elementSize)
      out[o] = data[plane + i] as number;
  }
}
