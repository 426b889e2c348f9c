/**
 * Contained imports: every file a user drops into the corpus folder, uploads
 * or adds from the command line is converted (and segmented and analysed) in
 * a worker thread with a memory limit and a time limit, never on the thread
 * that answers requests. A file that breaks a limit or crashes its worker is
 * refused by name (`UserInputError`), the worker is replaced, and the next
 * file goes on; the server neither dies nor stops answering.
 *
 * The worker stays up between files (starting one and loading jieba's
 * dictionary costs a second or two) and does not keep the process alive when
 * idle. Conversions of a file about to be added (the upload's check) are
 * remembered by the file's identity, so the same file is not parsed a second
 * time when the corpus sync indexes it.
 *
 * Why this is not a piscina pool (read against piscina 5.3.2): piscina does
 * give a heap limit (resourceLimits), replacement of a dead worker, idle
 * workers unref'd and killing a running task through an AbortSignal, but
 * what makes the rest of this class would stay hand-written beside it:
 * - a prepared paper comes back in parts, each sent only when this thread
 *   asks for it, so decoding a large paper never stalls the event loop;
 *   piscina answers a task with one message (parts would need a port of our
 *   own sent with the task, with this same protocol on it);
 * - the worker's own watchdog on array buffers (which the heap limit does not
 *   count; pdfjs inflates streams into them) ends it with
 *   {@link MEMORY_EXIT_CODE}; piscina turns any exit into an Error whose only
 *   trace of the code is its message text (`worker exited with code: 75`), so
 *   "too large" would be told from a crash by matching that text;
 * - the whole-process RSS backstop and the time limit stay timers here either way;
 * - piscina starts its own worker script, which then imports ours, so the
 *   TypeScript sources (tests, `npm run dev`) could not use the tsx boot of
 *   {@link startWorker} and would need a loader in `execArgv` instead.
 * One worker at a time is all it runs, so a pool library would add a
 * dependency without removing the parts that carry the containment.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { LRUCache } from 'lru-cache';
import { UserInputError } from '../core/errors.js';
import type { PreparedDocument } from '../pipeline/prepare.js';
import { startWorker, workerScript } from './prepare.js';
import { type ImportLimits, type ImportResult, importLimitsFromSettings } from '../pipeline/import/index.js';
import type { MetadataOverrides } from '../pipeline/load.js';

/** Exit code of a worker that its memory watchdog ended. */
export const MEMORY_EXIT_CODE = 75;

/** Work for the import worker. */
export type ContainedTask =
  /** Convert a file to canonical text. */
  | { kind: 'parse'; path: string; file: string }
  /** Load a corpus file (from its text when already converted) and, with `prepare`, segment and analyse it. */
  | { kind: 'load'; dir: string; file: string; overrides: MetadataOverrides; parsed?: ImportResult; prepare: boolean };

/** Passages of a prepared document, sent ahead of the reply that carries the document. */
export interface ContainedPart {
  id: number;
  part: PreparedDocument['passages'];
}

/** A task sent to the worker. */
export interface ContainedRequest {
  id: number;
  task: ContainedTask;
}

/** The worker's answer: a result, or a UserInputError's parts (`internal` for a bug). */
export type ContainedReply =
  | { id: number; ok: true; output: ImportResult | PreparedDocument }
  | { id: number; ok: false; error: { code: string; message: string; status: number; stack?: string } };

interface Job {
  id: number;
  task: ContainedTask;
  resolve: (o: ImportResult | PreparedDocument) => void;
  reject: (e: Error) => void;
}

const fileOf = (t: ContainedTask): string => t.file;

/**
 * A failure inside the importer that is not the file's fault (parsers turn a damaged
 * file into a `UserInputError` of their own): the researcher is told the file could not
 * be imported, and the log keeps the worker's stack, which is what finding the bug needs.
 */
export function importBug(file: string, error: { message: string; stack?: string }): UserInputError {
  console.error(`duikou: importing ${file} failed inside the importer: ${error.stack ?? error.message}`);
  // A parser that recursed too deep says so in V8's words; the researcher is told what it means for the file.
  const why = /Maximum call stack size exceeded/.test(error.message)
    ? 'its structure is nested too deeply to be read (a generated or damaged file?); saving it again as PDF or plain text may help'
    : error.message;
  return new UserInputError('import_failed', `${file} could not be imported: ${why} (导入失败)`, 422);
}

/**
 * Runs import tasks one at a time in a worker thread under {@link ImportLimits}.
 * A task that runs out of time or memory, or whose worker crashes, is rejected
 * with a UserInputError naming the file; the worker is replaced on the next task.
 */
export class ContainedImporter {
  private worker: Worker | null = null;
  private readonly queue: Job[] = [];
  private running: { job: Job; timer: NodeJS.Timeout; watch: NodeJS.Timeout; parts: Array<PreparedDocument['passages']> } | null = null;
  private nextId = 0;
  private closed = false;
  private readonly script = workerScript('./import-worker', import.meta.url);
  /** Files converted (parsed) so far; a load from a remembered conversion does not count. */
  conversions = 0;

  constructor(readonly limits: ImportLimits) {}

  /** Convert a file to canonical text (the check before a paper is added). */
  parse(path: string, file: string): Promise<ImportResult> {
    return this.run({ kind: 'parse', path, file }) as Promise<ImportResult>;
  }

  /**
   * Load a corpus file, segmented and analysed when `prepare` (else `passages` is empty).
   * A conversion remembered from {@link parseRemembered} for this very file is used instead of parsing again.
   */
  async load(dir: string, file: string, overrides: MetadataOverrides, prepare = true): Promise<PreparedDocument> {
    const parsed = await takeRemembered(join(dir, file));
    return (await this.run({ kind: 'load', dir, file, overrides, prepare, ...(parsed && { parsed }) })) as PreparedDocument;
  }

  /**
   * Convert a file and remember the result for the file as it is now (same
   * device, inode, size and modification time, which a rename into the corpus
   * folder keeps), for the sync that will index it.
   */
  async parseRemembered(path: string, file: string): Promise<ImportResult> {
    const result = await this.parse(path, file);
    await remember(path, result);
    return result;
  }

  private run(task: ContainedTask): Promise<ImportResult | PreparedDocument> {
    if (this.closed) return Promise.reject(new Error('the importer is closed'));
    if (task.kind === 'parse' || !task.parsed) this.conversions++;
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, resolve, reject });
      this.pump();
    });
  }

  private spawn(): Worker {
    const w = startWorker(this.script, {
      workerData: { limits: this.limits },
      resourceLimits: { maxOldGenerationSizeMb: this.limits.memoryMb },
      stdout: false,
      stderr: false,
    });
    w.on('message', (msg: ContainedReply | ContainedPart) => {
      const r = this.running;
      if (!r || r.job.id !== msg.id) return;
      if ('part' in msg) {
        r.parts.push(msg.part);
        // Ask for the next part on a later turn of the event loop, so requests are answered in between.
        setImmediate(() => w.postMessage('next'));
        return;
      }
      this.finish();
      if (msg.ok && 'passages' in msg.output) r.job.resolve({ ...msg.output, passages: r.parts.flat() });
      else if (msg.ok) r.job.resolve(msg.output);
      else if (msg.error.code === 'internal') r.job.reject(importBug(fileOf(r.job.task), msg.error));
      else r.job.reject(new UserInputError(msg.error.code, msg.error.message, msg.error.status));
    });
    w.on('error', (err: Error & { code?: string }) => {
      this.fail(w, err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : err.message);
    });
    w.on('exit', (code) => {
      this.fail(w, code === MEMORY_EXIT_CODE ? 'memory' : `its worker stopped (exit code ${code})`);
    });
    return w;
  }

  /** The running task's worker died: refuse that file, and replace the worker on the next task. */
  private fail(w: Worker, why: string): void {
    if (this.worker !== w) return;
    this.worker = null;
    void w.terminate();
    const r = this.running;
    if (!r) return;
    this.finish();
    const file = fileOf(r.job.task);
    r.job.reject(
      why === 'memory'
        ? new UserInputError(
            'import_too_large',
            `${file} needs more than ${this.limits.memoryMb} MB of memory to import (a decompression bomb?); it was skipped (文件过大或异常，已跳过)`,
            422,
          )
        : new UserInputError('import_failed', `${file} could not be imported: ${why} (导入失败，已跳过)`, 422),
    );
  }

  private finish(): void {
    if (this.running) {
      clearTimeout(this.running.timer);
      clearInterval(this.running.watch);
    }
    this.running = null;
    this.worker?.unref();
    queueMicrotask(() => this.pump());
  }

  private pump(): void {
    if (this.running || this.closed) return;
    const job = this.queue.shift();
    if (!job) return;
    this.worker ??= this.spawn();
    const w = this.worker;
    w.ref();
    const timer = setTimeout(() => {
      if (this.running?.job !== job) return;
      this.worker = null;
      this.finish();
      void w.terminate();
      job.reject(
        new UserInputError(
          'import_timeout',
          `${fileOf(job.task)} took longer than ${Math.round(this.limits.timeoutMs / 1000)} s to import; it was skipped (导入超时，已跳过)`,
          422,
        ),
      );
    }, this.limits.timeoutMs);
    // A backstop for memory the worker's own limits cannot see (native buffers grown
    // inside one long synchronous step): the whole process's growth since the task began.
    const rss0 = process.memoryUsage.rss();
    const watch = setInterval(() => {
      if (process.memoryUsage.rss() - rss0 > (2 * this.limits.memoryMb + 256) * 1024 * 1024) this.fail(w, 'memory');
    }, 100);
    watch.unref();
    this.running = { job, timer, watch, parts: [] };
    w.postMessage({ id: job.id, task: job.task } satisfies ContainedRequest);
  }

  /** Stop the worker; queued and running tasks are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const r = this.running;
    if (r) {
      clearTimeout(r.timer);
      clearInterval(r.watch);
    }
    this.running = null;
    const w = this.worker;
    this.worker = null;
    for (const j of [...(r ? [r.job] : []), ...this.queue.splice(0)]) j.reject(new Error('the importer was closed'));
    await w?.terminate();
  }
}

// --- conversions remembered between an upload's check and the sync ----------

/** Remembered conversions by file identity; small, each taken once, none kept past ten minutes. */
const remembered = new LRUCache<string, ImportResult>({ max: 64, ttl: 10 * 60_000 });

async function identity(path: string): Promise<string | null> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`;
  } catch {
    return null;
  }
}

async function remember(path: string, result: ImportResult): Promise<void> {
  const key = await identity(path);
  if (key !== null) remembered.set(key, result);
}

async function takeRemembered(path: string): Promise<ImportResult | undefined> {
  if (remembered.size === 0) return undefined;
  const key = await identity(path);
  if (key === null) return undefined;
  const hit = remembered.get(key);
  remembered.delete(key);
  return hit;
}

// --- the process's importer ---------------------------------------------------

let shared: ContainedImporter | null = null;

/** The importer every import path uses, with the limits from the settings unless {@link configureImports} set others. */
export function containedImporter(): ContainedImporter {
  shared ??= new ContainedImporter(importLimitsFromSettings());
  return shared;
}

/**
 * Use other limits from now on (tests use small ones); the previous worker is stopped.
 * @param limits - fields to change from the settings' limits
 */
export async function configureImports(limits: Partial<ImportLimits>): Promise<void> {
  const old = shared;
  shared = new ContainedImporter({ ...importLimitsFromSettings(), ...limits });
  await old?.close();
}
