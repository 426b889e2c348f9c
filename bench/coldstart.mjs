/**
 * Cold start, in a fresh process: from process start until the first query is
 * answered, over the persisted index (src/backends/embedded/persist.ts) when
 * the data folder holds one, or building and persisting it when not.
 * Prints one JSON line.
 *
 * It runs the built JavaScript in dist/ (bench/run.ts builds it first when the
 * sources changed), as `npm start` does: what a researcher waits for at a
 * restart, without the TypeScript loader that development runs through.
 *
 *   node bench/coldstart.mjs <corpusDir> <dataDir> <query>
 */
import { openPersistentCorpus } from '../dist/backends/embedded/persist.js';

const [corpusDir, dataDir, query] = process.argv.slice(2);
const { engine, stats } = await openPersistentCorpus(corpusDir, dataDir);
const ready = performance.now();
const res = engine.search(query, { limit: 20 });
const answered = performance.now();
process.stdout.write(
  `${JSON.stringify({ mode: 'persist', ms: answered, openMs: ready, queryMs: answered - ready, total: res.total, stats, rss: process.memoryUsage().rss })}\n`,
);
process.exit(0);
