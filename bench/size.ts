/**
 * One corpus size of the benchmark, in the order its figures are taken: cold
 * start, build, baselines, equal answers and in-process latency, profiles,
 * HTTP, the PostgreSQL column when asked for, then the one-document update
 * and the queries again once the index is persisted. Returns every figure
 * for results/NAME.json, from which bench/report.ts writes the tables.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadGlossary } from '../src/pipeline/glossary.js';
import { compareHttp, compareQueries, buildBaselines } from './compare.js';
import { CACHE, ensureCorpus } from './corpus.js';
import { buildEngine, coldStart, dirBytes, persistBuilt, profileSlowest, timeUpdate } from './duikou.js';
import { gc, median, percentiles, round, timeQuery } from './measure.js';
import type { BenchOptions } from './options.js';
import { benchPostgres } from './postgres.js';
import { queryMix } from './queries.js';

const MB = 1024 * 1024;
/** The query of the English restart: its answer holds no Chinese words, so it waits for no segmentation. */
const ENGLISH_COLD_QUERY = '"key node"';
const log = (...a: unknown[]): void => console.log(...a);

/** Measure everything at the corpus of `mb` MB (generated on first use), logging each figure as it is taken. */
export async function benchSize(mb: number, opts: BenchOptions): Promise<Record<string, unknown>> {
  const { threads, reps, queryBudgetMs, httpSeconds } = opts;
  log(`\n=== ${mb} MB ===`);
  const t = performance.now();
  const { dir, manifest } = ensureCorpus(mb);
  log(
    `corpus: ${manifest.files.length} files, ${round(manifest.bytes / MB)} MB (${round((performance.now() - t) / 1000)} s to generate or find)`,
  );
  const queries = queryMix(manifest);
  const files = manifest.files.map((file) => ({ dir, file }));

  // Cold start in a fresh process (persisted index when src/backends/embedded/persist.ts exists), first:
  // that process builds and loads an index of its own, and must not share the machine's
  // memory with this process's engine (at 1,000 MB each holds over 10 GB).
  const dataDir = join(CACHE, `data-${mb}MB`);
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  let cold = await coldStart(dir, dataDir, '对口支援', manifest.bytes);
  let persistBuild: Record<string, unknown> | null = null;
  if (cold.mode === 'persist') {
    persistBuild = cold;
    cold = await coldStart(dir, dataDir, '对口支援', manifest.bytes);
    // And to an English answer, which waits for no Chinese segmentation (jieba loads on its own thread).
    const english = await coldStart(dir, dataDir, ENGLISH_COLD_QUERY, manifest.bytes);
    cold = { ...cold, english: { query: ENGLISH_COLD_QUERY, ms: english.ms, openMs: english.openMs, queryMs: english.queryMs } };
  }
  const indexBytes = cold.mode === 'persist' ? dirBytes(dataDir) : null;
  log(`cold start (${cold.mode}): ${round(Number(cold.ms))} ms to first answer; index on disk ${indexBytes ?? 'n/a (no persistence yet)'}`);

  // Build: read, normalise, segment, analyse in the workers; index on the main thread.
  const { engine, buildMs, addMs, peak, heapAfter } = await buildEngine(dir, files, threads);
  const passages = engine.index.size;
  log(
    `build: ${round(buildMs / 1000)} s, ${round(manifest.bytes / MB / (buildMs / 1000))} MB/s (${passages} passages; main-thread indexing ${round(addMs / 1000)} s); heap ${round(heapAfter / MB)} MB after GC, peak RSS ${round(peak.rss / MB)} MB`,
  );

  // Baselines over the same passages and terms.
  const { base, termsMs, ftsBytes } = await buildBaselines(mb, files, threads);
  log(
    `baselines: terms ${round(termsMs / 1000)} s (analysis in workers), FTS5 insert+optimize ${round(base.ftsBuildMs / 1000)} s, ${round(ftsBytes / MB)} MB; brute arrays ${round(base.bruteBytes / MB)} MB`,
  );
  if (base.count !== passages) throw new Error(`baselines have ${base.count} passages, the engine ${passages}`);

  // Queries: equal answers, then latency.
  const { rows, inproc, compiled } = compareQueries(engine, base, queries, { reps, queryBudgetMs }, log);
  log(
    `in-process p50/p95/p99: duikou ${JSON.stringify(inproc.duikou)} FTS5 ${JSON.stringify(inproc.fts5)} brute ${JSON.stringify(inproc.brute)}`,
  );

  const profiles = await profileSlowest(engine, rows, log);

  // Update one document (after the queries, as it renumbers the document's passages): change a
  // paragraph and replace the paper (segment it, analyse and index its changed passages, on this thread).
  const victim = engine.document(manifest.files[Math.floor(manifest.files.length / 2)]!.replace(/\.txt$/, ''))!;
  const { text: victimText, ...victimMeta } = victim;
  const inMemoryUpdate = timeUpdate(engine, victimMeta, victimText);
  log(
    `update one doc (${round(victimText.length / 1024)} K chars), index in memory only: ${inMemoryUpdate.updateMs} ms median (prepare ${inMemoryUpdate.prepareMs} ms)`,
  );

  // The update again, on the engine as a server holds it once the index it built is persisted (its
  // state written to index.db and the file beside it, texts read from index.db when used).
  const persistDir = join(CACHE, `built-${mb}MB`);
  rmSync(persistDir, { recursive: true, force: true });
  const persistMs = persistBuilt(engine, persistDir);
  log(`index persisted in ${round(persistMs / 1000, 1)} s`);
  // Writing the state leaves hundreds of megabytes of garbage at 100 MB: collected now, not inside the timed update.
  gc();
  // The queries again on the engine as a server holds it from then on: postings in the state's typed
  // arrays, texts read from index.db through a bounded cache (the run above timed the built engine,
  // every text in memory).
  const timedPersisted = queries.map((bq) =>
    timeQuery(() => engine.search(bq.q, { expand: bq.expand, limit: 20, match: 'strict' }), reps, queryBudgetMs),
  );
  // Each query's own figures too: the percentiles alone cannot say which query a slow sample was.
  rows.forEach((row, i) => {
    const t = timedPersisted[i]!;
    if (row.name !== queries[i]!.name) throw new Error(`query rows out of order: ${row.name} against ${queries[i]!.name}`);
    row.persisted = { p50: round(median(t.samples), 3), firstMs: round(t.firstMs, 1) };
  });
  const queryPersisted = percentiles(timedPersisted.map((t) => t.samples));
  log(`in-process p50/p95/p99, index persisted: duikou ${JSON.stringify(queryPersisted)}`);

  // HTTP: duikou's real app over the engine as a server holds it (the index persisted, as above), and
  // minimal Express apps over the baselines. Over the engine just built, every request's garbage
  // collection also went through its build's heap (5.6 GB at 1,000 MB, where a server holds 0.6).
  const http = await compareHttp(engine, base, queries, compiled, httpSeconds, log);
  base.close();
  // PostgreSQL beside it, its answers compared with the engine's (the update above put the paper back as it was).
  const postgres =
    opts.backend === 'postgres'
      ? await benchPostgres({
          mb,
          files,
          glossary: loadGlossary(dir),
          engine,
          queries,
          threads,
          reps,
          queryBudgetMs,
          httpSeconds,
          log,
        })
      : null;

  const { updateMs, prepareMs: updatePrepareMs } = timeUpdate(engine, victimMeta, victimText);
  log(`update one doc, index persisted: ${updateMs} ms median (prepare ${updatePrepareMs} ms)`);
  rmSync(persistDir, { recursive: true, force: true });

  return {
    mb,
    bytes: manifest.bytes,
    docs: manifest.files.length,
    passages,
    vocabulary: manifest.vocabulary,
    build: {
      s: round(buildMs / 1000, 2),
      mbPerS: round(manifest.bytes / MB / (buildMs / 1000), 2),
      mainThreadIndexS: round(addMs / 1000, 2),
      threads,
    },
    memory: {
      peakRss: peak.rss,
      peakHeap: peak.heap,
      heapAfterBuild: heapAfter,
      heapBytesPerTextByte: round(heapAfter / manifest.bytes, 2),
      // The heap of the engine a first start builds and persists (the cold-start process's first run, see coldstart.mjs).
      ...(persistBuild?.heapAfterOpen !== undefined && {
        heapPersisted: Number(persistBuild.heapAfterOpen),
        heapPersistedPerTextByte: round(Number(persistBuild.heapAfterOpen) / manifest.bytes, 2),
      }),
      persistS: round(persistMs / 1000, 2),
    },
    indexBytes,
    coldStart: { ...cold, persistBuild },
    updateMs,
    updatePrepareMs,
    inMemoryUpdate,
    query: inproc,
    queryPersisted,
    http,
    baselines: {
      fts5: { buildS: round(base.ftsBuildMs / 1000, 2), indexBytes: ftsBytes },
      brute: { buildS: round(base.bruteBuildMs / 1000, 2), bytes: base.bruteBytes },
    },
    equalAnswers: { all: rows.every((r) => r.equal), equal: rows.filter((r) => r.equal).length, of: rows.length },
    queries: rows,
    profiles,
    ...(postgres && { postgres }),
  };
}
