/**
 * The query language: turns what a researcher types into the search box into a
 * {@link ParsedQuery}, and renders a parsed query back into canonical text.
 *
 * The parser only finds structure. It does not normalise, segment or stem: the
 * search stage runs every term's raw text through the analyzer, so the AST
 * keeps the text as typed (a Chinese run such as `对口支援` stays one term and
 * the search stage treats it as a contiguous phrase).
 *
 * Grammar, informally (all scanning is one left-to-right pass, so linear time):
 *
 * - Whitespace (JS `\s`, which includes the ideographic space U+3000) separates
 *   words; separate items are ANDed.
 * - A quote opener starts a phrase anywhere, even inside a word: `"…"`, `＂…＂`,
 *   `“…”`, `「…」`, `『…』`. It ends at its closer, or at the end of the input
 *   when unbalanced. Phrase text is trimmed and its whitespace runs collapsed
 *   to one space; an empty phrase is dropped.
 * - `|` and `｜` are OR operators wherever they stand; the word `OR` (upper
 *   case, on its own) is one too. OR binds tighter than AND and only joins two
 *   positive items that stand right next to it; otherwise it is ignored.
 * - A word or phrase preceded by `-` / `－` (any number of them) is excluded.
 *   A minus inside a word is part of the word.
 * - `lang:`, `doc:`, `tag:`, `note:`, `kind:` (key case-insensitive, ASCII or
 *   full-width colon) at the start of a word are filters; the value is the rest
 *   of the word, or a quoted phrase right after the colon. `kind:` takes a
 *   passage kind (`kind:paragraph`, `kind:reference`, …); several `kind:` mean
 *   any of them.
 */

import { UserInputError } from '../core/errors.js';
import { type Lang, PASSAGE_KINDS, type PassageKind } from '../core/types.js';

/** Longest accepted query, in UTF-16 code units. */
export const MAX_QUERY_LENGTH = 1000;

/** Most terms and phrases (positive and excluded together) one query may hold. */
export const MAX_QUERY_ITEMS = 32;

/** One thing to look for: a word as typed, or an exact phrase. Text is never empty. */
export type QueryItem = { kind: 'term'; text: string } | { kind: 'phrase'; text: string };

/** Restrictions that are not text matches. */
export interface QueryFilters {
  /** Only passages in this language. */
  lang?: Lang;
  /** Only passages of any of these documents (deduplicated, in typed order). */
  docs: string[];
  /** Tag names for the annotation layer (deduplicated, in typed order). */
  tags: string[];
  /** Words or phrases to find in annotation notes (deduplicated, in typed order). */
  notes: string[];
  /** Only passages of any of these kinds (deduplicated, in typed order); absent when no `kind:` was typed. */
  kinds?: PassageKind[];
}

/** A parsed query. */
export interface ParsedQuery {
  /** Conjunctive normal form: every clause must match; a clause matches when any of its items does. */
  clauses: QueryItem[][];
  /** Items that must not match. */
  exclude: QueryItem[];
  filters: QueryFilters;
}

/** Filter keys the language knows; any other `word:` is an ordinary word (`http://x`, `10:30`). */
const FILTER_KEYS = ['lang', 'doc', 'tag', 'note', 'kind'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

const LANGS: readonly Lang[] = ['zh', 'en'];

/**
 * Quote openers and the characters that close them. `“` also closes on a
 * second `“` because some IMEs and fonts emit the opener twice.
 */
const CLOSERS: ReadonlyMap<string, string> = new Map([
  ['"', '"'],
  ['＂', '＂'],
  ['“', '”“'],
  ['「', '」'],
  ['『', '』'],
]);

/** Quote styles {@link formatQuery} tries, in order of preference. */
const FORMAT_QUOTES: readonly (readonly [string, string])[] = [
  ['"', '"'],
  ['“', '”'],
  ['「', '」'],
  ['『', '』'],
  ['＂', '＂'],
];

const isSpace = (c: string): boolean => /\s/.test(c);
const isMinus = (c: string): boolean => c === '-' || c === '－';
const isBar = (c: string): boolean => c === '|' || c === '｜';
/** Characters that end a bare word. */
const endsWord = (c: string): boolean => isSpace(c) || isBar(c) || CLOSERS.has(c);

/** Control characters (C0, DEL, C1): typed by accident or pasted from PDFs; they act as spaces. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

type Token = { t: 'item'; neg: boolean; item: QueryItem } | { t: 'or' } | { t: 'filter'; key: FilterKey; value: string };

/**
 * Parses a raw query string.
 *
 * @param input - the query as typed
 * @returns the query's clauses, exclusions and filters
 * @throws UserInputError `query_too_long` (over {@link MAX_QUERY_LENGTH} code units),
 *   `query_too_complex` (over {@link MAX_QUERY_ITEMS} terms and phrases),
 *   `bad_filter` (bad or conflicting `lang:`, or a filter behind `-`),
 *   `empty_query` (nothing to search for: no positive term and no filter).
 *   Nothing else is ever thrown for a string input.
 */
export function parseQuery(input: string): ParsedQuery {
  if (input.length > MAX_QUERY_LENGTH) {
    throw new UserInputError('query_too_long', `Query is too long (max ${MAX_QUERY_LENGTH} characters) / 查询过长`);
  }
  // Cleaning first means no term can carry invalid UTF-16 or a control
  // character downstream, and the scanner needs no special cases for them.
  const text = input.replace(CONTROL, ' ').replace(LONE_SURROGATE, ' ');
  return assemble(tokenize(text));
}

/** Splits cleaned text into items, OR operators and filters. */
function tokenize(s: string): Token[] {
  const tokens: Token[] = [];
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s[i] as string;
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (isBar(c)) {
      tokens.push({ t: 'or' });
      i++;
      continue;
    }
    let j = i;
    while (j < n && isMinus(s[j] as string)) j++;
    const neg = j > i;
    if (j < n && CLOSERS.has(s[j] as string)) {
      const q = readQuoted(s, j);
      if (q.text !== '') tokens.push({ t: 'item', neg, item: { kind: 'phrase', text: q.text } });
      i = q.next;
      continue;
    }
    let k = j;
    while (k < n && !endsWord(s[k] as string)) k++;
    const word = s.slice(j, k);
    i = k;
    if (word === '') continue; // a lone minus
    const key = filterKey(word);
    if (key !== null) {
      if (neg) {
        throw new UserInputError(
          'bad_filter',
          `Filters cannot be excluded with "-" (write ${key}:…, not -${key}:…) / 筛选条件不能用“-”排除`,
        );
      }
      let value = word.slice(key.length + 1);
      if (value === '' && k < n && CLOSERS.has(s[k] as string)) {
        const q = readQuoted(s, k);
        value = q.text;
        i = q.next;
      }
      tokens.push({ t: 'filter', key, value });
      continue;
    }
    if (!neg && word === 'OR') {
      tokens.push({ t: 'or' });
      continue;
    }
    tokens.push({ t: 'item', neg, item: { kind: 'term', text: word } });
  }
  return tokens;
}

/** Reads the quoted text whose opener is at `at`; an unbalanced quote runs to the end. */
function readQuoted(s: string, at: number): { text: string; next: number } {
  const closers = CLOSERS.get(s[at] as string) as string;
  let end = at + 1;
  while (end < s.length && !closers.includes(s[end] as string)) end++;
  return { text: collapse(s.slice(at + 1, end)), next: end + 1 };
}

/** Trims and collapses whitespace so that equal phrases have one canonical text. */
function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The filter key a word starts with, or null. Full-width keys (`ｌａｎｇ`) count too. */
function filterKey(word: string): FilterKey | null {
  const colon = word.search(/[:：]/);
  if (colon <= 0) return null;
  const key = word.slice(0, colon).normalize('NFKC').toLowerCase();
  const found = FILTER_KEYS.find((k) => k === key);
  // The value is sliced at `key.length + 1`, so only accept keys whose typed
  // form has the canonical length (NFKC of a full-width letter is one unit).
  return found !== undefined && colon === found.length ? found : null;
}

/** Groups tokens into clauses, applies OR, collects filters and enforces the limits. */
function assemble(tokens: Token[]): ParsedQuery {
  const clauses: QueryItem[][] = [];
  const exclude: QueryItem[] = [];
  const filters: QueryFilters = { docs: [], tags: [], notes: [] };
  // OR joins only a positive item directly before it to one directly after
  // it; a doubled OR collapses into one, and any other OR is dangling.
  let afterPositive = false;
  let pendingOr = false;
  for (const tok of tokens) {
    if (tok.t === 'or') {
      pendingOr = afterPositive;
      continue;
    }
    if (tok.t === 'item' && !tok.neg) {
      const last = clauses[clauses.length - 1];
      if (pendingOr && last !== undefined) last.push(tok.item);
      else clauses.push([tok.item]);
      afterPositive = true;
      pendingOr = false;
      continue;
    }
    afterPositive = false;
    pendingOr = false;
    if (tok.t === 'item') exclude.push(tok.item);
    else addFilter(filters, tok.key, tok.value);
  }

  const items = clauses.reduce((sum, c) => sum + c.length, 0) + exclude.length;
  if (items > MAX_QUERY_ITEMS) {
    throw new UserInputError(
      'query_too_complex',
      `Query has too many terms (max ${MAX_QUERY_ITEMS}) / 检索词过多（最多 ${MAX_QUERY_ITEMS} 个）`,
    );
  }
  const hasFilter =
    filters.lang !== undefined || filters.docs.length + filters.tags.length + filters.notes.length + (filters.kinds?.length ?? 0) > 0;
  if (clauses.length === 0 && !hasFilter) {
    throw new UserInputError('empty_query', 'Add at least one search term / 请输入检索词');
  }
  return { clauses, exclude, filters };
}

function addFilter(filters: QueryFilters, key: FilterKey, value: string): void {
  if (key === 'lang') {
    // Accept `ZH` and full-width `ｚｈ`: the value is a code, not search text.
    const lang = LANGS.find((l) => l === value.normalize('NFKC').toLowerCase());
    if (lang === undefined) {
      // Cut by code point so the message never holds half a surrogate pair.
      const points = Array.from(value);
      const shown = points.length > 40 ? `${points.slice(0, 40).join('')}…` : value;
      throw new UserInputError('bad_filter', `Unknown language "${shown}" in lang: (allowed: lang:zh, lang:en) / 语言只能是 zh 或 en`);
    }
    if (filters.lang !== undefined && filters.lang !== lang) {
      throw new UserInputError('bad_filter', 'Use only one language filter: lang:zh or lang:en / 只能指定一种语言');
    }
    filters.lang = lang;
    return;
  }
  if (key === 'kind') {
    if (value === '') return; // still being typed, as below
    const kind = PASSAGE_KINDS.find((k) => k === value.normalize('NFKC').toLowerCase());
    if (kind === undefined) {
      const shown = Array.from(value).slice(0, 40).join('');
      throw new UserInputError(
        'bad_filter',
        `Unknown passage kind "${shown}" in kind: (allowed: ${PASSAGE_KINDS.join(', ')}) / 未知的段落类型`,
      );
    }
    filters.kinds ??= [];
    if (!filters.kinds.includes(kind)) filters.kinds.push(kind);
    return;
  }
  // An empty doc:/tag:/note: restricts nothing; ignoring it keeps
  // search-as-you-type from failing while the value is still being typed.
  if (value === '') return;
  const list = key === 'doc' ? filters.docs : key === 'tag' ? filters.tags : filters.notes;
  if (!list.includes(value)) list.push(value);
}

/**
 * Renders a parsed query as canonical query text: positive clauses (items of a
 * clause joined by ` OR `), then exclusions, then filters (lang, doc, tag,
 * note, kind), separated by single spaces; phrases in the first quote style whose
 * closer does not occur in the text.
 *
 * For any query `parseQuery` returned, `parseQuery(formatQuery(q))` deep-equals
 * `q`. A hand-built query must respect what the parser produces (term text
 * with no whitespace, quote or `|`, not starting with `-`, not a filter, and
 * not `OR` unless excluded) or the output may read back differently.
 *
 * @param q - a parsed query
 * @returns query text
 */
export function formatQuery(q: ParsedQuery): string {
  const parts: string[] = [];
  for (const clause of q.clauses) parts.push(clause.map(formatItem).join(' OR '));
  for (const item of q.exclude) parts.push(`-${formatItem(item)}`);
  const { lang, docs, tags, notes, kinds } = q.filters;
  if (lang !== undefined) parts.push(`lang:${lang}`);
  for (const d of docs) parts.push(`doc:${formatValue(d)}`);
  for (const t of tags) parts.push(`tag:${formatValue(t)}`);
  for (const n of notes) parts.push(`note:${formatValue(n)}`);
  for (const k of kinds ?? []) parts.push(`kind:${k}`);
  return parts.join(' ');
}

function formatItem(item: QueryItem): string {
  return item.kind === 'term' ? item.text : quote(item.text);
}

/** A filter value stays bare when it reads back as one word. */
function formatValue(value: string): string {
  for (const c of value) if (endsWord(c)) return quote(value);
  return value;
}

function quote(text: string): string {
  // The parser ended the phrase at its own closer, so at least that style is
  // free of its closer; for hand-built text containing every closer the
  // first style is the best effort.
  const style =
    FORMAT_QUOTES.find(([open]) => ![...(CLOSERS.get(open) as string)].some((c) => text.includes(c))) ??
    (FORMAT_QUOTES[0] as readonly [string, string]);
  return `${style[0]}${text}${style[1]}`;
}
