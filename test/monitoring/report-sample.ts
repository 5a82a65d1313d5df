// A realistic day of monitoring built directly as the result types (not through the drift
// engine): 80 columns of a 100-track batch against a 1,000-row reference, numerical and
// categorical, some drifted, one untestable, one excluded, hostile names, quality, prediction
// drift and a retrain decision. Chart data is computed from generated values the way the
// engine describes it (10-bin sparklines, shared "doane" bins, one bucket per current row).
import type {
  ColumnCharts,
  ColumnDrift,
  DriftResult,
  GenreQuality,
  Histogram,
  MonitoringDay,
  MonitoringReport,
  ValueCount,
} from "../../src/monitoring/types.ts";

export const HOSTILE_NAMES = [
  '<script>alert("column")</script>',
  "quote\" and 'apostrophe' & <b>bold</b>",
  "<img src=https://evil.example/x.png onerror=alert(1)>",
  `a_very_long_column_name_without_any_space_${"x".repeat(120)}`,
];

/** mulberry32: a small deterministic generator, so the sample is the same on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

function histogram(values: number[], edges: number[]): Histogram {
  const counts = new Array<number>(edges.length - 1).fill(0);
  const lo = edges[0] as number;
  const hi = edges[edges.length - 1] as number;
  for (const v of values) {
    if (v < lo || v > hi) continue;
    let i = Math.floor(((v - lo) / (hi - lo || 1)) * counts.length);
    if (i >= counts.length) i = counts.length - 1;
    counts[i] = (counts[i] as number) + 1;
  }
  return { edges, counts };
}

function evenEdges(lo: number, hi: number, bins: number): number[] {
  if (hi === lo) return evenEdges(lo - 0.5, hi + 0.5, bins);
  return Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins);
}

function doaneBins(values: number[]): number {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / n) || 1;
  const g1 = Math.abs(values.reduce((a, b) => a + ((b - mean) / sd) ** 3, 0) / n);
  const sigma = Math.sqrt((6 * (n - 2)) / ((n + 1) * (n + 3)));
  return Math.ceil(1 + Math.log2(n) + Math.log2(1 + g1 / sigma));
}

function meanAndStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, std: Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length) };
}

function numericalCharts(
  reference: number[],
  current: number[],
  rowsPerBucket: number,
): ColumnCharts {
  const side = (v: number[]) => histogram(v, evenEdges(Math.min(...v), Math.max(...v), 10));
  const both = [...reference, ...current];
  const shared = evenEdges(Math.min(...both), Math.max(...both), doaneBins(both));
  const whole = meanAndStd(reference);
  const buckets = [];
  for (let start = 0; start < current.length; start += rowsPerBucket) {
    const end = Math.min(current.length, start + rowsPerBucket);
    buckets.push({ start, end, ...meanAndStd(current.slice(start, end)) });
  }
  return {
    sparkline: { reference: side(reference), current: side(current) },
    distribution: { reference: histogram(reference, shared), current: histogram(current, shared) },
    order: { buckets, referenceMean: whole.mean, referenceStd: whole.std },
  };
}

/** Value counts, the 30 most frequent then one bucket for the rest, as the engine keeps them. */
function counted(values: string[]): ValueCount[] {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  const top: ValueCount[] = sorted.slice(0, 30).map(([value, count]) => ({ value, count }));
  const rest = sorted.slice(30);
  if (rest.length > 0) {
    top.push({ value: "other", count: rest.reduce((a, b) => a + b[1], 0), others: rest.length });
  }
  return top;
}

function categoricalCharts(reference: string[], current: string[]): ColumnCharts {
  return {
    sparkline: { reference: counted(reference), current: counted(current) },
    distribution: { reference: counted(reference), current: counted(current) },
  };
}

const REFERENCE_ROWS = 1000;
const CURRENT_ROWS = 100;

function numericalColumn(
  name: string,
  seed: number,
  shift: number,
  rowsPerBucket: number,
): ColumnDrift {
  const next = random(seed);
  const scale = 1 + 100 * next();
  const reference = Array.from({ length: REFERENCE_ROWS }, () => scale * normal(next));
  const current = Array.from({ length: CURRENT_ROWS }, () => scale * (normal(next) + shift));
  const distance = Math.abs(shift) * 0.8 + 0.02 * next();
  return {
    column: name,
    type: "num",
    test: "wasserstein",
    score: distance,
    statistic: distance * scale,
    threshold: 0.1,
    drift: distance >= 0.1,
    referenceRows: REFERENCE_ROWS,
    currentRows: CURRENT_ROWS,
    referenceMissing: 0,
    currentMissing: seed % 7 === 0 ? 3 : 0,
    charts: numericalCharts(reference, current, rowsPerBucket),
  };
}

function categoricalColumn(name: string, seed: number, values: number, drifted: boolean) {
  const next = random(seed);
  // "other" is a real value here too, beside the bucket that folds the rarest values.
  const pick = (skew: number) => {
    const index = Math.floor(next() ** skew * values);
    return index === 1 ? "other" : `value ${index}`;
  };
  const reference = Array.from({ length: REFERENCE_ROWS }, () => pick(1));
  const current = Array.from({ length: CURRENT_ROWS }, () => pick(drifted ? 3 : 1));
  const score = drifted ? 0.2 + 0.1 * next() : 0.02 + 0.05 * next();
  const column: ColumnDrift = {
    column: name,
    type: "cat",
    test: "jensen-shannon",
    score,
    threshold: 0.1,
    drift: score >= 0.1,
    referenceRows: REFERENCE_ROWS,
    currentRows: CURRENT_ROWS,
    referenceMissing: 0,
    currentMissing: 0,
    charts: categoricalCharts(reference, current),
  };
  return column;
}

/**
 * 80 columns: 66 numerical (38 drifted), 12 categorical (4 drifted; half with 45 values, 30 kept), one untestable, one
 * excluded. The batch's order is cut into buckets of `rowsPerBucket` rows (1 for 100 rows cut
 * in at most 150 buckets, as Evidently does; more rows per bucket draw a band of spread).
 */
export function sampleDrift(rowsPerBucket = 1, hostileNames = true): DriftResult {
  const columns: ColumnDrift[] = [];
  for (let i = 0; i < 66; i++) {
    const name =
      hostileNames && i < HOSTILE_NAMES.length
        ? (HOSTILE_NAMES[i] as string)
        : `timbre_mean_${String(i).padStart(2, "0")}`;
    columns.push(
      numericalColumn(name, 1000 + i, i % 2 === 0 || i % 7 === 0 ? 0.6 : 0, rowsPerBucket),
    );
  }
  for (let i = 0; i < 12; i++) {
    columns.push(categoricalColumn(`mode_key_${i}`, 2000 + i, i < 6 ? 4 : 45, i % 3 === 0));
  }
  columns.push({
    column: "artist_familiarity",
    type: "num",
    test: null,
    score: null,
    threshold: 0.1,
    drift: false,
    referenceRows: REFERENCE_ROWS,
    currentRows: 0,
    referenceMissing: 0,
    currentMissing: CURRENT_ROWS,
    untestable: "no finite value in the current data",
    charts: {
      sparkline: {
        reference: histogram([0.1, 0.5, 0.7], evenEdges(0, 1, 10)),
        current: { edges: [], counts: [] },
      },
      distribution: {
        reference: histogram([0.1, 0.5, 0.7], evenEdges(0, 1, 12)),
        current: { edges: [], counts: [] },
      },
    },
  });
  columns.sort((a, b) => (b.score ?? -1) - (a.score ?? -1));
  const tested = columns.filter((c) => c.test !== null);
  const drifted = tested.filter((c) => c.drift).length;
  return {
    dataset: {
      drift: drifted / tested.length >= 0.5,
      share: drifted / tested.length,
      drifted,
      columns: tested.length,
      threshold: 0.5,
    },
    columns,
    excluded: [
      { column: "year", reason: "drifts by construction: the batches are the newest releases" },
    ],
  };
}

export const GENRES = [
  "rock",
  "pop",
  "electronic",
  "hip hop",
  "jazz",
  "<script>alert('genre')</script>",
  "folk",
  "metal",
  "soul",
  "blues",
  "country",
  "reggae",
  "punk",
  "latin",
  "classical",
  "indie",
  "r&b",
  "house",
  "ambient",
  "world",
];

function samplePredictionDrift(): DriftResult {
  const next = random(77);
  const columns: ColumnDrift[] = GENRES.map((genre, i) => {
    const validationRate = 0.05 + 0.3 * next();
    const rate = i < 3 ? validationRate + 0.25 : validationRate + 0.02 * (next() - 0.5);
    const ones = Math.round(rate * CURRENT_ROWS);
    const referenceOnes = Math.round(validationRate * 2000);
    const p = i < 3 ? 0.0005 * next() : 0.2 + 0.7 * next();
    return {
      column: `predicted ${genre}`,
      type: "cat",
      test: "z",
      score: p,
      threshold: 0.05,
      drift: p < 0.05,
      referenceRows: 2000,
      currentRows: CURRENT_ROWS,
      referenceMissing: 0,
      currentMissing: 0,
      charts: {
        sparkline: {
          reference: [
            { value: 0, count: 2000 - referenceOnes },
            { value: 1, count: referenceOnes },
          ],
          current: [
            { value: 0, count: CURRENT_ROWS - ones },
            { value: 1, count: ones },
          ],
        },
        distribution: {
          reference: [
            { value: 0, count: 2000 - referenceOnes },
            { value: 1, count: referenceOnes },
          ],
          current: [
            { value: 0, count: CURRENT_ROWS - ones },
            { value: 1, count: ones },
          ],
        },
      },
    };
  });
  const perTrack = [
    { value: 1, count: 300 },
    { value: 2, count: 900 },
    { value: 3, count: 600 },
    { value: 4, count: 200 },
  ];
  const perTrackToday = [
    { value: 2, count: 20 },
    { value: 3, count: 50 },
    { value: 4, count: 25 },
    { value: 5, count: 5 },
  ];
  columns.push({
    column: "genres per track",
    type: "num",
    test: "chi-square",
    score: 0,
    statistic: Number.POSITIVE_INFINITY,
    threshold: 0.05,
    drift: true,
    referenceRows: 2000,
    currentRows: CURRENT_ROWS,
    referenceMissing: 0,
    currentMissing: 0,
    charts: {
      sparkline: { reference: perTrack, current: perTrackToday },
      distribution: { reference: perTrack, current: perTrackToday },
    },
  });
  columns.sort((a, b) => (a.score ?? 2) - (b.score ?? 2));
  const drifted = columns.filter((c) => c.drift).length;
  return {
    dataset: {
      drift: drifted / columns.length >= 0.5,
      share: drifted / columns.length,
      drifted,
      columns: columns.length,
      threshold: 0.5,
    },
    columns,
    excluded: [],
  };
}

function sampleGenreQuality(): GenreQuality[] {
  const next = random(99);
  return GENRES.map((genre) => {
    const precision = 0.2 + 0.6 * next();
    const recall = 0.2 + 0.6 * next();
    return {
      genre,
      precision,
      recall,
      f1: (2 * precision * recall) / (precision + recall),
      support: Math.floor(40 * next()),
      validationF1: 0.3 + 0.4 * next(),
    };
  });
}

/** The sample day; `hostileNames` false gives plain column names, for pictures. */
export function sampleReport(rowsPerBucket = 1, hostileNames = true): MonitoringReport {
  const drift = sampleDrift(rowsPerBucket, hostileNames);
  return {
    title: "Genre monitoring",
    createdAt: "2026-03-03T06:00:12.000Z",
    day: 3,
    model: { name: "genre-classifier", version: "4", runId: "8f1c2d3e4b5a" },
    reference: { rows: REFERENCE_ROWS, source: "champion training table (version 4)" },
    current: { rows: CURRENT_ROWS, source: "daily/day=0003/tracks.parquet" },
    drift,
    predictionDrift: samplePredictionDrift(),
    quality: {
      tracks: CURRENT_ROWS,
      current: { jaccardSamples: 0.318, hammingLoss: 0.061, f1Micro: 0.402, f1Macro: 0.277 },
      validation: { jaccardSamples: 0.376, hammingLoss: 0.052, f1Micro: 0.455, f1Macro: 0.301 },
      baseline: { jaccardSamples: 0.214, hammingLoss: 0.089, f1Micro: 0.281, f1Macro: 0.061 },
      genres: sampleGenreQuality(),
    },
    retrain: {
      retrain: true,
      reasons: [
        `dataset drift: share ${drift.dataset.share.toFixed(3)} ≥ ${drift.dataset.threshold}`,
        "Jaccard 0.318 < floor 0.338 (0.9 × validation 0.376)",
      ],
    },
  };
}

/** Eight days: drift on day 3 with a retrain, labels known from day 2 on. */
export function sampleDays(): MonitoringDay[] {
  return Array.from({ length: 8 }, (_, i) => {
    const day = i + 1;
    const drift = day === 3 || day === 4;
    return {
      day,
      href: `day=${String(day).padStart(4, "0")}/report.html`,
      createdAt: `2026-03-0${day}T06:00:00.000Z`,
      driftShare: drift ? 0.55 + 0.05 * (day - 3) : 0.05 + 0.03 * (day % 4),
      driftedColumns: drift ? 43 + day : 4 + (day % 4) * 2,
      columns: 78,
      drift,
      ...(day >= 2 ? { jaccard: day === 3 ? 0.318 : 0.37 + 0.004 * day } : {}),
      modelVersion: day >= 4 ? "5" : "4",
      retrained: day === 3,
    };
  });
}
