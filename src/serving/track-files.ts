// Uploaded MSD track files as feature rows: each file's bytes go to a private temporary file
// (the HDF5 readers read paths), its signature and length are checked, it is read with the MSD
// reader (sizes bounded by msd/limits.ts) and turned into a row exactly as preprocess does
// (features/extract.ts). A file that is not a readable track file, or a track that gives no
// row, is refused naming the upload.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { extractFeatures, FEATURE_ARRAYS } from "../features/extract.ts";
import type { Row } from "../features/table.ts";
import { defaultVocabulary, type GenreVocabulary } from "../features/vocabulary.ts";
import { TrackReadError } from "../msd/errors.ts";
import { checkHdf5File } from "../msd/hdf5.ts";
import { openTrackFile, type TrackFile } from "../msd/reader.ts";
import { PredictInputError } from "./errors.ts";

export interface UploadedFile {
  /** The name the client gave the file. */
  name: string;
  bytes: Uint8Array;
}

export interface UploadedTrack {
  row: Row;
  /** The upload it came from. */
  file: string;
  title: string;
  artist: string;
}

/** The form field uploads come in. */
export const FILE_FIELD = "file";

/** Reads every track of the uploads, at most `maxTracks` in all. */
export async function readUploadedTracks(
  files: readonly UploadedFile[],
  maxTracks: number,
  vocabulary: GenreVocabulary = defaultVocabulary(),
): Promise<UploadedTrack[]> {
  if (files.length === 0)
    throw new PredictInputError(FILE_FIELD, `${FILE_FIELD}: no track file uploaded`);
  const dir = await mkdtemp(join(tmpdir(), "gc-predict-upload-"));
  const tracks: UploadedTrack[] = [];
  try {
    for (const [index, upload] of files.entries()) {
      const label = `${FILE_FIELD} ${JSON.stringify(displayName(upload.name))}`;
      if (upload.bytes.length === 0) throw new PredictInputError(FILE_FIELD, `${label}: empty`);
      const path = join(dir, `upload-${index}.h5`);
      await writeFile(path, upload.bytes);
      let file: TrackFile | undefined;
      try {
        // Not HDF5 at all, or cut short: refused before the HDF5 library is loaded for it.
        checkHdf5File(path);
        file = await openTrackFile(path, { arrays: FEATURE_ARRAYS });
        if (tracks.length + file.trackCount > maxTracks)
          throw new PredictInputError(
            FILE_FIELD,
            `${label}: ${tracks.length + file.trackCount} tracks in the upload, more than the ${maxTracks} one request may hold (server.predict.maxBatch)`,
          );
        for (let row = 0; row < file.trackCount; row++) {
          const track = await file.readTrack(row);
          const where = file.trackCount > 1 ? ` (track ${track.analysis.track_id})` : "";
          const extraction = extractFeatures(track, { vocabulary });
          if ("reason" in extraction)
            throw new PredictInputError(
              FILE_FIELD,
              `${label}${where}: gives no feature row: ${extraction.reason}`,
            );
          tracks.push({
            row: extraction.row,
            file: upload.name,
            title: track.metadata.title,
            artist: track.metadata.artist_name,
          });
        }
      } catch (error) {
        if (error instanceof PredictInputError) throw error;
        const problem =
          error instanceof TrackReadError
            ? `${error.field === undefined ? "" : `${error.field}: `}${error.problem}`
            : (error as Error).message.replaceAll(path, "the file");
        throw new PredictInputError(
          FILE_FIELD,
          `${label}: not a readable MSD track file (.h5): ${problem}`,
        );
      } finally {
        file?.close();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return tracks;
}

/** A client's file name fit for a message: printable, short. */
function displayName(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
  const printable = name.replace(/[\u0000-\u001f\u007f]/g, "?");
  return printable.length > 100 ? `${printable.slice(0, 100)}…` : printable || "(unnamed)";
}
