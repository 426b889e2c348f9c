/**
 * A quote as a reader should see it: the annotated range of the document with
 * whatever sits in a page-break join left out.
 *
 * A paragraph cut by a page break is one passage whose `pieces` skip the
 * footnote or running header standing in the break (see `segment.ts`). An
 * annotation stores the true document range `[start, end)` — that is what
 * anchors it and what the backup keeps — but when that range runs across such
 * a join, the text between the pieces is not part of the sentence quoted.
 * {@link wholeQuote} drops it and joins the two sides the way the analyzer
 * does ({@link joinPieces}): nothing between Chinese characters, one space
 * between Latin words, a word hyphenated at the break made whole.
 */
import type { Passage, Span } from '../core/types.js';
import { joinPieces } from './segment.js';

/**
 * The parts of `[start, end)` that are quoted text: the range minus every gap
 * between two pieces of one passage that the range runs across.
 */
export function quoteSpans(passages: readonly Pick<Passage, 'pieces'>[], start: number, end: number): Span[] {
  const gaps: Span[] = [];
  for (const p of passages) {
    for (let k = 0; k + 1 < p.pieces.length; k++) {
      const a = p.pieces[k]!;
      const b = p.pieces[k + 1]!;
      // Only a join the quote crosses: text of the passage on both sides of it.
      if (start < a.end && end > b.start) gaps.push({ start: a.end, end: b.start });
    }
  }
  if (gaps.length === 0) return [{ start, end }];
  gaps.sort((x, y) => x.start - y.start);
  const out: Span[] = [];
  let at = start;
  for (const g of gaps) {
    if (g.start > at) out.push({ start: at, end: g.start });
    at = Math.max(at, g.end);
  }
  if (at < end) out.push({ start: at, end });
  return out;
}

/**
 * The quote of `[start, end)` of `text` as one piece of reading: page-break
 * joins closed (see the module comment). Equal to `text.slice(start, end)`
 * when the range crosses no join.
 * @param passages - the document's passages (those that do not overlap the range are ignored)
 */
export function wholeQuote(
  text: string,
  passages: readonly Pick<Passage, 'pieces' | 'start' | 'end'>[],
  start: number,
  end: number,
): string {
  const near = passages.filter((p) => p.pieces.length > 1 && p.start < end && p.end > start);
  const spans = quoteSpans(near, start, end);
  if (spans.length === 1 && spans[0]!.start === start && spans[0]!.end === end) return text.slice(start, end);
  return joinPieces(text, spans).text;
}

/** For each passage (sorted by start), the largest `end` of it and every passage before it. */
const reachCache = new WeakMap<readonly Span[], number[]>();

function reachOf(passages: readonly Span[]): number[] {
  let reach = reachCache.get(passages);
  if (!reach) {
    reach = [];
    let max = -1;
    for (const p of passages) reach.push((max = Math.max(max, p.end)));
    reachCache.set(passages, reach);
  }
  return reach;
}

/**
 * The passages overlapping `[start, end)`, in document order. `passages` must
 * be sorted by start (a document's passages are); a binary search and a walk
 * back over the passages that can still reach `start` find them, so placing
 * thousands of annotations stays quick.
 */
export function passagesAt<P extends Span>(passages: readonly P[], start: number, end: number): P[] {
  const reach = reachOf(passages);
  let lo = 0;
  let hi = passages.length - 1;
  let last = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (passages[mid]!.start < end) {
      last = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const out: P[] = [];
  for (let k = last; k >= 0 && reach[k]! > start; k--) if (passages[k]!.end > start) out.push(passages[k]!);
  return out.reverse();
}

/** {@link wholeQuote} of a document's range. */
export function quoteOf(
  doc: { text: string; passages: readonly Pick<Passage, 'pieces' | 'start' | 'end'>[] },
  start: number,
  end: number,
): string {
  return wholeQuote(doc.text, passagesAt(doc.passages, start, end), start, end);
}

/**
 * How the reader joins each piece of a passage to the one before it, the way
 * {@link joinPieces} does: `space` between Latin words, `hyphen` where a word
 * hyphenated at the break is made whole (the previous piece's last `-` is not
 * shown), `none` where either side is CJK. The first piece is `none`.
 */
export function pieceJoins(text: string, pieces: readonly Span[]): Array<'space' | 'hyphen' | 'none'> {
  return pieces.map((pc, k) => {
    const prev = pieces[k - 1];
    if (!prev) return 'none';
    const joined = joinPieces(text, [prev, pc]).text.length;
    const apart = prev.end - prev.start + (pc.end - pc.start);
    return joined > apart ? 'space' : joined < apart ? 'hyphen' : 'none';
  });
}
