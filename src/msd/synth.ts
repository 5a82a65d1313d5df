// Generates a synthetic Million Song Dataset subset: real HDF5 files in the MSD layout and
// folder naming, deterministic for a seed, written by worker threads over ranges of track
// indices (the files are the same whatever their count). The catalogue (synth-catalogue.ts)
// makes the artists and their tracks, their audio comes from synth-audio.ts. Artists belong to
// one or two genre families and a track's tempo, loudness, key, mode, duration, metre, timbre
// and pitch vectors follow its artist's genres, so genres can be learned from audio.
// It keeps the real data's quirks: about half the years unknown (0), danceability and energy
// always 0, some tempos off by an octave, coordinates unknown (NaN) for 62% of tracks and
// song_hotttnesss for 43% (and 0 for 14%), fade times and popularity distributed as in the real
// subset, a few artists without terms and a few tracks with only five segments. Optionally the newest
// releases follow a trend in production style (faster, louder, compressed, brighter, denser,
// less tonal), drawn from a stream of their own so that every other track stays the same.
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import { startWorker } from "../common/worker-pool.ts";
import { followsTrend, type SubsetTrend } from "./synth-audio.ts";
import { SyntheticCatalog } from "./synth-catalogue.ts";
import { type Track, trackRelativePath } from "./track.ts";
import { createTrackWriter } from "./writer.ts";

export { followsTrend, type SubsetTrend };

export interface SubsetOptions {
  /** Number of tracks (files) to write. */
  tracks: number;
  /** Folder receiving data/A/B/C/<TRACK_ID>.h5. */
  outDir: string;
  seed: number;
  onProgress?: (done: number, total: number) => void;
  /**
   * Worker threads writing in parallel (each with its own HDF5 module); 1 writes in this
   * thread. The files are the same whatever the count. Default: one per CPU, up to 8, for
   * subsets of 200 tracks or more.
   */
  workers?: number;
  /** Deflate the datasets: smaller files (like the real ones), written about twice as slowly. */
  compress?: boolean;
  /** Tracks released in `fromYear` or later (year known) follow a trend in production style. */
  trend?: SubsetTrend;
}

export interface SubsetSummary {
  tracks: number;
  artists: number;
  /** Paths of the written files, in track order. */
  files: string[];
  /** Tracks per release year, "0" being unknown, in the order of years. */
  years: Record<string, number>;
  /** Tracks that follow the trend (0 without one). */
  trendTracks: number;
}

/** Writes `tracks` synthetic MSD track files under `outDir/data`, deterministically for `seed`. */
export async function generateSubset(options: SubsetOptions): Promise<SubsetSummary> {
  const { tracks, outDir, seed, onProgress } = options;
  if (!Number.isInteger(tracks) || tracks < 0) {
    throw new RangeError(`tracks must be a whole number ≥ 0, got ${tracks}`);
  }
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const { trend } = options;
  if (trend !== undefined) {
    if (!Number.isInteger(trend.fromYear)) {
      throw new RangeError(`trend.fromYear must be a whole number, got ${trend.fromYear}`);
    }
    if (!Number.isFinite(trend.strength) || trend.strength < 0) {
      throw new RangeError(`trend.strength must be a finite number ≥ 0, got ${trend.strength}`);
    }
  }
  const workers = Math.max(
    1,
    Math.min(tracks, options.workers ?? (tracks < 200 ? 1 : Math.min(8, availableParallelism()))),
  );
  const files = new Array<string>(tracks);
  const yearCounts = new Map<number, number>();
  let trendTracks = 0;
  let done = 0;
  const record = (written: readonly WrittenTrack[]) => {
    for (const { index, file, year } of written) {
      files[index] = file;
      yearCounts.set(year, (yearCounts.get(year) ?? 0) + 1);
      if (trend !== undefined && followsTrend(year, trend)) trendTracks++;
    }
    done += written.length;
    onProgress?.(done, tracks);
  };
  const compress = options.compress ?? false;
  const ranges = Array.from({ length: workers }, (_, w) => ({
    seed,
    outDir,
    compress,
    trend,
    start: Math.floor((tracks * w) / workers),
    end: Math.floor((tracks * (w + 1)) / workers),
  }));
  if (workers === 1) await writeTrackRange(ranges[0] as TrackRange, record);
  else await runWorkers(ranges, record);
  const artists = tracks === 0 ? 0 : new SyntheticCatalog(seed).artistOfTrack(tracks - 1) + 1;
  const years: Record<string, number> = {};
  for (const year of [...yearCounts.keys()].sort((a, b) => a - b)) {
    years[String(year)] = yearCounts.get(year) as number;
  }
  return { tracks, artists, files, years, trendTracks };
}

export interface TrackRange {
  seed: number;
  outDir: string;
  compress: boolean;
  trend?: SubsetTrend | undefined;
  /** First track index. */
  start: number;
  /** One past the last track index. */
  end: number;
}

export interface WrittenTrack {
  index: number;
  file: string;
  /** Release year, 0 when unknown. */
  year: number;
}

/** Writes tracks [start, end) of a subset, reporting them in small batches. */
export async function writeTrackRange(
  range: TrackRange,
  report: (written: WrittenTrack[]) => void,
): Promise<void> {
  const writer = await createTrackWriter({ compress: range.compress });
  const catalog = new SyntheticCatalog(range.seed);
  let batch: WrittenTrack[] = [];
  for (let index = range.start; index < range.end; index++) {
    const track = catalog.track(index, range.trend);
    const file = join(range.outDir, "data", trackRelativePath(track.analysis.track_id));
    writer.write(file, track);
    batch.push({ index, file, year: track.musicbrainz.year });
    if (batch.length === 32 || index + 1 === range.end) {
      report(batch);
      batch = [];
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

function runWorkers(ranges: TrackRange[], record: (written: WrittenTrack[]) => void) {
  const running: Worker[] = [];
  return new Promise<void>((resolve, reject) => {
    let finished = 0;
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      for (const worker of running) void worker.terminate();
      reject(error);
    };
    for (const range of ranges) {
      const worker = startWorker(import.meta.url, "synth-worker", { range });
      running.push(worker);
      worker.on("message", (written: WrittenTrack[]) => record(written));
      worker.on("error", fail);
      worker.on("exit", (code) => {
        if (code !== 0) {
          fail(
            new Error(
              `synthetic MSD worker for tracks ${range.start}–${range.end} exited with code ${code}`,
            ),
          );
        } else if (++finished === ranges.length && !failed) {
          resolve();
        }
      });
    }
  });
}

const catalogs = new Map<number, SyntheticCatalog>();

/** Track number `index` of the synthetic subset for `seed`, in memory (as generateSubset writes it). */
export function generateTrack(seed: number, index: number, trend?: SubsetTrend): Track {
  let catalog = catalogs.get(seed);
  if (catalog === undefined) {
    if (catalogs.size > 16) catalogs.clear();
    catalog = new SyntheticCatalog(seed);
    catalogs.set(seed, catalog);
  }
  return catalog.track(index, trend);
}
