// `runs list`, `runs show` and `runs compare`: runs in the tracking store, searched with
// MLflow's filter syntax, one in detail, or several side by side.
import type { Command } from "commander";
import type { TrackingClient } from "../../tracking/client.ts";
import { DATASET_CONTEXT_TAG, type Run } from "../../tracking/entities.ts";
import { TrackingError } from "../../tracking/errors.ts";
import { runToJson } from "../../tracking/mlflow-json.ts";
import { positiveInteger } from "../options.ts";
import { printJson, printLine, printTable } from "../output.ts";
import { formatTime } from "./experiments.ts";
import { withTracking } from "./tracking.ts";

interface ListFlags {
  experiment?: string;
  filter?: string;
  orderBy?: string[];
  max: number;
  all?: boolean;
  json?: boolean;
}

export function registerRunsCommands(program: Command): void {
  const runs = program.command("runs").description("runs in the tracking store");

  runs
    .command("list")
    .description("list runs, newest first, optionally filtered with MLflow's search syntax")
    .option("--experiment <name-or-id>", "only this experiment (default: every active experiment)")
    .option("--filter <filter>", `MLflow filter, e.g. "metrics.f1 > 0.5 and params.trees = '100'"`)
    .option("--order-by <term>", `e.g. "metrics.f1 DESC" (repeatable)`, collect)
    .option("--max <n>", "most runs to print", positiveInteger, 100)
    .option("--all", "include deleted runs")
    .option("--json", "print MLflow's JSON")
    .action((flags: ListFlags, command: Command) =>
      withTracking(command, async (client) => {
        const experimentIds = flags.experiment
          ? [await experimentIdOf(client, flags.experiment)]
          : await activeExperimentIds(client);
        const found: Run[] = [];
        let pageToken: string | undefined;
        do {
          const page = await client.searchRuns({
            experimentIds,
            filter: flags.filter,
            orderBy: flags.orderBy,
            maxResults: Math.min(1000, flags.max - found.length),
            pageToken,
            viewType: flags.all ? "ALL" : "ACTIVE_ONLY",
          });
          found.push(...page.items);
          pageToken = page.nextPageToken;
        } while (pageToken && found.length < flags.max);
        if (flags.json) return printJson({ runs: found.map(runToJson) });
        printTable(
          ["RUN ID", "NAME", "EXPERIMENT", "STATUS", "STARTED", "DURATION"],
          found.map((r) => [
            r.info.runId,
            r.info.runName,
            r.info.experimentId,
            r.info.lifecycleStage === "deleted" ? `${r.info.status} (deleted)` : r.info.status,
            formatTime(r.info.startTime),
            r.info.endTime === undefined ? "—" : formatDuration(r.info.endTime - r.info.startTime),
          ]),
        );
        printLine(
          `${found.length} run${found.length === 1 ? "" : "s"}${pageToken ? ` (more: raise --max)` : ""}`,
        );
      }),
    );

  runs
    .command("show")
    .description("one run: status, params, latest metrics, tags, datasets and artifacts")
    .argument("<run-id>", "run id")
    .option("--json", "print MLflow's JSON")
    .action((runId: string, flags: { json?: boolean }, command: Command) =>
      withTracking(command, async (client) => {
        const run = await client.getRun(runId);
        if (flags.json) return printJson({ run: runToJson(run) });
        const { info, data } = run;
        printLine(`run ${info.runId} (${info.runName})`);
        printLine(`experiment  ${info.experimentId}`);
        printLine(
          `status      ${info.status}${info.lifecycleStage === "deleted" ? " (deleted)" : ""}`,
        );
        printLine(`started     ${formatTime(info.startTime)}`);
        printLine(`ended       ${formatTime(info.endTime)}`);
        printLine(`user        ${info.userId || "—"}`);
        printLine(`artifacts   ${info.artifactUri}`);
        section(
          "params",
          ["KEY", "VALUE"],
          data.params.map((p) => [p.key, p.value]),
        );
        section(
          "metrics (latest)",
          ["KEY", "VALUE", "STEP", "TIME"],
          data.metrics.map((m) => [
            m.key,
            formatNumber(m.value),
            String(m.step),
            formatTime(m.timestamp),
          ]),
        );
        section(
          "tags",
          ["KEY", "VALUE"],
          data.tags.map((t) => [t.key, t.value]),
        );
        section(
          "datasets",
          ["CONTEXT", "NAME", "DIGEST", "SOURCE"],
          run.inputs.datasetInputs.map((d) => [
            d.tags.find((t) => t.key === DATASET_CONTEXT_TAG)?.value ?? "—",
            d.dataset.name,
            d.dataset.digest,
            d.dataset.source,
          ]),
        );
        const files = await client.listArtifacts(runId);
        section(
          "artifacts",
          ["PATH", "SIZE"],
          files.map((f) => [
            f.isDir ? `${f.path}/` : f.path,
            f.fileSize === undefined ? "" : String(f.fileSize),
          ]),
        );
      }),
    );

  runs
    .command("compare")
    .description("params and latest metrics of several runs side by side")
    .argument("<run-ids...>", "two or more run ids")
    .option("--json", "print the comparison as JSON")
    .action((runIds: string[], flags: { json?: boolean }, command: Command) =>
      withTracking(command, async (client) => {
        if (runIds.length < 2)
          throw new TrackingError(
            "INVALID_PARAMETER_VALUE",
            "runs compare needs at least two run ids",
          );
        const found = await Promise.all(runIds.map((id) => client.getRun(id)));
        const rows: { kind: "param" | "metric"; key: string; values: (string | undefined)[] }[] =
          [];
        const paramKeys = [
          ...new Set(found.flatMap((r) => r.data.params.map((p) => p.key))),
        ].sort();
        const metricKeys = [
          ...new Set(found.flatMap((r) => r.data.metrics.map((m) => m.key))),
        ].sort();
        for (const key of paramKeys)
          rows.push({
            kind: "param",
            key,
            values: found.map((r) => r.data.params.find((p) => p.key === key)?.value),
          });
        for (const key of metricKeys)
          rows.push({
            kind: "metric",
            key,
            values: found.map((r) => {
              const metric = r.data.metrics.find((m) => m.key === key);
              return metric === undefined ? undefined : formatNumber(metric.value);
            }),
          });
        if (flags.json)
          return printJson({
            runs: found.map((r) => ({ run_id: r.info.runId, run_name: r.info.runName })),
            params: Object.fromEntries(
              rows
                .filter((r) => r.kind === "param")
                .map((r) => [r.key, r.values.map((v) => v ?? null)]),
            ),
            metrics: Object.fromEntries(
              rows
                .filter((r) => r.kind === "metric")
                .map((r) => [r.key, r.values.map((v) => (v === undefined ? null : Number(v)))]),
            ),
          });
        printTable(
          ["", ...found.map((r) => `${r.info.runName} (${r.info.runId.slice(0, 8)})`), ""],
          rows.map((r) => {
            const present = r.values.filter((v) => v !== undefined);
            const differs = new Set(r.values).size > 1 || present.length < r.values.length;
            return [
              `${r.kind === "param" ? "params" : "metrics"}.${r.key}`,
              ...r.values.map((v) => v ?? "—"),
              differs ? "≠" : "",
            ];
          }),
        );
      }),
    );
}

function section(title: string, headers: string[], rows: string[][]): void {
  printLine();
  printLine(`${title}:`);
  if (rows.length === 0) printLine("  (none)");
  else printTable(headers, rows);
}

async function experimentIdOf(client: TrackingClient, nameOrId: string): Promise<string> {
  if (/^\d+$/.test(nameOrId)) return (await client.getExperiment(nameOrId)).experimentId;
  const experiment = await client.getExperimentByName(nameOrId);
  if (!experiment)
    throw new TrackingError(
      "RESOURCE_DOES_NOT_EXIST",
      `No experiment named ${JSON.stringify(nameOrId)} exists`,
    );
  return experiment.experimentId;
}

async function activeExperimentIds(client: TrackingClient): Promise<string[]> {
  const ids: string[] = [];
  let pageToken: string | undefined;
  do {
    const page = await client.searchExperiments({ pageToken });
    ids.push(...page.items.map((e) => e.experimentId));
    pageToken = page.nextPageToken;
  } while (pageToken);
  return ids;
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${(seconds / 60).toFixed(1)} min`;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
