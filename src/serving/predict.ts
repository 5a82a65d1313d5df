// An online prediction from request to answer: tracks given as JSON, as a form's fields or as
// uploaded MSD track files, predicted by the one served model the request started with, and
// answered with that model's name, version and alias.
import type { ServedModel } from "./online-model.ts";
import type { FeatureRows, TrackPrediction } from "./predictor.ts";
import { readUploadedTracks, type UploadedFile } from "./track-files.ts";

export interface UploadPrediction extends TrackPrediction {
  /** The upload the track came from, and what its file says of it. */
  file: string;
  title: string;
  artist_name: string;
}

export interface PredictAnswer<P extends TrackPrediction = TrackPrediction> {
  model: { name: string; version: string; alias: string; run_id: string };
  predictions: P[];
}

function modelOf(served: ServedModel): PredictAnswer["model"] {
  return {
    name: served.name,
    version: served.version,
    alias: served.alias,
    run_id: served.runId,
  };
}

/** Predicts feature rows: one track at once on this thread, a batch possibly on workers. */
export async function predictRows(served: ServedModel, rows: FeatureRows): Promise<PredictAnswer> {
  const { predictor } = served;
  const predictions = rows.rows === 1 ? predictor.predictNow(rows) : await predictor.predict(rows);
  return { model: modelOf(served), predictions };
}

/** A JSON body `{"tracks": [{feature: value, …}, …]}`. */
export function predictJson(
  served: ServedModel,
  body: unknown,
  maxBatch: number,
): Promise<PredictAnswer> {
  return predictRows(served, served.predictor.parseJson(body, maxBatch));
}

/** Uploaded MSD track files, every track in them. */
export async function predictUploads(
  served: ServedModel,
  files: readonly UploadedFile[],
  maxBatch: number,
): Promise<PredictAnswer<UploadPrediction>> {
  const tracks = await readUploadedTracks(files, maxBatch);
  const { model, predictions } = await predictRows(
    served,
    served.predictor.fromFeatureRows(tracks.map((t) => t.row)),
  );
  return {
    model,
    predictions: predictions.map((p, i) => {
      const track = tracks[i] as (typeof tracks)[number];
      return { ...p, file: track.file, title: track.title, artist_name: track.artist };
    }),
  };
}
