/**
 * Analysis stage: text → terms. The one analyzer duikou has, used when a
 * passage is indexed and when a query is parsed, so both sides always agree on
 * what a term is.
 *
 * - Normalisation first (NFKC, traditional → simplified; see normalize.ts).
 * - Scripts are split before anything else: a Han run never shares a chunk
 *   with digits or Latin letters (`2008年` → 2008 + 年, `GDP增长` → gdp + 增长),
 *   and a footnote mark (①, ², ⑴ …: `\p{No}` in the source) is a boundary,
 *   never part of a word.
 * - Han runs are segmented by jieba (HMM on) with duikou's domain dictionary,
 *   and only the Han runs: jieba would split Latin words into letters.
 * - Latin words are case-folded, stripped of diacritics, given their American
 *   spelling (see {@link americanSpelling}) and Porter-stemmed, so "key node"
 *   finds "Key Nodes" and `revitalization` finds "Revitalisation". A
 *   possessive 's is dropped (China's → china).
 *   A hyphenated compound is its parts, and in `index` mode also the whole
 *   word without the hyphen, at the first part's position (self-governing →
 *   self, govern, and selfgovern), so `selfgoverning` finds it too.
 * - Numbers are terms ("1979", "2008", "1348.11").
 *
 * Beside the jieba words, {@link hanBigrams} gives every pair of adjacent Han
 * characters: the index's recall layer, which finds a Chinese run wherever it
 * stands — inside a longer word or across jieba's word boundaries. Exactness
 * never rests on the segmentation: the search stage verifies every match on
 * the token offsets or on the normalised text.
 */
import { createRequire } from 'node:module';
import { LRUCache } from 'lru-cache';
import { stemmer } from 'stemmer';
import type { Token } from '../core/types.js';
import { type Normalized, normalize } from './normalize.js';
import { type KnownCut, RUN_SEPARATOR, jieba } from './jieba.js';

/** `index` adds the joined form of hyphenated compounds; `query` does not. */
export type AnalyzeMode = 'index' | 'query';

/** What kind of characters a token is made of; phrase adjacency depends on it. */
export type TokenScript = 'han' | 'latin' | 'number';

/** A token with the script it came from. */
export interface AnalyzedToken extends Token {
  script: TokenScript;
  /** True for the joined form of a hyphenated compound, at its first part's position (index mode only). */
  sub?: boolean;
}

/**
 * The pieces of normalised text the analyzer looks at: a Han run (with the
 * punctuation inside it, which jieba handles) or a word of letters and digits
 * of any other script — so digits and Latin letters never swallow Han.
 */
const CHUNK =
  /(\p{Script=Han}(?:[\p{Script=Han}\p{P}\p{Zs}]*\p{Script=Han})?)|((?:(?!\p{Script=Han})[\p{L}\p{N}\p{M}])+(?:(?:['’]|(?<=\p{Nd})(?:\.|,(?=\p{Nd}{3}(?!\p{Nd})))(?=\p{Nd}))(?:(?!\p{Script=Han})[\p{L}\p{N}\p{M}])+)*)/gu;
const HAN = /\p{Script=Han}/u;
/** A run of adjacent Han characters: where the bigram layer looks. */
const HAN_RUN = /\p{Script=Han}+/gu;
const ONLY_HAN = /^\p{Script=Han}+$/u;
const DIGITS = /^\p{Nd}+(?:[.,]\p{Nd}+)*$/u;
/** Thousands separators inside a number ("1,348.11" is the term 1348.11). */
const THOUSANDS = /,(?=\d{3}(?!\d))/g;
const MARKS = /\p{M}/gu;
const POSSESSIVE = /['’]s$/;
/** Footnote and circled numbers, superscripts (①, ², ⑴): NFKC makes them digits, which would glue to a word. */
const FOOTNOTE_MARK = /\p{No}/u;
/** A hyphen joining the parts of a compound (ASCII, U+2010 hyphen, U+2011 non-breaking hyphen). */
const HYPHEN = /^[-\u2010\u2011]$/;
/** Stands in for a footnote mark in the text the analyzer reads: neither chunk kind matches it. */
const BOUNDARY = '\u0001';

/**
 * The normalised text the analyzer reads, with each footnote mark replaced by
 * a boundary character. Offsets map back to the source through `norm`.
 */
function analysisText(text: string): { norm: Normalized; text: string } {
  const norm = normalize(text);
  if (!FOOTNOTE_MARK.test(text)) return { norm, text: norm.text };
  let out = '';
  for (let i = 0; i < norm.text.length; i++) {
    const src = String.fromCodePoint(text.codePointAt(norm.srcStart[i]!) ?? 0);
    out += FOOTNOTE_MARK.test(src) ? BOUNDARY : norm.text[i];
  }
  return { norm, text: out };
}

/**
 * British spellings and their American forms (`organisation` → `organization`,
 * `labour` → `labor`), from the american-british-english-translator package's
 * word list: single lower-case words on both sides.
 */
const BRITISH_TO_AMERICAN: Readonly<Record<string, string>> = createRequire(import.meta.url)(
  'american-british-english-translator/data/british_spellings.json',
);
const american = (w: string): string | undefined => (Object.hasOwn(BRITISH_TO_AMERICAN, w) ? BRITISH_TO_AMERICAN[w] : undefined);
/** An -isation noun, which the list often lacks when it has the -ise verb (revitalise, but not revitalisation). */
const ISATION = /^([a-z]+)isation(s?)$/;

/**
 * The American spelling of a lower-case word, or the word itself. The papers
 * mix both spellings (translated Chinese papers often write British English:
 * "Rural Revitalisation", "organisations", "emphasised", beside
 * "revitalization", "organizations" elsewhere), and Porter's stemmer gives
 * the two spellings different stems (organis / organ), so a researcher typing
 * either missed the other. Applied before stemming, at index and query time
 * alike. An -isation noun missing from the list takes the -ization form when
 * the list has its -ise verb, so only words the list knows are respelled.
 */
export function americanSpelling(word: string): string {
  const direct = american(word);
  if (direct !== undefined) return direct;
  const m = ISATION.exec(word);
  if (m && american(`${m[1]}ise`) === `${m[1]}ize`) return `${m[1]}ization${m[2]}`;
  return word;
}

/** A Latin or numeric word's term (see {@link latinTerm}). */
export interface LatinTerm {
  readonly term: string;
  readonly script: TokenScript;
}

/**
 * Words already made terms (`false`: nothing is left of the word): a paper
 * repeats its words, and respelling and stemming each occurrence again was a
 * fifth of the analysis.
 */
const latinTerms = new LRUCache<string, LatinTerm | false>({ max: 1 << 16 });

/** The term of one Latin or numeric word, or null when nothing is left of it. */
export function latinTerm(word: string): LatinTerm | null {
  const known = latinTerms.get(word);
  if (known !== undefined) return known === false ? null : known;
  const made = makeLatinTerm(word);
  latinTerms.set(word, made === null ? false : Object.freeze(made));
  return made;
}

function makeLatinTerm(word: string): LatinTerm | null {
  if (DIGITS.test(word)) return { term: word.replace(THOUSANDS, ''), script: 'number' };
  let w = word.toLowerCase();
  if (/[^\x00-\x7f]/.test(w)) w = w.normalize('NFD').replace(MARKS, '');
  w = w.replace(POSSESSIVE, '').replace(/’/g, "'");
  if (w === '') return null;
  // Only pure-letter words are stemmed: "rmb1.9" or "covid19" are codes, not words.
  return { term: /^[a-z]+$/.test(w) ? stemmer(americanSpelling(w)) : w, script: /\p{L}/u.test(w) ? 'latin' : 'number' };
}

/**
 * jieba's words of every Han run of a text, each run's words followed by
 * {@link RUN_SEPARATOR}: one call into jieba per text instead of one per
 * run (a paragraph mixing scripts has dozens of runs, and each call costs a
 * crossing into C++ and a conversion of its text both ways).
 */
function cutRuns(runs: string[]): string[] {
  if (runs.length === 0) return [];
  return jieba().cut(jiebaInput(runs));
}

/** What {@link cutRuns} hands jieba for some Han runs. */
const jiebaInput = (runs: string[]): string => (runs.length === 1 ? runs[0]! : runs.join(RUN_SEPARATOR));

/** The Han runs of a text as the analyzer reads it, each with the punctuation inside it. */
const hanChunks = (chunks: RegExpExecArray[] | RegExpMatchArray[]): string[] => chunks.flatMap((m) => (m[1] === undefined ? [] : [m[1]]));

/**
 * jieba's words of each Han run of one cut of several ({@link cutRuns}):
 * the words between separators, each run with its own, as jieba would cut
 * the run alone (it segments the pieces between separators apart).
 */
function perRun(runs: string[], words: readonly string[]): KnownCut[] {
  const out: KnownCut[] = [];
  let w = 0;
  for (const run of runs) {
    const own: string[] = [];
    while (w < words.length && words[w] !== RUN_SEPARATOR) own.push(words[w++]!);
    w++;
    out.push(['cut', run, own]);
  }
  return out;
}

/**
 * jieba's cut of each Han run {@link analyze} reads in `text` (in either
 * mode); none when the text has no Han character. A restart is given these
 * for every paper's title and the glossary's Chinese terms (kept with the
 * index, see state-store.ts), so it answers a query that needs no other
 * Chinese words before jieba's dictionary is loaded.
 */
export function cutsOf(text: string): KnownCut[] {
  const runs = hanChunks([...analysisText(text).text.matchAll(CHUNK)]);
  return runs.length === 0 ? [] : perRun(runs, cutRuns(runs));
}

/**
 * Analyse a text into terms with their offsets.
 *
 * @param text - any string; offsets of the result are UTF-16 code units of it
 * @param mode - `index` for passages, `query` for what the user typed
 * @returns tokens in text order; positions count words, a compound's joined form shares its first part's
 */
export function analyze(text: string, mode: AnalyzeMode = 'index'): AnalyzedToken[] {
  return analyzeRead(analysisText(text), mode);
}

/**
 * A passage's tokens (index mode) and its recall layer ({@link hanLayer}),
 * normalising the text once for both.
 * @param onCuts - given jieba's cut of each of the passage's Han runs (see {@link cutsOf})
 */
export function analyzeWithLayer(
  text: string,
  onCuts?: (cuts: KnownCut[]) => void,
): { tokens: AnalyzedToken[]; bigrams: string[]; stable: boolean } {
  const read = analysisText(text);
  return { tokens: analyzeRead(read, 'index', onCuts), ...layerOf(text, read.text) };
}

/** {@link analyze} on the text as the analyzer reads it. */
function analyzeRead(
  { norm, text: read }: { norm: Normalized; text: string },
  mode: AnalyzeMode,
  onCuts?: (cuts: KnownCut[]) => void,
): AnalyzedToken[] {
  const out: AnalyzedToken[] = [];
  let position = 0;
  const push = (term: string, script: TokenScript, from: number, to: number, sub = false, at = position): void => {
    const tok: AnalyzedToken = { term, script, start: norm.srcStart[from]!, end: norm.srcEnd[to - 1]!, position: at };
    if (sub) tok.sub = true;
    out.push(tok);
  };
  /** The previous Latin word (offsets in the normalised text), for hyphenated compounds. */
  let prev: { from: number; to: number; word: string; position: number; index: number } | null = null;

  const chunks = [...read.matchAll(CHUNK)];
  const runs = hanChunks(chunks);
  const words = cutRuns(runs);
  if (onCuts && runs.length > 0) onCuts(perRun(runs, words));
  let w = 0;
  for (const m of chunks) {
    const at = m.index;
    if (m[1] !== undefined) {
      prev = null;
      let offset = at;
      const end = at + m[1].length;
      while (offset < end && w < words.length) {
        const word = words[w++]!;
        const from = offset;
        offset += word.length;
        if (!HAN.test(word)) continue;
        push(word, 'han', from, offset);
        position++;
      }
      // jieba returns the input in pieces; if it ever did not, offsets would be
      // wrong, so that is a bug worth failing loudly on.
      if (offset !== end || (w < words.length && words[w++] !== RUN_SEPARATOR))
        throw new Error(`jieba lost text in ${JSON.stringify(m[1])}`);
    } else if (m[2] !== undefined) {
      const t = latinTerm(m[2]);
      if (!t) {
        prev = null;
        continue;
      }
      const end = at + m[2].length;
      if (mode === 'index' && prev && t.script === 'latin' && prev.to + 1 === at && HYPHEN.test(read[prev.to]!)) {
        // self-governing: the whole word too, placed right after its first part so
        // tokens stay in position order.
        const joined = latinTerm(prev.word + m[2]);
        if (joined) {
          const tok: AnalyzedToken = {
            term: joined.term,
            script: joined.script,
            start: norm.srcStart[prev.from]!,
            end: norm.srcEnd[end - 1]!,
            position: prev.position,
            sub: true,
          };
          out.splice(prev.index + 1, 0, tok);
        }
      }
      prev = t.script === 'latin' ? { from: at, to: end, word: m[2], position, index: out.length } : null;
      push(t.term, t.script, at, end);
      position++;
    }
  }
  return out;
}

/**
 * The Chinese run a query item stands for, or null: the item's normalised
 * text when it is nothing but Han characters. Such an item is searched like
 * grep over the normalised text — every passage holding the run, wherever
 * jieba cut it — with matches on jieba's word boundaries ranked first.
 */
export function hanRun(text: string): string | null {
  const t = normalize(text.trim()).text;
  return ONLY_HAN.test(t) ? t : null;
}

/** Han characters touching Latin letters or digits, nothing else: `GDP增长`, `2008年`. */
const MIXED = /^[\p{L}\p{N}]+$/u;

/**
 * The grep form of a query item that glues Han characters to Latin letters or
 * digits (`GDP增长`, `2008年`), or null: its normalised, lower-cased text.
 * Such an item is found wherever its text stands, like a Chinese run — also
 * when jieba made the Han part the start of a longer word (`GDP增长` in
 * `GDP增长率`).
 */
export function mixedRun(text: string): string | null {
  const t = normalize(text.trim()).text;
  return MIXED.test(t) && HAN.test(t) && !ONLY_HAN.test(t) ? t.toLowerCase() : null;
}

/** The Han parts of a mixed run (see {@link mixedRun}). */
export function hanParts(run: string): string[] {
  return run.match(HAN_RUN) ?? [];
}

/**
 * The words a Chinese run is made of, when it is a compound of words of two
 * or more characters (汶川地震 → 汶川 + 地震, 横向转移支付 → 横向 + 转移 +
 * 支付), else null. jieba keeps such a run whole (its dictionary, or duikou's,
 * has it), so its parts come from jieba's search mode, which also gives the
 * dictionary words inside a word; the longest such word at each place is
 * taken, and characters no word covers form a part of their own (新冠疫情 →
 * 新冠 + 疫情). A part of one character (大别山 → 大别 + 山) would match
 * almost anything, so a run with one is not split.
 * @param run - normalised Han characters (see {@link hanRun})
 */
export function runWords(run: string): string[] | null {
  const inside = jieba()
    .cutForSearch(run)
    .filter((w) => w.length < run.length && ONLY_HAN.test(w));
  if (inside.length === 0) return null;
  const parts: string[] = [];
  let gap = '';
  for (let at = 0; at < run.length;) {
    let word = '';
    for (const w of inside) if (w.length > word.length && run.startsWith(w, at)) word = w;
    if (word === '') {
      gap += run[at];
      at++;
      continue;
    }
    if (gap !== '') parts.push(gap);
    gap = '';
    parts.push(word);
    at += word.length;
  }
  if (gap !== '') parts.push(gap);
  return parts.length > 1 && parts.every((p) => Array.from(p).length >= 2) ? parts : null;
}

/** The pairs of adjacent characters (code points) of a Han run, each distinct pair once. */
export function runBigrams(run: string): string[] {
  const cs = Array.from(run);
  const out = new Set<string>();
  for (let i = 0; i + 1 < cs.length; i++) out.add(cs[i]! + cs[i + 1]!);
  return [...out];
}

/**
 * The recall layer of a text: every pair of adjacent Han characters after
 * normalisation (punctuation, a space, a digit, a letter or a footnote mark
 * between two characters breaks the pair), each distinct pair once; and
 * whether normalisation leaves the text's Han runs as they are (no
 * traditional or compatibility characters), so {@link findRun} may search
 * the text itself.
 */
export function hanLayer(text: string): { bigrams: string[]; stable: boolean } {
  return layerOf(text, analysisText(text).text);
}

/** {@link hanLayer} of `text`, read by the analyzer as `read`. */
function layerOf(text: string, read: string): { bigrams: string[]; stable: boolean } {
  const out = new Set<string>();
  const runs: string[] = [];
  for (const m of read.matchAll(HAN_RUN)) {
    runs.push(m[0]);
    for (const b of runBigrams(m[0])) out.add(b);
  }
  const raw = text.match(HAN_RUN) ?? [];
  return { bigrams: [...out], stable: raw.length === runs.length && raw.every((r, i) => r === runs[i]) };
}

/** The distinct Han bigrams of a text (see {@link hanLayer}). */
export function hanBigrams(text: string): string[] {
  return hanLayer(text).bigrams;
}

/**
 * Every place a Han run stands in a text — grep over the text as the analyzer
 * reads it (normalised, footnote marks as boundaries) — as source ranges.
 * Occurrences do not overlap (the search goes on from the end of each one).
 * @param stable - the text's Han runs are known to be unchanged by
 *   normalisation ({@link hanLayer}): search the text itself, which is faster
 */
export function findRun(text: string, run: string, stable = false): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  if (run === '') return out;
  // A mixed run (see mixedRun) is lower-cased: its Latin letters match in any case.
  const fold = !ONLY_HAN.test(run);
  if (stable && !fold) {
    for (let i = text.indexOf(run); i >= 0; i = text.indexOf(run, i + run.length)) out.push({ start: i, end: i + run.length });
    return out;
  }
  const { norm, text: seen } = analysisText(text);
  const lower = fold ? seen.toLowerCase() : seen;
  // Lower-casing keeps the length for every script but a few letters (İ); those texts are searched as they are.
  const read = lower.length === seen.length ? lower : seen;
  for (let i = read.indexOf(run); i >= 0; i = read.indexOf(run, i + run.length)) {
    out.push({ start: norm.srcStart[i]!, end: norm.srcEnd[i + run.length - 1]! });
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
 * @param positions - when given, receives each biword's position (its first token's), in the same order
 */
export function biwords(toks: readonly AnalyzedToken[], positions?: number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < toks.length; i++) {
    const a = toks[i]!;
    for (let j = i + 1; j < toks.length; j++) {
      const b = toks[j]!;
      if (b.position > a.position + 1) break;
      if (follows(a, b)) {
        out.push(biword(a.term, b.term));
        positions?.push(a.position);
      }
      if (a.script === 'han' && b.script === 'han' && follows(a, b, true)) {
        out.push(biword(a.term, b.term, true));
        positions?.push(a.position);
      }
    }
  }
  return out;
}
