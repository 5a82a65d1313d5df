/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// Online predictions: POST /api/v1/predict (JSON feature rows or uploaded MSD track files),
// GET /api/v1/predict/model (the model served), and the Predict page, whose two forms (upload a
// track file, type feature values) post to /predict and work without scripts.
import { type Context, Hono } from "hono";
import type { FC } from "hono/jsx";
import { InputError } from "../../common/errors.ts";
import { ModelUnavailableError, PredictInputError } from "../../serving/errors.ts";
import type { ServedModel } from "../../serving/online-model.ts";
import {
  type PredictAnswer,
  predictJson,
  predictRows,
  predictUploads,
  type UploadPrediction,
} from "../../serving/predict.ts";
import type { TrackPrediction } from "../../serving/predictor.ts";
import { FILE_FIELD, type UploadedFile } from "../../serving/track-files.ts";
import type { ServerContext, ServerEnv } from "../context.ts";
import { Time } from "../ui/components.tsx";
import { Page } from "../ui/layout.tsx";

const JSON_TYPE = "application/json";
const MULTIPART_TYPE = "multipart/form-data";
const FORM_TYPE = "application/x-www-form-urlencoded";
/** Genres listed before the rest are folded away on the page. */
const TOP_GENRES = 10;

function mediaType(c: Context<ServerEnv>): string {
  return (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/** The files of a multipart body's `file` field; any other field is refused. */
async function uploadedFiles(c: Context<ServerEnv>): Promise<UploadedFile[]> {
  let form: FormData;
  try {
    form = await c.req.formData();
  } catch (error) {
    throw new PredictInputError(
      "body",
      `body: not a readable multipart/form-data body (${(error as Error).message})`,
    );
  }
  const files: UploadedFile[] = [];
  for (const [name, value] of form.entries()) {
    if (name !== FILE_FIELD)
      throw new PredictInputError(
        name,
        `${name}: unknown field (upload MSD track files in the "${FILE_FIELD}" field)`,
      );
    if (typeof value === "string")
      throw new PredictInputError(
        FILE_FIELD,
        `${FILE_FIELD}: expected an uploaded file, got a text value`,
      );
    if (value.size === 0 && value.name === "") continue;
    files.push({ name: value.name, bytes: new Uint8Array(await value.arrayBuffer()) });
  }
  return files;
}

async function jsonBody(c: Context<ServerEnv>): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PredictInputError("body", `body: not valid JSON (${(error as Error).message})`);
  }
}

export function predictRoutes(context: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const { onlineModel } = context;
  const { maxBatch, refreshSeconds } = context.config.server.predict;
  const loggedIn = context.token !== undefined;

  /** Counts the tracks given genres and the time the request took since `started`. */
  const countPredicted = (source: "json" | "files" | "form", tracks: number, started: number) =>
    context.operations?.metrics.predicted(source, tracks, (performance.now() - started) / 1000);

  const refusal = (c: Context<ServerEnv>, error: unknown) => {
    if (error instanceof ModelUnavailableError) {
      c.header("Retry-After", String(Math.ceil(refreshSeconds)));
      return c.json({ error: error.message }, 503);
    }
    if (error instanceof PredictInputError)
      return c.json({ error: error.message, field: error.field }, 400);
    if (error instanceof InputError) return c.json({ error: error.message }, 400);
    throw error;
  };

  app.post("/api/v1/predict", async (c) => {
    const type = mediaType(c);
    if (type !== JSON_TYPE && type !== MULTIPART_TYPE)
      return c.json(
        {
          error: `Content-Type must be ${JSON_TYPE} ({"tracks": [{feature: value, …}]}) or ${MULTIPART_TYPE} (MSD .h5 track files in the "${FILE_FIELD}" field), got ${type === "" ? "none" : JSON.stringify(type.slice(0, 100))}`,
          field: "Content-Type",
        },
        415,
      );
    try {
      const started = performance.now();
      const served = onlineModel.require();
      const answer =
        type === JSON_TYPE
          ? await predictJson(served, await jsonBody(c), maxBatch)
          : await predictUploads(served, await uploadedFiles(c), maxBatch);
      countPredicted(type === JSON_TYPE ? "json" : "files", answer.predictions.length, started);
      return c.json(answer);
    } catch (error) {
      return refusal(c, error);
    }
  });

  app.on(["GET", "PUT", "DELETE", "PATCH"], "/api/v1/predict", (c) => {
    c.header("Allow", "POST");
    return c.json({ error: `${c.req.method} /api/v1/predict: use POST` }, 405);
  });

  app.get("/api/v1/predict/model", (c) => {
    const status = onlineModel.status();
    const served = status.served;
    const common = {
      name: status.name,
      alias: status.alias,
      checked_at: status.checkedAt?.toISOString() ?? null,
      problem: status.problem ?? null,
    };
    if (served === undefined) {
      c.header("Retry-After", String(Math.ceil(refreshSeconds)));
      return c.json(
        {
          error: `no model behind alias ${status.alias} of ${status.name}; train one (genre-classifier train)`,
          ...common,
        },
        503,
      );
    }
    return c.json({
      ...common,
      version: served.version,
      run_id: served.runId,
      loaded_at: served.loadedAt.toISOString(),
      kind: served.predictor.model.kind,
      features: served.predictor.features,
      genres: served.predictor.labels,
    });
  });

  const page = (
    served: ServedModel | undefined,
    result?: { answer?: PredictAnswer<TrackPrediction | UploadPrediction>; error?: string },
    typed: Record<string, string> = {},
  ) => (
    <Page
      title="Predict"
      section="predict"
      loggedIn={loggedIn}
      subtitle="Genres of a track from its MSD file or its feature values, by the served model."
    >
      <ServedModelLine served={served} alias={onlineModel.alias} name={onlineModel.name} />
      {result?.error ? (
        <p class="alert bad" role="alert">
          {result.error}
        </p>
      ) : null}
      {result?.answer ? <Results answer={result.answer} /> : null}
      {served ? (
        <>
          <section class="card">
            <h2>Upload a track file</h2>
            <form method="post" action="/predict" enctype="multipart/form-data" class="inline">
              <label>
                MSD track file (.h5)
                <input type="file" name={FILE_FIELD} accept=".h5" required multiple />
              </label>
              <button type="submit">Predict</button>
            </form>
          </section>
          <section class="card" style="margin-top:.8rem">
            <h2>Type feature values</h2>
            <p class="muted">Leave a field empty and it is imputed as in training.</p>
            <form method="post" action="/predict">
              <div
                class="grid"
                style="grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr));gap:.5rem"
              >
                {served.predictor.features.map((feature) => (
                  <label style="overflow-wrap:anywhere;justify-content:space-between">
                    {feature}
                    <input
                      type="text"
                      inputmode="decimal"
                      name={feature}
                      value={typed[feature] ?? ""}
                      autocomplete="off"
                    />
                  </label>
                ))}
              </div>
              <p>
                <button type="submit">Predict</button>
              </p>
            </form>
          </section>
        </>
      ) : null}
    </Page>
  );

  app.get("/predict", (c) => c.html(page(onlineModel.served)));

  app.post("/predict", async (c) => {
    const type = mediaType(c);
    const served = onlineModel.served;
    if (served === undefined) return c.html(page(undefined), 503);
    let typed: Record<string, string> = {};
    const started = performance.now();
    try {
      if (type === MULTIPART_TYPE) {
        const answer = await predictUploads(served, await uploadedFiles(c), maxBatch);
        countPredicted("files", answer.predictions.length, started);
        return c.html(page(served, { answer }));
      }
      if (type === FORM_TYPE) {
        const form = await c.req.parseBody();
        typed = Object.fromEntries(
          Object.entries(form).filter((e): e is [string, string] => typeof e[1] === "string"),
        );
        const answer = await predictRows(served, served.predictor.parseForm(typed));
        countPredicted("form", answer.predictions.length, started);
        return c.html(page(served, { answer }, typed));
      }
      return c.html(
        page(served, {
          error: `Content-Type must be ${MULTIPART_TYPE} or ${FORM_TYPE} (the page's forms)`,
        }),
        415,
      );
    } catch (error) {
      // The form shown again with the reason, as a page (200: browsers log a 4xx page as an error).
      if (error instanceof InputError) return c.html(page(served, { error: error.message }, typed));
      throw error;
    }
  });

  return app;
}

const ServedModelLine: FC<{ served: ServedModel | undefined; alias: string; name: string }> = ({
  served,
  alias,
  name,
}) =>
  served ? (
    <p>
      Model <a href={`/models/${encodeURIComponent(served.name)}`}>{served.name}</a> version{" "}
      <strong>{served.version}</strong> (alias <span class="badge ok">{alias}</span>), loaded{" "}
      <Time value={served.loadedAt} />.
    </p>
  ) : (
    <p class="alert warn">
      No model behind alias {alias} of {name} yet: train one (<code>genre-classifier train</code>
      ). This page offers predictions as soon as there is one.
    </p>
  );

const Results: FC<{ answer: PredictAnswer<TrackPrediction | UploadPrediction> }> = ({ answer }) => (
  <section aria-label="Predictions">
    <h2>
      Predicted by {answer.model.name} version {answer.model.version}
    </h2>
    {answer.predictions.map((prediction) => (
      <TrackResult prediction={prediction} />
    ))}
  </section>
);

const TrackResult: FC<{ prediction: TrackPrediction | UploadPrediction }> = ({ prediction }) => {
  const entries = Object.entries(prediction.probabilities);
  const predicted = new Set(prediction.genres);
  const rows = (list: [string, number][]) => (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Genre</th>
            <th style="width:50%">Probability</th>
            <th class="num">%</th>
          </tr>
        </thead>
        <tbody>
          {list.map(([genre, p]) => (
            <tr>
              <td>
                {genre} {predicted.has(genre) ? <span class="badge ok">predicted</span> : null}
              </td>
              <td>
                <div
                  class={`bar${predicted.has(genre) ? " ok" : " muted"}`}
                  style={`width:${(p * 100).toFixed(1)}%`}
                  role="img"
                  aria-label={`${(p * 100).toFixed(1)}%`}
                />
              </td>
              <td class="num">{(p * 100).toFixed(1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
  const upload = "file" in prediction ? prediction : undefined;
  return (
    <article class="card prediction" style="margin-bottom:.8rem">
      <h3>
        {upload
          ? `${upload.title || "(untitled)"} — ${upload.artist_name || "(unknown artist)"}`
          : (prediction.track_id ?? "Typed features")}
      </h3>
      {upload ? (
        <p class="muted">
          {upload.track_id} from {upload.file}
        </p>
      ) : null}
      <p>
        Genres:{" "}
        {prediction.genres.length > 0 ? (
          prediction.genres.map((genre) => (
            <>
              <span class="badge ok genre">{genre}</span>{" "}
            </>
          ))
        ) : (
          <span class="muted">none above its threshold</span>
        )}
      </p>
      {rows(entries.slice(0, TOP_GENRES))}
      {entries.length > TOP_GENRES ? (
        <details>
          <summary>All {entries.length} genres</summary>
          {rows(entries.slice(TOP_GENRES))}
        </details>
      ) : null}
      {prediction.imputed.length > 0 ? (
        <p class="muted">
          Imputed as in training ({prediction.imputed.length}): {prediction.imputed.join(", ")}
        </p>
      ) : null}
    </article>
  );
};
