/**
 * One lock per key (a metadata file, a corpus folder) in this process, so two
 * read-then-write changes to the same thing never interleave while changes to
 * different things go on side by side. The queueing is async-mutex's; here a
 * mutex is made for a key when first asked for and dropped once nobody holds
 * or waits for it, so the keys of a long-running server do not pile up.
 */
import { Mutex } from 'async-mutex';

const mutexes = new Map<string, Mutex>();

/**
 * Run `fn` when no other function given the same `key` is running, in the
 * order asked; its result or error is passed on, and the next one runs either way.
 */
export async function withKeyLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  let mutex = mutexes.get(key);
  if (!mutex) mutexes.set(key, (mutex = new Mutex()));
  try {
    return await mutex.runExclusive(fn);
  } finally {
    // On release the mutex passes straight to a waiter, so unlocked here means nobody waits.
    if (!mutex.isLocked() && mutexes.get(key) === mutex) mutexes.delete(key);
  }
}

/** Keys locked or waited for now (for tests: an idle key leaves nothing behind). */
export function lockedKeys(): string[] {
  return [...mutexes.keys()];
}
