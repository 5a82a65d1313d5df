// The training table grown by the daily batches whose labels have arrived: the split's train
// table followed by days 1..N, each day's tracks joined with its labels, checked against the
// split manifest's digests, written as one local Parquet table for a retrain.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { InputError } from "../common/errors.ts";
import type { ColumnValues } from "../features/column-batch.ts";
import { TableWriter } from "../features/table.ts";
import type { ObjectStore } from "../storage/object-store.ts";
import { ColumnarTable } from "./columns.ts";
import type { SplitDay, SplitManifest, StoredObject } from "./manifest.ts";

const TRACK_ID = "track_id";
const GENRES = "genres";

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** A day's object downloaded to `dir` and checked against the manifest. */
async function fetchChecked(store: ObjectStore, object: StoredObject, dir: string) {
  const path = join(dir, object.key.replaceAll("/", "_"));
  if (!(await store.exists(object.key)))
    throw new InputError(`${store.uri}/${object.key} is missing: run split again`);
  await store.getFile(object.key, path);
  if ((await sha256File(path)) !== object.sha256)
    throw new InputError(
      `${store.uri}/${object.key}: its content differs from the split manifest (run split again)`,
    );
  return path;
}

export interface TrainingWithDays {
  path: string;
  rows: number;
  days: SplitDay[];
}

/**
 * Writes the train table at `trainPath` followed by the first `days` daily batches of
 * `manifest`, each with its genres from the day's labels, to `outPath` (the train table's
 * columns and types).
 */
export async function trainingTableWithDays(
  store: ObjectStore,
  manifest: SplitManifest,
  trainPath: string,
  days: number,
  outPath: string,
  scratch: string,
): Promise<TrainingWithDays> {
  if (!Number.isInteger(days) || days < 1 || days > manifest.days.length)
    throw new InputError(
      `add_days ${days}: expected a day of the split, 1 to ${manifest.days.length}`,
    );
  const train = await ColumnarTable.open(trainPath, `${store.uri}/${manifest.outputs.train.key}`);
  try {
    const columns = train.columns;
    const names = columns.map((c) => c.name);
    const writer = new TableWriter(outPath, columns);
    for (const [from, to] of train.groups)
      if (to > from) writer.addBatch(await train.read(names, from, to));
    const added = manifest.days.slice(0, days);
    for (const day of added) {
      const tracksPath = await fetchChecked(store, day.tracks, scratch);
      const labelsPath = await fetchChecked(store, day.labels, scratch);
      const tracks = await ColumnarTable.open(tracksPath, `${store.uri}/${day.tracks.key}`);
      const labels = await ColumnarTable.open(labelsPath, `${store.uri}/${day.labels.key}`);
      try {
        if (labels.rows !== tracks.rows)
          throw new InputError(
            `day ${day.day}: ${labels.rows} labels for ${tracks.rows} tracks (run split again)`,
          );
        for (const spec of columns) {
          const table = spec.name === GENRES ? labels : tracks;
          const found = table.columns.find((c) => c.name === spec.name);
          if (found?.type !== spec.type)
            throw new InputError(
              `${table.name}: column "${spec.name}" ${found ? `is ${found.type}` : "is missing"}, the train table's is ${spec.type}`,
            );
        }
        const trackNames = names.filter((n) => n !== GENRES);
        const trackColumns = await tracks.read(trackNames, 0, tracks.rows);
        const labelColumns = await labels.read([TRACK_ID, GENRES], 0, labels.rows);
        const ids = trackColumns.columns[trackNames.indexOf(TRACK_ID)] as string[];
        const labelIds = labelColumns.columns[0] as string[];
        ids.forEach((id, i) => {
          if (labelIds[i] !== id)
            throw new InputError(
              `day ${day.day}: row ${i + 1} of the labels is track ${labelIds[i]}, of the tracks ${id} (run split again)`,
            );
        });
        let next = 0;
        writer.addBatch({
          rows: tracks.rows,
          columns: names.map((n) =>
            n === GENRES
              ? (labelColumns.columns[1] as ColumnValues)
              : (trackColumns.columns[next++] as ColumnValues),
          ),
        });
      } finally {
        await tracks.close();
        await labels.close();
      }
    }
    writer.close();
    return { path: outPath, rows: writer.rows, days: added };
  } finally {
    await train.close();
  }
}
