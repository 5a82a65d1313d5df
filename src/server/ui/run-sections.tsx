/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The sections of a tracked run's page: the run's card (status, times, the model versions it
// became), the registration gate's decision, its metrics (headline ones first), the datasets it
// used, a CSV artifact as a table, and its artifacts as folders to browse and files to download.
import type { Child, FC } from "hono/jsx";
import { gateTags } from "../../flows/train-files.ts";
import {
  DATASET_CONTEXT_TAG,
  type DatasetInput,
  type FileInfo,
  type Metric,
  type ModelVersion,
  type Run,
} from "../../tracking/entities.ts";
import { formatNumber } from "./charts.tsx";
import { Empty, KeyValues, StateBadge, Table, Time } from "./components.tsx";
import { durationOf, METRICS_SHOWN, ShortValue } from "./tracking.tsx";

const MAX_ARTIFACT_ENTRIES = 500;

export const RunCard: FC<{ run: Run; versions: ModelVersion[] }> = ({ run, versions }) => (
  <section class="card">
    <h2>Run</h2>
    <KeyValues
      items={[
        ["Status", <StateBadge state={run.info.status} />],
        ["Started", <Time value={run.info.startTime} />],
        ["Ended", <Time value={run.info.endTime} />],
        ["Duration", durationOf(run.info)],
        ["User", run.info.userId],
        ["Artifacts", <code>{run.info.artifactUri}</code>],
        ...(run.info.lifecycleStage === "deleted"
          ? ([["Lifecycle", <span class="badge muted">deleted</span>]] as [string, Child][])
          : []),
        ...(versions.length > 0
          ? ([
              [
                "Registered as",
                versions.map((v) => (
                  <>
                    <a href={`/models/${encodeURIComponent(v.name)}`}>
                      {v.name} v{v.version}
                    </a>
                    {v.aliases.map((alias) => (
                      <>
                        {" "}
                        <span class="badge ok">{alias}</span>
                      </>
                    ))}{" "}
                  </>
                )),
              ],
            ] as [string, Child][])
          : []),
      ]}
    />
  </section>
);

/** The registration gate's decision, from the run's `gate.*` tags, when the train flow set them. */
export const GateCard: FC<{ run: Run; versions: ModelVersion[] }> = ({ run, versions }) => {
  const { decision, reason } = gateTags(run.data.tags);
  if (decision === undefined) return null;
  return (
    <section class="card">
      <h2>Registration gate</h2>
      <p>
        <span class={`badge ${decision === "registered" ? "ok" : "bad"}`}>{decision}</span>
        {versions.length > 0 ? ` as version ${versions.map((v) => v.version).join(", ")}` : ""}
      </p>
      <p>{reason ?? ""}</p>
    </section>
  );
};

const MetricsTable: FC<{ metrics: Metric[] }> = ({ metrics }) => (
  <Table head={["Metric", { numeric: "Latest value" }, { numeric: "Step" }, "Logged"]}>
    {metrics.map((m) => (
      <tr>
        <td>{m.key}</td>
        <td class="num" title={String(m.value)}>
          {formatNumber(m.value)}
        </td>
        <td class="num">{m.step}</td>
        <td>
          <Time value={m.timestamp} />
        </td>
      </tr>
    ))}
  </Table>
);

/** The run's latest metric values; past 40 metrics, the headline ones with the rest folded. */
export const RunMetrics: FC<{ metrics: Metric[] }> = ({ metrics }) => {
  if (metrics.length === 0) return <Empty>No metrics logged.</Empty>;
  const headline =
    metrics.length > METRICS_SHOWN ? metrics.filter((m) => !m.key.includes(".")) : metrics;
  return (
    <>
      {headline.length > 0 ? <MetricsTable metrics={headline} /> : null}
      {headline.length < metrics.length ? (
        <details>
          <summary>All {metrics.length} metrics</summary>
          <MetricsTable metrics={metrics} />
        </details>
      ) : null}
    </>
  );
};

export const DatasetsTable: FC<{ inputs: DatasetInput[] }> = ({ inputs }) => (
  <Table head={["Name", "Role", "Digest", "Source", "Profile"]}>
    {inputs.map((input) => (
      <tr>
        <td>{input.dataset.name}</td>
        <td>
          {input.tags.find((t) => t.key === DATASET_CONTEXT_TAG)?.value ?? (
            <span class="muted">—</span>
          )}
        </td>
        <td>
          <code>{input.dataset.digest}</code>
        </td>
        <td>
          <code>{input.dataset.source}</code>
        </td>
        <td>
          <ShortValue value={input.dataset.profile} />
        </td>
      </tr>
    ))}
  </Table>
);

/** A CSV table, numbers right-aligned and shortened (the exact value in their title). */
export const CsvTable: FC<{ table: { header: string[]; rows: string[][] } }> = ({ table }) => (
  <Table head={table.header}>
    {table.rows.map((row) => (
      <tr>
        {table.header.map((_, i) => {
          const cell = row[i] ?? "";
          const number = cell.trim() === "" ? Number.NaN : Number(cell);
          return Number.isFinite(number) ? (
            <td class="num" title={cell}>
              {formatNumber(number)}
            </td>
          ) : (
            <td>{cell}</td>
          );
        })}
      </tr>
    ))}
  </Table>
);

/** A folder of the run's artifacts: a breadcrumb, its folders and its files to download. */
export const ArtifactListing: FC<{
  runId: string;
  folder: string;
  /** The folder's entries, or why they cannot be listed. */
  entries: FileInfo[] | string;
}> = ({ runId, folder, entries }) => {
  const segments = folder === "" ? [] : folder.split("/");
  const folderLink = (path: string) =>
    path === ""
      ? `/runs/${runId}#artifacts`
      : `/runs/${runId}?artifacts=${encodeURIComponent(path)}#artifacts`;
  return (
    <>
      <p class="muted">
        <a href={folderLink("")}>artifacts</a>
        {segments.map((segment, i) => (
          <>
            {" / "}
            <a href={folderLink(segments.slice(0, i + 1).join("/"))}>{segment}</a>
          </>
        ))}
      </p>
      {typeof entries === "string" ? (
        <p class="alert bad">{entries}</p>
      ) : entries.length === 0 ? (
        <Empty>No artifacts{folder ? " in this folder" : ""}.</Empty>
      ) : (
        <Table head={["Name", { numeric: "Size" }]}>
          {entries.slice(0, MAX_ARTIFACT_ENTRIES).map((entry) => {
            const name = entry.path.split("/").at(-1) as string;
            const href = entry.isDir
              ? folderLink(entry.path)
              : `/runs/${runId}/artifacts/${entry.path.split("/").map(encodeURIComponent).join("/")}`;
            return (
              <tr>
                <td>
                  {entry.isDir ? (
                    <a href={href}>{`${name}/`}</a>
                  ) : (
                    <a href={href} download={name}>
                      {name}
                    </a>
                  )}
                </td>
                <td class="num">{entry.isDir ? "" : formatBytes(entry.fileSize)}</td>
              </tr>
            );
          })}
        </Table>
      )}
      {typeof entries !== "string" && entries.length > MAX_ARTIFACT_ENTRIES ? (
        <p class="muted">
          The first {MAX_ARTIFACT_ENTRIES} of {entries.length} entries; download the others by their
          path.
        </p>
      ) : null}
    </>
  );
};

function formatBytes(size: number | undefined): string {
  if (size === undefined) return "";
  if (size < 1024) return `${size} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
