// `models list`, `models show` and `models alias set`: the model registry.
import type { Command } from "commander";
import type { ModelVersion, RegisteredModel } from "../../tracking/entities.ts";
import { modelVersionToJson, registeredModelToJson } from "../../tracking/mlflow-json.ts";
import { printJson, printLine, printTable } from "../output.ts";
import { formatTime } from "./experiments.ts";
import { withTracking } from "./tracking.ts";

export function registerModelsCommands(program: Command): void {
  const models = program
    .command("models")
    .description("registered models, their versions and aliases");

  models
    .command("list")
    .description("list registered models with their newest version and aliases")
    .option("--json", "print MLflow's JSON")
    .action((flags: { json?: boolean }, command: Command) =>
      withTracking(command, async (client) => {
        const all: RegisteredModel[] = [];
        let pageToken: string | undefined;
        do {
          const page = await client.searchRegisteredModels({ maxResults: 1000, pageToken });
          all.push(...page.items);
          pageToken = page.nextPageToken;
        } while (pageToken);
        if (flags.json) return printJson({ registered_models: all.map(registeredModelToJson) });
        printTable(
          ["NAME", "LATEST", "ALIASES", "UPDATED"],
          all.map((m) => [
            m.name,
            m.latestVersions[0]?.version ?? "—",
            m.aliases.map((a) => `${a.alias}→${a.version}`).join(" ") || "—",
            formatTime(m.lastUpdatedTimestamp),
          ]),
        );
        printLine(`${all.length} registered model${all.length === 1 ? "" : "s"}`);
      }),
    );

  models
    .command("show")
    .description("one registered model: description, tags, aliases and every version")
    .argument("<name>", "registered model name")
    .option("--json", "print MLflow's JSON")
    .action((name: string, flags: { json?: boolean }, command: Command) =>
      withTracking(command, async (client) => {
        const model = await client.getRegisteredModel(name);
        const versions: ModelVersion[] = [];
        let pageToken: string | undefined;
        do {
          const page = await client.searchModelVersions({
            filter: `name = '${name.replaceAll("'", "''")}'`,
            pageToken,
          });
          versions.push(...page.items);
          pageToken = page.nextPageToken;
        } while (pageToken);
        if (flags.json)
          return printJson({
            registered_model: registeredModelToJson(model),
            model_versions: versions.map(modelVersionToJson),
          });
        printLine(`model ${model.name}`);
        printLine(`description  ${model.description || "—"}`);
        printLine(`created      ${formatTime(model.creationTimestamp)}`);
        printLine(`updated      ${formatTime(model.lastUpdatedTimestamp)}`);
        printLine(
          `aliases      ${model.aliases.map((a) => `${a.alias}→${a.version}`).join(" ") || "—"}`,
        );
        printLine(`tags         ${model.tags.map((t) => `${t.key}=${t.value}`).join(" ") || "—"}`);
        printLine();
        printTable(
          ["VERSION", "ALIASES", "RUN", "SOURCE", "CREATED"],
          versions.map((v) => [
            v.version,
            v.aliases.join(" ") || "—",
            v.runId || "—",
            v.source,
            formatTime(v.creationTimestamp),
          ]),
        );
      }),
    );

  const alias = models
    .command("alias")
    .description("aliases such as champion: names that point at a version");
  alias
    .command("set")
    .description("point an alias at a version (moving it from any other version)")
    .argument("<name>", "registered model name")
    .argument("<alias>", "alias, e.g. champion")
    .argument("<version>", "version number")
    .action((name: string, aliasName: string, version: string, _flags: unknown, command: Command) =>
      withTracking(command, async (client) => {
        await client.setAlias(name, aliasName, version);
        printLine(`${name}@${aliasName} → version ${version}`);
      }),
    );
}
