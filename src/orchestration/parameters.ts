// A flow's parameters as a form shows and reads them: the fields of its zod object with their
// descriptions and default values, a typed `key=value` value read as the CLI's --param reads
// it, and the first parameter a set of values gets wrong, named.
import { z } from "zod";
import type { AnyFlow } from "./api.ts";

export interface ParameterField {
  name: string;
  description: string | undefined;
  /** The value used when the field is left empty: the deployment's, else the flow's default. */
  value: unknown;
}

/** The fields of a flow whose parameters are an object; none for any other schema. */
export function parameterFields(
  definition: AnyFlow,
  defaults: Record<string, unknown> = {},
): ParameterField[] {
  const schema = definition.options.parameters;
  if (!(schema instanceof z.ZodObject)) return [];
  const flowDefaults = schema.safeParse(defaults);
  const resolved = (flowDefaults.success ? flowDefaults.data : defaults) as Record<string, unknown>;
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => ({
    name,
    description: field.description,
    value: name in defaults ? defaults[name] : resolved[name],
  }));
}

/** A typed value: JSON when the text is JSON (`3`, `true`, `[1,2]`), else the text itself. */
export function parameterValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * A value typed into a form's field for parameter `name`: the text itself when the flow takes
 * it, else its JSON reading when the flow takes that (`[1,2]` for a list), else the text (the
 * check then names the parameter).
 */
export function formParameterValue(definition: AnyFlow, name: string, text: string): unknown {
  const schema = definition.options.parameters;
  const field =
    schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType>)[name] : undefined;
  if (field === undefined || field.safeParse(text).success) return text;
  const parsed = parameterValue(text);
  return field.safeParse(parsed).success ? parsed : text;
}

export interface ParameterProblem {
  /** The parameter at fault (`tasks`, `window.days`), or `parameters` for the whole. */
  field: string;
  message: string;
}

/** What is wrong with `parameters` for the flow, the first problem naming its parameter. */
export function parameterProblem(
  definition: AnyFlow,
  parameters: unknown,
): ParameterProblem | undefined {
  const parsed = definition.options.parameters.safeParse(parameters);
  if (parsed.success) return undefined;
  const issue = parsed.error.issues[0];
  if (issue === undefined) return { field: "parameters", message: parsed.error.message };
  const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
  const path = [...issue.path.map(String), ...keys.slice(0, 1)];
  const field = path.length > 0 ? path.join(".") : "parameters";
  const message =
    issue.code === "unrecognized_keys"
      ? `flow ${definition.name} has no parameter ${JSON.stringify(field)}`
      : `parameter ${field} of flow ${definition.name}: ${issue.message}`;
  return { field, message };
}
