// Model files taken apart for tests: the header's text, and a file with an edited header laid
// out again as a writer would, so that only the header's contents make it wrong.
import { createHash } from "node:crypto";

/** The header's JSON text and the offset of the arrays (after the header's padding). */
export function headerText(bytes: Uint8Array): { text: string; arraysStart: number } {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  return {
    text: new TextDecoder().decode(bytes.subarray(12, 12 + length)),
    arraysStart: Math.ceil((12 + length) / 8) * 8,
  };
}

/**
 * The file with its header edited and laid out again as a writer would, checksum included
 * (from version 2 on, a SHA-256 of everything before it in the last 32 bytes): a file that
 * only the header's contents make wrong.
 */
export function withHeader(
  bytes: Uint8Array,
  edit: (header: Record<string, unknown>) => void,
): Buffer {
  const { text, arraysStart } = headerText(bytes);
  const parsed = JSON.parse(text);
  const signed = parsed.version >= 2;
  edit(parsed);
  const json = Buffer.from(JSON.stringify(parsed));
  const arrays = bytes.subarray(arraysStart, signed ? bytes.length - 32 : bytes.length);
  const prelude = Buffer.alloc(12);
  Buffer.from(bytes.subarray(0, 8)).copy(prelude);
  prelude.writeUInt32LE(json.length, 8);
  const padding = Buffer.alloc(Math.ceil((12 + json.length) / 8) * 8 - 12 - json.length);
  const body = Buffer.concat([prelude, json, padding, arrays]);
  if (!signed) return body;
  return Buffer.concat([body, createHash("sha256").update(body).digest()]);
}
