/**
 * Query compilation: what each item of a parsed query is searched as. The
 * ranking stage and the benchmark's baselines both compile through here, so
 * they agree on every query's meaning.
 *
 * An item becomes one or more *variants*, each a sequence of analysed terms
 * that must stand together (one term, a phrase, or a Chinese word jieba cut in
 * several pieces):
 *
 * - the item as typed;
 * - a hyphenated compound also as the word without its hyphens
 *   (`self-governing` finds `selfgoverning`; the index holds the joined form
 *   of the text's compounds, so `selfgoverning` finds `self-governing`);
 * - the glossary's other-language terms for it (`via` the glossary term);
 * - for a run of words that together make a multi-word glossary entry, typed
 *   without quotes (`poverty alleviation collaboration`), that entry's
 *   translations, added to each of the run's words with an equal share of the
 *   weight, so a passage holding only the translation matches all of them.
 * - in best match only, an English word's derived nouns and adjectives that
 *   Porter's stemmer keeps apart (`compete` → `competition`), at half weight
 *   (see {@link derivedForms}); strict matching stays what the stem oracle says.
 *
 * A variant whose text is a run of Chinese characters also carries `run`: it
 * matches every passage whose normalised text holds the run, like grep.
 */
import { stemmer } from 'stemmer';
import { type AnalyzedToken, americanSpelling, analyze, hanParts, hanRun, mixedRun, runBigrams, typedApart } from './analyze.js';
import { isStopWord } from './best-match.js';
import type { PassageIndex } from './index.js';
import type { QueryItem } from './query.js';

/** One way to satisfy a query item. */
export interface Variant {
  /** The analysed terms, in order. */
  terms: string[];
  /** Query tokens, for adjacency rules (script, positions). */
  tokens: AnalyzedToken[];
  /** For each pair of consecutive terms: whether they were typed apart (see {@link typedApart}). */
  loose: boolean[];
  /** The glossary term a cross-lingual variant came through. */
  via?: string;
  /** The normalised Chinese run, when the variant is one: matched wherever it stands. */
  run?: string;
  /**
   * The grep form of an item gluing Han characters to Latin letters or digits
   * (`GDP增长`, see `mixedRun`): besides matching its words, it matches every
   * passage whose normalised text holds it, in any letter case.
   */
  grep?: string;
  /** The run's length in characters (code points). */
  chars?: number;
  /**
   * A bag of words: the content words of a multi-word English translation
   * (`aid to Tibet` → aid, Tibet), each somewhere in the passage, in any
   * order. Best-effort recall for a translation the papers word differently
   * (`Fujian … has aided Nyingchi … Tibet`); weighs less than the phrase.
   */
  bag?: boolean;
  /**
   * For a bag: the translation as a phrase. The bag counts only the times its
   * words stand together beyond the phrase's own occurrences, so a passage
   * that also words it apart once ("Wenchuan great earthquake" beside one
   * "Wenchuan earthquake") gains that, and the phrase is never counted twice.
   */
  phrase?: Variant;
  /** Share of the item's weight (below 1 for a multi-word glossary entry spread over its words, or a derived form). */
  share?: number;
  /** A derived form of the typed word (see {@link derivedForms}): it matches, but does not make the word commoner. */
  derived?: boolean;
}

/** Cross-lingual equivalents of a term or phrase as typed: text to search and the glossary term shown as `via`. */
export type Expansions = (text: string) => { text: string; via: string }[];

/** Longest run of typed words looked up as one glossary entry. */
const MAX_GROUP = 6;

/** A hyphen between two letters: the mark of a compound word. */
const COMPOUND_HYPHEN = /(?<=\p{L})[-\u2010\u2011](?=\p{L})/gu;
const HAS_COMPOUND = /\p{L}[-\u2010\u2011]\p{L}/u;

/**
 * How much a derived form of a best-match word (see {@link derivedForms})
 * counts, against 1 for the word itself: a passage on *competition* answers a
 * question about how provinces *compete*, but less surely than one using the word.
 */
export const DERIVED_SHARE = 0.5;

/** Derivational endings that make a noun or adjective of an English verb's stem (Porter's stemmer keeps them apart). */
const DERIVING = ['ition', 'itive', 'ation', 'ative', 'tion', 'tive', 'ion', 'ive'];

/**
 * The nouns and adjectives derived from an English word that Porter's stemmer
 * leaves apart from it: *compete*, *competing* → *competition*, *competitive*;
 * *produce* → *production*. Porter conflates inflections and most derivations
 * (*cooperate*, *cooperation* are both `cooper`), but not these, so a question
 * about how provinces *compete* missed the passages on their *competition*;
 * no stemmer or lemmatiser in npm conflates them (Lancaster and Snowball keep
 * compet / competit apart too). Built from the word's stem, so inflected forms
 * reach them as well; only forms the index holds will match.
 *
 * Only this way, from a verb to its nominalisations: academic prose names an
 * activity by its noun, so a passage on the *competition* among providers
 * answers how they *compete*; the other way a concept typed as a noun
 * (*poverty reduction*) would reach every passage that uses the common verb
 * (*reduce the imbalance*), which in the relevance set lowered a question's
 * ranking. Stems shorter than five letters are left alone: too short to tell.
 */
export function derivedForms(word: string): string[] {
  const w = word.toLowerCase();
  if (!/^[a-z]+$/.test(w)) return [];
  const stem = stemmer(americanSpelling(w));
  if (stem.length < 5) return [];
  return DERIVING.map((end) => stem + end).filter((form) => stemmer(form) !== stem);
}

/** A variant from a text, or null when nothing of it is left after analysis. */
export function variantOf(text: string, via?: string, share?: number): Variant | null {
  const tokens = analyze(text, 'query');
  if (tokens.length === 0) return null;
  const v: Variant = { terms: tokens.map((t) => t.term), tokens, loose: tokens.slice(1).map((t, i) => typedApart(tokens[i]!, t)) };
  const run = hanRun(text);
  if (run !== null) {
    v.run = run;
    v.chars = Array.from(run).length;
  }
  const grep = run === null && tokens.length > 1 ? mixedRun(text) : null;
  if (grep !== null) v.grep = grep;
  if (via !== undefined) v.via = via;
  if (share !== undefined && share !== 1) v.share = share;
  return v;
}

/**
 * The bag-of-words variant of an English translation (see {@link Variant.bag}),
 * or null when it has fewer than two content words or is not English.
 */
export function bagOf(text: string, via: string, phrase?: Variant): Variant | null {
  const tokens = analyze(text, 'query').filter((t) => t.script !== 'han' && !isStopWord(text.slice(t.start, t.end)));
  if (/\p{Script=Han}/u.test(text)) return null;
  const unique = tokens.filter((t, i) => tokens.findIndex((u) => u.term === t.term) === i);
  if (unique.length < 2) return null;
  const v: Variant = { terms: unique.map((t) => t.term), tokens: unique, loose: unique.slice(1).map(() => true), via, bag: true };
  if (phrase !== undefined) v.phrase = phrase;
  return v;
}

/**
 * The variants of one item.
 * @param item - the item as parsed
 * @param expansions - the glossary lookup, or null for no cross-lingual expansion
 * @param extra - translations of a multi-word glossary entry the item is part of, with their share
 * @param opts - `bags`: add each multi-word English translation's bag of words too (see {@link Variant.bag});
 *   `derive`: add a single English word's derived forms (see {@link derivedForms}) at {@link DERIVED_SHARE}
 */
export function compileItem(
  item: QueryItem,
  expansions: Expansions | null,
  extra: { text: string; via: string; share: number }[] = [],
  opts: { bags?: boolean; derive?: boolean } = {},
): Variant[] {
  const out: Variant[] = [];
  const seen = new Set<string>();
  const add = (v: Variant | null): void => {
    if (v === null) return;
    const key = `${v.via ?? ''}\u0000${v.terms.join(' ')}\u0000${v.loose.join()}\u0000${v.bag ? 'bag' : ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(v);
  };
  add(variantOf(item.text));
  if (HAS_COMPOUND.test(item.text)) add(variantOf(item.text.replace(COMPOUND_HYPHEN, '')));
  if (opts.derive && item.kind === 'term') {
    const own = new Set(out.flatMap((v) => v.terms));
    for (const form of derivedForms(item.text)) {
      const v = variantOf(form, undefined, DERIVED_SHARE);
      if (v !== null && !own.has(v.terms.join(' '))) add({ ...v, derived: true });
    }
  }
  if (expansions) {
    for (const e of expansions(item.text)) {
      const phrase = variantOf(e.text, e.via);
      add(phrase);
      if (opts.bags && phrase !== null) add(bagOf(e.text, e.via, phrase));
    }
    for (const e of extra) add(variantOf(e.text, e.via, e.share));
  }
  return out;
}

/**
 * Multi-word glossary entries typed as separate words: the runs of clauses
 * (`from` inclusive, `to` exclusive) whose words together are an entry, with
 * the entry's translations. Only clauses of one unquoted word take part; the
 * longest entry starting at a word wins, and entries do not overlap.
 */
export function glossarySpans(
  clauses: readonly QueryItem[][],
  expansions: Expansions,
): Array<{ from: number; to: number; text: string; translations: { text: string; via: string }[] }> {
  const out: Array<{ from: number; to: number; text: string; translations: { text: string; via: string }[] }> = [];
  const single = (i: number): boolean => clauses[i]?.length === 1 && clauses[i]![0]!.kind === 'term';
  let i = 0;
  while (i < clauses.length) {
    let found = 0;
    for (let n = Math.min(MAX_GROUP, clauses.length - i); n >= 2; n--) {
      if (![...Array(n).keys()].every((k) => single(i + k))) continue;
      const joined = clauses
        .slice(i, i + n)
        .map((c) => c[0]!.text)
        .join(' ');
      const ex = expansions(joined);
      if (ex.length === 0) continue;
      out.push({ from: i, to: i + n, text: joined, translations: ex });
      found = n;
      break;
    }
    i += Math.max(1, found);
  }
  return out;
}

/**
 * Multi-word glossary entries typed as separate words (see {@link glossarySpans}):
 * for each clause (by index), the translations it gains and their share.
 */
export function glossaryGroups(
  clauses: readonly QueryItem[][],
  expansions: Expansions,
): Map<number, { text: string; via: string; share: number }[]> {
  const out = new Map<number, { text: string; via: string; share: number }[]>();
  for (const span of glossarySpans(clauses, expansions)) {
    const n = span.to - span.from;
    for (let k = span.from; k < span.to; k++)
      out.set(
        k,
        span.translations.map((e) => ({ ...e, share: 1 / n })),
      );
  }
  return out;
}

/**
 * Passages that may hold a mixed variant's grep form (see {@link Variant.grep}):
 * those listed under each of its Latin and number terms and under the
 * bigrams (or, for one character, any bigram) of each of its Han parts — a
 * superset of both its word matches and its grep matches, to verify on the text.
 */
export function grepCandidates(v: Variant, index: PassageIndex): number[] {
  const lists = [index.lookupAll(v.tokens.filter((t) => t.script !== 'han').map((t) => t.term))];
  for (const part of hanParts(v.grep ?? '')) {
    const grams = runBigrams(part);
    lists.push(grams.length === 0 ? index.lookupChar(part) : index.lookupAll(grams));
  }
  const [first, ...rest] = lists.sort((a, b) => a.length - b.length);
  const sets = rest.map((l) => new Set(l));
  return Array.from(first ?? []).filter((id) => sets.every((s) => s.has(id)));
}
