/** @jsxRuntime automatic @jsxImportSource hono/jsx */
// Pieces of the models pages: the registered models, a model's aliases with the confirmed forms
// that move them (the served alias first), its details, and its versions with their source run,
// registration gate decision and a "make <served alias>" button.
import type { Child, FC } from "hono/jsx";
import { gateTags } from "../../flows/train-files.ts";
import type { RegisteredModel } from "../../tracking/entities.ts";
import type { ModelVersionsPage } from "../../tracking/model-versions.ts";
import { Empty, SelectField, Table, Time } from "./components.tsx";

/** An alias as a badge, green for the one the online API serves. */
const AliasBadge: FC<{ alias: string; served: string; children?: Child }> = ({
  alias,
  served,
  children,
}) => <span class={`badge ${alias === served ? "ok" : "muted"}`}>{children ?? alias}</span>;

export const ModelsTable: FC<{ models: RegisteredModel[]; servedAlias: string }> = ({
  models,
  servedAlias,
}) => (
  <Table head={["Name", "Aliases", { numeric: "Latest version" }, "Updated", "Description"]}>
    {models.map((model) => (
      <tr>
        <td>
          <a href={`/models/${encodeURIComponent(model.name)}`}>{model.name}</a>
        </td>
        <td>
          {model.aliases.map(({ alias, version }) => (
            <>
              <AliasBadge alias={alias} served={servedAlias}>
                {alias} → v{version}
              </AliasBadge>{" "}
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
  </Table>
);

/** The model's aliases, each with a form moving it to a chosen version, and one setting a new alias. */
export const AliasesCard: FC<{
  model: RegisteredModel;
  servedAlias: string;
  /** The versions an alias may move to, newest first. */
  versionChoices: string[];
}> = ({ model, servedAlias, versionChoices }) => {
  const action = `/models/${encodeURIComponent(model.name)}/aliases`;
  const aliases = [...model.aliases].sort((a, b) =>
    a.alias === servedAlias ? -1 : b.alias === servedAlias ? 1 : a.alias < b.alias ? -1 : 1,
  );
  return (
    <section class="card" id="aliases">
      <h2>Aliases</h2>
      <p class="muted">
        The online prediction API serves <code>{servedAlias}</code>, and follows it within seconds
        of a move.
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
                    <AliasBadge alias={alias} served={servedAlias} />
                  </th>
                  <td>version {version}</td>
                  <td>
                    <form
                      method="post"
                      action={action}
                      class="inline"
                      data-confirm={`Move the alias "${alias}" of ${model.name} from version ${version} to the chosen version?${alias === servedAlias ? " The online prediction API will serve that version." : ""}`}
                    >
                      <input type="hidden" name="alias" value={alias} />
                      <SelectField
                        label="to version"
                        name="version"
                        options={versionChoices}
                        selected={version}
                        required
                      />
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
          action={action}
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
          <SelectField
            label="Version"
            name="version"
            options={versionChoices}
            selected={model.latestVersions[0]?.version}
            required
          />
          <button type="submit" class="secondary">
            Set alias
          </button>
        </form>
      ) : null}
    </section>
  );
};

export const ModelCard: FC<{ model: RegisteredModel }> = ({ model }) => (
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
);

export const VersionsTable: FC<{
  model: RegisteredModel;
  listing: ModelVersionsPage;
  servedAlias: string;
}> = ({ model, listing, servedAlias }) => {
  const action = `/models/${encodeURIComponent(model.name)}/aliases`;
  const served = model.aliases.find((a) => a.alias === servedAlias)?.version;
  return (
    <Table
      head={[{ numeric: "Version" }, "Aliases", "Source run", "Gate", "Status", "Registered", ""]}
    >
      {listing.versions.map((v) => {
        const run = listing.runs.get(v.runId);
        const gate = gateTags(v.tags);
        return (
          <tr id={`version-${v.version}`}>
            <td class="num">{v.version}</td>
            <td>
              {v.aliases.map((alias) => (
                <>
                  <AliasBadge alias={alias} served={servedAlias} />{" "}
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
                  action={action}
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
    </Table>
  );
};
