// Uploaded MSD track files as feature rows: real subset files (../shared/msd-sample, skipped
// when absent) give the rows preprocess extracts from the same files; bytes that are not a
// track file, an empty upload and too many tracks are refused naming the upload.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { describe, it } from "node:test";
import { extractFeatures, FEATURE_ARRAYS } from "../../src/features/extract.ts";
import { defaultVocabulary } from "../../src/features/vocabulary.ts";
import { readTrack } from "../../src/msd/reader.ts";
import { PredictInputError } from "../../src/serving/errors.ts";
import { readUploadedTracks } from "../../src/serving/track-files.ts";

const SAMPLE = new URL("../../../shared/msd-sample/data", import.meta.url).pathname;
const noSample = existsSync(SAMPLE) ? false : `no MSD sample at ${SAMPLE}`;

async function sampleFiles(): Promise<string[]> {
  const entries = await readdir(SAMPLE, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".h5"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

const refusedUpload = (message: RegExp) => (error: unknown) => {
  assert.ok(error instanceof PredictInputError, String(error));
  assert.equal(error.field, "file");
  assert.match(error.message, message);
  return true;
};

describe("uploaded track files", () => {
  it("reads real MSD files into the rows preprocess extracts from them", {
    skip: noSample,
  }, async () => {
    const paths = (await sampleFiles()).slice(0, 3);
    const uploads = await Promise.all(
      paths.map(async (path) => ({ name: basename(path), bytes: await readFile(path) })),
    );
    const tracks = await readUploadedTracks(uploads, 10);
    assert.equal(tracks.length, 3);
    for (const [i, path] of paths.entries()) {
      const expected = extractFeatures(await readTrack(path, { arrays: FEATURE_ARRAYS }), {
        vocabulary: defaultVocabulary(),
      });
      assert.ok("row" in expected);
      assert.deepEqual(tracks[i]?.row, expected.row);
      assert.equal(tracks[i]?.file, basename(path));
      assert.equal(`${tracks[i]?.row.track_id}.h5`, basename(path));
    }
  });

  it("refuses more tracks than a request may hold", { skip: noSample }, async () => {
    const paths = (await sampleFiles()).slice(0, 2);
    const uploads = await Promise.all(
      paths.map(async (path) => ({ name: basename(path), bytes: await readFile(path) })),
    );
    await assert.rejects(
      readUploadedTracks(uploads, 1),
      refusedUpload(/2 tracks in the upload, more than the 1 one request may hold/),
    );
  });

  it("refuses bytes that are not a track file, and an empty upload, naming them", async () => {
    await assert.rejects(
      readUploadedTracks(
        [{ name: "song.h5", bytes: new TextEncoder().encode("<html>not hdf5</html>") }],
        10,
      ),
      refusedUpload(/^file "song\.h5": not a readable MSD track file \(\.h5\): /),
    );
    await assert.rejects(
      readUploadedTracks([{ name: "empty\n.h5", bytes: new Uint8Array(0) }], 10),
      refusedUpload(/^file "empty\?\.h5": empty$/),
    );
    await assert.rejects(readUploadedTracks([], 10), refusedUpload(/no track file uploaded/));
  });

  it("refuses a truncated real file, naming it", { skip: noSample }, async () => {
    const [path] = await sampleFiles();
    const bytes = await readFile(path as string);
    await assert.rejects(
      readUploadedTracks([{ name: "cut.h5", bytes: bytes.subarray(0, 4096) }], 10),
      refusedUpload(/^file "cut\.h5": not a readable MSD track file/),
    );
  });
});
