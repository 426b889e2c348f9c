/**
 * How long writing the engine's persisted state holds up the event loop in a
 * running engine: one paper of the corpus edited, then the sync that
 * re-indexes it and writes the state again (as the server's folder watcher
 * runs it), with `monitorEventLoopDelay` and a 1 ms timer watching the loop.
 * For comparison, the same state written at once (`writeState`), as every
 * sync did before. Prints one JSON line.
 *
 *   tsx bench/state-write.ts <corpusDir> <dataDir>
 *
 * The corpus folder is edited: pass a copy (e.g. of bench/.cache/10MB).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { openPersistentCorpus, syncCorpus } from '../src/backends/embedded/persist.js';
import { detectMetadata } from '../src/pipeline/load.js';
import { writeState, writeStateGradually } from '../src/backends/embedded/state-store.js';

const [corpusDir, dataDir] = process.argv.slice(2) as [string, string];

/** The longest the event loop was held up while `work` ran, by two independent measures. */
async function longestBlock<T>(
  work: () => Promise<T>,
): Promise<{ value: T; ms: number; cpuMs: number; histogramMaxMs: number; wallMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  let last = performance.now();
  let longest = 0;
  // The CPU the process used between two ticks: on a loaded machine a long gap may be time spent
  // waiting for a core, not work (this counts every thread of the process, the collector's too).
  let lastCpu = process.cpuUsage();
  let busiest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage(lastCpu);
    busiest = Math.max(busiest, (cpu.user + cpu.system) / 1000);
    lastCpu = process.cpuUsage();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  h.enable();
  const t0 = performance.now();
  const value = await work();
  const wallMs = performance.now() - t0;
  longest = Math.max(longest, performance.now() - last);
  h.disable();
  clearInterval(timer);
  return {
    value,
    ms: Math.round(longest),
    cpuMs: Math.round(busiest),
    histogramMaxMs: Math.round(h.max / 1e6),
    wallMs: Math.round(wallMs),
  };
}

const opened = await openPersistentCorpus(corpusDir, dataDir);
const { engine, db } = opened;
const passages = engine.documents().reduce((n, d) => n + d.passages.length, 0);

// Before: the whole state taken and written in one go, as every sync that changed a paper did.
const t0 = performance.now();
writeState(db, engine, (id, _hash, text) => detectMetadata(id, text()));
const atOnceMs = Math.round(performance.now() - t0);
const t1 = performance.now();
engine.state();
const snapshotMs = Math.round(performance.now() - t1);

// After: one paper edited, synced as the watcher does, the state written a step at a time.
const file = readdirSync(corpusDir)
  .filter((f) => f.endsWith('.txt'))
  .sort()[0]!;
const text = readFileSync(join(corpusDir, file), 'utf8');
writeFileSync(join(corpusDir, file), `${text}\n\nAn added paragraph on counterpart support 对口支援 at ${Date.now()}.\n`);
// Let the loop settle (garbage of the write above collected) before watching it.
await new Promise((r) => setTimeout(r, 500));
if (process.env.SWDEBUG) console.error('sync starts at', Math.round(performance.now()));
const update = await longestBlock(() => syncCorpus(engine, db, corpusDir));

// The state's write alone, as the sync ends with it.
await new Promise((r) => setTimeout(r, 500));
const write = await longestBlock(() =>
  writeStateGradually(db, engine, (id, _hash, text) => detectMetadata(id, text()), { pause: () => new Promise((r) => setImmediate(r)) }),
);

process.stdout.write(
  `${JSON.stringify({
    passages,
    openStats: opened.stats,
    before: { writeStateAtOnceMs: atOnceMs, engineStateMs: snapshotMs },
    after: {
      longestBlockMs: update.ms,
      longestBlockCpuMs: update.cpuMs,
      histogramMaxMs: update.histogramMaxMs,
      syncWallMs: update.wallMs,
      indexed: update.value.indexed,
      writeAloneLongestBlockMs: write.ms,
      writeAloneLongestBlockCpuMs: write.cpuMs,
      writeAloneWallMs: write.wallMs,
      written: write.value,
    },
  })}\n`,
);
db.close();
process.exit(0);
