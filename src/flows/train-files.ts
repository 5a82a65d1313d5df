// Reading the train flow's outputs back: a training run's per-genre validation scores (its
// per_genre.csv artifact) as a table, and the registration gate's decision from the `gate.*`
// tags the flow sets on the run and on the version it registers.
import { parseCsv } from "../features/csv.ts";
import type { StoreTrackingClient } from "../tracking/client.ts";
import type { Run, Tag } from "../tracking/entities.ts";
import { PER_GENRE_ARTIFACT } from "./train.ts";

/** The largest per-genre file read; a larger one is not shown. */
const MAX_TABLE_BYTES = 1024 * 1024;
const GATE_TAGS = [
  "gate.decision",
  "gate.reason",
  "gate.champion_version",
  "gate.champion_jaccard",
];

export interface CsvTable {
  header: string[];
  rows: string[][];
}

export interface GateTags {
  /** `registered` or `refused`; undefined when the gate did not decide. */
  decision: string | undefined;
  reason: string | undefined;
  /** The champion the candidate was compared with, and its Jaccard on the same validation table. */
  championVersion: string | undefined;
  championJaccard: number | undefined;
}

/** The run's per-genre table; undefined when it has none (or one over 1 MiB). */
export async function readPerGenreTable(
  client: StoreTrackingClient,
  run: Run,
): Promise<CsvTable | undefined> {
  const artifacts = client.artifacts;
  let location: string;
  try {
    location = artifacts.locate(run.info.artifactUri, PER_GENRE_ARTIFACT);
  } catch {
    return undefined;
  }
  const info = await artifacts.head(location);
  if (info === undefined || info.size > MAX_TABLE_BYTES) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of await artifacts.getStream(location)) chunks.push(chunk as Buffer);
  const [header, ...rows] = parseCsv(Buffer.concat(chunks).toString("utf8"), PER_GENRE_ARTIFACT);
  return header === undefined ? undefined : { header, rows };
}

/** The registration gate's decision read from a run's or a model version's tags. */
export function gateTags(tags: readonly Tag[]): GateTags {
  const values = new Map(
    tags.filter((t) => GATE_TAGS.includes(t.key)).map((t) => [t.key, t.value]),
  );
  const jaccard = values.get("gate.champion_jaccard");
  return {
    decision: values.get("gate.decision"),
    reason: values.get("gate.reason"),
    championVersion: values.get("gate.champion_version"),
    championJaccard: jaccard === undefined ? undefined : Number(jaccard),
  };
}
