/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The models pages and their /api/v1 endpoints: registered models, a model's versions with
// their source run, registration gate decision and aliases, and moving an alias (`champion`
// or any other) to another version, from a confirmed form or the JSON API.
import { type Context, Hono } from "hono";
import type { Child } from "hono/jsx";
import { InputError } from "../../common/errors.ts";
import type { ModelVersion, RegisteredModel, RunInfo } from "../../tracking/entities.ts";
import { TrackingError } from "../../tracking/errors.ts";
import { checkAlias, checkVersion } from "../../tracking/validation.ts";
import type { ServerContext, ServerEnv } from "../context.ts";
import { Empty, Pager, Time } from "../ui/components.tsx";
import { Page } from "../ui/layout.tsx";
import { filterString, statusOf } from "./experiments.tsx";

const MODELS_PAGE_SIZE = 100;
const VERSIONS_PAGE_DEFAULT = 25;
const VERSIONS_PAGE_MAX = 100;
/** The version tags the train flow's registration gate sets. */
const GATE_TAGS = [
  "gate.decision",
  "gate.reason",
  "gate.champion_version",
  "gate.champion_jaccard",
];

type C = Context<ServerEnv>;

/** A bad request value, with the field it came from. */
class FieldProblem extends InputError {
  constructor(
    readonly field: string,
    message: string,
    readonly status: 400 | 404 = 400,
  ) {
    super(message);
  }
}

export function modelsRoutes(context: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const tracking = context.tracking;
  const loggedIn = context.token !== undefined;
  const servedAlias = context.config.server.predict.alias;

  const errorPage = (c: C, error: unknown) => {
    const status = problemStatus(error);
    if (status === undefined) throw error;
    return c.html(
      <Page title={status === 404 ? "Not found" : "Error"} section="models" loggedIn={loggedIn}>
        <p class="alert bad">{(error as Error).message}</p>
        <p>
          <a href="/models">All registered models</a>
        </p>
      </Page>,
      status,
    );
  };

  /** The model's versions, newest first, a page at a time, with the runs they came from. */
  const versionsOf = async (name: string, maxResults: number, pageToken: string | undefined) => {
    const page = await tracking.searchModelVersions({
      filter: `name = ${filterString(name)}`,
      orderBy: ["version_number DESC"],
      maxResults,
      pageToken,
    });
    const runs = new Map<string, RunInfo>();
    await Promise.all(
      [...new Set(page.items.map((v) => v.runId).filter((id) => id !== ""))].map(async (id) => {
        try {
          runs.set(id, await tracking.tracking.getRunInfo(id));
        } catch (error) {
          if (!(error instanceof TrackingError)) throw error;
        }
      }),
    );
    return { versions: page.items, nextPageToken: page.nextPageToken, runs };
  };

  const modelPage = async (
    c: C,
    name: string,
    notice: { kind: "ok" | "bad"; text: Child } | undefined,
    status: 200 | 400 | 404 = 200,
  ) => {
    let model: RegisteredModel;
    let listing: Awaited<ReturnType<typeof versionsOf>>;
    const query = new URL(c.req.url).searchParams;
    try {
      model = await tracking.getRegisteredModel(name);
      listing = await versionsOf(
        name,
        pageSize(query.get("max_results")),
        query.get("page_token") || undefined,
      );
    } catch (error) {
      return errorPage(c, error);
    }
    const base = `/models/${encodeURIComponent(name)}`;
    const aliases = [...model.aliases].sort((a, b) =>
      a.alias === servedAlias ? -1 : b.alias === servedAlias ? 1 : a.alias < b.alias ? -1 : 1,
    );
    const latest = model.latestVersions[0]?.version;
    const versionChoices = [
      ...new Set([...listing.versions.map((v) => v.version), ...aliases.map((a) => a.version)]),
    ].sort((a, b) => Number(b) - Number(a));
    return c.html(
      <Page
        title={model.name}
        section="models"
        loggedIn={loggedIn}
        subtitle={
          <>
            <a href="/models">Models</a> · registered model ·{" "}
            {latest === undefined ? "no versions" : `latest version ${latest}`}
          </>
        }
      >
        {notice ? (
          <p class={`alert ${notice.kind}`} role="status">
            {notice.text}
          </p>
        ) : null}
        {model.description ? <p>{model.description}</p> : null}
        <div class="grid">
          <section class="card" id="aliases">
            <h2>Aliases</h2>
            <p class="muted">
              The online prediction API serves <code>{servedAlias}</code>, and follows it within
              seconds of a move.
            </p>
            {aliases.length === 0 ? (
              <Empty>No aliases yet.</Empty>
            ) : (
              <div class="table-wrap">
                <table>
                  <tbody>
                    {aliases.map(({ alias, version }) => (
                      <tr>
                        <th>
                          <span class={`badge ${alias === servedAlias ? "ok" : "muted"}`}>
                            {alias}
                          </span>
                        </th>
                        <td>version {version}</td>
                        <td>
                          <form
                            method="post"
                            action={`${base}/aliases`}
                            class="inline"
                            data-confirm={`Move the alias "${alias}" of ${model.name} from version ${version} to the chosen version?${alias === servedAlias ? " The online prediction API will serve that version." : ""}`}
                          >
                            <input type="hidden" name="alias" value={alias} />
                            <label>
                              to version
                              <select name="version" required>
                                {versionChoices.map((choice) => (
                                  <option value={choice} selected={choice === version}>
                                    {choice}
                                  </option>
                                ))}
                              </select>
                            </label>
                            <button type="submit" class="secondary">
                              Move
                            </button>
                          </form>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
            {versionChoices.length > 0 ? (
              <form
                method="post"
                action={`${base}/aliases`}
                class="inline"
                data-confirm={`Point this alias of ${model.name} at the chosen version?`}
              >
                <label>
                  Alias
                  <input
                    type="text"
                    name="alias"
                    required
                    maxlength={255}
                    pattern="[A-Za-z0-9_\-]+"
                    placeholder="staging"
                  />
                </label>
                <label>
                  Version
                  <select name="version" required>
                    {versionChoices.map((choice) => (
                      <option value={choice} selected={choice === latest}>
                        {choice}
                      </option>
                    ))}
                  </select>
                </label>
                <button type="submit" class="secondary">
                  Set alias
                </button>
              </form>
            ) : null}
          </section>
          <section class="card">
            <h2>Model</h2>
            <dl class="kv">
              <dt>Created</dt>
              <dd>
                <Time value={model.creationTimestamp} />
              </dd>
              <dt>Updated</dt>
              <dd>
                <Time value={model.lastUpdatedTimestamp} />
              </dd>
              {model.tags.map((tag) => (
                <>
                  <dt>{tag.key}</dt>
                  <dd>{tag.value}</dd>
                </>
              ))}
            </dl>
          </section>
        </div>
        <h2>Versions</h2>
        {listing.versions.length === 0 ? (
          <Empty>No versions registered.</Empty>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th class="num">Version</th>
                  <th>Aliases</th>
                  <th>Source run</th>
                  <th>Gate</th>
                  <th>Status</th>
                  <th>Registered</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {listing.versions.map((v) => {
                  const run = listing.runs.get(v.runId);
                  const gate = gateOf(v);
                  const served = model.aliases.find((a) => a.alias === servedAlias)?.version;
                  return (
                    <tr id={`version-${v.version}`}>
                      <td class="num">{v.version}</td>
                      <td>
                        {v.aliases.map((alias) => (
                          <>
                            <span class={`badge ${alias === servedAlias ? "ok" : "muted"}`}>
                              {alias}
                            </span>{" "}
                          </>
                        ))}
                      </td>
                      <td>
                        {v.runId === "" ? (
                          <code>{v.source}</code>
                        ) : (
                          <a href={`/runs/${encodeURIComponent(v.runId)}`}>
                            {run?.runName || v.runId.slice(0, 12)}
                          </a>
                        )}
                      </td>
                      <td>
                        {gate.decision === undefined ? (
                          <span class="muted">—</span>
                        ) : (
                          <>
                            <span class={`badge ${gate.decision === "registered" ? "ok" : "bad"}`}>
                              {gate.decision}
                            </span>{" "}
                            <span class="muted">{gate.reason}</span>
                          </>
                        )}
                      </td>
                      <td>{v.status.toLowerCase()}</td>
                      <td>
                        <Time value={v.creationTimestamp} />
                      </td>
                      <td>
                        {v.aliases.includes(servedAlias) ? null : (
                          <form
                            method="post"
                            action={`${base}/aliases`}
                            data-confirm={`Make version ${v.version} of ${model.name} the ${servedAlias}${served === undefined ? "" : ` (now version ${served})`}? The online prediction API will serve it.`}
                          >
                            <input type="hidden" name="alias" value={servedAlias} />
                            <input type="hidden" name="version" value={v.version} />
                            <button type="submit" class="secondary">
                              Make {servedAlias}
                            </button>
                          </form>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        <Pager base={base} query={query} next={listing.nextPageToken} />
      </Page>,
      status,
    );
  };

  app.get("/models", async (c) => {
    let page: Awaited<ReturnType<typeof tracking.searchRegisteredModels>>;
    try {
      page = await tracking.searchRegisteredModels({
        maxResults: MODELS_PAGE_SIZE,
        pageToken: c.req.query("page_token") || undefined,
      });
    } catch (error) {
      return errorPage(c, error);
    }
    return c.html(
      <Page
        title="Models"
        section="models"
        loggedIn={loggedIn}
        subtitle={
          <>
            Registered models; the online prediction API serves the version behind{" "}
            <code>{servedAlias}</code>.
          </>
        }
      >
        {page.items.length === 0 ? (
          <Empty>
            No registered models yet: the train flow registers one when its gate passes.
          </Empty>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Aliases</th>
                  <th class="num">Latest version</th>
                  <th>Updated</th>
                  <th>Description</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((model) => (
                  <tr>
                    <td>
                      <a href={`/models/${encodeURIComponent(model.name)}`}>{model.name}</a>
                    </td>
                    <td>
                      {model.aliases.map(({ alias, version }) => (
                        <>
                          <span class={`badge ${alias === servedAlias ? "ok" : "muted"}`}>
                            {alias} → v{version}
                          </span>{" "}
                        </>
                      ))}
                    </td>
                    <td class="num">{model.latestVersions[0]?.version ?? "—"}</td>
                    <td>
                      <Time value={model.lastUpdatedTimestamp} />
                    </td>
                    <td>{model.description}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <Pager base="/models" query={new URL(c.req.url).searchParams} next={page.nextPageToken} />
      </Page>,
    );
  });

  app.get("/models/:name", async (c) => {
    const name = c.req.param("name");
    const moved = c.req.query("moved");
    let notice: { kind: "ok"; text: Child } | undefined;
    if (moved !== undefined) {
      try {
        const version = await tracking.getModelVersionByAlias(name, moved);
        notice = {
          kind: "ok",
          text: (
            <>
              Alias <strong>{moved}</strong> now points at version {version.version}.
            </>
          ),
        };
      } catch (error) {
        if (!(error instanceof TrackingError)) throw error;
      }
    }
    return modelPage(c, name, notice);
  });

  app.post("/models/:name/aliases", async (c) => {
    const name = c.req.param("name");
    const body = await c.req.parseBody();
    try {
      const { alias, version } = aliasMove(body.alias, body.version);
      await moveAlias(name, alias, version);
      return c.redirect(
        `/models/${encodeURIComponent(name)}?moved=${encodeURIComponent(alias)}#aliases`,
        303,
      );
    } catch (error) {
      const status = problemStatus(error);
      if (status === undefined) throw error;
      return modelPage(
        c,
        name,
        { kind: "bad", text: `The alias was not moved: ${(error as Error).message}` },
        status,
      );
    }
  });

  /** Points `alias` at `version`, naming the field at fault when the model or version is missing. */
  const moveAlias = async (name: string, alias: string, version: string) => {
    try {
      await tracking.getRegisteredModel(name);
    } catch (error) {
      if (error instanceof TrackingError && error.code === "RESOURCE_DOES_NOT_EXIST")
        throw new FieldProblem("name", `no registered model named ${JSON.stringify(name)}`, 404);
      throw error;
    }
    try {
      await tracking.setAlias(name, alias, version);
    } catch (error) {
      if (error instanceof TrackingError && error.code === "RESOURCE_DOES_NOT_EXIST")
        throw new FieldProblem(
          "version",
          `version ${version} of registered model ${JSON.stringify(name)} does not exist`,
          404,
        );
      throw error;
    }
  };

  app.get("/api/v1/models", async (c) => {
    try {
      const page = await tracking.searchRegisteredModels({
        maxResults: MODELS_PAGE_SIZE,
        pageToken: c.req.query("page_token") || undefined,
      });
      return c.json({
        models: page.items.map((model) => ({
          name: model.name,
          description: model.description,
          creationTimestamp: model.creationTimestamp,
          lastUpdatedTimestamp: model.lastUpdatedTimestamp,
          latestVersion: model.latestVersions[0]?.version ?? null,
          aliases: aliasMap(model),
          tags: Object.fromEntries(model.tags.map((t) => [t.key, t.value])),
        })),
        nextPageToken: page.nextPageToken ?? null,
      });
    } catch (error) {
      return jsonError(c, error, "page_token");
    }
  });

  app.get("/api/v1/models/:name", async (c) => {
    const name = c.req.param("name");
    let model: RegisteredModel;
    try {
      model = await tracking.getRegisteredModel(name);
    } catch (error) {
      return jsonError(c, error, "name");
    }
    try {
      const listing = await versionsOf(
        name,
        pageSize(c.req.query("max_results") ?? null),
        c.req.query("page_token") || undefined,
      );
      return c.json({
        name: model.name,
        description: model.description,
        creationTimestamp: model.creationTimestamp,
        lastUpdatedTimestamp: model.lastUpdatedTimestamp,
        aliases: aliasMap(model),
        versions: listing.versions.map((v) => ({
          version: v.version,
          aliases: v.aliases,
          runId: v.runId || null,
          runName: listing.runs.get(v.runId)?.runName ?? null,
          source: v.source,
          status: v.status,
          description: v.description,
          creationTimestamp: v.creationTimestamp,
          gate: gateOf(v),
          tags: Object.fromEntries(v.tags.map((t) => [t.key, t.value])),
        })),
        nextPageToken: listing.nextPageToken ?? null,
      });
    } catch (error) {
      return jsonError(c, error, "page_token");
    }
  });

  app.post("/api/v1/models/:name/aliases/:alias", async (c) => {
    const name = c.req.param("name");
    try {
      if (!(c.req.header("content-type") ?? "").toLowerCase().startsWith("application/json"))
        throw new FieldProblem(
          "body",
          'expected a JSON body (Content-Type: application/json) such as {"version": "2"}',
        );
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        throw new FieldProblem("body", 'the body is not valid JSON; expected {"version": "2"}');
      }
      if (body === null || typeof body !== "object" || Array.isArray(body))
        throw new FieldProblem("body", 'expected a JSON object such as {"version": "2"}');
      const { alias, version } = aliasMove(
        c.req.param("alias"),
        (body as { version?: unknown }).version,
      );
      await moveAlias(name, alias, version);
      return c.json({ name, alias, version });
    } catch (error) {
      return jsonError(c, error, "version");
    }
  });

  return app;
}

// ---- request values

function pageSize(value: string | null): number {
  if (value === null || value === "") return VERSIONS_PAGE_DEFAULT;
  const size = Number(value);
  if (!/^\d+$/.test(value) || size < 1 || size > VERSIONS_PAGE_MAX)
    throw new FieldProblem(
      "max_results",
      `max_results: expected a whole number from 1 to ${VERSIONS_PAGE_MAX}, got ${JSON.stringify(value.slice(0, 40))}`,
    );
  return size;
}

/** The alias and version of a move, checked, each problem naming its field. */
function aliasMove(alias: unknown, version: unknown): { alias: string; version: string } {
  if (alias === undefined || alias === "")
    throw new FieldProblem("alias", "alias: missing; name the alias to move, such as champion");
  if (version === undefined || version === null || version === "")
    throw new FieldProblem(
      "version",
      'version: missing; give the version to point the alias at, such as "2"',
    );
  let checkedAlias: string;
  let checkedVersion: string;
  try {
    checkedAlias = checkAlias(alias);
  } catch (error) {
    throw new FieldProblem("alias", (error as Error).message);
  }
  try {
    checkedVersion = checkVersion(typeof version === "string" ? version.trim() : version);
  } catch (error) {
    throw new FieldProblem("version", (error as Error).message);
  }
  return { alias: checkedAlias, version: checkedVersion };
}

function problemStatus(error: unknown): 400 | 404 | undefined {
  if (error instanceof FieldProblem) return error.status;
  return statusOf(error);
}

/** `{"error": …, "field": …}` with 400 or 404; anything else is the server's 500. */
function jsonError(c: C, error: unknown, field: string) {
  const status = problemStatus(error);
  if (status === undefined) throw error;
  return c.json(
    {
      error: (error as Error).message,
      field: error instanceof FieldProblem ? error.field : field,
    },
    status,
  );
}

// ---- what the pages show

function aliasMap(model: RegisteredModel): Record<string, string> {
  return Object.fromEntries(model.aliases.map((a) => [a.alias, a.version]));
}

/** The train flow's registration gate, from the version's `gate.*` tags. */
function gateOf(version: ModelVersion): {
  decision: string | undefined;
  reason: string | undefined;
  championVersion: string | undefined;
  championJaccard: number | undefined;
} {
  const tags = new Map(
    version.tags.filter((t) => GATE_TAGS.includes(t.key)).map((t) => [t.key, t.value]),
  );
  const jaccard = tags.get("gate.champion_jaccard");
  return {
    decision: tags.get("gate.decision"),
    reason: tags.get("gate.reason"),
    championVersion: tags.get("gate.champion_version"),
    championJaccard: jaccard === undefined ? undefined : Number(jaccard),
  };
}
