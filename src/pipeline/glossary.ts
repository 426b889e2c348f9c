/**
 * The cross-lingual glossary: Chinese terms paired with their English
 * equivalents, kept beside the papers as `duikou.glossary.tsv`.
 *
 * File format (UTF-8, tab-separated):
 *
 * ```
 * # comment lines start with '#'; blank lines are ignored
 * zh	en	source
 * 对口支援	counterpart support	wang-counterpart-support-policy
 * 对口支援	partner assistance	zhou-partner-assistance-overview
 * ```
 *
 * The first line that is not blank or a comment must be the header
 * `zh<TAB>en<TAB>source`. Every other line has exactly three non-empty
 * columns: a Chinese term (containing at least one Han character), an English
 * term (Latin letters, no Han characters) and the source of the pair (a
 * document id, or `curated`). One Chinese term may have several rows, one per
 * English equivalent. A repeated (zh, en) pair is an error.
 *
 * Expansion policy: {@link Glossary.expansionsOf} matches a term against both
 * sides and returns the matching entries; the search stage expands a query
 * term to the **other language's** side of those entries only. So
 * `counterpart support` expands to 对口支援, not to its English synonyms
 * `partner assistance`, `paired aiding` … — the English synonyms are not
 * claimed to be interchangeable with each other, only to translate the same
 * Chinese term; a researcher who wants them searches for 对口支援 (which expands
 * to all of them) or names them. {@link Glossary.translationsOf} implements
 * exactly this policy.
 *
 * A term with no entry of its own that stands inside a few entries (two or
 * more English words as whole words, or two or more Chinese characters)
 * translates to those entries' other sides: `Three Gorges` reaches 三峡工程
 * and 三峡库区 through `Three Gorges Project` and `Three Gorges Reservoir
 * Area`, since a passage on the Three Gorges Project is a passage on the
 * Three Gorges. Such translations are marked `narrower`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileProblemError } from '../core/errors.js';
import type { Lang } from '../core/types.js';
import { americanSpelling } from './analyze.js';

/** The glossary's file name inside the corpus folder (the loader skips `duikou.*`). */
export const GLOSSARY_FILE = 'duikou.glossary.tsv';

/** One row of the glossary: a Chinese term, one English equivalent, and where the pair came from. */
export interface GlossaryEntry {
  zh: string;
  en: string;
  /** Document id the pair was read from, or `curated`. */
  source: string;
}

/** A term in the other language reached through a glossary entry. */
export interface GlossaryTranslation {
  /** The other-language term to search for (the entry's `zh` or `en`). */
  term: string;
  /** Language of `term`. */
  lang: Lang;
  /** The entry the translation came through; `via` of a match is usually `entry.zh` or `entry.en`. */
  entry: GlossaryEntry;
  /** The entry is narrower than the term looked up: it contains it (`Three Gorges` in `Three Gorges Project`). */
  narrower?: boolean;
}

/** A parsed glossary with lookups in both directions. */
export interface Glossary {
  /** All entries, in file order. */
  readonly entries: readonly GlossaryEntry[];
  /**
   * Entries whose Chinese or English side equals `term` (after
   * {@link normalizeGlossaryTerm} on both), in file order; empty if none.
   * The whole term must match: `support` does not find `counterpart support`.
   */
  expansionsOf(term: string): GlossaryEntry[];
  /**
   * The other-language terms `term` expands to (see the module comment):
   * for a Chinese match its English sides, for an English match its Chinese
   * sides; each distinct term once, with the first entry it came through.
   */
  translationsOf(term: string): GlossaryTranslation[];
}

const HAN = /\p{Script=Han}/u;
/** A term inside more entries than this is too general to stand for any of them (支援, support). */
const MAX_NARROWER = 4;
const LATIN = /\p{Script=Latin}/u;
const HEADER = ['zh', 'en', 'source'] as const;

/**
 * The lookup key of a term: NFKC (full-width letters and digits become ASCII,
 * compatibility ideographs become unified ones), lower-cased, hyphens and
 * dashes read as spaces, curly apostrophes as straight ones, runs of white
 * space collapsed, trimmed, each word in its American spelling (see
 * `americanSpelling` in analyze.ts). So `Village-Resident  Cadres` finds
 * `village-resident cadres`, `ｗｅｎｃｈｕａｎ earthquake` finds `Wenchuan
 * earthquake`, and `rural revitalisation` finds `rural revitalization`.
 */
export function normalizeGlossaryTerm(term: string): string {
  return term
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc]/g, "'")
    .replace(/[-\u2010-\u2015\u2212]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[a-z]+/g, americanSpelling);
}

/** Builds a {@link Glossary} over already-validated entries. */
export function createGlossary(entries: readonly GlossaryEntry[]): Glossary {
  const frozen = Object.freeze(entries.map((e) => Object.freeze({ ...e })));
  const byKey = new Map<string, GlossaryEntry[]>();
  const add = (key: string, entry: GlossaryEntry): void => {
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [entry]);
    else if (!list.includes(entry)) list.push(entry);
  };
  for (const entry of frozen) {
    add(normalizeGlossaryTerm(entry.zh), entry);
    add(normalizeGlossaryTerm(entry.en), entry);
  }

  const expansionsOf = (term: string): GlossaryEntry[] => [...(byKey.get(normalizeGlossaryTerm(term)) ?? [])];

  const translationsOf = (term: string): GlossaryTranslation[] => {
    const key = normalizeGlossaryTerm(term);
    const out: GlossaryTranslation[] = [];
    const seen = new Set<string>();
    for (const entry of byKey.get(key) ?? []) {
      // A term equal to the zh side translates to English, one equal to the en side to Chinese.
      const candidates: GlossaryTranslation[] = [];
      if (normalizeGlossaryTerm(entry.zh) === key) candidates.push({ term: entry.en, lang: 'en', entry });
      if (normalizeGlossaryTerm(entry.en) === key) candidates.push({ term: entry.zh, lang: 'zh', entry });
      for (const t of candidates) {
        const k = `${t.lang}\u0000${normalizeGlossaryTerm(t.term)}`;
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(t);
      }
    }
    // No entry for the term itself: entries that contain it, if only a few do (see the module comment).
    if (out.length === 0) return narrowerOf(key);
    return out;
  };

  // Every entry's sides normalised once: a query looks up each run of its words, and each lookup
  // without an entry of its own scans them all (normalising them per lookup cost more than ranking).
  const sides = frozen.map((e) => ({ zh: normalizeGlossaryTerm(e.zh), en: normalizeGlossaryTerm(e.en) }));
  const narrowerOf = (key: string): GlossaryTranslation[] => {
    const han = HAN.test(key);
    if (han ? Array.from(key).length < 2 : !key.includes(' ')) return [];
    const out = new Map<string, GlossaryTranslation>();
    for (const [i, entry] of frozen.entries()) {
      const side = han ? sides[i]!.zh : sides[i]!.en;
      if (side === key || !(han ? side.includes(key) : ` ${side} `.includes(` ${key} `))) continue;
      const t: GlossaryTranslation = han ? { term: entry.en, lang: 'en', entry } : { term: entry.zh, lang: 'zh', entry };
      const k = han ? sides[i]!.en : sides[i]!.zh;
      if (!out.has(k)) out.set(k, { ...t, narrower: true });
    }
    return out.size <= MAX_NARROWER ? [...out.values()] : [];
  };

  return { entries: frozen, expansionsOf, translationsOf };
}

/** A glossary with no entries (what {@link loadGlossary} gives when there is no file). */
export function emptyGlossary(): Glossary {
  return createGlossary([]);
}

function bad(fileName: string, line: number, what: string): FileProblemError {
  return new FileProblemError('bad_glossary', `${fileName}, line ${line}: ${what} (词表格式错误)`, { file: fileName, line });
}

/**
 * Parses the glossary TSV (see the module comment for the format).
 * @param tsv - the file's text; a BOM and CRLF line ends are accepted
 * @param fileName - named in error messages
 * @throws FileProblemError (`bad_glossary`) naming the file and 1-based line number of the first bad line
 */
export function parseGlossary(tsv: string, fileName: string): Glossary {
  const lines = tsv.replace(/^\uFEFF/, '').split(/\r?\n/);
  const entries: GlossaryEntry[] = [];
  const firstLineOf = new Map<string, number>();
  let sawHeader = false;

  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) return;
    const cols = raw.split('\t').map((c) => c.trim());

    if (!sawHeader) {
      if (cols.length !== 3 || cols.some((c, i) => c.toLowerCase() !== HEADER[i])) {
        throw bad(fileName, lineNo, `expected the header "zh<TAB>en<TAB>source", got "${raw.trim()}"`);
      }
      sawHeader = true;
      return;
    }

    if (cols.length !== 3) {
      throw bad(fileName, lineNo, `expected 3 tab-separated columns (zh, en, source), got ${cols.length}`);
    }
    const [zh, en, source] = cols as [string, string, string];
    if (zh === '' || en === '' || source === '') {
      throw bad(fileName, lineNo, 'a column is empty');
    }
    if (!HAN.test(zh)) throw bad(fileName, lineNo, `the zh column "${zh}" has no Chinese characters`);
    if (HAN.test(en)) throw bad(fileName, lineNo, `the en column "${en}" contains Chinese characters`);
    if (!LATIN.test(en)) throw bad(fileName, lineNo, `the en column "${en}" has no Latin letters`);
    if (/\s/.test(source)) throw bad(fileName, lineNo, `the source "${source}" must be a document id or "curated"`);

    const pairKey = `${normalizeGlossaryTerm(zh)}\u0000${normalizeGlossaryTerm(en)}`;
    const earlier = firstLineOf.get(pairKey);
    if (earlier !== undefined) {
      throw bad(fileName, lineNo, `the pair ${zh} ↔ ${en} repeats line ${earlier}`);
    }
    firstLineOf.set(pairKey, lineNo);
    entries.push({ zh, en, source });
  });

  return createGlossary(entries);
}

/**
 * Reads `duikou.glossary.tsv` from the corpus folder.
 * @param name - the file's name in messages (the bare name by default; a path where there are several)
 * @returns the parsed glossary, or an empty one when the folder has no glossary file
 * @throws UserInputError when the file exists but is malformed
 */
export function loadGlossary(corpusDir: string, name: string = GLOSSARY_FILE): Glossary {
  const path = join(corpusDir, GLOSSARY_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyGlossary();
    throw err;
  }
  return parseGlossary(text, name);
}
