/**
 * The time-left estimate of indexing, shown on the console and the pages.
 *
 * Extrapolating from the first file gave absurd figures ("about 5005 s left"
 * for a 7 s job): the first file carries the start-up costs (the segmenter's
 * dictionary, the first PDF's fonts) and a small share of the work. So there
 * is no estimate until there is enough work done to estimate from.
 */

/** No estimate before this much time has passed… */
export const MIN_ELAPSED_MS = 2000;
/** …and before this share of the work is done. */
export const MIN_FRACTION_DONE = 0.1;

/**
 * Milliseconds left, extrapolated linearly from the work done so far, or null
 * while too little is done to say (see the module comment).
 * @param elapsedMs - time since the work began
 * @param done - units of work done (bytes, files)
 * @param total - units of work in all
 */
export function estimateRemaining(elapsedMs: number, done: number, total: number): number | null {
  if (!(total > 0) || !(done > 0) || done >= total) return null;
  if (elapsedMs < MIN_ELAPSED_MS || done / total < MIN_FRACTION_DONE) return null;
  return Math.round((elapsedMs / done) * (total - done));
}
