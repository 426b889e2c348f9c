/**
 * Cold start, in a fresh process: from process start until the first query is
 * answered, over the persisted index (src/backends/embedded/persist.ts) when
 * the data folder holds one, or building and persisting it when not.
 * Prints one JSON line.
 *
 * It runs the built JavaScript in dist/ (the benchmark builds it first when the
 * sources changed), as `npm start` does: what a researcher waits for at a
 * restart, without the TypeScript loader that development runs through.
 *
 *   node bench/coldstart.mjs <corpusDir> <dataDir> <query>
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openPersistentCorpus } from '../dist/backends/embedded/persist.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const [corpusDir, dataDir, query] = process.argv.slice(2);
gc();
const heapBefore = process.memoryUsage().heapUsed;
const { engine, stats } = await openPersistentCorpus(corpusDir, dataDir);
const ready = performance.now();
// The heap the engine holds once open (built and persisted, or read back), measured as bench/duikou.ts
// measures a build's: after a forced collection, minus the heap before; before the first query, whose
// caches (texts read, tokens) are not the index. The collection's pause is left out of the time to the answer.
gc();
const m = process.memoryUsage();
const t = performance.now();
const res = engine.search(query, { limit: 20 });
const queryMs = performance.now() - t;
process.stdout.write(
  `${JSON.stringify({ mode: 'persist', ms: ready + queryMs, openMs: ready, queryMs, total: res.total, stats, rss: m.rss, heapAfterOpen: m.heapUsed - heapBefore, arrayBuffers: m.arrayBuffers })}\n`,
);
process.exit(0);
