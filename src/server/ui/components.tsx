/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// Small pieces the pages share: run states as badges, times and durations, key-value lists,
// empty states, tables and pagers.
import type { Child, FC } from "hono/jsx";

const STATE_CLASS: Record<string, string> = {
  completed: "ok",
  finished: "ok",
  running: "run",
  pending: "wait",
  scheduled: "wait",
  retrying: "warn",
  cancelling: "warn",
  cancelled: "muted",
  killed: "muted",
  failed: "bad",
  crashed: "bad",
};

export const StateBadge: FC<{ state: string }> = ({ state }) => {
  const lower = state.toLowerCase();
  return <span class={`badge ${STATE_CLASS[lower] ?? "muted"}`}>{lower}</span>;
};

/** A time as `2026-12-03 14:05:09 UTC`, with the ISO form as its machine-readable value. */
export const Time: FC<{ value: number | string | Date | null | undefined }> = ({ value }) => {
  if (value === null || value === undefined || value === "") return <span class="muted">—</span>;
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return <span>{String(value)}</span>;
  return <time datetime={date.toISOString()}>{formatTime(date)}</time>;
};

export function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export const KeyValues: FC<{ items: [string, Child][] }> = ({ items }) => (
  <dl class="kv">
    {items.map(([key, value]) => (
      <>
        <dt>{key}</dt>
        <dd>{value}</dd>
      </>
    ))}
  </dl>
);

export const Empty: FC<{ children?: Child }> = ({ children }) => <p class="empty">{children}</p>;

/** Previous/next links that keep the other query parameters. */
export const Pager: FC<{ base: string; query: URLSearchParams; next?: string | undefined }> = ({
  base,
  query,
  next,
}) => {
  if (!next) return null;
  const params = new URLSearchParams(query);
  params.set("page_token", next);
  return (
    <nav class="pager">
      <a href={`${base}?${params}`}>Next page →</a>
    </nav>
  );
};

/** A column heading: its text, or its text right-aligned over numbers. */
export type Heading = string | { numeric: string };

/** A table in its sideways-scrolling wrapper: a row of headings over the rows given. */
export const Table: FC<{ head: Heading[]; class?: string; children?: Child }> = (props) => (
  <div class="table-wrap">
    <table class={props.class}>
      <thead>
        <tr>
          {props.head.map((heading) =>
            typeof heading === "string" ? (
              <th>{heading}</th>
            ) : (
              <th class="num">{heading.numeric}</th>
            ),
          )}
        </tr>
      </thead>
      <tbody>{props.children}</tbody>
    </table>
  </div>
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

/** A labelled select of `options`, after a blank choice when `blank` names one. */
export const SelectField: FC<{
  label: string;
  name: string;
  options: readonly string[];
  selected: string | undefined;
  blank?: string;
  required?: boolean;
}> = ({ label, name, options, selected, blank, required }) => (
  <label>
    {label}
    <select name={name} required={required}>
      {blank === undefined ? null : <option value="">{blank}</option>}
      {options.map((option) => (
        <option value={option} selected={option === selected}>
          {option}
        </option>
      ))}
    </select>
  </label>
);
