/**
 * Cold start, in a fresh process: from process start until the first query is
 * answered. With the persisted index (src/backends/embedded/persist.ts) when it exists;
 * otherwise the FALLBACK: openCorpus (read and index everything, one thread).
 * Prints one JSON line.
 *
 *   tsx bench/coldstart.ts <corpusDir> <dataDir> <query>
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Engine } from '../src/backends/embedded/engine.js';

const [corpusDir, dataDir, query] = process.argv.slice(2) as [string, string, string];
const persistPath = fileURLToPath(new URL('../src/backends/embedded/persist.ts', import.meta.url));

interface PersistModule {
  openPersistentCorpus(
    corpusDir: string,
    dataDir: string,
  ): Promise<{ engine: Engine; stats: { files: number; reused: number; indexed: number; removed: number; ms: number } }>;
}

let engine: Engine;
let mode: string;
let stats: unknown = null;
if (existsSync(persistPath)) {
  const m = (await import(pathToFileURL(persistPath).href)) as PersistModule;
  const r = await m.openPersistentCorpus(corpusDir, dataDir);
  engine = r.engine;
  stats = r.stats;
  mode = 'persist';
} else {
  const { openCorpus } = await import('../src/backends/embedded/corpus.js');
  engine = await openCorpus(corpusDir);
  mode = 'fallback-openCorpus';
}
const ready = performance.now();
const res = engine.search(query, { limit: 20 });
const answered = performance.now();
process.stdout.write(
  `${JSON.stringify({ mode, ms: answered, openMs: ready, queryMs: answered - ready, total: res.total, stats, rss: process.memoryUsage().rss })}\n`,
);
process.exit(0);
