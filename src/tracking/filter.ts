// MLflow's search syntax: a filter is comparisons joined by AND, such as
// `metrics.accuracy > 0.8 and params.model = 'forest' and tags.\`data set\` LIKE 'msd%'`, and an
// order_by term is `metrics.accuracy DESC`. Parsed here into conditions that each store turns
// into SQL; what each search allows is described by a SearchGrammar. Filters and orderings are
// bounded (MLflow sets no such limits; these keep every search's SQL small and cheap). Values
// and keys are written into filter text escaped, by filterString, likeText and fieldReference.
import { invalidParameter } from "./errors.ts";

/** Characters in one filter: room for an IN list of 1,000 run ids. */
export const MAX_FILTER_LENGTH = 50_000;
/** Comparisons joined by AND in one filter. */
export const MAX_FILTER_COMPARISONS = 100;
/** Values in one IN or NOT IN list. */
export const MAX_IN_LIST_VALUES = 1000;
export const MAX_ORDER_BY_TERMS = 20;
export const MAX_ORDER_BY_TERM_LENGTH = 1000;

export type Entity = "metric" | "param" | "tag" | "attribute" | "dataset";
export type Operator =
  | "="
  | "!="
  | ">"
  | ">="
  | "<"
  | "<="
  | "LIKE"
  | "ILIKE"
  | "IN"
  | "NOT IN"
  | "IS NULL"
  | "IS NOT NULL";

export interface Condition {
  entity: Entity;
  key: string;
  operator: Operator;
  /** A number for numeric fields, a string, a list for IN, undefined for IS (NOT) NULL. */
  value: number | string | string[] | undefined;
}

export interface OrderTerm {
  entity: Entity;
  key: string;
  ascending: boolean;
}

export type FieldType = "number" | "string";

export interface SearchGrammar {
  /** What is searched, for messages: "runs". */
  subject: string;
  /** Attribute names (after aliases) and their types. */
  attributes: Record<string, FieldType>;
  attributeAliases?: Record<string, string>;
  /** Attributes that may appear in order_by. */
  orderable: string[];
  /** Entities besides attributes: metrics are numeric, the others strings. */
  entities: Entity[];
}

const PREFIXES: Record<string, Entity> = {
  metric: "metric",
  metrics: "metric",
  param: "param",
  params: "param",
  parameter: "param",
  parameters: "param",
  tag: "tag",
  tags: "tag",
  attribute: "attribute",
  attributes: "attribute",
  attr: "attribute",
  run: "attribute",
  dataset: "dataset",
  datasets: "dataset",
};

const DATASET_FIELDS = ["name", "digest", "context"];
const NUMERIC_OPERATORS: Operator[] = ["=", "!=", ">", ">=", "<", "<="];
const STRING_OPERATORS: Operator[] = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"];
const OPTIONAL_OPERATORS: Operator[] = [...STRING_OPERATORS, "IS NULL", "IS NOT NULL"];

type Token =
  | { kind: "identifier"; entity: string | undefined; key: string; quoted: boolean; at: number }
  | { kind: "string"; value: string; at: number }
  | { kind: "number"; value: number; text: string; at: number }
  | { kind: "operator"; value: string; at: number }
  | { kind: "punctuation"; value: "(" | ")" | ","; at: number }
  | { kind: "word"; value: string; at: number };

const KEYWORDS = new Set(["AND", "OR", "LIKE", "ILIKE", "IN", "NOT", "IS", "NULL", "ASC", "DESC"]);

function tokenize(text: string, what: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (message: string): never => {
    throw invalidParameter(`${what} ${quoted(text)}: ${message} at character ${i + 1}`);
  };
  const readQuoted = (quote: string): string => {
    let value = "";
    i++;
    for (;;) {
      if (i >= text.length) fail(`unterminated ${quote}`);
      const char = text[i] as string;
      if (char === "\\" && i + 1 < text.length) {
        value += text[i + 1];
        i += 2;
      } else if (char === quote) {
        if (text[i + 1] === quote) {
          value += quote;
          i += 2;
        } else {
          i++;
          return value;
        }
      } else {
        value += char;
        i++;
      }
    }
  };
  while (i < text.length) {
    const char = text[i] as string;
    const at = i;
    if (/\s/.test(char)) {
      i++;
    } else if (char === "'") {
      tokens.push({ kind: "string", value: readQuoted("'"), at });
    } else if (char === '"') {
      tokens.push({ kind: "string", value: readQuoted('"'), at });
    } else if (char === "`") {
      tokens.push({
        kind: "identifier",
        entity: undefined,
        key: readQuoted("`"),
        quoted: true,
        at,
      });
    } else if (char === "(" || char === ")" || char === ",") {
      tokens.push({ kind: "punctuation", value: char, at });
      i++;
    } else if (/[=!<>]/.test(char)) {
      const two = text.slice(i, i + 2);
      const op = ["!=", ">=", "<=", "<>", "=="].includes(two) ? two : char;
      if (op === "!") fail("expected != ");
      tokens.push({ kind: "operator", value: op === "<>" ? "!=" : op === "==" ? "=" : op, at });
      i += op.length;
    } else if (/[-+0-9.]/.test(char)) {
      const match = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/.exec(text.slice(i));
      if (!match) fail("unexpected character");
      const numberText = (match as RegExpExecArray)[0];
      tokens.push({ kind: "number", value: Number(numberText), text: numberText, at });
      i += numberText.length;
    } else if (/[\p{L}_]/u.test(char)) {
      const word = /^[\p{L}\p{N}_]+/u.exec(text.slice(i))?.[0] as string;
      i += word.length;
      if (text[i] === ".") {
        i++;
        const next = text[i];
        let key: string;
        let quoted = false;
        if (next === "`" || next === '"') {
          key = readQuoted(next);
          quoted = true;
        } else {
          key = /^[\p{L}\p{N}_./:-]*/u.exec(text.slice(i))?.[0] ?? "";
          i += key.length;
          if (!key) fail(`expected a key after "${word}."`);
        }
        tokens.push({ kind: "identifier", entity: word, key, quoted, at });
      } else if (KEYWORDS.has(word.toUpperCase())) {
        tokens.push({ kind: "word", value: word.toUpperCase(), at });
      } else {
        tokens.push({ kind: "identifier", entity: undefined, key: word, quoted: false, at });
      }
    } else {
      fail(`unexpected character ${JSON.stringify(char)}`);
    }
  }
  return tokens;
}

function resolveIdentifier(
  token: Extract<Token, { kind: "identifier" }>,
  grammar: SearchGrammar,
  what: string,
): { entity: Entity; key: string; type: FieldType } {
  let entity: Entity;
  if (token.entity === undefined) entity = "attribute";
  else {
    const known = PREFIXES[token.entity.toLowerCase()];
    if (!known)
      throw invalidParameter(
        `${what}: "${token.entity}.${token.key}" has an unknown prefix "${token.entity}" (expected ${prefixesOf(grammar)})`,
      );
    entity = known;
  }
  if (entity === "attribute") {
    const key = grammar.attributeAliases?.[token.key] ?? token.key;
    const type = grammar.attributes[key];
    if (!type)
      throw invalidParameter(
        `${what}: unknown attribute "${token.key}" for ${grammar.subject} (expected one of ${Object.keys(grammar.attributes).join(", ")})`,
      );
    return { entity, key, type };
  }
  if (!grammar.entities.includes(entity))
    throw invalidParameter(
      `${what}: ${grammar.subject} cannot be searched by ${entity}s (expected ${prefixesOf(grammar)})`,
    );
  if (entity === "dataset" && !DATASET_FIELDS.includes(token.key))
    throw invalidParameter(
      `${what}: unknown dataset field "${token.key}" (expected ${DATASET_FIELDS.join(", ")})`,
    );
  return { entity, key: token.key, type: entity === "metric" ? "number" : "string" };
}

function prefixesOf(grammar: SearchGrammar): string {
  const names: Record<Entity, string> = {
    metric: "metrics.",
    param: "params.",
    tag: "tags.",
    attribute: "attributes.",
    dataset: "datasets.",
  };
  return [...grammar.entities, "attribute" as const].map((e) => names[e]).join(", ");
}

/** The text quoted for a message, shortened when long. */
function quoted(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

/** Parses a filter; an empty or missing filter gives no conditions. */
export function parseFilter(text: string | undefined, grammar: SearchGrammar): Condition[] {
  if (text === undefined || text.trim() === "") return [];
  if (typeof text !== "string") throw invalidParameter("filter must be a string");
  if (text.length > MAX_FILTER_LENGTH)
    throw invalidParameter(
      `filter is ${text.length} characters long; at most ${MAX_FILTER_LENGTH} characters are allowed`,
    );
  if (text.includes("\u0000"))
    throw invalidParameter(`filter ${quoted(text)} contains a NUL character`);
  const what = `filter ${quoted(text)}`;
  const tokens = tokenize(text, "filter");
  const comparisons =
    1 + tokens.filter((token) => token.kind === "word" && token.value === "AND").length;
  if (comparisons > MAX_FILTER_COMPARISONS)
    throw invalidParameter(
      `filter: at most ${MAX_FILTER_COMPARISONS} comparisons joined by AND are allowed; got ${comparisons}`,
    );
  const conditions: Condition[] = [];
  let i = 0;
  const peek = () => tokens[i];
  const expected = (description: string): never => {
    const token = tokens[i];
    const found = token ? `at character ${token.at + 1}` : "at the end";
    throw invalidParameter(`${what}: expected ${description} ${found}`);
  };
  for (;;) {
    const identifier = peek();
    if (identifier?.kind !== "identifier")
      expected("a field such as metrics.accuracy, params.name or tags.name");
    i++;
    const field = resolveIdentifier(
      identifier as Extract<Token, { kind: "identifier" }>,
      grammar,
      what,
    );
    const operator = readOperator();
    const allowed =
      field.type === "number"
        ? NUMERIC_OPERATORS
        : field.entity === "param" || field.entity === "tag"
          ? OPTIONAL_OPERATORS
          : STRING_OPERATORS;
    const name = describeField(field.entity, field.key);
    if (!allowed.includes(operator))
      throw invalidParameter(
        `${what}: ${name} cannot be compared with ${operator} (expected one of ${allowed.join(", ")})`,
      );
    let value: Condition["value"];
    if (operator === "IS NULL" || operator === "IS NOT NULL") value = undefined;
    else if (operator === "IN" || operator === "NOT IN") value = readList(name);
    else if (field.type === "number") {
      const token = peek();
      if (token?.kind !== "number") expected(`a number to compare ${name} with`);
      value = (token as { value: number }).value;
      i++;
    } else {
      const token = peek();
      if (token?.kind !== "string")
        expected(
          `a quoted string to compare ${name} with (values of ${field.entity === "attribute" ? "this attribute" : `${field.entity}s`} are strings)`,
        );
      value = (token as { value: string }).value;
      i++;
    }
    conditions.push({ entity: field.entity, key: field.key, operator, value });
    const next = peek();
    if (!next) return conditions;
    if (next.kind === "word" && next.value === "AND") {
      i++;
      continue;
    }
    if (next.kind === "word" && next.value === "OR")
      throw invalidParameter(
        `${what}: OR is not supported; MLflow filters join comparisons with AND`,
      );
    expected("AND");
  }

  function readOperator(): Operator {
    const token = peek();
    if (token?.kind === "operator") {
      i++;
      return token.value as Operator;
    }
    if (token?.kind === "word") {
      i++;
      if (token.value === "LIKE" || token.value === "ILIKE" || token.value === "IN")
        return token.value;
      if (
        token.value === "NOT" &&
        peek()?.kind === "word" &&
        (peek() as { value: string }).value === "IN"
      ) {
        i++;
        return "NOT IN";
      }
      if (token.value === "IS") {
        const not = peek()?.kind === "word" && (peek() as { value: string }).value === "NOT";
        if (not) i++;
        const nullToken = peek();
        if (nullToken?.kind === "word" && nullToken.value === "NULL") {
          i++;
          return not ? "IS NOT NULL" : "IS NULL";
        }
      }
      i--;
    }
    return expected("a comparison (=, !=, >, >=, <, <=, LIKE, ILIKE, IN, NOT IN, IS NULL)");
  }

  function readList(name: string): string[] {
    if (peek()?.kind !== "punctuation" || (peek() as { value: string }).value !== "(")
      expected(`a parenthesized list of quoted strings for ${name}`);
    i++;
    const values: string[] = [];
    for (;;) {
      const token = peek();
      if (token?.kind !== "string") expected("a quoted string in the list");
      values.push((token as { value: string }).value);
      i++;
      if (values.length > MAX_IN_LIST_VALUES)
        throw invalidParameter(
          `${what}: an IN list of ${name} holds at most ${MAX_IN_LIST_VALUES} values; got ${countListValues()}`,
        );
      const separator = peek();
      if (separator?.kind === "punctuation" && separator.value === ",") {
        i++;
        continue;
      }
      if (separator?.kind === "punctuation" && separator.value === ")") {
        i++;
        return values;
      }
      expected(", or )");
    }
  }

  /** The values of the list being read, counted to its end for the message. */
  function countListValues(): number {
    let count = MAX_IN_LIST_VALUES + 1;
    for (let j = i; j < tokens.length; j++) {
      const token = tokens[j] as Token;
      if (token.kind === "punctuation" && token.value === ")") break;
      if (token.kind === "string") count++;
    }
    return count;
  }
}

/** Parses order_by terms such as `metrics.accuracy DESC` or `start_time`. */
export function parseOrderBy(terms: string[] | undefined, grammar: SearchGrammar): OrderTerm[] {
  if (terms !== undefined && terms.length > MAX_ORDER_BY_TERMS)
    throw invalidParameter(
      `at most ${MAX_ORDER_BY_TERMS} order_by terms are allowed; got ${terms.length}`,
    );
  return (terms ?? []).map((term) => {
    if (typeof term !== "string") throw invalidParameter("each order_by term must be a string");
    if (term.length > MAX_ORDER_BY_TERM_LENGTH)
      throw invalidParameter(
        `order_by ${quoted(term)} is ${term.length} characters long; at most ${MAX_ORDER_BY_TERM_LENGTH} are allowed`,
      );
    const what = `order_by ${quoted(term)}`;
    const tokens = tokenize(term, "order_by");
    const [identifier, direction, extra] = tokens;
    if (identifier?.kind !== "identifier" || extra !== undefined)
      throw invalidParameter(
        `${what}: expected a field and optionally ASC or DESC, such as "metrics.accuracy DESC"`,
      );
    let ascending = true;
    if (direction !== undefined) {
      if (direction.kind !== "word" || (direction.value !== "ASC" && direction.value !== "DESC"))
        throw invalidParameter(`${what}: expected ASC or DESC after the field`);
      ascending = direction.value === "ASC";
    }
    const field = resolveIdentifier(identifier, grammar, what);
    if (field.entity === "dataset")
      throw invalidParameter(`${what}: ${grammar.subject} cannot be ordered by dataset fields`);
    if (field.entity === "attribute" && !grammar.orderable.includes(field.key)) {
      const keyed = grammar.entities.filter((e) => e !== "dataset").map((e) => `${e}s.<key>`);
      throw invalidParameter(
        `${what}: ${grammar.subject} can be ordered by ${[...grammar.orderable, ...keyed].join(", ")}`,
      );
    }
    return { entity: field.entity, key: field.key, ascending };
  });
}

function describeField(entity: Entity, key: string): string {
  return entity === "attribute" ? key : `${entity}s.${key}`;
}

/** Pages are offsets, carried as MLflow does: base64 of `{"offset": n}`. */
export function encodePageToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString("base64");
}

export function decodePageToken(token: string | undefined): number {
  if (token === undefined || token === "") return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64").toString("utf8")) as {
      offset?: unknown;
    };
    if (
      typeof parsed.offset === "number" &&
      Number.isSafeInteger(parsed.offset) &&
      parsed.offset >= 0
    )
      return parsed.offset;
  } catch {}
  throw invalidParameter(
    `page_token ${JSON.stringify(token)} is not a token returned by a previous search`,
  );
}

export function checkMaxResults(
  value: number | undefined,
  fallback: number,
  limit: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1 || value > limit)
    throw invalidParameter(`max_results ${value} must be a whole number from 1 to ${limit}`);
  return value;
}

// ---- writing filters

/** A string literal of the filter syntax: `'…'`, its quotes and backslashes escaped. */
export function filterString(value: string): string {
  return `'${value.replace(/[\\']/g, "\\$&")}'`;
}

/** Text matched literally inside a LIKE or ILIKE pattern (`%`, `_` and `\` escaped). */
export function likeText(value: string): string {
  return value.replace(/[\\%_]/g, "\\$&");
}

/** The filter of the names holding `text` (any case, its `%` and `_` taken literally). */
export function nameContainsFilter(text: string): string {
  return `name ILIKE ${filterString(`%${likeText(text)}%`)}`;
}

/** `metrics.<key>` or `params.<key>` with the key backquoted, so that any key works. */
export function fieldReference(entity: "metrics" | "params", key: string): string {
  return `${entity}.\`${key.replace(/[\\`]/g, "\\$&")}\``;
}
