/**
 * Best match: what a query becomes when strict matching (every word in one
 * passage) finds too little, or when the query reads as a question or a
 * sentence — "how are village cadres selected and evaluated" has no passage
 * holding all seven words, yet several passages answer it.
 *
 * The loosened query keeps every strict construct strict: a quoted phrase,
 * an OR group, an excluded item and every filter must still hold. Only bare
 * words become optional; stop words of both languages are dropped, and a
 * Chinese run typed without spaces is also offered word by word, so
 * 对口支援取得了哪些成就 can find passages with 对口支援 and 成就 apart; an
 * English word also matches its derived nouns and adjectives (`compete` →
 * `competition`, see `derivedForms` in compile.ts). The ranking stage then
 * scores passages by how much of the query they hold.
 */
import { eng, zho } from 'stopword';
import { analyze, hanRun, runWords } from './analyze.js';
import { normalizeText } from './normalize.js';
import type { ParsedQuery, QueryItem } from './query.js';

/**
 * Question words the maintained lists (the `stopword` package's English and
 * Chinese lists) lack; they carry no topic, and they mark a question.
 */
const EN_QUESTION = [
  'how',
  'what',
  'why',
  'when',
  'where',
  'which',
  'who',
  'whom',
  'whose',
  'does',
  'did',
  'can',
  'could',
  'should',
  'would',
  'will',
  'was',
  'were',
  'has',
  'have',
  'are',
  'is',
  'do',
];
const ZH_QUESTION = ['什么', '如何', '怎么', '怎样', '怎么样', '为什么', '为何', '哪些', '哪个', '哪里', '是否', '多少', '吗', '呢'];

const STOP = new Set<string>([...eng, ...zho, ...EN_QUESTION, ...ZH_QUESTION, ...['取得', '有', '没有', '哪', '些']]);

/** Whether a word (as typed) is a stop word of English or Chinese. */
export function isStopWord(word: string): boolean {
  return STOP.has(normalizeText(word).toLowerCase());
}

/** The bare words of a query: items of single-item clauses that are not quoted. */
function bareTerms(q: ParsedQuery): string[] {
  return q.clauses.filter((c) => c.length === 1 && c[0]!.kind === 'term').map((c) => c[0]!.text);
}

/**
 * Whether the query reads as a question or a sentence: it ends with a
 * question mark, starts with an English question word, holds a Chinese one,
 * or has four or more bare words of which at least one is a stop word.
 */
export function readsAsQuestion(q: ParsedQuery): boolean {
  const words = bareTerms(q);
  if (words.length === 0) return false;
  const last = words[words.length - 1]!;
  if (/[?？]$/.test(last)) return true;
  if (EN_QUESTION.includes(normalizeText(words[0]!).toLowerCase()) && words.length >= 3) return true;
  if (words.some((w) => ZH_QUESTION.some((z) => w.length > z.length && normalizeText(w).includes(z)))) return true;
  return words.length >= 4 && words.some(isStopWord);
}

/** A query loosened for best match. */
export interface LooseQuery {
  /** Clauses that must still hold: those with a quoted phrase or an OR group. */
  required: QueryItem[][];
  /** Single words, stop words removed; a passage should hold as many as it can. */
  words: QueryItem[];
  /**
   * Word groups: a Chinese run typed without spaces, and two words typed
   * next to each other (`counterpart support`). A group scores when its words
   * stand together, or through its own glossary translation (对口支援), and
   * then counts as holding the words it covers (indexes into `words`).
   */
  groups: Array<{ item: QueryItem; covers: number[] }>;
}

/**
 * The best-match form of a query, or null when loosening would change
 * nothing (one plain word, or nothing but stop words and strict items).
 * @param entries - runs of clauses (by index, `to` exclusive) that are a
 *   multi-word glossary entry (`assistance to Tibet`): each becomes a group
 *   covering its words, so its translation (援藏) counts as holding them
 */
export function loosen(q: ParsedQuery, entries: ReadonlyArray<{ from: number; to: number; text: string }> = []): LooseQuery | null {
  const required = q.clauses.filter((c) => c.length > 1 || c[0]!.kind === 'phrase');
  const words: QueryItem[] = [];
  const groups: LooseQuery['groups'] = [];
  const index = new Map<string, number>();
  /** The index of a word in `words` (added if new), or -1 for a stop word. */
  const word = (typed: string): number => {
    const text = typed.replace(/[?？]+$/, '');
    const key = normalizeText(text).toLowerCase();
    if (text === '' || isStopWord(text)) return -1;
    let i = index.get(key);
    if (i === undefined) {
      i = words.length;
      index.set(key, i);
      words.push({ kind: 'term', text });
    }
    return i;
  };
  let dropped = false;
  // For pairs: the word index of the previous bare term, when it was one plain word.
  let previous = -1;
  // For glossary entries: the words each clause holds (indexes into `words`).
  const held: number[][] = [];
  for (const clause of q.clauses) {
    held.push([]);
    const bare = clause.length === 1 && clause[0]!.kind === 'term' ? clause[0]!.text.replace(/[?？]+$/, '') : null;
    if (bare === null) {
      previous = -1;
      continue;
    }
    const toks = analyze(bare, 'query');
    if (toks.length > 1) {
      const covers = toks.map((t) => word(bare.slice(t.start, t.end))).filter((i) => i >= 0);
      held[held.length - 1] = covers;
      if (covers.length > 0) groups.push({ item: { kind: 'term', text: bare }, covers: [...new Set(covers)] });
      dropped ||= covers.length < toks.length;
      previous = -1;
      continue;
    }
    const i = toks.length === 1 ? word(bare) : -1;
    if (i < 0) {
      dropped = true;
      previous = -1;
      continue;
    }
    held[held.length - 1] = [i];
    if (previous >= 0 && previous !== i) {
      groups.push({ item: { kind: 'phrase', text: `${words[previous]!.text} ${words[i]!.text}` }, covers: [previous, i] });
    }
    previous = i;
  }
  for (const e of entries) {
    const covers = [...new Set(held.slice(e.from, e.to).flat())];
    if (covers.length > 0) groups.push({ item: { kind: 'phrase', text: e.text }, covers });
  }
  if (words.length === 0 || (words.length === 1 && groups.length === 0 && !dropped)) return null;
  return { required, words, groups };
}

/**
 * The query whose matches a reader or a concordance marks when the query as typed matches nothing
 * there (a question, a paraphrase, found by best match): any of its best-match words, each on its
 * own, with its quoted phrases, OR groups, exclusions and filters kept. Null when loosening would
 * change nothing.
 */
export function looseMatchQuery(q: ParsedQuery): ParsedQuery | null {
  const loose = loosen(q);
  if (loose === null) return null;
  return { clauses: [...loose.required, loose.words], exclude: q.exclude, filters: q.filters };
}

/**
 * The query whose best match lists the near matches of a short strict result
 * (see `NEAR_BELOW` in search-contract.ts): passages that hold part of the
 * query, below the passages that hold all of it. A Chinese run typed whole is
 * offered as the words it is made of ({@link runWords}), so 汶川地震 also
 * reaches 汶川特大地震 and 横向转移支付 reaches 横向财政转移支付 — which the
 * strict result never holds, since a run matches only where it stands
 * contiguous. Quoted phrases, OR groups, exclusions and filters keep their
 * strict meaning, as in best match. Null when loosening would change nothing
 * (one word, nothing but stop words).
 */
export function nearQuery(q: ParsedQuery): ParsedQuery | null {
  const clauses = q.clauses.flatMap((c): QueryItem[][] => {
    // A question mark typed after the run (新冠疫情?) is not part of it, as in `loosen`.
    const run = c.length === 1 && c[0]!.kind === 'term' ? hanRun(c[0]!.text.replace(/[?？]+$/, '')) : null;
    const words = run === null ? null : runWords(run);
    return words === null ? [c] : words.map((text) => [{ kind: 'term', text }]);
  });
  const near: ParsedQuery = { clauses, exclude: q.exclude, filters: q.filters };
  return loosen(near) === null ? null : near;
}
