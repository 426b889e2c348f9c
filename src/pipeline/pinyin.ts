/**
 * Pinyin, through pinyin-pro: the order Chinese words, tags and concordance
 * lines sort in, finding a tag by its pinyin or initials (`dkzy` → 对口支援),
 * and reading a query typed in pinyin (`duikou zhiyuan`, `duikouzhiyuan`) as
 * the corpus's Chinese terms that sound so.
 *
 * A researcher without a Chinese input method types the sound; the corpus
 * decides which characters it means: only Chinese terms that occur in the
 * indexed papers (jieba's words, two characters or more) are candidates, so
 * `zhiyuan` reads as the 支援 and 志愿 of the papers, never as some word no
 * paper holds. The query keeps what was typed as an alternative, so a
 * romanised word in an English paper is still found.
 */
import { customPinyin, match, pinyin } from 'pinyin-pro';
import type { ParsedQuery, QueryItem } from './query.js';

// pinyin-pro reads 藏 in 援藏 (aid to Tibet) as cáng, "to hide", for want of the
// word in its dictionary; the policy's words (援藏, 对口援藏) say zàng, as 西藏 does.
customPinyin({ 援藏: 'yuán zàng' });

const HAN = /\p{Script=Han}/u;
const ALL_HAN = /^\p{Script=Han}{2,}$/u;

/**
 * Sort keys computed so far. A Map emptied when full rather than lru-cache:
 * sorting a concordance or a tag list asks for the same few thousand words
 * n log n times, and the Map answers about 54 lookups a µs against
 * lru-cache's 33; emptying it now and then costs one pinyin conversion per
 * word afterwards, no more.
 */
const keyCache = new Map<string, string>();

/** A word's sort key: pinyin with tone numbers for Chinese (`dui4kou3`), case-folded text otherwise. */
export function wordSortKey(surface: string): string {
  let k = keyCache.get(surface);
  if (k === undefined) {
    const folded = surface.normalize('NFKC').toLowerCase();
    k = HAN.test(folded)
      ? pinyin(folded, { toneType: 'num', type: 'array', nonZh: 'consecutive', v: true }).join('').toLowerCase()
      : folded;
    if (keyCache.size > 100_000) keyCache.clear();
    keyCache.set(surface, k);
  }
  return k;
}

/**
 * Compare two words (or tag names): by sort key (pinyin / folded letters),
 * then by the characters themselves, so Chinese and Latin names share one
 * letter order (安徽, apple, 北京, Beijing …) as a bilingual index has it.
 */
export function compareWords(a: string, b: string): number {
  const ka = wordSortKey(a);
  const kb = wordSortKey(b);
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Tag names in pinyin order (Chinese by pinyin, Latin alphabetically), a parent's name before its children's. */
export function sortTagNames(names: readonly string[]): string[] {
  const levels = (n: string) => n.split('/');
  return [...names].sort((a, b) => {
    const la = levels(a);
    const lb = levels(b);
    for (let i = 0; i < Math.min(la.length, lb.length); i++) {
      const c = compareWords(la[i]!, lb[i]!);
      if (c !== 0) return c;
    }
    return la.length - lb.length;
  });
}

/** Letters typed as pinyin: Latin letters (ü as v), with apostrophes or hyphens between syllables allowed. */
const PINYIN_TYPED = /^[a-zü]+(?:['’-][a-zü]+)*$/i;

/** What was typed, as bare lower-case pinyin letters (`Xi'an` → `xian`, `lü` → `lv`), or null when it is not letters only. */
export function pinyinLetters(typed: string): string | null {
  const t = typed.trim().normalize('NFC');
  if (!PINYIN_TYPED.test(t)) return null;
  return t.toLowerCase().replace(/['’-]/g, '').replace(/ü/g, 'v');
}

/**
 * Whether a name (a tag) is found by what was typed: as a substring of the
 * name ignoring case, or, for letters, by the pinyin of its characters —
 * whole syllables, initials or a mix (`dkzy`, `duikou`, `duikzy` all find
 * 对口支援; `yzjy` finds 援藏/教育).
 */
export function matchesTyped(name: string, typed: string): boolean {
  const t = typed.trim();
  if (t === '') return true;
  if (name.toLowerCase().includes(t.toLowerCase())) return true;
  if (!HAN.test(name)) return false;
  const letters = t.replace(/\s+/g, '');
  if (pinyinLetters(letters) === null) return false;
  return match(name, letters.replace(/['’-]/g, '')) !== null;
}

/** Pinyin keys of tag names for a page script: full syllables and initials, without tones or spaces. */
export function pinyinKeys(name: string): { full: string; initials: string } {
  if (!HAN.test(name)) return { full: '', initials: '' };
  const opts = { toneType: 'none', type: 'array', nonZh: 'removed', v: true } as const;
  return {
    full: pinyin(name, opts).join('').toLowerCase(),
    initials: pinyin(name, { ...opts, pattern: 'first' })
      .join('')
      .toLowerCase(),
  };
}

/** Longest candidate list one typed run reads as (homophones × pieces). */
const MAX_READINGS = 8;
/** Most typed words one pinyin run spans (`dui kou zhi yuan`). */
const MAX_RUN_WORDS = 8;
/** Longest run of letters read as pinyin (a 16-character term's worth). */
const MAX_LETTERS = 96;

/** Longest a background conversion step holds the event loop, in ms. */
const STEP_MS = 10;

/**
 * The corpus's Chinese terms by their toneless pinyin. Terms are collected
 * as papers are indexed (a set insert each) and converted to pinyin in the
 * background, a few milliseconds at a time, so neither indexing nor the event
 * loop waits for it (a 10 MB corpus has some 13,000 terms, a quarter of a
 * second of pinyin-pro's work); a query that comes before it is done
 * converts the rest first, so it never misses a term.
 */
export class PinyinLexicon {
  private readonly seen = new Set<string>();
  private pending: string[] = [];
  private readonly byKey = new Map<string, string[]>();
  private longest = 0;
  private scheduled = false;

  /** Every term noted so far (to persist; {@link addTerms} of them rebuilds the lexicon). */
  noted(): string[] {
    return [...this.seen];
  }

  /** Note a passage's terms (only all-Han terms of two characters or more are kept). */
  addTerms(terms: readonly string[]): void {
    for (const t of terms) {
      // Han first character, and not a biword (`a|b`, `a~b`): the cheap test; the full one runs when converting.
      const c = t.charCodeAt(0);
      if (c < 0x3400 || c > 0x9fff || t.length < 2 || t.length > 16 || t.includes('|') || t.includes('~') || this.seen.has(t)) continue;
      this.seen.add(t);
      this.pending.push(t);
    }
    if (this.pending.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.step()).unref();
    }
  }

  /** Convert for at most {@link STEP_MS}, then let the event loop run and go on. */
  private step(): void {
    this.scheduled = false;
    this.convert(Date.now() + STEP_MS);
    if (this.pending.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.step()).unref();
    }
  }

  /** Convert pending terms (all of them, or until `until`). */
  private convert(until = Infinity): void {
    let i = 0;
    for (; i < this.pending.length; i++) {
      if ((i & 63) === 0 && Date.now() >= until) break;
      const t = this.pending[i]!;
      if (!ALL_HAN.test(t)) continue;
      const key = pinyin(t, { toneType: 'none', type: 'array', v: true }).join('').toLowerCase();
      if (!/^[a-z]+$/.test(key)) continue;
      const list = this.byKey.get(key);
      if (list) list.push(t);
      else this.byKey.set(key, [t]);
      this.longest = Math.max(this.longest, key.length);
    }
    this.pending = i >= this.pending.length ? [] : this.pending.slice(i);
  }

  /** The terms whose pinyin is exactly `key` (bare letters). */
  terms(key: string): readonly string[] {
    this.convert();
    return this.byKey.get(key) ?? [];
  }

  /**
   * What bare pinyin letters read as: the Chinese strings made of the fewest
   * corpus terms whose pinyin, joined, is exactly the letters (`duikouzhiyuan`
   * → 对口支援 when that is a term, else 对口 + 支援), at most
   * {@link MAX_READINGS} of them; none when no split works.
   * @param occurs - whether a term still occurs in the corpus (papers removed since keep their terms here)
   */
  read(letters: string, occurs: (term: string) => boolean = () => true): string[] {
    this.convert();
    const n = letters.length;
    if (n === 0 || n > MAX_LETTERS) return [];
    // fewest[i]: fewest terms covering letters[0, i); ways[i]: the readings of that many terms.
    const fewest: number[] = Array.from({ length: n + 1 }, () => Infinity);
    const ways: string[][] = Array.from({ length: n + 1 }, () => []);
    fewest[0] = 0;
    ways[0] = [''];
    for (let i = 0; i < n; i++) {
      if (fewest[i] === Infinity) continue;
      for (let j = i + 1; j <= Math.min(n, i + this.longest); j++) {
        const found = (this.byKey.get(letters.slice(i, j)) ?? []).filter(occurs);
        if (found.length === 0) continue;
        const pieces = fewest[i]! + 1;
        if (pieces > fewest[j]!) continue;
        if (pieces < fewest[j]!) {
          fewest[j] = pieces;
          ways[j] = [];
        }
        for (const head of ways[i]!) {
          for (const t of found) {
            if (ways[j]!.length >= MAX_READINGS) break;
            ways[j]!.push(head + t);
          }
        }
      }
    }
    return ways[n]!;
  }
}

/** How {@link readPinyin} looks things up. */
export interface PinyinReader {
  /** Chinese strings the bare letters read as (see {@link PinyinLexicon.read}). */
  read(letters: string): string[];
  /**
   * Whether a typed word is itself a word of the corpus (an English `women`,
   * a romanised `Deng Xiaoping` in an English paper): words the papers hold as
   * typed are searched as typed, and read as pinyin only when some word of the
   * run is not such a word.
   */
  known(word: string): boolean;
}

/** The items pinyin adds for one run of typed words, or none. */
function readingsOf(words: readonly string[], reader: PinyinReader): QueryItem[] {
  const letters = words.map(pinyinLetters);
  if (letters.some((l) => l === null)) return [];
  if (words.every((w) => reader.known(w))) return [];
  const found = reader.read(letters.join(''));
  return found.map((text) => ({ kind: 'term', text }));
}

const wordsOf = (item: QueryItem): string[] => item.text.split(/\s+/).filter((w) => w !== '');

/**
 * A parsed query with what was typed in pinyin also searched as its Chinese
 * terms. Consecutive single-word clauses that together read as pinyin
 * (`duikou zhiyuan`) become one clause: the words as a phrase, or any of
 * their readings (对口支援); a word or phrase standing alone gains its
 * readings as alternatives (`duikouzhiyuan` or 对口支援); an excluded one
 * excludes its readings too. Everything else is left as parsed, and the
 * input is not changed.
 */
export function readPinyin(q: ParsedQuery, reader: PinyinReader): ParsedQuery {
  const single = (c: QueryItem[]): string | null =>
    c.length === 1 && c[0]!.kind === 'term' && pinyinLetters(c[0]!.text) !== null ? c[0]!.text : null;
  const clauses: QueryItem[][] = [];
  let changed = false;
  for (let i = 0; i < q.clauses.length;) {
    const clause = q.clauses[i]!;
    // The longest run of single pinyin-like words from here that reads as Chinese.
    let taken = 0;
    for (let n = Math.min(MAX_RUN_WORDS, q.clauses.length - i); n >= 2 && taken === 0; n--) {
      const words = q.clauses.slice(i, i + n).map(single);
      if (words.some((w) => w === null)) continue;
      const found = readingsOf(words as string[], reader);
      if (found.length === 0) continue;
      clauses.push([{ kind: 'phrase', text: words.join(' ') }, ...found]);
      taken = n;
    }
    if (taken > 0) {
      changed = true;
      i += taken;
      continue;
    }
    const out = clause.flatMap((item) => [item, ...readingsOf(wordsOf(item), reader)]);
    if (out.length > clause.length) changed = true;
    clauses.push(out);
    i++;
  }
  const exclude = q.exclude.flatMap((item) => [item, ...readingsOf(wordsOf(item), reader)]);
  if (exclude.length > q.exclude.length) changed = true;
  return changed ? { ...q, clauses, exclude } : q;
}
