// A fixed pool of worker threads running one module: tasks queue up and each worker takes
// one at a time. A worker that dies fails only its own task and is replaced.
import { Worker } from "node:worker_threads";

/**
 * Starts a worker thread on the module `name` beside `base` (an import.meta.url): the .js file
 * once compiled, the .ts file when running from source under tsx. Node 20 does not carry
 * tsx's loader into worker threads, so there the worker registers it itself, after loading
 * `preload` (bare package names) as plain JavaScript: tsx would spend seconds rewriting a
 * large package such as h5wasm.
 */
export function startWorker(
  base: string,
  name: string,
  workerData: unknown,
  preload: string[] = [],
): Worker {
  const fromSource = new URL(base).pathname.endsWith(".ts");
  const module = new URL(`./${name}${fromSource ? ".ts" : ".js"}`, base).href;
  if (!fromSource) return new Worker(new URL(module), { workerData });
  const imports = [
    ...preload.map((p) => import.meta.resolve(p)),
    import.meta.resolve("tsx/esm/api"),
  ];
  const code = `(async () => {
    const loaded = [];
    for (const specifier of ${JSON.stringify(imports)}) loaded.push(await import(specifier));
    loaded.at(-1).register();
    await import(${JSON.stringify(module)});
  })().catch((error) => process.nextTick(() => { throw error; }));`;
  return new Worker(code, { eval: true, workerData });
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
    private readonly preload: string[] = [],
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
    const worker = startWorker(this.base, this.name, this.workerData, this.preload);
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
