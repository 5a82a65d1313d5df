// A fixed pool of worker threads running one module: tasks queue up and each worker takes
// one at a time. A worker that dies fails only its own task and is replaced.
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { basename, join, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { threadId, Worker } from "node:worker_threads";

/**
 * Starts a worker thread on the module `name` beside `base` (an import.meta.url): the .js file
 * once compiled, or, when running from .ts sources under tsx, a plain-JavaScript bundle of it.
 */
export function startWorker(base: string, name: string, workerData: unknown): Worker {
  const fromSource = new URL(base).pathname.endsWith(".ts");
  const module = new URL(`./${name}${fromSource ? ".ts" : ".js"}`, base);
  if (!fromSource) return new Worker(module, { workerData });
  // The bundle is plain JavaScript: the thread need not register tsx again (tens of ms each).
  return new Worker(bundleFromSource(fileURLToPath(module)), {
    workerData,
    execArgv: withoutTsx(process.execArgv),
  });
}

/** Node options without the ones that load tsx (`--import tsx`, `--import=tsx`, `--require`). */
function withoutTsx(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const option = execArgv[i] as string;
    if (/^--(import|require|loader)=tsx(\/|$)/.test(option)) continue;
    if (
      /^(--import|--require|--loader|-r)$/.test(option) &&
      /^tsx(\/|$)/.test(execArgv[i + 1] ?? "")
    ) {
      i++;
      continue;
    }
    kept.push(option);
  }
  return kept;
}

const bundles = new Map<string, URL>();

/**
 * Node 20 does not carry tsx's loader into worker threads, and registering it in each worker
 * costs seconds when it rewrites large packages. Instead the worker's own modules are bundled
 * once with esbuild (tsx's own dependency) into node_modules/.cache, packages left as imports.
 */
const STALE_BUNDLE_MS = 6 * 60 * 60 * 1000;

function bundleFromSource(path: string): URL {
  const known = bundles.get(path);
  if (known) return known;
  const tsx = fileURLToPath(import.meta.resolve("tsx"));
  const esbuild = createRequire(tsx)("esbuild") as {
    buildSync(options: object): { outputFiles: { text: string }[] };
  };
  const [output] = esbuild.buildSync({
    entryPoints: [path],
    bundle: true,
    packages: "external",
    format: "esm",
    platform: "node",
    target: `node${process.versions.node.split(".")[0]}`,
    write: false,
    logLevel: "silent",
  }).outputFiles;
  const code = output?.text ?? "";
  const folder = join(
    tsx.slice(0, tsx.lastIndexOf(`${sep}node_modules${sep}`)),
    "node_modules",
    ".cache",
    "genre-classifier",
  );
  const name = basename(path, ".ts");
  const file = join(
    folder,
    `${name}-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`,
  );
  if (!existsSync(file)) {
    mkdirSync(folder, { recursive: true });
    // Bundles of other sources, unless recent: a process started before an edit still uses its own.
    const old = Date.now() - STALE_BUNDLE_MS;
    for (const stale of readdirSync(folder)) {
      if (!stale.startsWith(`${name}-`) || !stale.endsWith(".mjs")) continue;
      const path = join(folder, stale);
      try {
        if (statSync(path).mtimeMs < old) rmSync(path, { force: true });
      } catch {
        // Removed by another process meanwhile.
      }
    }
    const partial = `${file}.${process.pid}.${threadId}.partial`;
    writeFileSync(partial, code);
    renameSync(partial, file);
  }
  const url = pathToFileURL(file);
  bundles.set(path, url);
  return url;
}

interface Job<T, R> {
  task: T;
  resolve(result: R): void;
  reject(error: Error): void;
}

export class WorkerPool<T, R> {
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Job<T, R>>();
  private readonly queue: Job<T, R>[] = [];
  private closed = false;

  /** Runs the module `name` beside `base` (an import.meta.url) in `size` workers; see startWorker. */
  constructor(
    private readonly base: string,
    private readonly name: string,
    readonly size: number,
    private readonly workerData: unknown,
  ) {
    for (let i = 0; i < size; i++) this.idle.push(this.spawn());
  }

  run(task: T): Promise<R> {
    if (this.closed) return Promise.reject(new Error("worker pool is closed"));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = [...this.idle, ...this.busy.keys()];
    this.idle.length = 0;
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private spawn(): Worker {
    const worker = startWorker(this.base, this.name, this.workerData);
    worker.on("message", (result: R) => {
      const job = this.busy.get(worker);
      this.busy.delete(worker);
      this.idle.push(worker);
      job?.resolve(result);
      this.dispatch();
    });
    worker.on("error", (error) => this.retire(worker, error));
    worker.on("exit", (code) => {
      if (!this.closed) this.retire(worker, new Error(`worker exited with code ${code}`));
    });
    return worker;
  }

  private retire(worker: Worker, error: Error): void {
    const job = this.busy.get(worker);
    const wasKnown = job !== undefined || this.idle.includes(worker);
    this.busy.delete(worker);
    const at = this.idle.indexOf(worker);
    if (at >= 0) this.idle.splice(at, 1);
    void worker.terminate();
    job?.reject(error);
    if (wasKnown && !this.closed) {
      this.idle.push(this.spawn());
      this.dispatch();
    }
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop() as Worker;
      const job = this.queue.shift() as Job<T, R>;
      this.busy.set(worker, job);
      worker.postMessage(job.task);
    }
  }
}
