/**
 * jieba, the Chinese segmenter the analyzer (analyze.ts) cuts Han runs with:
 * loaded here on first use, or served by a thread of its own (see
 * {@link segmentElsewhere}). Kept apart from the analyzer so jieba's own
 * thread loads nodejieba and nothing else.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nodejieba from 'nodejieba';

/** duikou's domain dictionary for jieba, kept in the repository. */
export const USER_DICT_PATH = fileURLToPath(new URL('../../resources/userdict.txt', import.meta.url));

/**
 * One-line stand-ins for jieba's keyword-extraction tables. nodejieba's
 * `load` also reads its 6 MB IDF table and stop-word list for keyword
 * extraction, which duikou never uses (it only cuts); the stand-ins take
 * 10–20 % off the dictionary load that the first Chinese query after a
 * start waits for, and about 18 MB of memory.
 */
const UNUSED_IDF_PATH = fileURLToPath(new URL('../../resources/jieba-idf.utf8', import.meta.url));
const UNUSED_STOP_WORDS_PATH = fileURLToPath(new URL('../../resources/jieba-stop-words.utf8', import.meta.url));

/**
 * What analysis asks of jieba: its two cuts of a text, with HMM on. Served by
 * nodejieba on this thread ({@link localJieba}) or by a thread of its own
 * (see {@link segmentElsewhere}).
 */
export interface JiebaCuts {
  /** jieba's words of `text`, in order, covering all of it. */
  cut(text: string): string[];
  /** jieba's search mode: the words, and the dictionary words inside each. */
  cutForSearch(text: string): string[];
}

let local: JiebaCuts | null = null;

/**
 * nodejieba on this thread, its dictionaries loaded on first use only: the
 * load costs 1–2 s and ~250 MB, and an English-only corpus never needs it.
 * nodejieba loads once per thread, synchronously: the thread does nothing
 * else meanwhile.
 */
export function localJieba(): JiebaCuts {
  if (local === null) {
    nodejieba.load({
      ...(existsSync(USER_DICT_PATH) ? { userDict: USER_DICT_PATH } : {}),
      idfDict: UNUSED_IDF_PATH,
      stopWordDict: UNUSED_STOP_WORDS_PATH,
    });
    local = { cut: (text) => nodejieba.cut(text, true), cutForSearch: (text) => nodejieba.cutForSearch(text, true) };
  }
  return local;
}

/**
 * Between two Han runs cut in one call: one of jieba's separators (cppjieba's
 * PreFilter cuts the text at each, and segments every piece apart), which a
 * Han run never holds. It comes back as a word of its own, so the cut of runs
 * joined by it is their cuts joined by it.
 */
export const RUN_SEPARATOR = '\n';

/** Which of jieba's cuts: {@link JiebaCuts.cut} or {@link JiebaCuts.cutForSearch}. */
export type JiebaCut = 'cut' | 'search';

/** A cut jieba made: which cut, of what text, and the words it gave. */
export type KnownCut = readonly [cut: JiebaCut, text: string, words: readonly string[]];

/** jieba served from elsewhere than this thread (see {@link segmentElsewhere}). */
export interface JiebaService {
  cuts: JiebaCuts;
  /** Begins loading the dictionaries, without waiting for them ({@link preloadJieba}); settles once they are loaded. */
  start(): Promise<void>;
  /** Cuts to give without asking jieba ({@link rememberCuts}). */
  remember(cuts: readonly KnownCut[]): void;
}

/** Where this thread's Chinese text is cut when it is not cut here (see {@link segmentElsewhere}). */
let elsewhere: JiebaService | null = null;

/**
 * Cut this thread's Chinese text with `service` from now on, instead of
 * loading jieba here. A server does so with a thread of its own for jieba
 * (src/workers/jieba-thread.ts): the dictionary's load then blocks neither
 * the answers that need no Chinese segmentation nor the reading of the index
 * at a restart, which it runs beside on another core.
 */
export function segmentElsewhere(service: JiebaService): void {
  elsewhere = service;
}

/**
 * Cuts made before with the same dictionary (a restart reads them with the
 * index: every paper's title and the glossary's Chinese terms, see
 * state-store.ts), given from now on without asking jieba: a query that needs
 * no Chinese words of its own is answered while jieba's dictionary is still
 * loading. Only jieba served elsewhere takes them; on this thread jieba is
 * loaded before any query anyway.
 */
export function rememberCuts(cuts: readonly KnownCut[]): void {
  elsewhere?.remember(cuts);
}

/** The jieba this thread cuts with. */
export function jieba(): JiebaCuts {
  return elsewhere?.cuts ?? localJieba();
}

/**
 * Start loading jieba's dictionaries now rather than at the first Chinese
 * text (a restart does so while the index is read, so the first Chinese
 * query does not wait for them). On this thread the load blocks until it
 * is done; on jieba's own thread it runs meanwhile.
 * @returns settles once the dictionaries are loaded: Chinese text is cut from then on without waiting
 */
export function preloadJieba(): Promise<void> {
  if (elsewhere) return elsewhere.start();
  localJieba();
  return Promise.resolve();
}
