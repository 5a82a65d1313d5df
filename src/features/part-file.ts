// Part files: what one partition of a partitioned step (preprocess, batch predict) hands to the
// step's merge. The layout is the magic `GCPART01`, a uint32 header length and a JSON header
// (what the part is: step, range, counts), then records, each a uint32 length and a value in
// V8's serialization format (typed arrays kept as they are, so numbers travel bit for bit and
// cost no encoding), and last the SHA-256 of every byte before it. A part is read back whole
// and checked before any record is used: a damaged or truncated part is refused, never merged.
import { createHash, type Hash } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";
import { deserialize, serialize } from "node:v8";
import { InputError } from "../common/errors.ts";

const MAGIC = Buffer.from("GCPART01");
const DIGEST_BYTES = 32;
/** A part's header is small: its range and counts. */
const MAX_HEADER_BYTES = 1 << 20;

/** Writes a part file record by record (synchronously: it runs on a writer thread). */
export class PartFileWriter {
  private readonly fd: number;
  private readonly hash: Hash = createHash("sha256");
  bytes = 0;
  records = 0;

  constructor(
    readonly path: string,
    header: object,
  ) {
    this.fd = openSync(path, "w");
    const json = Buffer.from(JSON.stringify(header));
    this.write(MAGIC);
    this.write(uint32(json.length));
    this.write(json);
  }

  append(record: unknown): void {
    const bytes = serialize(record);
    this.write(uint32(bytes.length));
    this.write(bytes);
    this.records++;
  }

  close(): void {
    const digest = this.hash.digest();
    writeSync(this.fd, digest);
    this.bytes += digest.length;
    closeSync(this.fd);
  }

  private write(bytes: Uint8Array): void {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(this.fd, bytes, offset);
    this.hash.update(bytes);
    this.bytes += bytes.length;
  }
}

function uint32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
}

export interface PartFile {
  header: Record<string, unknown>;
  records: unknown[];
}

/** Checks and decodes a whole part file; `name` is how messages call it. */
export function readPartFile(bytes: Uint8Array, name: string): PartFile {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const refuse = (problem: string): never => {
    throw new InputError(`part ${name}: ${problem}`);
  };
  if (data.length < MAGIC.length + 4 + DIGEST_BYTES || !data.subarray(0, 8).equals(MAGIC))
    refuse("not a part file (no GCPART01 signature)");
  const body = data.subarray(0, data.length - DIGEST_BYTES);
  const digest = createHash("sha256").update(body).digest();
  if (!digest.equals(data.subarray(data.length - DIGEST_BYTES)))
    refuse("damaged or truncated (its SHA-256 does not match)");
  const headerLength = body.readUInt32LE(8);
  if (headerLength > MAX_HEADER_BYTES || 12 + headerLength > body.length)
    refuse(`header length ${headerLength} out of bounds`);
  let header: unknown;
  try {
    header = JSON.parse(body.subarray(12, 12 + headerLength).toString("utf8"));
  } catch {
    refuse("header is not JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header))
    refuse("header is not an object");
  const records: unknown[] = [];
  let offset = 12 + headerLength;
  while (offset < body.length) {
    if (offset + 4 > body.length) refuse(`record ${records.length + 1} cut short`);
    const length = body.readUInt32LE(offset);
    offset += 4;
    if (offset + length > body.length) refuse(`record ${records.length + 1} cut short`);
    records.push(deserialize(body.subarray(offset, offset + length)));
    offset += length;
  }
  return { header: header as Record<string, unknown>, records };
}
