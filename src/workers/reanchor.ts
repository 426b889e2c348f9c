/**
 * Re-anchoring a paper's annotations without holding up the thread that
 * answers requests. Finding a quote as it stands is quick; searching the new
 * text approximately for one that changed costs in proportion to the quote's
 * length times the text's: a quote of 60,000 characters in a paper of
 * 145,000 held the event loop for 2.6 s, and a paper whose every annotation
 * was touched by an edit holds it for the sum of them. When any annotation
 * needs that search, the whole plan is made in a worker thread.
 */
import { needsApproximateSearch } from '../store/anchor.js';
import { type ReanchorPlan, type ReanchorSelector, planReanchor } from '../store/annotation-rows.js';
import { workerMessages, workerScript } from './prepare.js';

/**
 * {@link planReanchor}, on this thread when every annotation's quote still
 * stands (where it was or elsewhere, with its context), else in a worker.
 * @param newText - the paper's text now
 * @param rows - the annotations to re-anchor (only their ids and selectors are read)
 */
export async function planReanchorOffThread(newText: string, rows: readonly ReanchorSelector[]): Promise<ReanchorPlan> {
  if (!rows.some((r) => needsApproximateSearch(newText, r))) return planReanchor(newText, rows);
  // Only what the plan reads is copied to the worker, not the annotations' notes.
  const selectors = rows.map(({ id, start, end, exact, prefix, suffix }) => ({ id, start, end, exact, prefix, suffix }));
  for await (const plan of workerMessages<ReanchorPlan>(workerScript('./reanchor-worker', import.meta.url), {
    workerData: { text: newText, rows: selectors },
  })) {
    return plan;
  }
  throw new Error('the re-anchoring worker ended without a plan');
}
