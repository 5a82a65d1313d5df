/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// Pieces of the predictions pages: the track search form, the predicted days, a day's summary
// and its rows (genres as badges, compared with the true genres once they arrived, the most
// probable genres as bars), and a track's matches across days.
import type { FC } from "hono/jsx";
import { monitoringKey } from "../../flows/monitor.ts";
import type { ModelLineage } from "../../flows/predict.ts";
import {
  type PredictedDay,
  type PredictionPage,
  type PredictionRow,
  rowJaccard,
  type TrackMatch,
  type TrackSearch,
  topGenres,
} from "../../flows/prediction-files.ts";
import { Empty, KeyValues, Table, Time } from "./components.tsx";

export const modelText = (model: ModelLineage) => `${model.name} version ${model.version}`;
const dayPath = (day: number) => `/predictions/day/${day}`;
const percent = (p: number) => `${(Math.max(0, Math.min(1, p)) * 100).toFixed(0)}%`;

export const SearchForm: FC<{ value: string }> = ({ value }) => (
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

export const DaysTable: FC<{ days: PredictedDay[]; monitored: Set<number> }> = ({
  days,
  monitored,
}) => (
  <Table head={["Day", { numeric: "Tracks" }, "Model", "Alias", "Predicted", "Monitoring"]}>
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
  </Table>
);

export const DaySummary: FC<{ predictions: PredictionPage; report: boolean }> = ({
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

export const RowsTable: FC<{ predictions: PredictionPage }> = ({ predictions }) => {
  const { labelled, labels } = predictions;
  return (
    <Table
      head={[
        { numeric: "#" },
        "Track",
        "Predicted genres",
        ...(labelled ? ["True genres", { numeric: "Jaccard" }] : []),
        "Most probable genres",
      ]}
    >
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
            {labelled ? <td class="num">{jaccard === null ? "—" : jaccard.toFixed(2)}</td> : null}
            <td>
              <TopProbabilities row={row} labels={labels} />
            </td>
          </tr>
        );
      })}
    </Table>
  );
};

export const SearchResults: FC<{ found: TrackSearch }> = ({ found }) => (
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
      <Table
        head={[
          { numeric: "Day" },
          "Model",
          "Predicted genres",
          "True genres",
          "Most probable genres",
        ]}
      >
        {found.matches.map((m: TrackMatch) => (
          <tr>
            <td class="num">
              <a href={`${dayPath(m.day)}?offset=${Math.floor(m.row / 50) * 50}#row-${m.row + 1}`}>
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
      </Table>
    )}
  </>
);
