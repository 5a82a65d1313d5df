/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The monitoring timeline as a small SVG chart: the share of drifted feature columns and the
// Jaccard score of each monitored day on one 0–1 axis, each day's points linking to its report.
import type { FC } from "hono/jsx";
import type { MonitoringDay } from "../../monitoring/types.ts";

const WIDTH = 640;
const HEIGHT = 200;
const LEFT = 34;
const RIGHT = 12;
const TOP = 12;
const BOTTOM = 28;

export const DriftChart: FC<{
  days: MonitoringDay[];
  reportHref: (day: MonitoringDay) => string;
}> = ({ days, reportHref }) => {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const first = days[0]?.day ?? 0;
  const last = days.at(-1)?.day ?? 0;
  const x = (day: number) =>
    LEFT + (last === first ? plotWidth / 2 : ((day - first) / (last - first)) * plotWidth);
  const y = (value: number) => TOP + (1 - Math.min(Math.max(value, 0), 1)) * plotHeight;
  const line = (values: { day: number; value: number }[]) =>
    values.map((p) => `${x(p.day).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
  const drift = days.map((d) => ({ day: d.day, value: d.driftShare }));
  const jaccard = days.flatMap((d) =>
    typeof d.jaccard === "number" ? [{ day: d.day, value: d.jaccard }] : [],
  );
  const labelEvery = Math.max(1, Math.ceil(days.length / 12));
  return (
    <figure style="margin:0">
      <svg
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        width="100%"
        role="img"
        aria-label="Drift share and Jaccard per monitored day"
        style="max-width:100%;height:auto;display:block"
      >
        {[0, 0.25, 0.5, 0.75, 1].map((tick) => (
          <>
            <line
              x1={LEFT}
              x2={WIDTH - RIGHT}
              y1={y(tick)}
              y2={y(tick)}
              style="stroke:var(--line);stroke-width:1"
            />
            <text x={LEFT - 6} y={y(tick) + 4} text-anchor="end" font-size="11">
              {tick.toFixed(2)}
            </text>
          </>
        ))}
        {days.map((d, i) =>
          i % labelEvery === 0 || i === days.length - 1 ? (
            <text
              x={x(d.day)}
              y={HEIGHT - 8}
              text-anchor={
                days.length === 1
                  ? "middle"
                  : i === 0
                    ? "start"
                    : i === days.length - 1
                      ? "end"
                      : "middle"
              }
              font-size="11"
            >
              {`day ${d.day}`}
            </text>
          ) : null,
        )}
        <polyline
          points={line(drift)}
          style="fill:none;stroke:var(--bad);stroke-width:2"
          data-series="drift"
        />
        <polyline
          points={line(jaccard)}
          style="fill:none;stroke:var(--accent);stroke-width:2"
          data-series="jaccard"
        />
        {days.map((d) => (
          <a href={reportHref(d)}>
            <circle
              cx={x(d.day).toFixed(1)}
              cy={y(d.driftShare).toFixed(1)}
              r={d.drift ? 5 : 3.5}
              style="fill:var(--bad)"
            >
              <title>{`day ${d.day}: drift in ${d.driftedColumns} of ${d.columns} columns (${(d.driftShare * 100).toFixed(1)}%)${d.drift ? ", drift detected" : ""}${d.retrained ? ", retrained" : ""}`}</title>
            </circle>
            {typeof d.jaccard === "number" ? (
              <circle
                cx={x(d.day).toFixed(1)}
                cy={y(d.jaccard).toFixed(1)}
                r={3.5}
                style="fill:var(--accent)"
              >
                <title>{`day ${d.day}: Jaccard ${d.jaccard.toFixed(3)}${d.modelVersion ? ` (model version ${d.modelVersion})` : ""}`}</title>
              </circle>
            ) : null}
          </a>
        ))}
      </svg>
      <figcaption class="muted" style="font-size:.85rem">
        <span style="color:var(--bad)">●</span> share of drifted feature columns ·{" "}
        <span style="color:var(--accent)">●</span> Jaccard of the day's labelled predictions (larger
        red points: drift detected)
      </figcaption>
    </figure>
  );
};
