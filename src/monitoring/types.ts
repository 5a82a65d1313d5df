// The shapes monitoring produces: one column's drift test and the charts the report draws for
// it, the dataset's drift, a day's quality against its labels, and a day's whole report. The
// drift engine fills them, the report renders them, the JSON report is them.

export type ColumnType = "num" | "cat";

export type DriftTestName = "ks" | "chi-square" | "z" | "wasserstein" | "jensen-shannon";

/** A value's count on one side, for a categorical column or a numerical one with few values. */
export interface ValueCount {
  value: string | number;
  count: number;
  /** Set on the one bucket of a chart that folds the values past its top 30: how many it holds. */
  others?: number;
}

/** Counts of finite values in bins; `edges` has one more entry than `counts`. */
export interface Histogram {
  edges: number[];
  counts: number[];
}

/** What the report draws for one column; every array is small (≤ 150 entries). */
export interface ColumnCharts {
  /** The sparklines of the summary table: 10-bin histograms (num) or value counts (cat). */
  sparkline: {
    reference: Histogram | ValueCount[];
    current: Histogram | ValueCount[];
  };
  /** The two distributions overlaid: shared "doane" bins (num) or the union of values (cat). */
  distribution: {
    reference: Histogram | ValueCount[];
    current: Histogram | ValueCount[];
  };
  /** Numerical columns: the current values' mean ± std over the rows' order, in buckets. */
  order?: {
    buckets: { start: number; end: number; mean: number; std: number }[];
    referenceMean: number;
    referenceStd: number;
  };
}

export interface ColumnDrift {
  column: string;
  type: ColumnType;
  /** null when the column cannot be tested (e.g. no finite value on one side). */
  test: DriftTestName | null;
  /** The p-value (ks, chi-square, z) or the distance (wasserstein, jensen-shannon). */
  score: number | null;
  /** The test's statistic (D, chi², z, W1 before norming, JS), when it has one. */
  statistic?: number;
  threshold: number;
  drift: boolean;
  /** Rows with a value (NaN and ±inf dropped), as Evidently counts them. */
  referenceRows: number;
  currentRows: number;
  /** Rows without a value on each side (the separate "missing values" check). */
  referenceMissing: number;
  currentMissing: number;
  /** Why the column was not tested, when `test` is null. */
  untestable?: string;
  charts?: ColumnCharts;
}

export interface DatasetDrift {
  drift: boolean;
  /** drifted / columns, 0 when no column was tested. */
  share: number;
  drifted: number;
  /** Columns tested. */
  columns: number;
  /** The share at or above which the dataset drifts (Evidently's drift_share, 0.5). */
  threshold: number;
}

export interface ExcludedColumn {
  column: string;
  reason: string;
}

export interface DriftResult {
  dataset: DatasetDrift;
  /** Sorted by drift score as Evidently's table: most drifted first. */
  columns: ColumnDrift[];
  excluded: ExcludedColumn[];
}

export interface QualityScores {
  jaccardSamples: number;
  hammingLoss: number;
  f1Micro: number;
  f1Macro: number;
}

export interface GenreQuality {
  genre: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
  /** The champion's figures for this genre on its validation table, when known. */
  validationF1?: number;
}

/** A day whose labels have arrived, scored against the champion's validation and the baseline. */
export interface DayQuality {
  tracks: number;
  current: QualityScores;
  validation?: QualityScores;
  baseline?: QualityScores;
  genres: GenreQuality[];
}

/** What a day's monitoring decided about retraining, and why. */
export interface RetrainDecision {
  retrain: boolean;
  /** One line per rule with its numbers, e.g. "dataset drift: share 0.62 ≥ 0.5". */
  reasons: string[];
  /** What the retrain did, once it ran: e.g. "registered version 2 (champion)". */
  outcome?: string;
}

export interface MonitoringReport {
  title: string;
  /** ISO time the report was made. */
  createdAt: string;
  day?: number;
  model?: { name: string; version: string; runId?: string };
  reference: { rows: number; source: string };
  current: { rows: number; source: string };
  drift: DriftResult;
  /** Each genre's predicted rate and the genres per track, against the validation predictions. */
  predictionDrift?: DriftResult;
  quality?: DayQuality;
  retrain?: RetrainDecision;
}

/** One day's line in the monitoring index. */
export interface MonitoringDay {
  day: number;
  /** Path of the day's report relative to the index page. */
  href: string;
  createdAt: string;
  driftShare: number;
  driftedColumns: number;
  columns: number;
  drift: boolean;
  jaccard?: number;
  modelVersion?: string;
  retrained: boolean;
}
