/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// The models pages and their /api/v1 endpoints: registered models, a model's versions with
// their source run, registration gate decision and aliases, and moving an alias (`champion`
// or any other) to another version, from a confirmed form or the JSON API.
import { type Context, Hono } from "hono";
import type { Child } from "hono/jsx";
import { gateTags } from "../../flows/train-files.ts";
import type { RegisteredModel, Tag } from "../../tracking/entities.ts";
import { TrackingError } from "../../tracking/errors.ts";
import { modelVersionsWithRuns } from "../../tracking/model-versions.ts";
import { checkAlias, checkVersion } from "../../tracking/validation.ts";
import type { ServerContext, ServerEnv } from "../context.ts";
import { Empty, Pager } from "../ui/components.tsx";
import { Page } from "../ui/layout.tsx";
import { AliasesCard, ModelCard, ModelsTable, VersionsTable } from "../ui/models.tsx";
import {
  errorPage,
  FieldInputError,
  jsonError,
  parseMaxResults,
  statusOf,
} from "./field-error.tsx";

const MODELS_PAGE_SIZE = 100;
const VERSIONS_PAGE_DEFAULT = 25;
const VERSIONS_PAGE_MAX = 100;

type C = Context<ServerEnv>;

export function modelsRoutes(context: ServerContext): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const tracking = context.tracking;
  const loggedIn = context.token !== undefined;
  const servedAlias = context.config.server.predict.alias;
  const refused = {
    section: "models",
    loggedIn,
    back: { href: "/models", text: "All registered models" },
  } as const;

  /** The model's versions, newest first, a page of the query's max_results at a time. */
  const versionsOf = (
    name: string,
    maxResults: string | null | undefined,
    pageToken: string | null | undefined,
  ) =>
    modelVersionsWithRuns(tracking, name, {
      maxResults: parseMaxResults(maxResults, VERSIONS_PAGE_DEFAULT, VERSIONS_PAGE_MAX),
      pageToken: pageToken || undefined,
    });

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
      listing = await versionsOf(name, query.get("max_results"), query.get("page_token"));
    } catch (error) {
      return errorPage(c, error, refused);
    }
    const base = `/models/${encodeURIComponent(name)}`;
    const latest = model.latestVersions[0]?.version;
    const versionChoices = [
      ...new Set([
        ...listing.versions.map((v) => v.version),
        ...model.aliases.map((a) => a.version),
      ]),
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
          <AliasesCard model={model} servedAlias={servedAlias} versionChoices={versionChoices} />
          <ModelCard model={model} />
        </div>
        <h2>Versions</h2>
        {listing.versions.length === 0 ? (
          <Empty>No versions registered.</Empty>
        ) : (
          <VersionsTable model={model} listing={listing} servedAlias={servedAlias} />
        )}
        <Pager base={base} query={query} next={listing.nextPageToken} />
      </Page>,
      status,
    );
  };

  /** Points `alias` at `version`, naming the field at fault when the model or version is missing. */
  const moveAlias = async (name: string, alias: string, version: string) => {
    try {
      await tracking.getRegisteredModel(name);
    } catch (error) {
      if (error instanceof TrackingError && error.code === "RESOURCE_DOES_NOT_EXIST")
        throw new FieldInputError("name", `no registered model named ${JSON.stringify(name)}`, 404);
      throw error;
    }
    try {
      await tracking.setAlias(name, alias, version);
    } catch (error) {
      if (error instanceof TrackingError && error.code === "RESOURCE_DOES_NOT_EXIST")
        throw new FieldInputError(
          "version",
          `version ${version} of registered model ${JSON.stringify(name)} does not exist`,
          404,
        );
      throw error;
    }
  };

  app.get("/models", async (c) => {
    let page: Awaited<ReturnType<typeof tracking.searchRegisteredModels>>;
    try {
      page = await tracking.searchRegisteredModels({
        maxResults: MODELS_PAGE_SIZE,
        pageToken: c.req.query("page_token") || undefined,
      });
    } catch (error) {
      return errorPage(c, error, refused);
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
          <ModelsTable models={page.items} servedAlias={servedAlias} />
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
      const status = statusOf(error);
      if (status === undefined) throw error;
      return modelPage(
        c,
        name,
        { kind: "bad", text: `The alias was not moved: ${(error as Error).message}` },
        status,
      );
    }
  });

  app.get("/api/v1/models", async (c) => {
    try {
      const page = await tracking.searchRegisteredModels({
        maxResults: MODELS_PAGE_SIZE,
        pageToken: c.req.query("page_token") || undefined,
      });
      return c.json({
        models: page.items.map((model) => ({
          ...modelJson(model),
          latestVersion: model.latestVersions[0]?.version ?? null,
          aliases: aliasMap(model),
          tags: tagMap(model.tags),
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
      const listing = await versionsOf(name, c.req.query("max_results"), c.req.query("page_token"));
      return c.json({
        ...modelJson(model),
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
          gate: gateTags(v.tags),
          tags: tagMap(v.tags),
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
        throw new FieldInputError(
          "body",
          'expected a JSON body (Content-Type: application/json) such as {"version": "2"}',
        );
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        throw new FieldInputError("body", 'the body is not valid JSON; expected {"version": "2"}');
      }
      if (body === null || typeof body !== "object" || Array.isArray(body))
        throw new FieldInputError("body", 'expected a JSON object such as {"version": "2"}');
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

/** The alias and version of a move, checked, each problem naming its field. */
function aliasMove(alias: unknown, version: unknown): { alias: string; version: string } {
  if (alias === undefined || alias === "")
    throw new FieldInputError("alias", "alias: missing; name the alias to move, such as champion");
  if (version === undefined || version === null || version === "")
    throw new FieldInputError(
      "version",
      'version: missing; give the version to point the alias at, such as "2"',
    );
  let checkedAlias: string;
  let checkedVersion: string;
  try {
    checkedAlias = checkAlias(alias);
  } catch (error) {
    throw new FieldInputError("alias", (error as Error).message);
  }
  try {
    checkedVersion = checkVersion(typeof version === "string" ? version.trim() : version);
  } catch (error) {
    throw new FieldInputError("version", (error as Error).message);
  }
  return { alias: checkedAlias, version: checkedVersion };
}

/** What the JSON of a model and of its list entry share. */
function modelJson(model: RegisteredModel) {
  return {
    name: model.name,
    description: model.description,
    creationTimestamp: model.creationTimestamp,
    lastUpdatedTimestamp: model.lastUpdatedTimestamp,
  };
}

function aliasMap(model: RegisteredModel): Record<string, string> {
  return Object.fromEntries(model.aliases.map((a) => [a.alias, a.version]));
}

function tagMap(tags: Tag[]): Record<string, string> {
  return Object.fromEntries(tags.map((t) => [t.key, t.value]));
}
