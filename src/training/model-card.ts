// The model card: a markdown page beside a fitted model saying what it is (kind, genres,
// features, settings), what it was fitted and judged on, its validation metrics beside the
// baselines, per genre and for calibration, what it is for and where it falls short, and how it
// was made. `modelCard` only renders; `modelCardScores` computes the validation figures the
// summary does not carry; `writeModelCard` writes DIR/model-card.md through a temporary file.
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FeatureTable } from "../features/feature-table.ts";
import { type Calibration, calibration } from "../ml/calibration.ts";
import type { GenreModel } from "../ml/model.ts";
import type { FitSummary, PreprocessingSettings } from "./fit.ts";
import {
  featureMatrix,
  type LabelMetrics,
  labelMetrics,
  type Metrics,
  tableLabels,
  type UnseenGenres,
} from "./tables.ts";

export const MODEL_CARD_FILE = "model-card.md";

/** How many validation artists also have tracks in the training table. */
export interface ArtistOverlap {
  column: string;
  validArtists: number;
  alsoInTraining: number;
}

export interface ModelCardContext {
  /** Validation scores per genre in the model's label order (`evaluateTable`'s perGenre). */
  perGenre?: readonly LabelMetrics[];
  /** The validation rows' calibration, when the summary does not carry one. */
  calibration?: Calibration | null;
  preprocessing?: PreprocessingSettings;
  artists?: ArtistOverlap | null;
  /** How the validation table was set apart from the training one, in a sentence or two. */
  validationSplit?: string;
  made: {
    /** The command or flow that fitted the model, as a user would type it. */
    command: string;
    /** ISO time of the fit. */
    createdAt: string;
    /** genre-classifier's version (package.json, with the git commit when known). */
    version: string;
  };
}

/** Inline code for a name (genre, feature) in prose: on one line, fenced with more backticks than it holds. */
function code(name: string): string {
  const flat = name.replace(/\p{Cc}+/gu, " ");
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const pad = flat.startsWith("`") || flat.endsWith("`") || flat.trim() === "" ? " " : "";
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/**
 * Plain text in prose or a table cell: on one line, its markdown punctuation escaped (a table
 * cell takes no code span, since GitHub's tables split on a `|` after an escaped backslash).
 */
function text(value: string): string {
  return value.replace(/\p{Cc}+/gu, " ").replace(/[\\`*_[\]<>|&#~]/g, "\\$&");
}

function fixed(value: number | null | undefined, digits = 4): string {
  return value === null || value === undefined || !Number.isFinite(value)
    ? "–"
    : value.toFixed(digits);
}

function count(value: number): string {
  return value.toLocaleString("en-US");
}

function percent(part: number, whole: number): string {
  return whole === 0 ? "–" : `${((100 * part) / whole).toFixed(1)}%`;
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}

function codeBlock(content: string): string {
  const longest = Math.max(0, ...(content.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}\n${content}\n${fence}`;
}

/** A word as a POSIX shell reads it back, for the command a card shows. */
export function shellWord(word: string): string {
  return /^[\w.,/:=@%+-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

function describeSetting(value: unknown): string {
  if (value === null || value === undefined) return "none";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "–";
  if (typeof value === "string" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const METRIC_NAMES: Record<string, string> = {
  jaccard: "the samples-averaged Jaccard index",
  "f1-micro": "micro-F1",
  "f1-macro": "macro-F1",
};

/** Fields a summary may carry beyond the ones every fit has had. */
type DecisionSummary = FitSummary["decision"] & {
  rule?: string;
  shrinkage?: number;
  tunedOn?: string;
  tuningRows?: number;
};
type SummaryWithExtras = FitSummary & {
  calibration?: Calibration | null;
  perGenre?: readonly LabelMetrics[];
  preprocessing?: PreprocessingSettings;
};

/** The rows the thresholds were tuned on, in words, and whether the validation rows were among them. */
function tunedOn(summary: FitSummary): { rows: string; validation: boolean } {
  const decision = summary.decision as DecisionSummary;
  const n = decision.tuningRows === undefined ? "" : ` (${count(decision.tuningRows)} rows)`;
  if (decision.tunedOn === "validation+out-of-bag") {
    return {
      rows: `the validation rows and the training rows' out-of-bag predictions${n}`,
      validation: true,
    };
  }
  if (decision.tunedOn === undefined || decision.tunedOn === "validation") {
    return { rows: `the validation rows${n}`, validation: true };
  }
  return { rows: `${text(decision.tunedOn)}${n}`, validation: false };
}

/** The forest settings a search tried, when there was one. */
function tuningTable(summary: FitSummary): string | undefined {
  const trials = (summary as { tuning?: unknown }).tuning as
    | readonly Record<string, unknown>[]
    | undefined;
  const first = trials?.[0];
  if (trials === undefined || first === undefined) return undefined;
  const keys = Object.keys(first);
  const forest = (summary.forest ?? {}) as Record<string, unknown>;
  const chosen = (trial: Record<string, unknown>) =>
    summary.forest !== null &&
    keys.every((key) => key === "score" || !(key in forest) || forest[key] === trial[key]);
  return table(
    [...keys.map(text), "chosen"],
    trials.map((trial) => [
      ...keys.map((key) => {
        const value = trial[key];
        return typeof value === "number" && key === "score"
          ? fixed(value)
          : text(describeSetting(value));
      }),
      chosen(trial) ? "yes" : "",
    ]),
  );
}

/** Whether per-genre thresholds decide (rather than the expected-Jaccard rule or a constant). */
function usesThresholds(summary: FitSummary): boolean {
  const decision = summary.decision as DecisionSummary;
  return summary.kind === "forest" && (decision.rule ?? "thresholds") === "thresholds";
}

function modelSection(
  summary: FitSummary,
  genres: readonly string[],
  context: ModelCardContext,
): string {
  const decision = summary.decision as DecisionSummary;
  const lines: string[] = ["## Model", ""];
  lines.push(
    summary.kind === "forest"
      ? `A multi-label random forest: it gives each track a probability for each of ${summary.labels} genres, and a decision rule turns the probabilities into the track's genres.`
      : `The most-frequent baseline: every track gets the same genres, the most frequent of the training table; its probabilities are each genre's training frequency.`,
    "",
    `- **Kind**: ${text(summary.kind)}`,
    `- **Genres** (${summary.labels}, the most frequent in the training table, most frequent first): ${genres.map((g) => code(g)).join(", ")}`,
    `- **Features** (${summary.features.length}): ${summary.features.map((f) => code(f)).join(", ")}`,
  );
  const preprocessing = context.preprocessing ?? (summary as SummaryWithExtras).preprocessing;
  if (summary.kind === "forest" && preprocessing !== undefined) {
    const rules: string[] = [];
    if (summary.features.includes("year")) rules.push("`year` 0 counts as missing");
    if (summary.features.includes("tempo")) {
      rules.push(
        `\`tempo\` folded into [${preprocessing.tempoMin}, ${preprocessing.tempoMax}] bpm (below half the minimum or above twice the maximum missing, below the minimum doubled, above the maximum halved)`,
      );
    }
    const imputer =
      preprocessing.imputer === "knn"
        ? `missing values filled by k-nearest-neighbour imputation (${preprocessing.neighbors} neighbours, distance-weighted, among at most ${count(preprocessing.maxReference)} training rows)`
        : "missing values filled by each column's training median";
    lines.push(
      `- **Preprocessing**, fitted on the training rows: ${[...rules, "min-max scaling to [0, 1] (new values clipped)", imputer].join("; ")}.`,
    );
  }
  if (summary.forest !== null) {
    lines.push(
      "- **Forest settings**:",
      "",
      table(
        ["setting", "value"],
        Object.entries(summary.forest)
          .filter(([key]) => key !== "workers")
          .map(([key, value]) => [text(key), text(describeSetting(value))]),
      ),
      "",
    );
  }
  const tried = tuningTable(summary);
  if (tried !== undefined) {
    lines.push(
      "- **Settings search**: each setting grown on the training rows, its thresholds tuned, scored on the validation rows; the best kept:",
      "",
      tried,
      "",
    );
  }
  if (summary.kind === "forest") {
    const thresholds = Object.values(summary.decision.thresholds);
    const rule = decision.rule ?? "thresholds";
    const parts: string[] = [];
    if (rule === "thresholds") {
      parts.push(
        `one probability threshold per genre, tuned on ${tunedOn(summary).rows} to maximize ${text(METRIC_NAMES[decision.metric ?? ""] ?? decision.metric ?? "–")}`,
      );
      if (decision.shrinkage !== undefined && decision.shrinkage > 0) {
        parts.push(
          `each genre's threshold shrunk toward the best common one with weight ${decision.shrinkage} (in positives)`,
        );
      }
      if (thresholds.length > 0) {
        parts.push(
          `thresholds from ${fixed(Math.min(...thresholds), 3)} to ${fixed(Math.max(...thresholds), 3)}, median ${fixed(median(thresholds), 3)} (per genre below)`,
        );
      }
      parts.push(
        decision.atLeastOne
          ? "a track with no genre above its threshold gets its most probable genre"
          : "a track may get no genre",
      );
    } else if (rule === "expected-jaccard") {
      parts.push(
        "each track gets its most probable genres, as many as maximize the Jaccard index expected from its probabilities (at least one); no thresholds",
      );
    } else {
      parts.push(`rule ${text(rule)}`);
    }
    lines.push(`- **Decision**: ${parts.join("; ")}.`);
  } else {
    lines.push("- **Decision**: the most frequent training genres for every track.");
  }
  return lines.join("\n");
}

function dataSection(summary: FitSummary): string {
  const row = (name: string, t: FitSummary["train"]) => [
    name,
    text(t.table),
    count(t.rows),
    count(t.used),
    count(t.droppedWithoutTopGenre),
  ];
  return [
    "## Data",
    "",
    table(
      ["table", "file", "rows", "rows used", "rows without a kept genre (left out)"],
      [row("training", summary.train), row("validation", summary.valid)],
    ),
    "",
    `Only tracks with at least one of the ${summary.labels} kept genres are used: the model is fitted on ${count(summary.train.used)} training tracks and judged on ${count(summary.valid.used)} validation tracks.`,
  ].join("\n");
}

function metricsSection(summary: FitSummary): string {
  const rows = Object.entries(summary.validation).map(([name, m]: [string, Metrics]) => [
    name === "model" ? "**model**" : text(name),
    fixed(m.jaccardSamples),
    fixed(m.hammingLoss),
    fixed(m.f1Micro),
    fixed(m.f1Macro),
  ]);
  return [
    "## Validation metrics",
    "",
    `On the ${count(summary.valid.used)} validation tracks, beside the baselines (higher is better, except Hamming loss):`,
    "",
    table(["model", "samples Jaccard", "Hamming loss", "micro-F1", "macro-F1"], rows),
  ].join("\n");
}

function perGenreSection(
  summary: FitSummary,
  genres: readonly string[],
  perGenre: readonly LabelMetrics[] | undefined,
  cal: Calibration | null,
): string {
  const thresholds = usesThresholds(summary);
  const rows = genres.map((genre, k) => {
    const m = perGenre?.[k];
    const c = cal?.genres[k];
    return [
      text(genre),
      m === undefined ? "–" : count(m.support),
      fixed(m?.precision),
      fixed(m?.recall),
      fixed(m?.f1),
      thresholds ? fixed(summary.decision.thresholds[genre], 3) : "–",
      fixed(c?.brier),
      fixed(c?.brierBaseline),
    ];
  });
  return [
    "## Per genre",
    "",
    "On the validation tracks; support is the tracks having the genre, and the Brier score that of its probability (beside a constant prediction of its training frequency; lower is better).",
    "",
    table(
      [
        "genre",
        "support",
        "precision",
        "recall",
        "F1",
        "threshold",
        "Brier",
        "Brier, training frequency",
      ],
      rows,
    ),
  ].join("\n");
}

/** The reliability bin with the largest gap among those holding at least 1% of the pairs. */
function largestGap(cal: Calibration): Calibration["bins"][number] | undefined {
  const total = cal.bins.reduce((sum, b) => sum + b.pairs, 0);
  let best: Calibration["bins"][number] | undefined;
  for (const bin of cal.bins) {
    if (bin.pairs === 0 || bin.pairs < 0.01 * total) continue;
    const gap = Math.abs(bin.meanProbability - bin.observed);
    if (best === undefined || gap > Math.abs(best.meanProbability - best.observed)) best = bin;
  }
  return best;
}

function calibrationSection(cal: Calibration | null): string {
  const lines = ["## Calibration", ""];
  if (cal === null) {
    lines.push(
      "Not checked: this model's probabilities are the genres' training frequencies, the same for every track.",
    );
    return lines.join("\n");
  }
  const pairs = cal.bins.reduce((sum, b) => sum + b.pairs, 0);
  lines.push(
    `Whether a probability p means that about p of the tracks given it have the genre, over the ${count(pairs)} (track, genre) pairs of the validation tracks:`,
    "",
    `- **Brier score** ${fixed(cal.brier)}, against ${fixed(cal.brierBaseline)} for a constant prediction of each genre's training frequency (lower is better).`,
    `- **Expected calibration error** ${fixed(cal.ece)} over ${cal.bins.length} equal-width bins: on average a probability is ${fixed(100 * cal.ece, 1)} points away from the share of pairs in its bin that have the genre.`,
  );
  const gap = largestGap(cal);
  if (gap !== undefined && gap.meanProbability !== gap.observed) {
    const over = gap.meanProbability > gap.observed;
    lines.push(
      `- The largest gap is in (${fixed(gap.from, 2)}, ${fixed(gap.to, 2)}]: a mean probability of ${fixed(gap.meanProbability, 3)} for an observed rate of ${fixed(gap.observed, 3)}, so probabilities there are ${over ? "over-confident (read them lower)" : "under-confident (read them higher)"}.`,
    );
  }
  lines.push(
    "",
    "Reliability table (a bin holds the probabilities above its lower edge up to its upper edge; the first also 0):",
    "",
    table(
      ["probability", "pairs", "share", "mean probability", "observed rate"],
      cal.bins.map((b) => [
        `${fixed(b.from, 2)}–${fixed(b.to, 2)}`,
        count(b.pairs),
        percent(b.pairs, pairs),
        fixed(b.meanProbability, 3),
        fixed(b.observed, 3),
      ]),
    ),
  );
  return lines.join("\n");
}

function useSection(summary: FitSummary, context: ModelCardContext): string {
  const lines = [
    "## Intended use and limits",
    "",
    `- **Use**: suggesting genres for music tracks described by the features above, among the ${summary.labels} genres listed; the model never predicts another genre.`,
    "- **Genres are per artist**: they come from the Echo Nest's artist terms, so every track of an artist carries the same genres, and the model guesses an artist's genres from one track's fields. A track that departs from its artist's usual style is judged against the artist's genres.",
  ];
  const artists = context.artists;
  let judged: string;
  if (artists === undefined || artists === null) {
    judged =
      "The tables have no artist column, so whether the validation artists were unseen in training cannot be told here; figures on artists the model saw in training overstate how it does on new artists.";
  } else if (artists.alsoInTraining === 0) {
    judged = `None of the ${count(artists.validArtists)} validation artists (column ${code(artists.column)}) has a track in the training table, so the figures above are for artists the model never saw, as new releases by new artists will be.`;
  } else {
    judged = `${count(artists.alsoInTraining)} of the ${count(artists.validArtists)} validation artists (${percent(artists.alsoInTraining, artists.validArtists)}, column ${code(artists.column)}) also have tracks in the training table, so the figures above overstate how the model does on new artists.`;
  }
  lines.push(
    `- **Judged on unseen artists?** ${context.validationSplit === undefined ? "" : `${text(context.validationSplit)} `}${judged}`,
  );
  if (usesThresholds(summary)) {
    const tuned = tunedOn(summary);
    lines.push(
      `- **Thresholds**: tuned on ${tuned.rows}${tuned.validation ? ", which include the rows the metrics above are computed on, so the model's row is somewhat optimistic; `model evaluate` on a table set apart (the split's test days) gives unbiased figures" : ""}. A genre can be predicted with a probability below 0.5, or not predicted above it: the probabilities and the genres are two readings of the model.`,
    );
  }
  if (
    summary.kind === "forest" &&
    (summary.decision as DecisionSummary).rule === "expected-jaccard"
  ) {
    lines.push(
      "- **Genres from probabilities alone**: how many genres a track gets follows from its probabilities, so it is only as good as their calibration (see Calibration above).",
    );
  }
  if (summary.kind === "forest") {
    lines.push(
      "- **Probabilities**: the p(genre) columns of prediction files and the UI are the trees' averaged leaf frequencies; the calibration section says how far they are from observed rates. Missing feature values are filled in and values outside the training range are clipped, so a track far from the training data still gets confident-looking probabilities.",
    );
  }
  return lines.join("\n");
}

function madeSection(summary: FitSummary, context: ModelCardContext): string {
  const s = summary.seconds;
  return [
    "## How it was made",
    "",
    codeBlock(context.made.command.replace(/\r\n?/g, "\n")),
    "",
    `- **Seed**: ${summary.forest === null ? "– (nothing random)" : summary.forest.seed}`,
    `- **Fitted**: ${text(context.made.createdAt)}, in ${fixed(s.total, 2)} s (preprocessing ${fixed(s.preprocess, 2)} s, forest ${fixed(s.forest, 2)} s, decision ${fixed(s.tune, 2)} s)`,
    `- **genre-classifier** ${text(context.made.version)}`,
  ].join("\n");
}

/** The model card of a fit, as markdown. */
export function modelCard(summary: FitSummary, context: ModelCardContext): string {
  const extras = summary as SummaryWithExtras;
  const cal = extras.calibration ?? context.calibration ?? null;
  const perGenre = extras.perGenre ?? context.perGenre;
  const genres = perGenre?.map((g) => g.genre) ?? Object.keys(summary.decision.thresholds);
  const kind = summary.kind === "forest" ? "random forest" : "most-frequent baseline";
  return `${[
    "# Model card: genre-classifier genre model",
    `A ${kind} tagging tracks with up to ${summary.labels} genres from ${summary.features.length} features, fitted on ${count(summary.train.used)} tracks (${text(context.made.createdAt)}).`,
    modelSection(summary, genres, context),
    dataSection(summary),
    metricsSection(summary),
    perGenreSection(summary, genres, perGenre, cal),
    calibrationSection(cal),
    useSection(summary, context),
    madeSection(summary, context),
  ].join("\n\n")}\n`;
}

/** Distinct validation artists, and how many of them have tracks in the training table. */
export function artistOverlap(
  train: FeatureTable,
  valid: FeatureTable,
  column = "artist_id",
): ArtistOverlap | null {
  const readable = (t: FeatureTable) => t.kind(column) === "text" || t.kind(column) === "number";
  if (!readable(train) || !readable(valid)) return null;
  const seen = new Set(train.text(column).filter((a) => a !== ""));
  const validArtists = new Set(valid.text(column).filter((a) => a !== ""));
  let alsoInTraining = 0;
  for (const artist of validArtists) if (seen.has(artist)) alsoInTraining++;
  return { column, validArtists: validArtists.size, alsoInTraining };
}

/**
 * The validation figures a card shows that a fit summary may lack: per-genre scores and, for a
 * forest, the calibration of its probabilities against each genre's frequency among the training
 * rows used. Scored with the model as saved, on the rows with one of its genres.
 */
export async function modelCardScores(
  model: GenreModel,
  summary: FitSummary,
  valid: FeatureTable,
  options: { unseenGenres?: UnseenGenres; workers?: number } = {},
): Promise<{ perGenre: LabelMetrics[]; calibration: Calibration | null }> {
  const labels = tableLabels(
    valid,
    model.binarizer,
    options.unseenGenres ?? "error",
    "the model's training table",
  );
  const x = featureMatrix(valid, model.features, labels.kept);
  const p = await model.predictProbaParallel(x, options.workers);
  const perGenre = labelMetrics(labels.y, model.decide(p), p, model.labels);
  if (model.kind !== "forest") return { perGenre, calibration: null };
  const used = summary.train.used;
  const priors = Float64Array.from(model.binarizer.state.counts, (c) => c / used);
  return { perGenre, calibration: calibration(labels.y, p, priors) };
}

function isPreprocessingSettings(value: unknown): value is PreprocessingSettings {
  const v = value as Partial<PreprocessingSettings> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    (v.imputer === "knn" || v.imputer === "median") &&
    [v.neighbors, v.maxReference, v.tempoMin, v.tempoMax].every((n) => typeof n === "number")
  );
}

/**
 * Scores a fitted model's card on its validation table and writes it to DIR/model-card.md;
 * returns the file's path. The fit's time and preprocessing settings come from the model's
 * metadata.
 */
export async function saveModelCard(
  dir: string,
  fit: { model: GenreModel; summary: FitSummary },
  tables: { train: FeatureTable; valid: FeatureTable },
  about: {
    command: string;
    version: string;
    validationSplit?: string;
    unseenGenres?: UnseenGenres;
    workers?: number;
  },
): Promise<string> {
  const { model, summary } = fit;
  const metadata = model.parts.metadata;
  const createdAt =
    typeof metadata.createdAt === "string" ? metadata.createdAt : new Date().toISOString();
  const carried = summary as SummaryWithExtras;
  const scored =
    carried.calibration !== undefined && carried.perGenre !== undefined
      ? {}
      : await modelCardScores(model, summary, tables.valid, about);
  const card = modelCard(summary, {
    ...scored,
    ...(isPreprocessingSettings(metadata.preprocessing)
      ? { preprocessing: metadata.preprocessing }
      : {}),
    artists: artistOverlap(tables.train, tables.valid),
    ...(about.validationSplit === undefined ? {} : { validationSplit: about.validationSplit }),
    made: { command: about.command, createdAt, version: about.version },
  });
  return writeModelCard(dir, card);
}

/** Writes the card to DIR/model-card.md through a temporary file and returns its path. */
export async function writeModelCard(dir: string, card: string): Promise<string> {
  const path = join(dir, MODEL_CARD_FILE);
  const partial = `${path}.${process.pid}.partial`;
  await writeFile(partial, card);
  await rename(partial, path);
  return path;
}
