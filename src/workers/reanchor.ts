/**
 * Re-anchoring a paper's annotations without holding up the thread that
 * answers requests. Finding a quote as it stands is quick; searching the new
 * text approximately for one that changed costs in proportion to the quote's
 * length times the text's: a quote of 60,000 characters in a paper of
 * 145,000 held the event loop for 2.6 s, and a paper whose every annotation
 * was touched by an edit holds it for the sum of them. When any annotation
 * needs that search, the whole plan is made in a worker thread, under limits
 * of its own: a pathological annotation makes the sync wait for it only so
 * long.
 */
import type { Worker } from 'node:worker_threads';
import { needsApproximateSearch, reanchorWithoutSearch } from '../store/anchor.js';
import {
  type ReanchorChange,
  type ReanchorPlan,
  type ReanchorSelector,
  count,
  planReanchor,
  reanchorChange,
} from '../store/annotation-rows.js';
import type { ReanchorCounts } from '../store/annotation-types.js';
import { startWorker, workerScript } from './prepare.js';

/** What re-anchoring one paper in the worker may cost before it is stopped. */
export interface ReanchorLimits {
  /** Longest the worker may take, in milliseconds. */
  timeoutMs: number;
  /** Heap the worker may use, in MB. */
  memoryMb: number;
}

/**
 * A minute, and half a gigabyte: far beyond what real annotations need (the
 * 60,000-character quote above takes 2.6 s), so only a pathological one meets them.
 */
export const REANCHOR_LIMITS: Readonly<ReanchorLimits> = { timeoutMs: 60_000, memoryMb: 512 };

/**
 * `planReanchor` (src/store/annotation-rows.ts), on this thread when every
 * annotation's quote still stands (where it was or elsewhere, with its
 * context), else in a worker. When the worker runs out of time or memory, the
 * annotations it placed keep their places and the others are placed without
 * the approximate search (`reanchorWithoutSearch`: orphaned, with their old range and
 * quote, unless their quote still stands somewhere), and the log says so.
 * @param newText - the paper's text now
 * @param rows - the annotations to re-anchor (only their ids and selectors are read)
 * @param what - names the paper in the log
 */
export async function planReanchorOffThread(
  newText: string,
  rows: readonly ReanchorSelector[],
  what = 'a paper',
  limits: ReanchorLimits = REANCHOR_LIMITS,
): Promise<ReanchorPlan> {
  if (!rows.some((r) => needsApproximateSearch(newText, r))) return planReanchor(newText, rows);
  // Only what the plan reads is copied to the worker, not the annotations' notes.
  const selectors = rows.map(({ id, start, end, exact, prefix, suffix }) => ({ id, start, end, exact, prefix, suffix }));
  const placed: Array<ReanchorChange | undefined> = new Array(rows.length);
  const worker = startWorker(workerScript('./reanchor-worker', import.meta.url), {
    workerData: { text: newText, rows: selectors },
    resourceLimits: { maxOldGenerationSizeMb: limits.memoryMb },
  });
  const stopped = await untilDone(worker, placed, limits);
  const counts: ReanchorCounts = { checked: 0, exact: 0, quote: 0, fuzzy: 0, orphaned: 0 };
  let unplaced = 0;
  const changes = rows.map((row, i) => {
    let c = placed[i];
    if (c === undefined) {
      unplaced++;
      c = reanchorChange(newText, row, reanchorWithoutSearch(newText, row));
    }
    count(counts, c);
    return c;
  });
  if (stopped !== null) {
    console.error(
      `duikou: re-anchoring the annotations of ${what} ${stopped}; ${unplaced} of ${rows.length} were placed without searching ` +
        'for edited quotes (those whose quote no longer stands are orphaned, their quote and note kept).',
    );
  }
  return { counts, changes };
}

/** Collect the worker's changes into `placed` until it is done (null) or stopped for a limit (why). */
function untilDone(worker: Worker, placed: Array<ReanchorChange | undefined>, limits: ReanchorLimits): Promise<string | null> {
  return new Promise((resolve) => {
    let over = false;
    const finish = (why: string | null): void => {
      if (over) return;
      over = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(why);
    };
    const timer = setTimeout(() => finish(`took longer than ${limits.timeoutMs / 1000} s`), limits.timeoutMs);
    worker.on('message', (m: { i: number; change: ReanchorChange } | 'done') => {
      if (m === 'done') finish(null);
      else placed[m.i] = m.change;
    });
    worker.on('error', (err: Error & { code?: string }) =>
      finish(err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? `needed more than ${limits.memoryMb} MB` : `failed (${err.message})`),
    );
    worker.on('exit', (code) => finish(`stopped (its worker exited with code ${code})`));
  });
}
