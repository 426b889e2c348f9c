/**
 * Segment stage: a paper's canonical text → passages (title, front matter,
 * headings, paragraphs, list items, tables, references, footnotes).
 *
 * The texts come out of PDFs, so the structure is recovered from layout
 * conventions: blocks are runs of non-blank lines; a block's first line tells
 * what it is (numbering, bullets, `|` or tab tables, footnote marks…). A page
 * break cuts paragraphs and drops footnotes, running headers and floating
 * tables into them; a paragraph whose last sentence is unfinished is therefore
 * continued with the next paragraph-like block after those interlopers, and its
 * `pieces` leave them out. Everything works on line and block boundaries with
 * start-anchored patterns, so the stage is linear in the length of the text.
 */
import type { Lang, Passage, PassageKind, Span, TextWindow } from '../core/types.js';
import { CJK, detectLang } from './lang.js';

/** A passage before the corpus builder gives it its global numeric id. */
export type SegmentedPassage = Omit<Passage, 'id'>;

/** What a unit of text is during segmentation; the extra roles never become passage kinds. */
type Role = PassageKind | 'running' | 'rule' | 'caption' | 'note';

interface Unit {
  role: Role;
  pieces: Span[];
  section: string | null;
  level?: number;
  consumed?: boolean;
}

interface Block extends Span {
  /** Each non-blank line, trimmed of surrounding whitespace. */
  lines: Span[];
}

/** Exactly the code units JavaScript's `\s` matches, without a regex per character. */
function isWs(c: number): boolean {
  return (
    c === 32 ||
    (c >= 9 && c <= 13) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

function blocksOf(text: string): Block[] {
  const blocks: Block[] = [];
  let lines: Span[] = [];
  const flush = (): void => {
    const first = lines[0];
    const last = lines[lines.length - 1];
    if (first && last) blocks.push({ start: first.start, end: last.end, lines });
    lines = [];
  };
  let pos = 0;
  while (pos <= text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    let s = pos;
    let e = nl;
    while (s < e && isWs(text.charCodeAt(s))) s++;
    while (e > s && isWs(text.charCodeAt(e - 1))) e--;
    if (s < e) {
      // A list that starts right under a paragraph line is its own block.
      if (
        lines.length > 0 &&
        BULLET.test(text.slice(s, Math.min(e, s + 4))) &&
        !BULLET.test(text.slice(lines[0]?.start ?? s, lines[0]?.end ?? e))
      )
        flush();
      lines.push({ start: s, end: e });
    } else flush();
    pos = nl + 1;
  }
  flush();
  return blocks;
}

const MD_HEADING = /^#{1,6}[ \t]+/;
const RULE = /^(?:-{3,}|\*{3,}|_{3,}|={3,})$/;
const PAGE_NUMBER = /^(?:[-–—·•]\s*)?(?:page\s*)?\d{1,4}(?:\s*(?:of|\/)\s*\d{1,4})?(?:\s*[-–—·•])?$|^第\s*\d{1,4}\s*页$/i;
const NUMBERED =
  /^(?:(\d{1,2}(?:\.\d{1,2}){0,4})(\.?)\s+(?=\S)|([一二三四五六七八九十]{1,3})\s*[、．]|[（(]\s*[一二三四五六七八九十]{1,3}\s*[)）]|第[一二三四五六七八九十百\d]{1,4}[章节篇部]|([IVX]{1,5})\.\s+)/u;
const NAMED =
  /^(?:abstract|key\s*words?|references?|bibliography|works\s+cited|acknowledge?ments?|appendix|executive\s+summary|introduction|conclusions?|notes|endnotes|footnotes|摘\s*要|关\s*键\s*词|参\s*考\s*文\s*献|注\s*释|致\s*谢|附\s*录|引\s*言|结\s*语|结\s*论)$/i;
const REFS_NAME = /^(?:references?|bibliography|works\s+cited|参\s*考\s*文\s*献)$/i;
const KEYWORDS_NAME = /^(?:key\s*words?|关\s*键\s*词)$/i;
const ABSTRACT_START = /^(?:#+\s*)?(?:abstract|summary|摘\s*要)/i;
const FRONT_LINE =
  /^\s*(?:key\s*words?|关\s*键\s*[词字]|doi|jel(?:\s+classification)?|date\s+of\s+publication|received|accepted|published(?:\s+online)?|中图分类号|文献标识码|文章编号|corresponding\s+author)\s*[:：.]/i;
const FOOTNOTE =
  /^(?:\\\*|\*(?![\s*])|<sup>[^<]{1,12}<\/sup>|[\u00B9\u00B2\u00B3\u2070-\u2079]+(?=\s*\S)|[\u2460-\u2473\u3251-\u325F\u32B1-\u32BF]|\[\^[^\]]{1,12}\]:)/u;
const SUPERSCRIPT_START = /^[\u00B9\u00B2\u00B3\u2070-\u2079]/u;
const BULLET = /^[-*•·▪●◦○][ \t\u00a0]+(?=\S)/u;
const REF_ENTRY = /^(?:[-*•·][ \t]+)?(?:\[\s*\d{1,4}\s*\]|［\s*\d{1,4}\s*］|[(（]\s*\d{1,4}\s*[)）]|\d{1,4}\.\s)/u;
const CAPTION = /^(?:fig(?:ure)?\.?|table|chart|图|表)\s*\d{1,3}\b/i;
const SOURCE_NOTE = /^(?:sources?|notes?|资料来源|数据来源|来源|注)\s*[:：]/i;
const EMAIL = /[\w.+-]+@[\w-]+\.[\w.-]+/;
/** Footnote marks, citations and escapes that may trail the real last character of a line. */
const TRAILING_MARK =
  /(?:\^\{[^{}]{0,20}\}|\^?[\u2460-\u2473\u3251-\u325F\u32B1-\u32BF]|[\u00B9\u00B2\u00B3\u2070-\u2079]|<sup>[^<]{0,20}<\/sup>|\[\d{1,4}(?:\s?[-–,]\s?\d{1,4}){0,6}\]|\\?\*)$/u;
const SENTENCE_END = new Set(['.', '。', '!', '！', '?', '？', '…', ';', '；', ':', '：', '．']);
const CLOSERS = new Set(['"', '”', '’', "'", ')', '）', '」', '』', '》', ']', '】']);
const HEADING_BAD_END = new Set(['.', '。', ',', '，', ';', '；', '、', '!', '！', '．']);

/** Comparison key of a short line: width-folded, without whitespace and markdown marks. */
function lineKey(s: string): string {
  return s.normalize('NFKC').replace(/[\s*\\#]+/gu, '');
}

function collapse(s: string): string {
  return s.replace(/\s+/gu, ' ').trim();
}

/** Short single-line blocks seen three times or more: running headers and footers. */
function runningKeys(text: string, blocks: Block[]): Set<string> {
  const counts = new Map<string, number>();
  for (const b of blocks) {
    if (b.lines.length !== 1 || b.end - b.start > 40) continue;
    const k = lineKey(text.slice(b.start, b.end));
    if (k) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return new Set([...counts].filter(([, n]) => n >= 3).map(([k]) => k));
}

/** The string without trailing footnote marks, citations and escapes. */
function stripTrailing(s: string): string {
  let t = s.length > 80 ? s.slice(-80) : s;
  for (let i = 0; i < 8; i++) {
    const m = TRAILING_MARK.exec(t);
    if (!m || m.index === 0) break;
    t = t.slice(0, m.index).trimEnd();
  }
  return t;
}

function lastChar(s: string): string {
  const cp = s.codePointAt(s.length - 1);
  if (cp !== undefined && cp >= 0xdc00 && cp <= 0xdfff && s.length >= 2) return s.slice(-2);
  return s.slice(-1);
}

/** CJK ideographs and CJK or full-width punctuation: text that is written without spaces. */
const isCjkSide = (ch: string): boolean => CJK.test(ch) || /^[\u3000-\u303f\uff00-\uffef]$/u.test(ch);
/** As {@link isCjkSide}, plus the curly quotes Chinese text opens and closes with. */
const isCjkFlow = (ch: string): boolean => isCjkSide(ch) || /^[\u2018-\u201d]$/u.test(ch);
const isDigit = (ch: string): boolean => ch >= '0' && ch <= '9';
const isLower = (ch: string): boolean => /^\p{Ll}$/u.test(ch);

/** The effective last character of a line, looking through footnote marks and closing quotes. */
function effectiveEnd(s: string): { ch: string; closed: boolean } {
  let t = stripTrailing(s);
  let ch = lastChar(t);
  let closed = false;
  while (CLOSERS.has(ch) && t.length > 1) {
    closed = true;
    t = t.slice(0, -1);
    ch = lastChar(t);
  }
  return { ch, closed };
}

/** True when a line ends a sentence (after marks and closing quotes). */
function endsSentence(s: string): boolean {
  return SENTENCE_END.has(effectiveEnd(s).ch);
}

/**
 * Whether block `b` continues the unfinished sentence at the end of `a`.
 * Chinese runs on from a character or digit into a character or digit; Latin
 * text needs a lowercase start after the break unless `a` is long enough to be
 * a real paragraph (a title or byline never is), where a capitalised name may
 * follow ("In | November 1983").
 */
function continues(a: string, b: string, aLength: number, note: boolean): boolean {
  const { ch: last, closed } = effectiveEnd(a);
  if (!last || SENTENCE_END.has(last)) return false;
  const first = String.fromCodePoint(b.codePointAt(0) ?? 32);
  if (isCjkFlow(last) || (isDigit(last) && isCjkFlow(first))) {
    return isCjkFlow(first) || isDigit(first);
  }
  if (/^[\p{L}\p{N},\-–]$/u.test(last)) {
    if (isLower(first)) return true;
    // A note or a line closed by a bracket ("… (Beijing, 2011)") is usually complete.
    return !note && !closed && aLength >= 200 && (/^\p{Lu}$/u.test(first) || isDigit(first));
  }
  return false;
}

interface HeadingInfo {
  /** Offset of the heading text inside the block (after markdown `#`s). */
  skip: number;
  style: string;
  named?: string;
}

function headingOf(s: string, lineCount: number): HeadingInfo | null {
  const md = MD_HEADING.exec(s);
  const skip = md ? md[0].length : 0;
  const body = s.slice(skip);
  // Headings are short; bailing out first also keeps the end-anchored patterns below off long lines.
  if (body.length > 200) return null;
  const name = body
    .replace(/\*\*/g, '')
    .replace(/[\s:：.。]+$/u, '')
    .trim();
  if (lineCount === 1 && NAMED.test(name)) return { skip, style: 'named', named: name.replace(/\s+/g, ' ').toLowerCase() };
  if (lineCount > 2 || body.length > 200 || HEADING_BAD_END.has(effectiveEnd(body).ch)) return null;
  const num = NUMBERED.exec(body);
  if (num) {
    if (num[1] !== undefined && num[2] === '' && num[1].indexOf('.') < 0 && !/^\s*[\p{Lu}\p{Script=Han}]/u.test(body.slice(num[0].length)))
      return null;
    const cjkHeavy = detectLang(body) === 'zh';
    if (cjkHeavy && body.length > 60) return null;
    const style =
      num[1] !== undefined ? `dec${num[1].split('.').length}` : num[3] ? 'cn1' : num[4] ? 'roman' : body.startsWith('第') ? 'chap' : 'cn2';
    return { skip, style };
  }
  if (lineCount > 1) return null;
  if (md) return { skip, style: `md${md[0].trim().length}` };
  if (/[A-Z]{3}/.test(body) && !/\p{Ll}/u.test(body) && !CJK.test(body) && body.length <= 120) return { skip, style: 'caps' };
  return null;
}

function isTable(text: string, b: Block): boolean {
  if (b.lines.length < 2) return false;
  let pipes = 0;
  let tabs = 0;
  for (const l of b.lines) {
    if (text.charCodeAt(l.start) === 124) pipes++;
    const t = text.indexOf('\t', l.start);
    if (t >= 0 && t < l.end) tabs++;
  }
  const need = Math.max(2, Math.ceil(b.lines.length * 0.6));
  return pipes >= need || tabs >= need;
}

/** Splits a block into one span per entry: a line matching `starts` opens an entry, other lines continue it. */
function entries(text: string, b: Block, starts: RegExp, strip: RegExp): Span[] {
  const out: Span[] = [];
  for (const l of b.lines) {
    const line = text.slice(l.start, l.end);
    const prev = out[out.length - 1];
    if (starts.test(line) || !prev) {
      const m = strip.exec(line);
      out.push({ start: l.start + (m ? m[0].length : 0), end: l.end });
    } else prev.end = l.end;
  }
  return out;
}

/** Roles a paragraph may run past when it continues after a page break. */
const SKIP_FOR_PARAGRAPH = new Set<Role>(['running', 'rule', 'footnote', 'table', 'caption', 'note']);
const SKIP_FOR_NOTE = new Set<Role>(['running', 'rule']);

/** Classifies the blocks in document order; stateful because front matter, sections and reference lists depend on what came before. */
function classify(text: string, blocks: Block[]): Unit[] {
  const running = runningKeys(text, blocks);
  const units: Unit[] = [];
  let titleKey: string | null = null;
  let front = true;
  let afterKeywords = false;
  let inRefs = false;
  let refsMarked: boolean | undefined;
  let inAbstract = false;
  let section: string | null = null;
  const stack: string[] = [];
  const push = (role: Role, pieces: Span[], level?: number): void => {
    units.push(level === undefined ? { role, pieces, section } : { role, pieces, section, level });
  };

  for (const b of blocks) {
    const s = text.slice(b.start, b.end);
    const whole: Span = { start: b.start, end: b.end };
    const single = b.lines.length === 1;
    const wasAfterKeywords = afterKeywords;
    afterKeywords = false;
    if (single && RULE.test(s)) {
      push('rule', [whole]);
      continue;
    }
    // The key (a normalisation of the whole line) only when a running line or the title could match it.
    const key = single && (running.size > 0 || (titleKey !== null && s.length <= 200)) ? lineKey(s) : null;
    if (
      single &&
      (PAGE_NUMBER.test(s) || (key !== null && running.has(key)) || (titleKey !== null && s.length <= 200 && key === titleKey))
    ) {
      push('running', [whole]);
      continue;
    }
    if (titleKey === null) {
      const md = MD_HEADING.exec(s);
      const start = b.start + (md ? md[0].length : 0);
      titleKey = lineKey(text.slice(start, b.end));
      push('title', [{ start, end: b.end }]);
      continue;
    }
    const prev = units[units.length - 1];
    if (prev?.role === 'title' && single && /^(?:--|—|–|:)/u.test(s) && s.length <= 200) {
      prev.pieces.push(whole);
      continue;
    }
    if (isTable(text, b)) {
      push('table', [whole]);
      continue;
    }
    const firstLine = text.slice(b.start, b.lines[0]?.end ?? b.end);
    if (inRefs) {
      if (refsMarked === undefined) refsMarked = REF_ENTRY.test(firstLine) || BULLET.test(firstLine);
      if (refsMarked && (REF_ENTRY.test(firstLine) || BULLET.test(firstLine))) {
        for (const e of entries(text, b, /^(?:[-*•·][ \t]+|\[|［|[(（]\d|\d{1,4}\.\s)/u, /^[-*•·][ \t]+/u)) push('reference', [e]);
        continue;
      }
    }
    const h = headingOf(s, b.lines.length);
    if (h && (h.named || h.style !== 'caps' || !front)) {
      const flat = h.named !== undefined || h.style === 'caps';
      let level = 1;
      if (flat) stack.length = 0;
      else {
        const at = stack.indexOf(h.style);
        if (at >= 0) stack.length = at + 1;
        else stack.push(h.style);
        level = stack.length;
      }
      const content: Span = { start: b.start + h.skip, end: b.end };
      section = collapse(text.slice(content.start, content.end));
      push('heading', [content], level);
      const named = h.named ?? '';
      inAbstract = named === 'abstract' || named === '摘要';
      afterKeywords = KEYWORDS_NAME.test(named);
      if (!(inAbstract || afterKeywords)) front = false;
      inRefs = REFS_NAME.test(named);
      refsMarked = undefined;
      continue;
    }
    if (inRefs && refsMarked === false) {
      for (const l of b.lines) push('reference', [l]);
      continue;
    }
    const lead = firstLine.slice(0, 40).replace(/\*/g, '');
    if (FRONT_LINE.test(lead) || wasAfterKeywords || (front && s.length <= 300 && s.includes('@') && EMAIL.test(s))) {
      push('front-matter', [whole]);
      continue;
    }
    if (FOOTNOTE.test(firstLine)) {
      push(front && SUPERSCRIPT_START.test(firstLine) ? 'front-matter' : 'footnote', [whole]);
      continue;
    }
    if (single && s.length <= 200 && CAPTION.test(s)) {
      push('caption', [whole]);
      continue;
    }
    if (s.length <= 400 && SOURCE_NOTE.test(s)) {
      push('note', [whole]);
      continue;
    }
    if (BULLET.test(firstLine)) {
      for (const e of entries(text, b, BULLET, BULLET)) push('list-item', [e]);
      continue;
    }
    if (front && s.length <= 200 && b.lines.length <= 2 && !endsSentence(s) && !ABSTRACT_START.test(s)) {
      push('front-matter', [whole]);
      continue;
    }
    if (front && !inAbstract && !ABSTRACT_START.test(s)) front = false;
    push('paragraph', [whole]);
  }
  return units;
}

/** Joins each unfinished paragraph, footnote or table with its continuation after a page break. */
function joinAcrossBreaks(text: string, units: Unit[]): void {
  for (let i = 0; i < units.length; i++) {
    const a = units[i];
    if (!a || a.consumed) continue;
    const isText = a.role === 'paragraph' || a.role === 'list-item';
    if (!isText && a.role !== 'footnote' && a.role !== 'reference' && a.role !== 'table') continue;
    const skip = isText ? SKIP_FOR_PARAGRAPH : SKIP_FOR_NOTE;
    let j = i + 1;
    for (;;) {
      while (j < units.length && j - i <= 32 && !units[j]?.consumed && skip.has(units[j]?.role ?? 'paragraph')) j++;
      const b = units[j];
      if (!b || b.consumed || j - i > 32) break;
      const lastPiece = a.pieces[a.pieces.length - 1];
      const firstPiece = b.pieces[0];
      if (!lastPiece || !firstPiece) break;
      let ok: boolean;
      if (a.role === 'table') ok = b.role === 'table';
      else {
        const length = a.pieces.reduce((n, p) => n + p.end - p.start, 0);
        ok =
          b.role === 'paragraph' &&
          continues(text.slice(lastPiece.start, lastPiece.end), text.slice(firstPiece.start, firstPiece.end), length, !isText);
      }
      if (!ok) break;
      a.pieces.push(...b.pieces);
      b.consumed = true;
      j++;
    }
  }
}

/**
 * Splits a document into passages, in document order with `ordinal` from 0.
 *
 * Every passage covers `[start, end)` of `text` with no surrounding whitespace;
 * its `pieces` are the parts that are its own text. A paragraph cut by a page
 * break is one passage whose pieces skip what sits in the break: footnotes and
 * tables (their own passages) and running headers, page numbers and rules
 * (which belong to no passage). To analyse a passage, join its pieces with
 * {@link joinPieces}: pieces meet without a gap where either side is CJK, with
 * one space between Latin text, and `devel-` + `opment` becomes `development`;
 * the returned map takes each index of the joined text back to a document
 * offset, so tokens found across the break are highlighted in the document.
 *
 * @param docId - the document's id, copied into every passage
 * @param text - the canonical text
 * @param docLang - language of the document, for passages without letters
 */
export function segment(docId: string, text: string, docLang: Lang): SegmentedPassage[] {
  const units = classify(text, blocksOf(text));
  joinAcrossBreaks(text, units);
  const out: SegmentedPassage[] = [];
  for (const u of units) {
    if (u.consumed || u.role === 'running' || u.role === 'rule') continue;
    const first = u.pieces[0];
    const last = u.pieces[u.pieces.length - 1];
    if (!first || !last) continue;
    const kind: PassageKind = u.role === 'caption' || u.role === 'note' ? 'paragraph' : u.role;
    const lang = detectLang(u.pieces.map((p) => text.slice(p.start, p.end)).join(' '), docLang);
    const section = kind === 'title' ? null : u.section;
    const p: SegmentedPassage = { docId, ordinal: 0, kind, lang, section, start: first.start, end: last.end, pieces: u.pieces };
    if (u.level !== undefined) p.level = u.level;
    out.push(p);
  }
  out.sort((x, y) => x.start - y.start);
  out.forEach((p, i) => {
    p.ordinal = i;
  });
  return out;
}

/** A passage's logical text and the way back to document offsets. */
export interface JoinedText {
  /** The pieces joined as one stretch of text, as the analyzer should read it. */
  text: string;
  /**
   * The document offset of index `i` of `text`. For `i` equal to `text.length`
   * it is the end of the last piece, so `[map(s), map(e - 1) + 1)` and
   * `[map(s), map(e))` both give document spans; an inserted space maps to the
   * end of the piece before it.
   */
  map: (i: number) => number;
}

/** A footnote mark (or several) at the start of a footnote. */
const FOOTNOTE_MARKS =
  /^(?:\\\*|\*|<sup>[^<]{1,12}<\/sup>|[\u00B9\u00B2\u00B3\u2070-\u2079\u2460-\u2473\u3251-\u325F\u32B1-\u32BF\s]|\[\^[^\]]{1,12}\]:)+/u;
/** A cited title in Chinese: 《…》. */
const CITED_TITLE = /《[^《》]*》/gu;
/**
 * Whether a footnote only cites a source (`⑧习近平:《在全国脱贫攻坚总结表彰大会上的讲话》,2021年2月25日。`)
 * rather than saying something: once its cited titles are taken out, what is
 * left is a short author/publisher/date line with a year in it. Such a
 * footnote is a reference entry in all but its place on the page, and ranks
 * like one; a footnote that explains or adds facts keeps the footnote's weight.
 */
export function readsAsCitation(footnote: string): boolean {
  const body = footnote.replace(FOOTNOTE_MARKS, '');
  if (!body.includes('《')) return false;
  const rest = body.replace(CITED_TITLE, '');
  return rest.length <= 40 && /\d{4}/.test(rest);
}

/**
 * Joins the pieces of a passage into its logical text: nothing between two
 * pieces where either side is CJK, one space between Latin pieces, and a
 * line-end hyphen dropped when it splits a lowercase word (`devel-` | `opment`).
 * Every character taken from the document maps back to itself.
 * @param source - the document's text, or a stretch of it that holds the pieces (see {@link TextWindow})
 */
export function joinPieces(source: string | TextWindow, pieces: Span[]): JoinedText {
  const text = typeof source === 'string' ? source : source.text;
  /** Where `text` starts in the document: pieces are in document offsets, `text` is read at `offset − o`. */
  const o = typeof source === 'string' ? 0 : source.offset;
  // Most passages are one piece: their text is a slice, without a table of every offset.
  if (pieces.length === 1) {
    const { start, end } = pieces[0]!;
    return { text: text.slice(start - o, end - o), map: (i: number) => (i >= 0 && i < end - start ? start + i : end) };
  }
  const parts: string[] = [];
  // Per stretch of the joined text (a piece's characters, or an inserted space): where it begins
  // there and in the document. A table of every character's offset cost a push per character for
  // each passage read, where a query's Chinese-run checks read thousands.
  const at: number[] = [];
  const from: number[] = [];
  /** 1 where the stretch is an inserted space (every index of it maps to `from`). */
  const spaces: number[] = [];
  let length = 0;
  for (let k = 0; k < pieces.length; k++) {
    const p = pieces[k] as Span;
    let end = p.end;
    const next = pieces[k + 1];
    let space = false;
    if (next) {
      const last = lastChar(text.slice(Math.max(p.start, end - 2) - o, end - o));
      const first = String.fromCodePoint(text.codePointAt(next.start - o) ?? 32);
      if (last === '-' && end - 2 >= p.start && isLower(text.charAt(end - 2 - o)) && isLower(first)) end--;
      else space = !(isCjkSide(last) || isCjkSide(first));
    }
    parts.push(text.slice(p.start - o, end - o));
    if (end > p.start) {
      at.push(length);
      from.push(p.start);
      spaces.push(0);
      length += end - p.start;
    }
    if (space) {
      parts.push(' ');
      at.push(length);
      from.push(p.end);
      spaces.push(1);
      length++;
    }
  }
  const tail = pieces[pieces.length - 1]?.end ?? 0;
  const map = (i: number): number => {
    if (!(i >= 0 && i < length) || !Number.isInteger(i)) return tail;
    // The last stretch beginning at or before i.
    let lo = 0;
    let hi = at.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (at[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return spaces[lo] === 1 ? from[lo]! : from[lo]! + (i - at[lo]!);
  };
  return { text: parts.join(''), map };
}
