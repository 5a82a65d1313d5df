// Artifact locations are `mlflow-artifacts:/<path>` URIs, as an MLflow server that proxies
// artifacts hands out: the path is relative to the tracking artifact root in the object store
// (`tracking/`), so a run's artifacts live at `tracking/<experiment>/<run>/artifacts/…`.
import { parseStoreUri, type StoreLocation } from "../storage/uri.ts";
import { invalidParameter } from "./errors.ts";

export const ARTIFACTS_SCHEME = "mlflow-artifacts:";
/** Where tracking artifacts live in the object store. */
export const ARTIFACTS_PREFIX = "tracking";

export function experimentArtifactLocation(experimentId: string): string {
  return `${ARTIFACTS_SCHEME}/${experimentId}`;
}

export function runArtifactUri(artifactLocation: string, runId: string): string {
  return `${artifactLocation.replace(/\/+$/, "")}/${runId}/artifacts`;
}

/** The path inside the artifact root that an `mlflow-artifacts:` URI names (`0/abc/artifacts`). */
export function artifactRootPath(uri: string): string {
  if (!uri.startsWith(ARTIFACTS_SCHEME))
    throw invalidParameter(
      `artifact location ${JSON.stringify(uri)}: only ${ARTIFACTS_SCHEME}/… locations are supported (artifacts are kept in the project's object store)`,
    );
  let rest = uri.slice(ARTIFACTS_SCHEME.length);
  if (rest.startsWith("//")) rest = rest.slice(2).replace(/^[^/]*/, "");
  return checkArtifactPath(
    rest.replace(/^\/+/, "").replace(/\/+$/, ""),
    `artifact location ${JSON.stringify(uri)}`,
    true,
  );
}

/**
 * An experiment's artifact location: `mlflow-artifacts:/…`, or an `s3://bucket/prefix` or
 * `file:///folder` location (which the server can use when it lies inside its object store);
 * no query, fragment or `..`. Gives the parsed location of the last two.
 */
export function checkArtifactLocation(uri: string): StoreLocation | { kind: "proxied" } {
  if (/[?#]/.test(uri))
    throw invalidParameter("'artifact_location' URL can't include fragments or params.");
  if (uri.startsWith(ARTIFACTS_SCHEME)) {
    artifactRootPath(uri);
    return { kind: "proxied" };
  }
  try {
    return parseStoreUri(uri);
  } catch (error) {
    throw invalidParameter(
      `artifact location ${JSON.stringify(uri)}: ${error instanceof Error ? error.message : String(error)}; use mlflow-artifacts:/…, s3://bucket/prefix or file:///folder`,
    );
  }
}

/**
 * An artifact path relative to a root: `/`-separated, no `..` or `.` segments, not absolute,
 * no backslashes or control characters. The empty path (the root itself) only when allowed.
 */
export function checkArtifactPath(
  path: string,
  what = "artifact path",
  allowEmpty = false,
): string {
  if (typeof path !== "string") throw invalidParameter(`${what} must be a string`);
  if (path === "") {
    if (allowEmpty) return path;
    throw invalidParameter(`${what} must not be empty`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(path))
    throw invalidParameter(
      `${what} ${JSON.stringify(path)} must not contain backslashes or control characters`,
    );
  if (path.startsWith("/") || /^[a-zA-Z]:/.test(path))
    throw invalidParameter(`${what} ${JSON.stringify(path)} must be relative, not absolute`);
  const segments = path.replace(/\/+$/, "").split("/");
  if (segments.some((s) => s === ".."))
    throw invalidParameter(
      `${what} ${JSON.stringify(path)} must not contain ".." (it would leave the artifact root)`,
    );
  if (segments.some((s) => s === "" || s === "."))
    throw invalidParameter(
      `${what} ${JSON.stringify(path)} must not contain empty or "." segments`,
    );
  return segments.join("/");
}

export function joinArtifactPath(...parts: string[]): string {
  return parts.filter((p) => p !== "").join("/");
}
