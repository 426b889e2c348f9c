/**
 * Cold start, in a fresh process: from process start until the first query is
 * answered, over the persisted index (src/backends/embedded/persist.ts) when
 * the data folder holds one, or building and persisting it when not.
 * Prints one JSON line.
 *
 * Over a persisted index the query is asked as soon as the engine has taken
 * it over (`onRestored`), which is when a server answers it: the sync goes on
 * meanwhile (reading what the restart left on disk, checking the stored
 * texts), and the time it ends is reported too (`syncMs`). When the index is
 * built, the query waits for the whole build.
 *
 * It runs the built JavaScript in dist/ (the benchmark builds it first when
 * the sources changed), as `npm start` does: what a researcher waits for at a
 * restart, without the TypeScript loader that development runs through.
 *
 *   node bench/coldstart.mjs <corpusDir> <dataDir> <query>
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Engine } from '../dist/backends/embedded/engine.js';
import { openPersistentCorpus } from '../dist/backends/embedded/persist.js';
import { segmentOnJiebaThread } from '../dist/workers/jieba-thread.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const [corpusDir, dataDir, query] = process.argv.slice(2);
// As the server does (src/server.ts): Chinese text is cut on jieba's own thread.
segmentOnJiebaThread();
gc();
const heapBefore = process.memoryUsage().heapUsed;
const engine = new Engine();
let restored;
const taken = new Promise((resolve) => (restored = resolve));
const opening = openPersistentCorpus(corpusDir, dataDir, { engine, onRestored: () => restored() });
await Promise.race([taken, opening]);
const ready = performance.now();
// The heap the engine holds once open (built and persisted, or read back), measured as bench/duikou.ts
// measures a build's: after a forced collection, minus the heap before; before the first query, whose
// caches (texts read, tokens) are not the index. The collection's pause is left out of the time to the answer.
gc();
const m = process.memoryUsage();
const t = performance.now();
const res = engine.search(query, { limit: 20 });
const queryMs = performance.now() - t;
const { stats } = await opening;
// The sync's end, the collection's pause left out as above.
const syncMs = performance.now() - (t - ready);
process.stdout.write(
  `${JSON.stringify({ mode: 'persist', ms: ready + queryMs, openMs: ready, queryMs, syncMs, total: res.total, stats, rss: m.rss, heapAfterOpen: m.heapUsed - heapBefore, arrayBuffers: m.arrayBuffers })}\n`,
);
process.exit(0);
