/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The predictions pages and their /api/v1 endpoints: the days predicted with the model that
// tagged them, a day's tracks with their genres and probabilities (and the true genres once the
// day's labels have arrived), and a track searched by id across days.
import { type Context, Hono } from "hono";
import type { Child, FC } from "hono/jsx";
import { InputError } from "../../common/errors.ts";
import { monitoringKey } from "../../flows/monitor.ts";
import type { ModelLineage } from "../../flows/predict.ts";
import {
  listPredictedDays,
  type PredictedDay,
  type PredictionPage,
  type PredictionRow,
  parseDay,
  parseRowPage,
  parseTrackId,
  readDayPredictions,
  rowJaccard,
  searchTrack,
  type TrackMatch,
  type TrackSearch,
  topGenres,
} from "../../flows/prediction-files.ts";
import { listMonitoredDays } from "../../flows/report-files.ts";
import type { ServerContext, ServerEnv } from "../context.ts";
import { Empty, KeyValues, Time } from "../ui/components.tsx";
import { Page } from "../ui/layout.tsx";

/** How long a track search may read days before it answers with the days it searched. */
const SEARCH_TIME_LIMIT_MS = 10_000;

export function predictionsRoutes(context: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const { store } = context;
  const loggedIn = context.token !== undefined;
  const page = (c: Context<ServerEnv>, title: string, body: Child, status: 200 | 400 | 404) =>
    c.html(
      <Page title={title} section="predictions" loggedIn={loggedIn}>
        {body}
      </Page>,
      status,
    );
  const refused = (c: Context<ServerEnv>, title: string, error: unknown, status: 400 | 404) => {
    if (!(error instanceof InputError)) throw error;
    return page(c, title, <p class="alert bad">{error.message}</p>, status);
  };

  app.get("/predictions", async (c) => {
    let paging: { offset: number; limit: number };
    try {
      paging = parseRowPage(c.req.query(), 50);
    } catch (error) {
      return refused(c, "Predictions", error, 400);
    }
    const { total, days } = await listPredictedDays(store, paging);
    const monitored = new Set((await listMonitoredDays(store)).map((d) => d.day));
    return c.html(
      <Page
        title="Predictions"
        section="predictions"
        subtitle="Days the predict flow tagged, newest first, with the model that tagged them."
        loggedIn={loggedIn}
      >
        <SearchForm value="" />
        {total === 0 ? (
          <Empty>
            No day predicted yet: run <code>genre-classifier predict</code> or the daily-inference
            deployment.
          </Empty>
        ) : (
          <>
            <DaysTable days={days} monitored={monitored} />
            <OffsetPager base="/predictions" {...paging} shown={days.length} total={total} />
          </>
        )}
      </Page>,
    );
  });

  app.get("/predictions/search", async (c) => {
    const text = c.req.query("track_id");
    if (text === undefined || text.trim() === "")
      return page(
        c,
        "Search predictions",
        <>
          <SearchForm value="" />
          <p class="muted">Type a track id to find its predictions across every predicted day.</p>
        </>,
        200,
      );
    let trackId: string;
    try {
      trackId = parseTrackId(text);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      return page(
        c,
        "Search predictions",
        <>
          <SearchForm value={text.slice(0, 40)} />
          <p class="alert bad">{error.message}</p>
        </>,
        400,
      );
    }
    const found = await searchTrack(store, trackId, { timeLimitMs: SEARCH_TIME_LIMIT_MS });
    return page(
      c,
      "Search predictions",
      <>
        <SearchForm value={trackId} />
        <SearchResults found={found} />
      </>,
      200,
    );
  });

  app.get("/predictions/day/:day", async (c) => {
    let day: number;
    let paging: { offset: number; limit: number };
    try {
      day = parseDay(c.req.param("day"));
      paging = parseRowPage(c.req.query(), 50);
    } catch (error) {
      return refused(c, "Predictions", error, 400);
    }
    const predictions = await readDayPredictions(store, day, paging);
    if (predictions === undefined)
      return page(
        c,
        `Day ${day}`,
        <p class="alert bad">
          day {day}: not predicted (no {`predictions/day=${String(day).padStart(4, "0")}/`} in the
          store). <a href="/predictions">The predicted days</a>.
        </p>,
        404,
      );
    const report = await store.exists(monitoringKey(day, "report.html"));
    return c.html(
      <Page
        title={`Day ${day}`}
        section="predictions"
        subtitle={
          <>
            <a href="/predictions">Predictions</a> · {predictions.total} tracks
            {predictions.day.model ? ` tagged by ${modelText(predictions.day.model)}` : ""}
          </>
        }
        loggedIn={loggedIn}
      >
        <DaySummary predictions={predictions} report={report} />
        <h2>Tracks</h2>
        {predictions.total === 0 ? (
          <Empty>The day has no tracks.</Empty>
        ) : (
          <>
            <RowsTable predictions={predictions} />
            <OffsetPager
              base={`/predictions/day/${day}`}
              {...paging}
              offset={predictions.offset}
              shown={predictions.rows.length}
              total={predictions.total}
            />
          </>
        )}
      </Page>,
    );
  });

  // ---- JSON ------------------------------------------------------------------------------

  app.get("/api/v1/predictions", async (c) => {
    let paging: { offset: number; limit: number };
    try {
      paging = parseRowPage(c.req.query(), 100);
    } catch (error) {
      return fieldError(c, error, 400);
    }
    const { total, days } = await listPredictedDays(store, paging);
    return c.json({
      total,
      offset: paging.offset,
      limit: paging.limit,
      days: days.map((d) => ({ ...dayJson(d), href: `/api/v1/predictions/day/${d.day}` })),
    });
  });

  app.get("/api/v1/predictions/search", async (c) => {
    let trackId: string;
    try {
      trackId = parseTrackId(c.req.query("track_id"));
    } catch (error) {
      return fieldError(c, error, 400);
    }
    const found = await searchTrack(store, trackId, { timeLimitMs: SEARCH_TIME_LIMIT_MS });
    return c.json({
      trackId: found.trackId,
      searchedDays: found.searchedDays,
      totalDays: found.totalDays,
      complete: found.complete,
      matches: found.matches.map((m) => ({
        day: m.day,
        model: m.model,
        ...rowJson(m, m.labels),
      })),
    });
  });

  app.get("/api/v1/predictions/day/:day", async (c) => {
    let day: number;
    let paging: { offset: number; limit: number };
    try {
      day = parseDay(c.req.param("day"));
      paging = parseRowPage(c.req.query(), 100);
    } catch (error) {
      return fieldError(c, error, 400);
    }
    const predictions = await readDayPredictions(store, day, paging);
    if (predictions === undefined)
      return c.json({ error: `day ${day}: not predicted`, field: "day" }, 404);
    return c.json({
      ...dayJson(predictions.day),
      total: predictions.total,
      offset: predictions.offset,
      limit: paging.limit,
      genres: predictions.labels,
      labelled: predictions.labelled,
      rows: predictions.rows.map((row) => rowJson(row, predictions.labels)),
    });
  });

  return app;
}

/** A 400/404 JSON answer naming the field an InputError's message starts with. */
export function fieldError(c: Context<ServerEnv>, error: unknown, status: 400 | 404) {
  if (!(error instanceof InputError)) throw error;
  const field = /^([a-z_]+) /.exec(error.message)?.[1] ?? "query";
  return c.json({ error: error.message, field }, status);
}

function dayJson(day: PredictedDay) {
  return {
    day: day.day,
    tracks: day.tracks,
    model: day.model,
    alias: day.alias,
    predictedAt: day.predictedAt,
    key: day.key,
  };
}

function rowJson(row: PredictionRow, labels: readonly string[]) {
  return {
    row: row.row,
    trackId: row.trackId,
    genres: row.genres,
    trueGenres: row.trueGenres,
    probabilities: Object.fromEntries(labels.map((genre, k) => [genre, row.probabilities[k]])),
  };
}

const modelText = (model: ModelLineage) => `${model.name} version ${model.version}`;
const dayPath = (day: number) => `/predictions/day/${day}`;
const percent = (p: number) => `${(Math.max(0, Math.min(1, p)) * 100).toFixed(0)}%`;

const SearchForm: FC<{ value: string }> = ({ value }) => (
  <form class="inline" method="get" action="/predictions/search">
    <label>
      Track id
      <input
        type="search"
        name="track_id"
        value={value}
        placeholder="TRAAAAW128F429D538"
        maxlength={18}
        pattern="TR[A-Z0-9]{16}"
        title="TR followed by 16 upper-case letters or digits"
        required
        autocomplete="off"
        spellcheck={false}
      />
    </label>
    <button type="submit">Search</button>
  </form>
);

const DaysTable: FC<{ days: PredictedDay[]; monitored: Set<number> }> = ({ days, monitored }) => (
  <div class="table-wrap">
    <table>
      <thead>
        <tr>
          <th>Day</th>
          <th class="num">Tracks</th>
          <th>Model</th>
          <th>Alias</th>
          <th>Predicted</th>
          <th>Monitoring</th>
        </tr>
      </thead>
      <tbody>
        {days.map((d) => (
          <tr>
            <td>
              <a href={dayPath(d.day)}>Day {d.day}</a>
            </td>
            <td class="num">{d.tracks ?? "—"}</td>
            <td>{d.model ? modelText(d.model) : <span class="muted">—</span>}</td>
            <td>{d.alias ?? <span class="muted">—</span>}</td>
            <td>
              <Time value={d.predictedAt} />
            </td>
            <td>
              {monitored.has(d.day) ? (
                <a href={`/${monitoringKey(d.day, "report.html")}`}>report</a>
              ) : (
                <span class="muted">—</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </div>
);

const DaySummary: FC<{ predictions: PredictionPage; report: boolean }> = ({
  predictions,
  report,
}) => {
  const { day } = predictions;
  return (
    <div class="card">
      <KeyValues
        items={[
          ["Model", day.model ? modelText(day.model) : "—"],
          ["Model's run", day.model ? <code>{day.model.runId}</code> : "—"],
          ["Alias", day.alias ?? "—"],
          ["Predicted", <Time value={day.predictedAt} />],
          ["Tracks", String(predictions.total)],
          [
            "Labels",
            predictions.labelled ? (
              <span class="badge ok">arrived: true genres shown</span>
            ) : (
              <span class="badge wait">not yet</span>
            ),
          ],
          [
            "Monitoring",
            report ? (
              <a href={`/${monitoringKey(day.day, "report.html")}`}>the day's report</a>
            ) : (
              <span class="muted">no report yet</span>
            ),
          ],
          [
            "As JSON",
            <a href={`/api/v1/predictions/day/${day.day}?offset=${predictions.offset}`}>
              /api/v1/predictions/day/{day.day}
            </a>,
          ],
        ]}
      />
    </div>
  );
};

const GenreBadges: FC<{ genres: string[]; against?: string[] | null; empty: string }> = ({
  genres,
  against,
  empty,
}) => {
  if (genres.length === 0) return <span class="muted">{empty}</span>;
  const other = against ? new Set(against) : undefined;
  return (
    <>
      {genres.map((g) => (
        <>
          <span
            class={`badge ${other === undefined ? "run" : other.has(g) ? "ok" : "warn"}`}
            title={
              other === undefined
                ? undefined
                : other.has(g)
                  ? "in both the prediction and the labels"
                  : "in only one of the prediction and the labels"
            }
          >
            {g}
          </span>{" "}
        </>
      ))}
    </>
  );
};

const TopProbabilities: FC<{ row: PredictionRow; labels: string[] }> = ({ row, labels }) => (
  <div style="display:grid;grid-template-columns:minmax(6rem,max-content) 6rem 3rem;gap:.1rem .5rem;align-items:center;font-size:.85rem">
    {topGenres(row, labels).map(({ genre, probability }) => (
      <>
        <span>{genre}</span>
        <span style="background:var(--wait-bg);border-radius:3px">
          <span
            class={`bar${row.genres.includes(genre) ? "" : " muted"}`}
            style={`display:block;width:${percent(probability)}`}
          />
        </span>
        <span class="num">{probability.toFixed(2)}</span>
      </>
    ))}
  </div>
);

const RowsTable: FC<{ predictions: PredictionPage }> = ({ predictions }) => {
  const { labelled, labels } = predictions;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th class="num">#</th>
            <th>Track</th>
            <th>Predicted genres</th>
            {labelled ? <th>True genres</th> : null}
            {labelled ? <th class="num">Jaccard</th> : null}
            <th>Most probable genres</th>
          </tr>
        </thead>
        <tbody>
          {predictions.rows.map((row) => {
            const jaccard = rowJaccard(row);
            return (
              <tr id={`row-${row.row + 1}`}>
                <td class="num">{row.row + 1}</td>
                <td>
                  <code>{row.trackId}</code>
                </td>
                <td>
                  <GenreBadges genres={row.genres} against={row.trueGenres} empty="none" />
                </td>
                {labelled ? (
                  <td>
                    <GenreBadges
                      genres={row.trueGenres ?? []}
                      against={row.trueGenres ? row.genres : null}
                      empty={row.trueGenres ? "none" : "—"}
                    />
                  </td>
                ) : null}
                {labelled ? (
                  <td class="num">{jaccard === null ? "—" : jaccard.toFixed(2)}</td>
                ) : null}
                <td>
                  <TopProbabilities row={row} labels={labels} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
};

const SearchResults: FC<{ found: TrackSearch }> = ({ found }) => (
  <>
    <p class="muted">
      Searched {found.searchedDays} of {found.totalDays} predicted day
      {found.totalDays === 1 ? "" : "s"}.
    </p>
    {found.complete ? null : (
      <p class="alert warn">
        The search stopped at its time limit: the {found.totalDays - found.searchedDays} oldest days
        were not searched.
      </p>
    )}
    {found.matches.length === 0 ? (
      <Empty>
        No predictions for <code>{found.trackId}</code>.
      </Empty>
    ) : (
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th class="num">Day</th>
              <th>Model</th>
              <th>Predicted genres</th>
              <th>True genres</th>
              <th>Most probable genres</th>
            </tr>
          </thead>
          <tbody>
            {found.matches.map((m: TrackMatch) => (
              <tr>
                <td class="num">
                  <a
                    href={`${dayPath(m.day)}?offset=${Math.floor(m.row / 50) * 50}#row-${m.row + 1}`}
                  >
                    Day {m.day}, #{m.row + 1}
                  </a>
                </td>
                <td>{m.model ? modelText(m.model) : "—"}</td>
                <td>
                  <GenreBadges genres={m.genres} against={m.trueGenres} empty="none" />
                </td>
                <td>
                  {m.trueGenres === null ? (
                    <span class="muted">not arrived</span>
                  ) : (
                    <GenreBadges genres={m.trueGenres} against={m.genres} empty="none" />
                  )}
                </td>
                <td>
                  <TopProbabilities row={m} labels={m.labels} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    )}
  </>
);

/** Rows shown of all, and previous/next links that move the offset by the page's limit. */
export const OffsetPager: FC<{
  base: string;
  offset: number;
  limit: number;
  shown: number;
  total: number;
}> = ({ base, offset, limit, shown, total }) => {
  const link = (to: number) =>
    `${base}?${new URLSearchParams({ offset: String(to), limit: String(limit) })}`;
  return (
    <nav class="pager">
      <span class="muted">
        {shown === 0 ? `none of ${total}` : `${offset + 1}–${offset + shown} of ${total}`}
      </span>
      {offset > 0 ? (
        <>
          {" · "}
          <a href={link(Math.max(0, offset - limit))} rel="prev">
            ← Previous
          </a>
        </>
      ) : null}
      {offset + shown < total ? (
        <>
          {" · "}
          <a href={link(offset + limit)} rel="next">
            Next →
          </a>
        </>
      ) : null}
    </nav>
  );
};
