/**
 * A parsed query as one PostgreSQL `tsquery` over the lab server's stored
 * lexemes, plus a parameterised WHERE clause for its `lang:`/`doc:`/`kind:`
 * filters: the condition that fetches the candidates of strict (all-words)
 * matching in one statement, instead of a posting list per term.
 *
 * The query is compiled exactly as the ranking stage compiles it
 * (`compileQuery` in rank-compile.ts: glossary expansions, hyphenated compounds,
 * multi-word glossary entries, the bag-of-words of translations, stop words
 * that are optional), and each variant becomes the condition for its
 * candidates there:
 *
 * - a word: its lexeme (`'support'`), a hash for a very long one (see {@link lexeme});
 * - a phrase: its words joined by `<->` where the passage's stored word
 *   positions must follow each other (words of Latin script or numbers, and
 *   Chinese words typed apart), by `&` between two Chinese words that must
 *   touch (the stored positions allow them one apart or at one position);
 * - a Chinese run (对口支援): all its character pairs (`'对口' & '口支' & '支援'`),
 *   the Han layer's lexemes, which find it across jieba's word boundaries too;
 * - a mixed run (`GDP增长`): its Latin words and its Han parts' pairs;
 * - a translation's bag of words: all of them.
 *
 * An item is the OR (`|`) of its variants, the query the AND (`&`) of its
 * clauses; an excluded word is `!'word'` where the lexeme's presence decides
 * the exclusion (a Latin or number word, a Chinese run of two characters).
 *
 * The condition is a superset of the strict hits, never a loss: what tsquery
 * cannot say exactly is left wider and checked in Node as before — a single
 * Chinese character (found through any pair holding it, the `han` column)
 * leaves its clause out; an exclusion whose match needs the text (a longer
 * Chinese run, a phrase) is not excluded here; a passage whose stored
 * positions are incomplete (a lexeme's 256 positions, or beyond position
 * 16383: `tf_exact` false) is matched by {@link TsqueryPlan.loose}, the same
 * query with `&` for `<->`.
 */
import { createHash } from 'node:crypto';
import { hanParts, runBigrams } from '../../pipeline/analyze.js';
import type { Variant } from '../../pipeline/compile.js';
import type { PassageIndex } from '../../pipeline/index.js';
import type { ParsedQuery, QueryFilters } from '../../pipeline/query.js';
import type { CompiledItem, RankOptions, SearchSource } from '../../pipeline/rank-types.js';
import { isOptional } from '../../pipeline/rank-score.js';
import { compileQuery } from '../../pipeline/rank-compile.js';

/** PostgreSQL refuses lexemes of 2 KB or more; longer terms are stored (and looked up) as a hash. */
const MAX_LEXEME_BYTES = 2000;

/** The lexeme a term is stored under. */
export function lexeme(term: string): string {
  return Buffer.byteLength(term) < MAX_LEXEME_BYTES ? term : `#${createHash('sha256').update(term).digest('hex')}`;
}

/** A lexeme quoted for tsvector/tsquery input (`'` doubled, `\` escaped). */
export function quoteLexeme(l: string): string {
  return `'${l.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Whether an index term is a biword (see `biword` in analyze.ts). */
export const isBiword = (term: string): boolean => term.includes('|') || term.includes('~');

/** A term the index never lists a passage under (see `lookup` in search.ts): no lexeme stands for it. */
const unlisted = (term: string): boolean => term === '' || term.includes(' ') || isBiword(term);

/** A condition on a passage's lexemes; `true` matches every passage. */
type Cond = true | { op: 'lex'; l: string } | { op: 'and' | 'or'; parts: Cond[] } | { op: 'phrase'; words: string[] };

const lex = (term: string): Cond => (unlisted(term) ? true : { op: 'lex', l: lexeme(term) });
const and = (parts: Cond[]): Cond => {
  // Nested ANDs are flattened: `a & b & c`, not `a & (b & c)`.
  const kept = parts.flatMap((p) => (p === true ? [] : p.op === 'and' ? p.parts : [p]));
  return kept.length === 0 ? true : kept.length === 1 ? kept[0]! : { op: 'and', parts: kept };
};

/** The lexemes a condition requires (all of them), or null when it is not an AND of lexemes and phrases. */
function required(c: Cond): Set<string> | null {
  if (c === true || c.op === 'or') return null;
  if (c.op === 'lex') return new Set([c.l]);
  if (c.op === 'phrase') return new Set(c.words);
  const out = new Set<string>();
  for (const p of c.parts) {
    const r = required(p);
    if (r === null) return null;
    for (const l of r) out.add(l);
  }
  return out;
}

/** An AND of lexemes without phrases: a passage holding them all matches. */
const plain = (c: Cond): boolean =>
  c !== true && (c.op === 'lex' || (c.op === 'and' && c.parts.every((p) => p !== true && p.op === 'lex')));

const subset = (a: Set<string>, b: Set<string>): boolean => [...a].every((x) => b.has(x));

/**
 * The OR of conditions, each dropped that another one already covers (a
 * phrase beside its translation's bag of the same words, a variant repeated):
 * `(a <-> b) | (a & b)` is `a & b`.
 */
function or(parts: Cond[]): Cond {
  if (parts.some((p) => p === true)) return true;
  const kept: Cond[] = [];
  for (const p of parts) {
    const needs = required(p);
    if (needs && kept.some((q) => plain(q) && subset(required(q)!, needs))) continue;
    const own = plain(p) ? required(p)! : null;
    for (let i = kept.length - 1; i >= 0; i--) {
      const r = required(kept[i]!);
      if (own && r && subset(own, r)) kept.splice(i, 1);
    }
    kept.push(p);
  }
  return kept.length === 1 ? kept[0]! : { op: 'or', parts: kept };
}

/** The condition for a variant's candidates (see `candidates` in rank-compile.ts), never narrower. */
function variantCond(v: Variant): Cond {
  if (v.run !== undefined) {
    const grams = runBigrams(v.run);
    // One character: any pair holding it (the han column), which no tsquery says.
    return grams.length === 0 ? true : and(grams.map(lex));
  }
  if (v.grep !== undefined) {
    const parts = v.tokens.filter((t) => t.script !== 'han').map((t) => lex(t.term));
    for (const part of hanParts(v.grep)) parts.push(and(runBigrams(part).map(lex)));
    return and(parts);
  }
  if (v.bag || v.terms.length === 1) return and(v.terms.map(lex));
  // A phrase: chains of words at following positions, the chains ANDed.
  const chains: string[][] = [[v.terms[0]!]];
  for (let i = 1; i < v.terms.length; i++) {
    const a = v.tokens[i - 1]!;
    const b = v.tokens[i]!;
    // Two Chinese words that must touch may share a position in the passage (see `biwords`).
    if (a.script === 'han' && b.script === 'han' && !v.loose[i - 1]) chains.push([v.terms[i]!]);
    else chains.at(-1)!.push(v.terms[i]!);
  }
  if (v.terms.some(unlisted)) return and(v.terms.map(lex));
  return and(chains.map((c) => (c.length === 1 ? lex(c[0]!) : { op: 'phrase', words: c.map(lexeme) })));
}

/**
 * The lexeme whose presence means the variant matches, for an exclusion: a
 * word of no Han character (a Han word's lexeme may be a character pair of
 * the recall layer), or a Chinese run of two characters (its pair's list is
 * exact, see `itemTf` in rank-score.ts); null when only Node can tell.
 */
function exactLexeme(v: Variant): string | null {
  if (v.grep !== undefined || v.bag || v.terms.length !== 1) return null;
  if (v.run !== undefined) return v.chars === 2 ? lexeme(v.run) : null;
  const t = v.terms[0]!;
  return unlisted(t) || /\p{Script=Han}/u.test(t) ? null : lexeme(t);
}

/** tsquery text of a condition (not `true`); `phrases` false writes `&` for `<->`. */
function render(c: Exclude<Cond, true>, phrases: boolean, nested = false): string {
  switch (c.op) {
    case 'lex':
      return quoteLexeme(c.l);
    case 'phrase': {
      const s = c.words.map(quoteLexeme).join(phrases ? ' <-> ' : ' & ');
      return nested ? `(${s})` : s;
    }
    default: {
      const s = c.parts.map((p) => render(p as Exclude<Cond, true>, phrases, true)).join(c.op === 'and' ? ' & ' : ' | ');
      return nested ? `(${s})` : s;
    }
  }
}

const hasPhrase = (c: Cond): boolean => c !== true && (c.op === 'phrase' || ((c.op === 'and' || c.op === 'or') && c.parts.some(hasPhrase)));

/** A query's strict candidates as PostgreSQL conditions, and what ranking them reads. */
export interface TsqueryPlan {
  /** The whole query over `tsv`: phrases with `<->`. */
  tsquery: string;
  /**
   * The same with `&` for `<->`, for passages whose stored positions are
   * incomplete (`tf_exact` false); null when the query has no `<->`.
   */
  loose: string | null;
  /** The single terms ranking looks up (their posting lists give document frequencies). */
  terms: string[];
  /** Single Han characters ranking looks up (`lookupChar`). */
  chars: string[];
  /** The biwords whose frequencies ranking reads (phrases' word pairs), from the `pairs` column. */
  pairs: string[];
  /** The single terms whose frequencies ranking reads in a candidate (those looked up, and every variant's words). */
  counted: string[];
}

/**
 * The tsquery of a compiled query's clauses and exclusions, or null when no
 * clause narrows the passages (no words, or only single Chinese characters):
 * then strict matching looks at every passage and the plan gains nothing.
 */
export function clausesTsquery(
  clauses: readonly CompiledItem[][],
  excluded: readonly CompiledItem[],
): { tsquery: string; loose: string | null } | null {
  const positive = and(clauses.filter((c) => !isOptional(c)).map((c) => or(c.flatMap((ci) => ci.variants.map(variantCond)))));
  if (positive === true) return null;
  const nots = [...new Set(excluded.flatMap((ci) => ci.variants.map(exactLexeme)).filter((l): l is string => l !== null))];
  const tail = nots.map((l) => ` & !${quoteLexeme(l)}`).join('');
  const whole = (phrases: boolean): string => {
    const s = render(positive, phrases, nots.length > 0 && positive.op === 'or');
    return s + tail;
  };
  return { tsquery: whole(true), loose: hasPhrase(positive) ? whole(false) : null };
}

/** The biwords of a phrase variant's word pairs (see `keyTerms` in rank-spans.ts). */
function variantPairs(v: Variant): string[] {
  if (v.bag || v.terms.length < 2) return [];
  return v.terms.slice(1).map((t, i) => `${v.terms[i]}${v.loose[i] ? '~' : '|'}${t}`);
}

/**
 * Plan the strict candidates of a query: compile it as ranking does (with
 * the same glossary lookups and options), recording what its candidate
 * lookups ask the index for, and translate it (see {@link clausesTsquery}).
 * Null when the tsquery would not narrow the passages.
 */
export function planStrict(
  q: ParsedQuery,
  expansions: SearchSource['expansions'],
  opts: Pick<RankOptions, 'expand' | 'match'> = {},
): TsqueryPlan | null {
  const terms = new Set<string>();
  const chars = new Set<string>();
  const probe = {
    lookup: (t: string) => (terms.add(t), []),
    lookupAll: (ts: string[]) => (ts.forEach((t) => terms.add(t)), []),
    lookupChar: (c: string) => (chars.add(c), []),
    frequency: () => 0,
    lengthOf: () => 0,
    size: 1,
    averageLength: 1,
  } as unknown as PassageIndex;
  const src: SearchSource = {
    index: probe,
    passage: () => undefined,
    passages: () => [],
    tokens: () => [],
    titleTokens: () => [],
    expansions,
    runs: () => [],
    citesOnly: () => false,
    sectionPassages: () => [],
  };
  const { clauses, ctx } = compileQuery(q, src, { expand: opts.expand ?? true, match: opts.match ?? 'auto' });
  const t = clausesTsquery(clauses, ctx.excluded);
  if (t === null) return null;
  const variants = [...clauses.flat(), ...ctx.excluded].flatMap((ci) => ci.variants);
  const pairs = new Set(variants.flatMap(variantPairs));
  const listed = [...terms].filter((x) => !unlisted(x));
  const counted = new Set([...listed, ...variants.flatMap((v) => v.terms).filter((x) => !unlisted(x))]);
  return { ...t, terms: listed, chars: [...chars], pairs: [...pairs], counted: [...counted] };
}

/**
 * The `lang:`/`doc:`/`kind:` filters as SQL conditions on `search_passages`,
 * with parameters numbered from `from` (`$from`, …), and `tag:`/`note:` as
 * the papers holding the annotations they ask for (`within`, found by the
 * annotation layer for the reader, whose blind rounds hide other coders'
 * annotations): the overlap with a passage is checked by the caller's `restrict`.
 */
export function filterWhere(filters: QueryFilters, from = 1, within?: readonly string[]): { sql: string[]; params: unknown[] } {
  const sql: string[] = [];
  const params: unknown[] = [];
  const add = (cond: string, v: unknown): void => {
    params.push(v);
    sql.push(cond.replace('?', `$${from + params.length - 1}`));
  };
  if (filters.lang) add('lang = ?', filters.lang);
  if (filters.docs.length) add('doc_id = ANY(?::text[])', filters.docs);
  if (filters.kinds?.length) add('kind = ANY(?::text[])', filters.kinds);
  if (within) add('doc_id = ANY(?::text[])', within);
  return { sql, params };
}
