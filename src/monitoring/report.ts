// The monitoring report as one self-contained HTML page per day, and the index linking the days.
// It shows what Evidently's DataDriftPreset report shows (the dataset verdict, the "Data Drift
// Summary" table with sparklines, per column the distributions and the values over the batch's
// order) plus the day's quality against its labels, prediction drift and the retrain decision.
// Every string from data is escaped; the page loads nothing from anywhere.
import { InputError } from "../common/errors.ts";
import {
  distributionChart,
  orderChart,
  type Side,
  sparkline,
  timelineChart,
} from "./report-charts.ts";
import { escapeHtml, formatCount, formatFixed, formatShort, htmlPage } from "./report-html.ts";
import type {
  ColumnDrift,
  DayQuality,
  DriftResult,
  DriftTestName,
  ExcludedColumn,
  MonitoringDay,
  MonitoringReport,
  QualityScores,
  RetrainDecision,
} from "./types.ts";

/** The test names Evidently's table shows. */
const TEST_TITLES: Record<DriftTestName, string> = {
  ks: "K-S p_value",
  "chi-square": "chi-square p_value",
  z: "Z-test p_value",
  wasserstein: "Wasserstein distance (normed)",
  "jensen-shannon": "Jensen-Shannon distance",
};

/** When each test calls a column drifted, as Evidently compares score and threshold. */
const DRIFT_RULES: Record<DriftTestName, string> = {
  ks: "drift when p ≤",
  "chi-square": "drift when p <",
  z: "drift when p <",
  wasserstein: "drift when distance ≥",
  "jensen-shannon": "drift when distance ≥",
};

const LEGEND =
  '<p class="legend">Charts:<span class="key ref"></span>reference<span class="key cur"></span>current</p>';

function plural(count: number, one: string, many: string): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

function sortValue(value: number | null): string {
  return value !== null && Number.isFinite(value) ? String(Number(value.toPrecision(10))) : "";
}

function sparkCell(column: ColumnDrift, side: Side): string {
  const data = column.charts?.sparkline[side === "ref" ? "reference" : "current"];
  return `<span>${data ? sparkline(data, side) : ""}</span>`;
}

function driftCell(column: ColumnDrift): string {
  if (column.test === null) return '<span class="off">Not tested</span>';
  return column.drift
    ? '<span class="yes">Detected</span>'
    : '<span class="no">Not Detected</span>';
}

function columnFacts(column: ColumnDrift): string {
  const facts: string[] = [];
  if (column.test !== null) {
    facts.push(`${DRIFT_RULES[column.test]} ${escapeHtml(formatShort(column.threshold))}`);
  }
  if (column.statistic !== undefined) {
    facts.push(`statistic ${escapeHtml(formatFixed(column.statistic, 6))}`);
  }
  facts.push(
    `reference ${plural(column.referenceRows, "value", "values")}, ${formatCount(column.referenceMissing)} missing`,
  );
  facts.push(
    `current ${plural(column.currentRows, "value", "values")}, ${formatCount(column.currentMissing)} missing`,
  );
  return `<p class="meta">${facts.join(" · ")}</p>`;
}

function columnCharts(column: ColumnDrift): string {
  const charts = column.charts;
  if (!charts) return '<p class="meta">No charts for this column.</p>';
  let figures = `<figure>${distributionChart(charts.distribution)}<figcaption>Distributions</figcaption></figure>`;
  if (charts.order) {
    figures += `<figure>${orderChart(charts.order)}<figcaption>Mean ± std over the batch's rows</figcaption></figure>`;
  }
  return `<div class="charts">${figures}</div>`;
}

function columnRow(column: ColumnDrift): string {
  const note =
    column.test === null
      ? `<span class="note">untestable: ${escapeHtml(column.untestable ?? "no test could run")}</span>`
      : "";
  const attributes = [
    `data-column="${escapeHtml(column.column)}"`,
    `data-type="${escapeHtml(column.type)}"`,
    `data-drift="${column.test === null ? "" : column.drift ? "1" : "0"}"`,
    `data-test="${column.test ?? ""}"`,
    `data-score="${sortValue(column.score)}"`,
  ].join(" ");
  return (
    `<details class="col" ${attributes}><summary class="grid">` +
    `<span class="name">${escapeHtml(column.column)}${note}</span>` +
    `<span>${escapeHtml(column.type)}</span>` +
    sparkCell(column, "ref") +
    sparkCell(column, "cur") +
    driftCell(column) +
    `<span>${column.test === null ? "—" : TEST_TITLES[column.test]}</span>` +
    `<span class="num">${escapeHtml(formatFixed(column.score, 6))}</span>` +
    `</summary><div class="detail">${columnFacts(column)}${columnCharts(column)}</div></details>`
  );
}

function excludedRow(excluded: ExcludedColumn): string {
  return (
    `<div class="col grid" data-column="${escapeHtml(excluded.column)}" data-type="" data-drift="" data-test="" data-score="">` +
    `<span class="name">${escapeHtml(excluded.column)}<span class="note">excluded: ${escapeHtml(excluded.reason)}</span></span>` +
    '<span>—</span><span></span><span></span><span class="off">Excluded</span><span>—</span>' +
    '<span class="num">—</span></div>'
  );
}

function datasetSummary(drift: DriftResult, subject: string): string {
  const { dataset } = drift;
  const verdict = dataset.drift
    ? `<p class="verdict bad">${subject} Drift is detected.</p>`
    : `<p class="verdict good">${subject} Drift is NOT detected.</p>`;
  return (
    verdict +
    `<p class="meta">${subject} drift is detected when the share of drifted columns is at least ${escapeHtml(formatShort(dataset.threshold))}.</p>` +
    '<div class="cards">' +
    `<div class="card"><b>${formatCount(dataset.columns)}</b>Columns</div>` +
    `<div class="card"><b>${formatCount(dataset.drifted)}</b>Drifted Columns</div>` +
    `<div class="card"><b>${escapeHtml(formatFixed(dataset.share, 3))}</b>Share of Drifted Columns</div>` +
    "</div>"
  );
}

/** Evidently's summary, then its "Data Drift Summary" table, for one drift result. */
function driftSection(
  drift: DriftResult,
  section: { id: string; heading: string; subject: string; intro?: string },
): string {
  const header =
    '<div class="grid head">' +
    '<button type="button" data-sort="column">Column</button>' +
    '<button type="button" data-sort="type">Type</button>' +
    "<span>Reference</span><span>Current</span>" +
    '<button type="button" data-sort="drift">Data drift</button>' +
    '<button type="button" data-sort="test">Stat test</button>' +
    '<button type="button" data-sort="score" class="num">Drift score</button>' +
    "</div>";
  const tested = drift.columns.filter((c) => c.test !== null).length;
  const rows = drift.columns.map(columnRow).join("") + drift.excluded.map(excludedRow).join("");
  return (
    `<section id="${section.id}"><h2>${section.heading}</h2>` +
    (section.intro ? `<p class="meta">${section.intro}</p>` : "") +
    datasetSummary(drift, section.subject) +
    `<h3>${section.subject} Drift Summary</h3>` +
    `<p class="meta">Drift is detected for ${formatCount(drift.dataset.drifted)} out of ${plural(tested, "column", "columns")}` +
    (drift.columns.length > tested
      ? `; ${plural(drift.columns.length - tested, "column was", "columns were")} not tested`
      : "") +
    (drift.excluded.length > 0
      ? `; ${plural(drift.excluded.length, "column was", "columns were")} excluded`
      : "") +
    ". Open a row for its charts.</p>" +
    LEGEND +
    header +
    `<div class="rows">${rows}</div></section>`
  );
}

const QUALITY_METRICS: { key: keyof QualityScores; title: string; higherIsBetter: boolean }[] = [
  { key: "jaccardSamples", title: "Jaccard (samples)", higherIsBetter: true },
  { key: "hammingLoss", title: "Hamming loss", higherIsBetter: false },
  { key: "f1Micro", title: "F1 micro", higherIsBetter: true },
  { key: "f1Macro", title: "F1 macro", higherIsBetter: true },
];

function signed(value: number): string {
  if (!Number.isFinite(value)) return formatFixed(value, 3);
  const text = Math.abs(value).toFixed(3);
  return value < 0 ? `−${text}` : `+${text}`;
}

function qualitySection(quality: DayQuality): string {
  let rows = "";
  for (const metric of QUALITY_METRICS) {
    const today = quality.current[metric.key];
    const cell = (scores: QualityScores | undefined) => {
      if (!scores) return '<td class="num">—</td>';
      return `<td class="num">${escapeHtml(formatFixed(scores[metric.key], 3))}</td>`;
    };
    let todayClass = "num";
    let delta = "";
    const validation = quality.validation?.[metric.key];
    if (validation !== undefined) {
      const difference = today - validation;
      const worse = metric.higherIsBetter ? difference < 0 : difference > 0;
      if (worse) todayClass += " worse";
      delta = `<span class="delta">${escapeHtml(signed(difference))}</span>`;
    }
    rows +=
      `<tr><th>${metric.title}</th><td class="${todayClass}">${escapeHtml(formatFixed(today, 3))}${delta}</td>` +
      `${cell(quality.validation)}${cell(quality.baseline)}</tr>`;
  }
  const hasValidationF1 = quality.genres.some((g) => g.validationF1 !== undefined);
  let genreRows = "";
  for (const genre of quality.genres) {
    const worse = genre.validationF1 !== undefined && genre.f1 < genre.validationF1 ? " worse" : "";
    genreRows +=
      `<tr><td class="label">${escapeHtml(genre.genre)}</td><td class="num">${formatCount(genre.support)}</td>` +
      `<td class="num wide">${escapeHtml(formatFixed(genre.precision, 3))}</td>` +
      `<td class="num wide">${escapeHtml(formatFixed(genre.recall, 3))}</td>` +
      `<td class="num${worse}">${escapeHtml(formatFixed(genre.f1, 3))}</td>` +
      (hasValidationF1
        ? `<td class="num">${escapeHtml(formatFixed(genre.validationF1, 3))}</td>`
        : "") +
      "</tr>";
  }
  return (
    '<section id="quality"><h2>Quality against the day\'s labels</h2>' +
    `<p class="meta">${plural(quality.tracks, "track", "tracks")} with labels, scored against the champion's validation figures and the most-frequent baseline. Red: worse than validation.</p>` +
    '<table class="scores"><thead><tr><th>Metric</th><th class="num">This day</th><th class="num">Validation</th><th class="num">Baseline</th></tr></thead>' +
    `<tbody>${rows}</tbody></table>` +
    `<details open><summary>Per genre (${formatCount(quality.genres.length)})</summary>` +
    '<table class="genres"><thead><tr><th>Genre</th><th class="num">Support</th><th class="num wide">Precision</th><th class="num wide">Recall</th><th class="num">F1</th>' +
    (hasValidationF1 ? '<th class="num">Validation F1</th>' : "") +
    `</tr></thead><tbody>${genreRows}</tbody></table></details></section>`
  );
}

function retrainVerdict(retrain: RetrainDecision): string {
  return retrain.retrain
    ? '<p class="verdict bad">Retraining was triggered.</p>'
    : '<p class="verdict good">No retraining.</p>';
}

function retrainSection(retrain: RetrainDecision): string {
  const reasons = retrain.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join("");
  return (
    '<section id="retrain"><h2>Retraining</h2>' +
    retrainVerdict(retrain) +
    (reasons ? `<ul class="reasons">${reasons}</ul>` : "") +
    "</section>"
  );
}

/** A link that stays relative, so pages work from a file, a static S3 site and a server alike. */
function relativeHref(href: string, what: string): string {
  if (href === "" || /^[a-z][a-z0-9+.-]*:/i.test(href) || /^[/\\]/.test(href)) {
    throw new InputError(
      `${what}: href ${JSON.stringify(href)} must be a relative path such as day=0001/report.html`,
    );
  }
  return escapeHtml(href);
}

export interface DayReportOptions {
  /** Relative link from the report to the index, e.g. "../index.html". */
  indexHref?: string;
}

/** One day's self-contained report page. */
export function renderDayReport(report: MonitoringReport, options: DayReportOptions = {}): string {
  const facts: string[] = [];
  if (report.day !== undefined) facts.push(`Day ${escapeHtml(report.day)}`);
  if (report.model) {
    let model = `model ${escapeHtml(report.model.name)} version ${escapeHtml(report.model.version)}`;
    if (report.model.runId) model += ` (run ${escapeHtml(report.model.runId)})`;
    facts.push(model);
  }
  facts.push(`made ${escapeHtml(report.createdAt)}`);
  const back = options.indexHref
    ? `<p class="meta"><a href="${relativeHref(options.indexHref, "report index link")}">← all days</a></p>`
    : "";
  let body =
    `<header>${back}<h1>${escapeHtml(report.title)}</h1>` +
    `<p class="meta">${facts.join(" · ")}</p>` +
    `<p class="meta">Reference: ${escapeHtml(report.reference.source)}, ${plural(report.reference.rows, "row", "rows")} · ` +
    `Current: ${escapeHtml(report.current.source)}, ${plural(report.current.rows, "row", "rows")}</p>` +
    (report.retrain?.retrain
      ? `<p class="meta"><a href="#retrain">Retraining was triggered</a>: ${report.retrain.reasons.map(escapeHtml).join("; ")}</p>`
      : "") +
    "</header>";
  body += driftSection(report.drift, {
    id: "data-drift",
    heading: "Data drift",
    subject: "Dataset",
  });
  if (report.quality) body += qualitySection(report.quality);
  if (report.predictionDrift) {
    body += driftSection(report.predictionDrift, {
      id: "prediction-drift",
      heading: "Prediction drift",
      subject: "Prediction",
      intro:
        "Each genre's predicted rate and the number of genres per track, against the champion's validation predictions.",
    });
  }
  if (report.retrain) body += retrainSection(report.retrain);
  body +=
    "<footer>Drift tests and rules as Evidently's DataDriftPreset computes them; made by genre-classifier.</footer>";
  const title = report.day !== undefined ? `${report.title} · day ${report.day}` : report.title;
  return htmlPage(title, body);
}

export interface IndexOptions {
  title: string;
  /** The dataset drift share drawn as the timeline's threshold line (Evidently's 0.5). */
  driftShare?: number;
}

/** The index page: a timeline of the days and a table linking every day's report. */
export function renderIndex(days: MonitoringDay[], options: IndexOptions): string {
  const ordered = [...days].sort((a, b) => a.day - b.day);
  const rows = [...ordered]
    .reverse()
    .map((d) => {
      const href = relativeHref(d.href, `monitoring index, day ${d.day}`);
      return (
        `<tr><td><a href="${href}">Day ${escapeHtml(d.day)}</a></td>` +
        `<td class="wide">${escapeHtml(d.createdAt)}</td>` +
        `<td class="wide">${escapeHtml(d.modelVersion ?? "—")}</td>` +
        `<td class="${d.drift ? "yes" : "no"}">${d.drift ? "Detected" : "Not Detected"}</td>` +
        `<td class="num">${escapeHtml(formatFixed(d.driftShare, 3))}</td>` +
        `<td class="num">${formatCount(d.driftedColumns)} / ${formatCount(d.columns)}</td>` +
        `<td class="num">${escapeHtml(formatFixed(d.jaccard, 3))}</td>` +
        `<td>${d.retrained ? '<span class="yes">yes</span>' : "—"}</td></tr>`
      );
    })
    .join("");
  const threshold = options.driftShare ?? 0.5;
  let body = `<header><h1>${escapeHtml(options.title)}</h1>`;
  if (ordered.length === 0) {
    body += '<p class="meta">No day has been monitored yet.</p></header>';
    return htmlPage(options.title, body);
  }
  const lastDay = ordered[ordered.length - 1] as MonitoringDay;
  body +=
    `<p class="meta">${plural(ordered.length, "day", "days")} monitored; the latest is day ${escapeHtml(lastDay.day)}.</p></header>` +
    '<section id="timeline"><h2>Timeline</h2>' +
    `<p class="legend"><span class="key cur"></span>dataset drift (share ≥ ${escapeHtml(formatShort(threshold))})<span class="key retrain"></span>retrain</p>` +
    timelineChart(ordered, threshold) +
    "</section>" +
    '<section id="days"><h2>Days</h2><table><thead><tr><th>Day</th><th class="wide">Made</th><th class="wide">Model</th>' +
    '<th>Dataset drift</th><th class="num">Share</th><th class="num">Drifted</th><th class="num">Jaccard</th><th>Retrain</th></tr></thead>' +
    `<tbody>${rows}</tbody></table></section>`;
  return htmlPage(options.title, body);
}
