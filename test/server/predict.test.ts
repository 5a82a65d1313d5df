// The online prediction API on the whole serve application over HTTP, with a real small model
// registered as champion: 503 before there is one, JSON tracks (imputed features listed, the
// model's own probabilities), MSD track file uploads (../shared/msd-sample; skipped when
// absent), every refusal with the field it names (wrong content type 415, malformed .h5,
// unknown feature, non-numeric value, too many tracks, too large a body 413), the served
// model's description, and the champion moved while requests keep coming: the answers switch
// to the new version within a few seconds and none fails.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { GenreModel } from "../../src/ml/model.ts";
import { completeRow, fitSmallModel, registerModel } from "../helpers/genre-model.ts";
import { startTestServer, type TestServer } from "../helpers/serve.ts";

const SAMPLE = new URL("../../../shared/msd-sample/data", import.meta.url).pathname;
const noSample = existsSync(SAMPLE) ? false : `no MSD sample at ${SAMPLE}`;
const MAX_BATCH = 20;
const MAX_BODY = 1024 * 1024;

interface Answer {
  model: { name: string; version: string; alias: string; run_id: string };
  predictions: {
    track_id?: string;
    genres: string[];
    probabilities: Record<string, number>;
    imputed: string[];
    file?: string;
  }[];
}

async function sampleFiles(): Promise<string[]> {
  const entries = await readdir(SAMPLE, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".h5"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

describe("online prediction API", () => {
  let server: TestServer;
  let first: GenreModel;
  let second: GenreModel;
  let track: Record<string, number>;

  const predict = (body: unknown) =>
    server.request("/api/v1/predict", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const upload = (files: { name: string; bytes: Uint8Array }[], field = "file") => {
    const form = new FormData();
    for (const file of files) form.append(field, new Blob([file.bytes]), file.name);
    return server.request("/api/v1/predict", { method: "POST", body: form });
  };
  const refusal = async (response: Response, status: number) => {
    assert.equal(response.status, status);
    assert.match(response.headers.get("content-type") ?? "", /application\/json/);
    return (await response.json()) as { error: string; field?: string };
  };

  before(async () => {
    server = await startTestServer({
      token: "predict-token",
      configure: (config) => {
        config.server.predict.maxBatch = MAX_BATCH;
        config.server.maxBodyBytes = MAX_BODY;
      },
    });
    [first, second] = await Promise.all([
      fitSmallModel(server.dir, { seed: 1, trees: 3 }),
      fitSmallModel(server.dir, { seed: 2, trees: 5 }),
    ]);
    const row = completeRow(11, 400);
    track = Object.fromEntries(first.features.map((f) => [f, row[f] as number]));
    track.year = 1990;
    track.tempo = 118;
  });
  after(async () => {
    await server?.close();
  });

  it("answers 503 with what to do while no model is behind the alias", async () => {
    const body = await refusal(await predict({ tracks: [track] }), 503);
    assert.equal(
      body.error,
      "no model behind alias champion of genre-classifier; train one (genre-classifier train)",
    );
    const model = await refusal(await server.request("/api/v1/predict/model"), 503);
    assert.match(model.error, /no model behind alias champion/);
    const page = await server.request("/predict");
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /No model behind alias champion of genre-classifier yet/);
    assert.doesNotMatch(html, /name="file"/);
  });

  it("predicts JSON tracks with the champion, listing the imputed features", async () => {
    await registerModel(server.tracking, server.config.pipeline.registeredModel, first, server.dir);
    await server.onlineModel.refresh();
    const partial: Record<string, number | string | null> = {
      ...track,
      track_id: "TRTEST",
      loudness: null,
    };
    delete partial.duration;
    const response = await predict({ tracks: [track, partial] });
    assert.equal(response.status, 200);
    const answer = (await response.json()) as Answer;
    assert.equal(answer.model.name, "genre-classifier");
    assert.equal(answer.model.version, "1");
    assert.equal(answer.model.alias, "champion");
    assert.match(answer.model.run_id, /^[0-9a-f]{32}$/);
    assert.equal(answer.predictions.length, 2);
    const [full, missing] = answer.predictions;
    assert.deepEqual(full?.imputed, []);
    assert.equal(full?.track_id, undefined);
    assert.equal(missing?.track_id, "TRTEST");
    assert.deepEqual(missing?.imputed.sort(), ["duration", "loudness"]);
    const x = Float64Array.from(first.features, (f) => track[f] as number);
    const expected = first.predictProba({ data: x, rows: 1, cols: x.length }).data;
    first.labels.forEach((genre, k) => {
      assert.equal(full?.probabilities[genre], expected[k], genre);
    });
    for (const genre of full?.genres ?? []) assert.ok(first.labels.includes(genre));
  });

  it("describes the model it serves", async () => {
    const response = await server.request("/api/v1/predict/model");
    assert.equal(response.status, 200);
    const model = (await response.json()) as Record<string, unknown>;
    assert.equal(model.name, "genre-classifier");
    assert.equal(model.alias, "champion");
    assert.equal(model.version, "1");
    assert.deepEqual(model.features, [...first.features]);
    assert.deepEqual(model.genres, [...first.labels]);
    assert.equal(model.problem, null);
  });

  it("predicts uploaded MSD track files", { skip: noSample }, async () => {
    const paths = (await sampleFiles()).slice(0, 2);
    const files = await Promise.all(
      paths.map(async (path) => ({ name: basename(path), bytes: await readFile(path) })),
    );
    const response = await upload(files);
    assert.equal(response.status, 200);
    const answer = (await response.json()) as Answer;
    assert.equal(answer.model.version, "1");
    assert.deepEqual(
      answer.predictions.map((p) => `${p.track_id}.h5`),
      paths.map((path) => basename(path)),
    );
    assert.deepEqual(
      answer.predictions.map((p) => p.file),
      paths.map((path) => basename(path)),
    );
    // Imputed: what the file has as missing (NaN coordinates or song_hotttnesss, year 0) and a
    // tempo that training's rule makes missing.
    const missable = ["year", "tempo", "song_hotttnesss", "artist_latitude", "artist_longitude"];
    for (const prediction of answer.predictions) {
      assert.equal(Object.keys(prediction.probabilities).length, first.labels.length);
      assert.ok(
        prediction.imputed.every((f) => missable.includes(f)),
        `${prediction.imputed}`,
      );
    }
    assert.ok(answer.predictions.some((p) => p.imputed.includes("artist_latitude")));
  });

  it("refuses a wrong content type with 415 naming the accepted ones", async () => {
    const body = await refusal(
      await server.request("/api/v1/predict", {
        method: "POST",
        headers: { "content-type": "text/plain" },
        body: "tempo=120",
      }),
      415,
    );
    assert.equal(body.field, "Content-Type");
    assert.match(body.error, /application\/json .* or multipart\/form-data .*got "text\/plain"/);
    const none = await refusal(
      await server.request("/api/v1/predict", { method: "POST", body: new Uint8Array([1, 2]) }),
      415,
    );
    assert.match(none.error, /got none/);
  });

  it("refuses a malformed .h5 upload naming the file, and a wrong form field", async () => {
    const body = await refusal(
      await upload([{ name: "broken.h5", bytes: new TextEncoder().encode("not an hdf5 file") }]),
      400,
    );
    assert.equal(body.field, "file");
    assert.match(body.error, /^file "broken\.h5": not a readable MSD track file \(\.h5\): /);
    const wrongField = await refusal(
      await upload([{ name: "x.h5", bytes: new Uint8Array([1]) }], "track"),
      400,
    );
    assert.equal(wrongField.field, "track");
  });

  it("refuses an unknown feature, a non-numeric value and broken JSON, naming the field", async () => {
    const unknown = await refusal(await predict({ tracks: [track, { energy: 0.5 }] }), 400);
    assert.equal(unknown.field, "tracks[1].energy");
    assert.match(unknown.error, /^tracks\[1\]\.energy: unknown feature "energy"/);
    const text = await refusal(
      await predict({ tracks: [track, track, track, { ...track, tempo: "fast" }] }),
      400,
    );
    assert.equal(text.field, "tracks[3].tempo");
    assert.equal(text.error, 'tracks[3].tempo: expected a number, got "fast"');
    const broken = await refusal(
      await server.request("/api/v1/predict", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"tracks": [',
      }),
      400,
    );
    assert.equal(broken.field, "body");
    assert.match(broken.error, /^body: not valid JSON/);
  });

  it("refuses more tracks than server.predict.maxBatch, and a body over server.maxBodyBytes with 413", async () => {
    const many = await refusal(
      await predict({ tracks: Array.from({ length: MAX_BATCH + 1 }, () => track) }),
      400,
    );
    assert.equal(many.field, "tracks");
    assert.match(many.error, /21 tracks, more than the 20 one request may hold/);
    const big = await refusal(
      await predict({ tracks: [{ ...track, track_id: "x".repeat(MAX_BODY) }] }),
      413,
    );
    assert.match(big.error, /larger than 1048576 bytes/);
  });

  it("needs the token", async () => {
    const response = await fetch(`${server.url}/api/v1/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tracks: [track] }),
    });
    assert.equal(response.status, 401);
  });

  it("switches to the new champion within a few seconds while requests keep coming, none failing", async () => {
    const seen: string[] = [];
    const failures: string[] = [];
    let stop = false;
    const fire = async () => {
      while (!stop) {
        try {
          const response = await predict({ tracks: [track] });
          if (response.status !== 200) failures.push(`${response.status} ${await response.text()}`);
          else seen.push(((await response.json()) as Answer).model.version);
        } catch (error) {
          failures.push(`${error} ${(error as Error).cause}`);
        }
      }
    };
    const clients = Array.from({ length: 4 }, fire);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const moved = Date.now();
    await registerModel(
      server.tracking,
      server.config.pipeline.registeredModel,
      second,
      server.dir,
    );
    let switchedAfter: number | undefined;
    while (Date.now() - moved < 8000) {
      if (seen.at(-1) === "2") {
        switchedAfter = Date.now() - moved;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop = true;
    await Promise.all(clients);
    assert.deepEqual(failures, []);
    assert.ok(switchedAfter !== undefined, `still answering with version ${seen.at(-1)}`);
    assert.ok(
      switchedAfter <= (server.config.server.predict.refreshSeconds + 2) * 1000,
      `${switchedAfter} ms`,
    );
    const firstTwo = seen.indexOf("2");
    assert.ok(seen.indexOf("1") < firstTwo, "version 1 answered before the move");
    assert.ok(
      seen.slice(firstTwo).every((v) => v === "2"),
      "no answer from version 1 after version 2",
    );
  });
});
