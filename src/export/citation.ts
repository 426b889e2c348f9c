/**
 * Citations in two styles.
 *
 * - `apa`: author–date in the manner of APA 7 — `Wang, H. (2023). Title. Venue.`,
 *   in text `(Wang, 2023)`, narrative `Wang (2023)`. Up to 20 authors in the
 *   reference (`A, B, & C`; 21+ → first 19, `…`, last); in text two authors
 *   are joined with `&` and three or more become `First et al.`.
 *   A missing year is `n.d.`.
 * - `gbt7714`: GB/T 7714-2015, the national standard Chinese scholars cite in —
 *   `王禹澔. 中国特色对口支援机制：成就、经验与价值[J]. 管理世界, 2022.` and for a
 *   Western paper `WANG H. Title[J]. Venue, 2023.` Up to three authors, then
 *   `等` (Chinese) / `et al` (other languages). Family names of romanised
 *   authors are upper-cased, given names reduced to initials without points.
 *   The document-type code is `[J]` (journal article) when there is a venue,
 *   `[Z]` (unspecified) when there is none. A missing year is left out. In text
 *   (the standard's author–year system): `（王禹澔，2022）`, `(WANG et al., 2023)`.
 *
 * Pages: a quote from a paper with page information is cited with its page —
 * APA `(Wang, 2023, p. 12)`, `(Wang, 2023, pp. 12–13)`; GB/T 7714 puts the
 * page after a colon, as its reference entries do (`…, 2022: 12`), so
 * `（王禹澔，2022）: 12` and `: 12-13`. Without page information nothing is said.
 *
 * `auto` (the default) cites each paper in the style of its own language:
 * Chinese papers in GB/T 7714, English papers in APA.
 *
 * Names: a name containing a CJK ideograph is written whole, never abbreviated
 * (`王禹澔`). A romanised name is read "Given Family" (`Hanjing Wang` →
 * family `Wang`) unless it contains a comma, which is read "Family, Given"
 * (`Zhou, Na`) — that is how metadata can say that a romanised Chinese name is
 * written family-first. A one-word name (an organisation) is kept as is.
 */
import type { PageRange } from '../core/types.js';
import { CJK } from '../pipeline/lang.js';
import { pageLabel } from '../pipeline/pages.js';
import type { ExportDocument } from './types.js';

/** A citation style: APA 7 (English papers) or GB/T 7714-2015 (Chinese papers). */
export type CitationStyle = 'apa' | 'gbt7714';
/** A style, or `auto`: each paper in the style of its own language. */
export type CitationStyleOption = CitationStyle | 'auto';
/** Every style a user can choose, `auto` first (the default). */
export const CITATION_STYLES: readonly CitationStyleOption[] = ['auto', 'apa', 'gbt7714'];

/** What a citation needs of a document. */
export type CitableDocument = Pick<ExportDocument, 'title' | 'authors' | 'year' | 'venue' | 'lang'>;

/** The concrete style a document is cited in. */
export function styleFor(doc: Pick<CitableDocument, 'lang'>, style: CitationStyleOption = 'auto'): CitationStyle {
  if (style !== 'auto') return style;
  return doc.lang === 'zh' ? 'gbt7714' : 'apa';
}

interface Name {
  /** Family name (or the whole name when it cannot be split). */
  family: string;
  /** Given names, each a word; empty for CJK and one-word names. */
  given: string[];
  cjk: boolean;
}

function hasCjk(s: string): boolean {
  return CJK.test(s);
}

/** Split an author name into family and given names (see the module comment). */
export function parseName(raw: string): Name {
  const name = raw.trim().replace(/\s+/g, ' ');
  if (hasCjk(name)) return { family: name.replace(/\s+/g, ''), given: [], cjk: true };
  const comma = name.indexOf(',');
  if (comma >= 0) {
    const family = name.slice(0, comma).trim();
    const given = name.slice(comma + 1).trim();
    return { family, given: given ? given.split(' ') : [], cjk: false };
  }
  const words = name.split(' ').filter(Boolean);
  if (words.length <= 1) return { family: name, given: [], cjk: false };
  return { family: words[words.length - 1]!, given: words.slice(0, -1), cjk: false };
}

/** `Xiao-Ming` → `X.-M.` (APA) or `X M` (GB/T). */
function initials(given: string[], style: CitationStyle): string {
  const parts: string[] = [];
  for (const word of given) {
    const pieces = word.split('-').filter(Boolean);
    const letters = pieces.map((p) => {
      const first = [...p.replace(/^[^\p{L}]+/u, '')][0] ?? '';
      return first.toUpperCase();
    });
    if (style === 'apa') parts.push(letters.map((l) => `${l}.`).join('-'));
    else parts.push(letters.join(' '));
  }
  return parts.filter(Boolean).join(' ');
}

/** `Wang, H.` (APA reference form). */
function apaName(n: Name): string {
  if (n.cjk || n.given.length === 0) return n.family;
  return `${n.family}, ${initials(n.given, 'apa')}`;
}

/** `WANG H` (GB/T form). */
function gbtName(n: Name): string {
  if (n.cjk) return n.family;
  if (n.given.length === 0) return n.family;
  return `${n.family.toUpperCase()} ${initials(n.given, 'gbt7714')}`;
}

/** Does a document count as Chinese for GB/T's `等` vs `et al`? */
function isChinese(doc: CitableDocument): boolean {
  return doc.lang === 'zh';
}

/** Terminate a piece with `.` unless it already ends in sentence punctuation. */
function period(s: string): string {
  return /[.?!。？！]$/.test(s) ? s : `${s}.`;
}

function clean(s: string | null | undefined): string {
  return (s ?? '').trim().replace(/\s+/g, ' ');
}

function apaAuthorList(names: Name[]): string {
  const a = names.map(apaName);
  if (a.length === 0) return '';
  if (a.length === 1) return a[0]!;
  if (a.length === 2) return `${a[0]}, & ${a[1]}`;
  if (a.length <= 20) return `${a.slice(0, -1).join(', ')}, & ${a[a.length - 1]}`;
  return `${a.slice(0, 19).join(', ')}, … ${a[a.length - 1]}`;
}

function gbtAuthorList(names: Name[], chinese: boolean): string {
  const a = names.map(gbtName);
  if (a.length <= 3) return a.join(', ');
  return `${a.slice(0, 3).join(', ')}, ${chinese ? '等' : 'et al'}`;
}

/** The full reference-list entry for a document, plain text. */
export function formatReference(doc: CitableDocument, style: CitationStyleOption = 'auto'): string {
  const s = styleFor(doc, style);
  const names = doc.authors.map(clean).filter(Boolean).map(parseName);
  const title = clean(doc.title) || (doc.lang === 'zh' ? '无题' : 'Untitled');
  const venue = clean(doc.venue);
  if (s === 'apa') {
    const date = `(${doc.year ?? 'n.d.'}).`;
    const authors = apaAuthorList(names);
    // APA: with no author, the title moves to the author position.
    const parts = authors ? [period(authors), date, period(title)] : [period(title), date];
    if (venue) parts.push(period(venue));
    return parts.join(' ');
  }
  const authors = gbtAuthorList(names, isChinese(doc));
  const code = venue ? '[J]' : '[Z]';
  let entry = authors ? `${period(authors)} ${title}${code}.` : `${title}${code}.`;
  const where = [venue, doc.year != null ? String(doc.year) : ''].filter(Boolean).join(', ');
  if (where) entry += ` ${where}.`;
  return entry;
}

/** A short stand-in for the author when there is none: the title, cut to a few words. */
function shortTitle(doc: CitableDocument): string {
  const t = clean(doc.title);
  const cps = [...t];
  if (hasCjk(t)) return cps.length > 12 ? `${cps.slice(0, 12).join('')}…` : t;
  const words = t.split(' ');
  return words.length > 5 ? `${words.slice(0, 5).join(' ')}…` : t;
}

/** Author part of an in-text citation: `Wang`, `Wang & Li`, `Wang et al.`, `王禹澔 等`, `WANG et al.`. */
function citedAuthors(doc: CitableDocument, s: CitationStyle): string {
  const names = doc.authors.map(clean).filter(Boolean).map(parseName);
  if (names.length === 0) return s === 'apa' ? `“${shortTitle(doc)}”` : shortTitle(doc);
  if (s === 'apa') {
    const fam = names.map((n) => n.family);
    if (fam.length === 1) return fam[0]!;
    if (fam.length === 2) return `${fam[0]} & ${fam[1]}`;
    return `${fam[0]} et al.`;
  }
  const first = names[0]!;
  const fam = first.cjk || first.given.length === 0 ? first.family : first.family.toUpperCase();
  if (names.length === 1) return fam;
  return isChinese(doc) ? `${fam} 等` : `${fam} et al.`;
}

/** A page range in a style: APA `p. 12` / `pp. 12–13`, GB/T `12` / `12-13`. */
export function formatPages(pages: PageRange, style: CitationStyle): string {
  if (style === 'apa') return pages.first === pages.last ? `p. ${pages.first}` : `pp. ${pageLabel(pages, '–')}`;
  return pageLabel(pages, '-');
}

/**
 * Parenthetical in-text citation: `(Wang, 2023)`, `(Wang, 2023, p. 12)`,
 * `（王禹澔，2022）`, `（王禹澔，2022）: 12`, GB/T without a year `(WANG)`.
 */
export function formatInText(doc: CitableDocument, style: CitationStyleOption = 'auto', pages?: PageRange | null): string {
  const s = styleFor(doc, style);
  const who = citedAuthors(doc, s);
  if (s === 'apa') return `(${who}, ${doc.year ?? 'n.d.'}${pages ? `, ${formatPages(pages, s)}` : ''})`;
  const at = pages ? `: ${formatPages(pages, s)}` : '';
  if (isChinese(doc)) return `${doc.year != null ? `（${who}，${doc.year}）` : `（${who}）`}${at}`;
  return `${doc.year != null ? `(${who}, ${doc.year})` : `(${who})`}${at}`;
}

/** Narrative citation: `Wang (2023)`, `Wang (2023, p. 12)`, `王禹澔（2022）`, `王禹澔（2022）: 12`, `WANG et al. (2023)`. */
export function formatNarrative(doc: CitableDocument, style: CitationStyleOption = 'auto', pages?: PageRange | null): string {
  const s = styleFor(doc, style);
  const who = citedAuthors(doc, s);
  if (s === 'apa') return `${who} (${doc.year ?? 'n.d.'}${pages ? `, ${formatPages(pages, s)}` : ''})`;
  const at = pages ? `: ${formatPages(pages, s)}` : '';
  if (isChinese(doc)) return `${doc.year != null ? `${who}（${doc.year}）` : who}${at}`;
  return `${doc.year != null ? `${who} (${doc.year})` : who}${at}`;
}

/**
 * The citation line under a quote: the parenthetical citation with the
 * quote's page, and its section — `(Wang, 2023, p. 12), § 3.2.2 Key Nodes`,
 * `（王禹澔，2022）: 12, § 三、对口支援的经验`.
 */
export function formatQuoteCitation(
  doc: CitableDocument,
  section?: string | null,
  style: CitationStyleOption = 'auto',
  pages?: PageRange | null,
): string {
  const base = formatInText(doc, style, pages);
  const sec = clean(section);
  return sec ? `${base}, § ${sec}` : base;
}

const collator = new Intl.Collator('zh-Hans-CN-u-co-pinyin', { sensitivity: 'base', numeric: true });

/** Sort key of a document in a reference list: first author's family name, year, title. */
function sortKey(doc: CitableDocument): string {
  const first = doc.authors.map(clean).filter(Boolean)[0];
  return first ? parseName(first).family : clean(doc.title);
}

/**
 * Documents in reference-list order. GB/T 7714's author–year lists group by
 * language — Chinese first — and so does duikou in `auto` and `gbt7714`; APA
 * is one list. Names compare with the Chinese (pinyin) collation, which puts
 * Han names (by pinyin) before Latin ones, so an APA list comes out in the
 * same order in practice. Ties: year (undated last), then title.
 */
export function sortForReferences<T extends CitableDocument>(docs: Iterable<T>, style: CitationStyleOption = 'auto'): T[] {
  const groupByLang = style !== 'apa';
  return [...docs].sort((a, b) => {
    if (groupByLang && (a.lang === 'zh') !== (b.lang === 'zh')) return a.lang === 'zh' ? -1 : 1;
    return (
      collator.compare(sortKey(a), sortKey(b)) ||
      (a.year ?? Number.MAX_SAFE_INTEGER) - (b.year ?? Number.MAX_SAFE_INTEGER) ||
      collator.compare(a.title, b.title)
    );
  });
}

/** The reference list, one entry per document, in order (see {@link sortForReferences}). */
export function formatReferenceList(docs: Iterable<CitableDocument>, style: CitationStyleOption = 'auto'): string[] {
  return sortForReferences(docs, style).map((d) => formatReference(d, style));
}
