// The registered model behind an alias (champion by default), kept loaded for online
// predictions. Every refreshSeconds it asks the registry where the alias points; when it has
// moved, the new version is downloaded, loaded and warmed up in the background and then
// replaces the old one in a single assignment: a request holds the ServedModel it started
// with, so requests in flight end on the old model and none fails during the swap. A version
// that cannot be loaded leaves the old one serving (and is retried a minute later); an alias
// that is gone leaves nothing served, and requests get a ModelUnavailableError until one is
// there.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errorMessage } from "../common/errors.ts";
import type { Logger } from "../common/logger.ts";
import type { TrackingClient } from "../tracking/client.ts";
import type { ModelVersion } from "../tracking/entities.ts";
import { TrackingError } from "../tracking/errors.ts";
import { loadModel } from "../training/use.ts";
import { ModelUnavailableError } from "./errors.ts";
import { ModelPredictor } from "./predictor.ts";

/** A version that failed to load is tried again after this long, unless the alias moves. */
const RETRY_FAILED_MS = 60_000;

export interface ServedModel {
  name: string;
  version: string;
  alias: string;
  runId: string;
  /** When this process loaded it. */
  loadedAt: Date;
  predictor: ModelPredictor;
}

export interface OnlineModelOptions {
  tracking: Pick<TrackingClient, "getModelVersionByAlias" | "downloadModelVersion">;
  /** The registered model (config pipeline.registeredModel). */
  name: string;
  /** config server.predict.alias. */
  alias: string;
  /** config server.predict.refreshSeconds. */
  refreshSeconds: number;
  log: Logger;
}

export interface OnlineModelStatus {
  name: string;
  alias: string;
  served: ServedModel | undefined;
  /** When the alias was last looked up. */
  checkedAt: Date | undefined;
  /** Why the last look-up or load did not end with the alias's version served. */
  problem: string | undefined;
}

export class OnlineModel {
  private current: ServedModel | undefined;
  private checking: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private checkedAt: Date | undefined;
  private problem: string | undefined;
  /** Versions that failed to load, with when. */
  private readonly failed = new Map<string, number>();

  constructor(private readonly options: OnlineModelOptions) {}

  /** Starts watching the alias: a first look-up at once, then one every refreshSeconds. */
  static start(options: OnlineModelOptions): OnlineModel {
    const online = new OnlineModel(options);
    void online.refresh();
    online.timer = setInterval(() => void online.refresh(), options.refreshSeconds * 1000);
    online.timer.unref();
    return online;
  }

  get name(): string {
    return this.options.name;
  }

  get alias(): string {
    return this.options.alias;
  }

  /** The model served now, if any. */
  get served(): ServedModel | undefined {
    return this.current;
  }

  /** The model served now; a ModelUnavailableError when there is none. */
  require(): ServedModel {
    const served = this.current;
    if (served !== undefined) return served;
    const { alias, name } = this.options;
    throw new ModelUnavailableError(
      `no model behind alias ${alias} of ${name}; train one (genre-classifier train)${this.problem ? ` (${this.problem})` : ""}`,
    );
  }

  status(): OnlineModelStatus {
    return {
      name: this.options.name,
      alias: this.options.alias,
      served: this.current,
      checkedAt: this.checkedAt,
      problem: this.problem,
    };
  }

  /** Looks the alias up now and loads what it points to; joins a look-up already under way. */
  refresh(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.checking ??= this.check().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  /** Stops watching; a load under way is waited for and then dropped. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.checking;
    this.current = undefined;
  }

  private async check(): Promise<void> {
    const { tracking, name, alias, log } = this.options;
    let version: ModelVersion;
    try {
      version = await tracking.getModelVersionByAlias(name, alias);
    } catch (error) {
      this.checkedAt = new Date();
      if (error instanceof TrackingError && error.code === "RESOURCE_DOES_NOT_EXIST") {
        if (this.current !== undefined)
          log.warn(
            { model: name, alias, version: this.current.version },
            "online predictions: the alias is gone; no model served",
          );
        this.current = undefined;
        this.problem = undefined;
        return;
      }
      this.problem = `looking up alias ${alias} failed: ${errorMessage(error)}`;
      log.warn({ err: error, model: name, alias }, "online predictions: alias look-up failed");
      return;
    }
    this.checkedAt = new Date();
    const served = this.current;
    if (served?.version === version.version && served.name === version.name) {
      this.problem = undefined;
      return;
    }
    const failedAt = this.failed.get(version.version);
    if (failedAt !== undefined && Date.now() - failedAt < RETRY_FAILED_MS) return;
    const started = performance.now();
    try {
      const predictor = await this.load(version);
      if (this.closed) return;
      this.current = {
        name: version.name,
        version: version.version,
        alias,
        runId: version.runId,
        loadedAt: new Date(),
        predictor,
      };
      this.problem = undefined;
      this.failed.delete(version.version);
      log.info(
        {
          model: name,
          alias,
          version: version.version,
          previous: served?.version,
          ms: Math.round(performance.now() - started),
        },
        "online predictions: serving a new model version",
      );
    } catch (error) {
      this.failed.set(version.version, Date.now());
      this.problem = `version ${version.version} could not be loaded: ${errorMessage(error)}`;
      log.error(
        { err: error, model: name, alias, version: version.version },
        "online predictions: loading the aliased model version failed",
      );
    }
  }

  private async load(version: ModelVersion): Promise<ModelPredictor> {
    const dir = await mkdtemp(join(tmpdir(), "gc-serving-"));
    try {
      await this.options.tracking.downloadModelVersion(version.name, version.version, dir);
      const file = await findModelFile(dir);
      if (file === undefined)
        throw new Error(
          `${version.name} version ${version.version} (${version.source}): expected one model file (*.gcm) in its artifacts`,
        );
      const { model } = await loadModel(file);
      const predictor = new ModelPredictor(model);
      predictor.warmUp();
      return predictor;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** The single model file a downloaded model version holds. */
async function findModelFile(dir: string): Promise<string | undefined> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && e.name.endsWith(".gcm"))
    .map((e) => join(e.parentPath, e.name));
  return files.length === 1 ? files[0] : undefined;
}
