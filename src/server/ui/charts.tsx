/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// Line charts drawn on the server as SVG (no script, no chart library): one or several series
// of (x, y) points on shared axes with round-number ticks, and a legend when there are several;
// and the frame and scales every chart of the pages draws with.
import type { FC } from "hono/jsx";

export interface ChartPoint {
  x: number;
  y: number;
}

export interface ChartSeries {
  label: string;
  points: ChartPoint[];
}

/** Series colours, told apart in light and dark themes. */
export const SERIES_COLOURS = [
  "#3a7bd5",
  "#e8710a",
  "#1e9e5a",
  "#d93f7a",
  "#8e5bd9",
  "#8a6d1e",
  "#12a4b5",
  "#c0392b",
  "#5d6d7e",
  "#7cb342",
];

/** An SVG chart's size and the margins around its plot. */
export interface ChartFrame {
  width: number;
  height: number;
  margin: { top: number; right: number; bottom: number; left: number };
}

/** Points drawn per series at most; longer series are thinned evenly, keeping both ends. */
const MAX_POINTS = 1000;
const LINE_CHART: ChartFrame = {
  width: 640,
  height: 240,
  margin: { top: 12, right: 16, bottom: 34, left: 64 },
};

/**
 * The plot's size in `frame`, and where x of [xLow, xHigh] and y of [yLow, yHigh] stand on it
 * (y upwards; a single x in the middle).
 */
export function plotScales(
  frame: ChartFrame,
  [xLow, xHigh]: [number, number],
  [yLow, yHigh]: [number, number],
): {
  plotWidth: number;
  plotHeight: number;
  xAt: (x: number) => number;
  yAt: (y: number) => number;
} {
  const { margin } = frame;
  const plotWidth = frame.width - margin.left - margin.right;
  const plotHeight = frame.height - margin.top - margin.bottom;
  return {
    plotWidth,
    plotHeight,
    xAt: (x) =>
      margin.left + (xHigh === xLow ? plotWidth / 2 : ((x - xLow) / (xHigh - xLow)) * plotWidth),
    yAt: (y) => margin.top + (1 - (y - yLow) / (yHigh - yLow)) * plotHeight,
  };
}

/** A number shortly: up to four significant digits, exponents for the very large or small. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "−∞";
  if (Number.isInteger(value) && Math.abs(value) < 1e9) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e9 || magnitude < 1e-4)) return value.toExponential(3);
  return String(Number(value.toPrecision(4)));
}

/** About `count` round-number ticks covering [low, high]. */
export function niceTicks(low: number, high: number, count = 5): number[] {
  if (!(high > low)) return [low];
  const rawStep = (high - low) / count;
  const power = 10 ** Math.floor(Math.log10(rawStep));
  const fraction = rawStep / power;
  const step = (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
  const ticks: number[] = [];
  for (let tick = Math.ceil(low / step) * step; tick <= high + step * 1e-9; tick += step)
    ticks.push(Number(tick.toPrecision(12)));
  return ticks;
}

/** [low, high] widened to the round-number ticks around them. */
function niceDomain(low: number, high: number, count: number): [number, number] {
  const ticks = niceTicks(low, high, count);
  const step = ticks.length > 1 ? (ticks[1] as number) - (ticks[0] as number) : 0;
  if (step <= 0) return [low, high];
  return [
    Math.min(low, (ticks[0] as number) - ((ticks[0] as number) > low ? step : 0)),
    Math.max(high, (ticks.at(-1) as number) + ((ticks.at(-1) as number) < high ? step : 0)),
  ];
}

function thinned(points: ChartPoint[]): ChartPoint[] {
  const finite = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  if (finite.length <= MAX_POINTS) return finite;
  const every = (finite.length - 1) / (MAX_POINTS - 1);
  return Array.from({ length: MAX_POINTS }, (_, i) => finite[Math.round(i * every)] as ChartPoint);
}

function extent(values: number[]): [number, number] {
  let low = Number.POSITIVE_INFINITY;
  let high = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < low) low = v;
    if (v > high) high = v;
  }
  if (low === high) {
    const pad = low === 0 ? 1 : Math.abs(low) * 0.05;
    return [low - pad, high + pad];
  }
  return [low, high];
}

export const LineChart: FC<{
  title: string;
  series: ChartSeries[];
  xLabel: string;
}> = ({ title, series, xLabel }) => {
  const drawn = series.map((s) => ({ label: s.label, points: thinned(s.points) }));
  const all = drawn.flatMap((s) => s.points);
  if (all.length === 0) return <p class="empty">{title}: no finite values to draw.</p>;
  const [xLow, xHigh] = extent(all.map((p) => p.x));
  const [yLow, yHigh] = niceDomain(...extent(all.map((p) => p.y)), 4);
  const { width, height, margin } = LINE_CHART;
  const { plotWidth, xAt, yAt } = plotScales(LINE_CHART, [xLow, xHigh], [yLow, yHigh]);
  const xTicks = niceTicks(xLow, xHigh, 6).filter((t) => t >= xLow && t <= xHigh);
  const yTicks = niceTicks(yLow, yHigh, 4);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${title} by ${xLabel}`}
        preserveAspectRatio="xMidYMid meet"
      >
        <title>{`${title} by ${xLabel}`}</title>
        {yTicks.map((tick) => (
          <g>
            <line
              x1={margin.left}
              x2={width - margin.right}
              y1={yAt(tick)}
              y2={yAt(tick)}
              class="grid-line"
            />
            <text x={margin.left - 6} y={yAt(tick) + 4} text-anchor="end" font-size="11">
              {formatNumber(tick)}
            </text>
          </g>
        ))}
        {xTicks.map((tick) => (
          <text x={xAt(tick)} y={height - margin.bottom + 15} text-anchor="middle" font-size="11">
            {formatNumber(tick)}
          </text>
        ))}
        <line
          x1={margin.left}
          x2={width - margin.right}
          y1={height - margin.bottom}
          y2={height - margin.bottom}
          class="axis"
        />
        <text x={margin.left + plotWidth / 2} y={height - 4} text-anchor="middle" font-size="11">
          {xLabel}
        </text>
        {drawn.map((s, index) => {
          const colour = SERIES_COLOURS[index % SERIES_COLOURS.length] as string;
          if (s.points.length === 1) {
            const only = s.points[0] as ChartPoint;
            return <circle cx={xAt(only.x)} cy={yAt(only.y)} r="3" fill={colour} />;
          }
          const path = s.points
            .map((p, i) => `${i === 0 ? "M" : "L"}${xAt(p.x).toFixed(1)} ${yAt(p.y).toFixed(1)}`)
            .join(" ");
          return (
            <path d={path} fill="none" stroke={colour} stroke-width="1.8">
              <title>{s.label}</title>
            </path>
          );
        })}
      </svg>
      {drawn.length > 1 ? (
        <ul class="legend">
          {drawn.map((s, index) => (
            <li>
              <span
                class="swatch"
                style={`background:${SERIES_COLOURS[index % SERIES_COLOURS.length]}`}
              />
              {s.label}
            </li>
          ))}
        </ul>
      ) : null}
    </figure>
  );
};
