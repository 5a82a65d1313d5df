// CSV as RFC 4180 writes it: comma-separated, fields quoted with " when they hold a comma, a
// quote or a line break, quotes doubled inside; CRLF or LF line ends; a UTF-8 byte order mark
// is skipped. Read as a stream, one record at a time, so a file never has to fit in a string.

import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { InputError } from "../common/errors.ts";

/** Calls `onRecord` with each record's fields and its 1-based line number. */
export async function readCsv(
  path: string,
  onRecord: (fields: string[], line: number) => void,
): Promise<void> {
  const parser = new CsvParser(path, onRecord);
  const stream = createReadStream(path, { encoding: "utf8", highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream) parser.push(chunk as string);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`table ${path}: cannot be read (${(error as Error).message})`);
  }
  parser.end();
}

/** The records of CSV text already in memory; `source` names it in messages. */
export function parseCsv(text: string, source: string): string[][] {
  const records: string[][] = [];
  const parser = new CsvParser(source, (fields) => records.push(fields));
  parser.push(text);
  parser.end();
  return records;
}

class CsvParser {
  private fields: string[] = [];
  private field = "";
  private quoted = false;
  /** Inside a quoted field. */
  private inQuotes = false;
  /** A quote inside a quoted field that may be the first of a doubled pair. */
  private quotePending = false;
  private line = 1;
  private recordLine = 1;
  private first = true;
  private lastWasCR = false;

  constructor(
    private readonly path: string,
    private readonly onRecord: (fields: string[], line: number) => void,
  ) {}

  push(text: string): void {
    let s = text;
    if (this.first) {
      this.first = false;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    let i = 0;
    const n = s.length;
    while (i < n) {
      if (this.inQuotes) {
        if (this.quotePending) {
          this.quotePending = false;
          if (s.charCodeAt(i) === 34) {
            this.field += '"';
            i++;
            continue;
          }
          this.inQuotes = false;
          continue;
        }
        const q = s.indexOf('"', i);
        const upto = q < 0 ? n : q;
        const part = s.slice(i, upto);
        for (let j = part.indexOf("\n"); j >= 0; j = part.indexOf("\n", j + 1)) this.line++;
        this.field += part;
        if (q < 0) return;
        this.quotePending = true;
        i = q + 1;
        continue;
      }
      const c = s.charCodeAt(i);
      if (c === 44) {
        this.endField();
        i++;
      } else if (c === 10 || c === 13) {
        if (c === 10 && this.lastWasCR) {
          this.lastWasCR = false;
          i++;
          continue;
        }
        this.lastWasCR = c === 13;
        this.endRecord();
        this.line++;
        this.recordLine = this.line;
        i++;
        continue;
      } else if (c === 34) {
        if (this.field.length > 0 || this.quoted) {
          throw new InputError(
            `table ${this.path}: line ${this.line}: a quote inside an unquoted field (quote the whole field and double the quote)`,
          );
        }
        this.inQuotes = true;
        this.quoted = true;
        i++;
      } else {
        let j = i + 1;
        while (j < n) {
          const d = s.charCodeAt(j);
          if (d === 44 || d === 10 || d === 13 || d === 34) break;
          j++;
        }
        if (this.quoted) {
          throw new InputError(
            `table ${this.path}: line ${this.line}: text after a closing quote (double a quote inside a quoted field)`,
          );
        }
        this.field += s.slice(i, j);
        i = j;
      }
      this.lastWasCR = false;
    }
  }

  end(): void {
    if (this.inQuotes && !this.quotePending) {
      throw new InputError(
        `table ${this.path}: line ${this.recordLine}: a quoted field is not closed`,
      );
    }
    this.quotePending = false;
    this.inQuotes = false;
    if (this.fields.length > 0 || this.field.length > 0 || this.quoted) this.endRecord();
  }

  private endField(): void {
    this.fields.push(this.field);
    this.field = "";
    this.quoted = false;
  }

  private endRecord(): void {
    const quoted = this.quoted;
    this.endField();
    const fields = this.fields;
    this.fields = [];
    // A blank line is no record.
    if (fields.length === 1 && fields[0] === "" && !quoted) return;
    this.onRecord(fields, this.recordLine);
  }
}

/** One CSV field: quoted when it holds a comma, quote, line break or outer spaces. */
export function csvField(value: string): string {
  if (/[",\r\n]/.test(value) || value !== value.trim()) return `"${value.replaceAll('"', '""')}"`;
  return value;
}

/** Writes CSV lines to a file, waiting when the file stream is full. */
export class CsvWriter {
  private readonly stream;
  private buffer: string[] = [];
  private size = 0;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { encoding: "utf8" });
  }

  async write(fields: string[]): Promise<void> {
    const line = `${fields.map(csvField).join(",")}\n`;
    this.buffer.push(line);
    this.size += line.length;
    if (this.size >= 1 << 20) await this.flush();
  }

  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    await once(this.stream, "finish");
  }

  private async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const text = this.buffer.join("");
    this.buffer = [];
    this.size = 0;
    if (!this.stream.write(text)) await once(this.stream, "drain");
  }
}
