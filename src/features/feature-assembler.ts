// Turns the readers' deliveries, taken in key order, into the feature table and the rejects
// table: each track id is kept once (a later row of a track id already written, from another
// key such as a copy or an aggregate file, becomes a reject naming both keys), genres and
// reject reasons are counted. The preprocess writer thread and the merge of a partitioned
// preprocess both write through it, so the two give the same bytes for the same deliveries:
// what it writes depends only on their order, not on how the rows were cut into deliveries.
import { compareKeys } from "../storage/object-store.ts";
import type { ColumnBatch } from "./column-batch.ts";
import type { Delivery, Reject, WriterSetup, WriterSummary } from "./preprocess.ts";
import { TableWriter } from "./table.ts";

export class FeatureTableAssembler {
  private readonly features: TableWriter;
  private readonly rejects: TableWriter;
  private readonly genresColumn: number;
  private readonly trackIdColumn: number;
  /** Every track id written (upper-cased), and the key of its row when not the track's own. */
  private readonly writtenIds = new Set<string>();
  private readonly writtenElsewhere = new Map<string, string>();
  private readonly genres = new Set<string>();
  private readonly reasons = new Map<string, number>();
  private withoutGenres = 0;

  constructor(private readonly setup: WriterSetup) {
    this.features = new TableWriter(setup.features.path, setup.features.columns);
    this.rejects = new TableWriter(setup.rejects.path, setup.rejects.columns);
    this.genresColumn = setup.features.columns.findIndex((c) => c.name === "genres");
    this.trackIdColumn = setup.features.columns.findIndex((c) => c.name === "track_id");
  }

  /** Appends the next delivery in key order; returns the number of files it covers. */
  write(delivery: Delivery): number {
    const { batch, duplicates } = this.withoutWrittenIds(delivery);
    this.features.addBatch(batch);
    for (const trackGenres of (batch.columns[this.genresColumn] ?? []) as string[][]) {
      if (trackGenres.length === 0) this.withoutGenres++;
      for (const genre of trackGenres) this.genres.add(genre);
    }
    for (const reject of inKeyOrder(delivery.rejects, duplicates)) {
      this.rejects.add({ ...reject });
      this.reasons.set(reject.reason, (this.reasons.get(reject.reason) ?? 0) + 1);
    }
    return delivery.files;
  }

  /** Closes both tables and gives the counts. */
  finish(): WriterSummary {
    this.features.close();
    this.rejects.close();
    return {
      features: this.features.rows,
      rejects: this.rejects.rows,
      withoutGenres: this.withoutGenres,
      genres: this.genres.size,
      rejectReasons: [...this.reasons]
        .map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
        .slice(0, 10),
    };
  }

  private ownKey(id: string): string {
    return `${this.setup.rawPrefix}/${id[2]}/${id[3]}/${id[4]}/${id}.h5`;
  }

  /** The delivery's rows whose track id is not written yet, and rejects for the others. */
  private withoutWrittenIds(delivery: Delivery): { batch: ColumnBatch; duplicates: Reject[] } {
    const ids = (delivery.features.columns[this.trackIdColumn] ?? []) as string[];
    const kept: number[] = [];
    const duplicates: Reject[] = [];
    for (let row = 0; row < delivery.features.rows; row++) {
      const id = ids[row] as string;
      const key = delivery.keys[row] as string;
      const folded = id.toUpperCase();
      if (this.writtenIds.has(folded)) {
        const first = this.writtenElsewhere.get(folded) ?? this.ownKey(folded);
        duplicates.push({
          path: key,
          track_id: id,
          reason: `duplicate track id ${id} (also at ${first})`,
        });
        continue;
      }
      this.writtenIds.add(folded);
      if (key !== this.ownKey(folded)) this.writtenElsewhere.set(folded, key);
      kept.push(row);
    }
    if (kept.length === delivery.features.rows) return { batch: delivery.features, duplicates };
    const batch: ColumnBatch = {
      rows: kept.length,
      columns: delivery.features.columns.map((values) => {
        if (values instanceof Float64Array)
          return Float64Array.from(kept, (row) => values[row] as number);
        if (values instanceof Int32Array)
          return Int32Array.from(kept, (row) => values[row] as number);
        return kept.map((row) => values[row]) as string[] | string[][];
      }),
    };
    return { batch, duplicates };
  }
}

/** Two lists of rejects, each in key order, merged in key order (the readers' first on a tie). */
function inKeyOrder(read: Reject[], duplicates: Reject[]): Reject[] {
  if (duplicates.length === 0) return read;
  const merged: Reject[] = [];
  let d = 0;
  for (const reject of read) {
    while (d < duplicates.length && compareKeys((duplicates[d] as Reject).path, reject.path) < 0)
      merged.push(duplicates[d++] as Reject);
    merged.push(reject);
  }
  return merged.concat(duplicates.slice(d));
}
