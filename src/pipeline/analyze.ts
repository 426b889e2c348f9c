/**
 * Analysis stage: text → terms. The one analyzer duikou has, used when a
 * passage is indexed and when a query is parsed, so both sides always agree on
 * what a term is.
 *
 * - Normalisation first (NFKC, traditional → simplified; see normalize.ts).
 * - Han runs are segmented by jieba (HMM on) with duikou's domain dictionary,
 *   and only the Han runs: jieba would split Latin words into letters.
 * - Latin words are case-folded, stripped of diacritics and Porter-stemmed, so
 *   "key node" finds "Key Nodes". A possessive 's is dropped (China's → china).
 * - Numbers are terms ("1979", "2008", "1348.11").
 *
 * In `index` mode a long Chinese word also yields the dictionary words inside
 * it at the same position (对口支援 → 对口, 支援), so a search for 支援 finds
 * passages on 对口支援. Queries use `query` mode: the user's word as jieba cuts
 * it. Exactness never rests on the segmentation: the search stage verifies
 * every phrase on the token offsets.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nodejieba from 'nodejieba';
import { stemmer } from 'stemmer';
import type { Token } from '../core/types.js';
import { normalize } from './normalize.js';

/** `index` adds sub-words of long Chinese words for recall; `query` does not. */
export type AnalyzeMode = 'index' | 'query';

/** What kind of characters a token is made of; phrase adjacency depends on it. */
export type TokenScript = 'han' | 'latin' | 'number';

/** A token with the script it came from. */
export interface AnalyzedToken extends Token {
  script: TokenScript;
  /** True for a sub-word emitted inside a longer Chinese word (index mode only). */
  sub?: boolean;
}

/** duikou's domain dictionary for jieba, kept in the repository. */
export const USER_DICT_PATH = fileURLToPath(new URL('../../resources/userdict.txt', import.meta.url));

let jiebaReady = false;

/**
 * Load jieba's dictionaries on first use only: it costs 1–2 s and ~250 MB, and
 * an English-only corpus never needs it. nodejieba can load once per process.
 */
function jieba(): typeof nodejieba {
  if (!jiebaReady) {
    nodejieba.load(existsSync(USER_DICT_PATH) ? { userDict: USER_DICT_PATH } : {});
    jiebaReady = true;
  }
  return nodejieba;
}

/**
 * The pieces of normalised text the analyzer looks at: a Han run (with the
 * punctuation inside it, which jieba handles) or a word of letters and digits.
 */
const CHUNK =
  /(\p{Script=Han}(?:[\p{Script=Han}\p{P}\p{Zs}]*\p{Script=Han})?)|([\p{L}\p{N}\p{M}]+(?:(?:['’]|(?<=\p{Nd})(?:\.|,(?=\p{Nd}{3}(?!\p{Nd})))(?=\p{Nd}))[\p{L}\p{N}\p{M}]+)*)/gu;
const HAN = /\p{Script=Han}/u;
const DIGITS = /^\p{Nd}+(?:[.,]\p{Nd}+)*$/u;
/** Thousands separators inside a number ("1,348.11" is the term 1348.11). */
const THOUSANDS = /,(?=\d{3}(?!\d))/g;
const MARKS = /\p{M}/gu;
const POSSESSIVE = /['’]s$/;

const subWordCache = new Map<string, string[]>();

/** Dictionary words inside a long Chinese word, from jieba's search mode. */
function subWords(word: string): string[] {
  let subs = subWordCache.get(word);
  if (subs === undefined) {
    subs = jieba()
      .cutForSearch(word, true)
      .filter((w) => w !== word && w.length > 1);
    if (subWordCache.size > 50_000) subWordCache.clear();
    subWordCache.set(word, subs);
  }
  return subs;
}

/** The term of one Latin or numeric word, or null when nothing is left of it. */
export function latinTerm(word: string): { term: string; script: TokenScript } | null {
  if (DIGITS.test(word)) return { term: word.replace(THOUSANDS, ''), script: 'number' };
  let w = word.toLowerCase();
  if (/[^\x00-\x7f]/.test(w)) w = w.normalize('NFD').replace(MARKS, '');
  w = w.replace(POSSESSIVE, '').replace(/’/g, "'");
  if (w === '') return null;
  // Only pure-letter words are stemmed: "rmb1.9" or "covid19" are codes, not words.
  return { term: /^[a-z]+$/.test(w) ? stemmer(w) : w, script: /\p{L}/u.test(w) ? 'latin' : 'number' };
}

/**
 * Analyse a text into terms with their offsets.
 *
 * @param text - any string; offsets of the result are UTF-16 code units of it
 * @param mode - `index` for passages, `query` for what the user typed
 * @returns tokens in text order; positions count words, sub-words share their word's
 */
export function analyze(text: string, mode: AnalyzeMode = 'index'): AnalyzedToken[] {
  const norm = normalize(text);
  const out: AnalyzedToken[] = [];
  let position = 0;
  const push = (term: string, script: TokenScript, from: number, to: number, sub = false): void => {
    const tok: AnalyzedToken = { term, script, start: norm.srcStart[from]!, end: norm.srcEnd[to - 1]!, position };
    if (sub) tok.sub = true;
    out.push(tok);
  };

  for (const m of norm.text.matchAll(CHUNK)) {
    const at = m.index;
    if (m[1] !== undefined) {
      let offset = at;
      for (const word of jieba().cut(m[1], true)) {
        const from = offset;
        offset += word.length;
        if (!HAN.test(word)) continue;
        push(word, 'han', from, offset);
        if (mode === 'index' && word.length > 2) {
          for (const sub of subWords(word)) {
            const i = word.indexOf(sub);
            if (i >= 0) push(sub, 'han', from + i, from + i + sub.length, true);
          }
        }
        position++;
      }
      // jieba returns the input in pieces; if it ever did not, offsets would be
      // wrong, so that is a bug worth failing loudly on.
      if (offset !== at + m[1].length) throw new Error(`jieba lost text in ${JSON.stringify(m[1])}`);
    } else if (m[2] !== undefined) {
      const t = latinTerm(m[2]);
      if (t) {
        push(t.term, t.script, at, at + m[2].length);
        position++;
      }
    }
  }
  return out;
}

/**
 * Whether token `b` directly follows token `a` in a phrase. Two Chinese tokens
 * must touch (对口支援 never matches 对口，支援); otherwise the next word is
 * enough, whatever punctuation or space stands between.
 */
export function follows(a: AnalyzedToken, b: AnalyzedToken, loose = false): boolean {
  if (a.script === 'han' && b.script === 'han' && !loose) return b.start === a.end;
  return b.position === a.position + 1 && b.start >= a.end;
}

/**
 * Whether two consecutive query tokens were typed apart (Chinese words with
 * punctuation or a space between them, as in a copied "摘要:对口支援"): the
 * passage may then have them apart too, as long as no other word stands between.
 */
export function typedApart(a: AnalyzedToken, b: AnalyzedToken): boolean {
  return a.script === 'han' && b.script === 'han' && b.start > a.end;
}

/** The distinct terms of a text, for the index (order of first occurrence). */
export function terms(text: string, mode: AnalyzeMode = 'index'): string[] {
  return [...new Set(analyze(text, mode).map((t) => t.term))];
}

/**
 * The index term for `b` following `a` (see {@link follows}): `a|b` when they
 * stand together, `a~b` for two Chinese words with only punctuation or space
 * between them. The analyzer never puts `|` or `~` inside a term.
 */
export function biword(a: string, b: string, loose = false): string {
  return `${a}${loose ? '~' : '|'}${b}`;
}

/**
 * Every pair of tokens that stand together (a phrase of two), as biword
 * terms. Indexed beside the single terms, they let a two-word phrase — and
 * each step of a longer one — be looked up instead of verified by reading
 * the passage again.
 * @param toks - a passage's tokens in text order (index mode)
 */
export function biwords(toks: readonly AnalyzedToken[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < toks.length; i++) {
    const a = toks[i]!;
    for (let j = i + 1; j < toks.length; j++) {
      const b = toks[j]!;
      if (b.position > a.position + 1) break;
      if (follows(a, b)) out.push(biword(a.term, b.term));
      if (a.script === 'han' && b.script === 'han' && follows(a, b, true)) out.push(biword(a.term, b.term, true));
    }
  }
  return out;
}
