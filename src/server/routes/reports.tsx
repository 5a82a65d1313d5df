/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The monitoring reports: the list of monitored days (drift, quality, the retrain decision) as a
// page and as /api/v1 JSON, and the stored report files themselves served from the object store
// at /reports/<path> (store key reports/<path>), with their content type, an ETag, and a content
// security policy that lets a report page run only its own inline style and script.
import { Readable } from "node:stream";
import { Hono } from "hono";
import type { FC } from "hono/jsx";
import { InputError } from "../../common/errors.ts";
import { parseDay, parseRowPage } from "../../flows/prediction-files.ts";
import {
  listMonitoredDays,
  type MonitoredDay,
  REPORT_FILE_POLICY,
  readMonitorResult,
  reportKey,
  reportPagePolicy,
} from "../../flows/report-files.ts";
import type { ServerContext, ServerEnv } from "../context.ts";
import { Empty, OffsetPager, Table, Time } from "../ui/components.tsx";
import { Page } from "../ui/layout.tsx";
import { errorPage, jsonError } from "./field-error.tsx";

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  json: "application/json; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  txt: "text/plain; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
};
/** Report pages are read whole to fit their policy; anything larger is refused. */
const MAX_PAGE_BYTES = 64 * 1024 * 1024;
const INDEX_PATH = "/reports/monitoring/index.html";

export function reportsRoutes(context: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const { store } = context;
  const loggedIn = context.token !== undefined;

  app.get("/reports", async (c) => {
    let paging: { offset: number; limit: number };
    try {
      paging = parseRowPage(c.req.query(), 50);
    } catch (error) {
      return errorPage(c, error, { section: "reports", loggedIn, title: "Reports" });
    }
    const days = await listMonitoredDays(store);
    const shown = days.slice(paging.offset, paging.offset + paging.limit);
    const index = await store.exists("reports/monitoring/index.html");
    return c.html(
      <Page
        title="Reports"
        section="reports"
        subtitle={
          <>
            The monitoring report of each day, newest first: data drift against the champion's
            training data, quality once the labels arrived, and the retrain decision.
            {index ? (
              <>
                {" "}
                <a href={INDEX_PATH}>The reports' own index</a>.
              </>
            ) : null}
          </>
        }
        loggedIn={loggedIn}
      >
        {days.length === 0 ? (
          <Empty>
            No monitoring report yet: the daily-inference flow writes one for each day it predicts.
          </Empty>
        ) : (
          <>
            <ReportsTable days={shown} />
            <OffsetPager base="/reports" {...paging} shown={shown.length} total={days.length} />
          </>
        )}
      </Page>,
    );
  });

  app.get("/api/v1/reports", async (c) => {
    let paging: { offset: number; limit: number };
    try {
      paging = parseRowPage(c.req.query(), 100);
    } catch (error) {
      return jsonError(c, error);
    }
    const days = await listMonitoredDays(store);
    return c.json({
      total: days.length,
      offset: paging.offset,
      limit: paging.limit,
      days: days.slice(paging.offset, paging.offset + paging.limit).map(dayJson),
    });
  });

  app.get("/api/v1/reports/day/:day", async (c) => {
    let day: number;
    try {
      day = parseDay(c.req.param("day"));
    } catch (error) {
      return jsonError(c, error);
    }
    const result = await readMonitorResult(store, day);
    if (result === undefined)
      return c.json({ error: `day ${day}: not monitored (no result.json)`, field: "day" }, 404);
    const entry = (await listMonitoredDays(store)).find((d) => d.day === day);
    return c.json({ ...(entry ? dayJson(entry) : { day }), ...result });
  });

  app.get("/reports/*", async (c) => {
    const raw = new URL(c.req.url).pathname;
    if (raw === "/reports/") return c.redirect("/reports", 301);
    let key: string;
    try {
      key = reportKey(raw.slice("/reports/".length));
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      c.header("Content-Security-Policy", REPORT_FILE_POLICY);
      return c.text(error.message, 400);
    }
    const info = await store.head(key);
    if (info === undefined) {
      c.header("Content-Security-Policy", REPORT_FILE_POLICY);
      return c.text(`no report file ${key} in the store`, 404);
    }
    const etag = `"${info.etag.replace(/"/g, "")}"`;
    const extension = /\.([a-z0-9]+)$/i.exec(key)?.[1]?.toLowerCase() ?? "";
    const headers: Record<string, string> = {
      "Content-Type": CONTENT_TYPES[extension] ?? "application/octet-stream",
      ETag: etag,
      "Last-Modified": info.lastModified.toUTCString(),
      "Cache-Control": "private, no-cache",
      "Content-Security-Policy": REPORT_FILE_POLICY,
    };
    if (matchesEtag(c.req.header("if-none-match"), etag)) return c.body(null, 304, headers);
    if (extension === "html") {
      if (info.size > MAX_PAGE_BYTES)
        throw new InputError(`${key}: a report page larger than ${MAX_PAGE_BYTES} bytes`);
      const html = new TextDecoder().decode(await store.get(key));
      headers["Content-Security-Policy"] = reportPagePolicy(html);
      return c.body(html, 200, headers);
    }
    if (extension !== "json" && extension !== "csv" && extension !== "txt")
      headers["Content-Disposition"] = "attachment";
    if (c.req.method === "HEAD") return c.body(null, 200, headers);
    const stream = await store.getStream(key);
    return c.body(Readable.toWeb(stream) as ReadableStream<Uint8Array>, 200, {
      ...headers,
      "Content-Length": String(info.size),
    });
  });

  return app;
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header
    .split(",")
    .map((t) => t.trim().replace(/^W\//, ""))
    .some((t) => t === etag || t === "*");
}

function dayJson(day: MonitoredDay) {
  return {
    day: day.day,
    createdAt: day.createdAt ?? null,
    drift: day.drift ?? null,
    driftShare: day.driftShare ?? null,
    driftedColumns: day.driftedColumns ?? null,
    columns: day.columns ?? null,
    jaccard: day.jaccard ?? null,
    modelVersion: day.modelVersion ?? null,
    retrained: day.retrained ?? null,
    report: `/${day.html}`,
    data: `/${day.json}`,
    result: `/api/v1/reports/day/${day.day}`,
  };
}

const percent = (share: number) => `${(Math.max(0, Math.min(1, share)) * 100).toFixed(1)}%`;

const ReportsTable: FC<{ days: MonitoredDay[] }> = ({ days }) => (
  <Table
    head={[
      { numeric: "Day" },
      "Data drift",
      { numeric: "Drifted columns" },
      { numeric: "Jaccard" },
      "Model",
      "Retrain",
      "Written",
      "Files",
    ]}
  >
    {days.map((d) => (
      <tr>
        <td class="num">
          <a href={`/${d.html}`}>Day {d.day}</a>
        </td>
        <td>
          {d.driftShare === undefined ? (
            <span class="muted">—</span>
          ) : (
            <div style="display:flex;align-items:center;gap:.5rem;min-width:12rem">
              <span
                class={`badge ${d.drift ? "bad" : "ok"}`}
                style="min-width:4.5rem;text-align:center"
              >
                {d.drift ? "drift" : "no drift"}
              </span>
              <span style="width:5rem;flex:none;background:var(--wait-bg);border-radius:3px">
                <span
                  class={`bar ${d.drift ? "bad" : "ok"}`}
                  style={`display:block;width:${percent(d.driftShare)}`}
                />
              </span>
              <span>{percent(d.driftShare)}</span>
            </div>
          )}
        </td>
        <td class="num">
          {d.driftedColumns === undefined ? "—" : `${d.driftedColumns} of ${d.columns ?? "?"}`}
        </td>
        <td class="num">
          {typeof d.jaccard === "number" ? d.jaccard.toFixed(3) : <span class="muted">—</span>}
        </td>
        <td>{d.modelVersion ? `version ${d.modelVersion}` : <span class="muted">—</span>}</td>
        <td>
          {d.retrained === undefined ? (
            <span class="muted">—</span>
          ) : d.retrained ? (
            <span class="badge warn">retrain</span>
          ) : (
            <span class="badge muted">no retrain</span>
          )}
        </td>
        <td>
          <Time value={d.createdAt} />
        </td>
        <td>
          <a href={`/${d.html}`}>report</a> · <a href={`/${d.json}`}>JSON</a>
        </td>
      </tr>
    ))}
  </Table>
);
