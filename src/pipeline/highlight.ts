/**
 * Highlighting as data: cut a stretch of document text at the boundaries of
 * marks (search matches, later annotations) and build keyword-in-context
 * lines. Pure functions over strings and offsets; the views turn the result
 * into HTML (escaping every piece of text), so nothing here knows about markup.
 *
 * All offsets are document offsets (UTF-16 code units, see core/types.ts):
 * `text` is the slice of the document that starts at offset `base`.
 */

/** Something to mark: a document range, with what it came through and how to style it. */
export interface Mark {
  start: number;
  end: number;
  /** Glossary term a cross-lingual match came through. */
  via?: string;
  /** Extra CSS class for the view (e.g. an annotation colour). */
  className?: string;
}

/** The marks covering one segment, outermost (earliest start, then longest) first. */
export interface SegmentMark<M extends Mark = Mark> {
  marks: M[];
  /** Distinct `via` terms of those marks, in mark order. */
  via: string[];
  /** Distinct `className`s of those marks, in mark order. */
  classNames: string[];
}

/** A stretch of text with one set of marks over all of it (or none). */
export interface Segment<M extends Mark = Mark> {
  text: string;
  /** Document offset of the first code unit. */
  start: number;
  /** Document offset one past the last code unit. */
  end: number;
  /** Every mark covering the whole segment, outermost first (empty when unmarked). */
  marks: M[];
  /** Summary of `marks` for views; absent when the segment is unmarked. */
  mark?: SegmentMark<M>;
}

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** True when index `i` of `text` (0 < i < length) falls between the halves of a surrogate pair. */
function splitsPair(text: string, i: number): boolean {
  return i > 0 && i < text.length && isHigh(text.charCodeAt(i - 1)) && isLow(text.charCodeAt(i));
}

/**
 * Clip a document range to `text` (at `base`) and widen it to whole code
 * points. Returns local indexes `[s, e)` or null when nothing is left.
 */
function clip(text: string, base: number, start: number, end: number): [number, number] | null {
  if (!Number.isFinite(start) || !Number.isFinite(end)) return null;
  let s = Math.max(0, Math.floor(start) - base);
  let e = Math.min(text.length, Math.ceil(end) - base);
  if (s >= e) return null;
  if (splitsPair(text, s)) s -= 1;
  if (splitsPair(text, e)) e += 1;
  return [s, e];
}

/**
 * Cut `text` (whose first code unit is document offset `base`) into segments
 * at every mark boundary. The segments cover `text` exactly, in order, and
 * concatenate back to it; unmarked stretches are one segment each.
 *
 * Overlapping marks (nested or crossing) give elementary segments, each with
 * every mark that covers it. Marks are clipped to the text; a mark boundary
 * inside a surrogate pair widens the mark to the whole code point; empty or
 * non-finite marks are dropped.
 */
export function markSegments<M extends Mark>(text: string, base: number, marks: readonly M[]): Segment<M>[] {
  if (text.length === 0) return [];
  const clipped: { s: number; e: number; m: M }[] = [];
  for (const m of marks) {
    const c = clip(text, base, m.start, m.end);
    if (c) clipped.push({ s: c[0], e: c[1], m });
  }
  // Outermost first: earlier start, then longer.
  clipped.sort((a, b) => a.s - b.s || b.e - a.e);

  const cuts = new Set<number>([0, text.length]);
  for (const c of clipped) {
    cuts.add(c.s);
    cuts.add(c.e);
  }
  const points = [...cuts].sort((a, b) => a - b);

  const out: Segment<M>[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i]!;
    const b = points[i + 1]!;
    const covering = clipped.filter((c) => c.s <= a && c.e >= b).map((c) => c.m);
    const seg: Segment<M> = { text: text.slice(a, b), start: base + a, end: base + b, marks: covering };
    if (covering.length > 0) {
      const via: string[] = [];
      const classNames: string[] = [];
      for (const m of covering) {
        if (m.via && !via.includes(m.via)) via.push(m.via);
        if (m.className && !classNames.includes(m.className)) classNames.push(m.className);
      }
      seg.mark = { marks: covering, via, classNames };
    }
    out.push(seg);
  }
  return out;
}

/** A keyword-in-context line. */
export interface Kwic {
  /** Context before the keyword, at most about `width` code points, `…` first when cut. */
  left: string;
  keyword: string;
  /** Context after the keyword, at most about `width` code points, `…` last when cut. */
  right: string;
  /** Document range of the keyword (after clipping to the text and to whole code points). */
  start: number;
  end: number;
}

const ELLIPSIS = '…';
/** How far (in code points) a cut may move to land between words in Latin text. */
const WORD_SLACK = 12;

/** Line breaks and the whitespace around them become one space: a KWIC line is one line. */
function oneLine(s: string): string {
  return s.replace(/[^\S\n]*[\r\n\u2028\u2029][\s]*/g, ' ').replace(/[\t\f\v]/g, ' ');
}

/** Is this code point part of a Latin-script word (so cutting next to it would cut the word)? */
const wordish = (cp: string | undefined): boolean => cp !== undefined && /[\p{L}\p{N}]/u.test(cp) && !/\p{Script=Han}/u.test(cp);

/** The last `width` code points of `s`, moved forward to a word start when that is near. */
function tail(s: string, width: number): string {
  const cps = Array.from(s);
  if (cps.length <= width) return s;
  let from = cps.length - width;
  if (wordish(cps[from - 1]) && wordish(cps[from])) {
    for (let k = from; k < Math.min(cps.length, from + WORD_SLACK); k++) {
      if (!wordish(cps[k])) {
        from = k;
        break;
      }
    }
  }
  return ELLIPSIS + cps.slice(from).join('').replace(/^\s+/, '');
}

/** The first `width` code points of `s`, moved back to a word end when that is near. */
function head(s: string, width: number): string {
  const cps = Array.from(s);
  if (cps.length <= width) return s;
  let to = width;
  if (wordish(cps[to - 1]) && wordish(cps[to])) {
    for (let k = to; k > Math.max(0, to - WORD_SLACK); k--) {
      if (!wordish(cps[k - 1])) {
        to = k;
        break;
      }
    }
  }
  return cps.slice(0, to).join('').replace(/\s+$/, '') + ELLIPSIS;
}

/**
 * A keyword-in-context line for `match` in `text` (whose first code unit is
 * document offset `base`): the matched text, and about `width` code points of
 * context either side (never cutting a surrogate pair; in Latin text a cut
 * moves a little to fall between words), with an ellipsis where context was
 * cut and line breaks shown as spaces. A match partly outside `text` is
 * clipped; one wholly outside gives an empty keyword at the nearest edge.
 */
export function kwic(text: string, base: number, match: { start: number; end: number }, width = 40): Kwic {
  const w = Math.max(0, Math.floor(width));
  let range = clip(text, base, match.start, match.end);
  if (!range) {
    const at = Math.min(text.length, Math.max(0, Math.floor(Number.isFinite(match.start) ? match.start - base : 0)));
    const safe = splitsPair(text, at) ? at - 1 : at;
    range = [safe, safe];
  }
  const [s, e] = range;
  // Only a window around the match can show: 2 units per code point is the most
  // a window of `w` code points (plus the word slack) can need. Without it a
  // page of matches would copy the whole paper once per match.
  const reach = 2 * (w + WORD_SLACK + 1);
  let from = Math.max(0, s - reach);
  if (from > 0 && splitsPair(text, from)) from--;
  let to = Math.min(text.length, e + reach);
  if (to < text.length && splitsPair(text, to)) to++;
  return {
    left: oneLine(tail(text.slice(from, s), w)),
    keyword: oneLine(text.slice(s, e)),
    right: oneLine(head(text.slice(e, to), w)),
    start: base + s,
    end: base + e,
  };
}
