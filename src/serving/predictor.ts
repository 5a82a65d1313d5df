// One loaded genre model ready for online requests: what it knows precomputed once (feature
// positions, labels, thresholds), request tracks checked into a feature matrix with every
// fault named by its field, and genres with probabilities per track, with the features that
// were imputed as training imputes them. One track is predicted on the request's own thread;
// a batch may impute on worker threads when it is large enough to be worth them.
import type { Row } from "../features/table.ts";
import { KnnImputer } from "../ml/knn-imputer.ts";
import type { Matrix } from "../ml/matrix.ts";
import type { GenreModel } from "../ml/model.ts";
import type { FeatureMatrix, FittedStep } from "../ml/preprocessing.ts";
import { PredictInputError } from "./errors.ts";

/** The field a request may give beside the features: a name to find the track by. */
export const TRACK_ID_FIELD = "track_id";
const MAX_TRACK_ID_LENGTH = 256;

/** Tracks of one request as the model's raw feature rows (NaN: missing). */
export interface FeatureRows {
  /** Row-major, `rows` × the model's features. */
  values: Float64Array;
  rows: number;
  trackIds: (string | undefined)[];
}

export interface TrackPrediction {
  track_id?: string;
  /** Genres predicted, most probable first. */
  genres: string[];
  /** Every genre the model knows with its probability, most probable first. */
  probabilities: Record<string, number>;
  /**
   * Features the request left out, or whose value training treats as unknown (year 0, a tempo
   * beyond the folding range), filled in as training fills them.
   */
  imputed: string[];
}

const IMPUTER_KINDS = new Set(["knn", "median"]);

export class ModelPredictor {
  readonly features: readonly string[];
  readonly labels: readonly string[];
  private readonly position = new Map<string, number>();
  /** The preprocessing steps before the imputer (outlier rules, scaling), then the imputer. */
  private readonly rules: readonly FittedStep[];
  private readonly imputer: FittedStep | undefined;

  constructor(readonly model: GenreModel) {
    this.features = [...model.features];
    this.labels = [...model.labels];
    for (const [i, name] of this.features.entries()) this.position.set(name, i);
    const steps = model.parts.preprocessor?.steps ?? [];
    const at = steps.findIndex((step) => IMPUTER_KINDS.has(step.kind));
    this.rules = at < 0 ? steps : steps.slice(0, at);
    this.imputer = at < 0 ? undefined : steps[at];
    if (at >= 0 && at !== steps.length - 1)
      throw new Error(`model preprocessing: the ${steps[at]?.kind} imputer is not the last step`);
  }

  get width(): number {
    return this.features.length;
  }

  /** `{"tracks": [{feature: number | null, …, "track_id"?: string}, …]}` as feature rows. */
  parseJson(body: unknown, maxBatch: number): FeatureRows {
    if (typeof body !== "object" || body === null || Array.isArray(body))
      throw new PredictInputError(
        "body",
        'body: expected a JSON object {"tracks": [{feature: value, …}, …]}',
      );
    for (const key of Object.keys(body))
      if (key !== "tracks")
        throw new PredictInputError(
          key,
          `${key}: unknown field (the body holds only "tracks": [{feature: value, …}, …])`,
        );
    const tracks = (body as { tracks?: unknown }).tracks;
    if (!Array.isArray(tracks))
      throw new PredictInputError(
        "tracks",
        `tracks: expected an array of tracks, got ${describe(tracks)}`,
      );
    this.checkCount(tracks.length, maxBatch, "tracks");
    const d = this.width;
    const values = new Float64Array(tracks.length * d).fill(Number.NaN);
    const trackIds: (string | undefined)[] = new Array(tracks.length);
    for (let i = 0; i < tracks.length; i++) {
      const track = tracks[i];
      const at = `tracks[${i}]`;
      if (typeof track !== "object" || track === null || Array.isArray(track))
        throw new PredictInputError(
          at,
          `${at}: expected an object of feature values, got ${describe(track)}`,
        );
      for (const [name, value] of Object.entries(track)) {
        const field = `${at}.${name}`;
        if (name === TRACK_ID_FIELD) {
          trackIds[i] = trackId(value, field);
          continue;
        }
        const column = this.position.get(name);
        if (column === undefined) throw this.unknownFeature(field, name);
        if (value === null) continue;
        if (typeof value !== "number" || !Number.isFinite(value))
          throw new PredictInputError(
            field,
            `${field}: expected a number, got ${describe(value)}${typeof value === "number" ? " (not a finite number)" : ""}`,
          );
        values[i * d + column] = value;
      }
    }
    return { values, rows: tracks.length, trackIds };
  }

  /**
   * One track from a form's text fields (feature name → text; empty: imputed). `prefix` names
   * the fields in messages.
   */
  parseForm(fields: Record<string, string>, prefix = ""): FeatureRows {
    const values = new Float64Array(this.width).fill(Number.NaN);
    let trackIdValue: string | undefined;
    for (const [name, raw] of Object.entries(fields)) {
      const field = `${prefix}${name}`;
      const text = raw.trim();
      if (name === TRACK_ID_FIELD) {
        trackIdValue = text === "" ? undefined : trackId(text, field);
        continue;
      }
      const column = this.position.get(name);
      if (column === undefined) throw this.unknownFeature(field, name);
      if (text === "") continue;
      const value = Number(text);
      if (!Number.isFinite(value))
        throw new PredictInputError(
          field,
          `${field}: expected a number, got ${JSON.stringify(clip(raw))}`,
        );
      values[column] = value;
    }
    return { values, rows: 1, trackIds: [trackIdValue] };
  }

  /** Feature rows from rows of the feature table (as preprocess extracts them from track files). */
  fromFeatureRows(rows: readonly Row[]): FeatureRows {
    const d = this.width;
    const values = new Float64Array(rows.length * d).fill(Number.NaN);
    rows.forEach((row, i) => {
      this.features.forEach((name, f) => {
        const value = row[name];
        if (typeof value === "number") values[i * d + f] = value;
      });
    });
    return {
      values,
      rows: rows.length,
      trackIds: rows.map((row) =>
        typeof row[TRACK_ID_FIELD] === "string" ? row[TRACK_ID_FIELD] : undefined,
      ),
    };
  }

  /** Refuses more than `maxBatch` tracks, naming `field`. */
  checkCount(count: number, maxBatch: number, field: string): void {
    if (count === 0) throw new PredictInputError(field, `${field}: no tracks to predict`);
    if (count > maxBatch)
      throw new PredictInputError(
        field,
        `${field}: ${count} tracks, more than the ${maxBatch} one request may hold (server.predict.maxBatch)`,
      );
  }

  /** Genres and probabilities of each row; `input.values` is transformed in place. */
  async predict(input: FeatureRows): Promise<TrackPrediction[]> {
    const x: FeatureMatrix = { data: input.values, rows: input.rows, cols: this.width };
    const imputed = this.prepare(x);
    if (this.imputer instanceof KnnImputer && x.rows > 1)
      await this.imputer.transformInPlaceParallel(x);
    else this.imputer?.transformInPlace(x);
    return this.answer(x, input.trackIds, imputed);
  }

  /** As predict, on this thread whatever the size (the fast path of one track). */
  predictNow(input: FeatureRows): TrackPrediction[] {
    const x: FeatureMatrix = { data: input.values, rows: input.rows, cols: this.width };
    const imputed = this.prepare(x);
    this.imputer?.transformInPlace(x);
    return this.answer(x, input.trackIds, imputed);
  }

  /**
   * Predicts a few tracks of nothing but imputed values, so that the first requests find the
   * code compiled and the imputer's buffers made.
   */
  warmUp(rounds = 20): void {
    for (let i = 0; i < rounds; i++)
      this.predictNow({
        values: new Float64Array(this.width).fill(Number.NaN),
        rows: 1,
        trackIds: [undefined],
      });
  }

  /** Applies the rules before the imputer and gives each row's missing features. */
  private prepare(x: FeatureMatrix): string[][] {
    for (const step of this.rules) step.transformInPlace(x);
    const { data, rows, cols } = x;
    const imputed: string[][] = new Array(rows);
    for (let i = 0; i < rows; i++) {
      const names: string[] = [];
      for (let c = 0, j = i * cols; c < cols; c++, j++)
        if (Number.isNaN(data[j])) names.push(this.features[c] as string);
      imputed[i] = names;
    }
    return imputed;
  }

  private answer(
    x: FeatureMatrix,
    trackIds: readonly (string | undefined)[],
    imputed: string[][],
  ): TrackPrediction[] {
    const { model } = this;
    const p: Matrix<Float64Array> =
      model.kind === "forest"
        ? (model.parts.forest as NonNullable<typeof model.parts.forest>).predictProba(x)
        : model.predictProba(x);
    const decided = model.decide(p);
    const L = this.labels.length;
    const order = new Array<number>(L);
    const out: TrackPrediction[] = new Array(x.rows);
    for (let i = 0; i < x.rows; i++) {
      const base = i * L;
      for (let k = 0; k < L; k++) order[k] = k;
      order.sort((a, b) => (p.data[base + b] as number) - (p.data[base + a] as number) || a - b);
      const genres: string[] = [];
      const probabilities: Record<string, number> = {};
      for (const k of order) {
        const label = this.labels[k] as string;
        probabilities[label] = p.data[base + k] as number;
        if (decided.data[base + k] === 1) genres.push(label);
      }
      const id = trackIds[i];
      out[i] =
        id === undefined
          ? { genres, probabilities, imputed: imputed[i] as string[] }
          : { track_id: id, genres, probabilities, imputed: imputed[i] as string[] };
    }
    return out;
  }

  private unknownFeature(field: string, name: string): PredictInputError {
    const near = this.features.find((f) => f.toLowerCase() === name.toLowerCase());
    return new PredictInputError(
      field,
      `${field}: unknown feature ${JSON.stringify(clip(name))}${near ? ` (did you mean "${near}"?)` : ""}; the model knows ${this.width} features (GET /api/v1/predict/model lists them)`,
    );
  }
}

function trackId(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_TRACK_ID_LENGTH)
    throw new PredictInputError(
      field,
      `${field}: expected a text of 1 to ${MAX_TRACK_ID_LENGTH} characters, got ${describe(value)}`,
    );
  return value;
}

function clip(text: string, length = 60): string {
  return text.length > length ? `${text.slice(0, length)}…` : text;
}

/** A request value as a message shows it: short, quoted when text. */
function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (value !== null && typeof value === "object") return "an object";
  if (typeof value === "string") return JSON.stringify(clip(value));
  return String(value);
}
