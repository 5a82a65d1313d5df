// Genre labels: the top K genres by training frequency become the label columns, and each
// track's genre list becomes a row of 0/1 indicators. Tracks with none of the top K genres are
// dropped; genres the training rows never had are reported, so the caller can refuse them.
import { InputError } from "../common/errors.ts";
import type { IndicatorMatrix } from "./matrix.ts";

export const DEFAULT_TOP_K = 50;

export interface LabelState {
  labels: string[];
  /** Training rows carrying each label. */
  counts: number[];
  /** Every genre the training rows had, in code-point order. */
  known: string[];
  trainingRows: number;
}

export interface BinarizedLabels {
  y: IndicatorMatrix;
  /** Input row of each output row. */
  kept: Uint32Array;
  /** Rows dropped for having no label. */
  dropped: number;
  /** Genres never seen in training, each with the first row that has it. */
  unseen: Map<string, number>;
}

export class LabelBinarizer {
  private readonly index: Map<string, number>;
  private readonly knownSet: Set<string>;

  constructor(readonly state: LabelState) {
    const { labels, counts, known } = state;
    if (labels.length === 0) throw new InputError("labels: the label list is empty");
    if (counts.length !== labels.length) throw new InputError("labels: one count per label");
    this.index = new Map(labels.map((g, k) => [g, k]));
    if (this.index.size !== labels.length) throw new InputError("labels: duplicate labels");
    this.knownSet = new Set(known);
    for (const g of labels) {
      if (!this.knownSet.has(g)) throw new InputError(`labels: "${g}" is not a known genre`);
    }
  }

  get labels(): readonly string[] {
    return this.state.labels;
  }

  /**
   * The `topK` most frequent genres of the training rows, most frequent first (ties in
   * code-point order of the name).
   */
  static fit(genres: readonly (readonly string[])[], topK = DEFAULT_TOP_K): LabelBinarizer {
    if (!Number.isInteger(topK) || topK < 1) {
      throw new InputError(`top-k must be an integer ≥ 1, got ${topK}`);
    }
    const counts = new Map<string, number>();
    for (const row of genres) {
      for (const g of new Set(row)) counts.set(g, (counts.get(g) ?? 0) + 1);
    }
    if (counts.size === 0) throw new InputError("labels: no training track has a genre");
    const ranked = [...counts].sort((a, b) => b[1] - a[1] || compare(a[0], b[0]));
    const top = ranked.slice(0, topK);
    return new LabelBinarizer({
      labels: top.map(([g]) => g),
      counts: top.map(([, c]) => c),
      known: [...counts.keys()].sort(compare),
      trainingRows: genres.length,
    });
  }

  transform(genres: readonly (readonly string[])[]): BinarizedLabels {
    const L = this.state.labels.length;
    const data = new Uint8Array(genres.length * L);
    const kept = new Uint32Array(genres.length);
    const unseen = new Map<string, number>();
    let n = 0;
    genres.forEach((row, i) => {
      const at = n * L;
      data.fill(0, at, at + L);
      let any = false;
      for (const g of row) {
        const k = this.index.get(g);
        if (k !== undefined) {
          data[at + k] = 1;
          any = true;
        } else if (!this.knownSet.has(g) && !unseen.has(g)) unseen.set(g, i);
      }
      if (any) kept[n++] = i;
    });
    return {
      y: { data: n === genres.length ? data : data.slice(0, n * L), rows: n, cols: L },
      kept: kept.slice(0, n),
      dropped: genres.length - n,
      unseen,
    };
  }

  /** Genre names of each row of indicators. */
  decode(y: IndicatorMatrix): string[][] {
    const out: string[][] = [];
    const { labels } = this.state;
    for (let i = 0; i < y.rows; i++) {
      const row: string[] = [];
      for (let k = 0; k < y.cols; k++)
        if (y.data[i * y.cols + k] === 1) row.push(labels[k] as string);
      out.push(row);
    }
    return out;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
