// Opens the tracking client a tracking URI names: the SQL store directly for sqlite:// and
// postgres:// URIs, or a tracking server over HTTP for http(s):// URIs.
import type { ObjectStore } from "../storage/object-store.ts";
import { StoreTrackingClient, type TrackingClient } from "./client.ts";
import { HttpTrackingClient } from "./http-client.ts";
import { parseTrackingUri } from "./uri.ts";

export interface TrackingSettings {
  uri: string;
  token?: string | undefined;
}

/** `objectStore` is opened only for a direct store; the client does not close it. */
export async function openTrackingClient(
  settings: TrackingSettings,
  objectStore: () => ObjectStore,
): Promise<TrackingClient> {
  const location = parseTrackingUri(settings.uri);
  if (location.kind === "http") return new HttpTrackingClient(location.baseUrl, settings.token);
  return StoreTrackingClient.open(settings.uri, objectStore());
}
