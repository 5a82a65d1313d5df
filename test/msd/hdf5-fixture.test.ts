// The own HDF5 reader (hdf5-native.ts) on a file h5py writes here (scripts/hdf5-fixtures.py) with
// the shuffle filter, alone and before deflate, on chunked datasets whose chunks do not divide the
// rows (float64 and float32 matrices, int32, a compound of a string and numbers): its values must
// be those h5py wrote (filters.json), and its bytes those of the HDF5 library. Skipped without h5py.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Hdf5File, loadHdf5 } from "../../src/msd/hdf5.ts";
import { NativeHdf5File } from "../../src/msd/hdf5-native.ts";
import { h5pyMissing, PYTHON } from "./hostile-files.ts";

const GENERATOR = fileURLToPath(new URL("../../scripts/hdf5-fixtures.py", import.meta.url));

type Value = number | string;

interface Field {
  name: string;
  dtype: string;
  offset: number;
}

interface ExpectedDataset {
  path: string;
  dtype: string;
  itemsize?: number;
  fields?: Field[];
  shape: number[];
  chunks: number[] | null;
  filters: string[];
  values: Value[] | Value[][];
}

/** Runs the generator into a new folder and gives the folder and what h5py wrote. */
async function generate(): Promise<{ dir: string; datasets: ExpectedDataset[] }> {
  const dir = await mkdtemp(join(tmpdir(), "msd-hdf5-fixture-"));
  const run = spawnSync(PYTHON, [GENERATOR, "--out", dir], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  const written = JSON.parse(await readFile(join(dir, "filters.json"), "utf8"));
  return { dir, datasets: (written as { datasets: ExpectedDataset[] }).datasets };
}

/** One element of numpy type `dtype` ("<f8", "<i4", "|S12", …) at `at`. */
function element(view: DataView, at: number, dtype: string): Value {
  const size = Number(dtype.slice(2));
  switch (dtype.slice(0, 2)) {
    case "<f":
      return size === 8 ? view.getFloat64(at, true) : view.getFloat32(at, true);
    case "<i":
      if (size === 4) return view.getInt32(at, true);
      break;
    case "|S": {
      const bytes = new Uint8Array(view.buffer, view.byteOffset + at, size);
      const end = bytes.indexOf(0);
      return Buffer.from(bytes.subarray(0, end < 0 ? size : end)).toString("utf8");
    }
  }
  throw new Error(`no decoder for ${dtype}`);
}

/** The dataset's bytes as h5py's values: numbers in row-major order, or compound rows. */
function decode(bytes: Uint8Array, dataset: ExpectedDataset): Value[] | Value[][] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dataset.fields !== undefined) {
    const itemsize = dataset.itemsize as number;
    return Array.from({ length: bytes.byteLength / itemsize }, (_, row) =>
      (dataset.fields as Field[]).map((f) => element(view, row * itemsize + f.offset, f.dtype)),
    );
  }
  const size = Number(dataset.dtype.slice(2));
  return Array.from({ length: bytes.byteLength / size }, (_, i) =>
    element(view, i * size, dataset.dtype),
  );
}

describe("the own HDF5 reader on h5py's shuffled, chunked fixture", { skip: h5pyMissing }, () => {
  let FIXTURE: string;
  let expected: ExpectedDataset[];
  let dir: string;
  before(async () => {
    ({ dir, datasets: expected } = await generate());
    FIXTURE = join(dir, "filters.h5");
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("holds chunked datasets with shuffle alone and before deflate, and edge chunks", () => {
    const shuffled = expected.filter((d) => d.filters[0] === "shuffle");
    assert.ok(shuffled.some((d) => d.filters.length === 1));
    assert.ok(shuffled.some((d) => d.filters.includes("deflate")));
    assert.ok(shuffled.some((d) => d.fields !== undefined));
    assert.ok(shuffled.every((d) => (d.shape[0] as number) % (d.chunks?.[0] as number) !== 0));
  });

  it("reads every dataset as h5py wrote it", () => {
    const file = NativeHdf5File.open(FIXTURE);
    for (const dataset of expected) {
      assert.ok(file.isDataset(dataset.path), dataset.path);
      const metadata = file.metadata(dataset.path);
      assert.deepEqual(metadata.shape, dataset.shape, dataset.path);
      const values = decode(file.readBytes(dataset.path, metadata), dataset);
      assert.deepEqual(values, dataset.values, dataset.path);
    }
  });

  it("reads row ranges across chunk boundaries", () => {
    const file = NativeHdf5File.open(FIXTURE);
    for (const dataset of expected) {
      const metadata = file.metadata(dataset.path);
      const rows = dataset.shape[0] as number;
      const perRow = dataset.fields ? 1 : dataset.shape.slice(1).reduce((a, b) => a * b, 1);
      for (const [start, count] of [
        [1, rows - 2],
        [rows - 1, 1],
        [2, 0],
      ] as const) {
        const part = decode(file.readBytes(dataset.path, metadata, { start, count }), dataset);
        const whole = dataset.values.slice(start * perRow, (start + count) * perRow);
        assert.deepEqual(part, whole, `${dataset.path} [${start}, ${start + count})`);
      }
    }
  });

  it("gives the bytes the HDF5 library gives", async () => {
    const native = NativeHdf5File.open(FIXTURE);
    const library = Hdf5File.open(await loadHdf5(), FIXTURE);
    try {
      for (const { path } of expected) {
        const bytes = native.readBytes(path, native.metadata(path));
        assert.deepEqual(bytes, library.readBytes(path, library.metadata(path)), path);
      }
    } finally {
      library.close();
    }
  });

  it("is written the same by every run of scripts/hdf5-fixtures.py", async () => {
    const again = await generate();
    try {
      assert.deepEqual(again.datasets, expected);
    } finally {
      await rm(again.dir, { recursive: true, force: true });
    }
  });
});
