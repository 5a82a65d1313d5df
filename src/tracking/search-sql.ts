// The search-to-SQL compiler of the tracking store: the four searches (experiments, runs,
// registered models, model versions) described once each — grammar, columns, child tables,
// default order, page sizes — and one routine that turns a parsed filter, order_by terms and a
// page token into a query and a page. filter.ts parses; this module writes the SQL.
import { type RawBuilder, sql } from "kysely";
import type { TrackingDb } from "./database.ts";
import { DATASET_CONTEXT_TAG, type Page, type SearchQuery, type ViewType } from "./entities.ts";
import { invalidParameter } from "./errors.ts";
import {
  type Condition,
  checkMaxResults,
  decodePageToken,
  type Entity,
  encodePageToken,
  type OrderTerm,
  parseFilter,
  parseOrderBy,
  type SearchGrammar,
} from "./filter.ts";
import { push } from "./rows.ts";

type Sql = RawBuilder<unknown>;

/** A child table of key-value pairs (params, tags) searched through its owner. */
interface KeyValueTable {
  table: string;
  ownerColumn: string;
  owner: Sql;
  /** A further match on the child row (`kv.`), for owners with a two-column key. */
  extraMatch?: Sql;
}

export interface SearchDefinition {
  grammar: SearchGrammar;
  table: string;
  /** The alias the columns and extra SQL use. */
  alias: string;
  /** Attribute name → column, for filters and order_by. */
  columns: Record<string, string>;
  /** Attributes filtered on an expression other than their column. */
  filterColumns?: Record<string, Sql>;
  keyValues: Partial<Record<Entity, KeyValueTable>>;
  /** Filtered by the query's view type (ACTIVE_ONLY by default). */
  lifecycleColumn?: string;
  pageDefault: number;
  pageLimit: number;
  /** Ordered by this attribute's term when order_by does not name the attribute. */
  implicitOrder?: { attribute: string; term: Sql };
  tiebreak: Sql[];
  /** Conditions on entities other than attributes and key-value tables. */
  otherConditions?: (conditions: Condition[]) => Sql[];
  otherOrder?: (term: OrderTerm) => Sql | undefined;
}

export interface ParsedSearch {
  conditions: Condition[];
  order: OrderTerm[];
  limit: number;
  offset: number;
  viewType: ViewType | undefined;
}

/** Checks and parses a query: the filter, the order_by terms, max_results and the page token. */
export function parseSearch(
  definition: SearchDefinition,
  query: SearchQuery & { viewType?: ViewType | undefined },
): ParsedSearch {
  return {
    conditions: parseFilter(query.filter, definition.grammar),
    order: parseOrderBy(query.orderBy, definition.grammar),
    limit: checkMaxResults(query.maxResults, definition.pageDefault, definition.pageLimit),
    offset: decodePageToken(query.pageToken),
    viewType: query.viewType,
  };
}

/**
 * Runs a parsed search, restricted further by `scope`, and hydrates the page's rows; rows are
 * fetched with one extra, which tells whether more follow.
 */
export async function searchPage<R, T>(
  db: TrackingDb,
  definition: SearchDefinition,
  search: ParsedSearch,
  hydrate: (rows: R[]) => Promise<T[]>,
  scope: Sql[] = [],
): Promise<Page<T>> {
  const { limit, offset } = search;
  const where = [...scope, ...searchConditions(definition, search)];
  const alias = sql.raw(definition.alias);
  const { rows } = await sql<R>`
      select ${alias}.* from ${sql.table(definition.table)} ${alias}
      where ${where.length > 0 ? sql.join(where, sql` and `) : sql`1 = 1`}
      order by ${sql.join(searchOrder(definition, search.order))}
      limit ${limit + 1} offset ${offset}`.execute(db);
  return {
    items: await hydrate(rows.slice(0, limit)),
    nextPageToken: rows.length > limit ? encodePageToken(offset + limit) : undefined,
  };
}

function searchConditions(definition: SearchDefinition, search: ParsedSearch): Sql[] {
  const { conditions } = search;
  const where: Sql[] = [];
  if (definition.lifecycleColumn)
    where.push(lifecycleCondition(sql.ref(definition.lifecycleColumn), search.viewType));
  for (const condition of conditions) {
    if (condition.entity !== "attribute") continue;
    const filterColumn = definition.filterColumns?.[condition.key];
    where.push(
      filterColumn
        ? stringComparison(filterColumn, condition)
        : columnComparison(sql.ref(definition.columns[condition.key] as string), condition),
    );
  }
  for (const [entity, table] of Object.entries(definition.keyValues))
    where.push(
      ...keyValueConditions(
        table,
        conditions.filter((c) => c.entity === entity),
      ),
    );
  if (definition.otherConditions) where.push(...definition.otherConditions(conditions));
  return where;
}

function searchOrder(definition: SearchDefinition, order: OrderTerm[]): Sql[] {
  const orderBy = order.map((term) => {
    const other = definition.otherOrder?.(term);
    if (other) return other;
    const keyValues = definition.keyValues[term.entity];
    if (keyValues) {
      const { table, ownerColumn, owner, extraMatch } = keyValues;
      return orderByValue(
        sql`(select kv.value from ${sql.table(table)} kv where kv.${sql.ref(ownerColumn)} = ${owner}${extraMatch ? sql` and ${extraMatch}` : sql``} and kv.key = ${term.key})`,
        term.ascending,
      );
    }
    return orderByValue(sql.ref(definition.columns[term.key] as string), term.ascending);
  });
  const implicit = definition.implicitOrder;
  if (implicit && !order.some((t) => t.entity === "attribute" && t.key === implicit.attribute))
    orderBy.push(implicit.term);
  orderBy.push(...definition.tiebreak);
  return orderBy;
}

function lifecycleCondition(column: Sql, viewType: ViewType | undefined): Sql {
  switch (viewType ?? "ACTIVE_ONLY") {
    case "ACTIVE_ONLY":
      return sql`${column} = 'active'`;
    case "DELETED_ONLY":
      return sql`${column} = 'deleted'`;
    case "ALL":
      return sql`1 = 1`;
    default:
      throw invalidParameter(
        `view type ${JSON.stringify(viewType)} must be ACTIVE_ONLY, DELETED_ONLY or ALL`,
      );
  }
}

const SQL_OPERATORS: Record<string, string> = {
  "=": "=",
  "!=": "<>",
  ">": ">",
  ">=": ">=",
  "<": "<",
  "<=": "<=",
};

/** A comparison of a string or number column with the condition's value. */
function columnComparison(column: Sql, condition: Condition): Sql {
  if (typeof condition.value === "number")
    return sql`${column} ${sql.raw(SQL_OPERATORS[condition.operator] as string)} ${condition.value}`;
  return stringComparison(column, condition);
}

function stringComparison(column: Sql, condition: Condition): Sql {
  const value = condition.value;
  switch (condition.operator) {
    case "LIKE":
      return sql`${column} like ${value} escape '\\'`;
    case "ILIKE":
      return sql`lower(${column}) like lower(${value}) escape '\\'`;
    case "IN":
      return sql`${column} in (${sql.join(value as string[])})`;
    case "NOT IN":
      return sql`${column} not in (${sql.join(value as string[])})`;
    case "=":
    case "!=":
      return sql`${column} ${sql.raw(SQL_OPERATORS[condition.operator] as string)} ${value}`;
    default:
      throw invalidParameter(`${condition.operator} does not apply to strings`);
  }
}

/**
 * Whether a child row exists: a scalar subquery rather than EXISTS, because PostgreSQL turns each
 * EXISTS into a semi-join and searches their join orders, a search that grows exponentially with
 * their number (66 s to plan 300 of them), whereas a scalar subquery stays one cheap sub-plan.
 */
function rowTest(from: Sql, match: Sql[], present: boolean): Sql {
  const row = sql`(select 1 from ${from} where ${sql.join(match, sql` and `)} limit 1)`;
  return present ? sql`${row} is not null` : sql`${row} is null`;
}

/** Conditions grouped by key, IS NULL apart: a child table holds one row per owner and key. */
function byKeyAndPresence(conditions: Condition[]): Condition[][] {
  const groups = new Map<string, Condition[]>();
  for (const condition of conditions)
    push(groups, `${condition.operator === "IS NULL"}:${condition.key}`, condition);
  return [...groups.values()];
}

function isNullTest(condition: Condition): boolean {
  return condition.operator === "IS NULL" || condition.operator === "IS NOT NULL";
}

/**
 * Conditions on a key-value child table (params, tags, experiment tags, model tags), one test
 * per key: `params.a > '1' and params.a < '5'` looks up the param once.
 */
function keyValueConditions(
  { table, ownerColumn, owner, extraMatch }: KeyValueTable,
  conditions: Condition[],
): Sql[] {
  return byKeyAndPresence(conditions).map((group) => {
    const first = group[0] as Condition;
    return rowTest(
      sql`${sql.table(table)} kv`,
      [
        sql`kv.${sql.ref(ownerColumn)} = ${owner}`,
        extraMatch ?? sql`1 = 1`,
        sql`kv.key = ${first.key}`,
        ...group.filter((c) => !isNullTest(c)).map((c) => stringComparison(sql.ref("kv.value"), c)),
      ],
      first.operator !== "IS NULL",
    );
  });
}

function orderByValue(value: Sql, ascending: boolean): Sql {
  return sql`${value} ${sql.raw(ascending ? "asc" : "desc")} nulls last`;
}

// ---- the four searches

export const EXPERIMENT_SEARCH: SearchDefinition = {
  grammar: {
    subject: "experiments",
    attributes: {
      name: "string",
      experiment_id: "string",
      creation_time: "number",
      last_update_time: "number",
    },
    orderable: ["name", "experiment_id", "creation_time", "last_update_time"],
    entities: ["tag"],
  },
  table: "experiments",
  alias: "e",
  columns: {
    name: "e.name",
    experiment_id: "e.experiment_id",
    creation_time: "e.creation_time",
    last_update_time: "e.last_update_time",
  },
  filterColumns: { experiment_id: sql`cast(${sql.ref("e.experiment_id")} as text)` },
  keyValues: {
    tag: {
      table: "experiment_tags",
      ownerColumn: "experiment_id",
      owner: sql.ref("e.experiment_id"),
    },
  },
  lifecycleColumn: "e.lifecycle_stage",
  pageDefault: 1000,
  pageLimit: 50_000,
  implicitOrder: { attribute: "creation_time", term: sql`e.creation_time desc` },
  tiebreak: [sql`e.experiment_id desc`],
};

const RUN_COLUMNS: Record<string, string> = {
  run_id: "r.run_uuid",
  run_name: "r.name",
  status: "r.status",
  user_id: "r.user_id",
  artifact_uri: "r.artifact_uri",
  start_time: "r.start_time",
  end_time: "r.end_time",
};

export const RUN_SEARCH: SearchDefinition = {
  grammar: {
    subject: "runs",
    attributes: {
      run_id: "string",
      run_name: "string",
      status: "string",
      user_id: "string",
      artifact_uri: "string",
      start_time: "number",
      end_time: "number",
    },
    attributeAliases: { created: "start_time", Created: "start_time", run_uuid: "run_id" },
    orderable: [
      "start_time",
      "end_time",
      "run_name",
      "status",
      "run_id",
      "user_id",
      "artifact_uri",
    ],
    entities: ["metric", "param", "tag", "dataset"],
  },
  table: "runs",
  alias: "r",
  columns: RUN_COLUMNS,
  keyValues: {
    param: { table: "params", ownerColumn: "run_uuid", owner: sql.ref("r.run_uuid") },
    tag: { table: "tags", ownerColumn: "run_uuid", owner: sql.ref("r.run_uuid") },
  },
  lifecycleColumn: "r.lifecycle_stage",
  pageDefault: 1000,
  pageLimit: 50_000,
  implicitOrder: { attribute: "start_time", term: sql`r.start_time desc` },
  tiebreak: [sql`r.run_uuid asc`],
  otherConditions: (conditions) => [
    ...metricConditions(conditions.filter((c) => c.entity === "metric")),
    ...conditions.filter((c) => c.entity === "dataset").map(datasetCondition),
  ],
  otherOrder: (term) =>
    term.entity === "metric"
      ? orderByValue(
          sql`(select m.value from latest_metrics m where m.run_uuid = r.run_uuid and m.key = ${term.key} and m.is_nan = 0)`,
          term.ascending,
        )
      : undefined,
};

/** Metric conditions test each run's latest value of the key; NaN matches nothing. */
function metricConditions(conditions: Condition[]): Sql[] {
  return byKeyAndPresence(conditions).map((group) =>
    rowTest(
      sql`latest_metrics m`,
      [
        sql`m.run_uuid = r.run_uuid`,
        sql`m.key = ${(group[0] as Condition).key}`,
        sql`m.is_nan = 0`,
        ...group.map((c) => columnComparison(sql.ref("m.value"), c)),
      ],
      true,
    ),
  );
}

function datasetCondition(condition: Condition): Sql {
  return condition.key === "context"
    ? rowTest(
        sql`run_input_tags it`,
        [
          sql`it.run_uuid = r.run_uuid`,
          sql`it.key = ${DATASET_CONTEXT_TAG}`,
          stringComparison(sql.ref("it.value"), condition),
        ],
        true,
      )
    : rowTest(
        sql`run_inputs i join datasets d on d.dataset_uuid = i.dataset_uuid`,
        [sql`i.run_uuid = r.run_uuid`, stringComparison(sql.ref(`d.${condition.key}`), condition)],
        true,
      );
}

export const MODEL_SEARCH: SearchDefinition = {
  grammar: {
    subject: "registered models",
    attributes: { name: "string", creation_timestamp: "number", last_updated_timestamp: "number" },
    attributeAliases: { timestamp: "last_updated_timestamp" },
    orderable: ["name", "creation_timestamp", "last_updated_timestamp"],
    entities: ["tag"],
  },
  table: "registered_models",
  alias: "m",
  columns: {
    name: "m.name",
    creation_timestamp: "m.creation_time",
    last_updated_timestamp: "m.last_updated_time",
  },
  keyValues: {
    tag: { table: "registered_model_tags", ownerColumn: "name", owner: sql.ref("m.name") },
  },
  pageDefault: 100,
  pageLimit: 1000,
  tiebreak: [sql`m.name asc`],
};

export const VERSION_SEARCH: SearchDefinition = {
  grammar: {
    subject: "model versions",
    attributes: {
      name: "string",
      run_id: "string",
      source_path: "string",
      version_number: "number",
      creation_timestamp: "number",
      last_updated_timestamp: "number",
    },
    attributeAliases: { source: "source_path" },
    orderable: ["name", "version_number", "creation_timestamp", "last_updated_timestamp", "run_id"],
    entities: ["tag"],
  },
  table: "model_versions",
  alias: "v",
  columns: {
    name: "v.name",
    run_id: "v.run_id",
    source_path: "v.source",
    version_number: "v.version",
    creation_timestamp: "v.creation_time",
    last_updated_timestamp: "v.last_updated_time",
  },
  keyValues: {
    tag: {
      table: "model_version_tags",
      ownerColumn: "name",
      owner: sql.ref("v.name"),
      extraMatch: sql`kv.version = v.version`,
    },
  },
  pageDefault: 10_000,
  pageLimit: 200_000,
  tiebreak: [sql`v.name asc`, sql`v.version desc`],
};
