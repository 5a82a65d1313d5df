/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The monitoring timeline as a small SVG chart: the share of drifted feature columns and the
// Jaccard score of each monitored day on one 0–1 axis, each day's points linking to its report.
import type { FC } from "hono/jsx";
import type { MonitoringDay } from "../../monitoring/types.ts";
import { type ChartFrame, plotScales } from "./charts.tsx";

const FRAME: ChartFrame = {
  width: 640,
  height: 200,
  margin: { top: 12, right: 12, bottom: 28, left: 34 },
};

export const DriftChart: FC<{
  days: MonitoringDay[];
  reportHref: (day: MonitoringDay) => string;
}> = ({ days, reportHref }) => {
  const { width, height, margin } = FRAME;
  const scales = plotScales(FRAME, [days[0]?.day ?? 0, days.at(-1)?.day ?? 0], [0, 1]);
  const x = scales.xAt;
  const y = (value: number) => scales.yAt(Math.min(Math.max(value, 0), 1));
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
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        role="img"
        aria-label="Drift share and Jaccard per monitored day"
        style="max-width:100%;height:auto;display:block"
      >
        {[0, 0.25, 0.5, 0.75, 1].map((tick) => (
          <>
            <line
              x1={margin.left}
              x2={width - margin.right}
              y1={y(tick)}
              y2={y(tick)}
              style="stroke:var(--line);stroke-width:1"
            />
            <text x={margin.left - 6} y={y(tick) + 4} text-anchor="end" font-size="11">
              {tick.toFixed(2)}
            </text>
          </>
        ))}
        {days.map((d, i) =>
          i % labelEvery === 0 || i === days.length - 1 ? (
            <text
              x={x(d.day)}
              y={height - 8}
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
