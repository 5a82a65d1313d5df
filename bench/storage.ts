// Object store throughput: many small objects (the size of MSD track files) and one large
// object, through our local and S3 backends, next to plain file copies (cp's work: the
// floor for a local store) measured in the same run. S3 runs against a local s3rver.
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalObjectStore } from "../src/storage/local.ts";
import type { ObjectStore } from "../src/storage/object-store.ts";
import { S3ObjectStore } from "../src/storage/s3.ts";
import { startLocalS3 } from "../test/helpers/s3-server.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const SMALL_COUNT = Number(process.env.BENCH_SMALL_COUNT ?? 1000);
const SMALL_SIZE = 300 * 1024;
const LARGE_SIZE = 128 * 1024 * 1024;
const CONCURRENCY = 8;

interface Row {
  target: string;
  smallWrite: number;
  smallRead: number;
  largeWrite: number;
  largeRead: number;
}

async function inBatches<T>(items: T[], work: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += CONCURRENCY)
    await Promise.all(items.slice(i, i + CONCURRENCY).map(work));
}

async function seconds(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function measureStore(
  target: string,
  store: ObjectStore,
  sources: string[],
  large: string,
): Promise<Row> {
  const keys = sources.map((_, i) => `bench/small/${String(i).padStart(6, "0")}.h5`);
  const smallWrite = await seconds(() =>
    inBatches(keys, (key) => store.putFile(key, sources[keys.indexOf(key)] as string)),
  );
  const smallRead = await seconds(() => inBatches(keys, (key) => store.get(key)));
  const largeWrite = await seconds(() => store.putFile("bench/large.bin", large));
  const largeRead = await seconds(async () => {
    for await (const _ of await store.getStream("bench/large.bin"));
  });
  return { target, smallWrite, smallRead, largeWrite, largeRead };
}

async function measurePlainCopy(dir: string, sources: string[], large: string): Promise<Row> {
  const out = join(dir, "plain");
  await mkdir(out, { recursive: true });
  const smallWrite = await seconds(() =>
    inBatches(sources, (s) => copyFile(s, join(out, `${sources.indexOf(s)}.h5`))),
  );
  const { readFile } = await import("node:fs/promises");
  const smallRead = await seconds(() =>
    inBatches(sources, (s) => readFile(join(out, `${sources.indexOf(s)}.h5`))),
  );
  const largeWrite = await seconds(() => copyFile(large, join(out, "large.bin")));
  const largeRead = await seconds(() => readFile(join(out, "large.bin")));
  return { target: "plain fs copy (reference)", smallWrite, smallRead, largeWrite, largeRead };
}

const dir = await mkdtemp(join(tmpdir(), "gc-bench-storage-"));
try {
  console.log(
    `preparing ${SMALL_COUNT} files of ${SMALL_SIZE / 1024} KiB and one of ${LARGE_SIZE / 1024 / 1024} MiB…`,
  );
  const sourceDir = join(dir, "sources");
  await mkdir(sourceDir);
  const sources: string[] = [];
  for (let i = 0; i < SMALL_COUNT; i++) {
    const path = join(sourceDir, `${i}.h5`);
    await writeFile(path, randomBytes(SMALL_SIZE));
    sources.push(path);
  }
  const large = join(sourceDir, "large.bin");
  await writeFile(large, randomBytes(LARGE_SIZE));

  const rows: Row[] = [await measurePlainCopy(dir, sources, large)];
  rows.push(
    await measureStore(
      "local folder store",
      new LocalObjectStore(join(dir, "store")),
      sources,
      large,
    ),
  );
  const s3 = await startLocalS3("bench");
  const s3Store = new S3ObjectStore(s3.bucket, "", { ...s3.settings, partSizeMib: 8 });
  try {
    rows.push(await measureStore("S3 store on local s3rver", s3Store, sources, large));
  } finally {
    await s3Store.close();
    await s3.stop();
  }

  const mb = (SMALL_COUNT * SMALL_SIZE) / 1024 / 1024;
  const largeMb = LARGE_SIZE / 1024 / 1024;
  console.log(
    `\n${"target".padEnd(28)} ${"small write".padStart(16)} ${"small read".padStart(16)} ${"large write".padStart(12)} ${"large read".padStart(12)}`,
  );
  for (const r of rows) {
    const small = (s: number) => `${(SMALL_COUNT / s).toFixed(0)} obj/s`.padStart(16);
    const big = (s: number) => `${(largeMb / s).toFixed(0)} MiB/s`.padStart(12);
    console.log(
      `${r.target.padEnd(28)} ${small(r.smallWrite)} ${small(r.smallRead)} ${big(r.largeWrite)} ${big(r.largeRead)}`,
    );
  }
  console.log(
    `\n(${SMALL_COUNT} objects = ${mb.toFixed(0)} MiB, ${CONCURRENCY} at a time; large = ${largeMb} MiB, multipart on S3)`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
