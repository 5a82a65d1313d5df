/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The predictions pages and their /api/v1 endpoints: the days predicted with the model that
// tagged them, a day's tracks with their genres and probabilities (and the true genres once the
// day's labels have arrived), and a track searched by id across days.
import { type Context, Hono } from "hono";
import type { Child } from "hono/jsx";
import { InputError } from "../../common/errors.ts";
import { monitoringKey } from "../../flows/monitor.ts";
import {
  listPredictedDays,
  type PredictedDay,
  type PredictionRow,
  parseDay,
  parseRowPage,
  parseTrackId,
  readDayPredictions,
  searchTrack,
} from "../../flows/prediction-files.ts";
import { listMonitoredDays } from "../../flows/report-files.ts";
import type { ServerContext, ServerEnv } from "../context.ts";
import { Empty, OffsetPager } from "../ui/components.tsx";
import { Page } from "../ui/layout.tsx";
import {
  DaySummary,
  DaysTable,
  modelText,
  RowsTable,
  SearchForm,
  SearchResults,
} from "../ui/predictions.tsx";
import { errorPage, jsonError } from "./field-error.tsx";

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
  const refused = { section: "predictions", loggedIn, title: "Predictions" } as const;
  /** The day the path names and the rows the query asks for. */
  const dayRows = (c: Context<ServerEnv>, defaultLimit: number) => ({
    day: parseDay(c.req.param("day")),
    paging: parseRowPage(c.req.query(), defaultLimit),
  });

  app.get("/predictions", async (c) => {
    let paging: { offset: number; limit: number };
    try {
      paging = parseRowPage(c.req.query(), 50);
    } catch (error) {
      return errorPage(c, error, refused);
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
      ({ day, paging } = dayRows(c, 50));
    } catch (error) {
      return errorPage(c, error, refused);
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
      return jsonError(c, error);
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
      return jsonError(c, error);
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
      ({ day, paging } = dayRows(c, 100));
    } catch (error) {
      return jsonError(c, error);
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
