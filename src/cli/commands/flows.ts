// `flows list|run`: the flows this installation offers (the ones the flow catalogue's modules
// define) and starting one. Their runs are under `flows runs …` (flow-runs.ts).
import type { Command } from "commander";
import { createContext } from "../context.ts";
import { loadFlowCatalog } from "../flow-catalog.ts";
import {
  flowNamed,
  reportStartedRun,
  type StartFlags,
  withOrchestrator,
  withStartOptions,
} from "../orchestrator.ts";
import { printJson, printTable } from "../output.ts";
import { registerFlowRunsCommands } from "./flow-runs.ts";

interface JsonSchemaType {
  type?: string;
  enum?: unknown[];
  anyOf?: JsonSchemaType[];
  default?: unknown;
}

/** A parameter's type as `flows list` shows it: integer, number, string, boolean, a|b|c. */
function typeName(schema: JsonSchemaType): string {
  if (schema.enum) return schema.enum.map((v) => String(v)).join("|");
  if (schema.anyOf) {
    const names = [...new Set(schema.anyOf.map(typeName))];
    // A flag takes true/false as JSON or as text.
    if (names.includes("boolean") && names.every((n) => n === "boolean" || n === "true|false"))
      return "boolean";
    return names.join("|");
  }
  return schema.type ?? "any";
}

export function registerFlowsCommands(program: Command): void {
  const flows = program.command("flows").description("flows, and their runs");

  flows
    .command("list")
    .description("the flows this installation can run, with their parameters")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }, command: Command) => {
      await loadFlowCatalog(createContext(command));
      const { registeredFlows } = await import("../../orchestration/api.ts");
      const { z } = await import("zod");
      const rows = registeredFlows().map((f) => {
        const schema = z.toJSONSchema(f.options.parameters, {
          io: "input",
          unrepresentable: "any",
        }) as { properties?: Record<string, JsonSchemaType>; required?: string[] };
        const required = new Set(schema.required ?? []);
        return {
          name: f.name,
          description: f.options.description ?? "",
          parameters: Object.entries(schema.properties ?? {}).map(([name, property]) => ({
            name,
            type: typeName(property),
            required: required.has(name),
            ...(property.default === undefined ? {} : { default: property.default }),
          })),
        };
      });
      if (flags.json) return printJson({ flows: rows });
      printTable(
        ["FLOW", "PARAMETERS", "DESCRIPTION"],
        rows.map((r) => [
          r.name,
          r.parameters
            .map(
              (p) =>
                `${p.name}${p.required ? "" : "?"}: ${p.type}${p.default === undefined ? "" : ` = ${JSON.stringify(p.default)}`}`,
            )
            .join(", "),
          r.description,
        ]),
      );
    });

  withStartOptions(
    flows
      .command("run")
      .description("start a flow run; with --wait, wait for its end and exit 1 unless it completed")
      .argument("<name>", "flow name (see flows list)"),
    "a parameter (repeatable; values are JSON or text)",
  ).action((name: string, flags: StartFlags, command: Command) =>
    withOrchestrator(command, async (orchestrator) => {
      const started = await orchestrator.start(await flowNamed(name), flags.param ?? {}, {
        idempotencyKey: flags.idempotencyKey,
      });
      await reportStartedRun(orchestrator, name, started, flags.wait);
    }),
  );

  registerFlowRunsCommands(flows);
}
