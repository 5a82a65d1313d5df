// A genre model: feature schema, label list, fitted preprocessing, forest and decision in one
// object that predicts genres from raw feature rows, and its file format.
//
// A model file is one self-describing, versioned artifact:
//   8 bytes  magic "GCMODEL\0"
//   4 bytes  header length H (uint32, little-endian)
//   H bytes  header: UTF-8 JSON (format, version, kind, features, labels, preprocessing,
//            forest header, decision, metadata, and the table of binary arrays)
//   zero padding to a multiple of 8, then the arrays, each at an 8-byte aligned offset
//   32 bytes SHA-256 of every byte before it
// The checksum covers the header as well as the arrays, so a changed threshold is refused like
// a damaged array; the header's shape is checked field by field before anything uses it.
// Version 1 files, whose header had no checksum, are refused (fit the model again). Forest
// leaf probabilities are quantized to round(p·255) (uint8) and stored dense (one byte per leaf
// and label) or sparse (per leaf the number of nonzero labels, then each one's index as uint16
// and its byte), whichever is smaller: deep trees have nearly pure leaves, mostly zeros.
// `quantizeLeaves` applies that rounding to a freshly trained forest, so a model predicts the
// same probabilities before it is saved and after it is loaded.
import { createHash } from "node:crypto";
import { z } from "zod";
import { InputError } from "../common/errors.ts";
import {
  applyDecision,
  DECISION_METRICS,
  DECISION_RULES,
  type Decision,
  type DecisionMetric,
  type DecisionRule,
  mostFrequentPrediction,
} from "./decision.ts";
import {
  deserializeForest,
  type ForestArrays,
  type ForestHeader,
  forestHeader,
  type RandomForest,
  treeOffsets,
} from "./forest.ts";
import { LabelBinarizer, type LabelState } from "./labels.ts";
import type { IndicatorMatrix, Matrix, RealMatrix } from "./matrix.ts";
import { Preprocessor, type PreprocessorState, type StepState } from "./preprocessing.ts";

export const MODEL_FORMAT = "genre-classifier.model";
export const MODEL_FORMAT_VERSION = 2;
const MAGIC = Uint8Array.from([0x47, 0x43, 0x4d, 0x4f, 0x44, 0x45, 0x4c, 0x00]);
const PRELUDE_BYTES = 12;
const CHECKSUM_BYTES = 32;

/** "forest": the random forest with tuned thresholds; "most-frequent": the constant baseline. */
export type ModelKind = "forest" | "most-frequent";

export interface ModelParts {
  kind: ModelKind;
  /** Input columns, in the order the preprocessing and the forest expect them. */
  features: string[];
  labels: LabelBinarizer;
  preprocessor: Preprocessor | null;
  forest: RandomForest | null;
  decision: Decision & { metric: DecisionMetric | null };
  /** Genres the most-frequent kind predicts (the k most frequent). */
  baselineK: number;
  /** Anything the caller wants to keep with the model (training options, data, metrics). */
  metadata: Record<string, unknown>;
}

export class GenreModel {
  constructor(readonly parts: ModelParts) {
    const { kind, features, labels, preprocessor, forest, decision } = parts;
    const L = labels.labels.length;
    if (features.length === 0) throw new InputError("model: no features");
    if (new Set(features).size !== features.length)
      throw new InputError("model: duplicate features");
    if (kind === "forest") {
      if (forest === null || preprocessor === null) {
        throw new InputError("model: a forest model needs its forest and preprocessing");
      }
      if (forest.nFeatures !== features.length || preprocessor.nFeatures !== features.length) {
        throw new InputError("model: the forest, preprocessing and features disagree in width");
      }
      if (forest.nLabels !== L) throw new InputError("model: the forest and labels disagree");
    }
    if (decision.thresholds.length !== L) throw new InputError("model: one threshold per label");
    if (!Number.isInteger(parts.baselineK) || parts.baselineK < 1) {
      throw new InputError("model: baselineK must be an integer ≥ 1");
    }
  }

  get kind(): ModelKind {
    return this.parts.kind;
  }

  get features(): readonly string[] {
    return this.parts.features;
  }

  get labels(): readonly string[] {
    return this.parts.labels.labels;
  }

  get binarizer(): LabelBinarizer {
    return this.parts.labels;
  }

  /** Refuses a table that lacks one of the model's input columns. */
  checkColumns(available: readonly string[]): void {
    const have = new Set(available);
    const missing = this.parts.features.filter((f) => !have.has(f));
    if (missing.length > 0) {
      throw new InputError(
        `missing feature column${missing.length > 1 ? "s" : ""} ${missing.map((m) => `"${m}"`).join(", ")} (the model was trained on ${this.parts.features.length} columns)`,
      );
    }
  }

  /** Per-label probabilities for raw feature rows (columns in `features` order, NaN missing). */
  predictProba(x: RealMatrix): Matrix<Float64Array> {
    if (this.parts.kind === "most-frequent") return this.priors(x);
    const prepared = (this.parts.preprocessor as Preprocessor).transform(this.checkWidth(x));
    return (this.parts.forest as RandomForest).predictProba(prepared);
  }

  /** As predictProba, imputing on up to `workers` threads (default: one per core). */
  async predictProbaParallel(x: RealMatrix, workers?: number): Promise<Matrix<Float64Array>> {
    if (this.parts.kind === "most-frequent") return this.priors(x);
    const preprocessor = this.parts.preprocessor as Preprocessor;
    const prepared = await preprocessor.transformParallel(this.checkWidth(x), workers);
    return (this.parts.forest as RandomForest).predictProba(prepared);
  }

  private checkWidth(x: RealMatrix): RealMatrix {
    if (x.cols !== this.parts.features.length) {
      throw new InputError(
        `model: expected ${this.parts.features.length} feature columns, got ${x.cols}`,
      );
    }
    return x;
  }

  /** The most-frequent kind's probabilities: each label's training frequency. */
  private priors(x: RealMatrix): Matrix<Float64Array> {
    this.checkWidth(x);
    const L = this.labels.length;
    const { counts, trainingRows } = this.parts.labels.state;
    const out = new Float64Array(x.rows * L);
    for (let i = 0; i < x.rows; i++) {
      for (let k = 0; k < L; k++) out[i * L + k] = (counts[k] as number) / trainingRows;
    }
    return { data: out, rows: x.rows, cols: L };
  }

  /** Predicted genres as indicators, from probabilities of `predictProba`. */
  decide(p: RealMatrix): IndicatorMatrix {
    if (this.parts.kind === "most-frequent") {
      return mostFrequentPrediction(p.rows, this.labels.length, this.parts.baselineK);
    }
    return applyDecision(p, this.parts.decision);
  }
}

/**
 * Rounds every leaf probability of the forest to a multiple of 1/255 in place, as model files
 * keep it, and returns the forest.
 */
export function quantizeLeaves(forest: RandomForest): RandomForest {
  for (const t of forest.trees) {
    const values = t.values;
    for (let j = 0; j < values.length; j++) {
      const v = values[j] as number;
      if (v !== 0) values[j] = quantize(v) / 255;
    }
  }
  return forest;
}

function quantize(p: number): number {
  const q = Math.round(p * 255);
  return q < 0 ? 0 : Math.min(q, 255);
}

type LeafEncoding = "dense-uint8" | "sparse-uint8";

type ArrayType = "f64" | "f32" | "i32" | "u32" | "u16" | "u8";
type TypedArray = Float64Array | Float32Array | Int32Array | Uint32Array | Uint16Array | Uint8Array;

const CONSTRUCTORS = {
  f64: Float64Array,
  f32: Float32Array,
  i32: Int32Array,
  u32: Uint32Array,
  u16: Uint16Array,
  u8: Uint8Array,
} as const;

interface ArrayEntry {
  name: string;
  type: ArrayType;
  offset: number;
  length: number;
}

interface StoredStep {
  kind: string;
  params: Record<string, unknown>;
  /** Array names in the file, by the step's own names. */
  arrays: Record<string, string>;
}

interface ModelHeader {
  format: string;
  version: number;
  kind: ModelKind;
  features: string[];
  labels: LabelState;
  preprocessing: { nFeatures: number; steps: StoredStep[] } | null;
  forest: (ForestHeader & { leafEncoding: LeafEncoding }) | null;
  decision: {
    metric: DecisionMetric | null;
    rule?: DecisionRule;
    thresholds: number[];
    atLeastOne: boolean;
  };
  baselineK: number;
  metadata: Record<string, unknown>;
  arrays: ArrayEntry[];
  /** Bytes from the first array to the checksum. */
  payloadBytes: number;
}

const count = z.number().int().nonnegative();
const record = z.record(z.string(), z.unknown());

/** The header as a reader may rely on it; every field is checked before any is used. */
const HEADER_SCHEMA = z.object({
  format: z.literal(MODEL_FORMAT),
  version: z.literal(MODEL_FORMAT_VERSION),
  kind: z.enum(["forest", "most-frequent"]),
  features: z.array(z.string()).min(1),
  labels: z.object({
    labels: z.array(z.string()).min(1),
    counts: z.array(count),
    known: z.array(z.string()),
    trainingRows: z.number().int().positive(),
  }),
  preprocessing: z
    .object({
      nFeatures: count,
      steps: z.array(
        z.object({ kind: z.string(), params: record, arrays: z.record(z.string(), z.string()) }),
      ),
    })
    .nullable(),
  forest: z
    .object({
      format: z.string(),
      version: z.number().int(),
      nFeatures: count,
      nLabels: count,
      nTrees: count,
      nNodes: count,
      nLeaves: count,
      options: record,
      featureImportances: z.array(z.number()),
      leafEncoding: z.enum(["dense-uint8", "sparse-uint8"]),
    })
    .nullable(),
  decision: z.object({
    metric: z.enum(DECISION_METRICS as [DecisionMetric, ...DecisionMetric[]]).nullable(),
    rule: z.enum(DECISION_RULES as [DecisionRule, ...DecisionRule[]]).optional(),
    thresholds: z.array(z.number().min(0).max(1)),
    atLeastOne: z.boolean(),
  }),
  baselineK: z.number().int().min(1),
  metadata: record,
  arrays: z.array(
    z.object({
      name: z.string(),
      type: z.enum(Object.keys(CONSTRUCTORS) as [ArrayType, ...ArrayType[]]),
      offset: count,
      length: count,
    }),
  ),
  payloadBytes: count,
});

function typeOf(a: TypedArray): ArrayType {
  for (const [name, C] of Object.entries(CONSTRUCTORS))
    if (a instanceof C) return name as ArrayType;
  throw new Error("unsupported array type");
}

/** An array of the file, written straight into its place in the file's bytes. */
interface PayloadArray {
  name: string;
  type: ArrayType;
  length: number;
  /** Fills `target`, a view of `length` elements of `type` on the file's bytes. */
  write(target: TypedArray): void;
}

function storedArray(name: string, data: TypedArray): PayloadArray {
  return {
    name,
    type: typeOf(data),
    length: data.length,
    write: (target) => (target as Uint8Array).set(data as Uint8Array),
  };
}

/** One forest array: every tree's part of it, one after the other. */
function treesArray(
  name: string,
  type: "i32" | "f64",
  forest: RandomForest,
  part: (t: RandomForest["trees"][number]) => TypedArray,
  length: number,
): PayloadArray {
  return {
    name,
    type,
    length,
    write: (target) => {
      let at = 0;
      for (const t of forest.trees) {
        const data = part(t);
        (target as Uint8Array).set(data as Uint8Array, at);
        at += data.length;
      }
    },
  };
}

/** The forest's arrays as model files store them, with its header. */
function forestArrays(forest: RandomForest): {
  header: NonNullable<ModelHeader["forest"]>;
  arrays: PayloadArray[];
} {
  const header = forestHeader(forest);
  const { treeNodeStart, treeLeafStart } = treeOffsets(forest);
  const quantized = new Uint8Array(header.nLeaves * header.nLabels);
  let nonzero = 0;
  let first = 0;
  for (const t of forest.trees) {
    const values = t.values;
    for (let j = 0; j < values.length; j++) {
      const v = values[j] as number;
      if (v === 0) continue;
      const q = quantize(v);
      quantized[first + j] = q;
      if (q > 0) nonzero++;
    }
    first += values.length;
  }
  const dense = 2 * header.nLeaves + 3 * nonzero >= quantized.length;
  const arrays = [
    storedArray("forest.treeNodeStart", treeNodeStart),
    storedArray("forest.treeLeafStart", treeLeafStart),
    treesArray("forest.feature", "i32", forest, (t) => t.feature, header.nNodes),
    treesArray("forest.threshold", "f64", forest, (t) => t.threshold, header.nNodes),
    treesArray("forest.left", "i32", forest, (t) => t.left, header.nNodes),
    treesArray("forest.right", "i32", forest, (t) => t.right, header.nNodes),
  ];
  if (dense) arrays.push(storedArray("forest.leafValue", quantized));
  else {
    const leaves = encodeLeaves(quantized, header.nLabels, nonzero);
    arrays.push(
      storedArray("forest.leafCount", leaves.count),
      storedArray("forest.leafLabel", leaves.label),
      storedArray("forest.leafValue", leaves.value),
    );
  }
  return { header: { ...header, leafEncoding: dense ? "dense-uint8" : "sparse-uint8" }, arrays };
}

/** The model as the bytes of one model file. */
export function encodeModel(model: GenreModel): Uint8Array {
  const p = model.parts;
  const arrays: PayloadArray[] = [];
  let preprocessing: ModelHeader["preprocessing"] = null;
  if (p.preprocessor !== null) {
    const state = p.preprocessor.state();
    preprocessing = {
      nFeatures: state.nFeatures,
      steps: state.steps.map((s, i) => {
        const names: Record<string, string> = {};
        for (const [key, data] of Object.entries(s.arrays)) {
          names[key] = `preprocessing.${i}.${key}`;
          arrays.push(storedArray(names[key], data));
        }
        return { kind: s.kind, params: s.params, arrays: names };
      }),
    };
  }
  let forest: ModelHeader["forest"] = null;
  if (p.forest !== null) {
    const stored = forestArrays(p.forest);
    forest = stored.header;
    arrays.push(...stored.arrays);
  }
  const entries: ArrayEntry[] = [];
  let payloadBytes = 0;
  for (const { name, type, length } of arrays) {
    entries.push({ name, type, offset: payloadBytes, length });
    payloadBytes += align8(length * CONSTRUCTORS[type].BYTES_PER_ELEMENT);
  }
  const header: ModelHeader = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    kind: p.kind,
    features: [...p.features],
    labels: p.labels.state,
    preprocessing,
    forest,
    decision: {
      metric: p.decision.metric,
      rule: p.decision.rule ?? "thresholds",
      thresholds: Array.from(p.decision.thresholds),
      atLeastOne: p.decision.atLeastOne,
    },
    baselineK: p.baselineK,
    metadata: p.metadata,
    arrays: entries,
    payloadBytes,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = align8(PRELUDE_BYTES + json.length);
  const end = start + payloadBytes;
  const out = new Uint8Array(end + CHECKSUM_BYTES);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, PRELUDE_BYTES);
  arrays.forEach((a, i) => {
    const at = start + (entries[i] as ArrayEntry).offset;
    a.write(new CONSTRUCTORS[a.type](out.buffer, at, a.length));
  });
  out.set(createHash("sha256").update(out.subarray(0, end)).digest(), end);
  return out;
}

/**
 * Reads a model file's bytes: the signature, the version, the checksum of the whole file, the
 * header's shape and every array.
 */
export function decodeModel(bytes: Uint8Array): GenreModel {
  const bad = (why: string): never => {
    throw new InputError(`not a valid genre-classifier model file: ${why}`);
  };
  if (bytes.length < PRELUDE_BYTES || !MAGIC.every((b, i) => bytes[i] === b)) {
    bad("it does not start with the model file signature");
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (PRELUDE_BYTES + length > bytes.length) bad("the header is truncated");
  // Parsed before the checksum is checked only to tell another version from a damaged file.
  let parsed: unknown;
  let parseError: Error | undefined;
  try {
    parsed = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(
        bytes.subarray(PRELUDE_BYTES, PRELUDE_BYTES + length),
      ),
    );
  } catch (error) {
    parseError = error as Error;
  }
  const claimed = (parsed ?? {}) as { format?: unknown; version?: unknown; payloadBytes?: unknown };
  if (parseError === undefined && typeof parsed === "object" && claimed.format === MODEL_FORMAT) {
    if (claimed.version !== MODEL_FORMAT_VERSION) {
      throw new InputError(
        `model file format version ${JSON.stringify(claimed.version)} is not supported: this genre-classifier reads version ${MODEL_FORMAT_VERSION} (fit the model again with this version)`,
      );
    }
    const payloadBytes = claimed.payloadBytes;
    if (
      typeof payloadBytes === "number" &&
      align8(PRELUDE_BYTES + length) + payloadBytes + CHECKSUM_BYTES !== bytes.length
    ) {
      bad("the file is truncated or has trailing bytes");
    }
  }
  const end = bytes.length - CHECKSUM_BYTES;
  const start = align8(PRELUDE_BYTES + length);
  if (end < start) bad("the file is truncated");
  const checksum = createHash("sha256").update(bytes.subarray(0, end)).digest();
  if (!checksum.equals(bytes.subarray(end))) {
    bad("the file is damaged or was edited (its checksum does not match its contents)");
  }
  if (parseError !== undefined) bad(`the header is not JSON (${parseError.message})`);
  if (parsed === null || typeof parsed !== "object" || claimed.format !== MODEL_FORMAT) {
    bad(`unknown format ${JSON.stringify(claimed.format)}`);
  }
  const checked = HEADER_SCHEMA.safeParse(parsed);
  if (!checked.success) {
    const issue = checked.error.issues[0] as z.core.$ZodIssue;
    const field = JSON.stringify(issue.path.map(String).join("."));
    if (/received undefined$/.test(issue.message)) bad(`header field ${field} is missing`);
    bad(`header field ${field}: ${issue.message.replace(/^Invalid input: /, "")}`);
  }
  const header = checked.data as ModelHeader;
  const payload = bytes.subarray(start, end);
  if (payload.length !== header.payloadBytes) bad("the file is truncated or has trailing bytes");
  const table = new Map<string, TypedArray>();
  for (const e of header.arrays) {
    const C = CONSTRUCTORS[e.type];
    const bytesNeeded = e.length * C.BYTES_PER_ELEMENT;
    if (!(e.offset % 8 === 0 && e.offset >= 0 && e.offset + bytesNeeded <= payload.length)) {
      bad(`array ${e.name} lies outside the file`);
    }
    // Copied out, so that the arrays are aligned and do not pin the file's buffer.
    const copy = new Uint8Array(payload.subarray(e.offset, e.offset + bytesNeeded));
    table.set(e.name, new C(copy.buffer, 0, e.length));
  }
  const get = <T extends TypedArray>(name: string, C: new (...args: never[]) => T): T => {
    const a = table.get(name);
    if (!(a instanceof C)) return bad(`array ${name} is missing or has the wrong type`);
    return a;
  };
  const labels = new LabelBinarizer(header.labels);
  let preprocessor: Preprocessor | null = null;
  if (header.preprocessing !== null) {
    const state: PreprocessorState = {
      nFeatures: header.preprocessing.nFeatures,
      steps: header.preprocessing.steps.map(
        (s): StepState => ({
          kind: s.kind,
          params: s.params,
          arrays: Object.fromEntries(
            Object.entries(s.arrays).map(([key, name]) => [key, get(name, Float64Array)]),
          ),
        }),
      ),
    };
    preprocessor = Preprocessor.fromState(state);
  }
  let forest: RandomForest | null = null;
  if (header.forest !== null) {
    const h = header.forest;
    let values: Float32Array;
    if (h.leafEncoding === "dense-uint8") {
      const bytes = get("forest.leafValue", Uint8Array);
      if (bytes.length !== h.nLeaves * h.nLabels) bad("leaf values do not match the leaves");
      values = new Float32Array(bytes.length);
      for (let j = 0; j < bytes.length; j++) values[j] = (bytes[j] as number) / 255;
    } else {
      values = decodeLeaves(
        get("forest.leafCount", Uint16Array),
        get("forest.leafLabel", Uint16Array),
        get("forest.leafValue", Uint8Array),
        h.nLeaves,
        h.nLabels,
        bad,
      );
    }
    const arrays: ForestArrays = {
      treeNodeStart: get("forest.treeNodeStart", Uint32Array),
      treeLeafStart: get("forest.treeLeafStart", Uint32Array),
      feature: get("forest.feature", Int32Array),
      threshold: get("forest.threshold", Float64Array),
      left: get("forest.left", Int32Array),
      right: get("forest.right", Int32Array),
      values,
    };
    const { leafEncoding: _, ...forestHeader } = h;
    forest = deserializeForest({ header: forestHeader, arrays });
  }
  const d = header.decision;
  return new GenreModel({
    kind: header.kind,
    features: header.features,
    labels,
    preprocessor,
    forest,
    decision: {
      metric: d.metric,
      rule: d.rule ?? "thresholds",
      thresholds: Float64Array.from(d.thresholds),
      atLeastOne: d.atLeastOne,
    },
    baselineK: header.baselineK,
    metadata: header.metadata,
  });
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** The sparse leaf encoding: per leaf its count of nonzero labels, then each one's label and byte. */
function encodeLeaves(
  quantized: Uint8Array,
  L: number,
  nonzero: number,
): { count: Uint16Array; label: Uint16Array; value: Uint8Array } {
  const nLeaves = quantized.length / L;
  const count = new Uint16Array(nLeaves);
  const label = new Uint16Array(nonzero);
  const value = new Uint8Array(nonzero);
  let at = 0;
  for (let leaf = 0; leaf < nLeaves; leaf++) {
    let c = 0;
    for (let k = 0; k < L; k++) {
      const q = quantized[leaf * L + k] as number;
      if (q === 0) continue;
      label[at] = k;
      value[at++] = q;
      c++;
    }
    count[leaf] = c;
  }
  return { count, label, value };
}

function decodeLeaves(
  count: Uint16Array,
  label: Uint16Array,
  value: Uint8Array,
  nLeaves: number,
  L: number,
  bad: (why: string) => never,
): Float32Array {
  if (count.length !== nLeaves || label.length !== value.length) bad("leaf arrays disagree");
  const values = new Float32Array(nLeaves * L);
  let at = 0;
  for (let leaf = 0; leaf < nLeaves; leaf++) {
    const end = at + (count[leaf] as number);
    if (end > label.length) bad("leaf counts exceed the stored leaf values");
    for (; at < end; at++) {
      const k = label[at] as number;
      if (k >= L) bad(`leaf label ${k} out of range`);
      values[leaf * L + k] = (value[at] as number) / 255;
    }
  }
  if (at !== label.length) bad("leaf values left over");
  return values;
}
