/**
 * The benchmark's command line (`npm run bench -- [options]`, listed in
 * bench/README.md), and the heap a big corpus needs. Read and checked before
 * anything runs, so a wrong option fails at once, not after the first size.
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { getHeapStatistics } from 'node:v8';
import { benchDatabaseUrl } from './postgres.js';

/** One run's settings, from its command line. */
export interface BenchOptions {
  /** Corpus sizes (MB of text), in the order they run (`--sizes`). */
  sizes: number[];
  /** Timed runs per query and engine after the warm-up (`--queries`). */
  reps: number;
  /** Time budget per query and engine, in ms (`--query-seconds`). */
  queryBudgetMs: number;
  /** Seconds per autocannon run (`--http-seconds`). */
  httpSeconds: number;
  /** Worker threads for the build and the baselines' analysis (`--threads`). */
  threads: number;
  /** Base name of the results in bench/results (`--out`). */
  out: string;
  /** Only re-write NAME.md from NAME.json (`--render NAME`). */
  render: string | undefined;
  /** `postgres` adds the lab server's column (bench/postgres.ts). */
  backend: 'embedded' | 'postgres';
}

/** The run's options from `process.argv`; throws on a backend it does not know, or `postgres` without a server. */
export function parseBenchOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '1,10,100' },
      queries: { type: 'string', default: '20' },
      'query-seconds': { type: 'string', default: '2' },
      'http-seconds': { type: 'string', default: '4' },
      threads: { type: 'string', default: String(availableParallelism()) },
      out: { type: 'string', default: 'latest' },
      render: { type: 'string' },
      backend: { type: 'string', default: 'embedded' },
    },
  });
  // Fail now, not after the first size, without a server for the PostgreSQL column.
  if (values.backend !== 'embedded' && values.backend !== 'postgres') throw new Error('--backend must be embedded or postgres');
  if (values.backend === 'postgres') benchDatabaseUrl();
  return {
    sizes: values.sizes.split(',').map(Number),
    reps: Number(values.queries),
    queryBudgetMs: Number(values['query-seconds']) * 1000,
    httpSeconds: Number(values['http-seconds']),
    threads: Number(values.threads),
    out: values.out,
    render: values.render,
    backend: values.backend,
  };
}

/**
 * Sizes of 300 MB and more need more heap than Node gives by default (about
 * 4 GB, below what the engine holds for 1,000 MB): run this benchmark again in
 * a child process with an old-space limit of 60% of the machine's memory, and
 * exit with its status. Returns only when the heap is already big enough.
 */
export function restartWithBigHeapIfNeeded(sizes: number[]): void {
  const bigHeapMb = Math.floor((totalmem() / 1024 / 1024) * 0.6);
  if (Math.max(...sizes) >= 300 && getHeapStatistics().heap_size_limit / 1024 / 1024 < bigHeapMb * 0.9) {
    console.log(`restarting with --max-old-space-size=${bigHeapMb} for the ${Math.max(...sizes)} MB corpus`);
    const child = spawnSync(process.execPath, [`--max-old-space-size=${bigHeapMb}`, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
    });
    process.exit(child.status ?? 1);
  }
}
