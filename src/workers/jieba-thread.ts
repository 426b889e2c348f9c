/**
 * Chinese segmentation on a thread of its own. nodejieba loads its
 * dictionaries synchronously on the thread that calls it (1–3 s by machine)
 * and keeps them per thread, so loaded on the server's thread the load
 * blocked every request meanwhile — English queries, pages, annotations —
 * and ran after the index's arrays were read instead of beside them.
 *
 * {@link segmentOnJiebaThread} starts jieba's thread on first need (or when
 * a restart finds Chinese papers: {@link preloadJieba}) and routes this
 * thread's cuts to it, synchronously (synckit: the caller waits on an atomic
 * while the worker cuts), so the analyzer stays one synchronous function for
 * index and query. A cut costs a crossing between threads (tens of µs), so
 * short texts — queries, titles, glossary terms — are remembered; and cuts
 * kept with the index ({@link rememberCuts}) are given without asking jieba,
 * so queries that need no Chinese words of their own do not wait for it at a
 * restart.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { LRUCache } from 'lru-cache';
import { createSyncFn } from 'synckit';
import { type JiebaCut, type KnownCut, RUN_SEPARATOR, segmentElsewhere } from '../pipeline/jieba.js';
import { JIEBA_LOADED } from './jieba-protocol.js';
import { workerScript } from './prepare.js';

/**
 * A cut that has not come back after this long (the dictionary's load
 * included, seconds at most) is an error, not a thread waiting for ever:
 * jieba's thread is gone or stuck.
 */
const CUT_TIMEOUT_MS = 60_000;

/** Texts up to this many code units have their cuts remembered: queries, titles, glossary terms. */
const REMEMBERED_LENGTH = 64;

/**
 * Cut this thread's Chinese text on jieba's own thread from now on (see the
 * module comment). Call it once, before any Chinese text is analysed; the
 * thread starts on the first cut or {@link preloadJieba}.
 * @param worker - the thread's module (tests pass one that holds the load back until they let it go)
 */
export function segmentOnJiebaThread(worker?: URL): void {
  let call: ((mode: JiebaCut, text: string) => string[]) | null = null;
  let loaded: Promise<void> | null = null;
  const start = (): Promise<void> => {
    if (loaded === null) {
      // Listening before the thread starts: a channel keeps no message for a listener that comes later.
      // The channel keeps the process alive until the message comes (a command waiting for the load
      // has nothing else that would), for at most CUT_TIMEOUT_MS.
      const listening = new BroadcastChannel(JIEBA_LOADED);
      listeners.add(listening);
      loaded = new Promise((resolve, reject) => {
        const done = (): void => {
          clearTimeout(timer);
          listening.close();
          listeners.delete(listening);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`jieba's thread did not load its dictionary within ${CUT_TIMEOUT_MS / 1000} s`));
        }, CUT_TIMEOUT_MS).unref();
        listening.onmessage = () => {
          done();
          resolve();
        };
      });
      // Whoever waits for the load hears of a failure; nobody waiting is not an unhandled rejection.
      loaded.catch(() => undefined);
      // From the TypeScript sources, a plain module that registers tsx first (see jieba-worker-tsx.mjs).
      const script = workerScript('jieba-worker', import.meta.url);
      call = createSyncFn(fileURLToPath(worker ?? (script.ts ? new URL('jieba-worker-tsx.mjs', import.meta.url) : script.url)), {
        timeout: CUT_TIMEOUT_MS,
      });
    }
    return loaded;
  };
  /** Cuts kept with the index, by cut and text; and the longest such text, so longer ones skip the lookup. */
  const known = new Map<string, readonly string[]>();
  let knownLength = 0;
  /** The cut of `text` from the kept cuts alone, or undefined: the whole text's, or each of its runs' (jieba cuts them apart). */
  const fromKept = (mode: JiebaCut, text: string): string[] | undefined => {
    if (known.size === 0) return undefined;
    const whole = text.length <= knownLength ? known.get(`${mode}:${text}`) : undefined;
    if (whole !== undefined || mode !== 'cut' || !text.includes(RUN_SEPARATOR)) return whole as string[] | undefined;
    const out: string[] = [];
    for (const [i, run] of text.split(RUN_SEPARATOR).entries()) {
      const words = run.length <= knownLength ? known.get(`cut:${run}`) : undefined;
      if (words === undefined) return undefined;
      if (i > 0) out.push(RUN_SEPARATOR);
      out.push(...words);
    }
    return out;
  };
  const remembered = new LRUCache<string, readonly string[]>({ max: 4096 });
  const cuts =
    (mode: JiebaCut) =>
    (text: string): string[] => {
      const given = fromKept(mode, text);
      if (given !== undefined) return given;
      const key = `${mode}:${text}`;
      if (text.length > REMEMBERED_LENGTH) {
        start();
        return call!(mode, text);
      }
      let words = remembered.get(key);
      if (words === undefined) {
        start();
        remembered.set(key, (words = Object.freeze(call!(mode, text))));
      }
      return words as string[];
    };
  segmentElsewhere({
    cuts: { cut: cuts('cut'), cutForSearch: cuts('search') },
    start,
    remember: (given: readonly KnownCut[]) => {
      for (const [mode, text, words] of given) {
        known.set(`${mode}:${text}`, Object.freeze([...words]));
        knownLength = Math.max(knownLength, text.length);
      }
    },
  });
}

/** The channels waiting to hear that jieba is loaded, held: a channel nothing refers to may be collected before its message comes. */
const listeners = new Set<BroadcastChannel>();
