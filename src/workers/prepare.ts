/**
 * Preparing documents in worker threads: segmentation and analysis
 * ({@link prepareDocument}) are pure and CPU-bound, so a corpus is prepared on
 * every core while the main thread only adds the results to the engine
 * ({@link Engine.addPrepared}), which is cheap.
 *
 * Each worker loads jieba's dictionary once (1–2 s, ~250 MB) and then prepares
 * document after document. Results come back in input order, so passage ids
 * are assigned exactly as a sequential `addDocument` loop would assign them.
 *
 * The worker file sits next to this module: `.js` in `dist/` (production) and
 * `.ts` in `src/` when run through tsx (tests, bench), where the worker
 * registers tsx's loader before importing it.
 */
import { availableParallelism } from 'node:os';
import { on } from 'node:events';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { LoadedDocument } from '../core/types.js';
import type { PreparedDocument } from '../pipeline/prepare.js';
import type { MetadataOverrides } from '../pipeline/load.js';

/** A paper file to load in the worker: `file` inside the corpus folder `dir`. */
export interface CorpusFile {
  dir: string;
  file: string;
}

/** What a worker is asked to prepare: a document already loaded, or a file to load first. */
export type PrepareInput = LoadedDocument | CorpusFile;

/** Options of {@link prepareInWorkers}. */
export interface PrepareOptions {
  /** Worker threads (default: the machine's available parallelism, at least 1). */
  threads?: number;
  /** `duikou.metadata.json` overrides applied when files are loaded in the workers. */
  overrides?: MetadataOverrides;
  /**
   * Biwords as hashed triples (see PrepareFormOptions.packed; default true):
   * both backends index that form. Off only for a caller that needs the
   * biword strings themselves.
   */
  packed?: boolean;
}

/**
 * The URL of a worker script next to `base` (pass `import.meta.url`), and the
 * `execArgv` to start it with: under tsx the sources are `.ts`, and the worker
 * needs tsx's loader too.
 * @param name - the worker's file name without extension, relative to `base`
 */
export function workerScript(name: string, base: string): WorkerScript {
  const ts = base.endsWith('.ts') || base.endsWith('.mts');
  return { url: new URL(`${name}${ts ? '.ts' : '.js'}`, base), ts };
}

/** A worker script: its URL, and whether it is TypeScript to be loaded through tsx. */
export interface WorkerScript {
  url: URL;
  ts: boolean;
}

/**
 * Start a worker on a script. A `.ts` script is imported from a tiny bootstrap
 * that registers tsx's loader first (tsx's `register()` API): on Node 20 neither
 * `execArgv: ['--import', 'tsx']` nor importing `tsx/esm` reaches the worker's
 * entry point, which then fails on the `.ts` extension.
 */
export function startWorker(script: WorkerScript, options: WorkerOptions = {}): Worker {
  if (!script.ts) return new Worker(script.url, options);
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const boot = `import(${api}).then(({ register }) => { register(); return import(${JSON.stringify(script.url.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/**
 * Start a one-off worker and return the messages it posts until it exits. The
 * worker starts (and its `workerData` is copied) at once, so the caller's data
 * is not kept alive by the returned iterator. An error in the worker (running
 * out of its memory limit included) is thrown from the iteration; stopping the
 * iteration early stops the worker.
 */
export function workerMessages<T>(script: WorkerScript, options: WorkerOptions = {}): AsyncGenerator<T> {
  const worker = startWorker(script, options);
  // Listen now: messages posted before the first read are queued, not lost.
  return messagesOf<T>(worker, on(worker, 'message', { close: ['exit'] }));
}

async function* messagesOf<T>(worker: Worker, messages: AsyncIterator<unknown[]>): AsyncGenerator<T> {
  try {
    for await (const [message] of { [Symbol.asyncIterator]: () => messages }) yield message as T;
  } finally {
    await worker.terminate();
  }
}

/** A request to a pool worker and its answer. */
interface Request<I> {
  id: number;
  input: I;
}
type Reply<O> = { id: number; ok: true; output: O } | { id: number; ok: false; error: string };

/**
 * A fixed set of worker threads running one script; each task is posted to
 * the least busy worker and answered by `{id, ok, output | error}`. Used by
 * {@link prepareInWorkers}; the bench reuses it for its own workers.
 */
export class WorkerPool<I, O> {
  private readonly workers: Array<{ w: Worker; busy: number }> = [];
  private readonly pending = new Map<number, { resolve: (o: O) => void; reject: (e: Error) => void; slot: number }>();
  private nextId = 0;
  private closed = false;

  constructor(script: WorkerScript, threads: number) {
    for (let i = 0; i < Math.max(1, threads); i++) {
      const w = startWorker(script);
      const slot = i;
      w.on('message', (msg: Reply<O>) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        this.workers[slot]!.busy--;
        if (msg.ok) p.resolve(msg.output);
        else p.reject(new Error(msg.error));
      });
      w.on('error', (err: unknown) => this.failAll(slot, err instanceof Error ? err : new Error(String(err))));
      w.on('exit', (code) => {
        if (!this.closed) this.failAll(slot, new Error(`worker exited with code ${code}`));
      });
      this.workers.push({ w, busy: 0 });
    }
  }

  /** Number of worker threads. */
  get size(): number {
    return this.workers.length;
  }

  /** Run one task on the least busy worker. */
  run(input: I): Promise<O> {
    if (this.closed) return Promise.reject(new Error('worker pool is closed'));
    let slot = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.workers[i]!.busy < this.workers[slot]!.busy) slot = i;
    const id = this.nextId++;
    return new Promise<O>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, slot });
      this.workers[slot]!.busy++;
      this.workers[slot]!.w.postMessage({ id, input } satisfies Request<I>);
    });
  }

  /** Stop every worker; pending tasks are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((x) => x.w.terminate()));
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new Error('worker pool closed'));
    }
  }

  private failAll(slot: number, err: Error): void {
    for (const [id, p] of this.pending) {
      if (p.slot !== slot) continue;
      this.pending.delete(id);
      p.reject(err);
    }
  }
}

/**
 * Serve a pool's tasks in a worker thread: call this from the worker script.
 * @param handle - turns a task's input into its output (may be async)
 * @param transfer - the buffers of an output to move to the main thread instead of copying them
 */
export async function serveWorker<I, O>(
  handle: (input: I) => O | Promise<O>,
  transfer: (output: O) => ArrayBuffer[] = () => [],
): Promise<void> {
  const { parentPort } = await import('node:worker_threads');
  if (!parentPort) throw new Error('serveWorker must run in a worker thread');
  const port = parentPort;
  port.on('message', async (msg: Request<I>) => {
    let reply: Reply<O>;
    let moved: ArrayBuffer[] = [];
    try {
      const output = await handle(msg.input);
      reply = { id: msg.id, ok: true, output };
      moved = transfer(output);
    } catch (err) {
      reply = { id: msg.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
    }
    port.postMessage(reply, moved);
  });
}

/** A task for the prepare worker. */
export type PrepareTask = ({ doc: LoadedDocument } | { dir: string; file: string; overrides: MetadataOverrides }) & { packed?: boolean };

/**
 * Prepare documents (or load and prepare files) in worker threads.
 *
 * Results are yielded in input order; at most two tasks per thread are in
 * flight, so memory stays bounded however large the corpus. The workers are
 * stopped when the iteration ends (also on `break` or an error).
 */
export async function* prepareInWorkers(inputs: Iterable<PrepareInput>, opts: PrepareOptions = {}): AsyncGenerator<PreparedDocument> {
  const threads = Math.max(1, opts.threads ?? availableParallelism());
  const pool = new WorkerPool<PrepareTask, PreparedDocument>(workerScript('./prepare-worker', import.meta.url), threads);
  const overrides = opts.overrides ?? {};
  const packed = opts.packed ?? true;
  const window: Array<Promise<PreparedDocument>> = [];
  try {
    const it = inputs[Symbol.iterator]();
    const refill = (): void => {
      while (window.length < threads * 2) {
        const next = it.next();
        if (next.done) return;
        const x = next.value;
        const task: PrepareTask = 'text' in x ? { doc: x, packed } : { dir: x.dir, file: x.file, overrides, packed };
        const p = pool.run(task);
        p.catch(() => {}); // awaited below in order; avoid an unhandled rejection meanwhile
        window.push(p);
      }
    };
    refill();
    while (window.length > 0) {
      const prep = await window.shift()!;
      refill();
      yield prep;
    }
  } finally {
    await pool.close();
  }
}
