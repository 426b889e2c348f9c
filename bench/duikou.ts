/**
 * duikou's own figures in the benchmark: its cold start in a fresh process,
 * the build through the worker pool with its memory, persisting the built
 * index as a first start does, the one-document update, and CPU profiles of
 * its slowest queries. The comparison with the baselines is bench/compare.ts.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { Engine } from '../src/backends/embedded/engine.js';
import { openIndexDatabase } from '../src/backends/embedded/index-db.js';
import { saveDocumentRow } from '../src/backends/embedded/paper-rows.js';
import { writeState } from '../src/backends/embedded/state-store.js';
import type { CorpusDocument } from '../src/core/types.js';
import { loadGlossary } from '../src/pipeline/glossary.js';
import { prepareUpdate } from '../src/pipeline/prepare.js';
import { prepareInWorkers } from '../src/workers/prepare.js';
import type { QueryRow } from './compare.js';
import { ROOT } from './corpus.js';
import { type ProfileEntry, gc, median, memorySampler, profile, round } from './measure.js';

const MB = 1024 * 1024;

/** Bytes of every file under `dir`: the persisted index's size on disk. */
export function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return n;
}

/**
 * How long a cold-start process may take before it counts as hung: the first
 * one at a size builds and persists the whole index (about 32 min at 1,000 MB
 * on 2 cores), so the limit grows with the corpus — 6 s per MB, at least 30 min.
 */
function coldStartLimitMs(corpusBytes: number): number {
  return Math.round(Math.max(30 * 60_000, (corpusBytes / MB) * 6_000));
}

/**
 * Start duikou in a fresh process (bench/coldstart.mjs) over `corpusDir` with its data in `dataDir`, and
 * answer `query`: the JSON line that process prints, with the wall time of the whole process added.
 */
export function coldStart(corpusDir: string, dataDir: string, query: string, corpusBytes: number): Promise<Record<string, unknown>> {
  // The same heap limit for the cold-start process as for this one (raised for big corpora, see options.ts).
  const heapFlag = `--max-old-space-size=${Math.floor(getHeapStatistics().heap_size_limit / 1024 / 1024)}`;
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const timeout = coldStartLimitMs(corpusBytes);
    execFile(
      process.execPath,
      [heapFlag, join(ROOT, 'bench', 'coldstart.mjs'), corpusDir, dataDir, query],
      { cwd: ROOT, maxBuffer: 1 << 20, timeout },
      (err, stdout, stderr) => {
        if (err) {
          // A kill by the time limit or by the kernel leaves no stderr; say which it was.
          const why = err.killed ? `killed after the ${round(timeout / 60_000)} min limit` : err.signal ? `killed by ${err.signal}` : '';
          return reject(new Error(`${err.message}${why ? ` (${why})` : ''}\n${stderr}`));
        }
        const line = stdout.trim().split('\n').pop() ?? '{}';
        resolve({ ...(JSON.parse(line) as Record<string, unknown>), wallMs: round(performance.now() - t, 1) });
      },
    );
  });
}

/** A build's engine and what it cost. */
export interface BuildResult {
  engine: Engine;
  /** Wall time of the whole build (ms). */
  buildMs: number;
  /** The part of it the main thread spent indexing (ms). */
  addMs: number;
  /** Peak RSS and main-thread heap during the build (bytes). */
  peak: { rss: number; heap: number };
  /** Heap the built engine holds after a forced collection, minus the heap before (bytes). */
  heapAfter: number;
}

/** Build an engine over `files`: read, normalise, segment, analyse in the workers; index on the main thread. */
export async function buildEngine(dir: string, files: { dir: string; file: string }[], threads: number): Promise<BuildResult> {
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const mem = memorySampler();
  const engine = new Engine(loadGlossary(dir));
  const t = performance.now();
  let addMs = 0;
  for await (const prep of prepareInWorkers(files, { threads })) {
    const a = performance.now();
    engine.addPrepared(prep);
    addMs += performance.now() - a;
  }
  const buildMs = performance.now() - t;
  const peak = mem.stop();
  gc();
  const heapAfter = process.memoryUsage().heapUsed - heapBefore;
  return { engine, buildMs, addMs, peak, heapAfter };
}

/**
 * Persist a built engine as a first start does: the papers' texts in a new
 * index.db, the engine's state beside it (writeState, which then holds the
 * index as a restart reads it and the texts in index.db; see
 * `Engine.settleSteps`). The build itself ran through the worker pool,
 * which persists nothing.
 * @returns the milliseconds it took
 */
export function persistBuilt(engine: Engine, dir: string): number {
  const t = performance.now();
  mkdirSync(dir, { recursive: true });
  const db = openIndexDatabase(join(dir, 'index.db'));
  // The papers' rows as the server writes them (see paper-rows.ts), stamped with the text's length and no time: only
  // this engine reads them (its texts, once settled), never a sync against the corpus folder.
  db.transaction(() => {
    for (const d of engine.documents()) saveDocumentRow(db, d, d.text.length, 0);
  })();
  writeState(db, engine, (id) => {
    const { title, authors, year, venue, lang } = engine.requireDocument(id);
    return { id, title, authors, year, venue, lang };
  });
  return performance.now() - t;
}

/**
 * Change a paragraph of one paper (`victimMeta` and `victimText`, as taken from the engine before the first
 * update) and replace the paper (segment it, analyse and index its changed passages, on this thread), five
 * times, then put the original back: the medians of the whole update and of its preparation (ms). It
 * renumbers the document's passages, so it runs after the queries.
 */
export function timeUpdate(
  engine: Engine,
  victimMeta: Omit<CorpusDocument, 'text'>,
  victimText: string,
): { updateMs: number; prepareMs: number } {
  const updates: number[] = [];
  const prepShare: number[] = [];
  for (let k = 0; k < 5; k++) {
    const text = victimText.replace(/\n\n/, `\n\nAn inserted sentence number ${k} about counterpart support.\n\n`);
    const u = performance.now();
    const prep = prepareUpdate({ ...victimMeta, text }, engine.document(victimMeta.id));
    const mid = performance.now();
    engine.addPrepared(prep);
    updates.push(performance.now() - u);
    prepShare.push(mid - u);
  }
  engine.addDocument({ ...victimMeta, text: victimText });
  return { updateMs: round(median(updates), 1), prepareMs: round(median(prepShare), 1) };
}

/** Where duikou's time goes: CPU profiles of its three slowest queries (by p50) among `rows`. */
export async function profileSlowest(
  engine: Engine,
  rows: QueryRow[],
  log: (...a: unknown[]) => void,
): Promise<Array<{ query: string; top: ProfileEntry[] }>> {
  const slowest = [...rows].sort((a, b) => b.p50.duikou - a.p50.duikou).slice(0, 3);
  const profiles: Array<{ query: string; top: ProfileEntry[] }> = [];
  for (const r of slowest) {
    const top = await profile(() => engine.search(r.q, { expand: r.expand, limit: 20, match: 'strict' }));
    profiles.push({ query: `${r.name}: ${r.q}`, top });
    log(
      `  profile ${r.name}: ${top
        .slice(0, 4)
        .map((x) => `${x.fn} ${x.pct}%`)
        .join('; ')}`,
    );
  }
  return profiles;
}
