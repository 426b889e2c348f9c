/**
 * The PostgreSQL column of the benchmark (`npm run bench -- --backend
 * postgres`): the lab-server index over the same corpus and query mix as the
 * embedded engine — build time, size on disk, search latency in-process and
 * over HTTP (the real app, 1 and 16 connections), and whether every query
 * returns the same passages and totals as the embedded engine.
 *
 * The database server comes from `DUIKOU_BENCH_DATABASE_URL` (or
 * `DUIKOU_TEST_DATABASE_URL`, as `scripts/pg-test-server.sh` sets it); a
 * database is created for each size and dropped afterwards.
 */
import pg from 'pg';
import { PgSearchBackend } from '../src/backends/postgres/search.js';
import { Engine } from '../src/backends/embedded/engine.js';
import { MAX_LIMIT } from '../src/backends/search-contract.js';
import { createApp } from '../src/http/app.js';
import { prepareInWorkers } from '../src/workers/prepare.js';
import type { Glossary } from '../src/pipeline/glossary.js';
import { parseQuery } from '../src/pipeline/query.js';
import { rank } from '../src/pipeline/rank.js';
import { httpLoad, percentiles, round, serve } from './measure.js';
import type { BenchQuery } from './queries.js';

const MB = 1024 * 1024;

/** Above this many hits a query's passages are compared by total only (each page of the PostgreSQL search re-runs the query). */
const FULL_COMPARE_MAX = 2000;

/** What {@link benchPostgres} needs from the run. */
export interface PgBenchInput {
  mb: number;
  /** The corpus files, as the engine was built from them. */
  files: { dir: string; file: string }[];
  glossary: Glossary;
  /** The embedded engine over the same files: the reference answers. */
  engine: Engine;
  queries: BenchQuery[];
  threads: number;
  reps: number;
  queryBudgetMs: number;
  httpSeconds: number;
  log: (...a: unknown[]) => void;
}

/** The server URL the PostgreSQL column runs on, or an error saying how to get one. */
export function benchDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string {
  const url = env.DUIKOU_BENCH_DATABASE_URL || env.DUIKOU_TEST_DATABASE_URL;
  if (!url) {
    throw new Error(
      '--backend postgres needs a PostgreSQL server: set DUIKOU_BENCH_DATABASE_URL, or run `scripts/pg-test-server.sh npm run bench -- --backend postgres`',
    );
  }
  return url;
}

async function timeQuery(fn: () => Promise<unknown>, reps: number, budgetMs: number): Promise<{ samples: number[]; firstMs: number }> {
  let t = performance.now();
  await fn();
  const firstMs = performance.now() - t;
  if (firstMs > budgetMs) return { samples: [firstMs], firstMs };
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < reps && (samples.length === 0 || performance.now() - start < budgetMs)) {
    t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return { samples, firstMs };
}

/** Every strict hit of a query from the PostgreSQL index, as "docId@start". */
async function allPgHits(search: PgSearchBackend, bq: BenchQuery): Promise<{ total: number; keys: Set<string> | null }> {
  const first = await search.search(bq.q, parseQuery(bq.q), { expand: bq.expand, match: 'strict', limit: MAX_LIMIT });
  if (first.total > FULL_COMPARE_MAX) return { total: first.total, keys: null };
  const keys = new Set(first.hits.map((h) => `${h.docId}@${h.start}`));
  for (let offset = MAX_LIMIT; offset < first.total; offset += MAX_LIMIT) {
    const r = await search.search(bq.q, parseQuery(bq.q), { expand: bq.expand, match: 'strict', limit: MAX_LIMIT, offset });
    for (const h of r.hits) keys.add(`${h.docId}@${h.start}`);
  }
  return { total: first.total, keys };
}

/** Build the PostgreSQL index of the size's corpus, measure it, and drop it. */
export async function benchPostgres(input: PgBenchInput): Promise<Record<string, unknown>> {
  const { engine, queries, log } = input;
  const server = benchDatabaseUrl();
  const name = `duikou_bench_${input.mb}mb_${process.pid}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8'`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 16 });
  try {
    const serverVersion = (await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? '?';
    const search = await PgSearchBackend.open(pool, input.glossary);

    // Build: prepare in the workers (as the embedded build), insert each paper in its own transaction.
    const t = performance.now();
    let insertMs = 0;
    for await (const prep of prepareInWorkers(input.files, { threads: input.threads })) {
      const a = performance.now();
      await search.indexDocument(prep);
      insertMs += performance.now() - a;
    }
    const buildMs = performance.now() - t;
    await pool.query('VACUUM ANALYZE search_passages');
    await pool.query('VACUUM ANALYZE search_documents');
    const size = (
      await pool.query<{ tables: string; gin: string; total: string }>(
        `SELECT pg_total_relation_size('search_passages') + pg_total_relation_size('search_documents') AS total,
                pg_relation_size('search_passages_tsv') AS gin,
                pg_table_size('search_passages') + pg_table_size('search_documents') AS tables`,
      )
    ).rows[0]!;
    log(
      `postgres ${serverVersion}: build ${round(buildMs / 1000)} s (inserting ${round(insertMs / 1000)} s), on disk ${round(Number(size.total) / MB)} MB (GIN ${round(Number(size.gin) / MB)} MB)`,
    );

    // Equal answers, then latency in-process.
    const rows: Array<Record<string, unknown>> = [];
    const lat: number[][] = [];
    for (const bq of queries) {
      const ref = rank(parseQuery(bq.q), engine, { expand: bq.expand, match: 'strict' }).hits.map(
        (h) => `${h.passage.docId}@${h.passage.start}`,
      );
      // After a write (the index generation bumped), nothing read for earlier queries is kept:
      // what a query new to an instance costs (texts and passages stay kept, as they do then).
      await pool.query('UPDATE search_totals SET generation = generation + 1');
      const paths = { ...search.queryPaths };
      const t = performance.now();
      await search.search(bq.q, parseQuery(bq.q), { expand: bq.expand, limit: 20, match: 'strict' });
      const afterWriteMs = performance.now() - t;
      const path = search.queryPaths.tsquery > paths.tsquery ? 'tsquery' : 'postings';
      const got = await allPgHits(search, bq);
      const equal = got.total === ref.length && (got.keys === null || (got.keys.size === ref.length && ref.every((k) => got.keys!.has(k))));
      const d = await timeQuery(
        () => search.search(bq.q, parseQuery(bq.q), { expand: bq.expand, limit: 20, match: 'strict' }),
        input.reps,
        input.queryBudgetMs,
      );
      lat.push(d.samples);
      const sorted = [...d.samples].sort((a, b) => a - b);
      const row = {
        name: bq.name,
        q: bq.q,
        expand: bq.expand,
        hits: { duikou: ref.length, postgres: got.total },
        equal,
        compared: got.keys === null ? 'total' : 'passages',
        p50: round(sorted[Math.floor(sorted.length / 2)] ?? 0, 3),
        firstMs: round(d.firstMs, 1),
        afterWriteMs: round(afterWriteMs, 1),
        path,
      };
      rows.push(row);
      log(
        `  ${equal ? '=' : '≠'} ${bq.name.padEnd(30)} hits ${ref.length}/${got.total}  p50 postgres ${row.p50} ms (first ${row.firstMs}, after a write ${row.afterWriteMs}; ${path})`,
      );
    }
    const inproc = percentiles(lat);
    log(`postgres in-process p50/p95/p99: ${JSON.stringify(inproc)}`);

    // HTTP: the real app serving from PostgreSQL, as a lab-server instance does.
    const catalogue = new Engine(input.glossary);
    for (const d of await search.loadDocuments()) catalogue.showDocument(d);
    const app = createApp({ engine: catalogue, search, access: { auth: 'none' } });
    const s = await serve(app);
    const paths = queries.map((bq) => `/api/search?q=${encodeURIComponent(bq.q)}&expand=${bq.expand ? 1 : 0}&limit=20`);
    // The timings above end each query with a write before it (nothing kept): answer every query
    // once first, as an instance that has served them has, or a short run times mostly first answers.
    for (const p of paths) await fetch(s.url + p);
    const http = { c1: await httpLoad(s.url, paths, 1, input.httpSeconds), c16: await httpLoad(s.url, paths, 16, input.httpSeconds) };
    await s.close();
    log(`http postgres: ${JSON.stringify(http)}`);

    return {
      server: serverVersion,
      build: { s: round(buildMs / 1000, 2), insertS: round(insertMs / 1000, 2) },
      bytes: { total: Number(size.total), gin: Number(size.gin), tables: Number(size.tables) },
      query: inproc,
      http,
      equalAnswers: { all: rows.every((r) => r.equal), equal: rows.filter((r) => r.equal).length, of: rows.length },
      queries: rows,
    };
  } finally {
    await pool.end();
    // pool.end() resolves before its clients' sessions have closed: forcing the drop at once
    // kills them mid-goodbye, an error on a pool no one listens to any more. Let them leave first.
    for (let i = 0; i < 100; i++) {
      const left = await admin.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if (Number(left.rows[0]?.n ?? 0) === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

/** The PostgreSQL section of a size's Markdown report (nothing when the run had no PostgreSQL column). */
export function postgresMarkdown(size: Record<string, unknown>): string[] {
  // biome-ignore lint/suspicious/noExplicitAny: the report reads back the JSON shape benchPostgres built
  const p = size.postgres as any;
  // biome-ignore lint/suspicious/noExplicitAny: as above, the embedded column's shape from size.ts
  const s = size as any;
  if (!p) return [];
  const L: string[] = [];
  L.push(`### PostgreSQL (lab server, ${p.server}) beside the embedded engine`, '');
  L.push('| | embedded (built in memory; HTTP from the index persisted) | PostgreSQL (GIN) |', '| --- | --- | --- |');
  L.push(`| build | ${s.build.s} s | ${p.build.s} s |`);
  L.push(
    `| size | ${round(s.memory.heapAfterBuild / MB)} MB heap${s.indexBytes ? `, ${round(s.indexBytes / MB)} MB index.db` : ''} | ${round(p.bytes.total / MB)} MB on disk (GIN ${round(p.bytes.gin / MB)} MB) |`,
  );
  L.push(`| in-process p50 / p95 | ${s.query.duikou.p50} / ${s.query.duikou.p95} ms | ${p.query.p50} / ${p.query.p95} ms |`);
  L.push(`| HTTP 1 client p50 / p95 | ${s.http.duikou.c1.p50} / ${s.http.duikou.c1.p95} ms | ${p.http.c1.p50} / ${p.http.c1.p95} ms |`);
  L.push(
    `| HTTP 16 clients p50 / p95 | ${s.http.duikou.c16.p50} / ${s.http.duikou.c16.p95} ms | ${p.http.c16.p50} / ${p.http.c16.p95} ms |`,
  );
  L.push(`| equal answers | – | ${p.equalAnswers.equal} / ${p.equalAnswers.of} |`);
  const diffs = (p.queries as Array<{ name: string; equal: boolean; hits: { duikou: number; postgres: number } }>).filter((r) => !r.equal);
  if (diffs.length > 0)
    L.push('', `Different answers: ${diffs.map((r) => `${r.name} (${r.hits.duikou} vs ${r.hits.postgres})`).join('; ')}`);
  // Per query: kept lists (p50) and right after a write (nothing kept), and how the candidates were found.
  const qs = p.queries as Array<{ name: string; hits: { postgres: number }; p50: number; afterWriteMs?: number; path?: string }>;
  if (qs.some((r) => r.afterWriteMs !== undefined)) {
    L.push('', '| PostgreSQL query | hits | p50 ms | after a write ms | candidates |', '| --- | --- | --- | --- | --- |');
    for (const r of qs) L.push(`| ${r.name} | ${r.hits.postgres} | ${r.p50} | ${r.afterWriteMs ?? '–'} | ${r.path ?? '–'} |`);
  }
  L.push('');
  return L;
}
