// A served data folder with a few predicted and monitored days, made by the project's own flows
// on a small generated feature table (no track files, so it takes seconds): split into test days
// by release year, a model trained and registered as champion, then daily-inference for each
// day (predictions, labels beside them, monitoring reports). Retraining is off: the folder has
// no track files for complete-training to read.
import assert from "node:assert/strict";
import { join } from "node:path";
import { DEFAULT_FEATURES_KEY } from "../../src/features/preprocess.ts";
import { type ColumnSpec, TableWriter } from "../../src/features/table.ts";
import { dailyInferenceFlow } from "../../src/flows/daily.ts";
import { splitFlow } from "../../src/flows/pipeline.ts";
import { trainFlow } from "../../src/flows/train.ts";
import { startTestServer, type TestServer } from "./serve.ts";

export const GENRE_GROUPS = [
  ["rock", "metal"],
  ["pop", "electronic"],
  ["jazz", "blues"],
  ["folk", "country"],
];
const FEATURES = [
  "tempo",
  "loudness",
  "energy",
  "danceability",
  "timbre_mean_0",
  "timbre_mean_1",
  "timbre_mean_2",
  "pitch_mean_0",
];
const COLUMNS: ColumnSpec[] = [
  { name: "track_id", type: "STRING" },
  { name: "artist_id", type: "STRING" },
  { name: "year", type: "INT32" },
  ...FEATURES.map((name): ColumnSpec => ({ name, type: "DOUBLE" })),
  { name: "genres", type: "STRING_LIST" },
];
const ID_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

export interface DailyData {
  server: TestServer;
  /** Days predicted and monitored, 1..days. */
  days: number;
  /** Tracks of each day. */
  batchSize: number;
}

/**
 * Starts a test server over a fresh folder holding `tracks` generated tracks, of which the
 * newest year's `days × batchSize` form the test days; the newest tracks drift (louder, faster).
 */
export async function startServerWithDailyData(
  options: { tracks?: number; days?: number; batchSize?: number; token?: string } = {},
): Promise<DailyData> {
  const days = options.days ?? 3;
  const batchSize = options.batchSize ?? 40;
  const tracks = options.tracks ?? 360;
  const server = await startTestServer({
    ...(options.token === undefined ? {} : { token: options.token }),
    configure: (config) => {
      config.monitoring.retrain = false;
    },
  });
  try {
    let state = 20_241_203;
    const next = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32;
    };
    const file = join(server.dir, "features.parquet");
    const writer = new TableWriter(file, COLUMNS, 128);
    const newest = days * batchSize;
    for (let i = 0; i < tracks; i++) {
      const artist = Math.floor(next() * 60);
      const group = artist % GENRE_GROUPS.length;
      const recent = i < newest;
      const shift = recent && i >= 2 * batchSize ? 1 : 0;
      let id = "TR";
      for (let c = 0; c < 16; c++) id += ID_LETTERS[Math.floor(next() * ID_LETTERS.length)];
      writer.add({
        track_id: id,
        artist_id: `AR${String(artist).padStart(4, "0")}`,
        year: recent ? 2010 : 1980 + Math.floor(next() * 29),
        tempo: 80 + 20 * group + next() * 40 + 60 * shift,
        loudness: -22 + 3 * group + next() * 8 + 12 * shift,
        energy: 0.2 * group + next() * 0.3,
        danceability: next(),
        timbre_mean_0: 40 + 2 * group + next() * 5 + 10 * shift,
        timbre_mean_1: next() * 20 - 10 + group,
        timbre_mean_2: next() * 10,
        pitch_mean_0: 0.3 + 0.1 * group + next() * 0.2,
        genres: (GENRE_GROUPS[group] as string[]).slice(0, next() < 0.5 ? 1 : 2),
      });
    }
    writer.close();
    await server.store.putFile(DEFAULT_FEATURES_KEY, file);
    const split = await server.orchestrator.run(splitFlow, {
      test_years: 1,
      batch_size: batchSize,
    });
    assert.equal(split.state, "completed", split.error);
    const trained = await server.orchestrator.run(trainFlow, { trees: 10, seed: 1 });
    assert.equal(trained.state, "completed", trained.error);
    for (let day = 1; day <= days; day++) {
      const daily = await server.orchestrator.run(dailyInferenceFlow, { day });
      assert.equal(daily.state, "completed", daily.error);
    }
    return { server, days, batchSize };
  } catch (error) {
    await server.close();
    throw error;
  }
}
