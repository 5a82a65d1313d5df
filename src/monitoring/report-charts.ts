// The report's charts as compact hand-written SVG: summary-table sparklines, the per-column
// distribution overlay and values over the batch's order, and the index's timeline. Paths use
// rounded relative coordinates and colours come from CSS classes (report-style.ts), so a chart
// of 150 buckets stays near a kilobyte. Non-finite numbers never reach an attribute: they
// break a line or are left out.
import { escapeHtml, formatCount, formatPercent, formatShort } from "./report-html.ts";
import type { ColumnCharts, Histogram, MonitoringDay, ValueCount } from "./types.ts";

export type Side = "ref" | "cur";

/** Builds an SVG path's `d` from absolute points, written as rounded relative moves. */
class PathBuilder {
  private text = "";
  private lastCommand = "";
  private x = 0;
  private y = 0;
  private readonly scale: number;

  constructor(decimals = 0) {
    this.scale = 10 ** decimals;
  }

  private round(value: number): number {
    return Math.round(value * this.scale) / this.scale;
  }

  private emit(command: string, numbers: number[]): void {
    const repeated = command === this.lastCommand && command !== "M";
    let out = repeated ? "" : command;
    let afterNumber = repeated;
    for (const n of numbers) {
      const written = String(n);
      if (afterNumber && !written.startsWith("-")) out += " ";
      out += written;
      afterNumber = true;
    }
    this.text += out;
    this.lastCommand = command;
  }

  moveTo(x: number, y: number): this {
    this.x = this.round(x);
    this.y = this.round(y);
    this.emit("M", [this.x, this.y]);
    return this;
  }

  lineTo(x: number, y: number): this {
    const nx = this.round(x);
    const ny = this.round(y);
    this.emit("l", [this.round(nx - this.x), this.round(ny - this.y)]);
    this.x = nx;
    this.y = ny;
    return this;
  }

  horizontalTo(x: number): this {
    const nx = this.round(x);
    if (nx !== this.x) this.emit("h", [this.round(nx - this.x)]);
    this.x = nx;
    return this;
  }

  verticalTo(y: number): this {
    const ny = this.round(y);
    if (ny !== this.y) this.emit("v", [this.round(ny - this.y)]);
    this.y = ny;
    return this;
  }

  close(startX: number, startY: number): this {
    this.text += "z";
    this.lastCommand = "z";
    this.x = this.round(startX);
    this.y = this.round(startY);
    return this;
  }

  get empty(): boolean {
    return this.text === "";
  }

  toString(): string {
    return this.text;
  }
}

/**
 * Bins as one filled step outline per run of adjacent bins (one subpath for a histogram's
 * contiguous bins instead of a rectangle each).
 */
function stepArea(
  path: PathBuilder,
  steps: { left: number; right: number; top: number }[],
  bottom: number,
): PathBuilder {
  let start: number | undefined;
  let lastRight = 0;
  for (const step of steps) {
    if (start === undefined || Math.abs(step.left - lastRight) > 0.5) {
      if (start !== undefined) path.verticalTo(bottom).close(start, bottom);
      start = step.left;
      path.moveTo(step.left, bottom);
    }
    path.verticalTo(step.top).horizontalTo(step.right);
    lastRight = step.right;
  }
  if (start !== undefined) path.verticalTo(bottom).close(start, bottom);
  return path;
}

/** Maps [d0, d1] onto [r0, r1]; a domain of one point maps to the middle of the range. */
function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  if (!(d1 > d0)) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

function finiteOrZero(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

export function isHistogram(data: Histogram | ValueCount[]): data is Histogram {
  return !Array.isArray(data);
}

/** A histogram's bins that can be drawn: finite edges in order and a non-negative count. */
function histogramBins(histogram: Histogram): { lo: number; hi: number; count: number }[] {
  const bins: { lo: number; hi: number; count: number }[] = [];
  const n = Math.min(histogram.counts.length, histogram.edges.length - 1);
  for (let i = 0; i < n; i++) {
    const lo = histogram.edges[i] as number;
    const hi = histogram.edges[i + 1] as number;
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi < lo) continue;
    bins.push({ lo, hi, count: finiteOrZero(histogram.counts[i] as number) });
  }
  return bins;
}

interface Category {
  key: string;
  label: string;
  count: number;
}

/** The bucket that folds the values past a chart's top ones is keyed apart from any real value. */
const OTHERS_KEY = "\u0000others";

function valueCounts(values: ValueCount[]): Category[] {
  return values.map((v) =>
    v.others === undefined
      ? { key: String(v.value), label: String(v.value), count: finiteOrZero(v.count) }
      : { key: OTHERS_KEY, label: `${formatCount(v.others)} others`, count: finiteOrZero(v.count) },
  );
}

/** A chart whose figure caption says what it shows, so assistive technology skips the drawing. */
function svg(className: string, width: number, height: number, inner: string) {
  return `<svg class="${className}" viewBox="0 0 ${width} ${height}" aria-hidden="true">${inner}</svg>`;
}

const SPARK_HEIGHT = 20;
const SPARK_STEP = 4;

/**
 * A summary-table sparkline: a histogram's shape as one filled step outline, or value counts
 * as bars, scaled to its own highest bin. It stretches to its cell (no text inside).
 */
export function sparkline(data: Histogram | ValueCount[], side: Side): string {
  const counts = isHistogram(data)
    ? histogramBins(data).map((b) => b.count)
    : valueCounts(data).map((v) => v.count);
  const highest = Math.max(0, ...counts);
  const width = Math.max(1, counts.length) * SPARK_STEP;
  const open = `<svg class="spark ${side}" viewBox="0 0 ${width} ${SPARK_HEIGHT}" preserveAspectRatio="none">`;
  if (highest === 0) {
    return `${open}<path class="none" d="M0 ${SPARK_HEIGHT - 1}h${width}"/></svg>`;
  }
  // Whole units, and at least one for a bin that holds anything.
  const y = (count: number) =>
    count > 0
      ? SPARK_HEIGHT - Math.max(1, Math.round((count / highest) * (SPARK_HEIGHT - 1)))
      : SPARK_HEIGHT;
  const path = new PathBuilder(0);
  if (isHistogram(data)) {
    const steps = counts.map((count, i) => ({
      left: i * SPARK_STEP,
      right: (i + 1) * SPARK_STEP,
      top: y(count),
    }));
    stepArea(path, steps, SPARK_HEIGHT);
  } else {
    counts.forEach((count, i) => {
      if (count === 0) return;
      path
        .moveTo(i * SPARK_STEP, SPARK_HEIGHT)
        .verticalTo(y(count))
        .horizontalTo(i * SPARK_STEP + SPARK_STEP - 1)
        .verticalTo(SPARK_HEIGHT)
        .close(i * SPARK_STEP, SPARK_HEIGHT);
    });
  }
  return `${open}<path d="${path}"/></svg>`;
}

/** The plot area shared by the detail charts (viewBox units). */
const PLOT = { width: 600, left: 60, right: 592, top: 8 };

function axisText(x: number, y: number, text: string, anchor: "start" | "mid" | "end"): string {
  const anchorClass = anchor === "start" ? "" : ` class="${anchor}"`;
  return `<text x="${Math.round(x)}" y="${Math.round(y)}"${anchorClass}>${escapeHtml(text)}</text>`;
}

function frame(bottom: number): string {
  return `<path class="axis" d="M${PLOT.left} ${PLOT.top}V${bottom}H${PLOT.right}"/>`;
}

const DIST_HEIGHT = 180;
const DIST_BOTTOM = 150;

/** The two distributions overlaid: shared bins (num) or grouped bars per value (cat), as shares. */
export function distributionChart(distribution: ColumnCharts["distribution"]): string {
  const { reference, current } = distribution;
  if (isHistogram(reference) && isHistogram(current)) {
    return histogramOverlay(histogramBins(reference), histogramBins(current));
  }
  const asCounts = (d: Histogram | ValueCount[]) =>
    isHistogram(d)
      ? histogramBins(d).map((b) => ({
          key: `${b.lo}–${b.hi}`,
          label: `${formatShort(b.lo)}–${formatShort(b.hi)}`,
          count: b.count,
        }))
      : valueCounts(d);
  return categoryOverlay(asCounts(reference), asCounts(current));
}

/** Each count's share of the total, scaled by the largest first so huge counts cannot overflow. */
function shares(counts: number[]): number[] {
  const largest = Math.max(0, ...counts);
  if (largest === 0) return counts.map(() => 0);
  const scaled = counts.map((c) => c / largest);
  const total = scaled.reduce((a, b) => a + b, 0);
  return scaled.map((c) => c / total);
}

function noData(className: string, height: number): string {
  return svg(
    className,
    PLOT.width,
    height,
    `${frame(height - 30)}${axisText(PLOT.width / 2, height / 2, "no values to draw", "mid")}`,
  );
}

function histogramOverlay(
  reference: { lo: number; hi: number; count: number }[],
  current: { lo: number; hi: number; count: number }[],
): string {
  const all = [...reference, ...current];
  if (all.length === 0) return noData("chart dist", DIST_HEIGHT);
  const lo = Math.min(...all.map((b) => b.lo));
  const hi = Math.max(...all.map((b) => b.hi));
  const referenceShares = shares(reference.map((b) => b.count));
  const currentShares = shares(current.map((b) => b.count));
  const top = Math.max(...referenceShares, ...currentShares);
  const x = linear(lo, hi, PLOT.left, PLOT.right);
  const y = linear(0, top > 0 ? top : 1, DIST_BOTTOM, PLOT.top);
  const area = (bins: { lo: number; hi: number }[], values: number[], side: Side) => {
    const steps = bins.map((bin, i) => ({
      left: x(bin.lo),
      right: bin.hi > bin.lo ? x(bin.hi) : x(bin.lo) + 1,
      top: y(values[i] as number),
    }));
    const path = stepArea(new PathBuilder(0), steps, DIST_BOTTOM);
    return path.empty ? "" : `<path class="${side}" d="${path}"/>`;
  };
  const labelY = DIST_BOTTOM + 16;
  return svg(
    "chart dist",
    PLOT.width,
    DIST_HEIGHT,
    area(reference, referenceShares, "ref") +
      area(current, currentShares, "cur") +
      frame(DIST_BOTTOM) +
      axisText(PLOT.left - 4, PLOT.top + 8, formatPercent(top), "end") +
      axisText(PLOT.left - 4, DIST_BOTTOM, "0", "end") +
      axisText(PLOT.left, labelY, formatShort(lo), "start") +
      axisText((PLOT.left + PLOT.right) / 2, labelY, formatShort((lo + hi) / 2), "mid") +
      axisText(PLOT.right, labelY, formatShort(hi), "end"),
  );
}

/** Characters that fit in `width` viewBox units at the charts' label size. */
function fitText(text: string, width: number): string {
  const room = Math.max(1, Math.floor(width / 7));
  const chars = [...text];
  return chars.length <= room ? text : `${chars.slice(0, Math.max(1, room - 1)).join("")}…`;
}

const MAX_LABELLED_VALUES = 12;

function categoryOverlay(reference: Category[], current: Category[]): string {
  const keys: string[] = [];
  const labels = new Map<string, string>();
  const referenceCounts = new Map<string, number>();
  const currentCounts = new Map<string, number>();
  for (const [list, counts] of [
    [reference, referenceCounts],
    [current, currentCounts],
  ] as const) {
    for (const { key, label, count } of list) {
      if (!referenceCounts.has(key) && !currentCounts.has(key)) keys.push(key);
      labels.set(key, label);
      counts.set(key, (counts.get(key) ?? 0) + count);
    }
  }
  if (keys.length === 0) return noData("chart dist", DIST_HEIGHT);
  const referenceShares = shares(keys.map((k) => referenceCounts.get(k) ?? 0));
  const currentShares = shares(keys.map((k) => currentCounts.get(k) ?? 0));
  const top = Math.max(...referenceShares, ...currentShares);
  const y = linear(0, top > 0 ? top : 1, DIST_BOTTOM, PLOT.top);
  const group = (PLOT.right - PLOT.left) / keys.length;
  const bar = group * 0.4;
  const bars = (values: number[], offset: number, side: Side) => {
    const path = new PathBuilder(1);
    values.forEach((share, i) => {
      if (share <= 0) return;
      const left = PLOT.left + i * group + offset;
      path
        .moveTo(left, DIST_BOTTOM)
        .verticalTo(y(share))
        .horizontalTo(left + bar)
        .verticalTo(DIST_BOTTOM)
        .close(left, DIST_BOTTOM);
    });
    return path.empty ? "" : `<path class="${side}" d="${path}"/>`;
  };
  let axis = "";
  if (keys.length <= MAX_LABELLED_VALUES) {
    keys.forEach((key, i) => {
      const text = fitText(labels.get(key) ?? key, group);
      axis += axisText(PLOT.left + (i + 0.5) * group, DIST_BOTTOM + 16, text, "mid");
    });
  } else {
    const shown = keys.filter((k) => k !== OTHERS_KEY).length;
    axis = axisText(PLOT.left, DIST_BOTTOM + 16, `${shown} values`, "start");
    const others = labels.get(OTHERS_KEY);
    if (others !== undefined) axis += axisText(PLOT.right, DIST_BOTTOM + 16, `+ ${others}`, "end");
  }
  return svg(
    "chart dist",
    PLOT.width,
    DIST_HEIGHT,
    bars(referenceShares, group * 0.1, "ref") +
      bars(currentShares, group * 0.5, "cur") +
      frame(DIST_BOTTOM) +
      axisText(PLOT.left - 4, PLOT.top + 8, formatPercent(top), "end") +
      axisText(PLOT.left - 4, DIST_BOTTOM, "0", "end") +
      axis,
  );
}

const ORDER_HEIGHT = 160;
const ORDER_BOTTOM = 130;

/**
 * The current values' mean ± std per bucket over the batch's order (red line and band) against
 * the reference mean (grey dashed line) and ±1 std band (grey).
 */
export function orderChart(order: NonNullable<ColumnCharts["order"]>): string {
  const buckets = order.buckets.filter(
    (b) => Number.isFinite(b.start) && Number.isFinite(b.end) && Number.isFinite(b.mean),
  );
  const referenceKnown = Number.isFinite(order.referenceMean);
  const referenceSpread = Number.isFinite(order.referenceStd) ? Math.abs(order.referenceStd) : 0;
  if (buckets.length === 0 && !referenceKnown) return noData("chart order", ORDER_HEIGHT);
  const spread = (s: number) => (Number.isFinite(s) ? Math.abs(s) : 0);
  const values: number[] = [];
  for (const b of buckets) values.push(b.mean - spread(b.std), b.mean + spread(b.std));
  if (referenceKnown)
    values.push(order.referenceMean - referenceSpread, order.referenceMean + referenceSpread);
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (high === low) {
    low -= 1;
    high += 1;
  }
  const first = buckets[0];
  const last = buckets[buckets.length - 1];
  const rowStart = first ? first.start : 0;
  const rowEnd = last ? Math.max(last.end, rowStart) : 1;
  const x = linear(rowStart, rowEnd, PLOT.left, PLOT.right);
  const y = linear(low, high, ORDER_BOTTOM, PLOT.top);
  // A lone bucket is drawn across its rows rather than as a point.
  const points =
    buckets.length === 1 && first
      ? [
          { at: first.start, mean: first.mean, std: spread(first.std) },
          { at: first.end, mean: first.mean, std: spread(first.std) },
        ]
      : buckets.map((b) => ({ at: (b.start + b.end) / 2, mean: b.mean, std: spread(b.std) }));
  let inner = "";
  if (referenceKnown) {
    const bandTop = Math.round(y(order.referenceMean + referenceSpread));
    const bandBottom = Math.round(y(order.referenceMean - referenceSpread));
    if (bandBottom > bandTop) {
      inner += `<rect class="ref band" x="${PLOT.left}" y="${bandTop}" width="${PLOT.right - PLOT.left}" height="${bandBottom - bandTop}"/>`;
    }
    inner += `<path class="ref mean" d="M${PLOT.left} ${Math.round(y(order.referenceMean))}H${PLOT.right}"/>`;
  }
  // The current values' paths are the chart's bulk: drawn at half scale, in whole units.
  const half = (v: number) => v / 2;
  if (points.some((p) => p.std > 0)) {
    const band = new PathBuilder(0);
    points.forEach((p, i) => {
      if (i === 0) band.moveTo(half(x(p.at)), half(y(p.mean + p.std)));
      else band.lineTo(half(x(p.at)), half(y(p.mean + p.std)));
    });
    for (let i = points.length - 1; i >= 0; i--) {
      const p = points[i] as (typeof points)[number];
      band.lineTo(half(x(p.at)), half(y(p.mean - p.std)));
    }
    const start = points[0] as (typeof points)[number];
    band.close(half(x(start.at)), half(y(start.mean + start.std)));
    inner += `<path class="cur band" transform="scale(2)" d="${band}"/>`;
  }
  if (points.length > 0) {
    const line = new PathBuilder(0);
    points.forEach((p, i) => {
      if (i === 0) line.moveTo(half(x(p.at)), half(y(p.mean)));
      else line.lineTo(half(x(p.at)), half(y(p.mean)));
    });
    inner += `<path class="cur mean" transform="scale(2)" d="${line}"/>`;
  }
  const labelY = ORDER_BOTTOM + 16;
  inner +=
    frame(ORDER_BOTTOM) +
    axisText(PLOT.left - 4, PLOT.top + 8, formatShort(high), "end") +
    axisText(PLOT.left - 4, ORDER_BOTTOM, formatShort(low), "end") +
    axisText(PLOT.left, labelY, `row ${formatShort(rowStart)}`, "start") +
    axisText(PLOT.right, labelY, `row ${formatShort(rowEnd)}`, "end");
  return svg("chart order", PLOT.width, ORDER_HEIGHT, inner);
}

const TIMELINE = {
  width: 640,
  left: 58,
  right: 630,
  share: { top: 26, bottom: 126 },
  drifted: { top: 156, bottom: 206 },
  jaccard: { top: 236, bottom: 286 },
  height: 314,
};

/**
 * The index's timeline, one x axis of days over three panels: the share of drifted columns with
 * the dataset threshold, the drifted columns, and Jaccard when labels were known; a dashed
 * vertical line marks each day that retrained.
 */
export function timelineChart(days: MonitoringDay[], threshold: number): string {
  const known = days.filter((d) => Number.isFinite(d.day));
  if (known.length === 0) return noData("chart timeline", TIMELINE.height);
  const firstDay = Math.min(...known.map((d) => d.day));
  const lastDay = Math.max(...known.map((d) => d.day));
  const pad = known.length === 1 ? 0 : 24;
  const x = linear(firstDay, lastDay, TIMELINE.left + pad, TIMELINE.right - pad);
  const { share, drifted, jaccard } = TIMELINE;
  const shareY = linear(0, 1, share.bottom, share.top);
  let inner = "";

  for (const d of known.filter((d) => d.retrained)) {
    const at = Math.round(x(d.day));
    inner += `<path class="retrain" d="M${at} ${share.top}V${jaccard.bottom}"/>`;
  }

  const clampShare = (v: number) => Math.min(1, Math.max(0, Number.isFinite(v) ? v : 0));
  const thresholdY = Math.round(shareY(clampShare(threshold)));
  inner += `<path class="threshold" d="M${TIMELINE.left} ${thresholdY}H${TIMELINE.right}"/>`;
  inner += axisText(TIMELINE.right, thresholdY - 3, `threshold ${formatShort(threshold)}`, "end");
  const shareLine = new PathBuilder(0);
  known.forEach((d, i) => {
    const px = x(d.day);
    const py = shareY(clampShare(d.driftShare));
    if (i === 0) shareLine.moveTo(px, py);
    else shareLine.lineTo(px, py);
  });
  inner += `<path class="line" d="${shareLine}"/>`;
  for (const d of known) {
    inner += `<circle class="${d.drift ? "cur" : "ok"}" cx="${Math.round(x(d.day))}" cy="${Math.round(shareY(clampShare(d.driftShare)))}" r="4"><title>day ${escapeHtml(d.day)}: share ${escapeHtml(formatShort(d.driftShare))}</title></circle>`;
  }
  inner += `<path class="axis" d="M${TIMELINE.left} ${share.top}V${share.bottom}H${TIMELINE.right}"/>`;
  inner += axisText(TIMELINE.left - 4, share.top + 4, "1", "end");
  inner += axisText(TIMELINE.left - 4, share.bottom, "0", "end");
  inner += axisText(TIMELINE.left, share.top - 8, "share of drifted columns", "start");

  const mostColumns = Math.max(1, ...known.map((d) => finiteOrZero(d.driftedColumns)));
  const driftedY = linear(0, mostColumns, drifted.bottom, drifted.top);
  const barWidth = Math.max(
    2,
    Math.min(16, ((TIMELINE.right - TIMELINE.left) / known.length) * 0.6),
  );
  const bars = new PathBuilder(0);
  for (const d of known) {
    const count = finiteOrZero(d.driftedColumns);
    if (count === 0) continue;
    const left = x(d.day) - barWidth / 2;
    bars
      .moveTo(left, drifted.bottom)
      .verticalTo(driftedY(count))
      .horizontalTo(left + barWidth)
      .verticalTo(drifted.bottom)
      .close(left, drifted.bottom);
  }
  if (!bars.empty) inner += `<path class="cur" d="${bars}"/>`;
  inner += `<path class="axis" d="M${TIMELINE.left} ${drifted.top}V${drifted.bottom}H${TIMELINE.right}"/>`;
  inner += axisText(TIMELINE.left - 4, drifted.top + 4, formatShort(mostColumns), "end");
  inner += axisText(TIMELINE.left - 4, drifted.bottom, "0", "end");
  inner += axisText(TIMELINE.left, drifted.top - 8, "drifted columns", "start");

  const scored = known.filter(
    (d): d is MonitoringDay & { jaccard: number } =>
      d.jaccard !== undefined && Number.isFinite(d.jaccard),
  );
  inner += axisText(TIMELINE.left, jaccard.top - 8, "Jaccard (days with labels)", "start");
  inner += `<path class="axis" d="M${TIMELINE.left} ${jaccard.top}V${jaccard.bottom}H${TIMELINE.right}"/>`;
  if (scored.length > 0) {
    let low = Math.min(...scored.map((d) => d.jaccard));
    let high = Math.max(...scored.map((d) => d.jaccard));
    if (high === low) {
      low -= 0.05;
      high += 0.05;
    }
    const jaccardY = linear(low, high, jaccard.bottom, jaccard.top);
    const line = new PathBuilder(0);
    scored.forEach((d, i) => {
      if (i === 0) line.moveTo(x(d.day), jaccardY(d.jaccard));
      else line.lineTo(x(d.day), jaccardY(d.jaccard));
    });
    inner += `<path class="line" d="${line}"/>`;
    for (const d of scored) {
      inner += `<circle class="ok" cx="${Math.round(x(d.day))}" cy="${Math.round(jaccardY(d.jaccard))}" r="3"/>`;
    }
    inner += axisText(TIMELINE.left - 4, jaccard.top + 4, formatShort(high), "end");
    inner += axisText(TIMELINE.left - 4, jaccard.bottom, formatShort(low), "end");
  } else {
    inner += axisText(
      (TIMELINE.left + TIMELINE.right) / 2,
      jaccard.bottom - 18,
      "no labels yet",
      "mid",
    );
  }

  const ticks = dayTicks(firstDay, lastDay);
  for (const tick of ticks) {
    inner += axisText(x(tick), TIMELINE.height - 8, `day ${tick}`, "mid");
  }
  return svg("chart timeline", TIMELINE.width, TIMELINE.height, inner);
}

/** Up to eight whole days spread over [first, last], both ends included. */
function dayTicks(first: number, last: number): number[] {
  if (last <= first) return [first];
  const step = Math.max(1, Math.ceil((last - first) / 7));
  const ticks: number[] = [];
  for (let day = first; day < last; day += step) ticks.push(day);
  if (last - (ticks[ticks.length - 1] as number) < step / 2 && ticks.length > 1) ticks.pop();
  ticks.push(last);
  return ticks;
}
