// A registered model's versions as its page lists them: newest first, a page at a time, each
// with the run it came from when that run still exists.
import type { StoreTrackingClient } from "./client.ts";
import type { ModelVersion, RunInfo } from "./entities.ts";
import { TrackingError } from "./errors.ts";
import { filterString } from "./filter.ts";

export interface ModelVersionsPage {
  versions: ModelVersion[];
  nextPageToken: string | undefined;
  /** The source runs by id; a version whose run is gone (or that has none) has no entry. */
  runs: Map<string, RunInfo>;
}

export async function modelVersionsWithRuns(
  client: StoreTrackingClient,
  name: string,
  page: { maxResults: number; pageToken: string | undefined },
): Promise<ModelVersionsPage> {
  const found = await client.searchModelVersions({
    filter: `name = ${filterString(name)}`,
    orderBy: ["version_number DESC"],
    maxResults: page.maxResults,
    pageToken: page.pageToken,
  });
  const runs = new Map<string, RunInfo>();
  await Promise.all(
    [...new Set(found.items.map((v) => v.runId).filter((id) => id !== ""))].map(async (id) => {
      try {
        runs.set(id, await client.tracking.getRunInfo(id));
      } catch (error) {
        if (!(error instanceof TrackingError)) throw error;
      }
    }),
  );
  return { versions: found.items, nextPageToken: found.nextPageToken, runs };
}
