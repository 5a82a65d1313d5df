// The S3 object store (AWS S3 and S3-compatible servers: MinIO, R2, Ceph): small objects in
// one PUT, large ones and streams as multipart uploads; throttling and 5xx answers retried
// with exponential backoff by the SDK's standard retry strategy. Errors become one clear line.
import { randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, rename, stat, unlink } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type * as ClientS3 from "@aws-sdk/client-s3";
import type { S3Client } from "@aws-sdk/client-s3";
import type * as LibStorage from "@aws-sdk/lib-storage";
import { InputError, OperationError } from "../common/errors.ts";
import { pageSizeOf } from "./local.ts";
import {
  BaseObjectStore,
  type ByteRange,
  bodyToBytes,
  checkRange,
  type ListOptions,
  type ListPage,
  type ObjectInfo,
  ObjectNotFoundError,
  type PutBody,
  type PutOptions,
  validateKey,
  validatePrefix,
} from "./object-store.ts";

export interface S3Settings {
  endpoint?: string | undefined;
  region: string;
  forcePathStyle: boolean;
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  sessionToken?: string | undefined;
  maxAttempts: number;
  partSizeMib: number;
  uploadConcurrency: number;
}

const require = createRequire(import.meta.url);
let clientS3: typeof ClientS3 | undefined;
let libStorage: typeof LibStorage | undefined;

/**
 * The AWS SDK's S3 client, loaded when the first S3 store opens rather than with this module,
 * so that commands that never open S3 (`model fit`…) do not spend a few hundred milliseconds
 * on it. Its packages are CommonJS, so they load synchronously.
 */
function awsS3(): typeof ClientS3 {
  clientS3 ??= require("@aws-sdk/client-s3") as typeof ClientS3;
  return clientS3;
}

/** The SDK's multipart upload, loaded on the first upload. */
function awsUpload(): typeof LibStorage.Upload {
  libStorage ??= require("@aws-sdk/lib-storage") as typeof LibStorage;
  return libStorage.Upload;
}

const MIB = 1024 * 1024;
/** CopyObject's limit; larger objects are copied by download and upload. */
const MAX_COPY_BYTES = 5 * 1024 * MIB;

export class S3ObjectStore extends BaseObjectStore {
  readonly uri: string;
  private readonly client: S3Client;
  private readonly sdk = awsS3();
  private readonly partSize: number;

  constructor(
    readonly bucket: string,
    readonly prefix: string,
    private readonly settings: S3Settings,
  ) {
    super();
    this.uri = `s3://${bucket}${prefix ? `/${prefix}` : ""}`;
    if (Boolean(settings.accessKeyId) !== Boolean(settings.secretAccessKey)) {
      throw new InputError(
        "storage.s3.accessKeyId and storage.s3.secretAccessKey must be set together (or neither, to use the AWS default credential chain)",
      );
    }
    this.partSize = settings.partSizeMib * MIB;
    this.client = new this.sdk.S3Client({
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      maxAttempts: settings.maxAttempts,
      retryMode: "standard",
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      ...(settings.accessKeyId && settings.secretAccessKey
        ? {
            credentials: {
              accessKeyId: settings.accessKeyId,
              secretAccessKey: settings.secretAccessKey,
              ...(settings.sessionToken ? { sessionToken: settings.sessionToken } : {}),
            },
          }
        : {}),
    });
  }

  async put(key: string, body: PutBody, options: PutOptions = {}): Promise<ObjectInfo> {
    const fullKey = this.fullKey(key);
    if (typeof body === "string" || body instanceof Uint8Array) {
      const bytes = bodyToBytes(body);
      if (bytes.byteLength <= this.partSize) {
        const out = await this.call("put", key, () =>
          this.client.send(
            new this.sdk.PutObjectCommand({
              Bucket: this.bucket,
              Key: fullKey,
              Body: bytes,
              ContentLength: bytes.byteLength,
              ContentType: options.contentType,
            }),
          ),
        );
        return { key, size: bytes.byteLength, etag: unquote(out.ETag), lastModified: new Date() };
      }
      return this.upload(key, Readable.from([bytes]), options);
    }
    return this.upload(key, body instanceof Readable ? body : Readable.from(body), options);
  }

  async putFile(key: string, path: string, options: PutOptions = {}): Promise<ObjectInfo> {
    const { size } = await stat(path).catch((error: Error) => {
      throw new InputError(`file ${path}: cannot be read (${error.message})`);
    });
    if (size <= this.partSize) {
      return this.put(key, await readFile(path), options);
    }
    return this.upload(key, createReadStream(path), options);
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const body = await this.getBody(key, range);
    return this.call("get", key, () => body.transformToByteArray());
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    return (await this.getBody(key, range)) as unknown as Readable;
  }

  async getFile(key: string, target: string): Promise<ObjectInfo> {
    const info = await this.head(key);
    if (!info) throw new ObjectNotFoundError(this.uri, key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.partial-${randomUUID()}`;
    try {
      await pipeline(await this.getStream(key), createWriteStream(tmp));
      await rename(tmp, target);
    } catch (error) {
      await unlink(tmp).catch(() => {});
      throw this.translate(error, "download", key);
    }
    return info;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(
        new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }),
      );
      return {
        key,
        size: out.ContentLength ?? 0,
        etag: unquote(out.ETag),
        lastModified: out.LastModified ?? new Date(0),
      };
    } catch (error) {
      if (statusOf(error) === 404 && !isBucketMissing(error)) return undefined;
      throw this.translate(error, "head", key);
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    validatePrefix(prefix);
    const recursive = options.recursive ?? true;
    const pageSize = pageSizeOf(options.pageSize);
    const root = this.prefix ? `${this.prefix}/` : "";
    const cursor = decodeCursor(options.cursor);
    const out = await this.call("list", prefix, () =>
      this.client.send(
        new this.sdk.ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: root + prefix,
          MaxKeys: pageSize,
          ...(recursive ? {} : { Delimiter: "/" }),
          ...(cursor?.token ? { ContinuationToken: cursor.token } : {}),
          ...(cursor?.after ? { StartAfter: root + cursor.after } : {}),
          ...(!cursor && options.startAfter ? { StartAfter: root + options.startAfter } : {}),
        }),
      ),
    );
    const page: ListPage = {
      objects: (out.Contents ?? []).map((o) => ({
        key: (o.Key ?? "").slice(root.length),
        size: o.Size ?? 0,
        etag: unquote(o.ETag),
        lastModified: o.LastModified ?? new Date(0),
      })),
      prefixes: (out.CommonPrefixes ?? []).map((p) => (p.Prefix ?? "").slice(root.length)),
    };
    if (out.IsTruncated) {
      if (out.NextContinuationToken) {
        if (out.NextContinuationToken === cursor?.token) {
          throw new OperationError(
            `S3 list ${this.uri}/${prefix}: the server returned the same page token twice`,
          );
        }
        page.cursor = `t:${out.NextContinuationToken}`;
      } else {
        const last = [...page.objects.map((o) => o.key), ...page.prefixes].sort().at(-1);
        if (last) page.cursor = `k:${last}`;
      }
    }
    return page;
  }

  async delete(key: string): Promise<void> {
    await this.call("delete", key, () =>
      this.client.send(
        new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }),
      ),
    );
  }

  async copy(sourceKey: string, targetKey: string): Promise<ObjectInfo> {
    const source = await this.head(sourceKey);
    if (!source) throw new ObjectNotFoundError(this.uri, sourceKey);
    const targetFullKey = this.fullKey(targetKey);
    if (source.size > MAX_COPY_BYTES)
      return this.upload(targetKey, await this.getStream(sourceKey), {});
    const copySource = `${this.bucket}/${this.fullKey(sourceKey).split("/").map(encodeURIComponent).join("/")}`;
    const out = await this.call("copy", sourceKey, () =>
      this.client.send(
        new this.sdk.CopyObjectCommand({
          Bucket: this.bucket,
          Key: targetFullKey,
          CopySource: copySource,
        }),
      ),
    );
    return {
      key: targetKey,
      size: source.size,
      etag: unquote(out.CopyObjectResult?.ETag),
      lastModified: out.CopyObjectResult?.LastModified ?? new Date(),
    };
  }

  async localFile(key: string): Promise<string | undefined> {
    validateKey(key);
    return undefined;
  }

  async check(): Promise<void> {
    await this.call("check", "", () =>
      this.client.send(new this.sdk.HeadBucketCommand({ Bucket: this.bucket })),
    );
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async upload(key: string, body: Readable, options: PutOptions): Promise<ObjectInfo> {
    let size = 0;
    const counted = body.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          size += chunk.byteLength;
          done(null, chunk);
        },
      }),
    );
    body.on("error", (error) => counted.destroy(error));
    const Upload = awsUpload();
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: this.fullKey(key),
        Body: counted,
        ContentType: options.contentType,
      },
      partSize: this.partSize,
      queueSize: this.settings.uploadConcurrency,
      leavePartsOnError: false,
    });
    const out = await this.call("upload", key, () => upload.done());
    return { key, size, etag: unquote(out.ETag), lastModified: new Date() };
  }

  private async getBody(key: string, range?: ByteRange) {
    checkRange(range, key);
    const out = await this.call("get", key, () =>
      this.client.send(
        new this.sdk.GetObjectCommand({
          Bucket: this.bucket,
          Key: this.fullKey(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end ?? ""}` } : {}),
        }),
      ),
    );
    if (!out.Body) throw new OperationError(`S3 get ${this.uri}/${key}: the server sent no body`);
    return out.Body;
  }

  private fullKey(key: string): string {
    validateKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private async call<T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.translate(error, operation, key);
    }
  }

  private translate(error: unknown, operation: string, key: string): Error {
    if (error instanceof InputError || error instanceof OperationError) return error;
    const where = key ? `${this.uri}/${key}` : this.uri;
    const endpoint = this.settings.endpoint ?? `AWS S3 (${this.settings.region})`;
    const name = (error as { name?: string })?.name ?? "";
    const code = (error as { code?: string })?.code ?? "";
    const message = (error as Error)?.message ?? String(error);
    if (
      name === "CredentialsProviderError" ||
      (/credential/i.test(message) && !(error instanceof this.sdk.S3ServiceException))
    ) {
      return new InputError(
        `storage ${this.uri}: no S3 credentials found: set storage.s3.accessKeyId and storage.s3.secretAccessKey (GENRE_CLASSIFIER_STORAGE_S3_ACCESS_KEY_ID, GENRE_CLASSIFIER_STORAGE_S3_SECRET_ACCESS_KEY) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
      );
    }
    if (isBucketMissing(error) || (operation === "check" && statusOf(error) === 404)) {
      return new InputError(
        `storage ${this.uri}: bucket ${this.bucket} does not exist at ${endpoint}`,
      );
    }
    if (name === "NoSuchKey" || (statusOf(error) === 404 && operation !== "list")) {
      return new ObjectNotFoundError(this.uri, key);
    }
    if (name === "InvalidRange" || statusOf(error) === 416) {
      return new InputError(
        `object key ${JSON.stringify(key)}: the byte range starts beyond the object's end`,
      );
    }
    if (
      ["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden"].includes(name) ||
      statusOf(error) === 403
    ) {
      return new InputError(
        `storage ${where}: access denied by ${endpoint} (${name || "403"}): check storage.s3.accessKeyId and storage.s3.secretAccessKey`,
      );
    }
    const networkCodes = [
      "ECONNREFUSED",
      "ENOTFOUND",
      "EAI_AGAIN",
      "ETIMEDOUT",
      "ECONNRESET",
      "EHOSTUNREACH",
    ];
    if (networkCodes.includes(code) || name === "TimeoutError") {
      return new OperationError(
        `storage ${this.uri}: cannot reach the S3 endpoint ${endpoint} (${code || name})`,
      );
    }
    return new OperationError(
      `S3 ${operation} ${where} failed: ${name ? `${name}: ` : ""}${message}`,
    );
  }
}

function unquote(etag: string | undefined): string {
  return (etag ?? "").replace(/^"|"$/g, "");
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isBucketMissing(error: unknown): boolean {
  const name = (error as { name?: string })?.name;
  const code = (error as { Code?: string })?.Code;
  return name === "NoSuchBucket" || code === "NoSuchBucket";
}

function decodeCursor(cursor: string | undefined): { token?: string; after?: string } | undefined {
  if (!cursor) return undefined;
  if (cursor.startsWith("t:")) return { token: cursor.slice(2) };
  if (cursor.startsWith("k:")) return { after: cursor.slice(2) };
  throw new InputError(`list cursor ${JSON.stringify(cursor)}: not a cursor this store returned`);
}
