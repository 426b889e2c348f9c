/**
 * duikou against the baselines (bench/baselines.ts) over the same passages,
 * terms and queries: building the SQLite FTS5 index and the brute-force
 * arrays from the terms the workers analyse, checking that all three return
 * the same passages for every query, and timing them in-process and over
 * HTTP.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import type { Engine } from '../src/backends/embedded/engine.js';
import { createApp } from '../src/http/app.js';
import { parseQuery } from '../src/pipeline/query.js';
import { rank } from '../src/pipeline/rank.js';
import { WorkerPool, workerScript } from '../src/workers/prepare.js';
import { type BaselineQuery, Baselines, compileQuery, type TermsResult, type TermsTask } from './baselines.js';
import { CACHE } from './corpus.js';
import { type Percentiles, httpLoad, median, percentiles, round, serve, timeQuery } from './measure.js';
import type { BenchQuery } from './queries.js';

type Log = (...a: unknown[]) => void;

/** One query of the mix: each engine's hits and median time, and whether their passages are the same. */
export interface QueryRow {
  name: string;
  q: string;
  expand: boolean;
  hits: { duikou: number; fts5: number; brute: number };
  equal: boolean;
  /** When not equal: a few passages only one side found. */
  note?: string;
  p50: { duikou: number; fts5: number; brute: number };
  firstMs: number;
  samples: number;
  /** duikou's median and first run on the engine as a server holds it (its index persisted), when the size timed it. */
  persisted?: { p50: number; firstMs: number };
}

/**
 * Build the baselines for the corpus of `mb` MB in bench/.cache/run-<mb>MB: the terms analysed in worker
 * threads (bench/terms-worker.ts), added in the corpus's order. `termsMs` is the time from the pool's start
 * until every file is added and the FTS5 index optimised.
 */
export async function buildBaselines(
  mb: number,
  files: TermsTask[],
  threads: number,
): Promise<{ base: Baselines; termsMs: number; ftsBytes: number }> {
  const ftsDir = join(CACHE, `run-${mb}MB`);
  rmSync(ftsDir, { recursive: true, force: true });
  mkdirSync(ftsDir, { recursive: true });
  const base = new Baselines(join(ftsDir, 'fts5.db'));
  const pool = new WorkerPool<TermsTask, TermsResult>(workerScript('./terms-worker', import.meta.url), threads);
  const t = performance.now();
  // At most two files per thread in flight, so the analysed terms waiting to be added stay few.
  const window: Promise<TermsResult>[] = [];
  let next = 0;
  const refill = (): void => {
    while (window.length < threads * 2 && next < files.length) window.push(pool.run(files[next++]!));
  };
  refill();
  while (window.length > 0) {
    const r = await window.shift()!;
    refill();
    base.add(r);
  }
  await pool.close();
  const ftsBytes = base.finish();
  return { base, termsMs: performance.now() - t, ftsBytes };
}

/** What {@link compareQueries} found: a row per query, the in-process percentiles, and each query compiled for the baselines. */
export interface QueryComparison {
  rows: QueryRow[];
  inproc: { duikou: Percentiles; fts5: Percentiles; brute: Percentiles };
  compiled: Map<BenchQuery, BaselineQuery>;
}

/**
 * For every query: the sets of matching passages of duikou (`rank()` with strict matching, all hits),
 * FTS5 and brute force must be equal; then each engine's top 20 is timed, strict matching throughout.
 */
export function compareQueries(
  engine: Engine,
  base: Baselines,
  queries: BenchQuery[],
  timing: { reps: number; queryBudgetMs: number },
  log: Log,
): QueryComparison {
  const time = (fn: () => unknown): { samples: number[]; firstMs: number } => timeQuery(fn, timing.reps, timing.queryBudgetMs);
  const rows: QueryRow[] = [];
  const lat = { duikou: [] as number[][], fts5: [] as number[][], brute: [] as number[][] };
  const compiled = new Map<BenchQuery, BaselineQuery>();
  for (const bq of queries) {
    const cq = compileQuery(bq.q, bq.expand, (x) => engine.expansions(x));
    compiled.set(bq, cq);
    const dk = new Set(rank(parseQuery(bq.q), engine, { expand: bq.expand, match: 'strict' }).hits.map((h) => h.passage.id));
    const fs = base.ftsAll(cq);
    const br = new Set(base.bruteSearch(cq).all);
    const same = (a: Set<number>, b: Set<number>): boolean => a.size === b.size && [...a].every((x) => b.has(x));
    const equal = same(dk, fs) && same(dk, br);
    let note: string | undefined;
    if (!equal) {
      const only = (a: Set<number>, b: Set<number>): number[] => [...a].filter((x) => !b.has(x)).slice(0, 3);
      const show = (id: number): string => {
        const p = engine.passage(id);
        return p ? JSON.stringify(engine.document(p.docId)!.text.slice(p.start, Math.min(p.end, p.start + 80))) : String(id);
      };
      note = `only duikou: ${only(dk, fs).map(show).join(' | ') || '-'}; only FTS5: ${only(fs, dk).map(show).join(' | ') || '-'}; only brute: ${only(br, dk).map(show).join(' | ') || '-'}`;
    }
    const d = time(() => engine.search(bq.q, { expand: bq.expand, limit: 20, match: 'strict' }));
    const f = time(() => base.ftsSearch(cq));
    const b = time(() => base.bruteSearch(cq).top);
    lat.duikou.push(d.samples);
    lat.fts5.push(f.samples);
    lat.brute.push(b.samples);
    const row: QueryRow = {
      name: bq.name,
      q: bq.q,
      expand: bq.expand,
      hits: { duikou: dk.size, fts5: fs.size, brute: br.size },
      equal,
      ...(note !== undefined && { note }),
      p50: { duikou: round(median(d.samples), 3), fts5: round(median(f.samples), 3), brute: round(median(b.samples), 3) },
      firstMs: round(d.firstMs, 1),
      samples: d.samples.length,
    };
    rows.push(row);
    log(
      `  ${equal ? '=' : '≠'} ${bq.name.padEnd(30)} hits ${dk.size}/${fs.size}/${br.size}  p50 duikou ${row.p50.duikou} ms (first ${row.firstMs}), FTS5 ${row.p50.fts5} ms, brute ${row.p50.brute} ms`,
    );
  }
  const inproc = { duikou: percentiles(lat.duikou), fts5: percentiles(lat.fts5), brute: percentiles(lat.brute) };
  return { rows, inproc, compiled };
}

/**
 * HTTP load with 1 and 16 connections on duikou's real app (which answers `/api/search` as a researcher
 * gets it, best match included) and on minimal Express apps over the baselines, cycling through the mix.
 */
export async function compareHttp(
  engine: Engine,
  base: Baselines,
  queries: BenchQuery[],
  compiled: Map<BenchQuery, BaselineQuery>,
  httpSeconds: number,
  log: Log,
): Promise<Record<string, Record<string, unknown>>> {
  const paths = queries.map((bq) => `/api/search?q=${encodeURIComponent(bq.q)}&expand=${bq.expand ? 1 : 0}&limit=20`);
  const byQ = new Map(queries.map((bq) => [`${bq.q}|${bq.expand ? 1 : 0}`, compiled.get(bq)!]));
  const baseApp = (run: (q: BaselineQuery) => unknown): express.Express => {
    const app = express();
    app.get('/api/search', (req, res) => {
      const key = `${String(req.query.q)}|${String(req.query.expand)}`;
      const cq = byQ.get(key) ?? compileQuery(String(req.query.q), req.query.expand === '1', (x) => engine.expansions(x));
      res.json({ hits: run(cq) });
    });
    return app;
  };
  const http: Record<string, Record<string, unknown>> = {};
  for (const [name, app] of [
    // No sign-in: the benchmark measures search; the token check is one hash per request.
    ['duikou', createApp({ engine, access: { auth: 'none' } })],
    ['fts5', baseApp((q) => base.ftsSearch(q))],
    ['brute', baseApp((q) => base.bruteSearch(q).top)],
  ] as const) {
    const s = await serve(app);
    http[name] = { c1: await httpLoad(s.url, paths, 1, httpSeconds), c16: await httpLoad(s.url, paths, 16, httpSeconds) };
    await s.close();
    log(`http ${name}: ${JSON.stringify(http[name])}`);
  }
  return http;
}
