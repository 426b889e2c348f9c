/**
 * duikou's benchmark: `npm run bench -- [--sizes 1,10,100] [--queries N]`,
 * started by bench/run.ts, which answers every import of duikou's sources
 * from dist/ (see there).
 *
 * For each corpus size (bench/size.ts): build the engine with the worker pool, measure memory,
 * cold start, a one-document update, search latency in-process and over HTTP
 * (autocannon, 1 and 16 connections, loopback), and the same for the SQLite
 * FTS5 and brute-force baselines over the same passages, terms and queries;
 * check that all three return the same passages for every query; profile the
 * slowest duikou queries. Writes bench/results/latest.json and latest.md
 * (`--out NAME` writes NAME.json and NAME.md instead; bench/report.ts writes the tables).
 *
 * Sizes of 300 MB and more need more heap than Node gives by default, so the
 * run restarts itself with an old-space limit of 60% of the machine's memory.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './corpus.js';
import { gc } from './measure.js';
import { parseBenchOptions, restartWithBigHeapIfNeeded } from './options.js';
import { type Machine, type Size, describeMachine, markdown } from './report.js';
import { benchSize } from './size.js';

const opts = parseBenchOptions();
const RESULTS = join(ROOT, 'bench', 'results');
restartWithBigHeapIfNeeded(opts.sizes);
const log = (...a: unknown[]): void => console.log(...a);

if (opts.render) {
  // Re-render NAME.md from NAME.json (after the tables' layout changes), without running anything.
  const saved = JSON.parse(readFileSync(join(RESULTS, `${opts.render}.json`), 'utf8')) as {
    machine: Machine;
    sizes: Size[];
  };
  writeFileSync(join(RESULTS, `${opts.render}.md`), markdown(saved.machine, saved.sizes));
  log(`wrote bench/results/${opts.render}.md`);
  process.exit(0);
}

const machine = describeMachine(opts);
const results: Size[] = [];
for (const mb of opts.sizes) {
  results.push((await benchSize(mb, opts)) as Size);
  gc();
}
mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, `${opts.out}.json`), `${JSON.stringify({ machine, sizes: results }, null, 2)}\n`);
writeFileSync(join(RESULTS, `${opts.out}.md`), markdown(machine, results));
log(`\nwrote bench/results/${opts.out}.json and ${opts.out}.md`);
process.exit(0);
