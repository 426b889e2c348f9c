/**
 * Normalisation stage: the text a user sees and the text duikou matches are
 * not the same string. NFKC folds full-width forms (ＷＥＮＣＨＵＡＮ → WENCHUAN,
 * ，→ ,), compatibility ideographs and ligatures; traditional characters become
 * simplified (對口支援 → 对口支援) so both script forms meet in one term.
 *
 * Normalisation may change the length of the text, so it returns, for every
 * code unit of the normalised string, the source range it came from: offsets
 * found in the normalised text are mapped back to the source exactly.
 */
import * as OpenCC from 'opencc-js';

/** The normalised form of a text, with the way back to source offsets. */
export interface Normalized {
  /** The normalised text (NFKC, traditional → simplified). */
  text: string;
  /**
   * For each UTF-16 code unit `i` of `text`, the source offset (UTF-16 code
   * units of the input) where the character that produced it starts.
   */
  srcStart: Uint32Array;
  /** For each code unit `i` of `text`, the source offset where that character ends. */
  srcEnd: Uint32Array;
}

let toSimplified: ((s: string) => string) | undefined;

/** Traditional → simplified with OpenCC's generic `t2s` table, created on first use. */
function t2s(s: string): string {
  const convert = toSimplified ?? OpenCC.Converter({ from: 't', to: 'cn' });
  toSimplified = convert;
  return convert(s);
}

/**
 * Characters that can never change under NFKC + t2s: ASCII, and the common
 * simplified ideographs' block is NOT here because t2s changes many of them.
 * This is only the fast path; everything else goes through the full rules.
 */
const STABLE = /^[\x00-\x7f]*$/;

/** Stretches that NFKC may change: everything but ASCII and U+4E00–U+9FFF. */
const UNSTABLE = /[^\x00-\x7f\u4e00-\u9fff]+/g;

/** One base character with its combining marks, or a lone code point. */
const CLUSTER = /\P{M}\p{M}*|\p{M}+/gsu;

/** A Han ideograph (any plane). */
const HAN_CHAR = /\p{Script=Han}/gu;

/** Simplified form of each Han character met so far: OpenCC is slow per call, and characters repeat. */
const simplified = new Map<string, string>();

function simplifiedChar(ch: string): string {
  let out = simplified.get(ch);
  if (out === undefined) {
    const c = t2s(ch);
    out = c.length === ch.length ? c : ch;
    simplified.set(ch, out);
  }
  return out;
}

/**
 * Normalise a text for matching, keeping a map back to source offsets.
 *
 * Pure and deterministic: the same input always yields the same output, which
 * is what makes the analyzer usable at both index and query time.
 */
export function normalize(input: string): Normalized {
  if (STABLE.test(input)) return identity(input);

  // Pass 1: NFKC. ASCII and the BMP's unified ideographs are stable under
  // NFKC, so only the runs between them go cluster by cluster (a run takes the
  // character before it along, so a base letter meets its combining marks).
  const parts: string[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  let done = 0;
  const keep = (upTo: number): void => {
    if (upTo <= done) return;
    parts.push(input.slice(done, upTo));
    for (let i = done; i < upTo; i++) {
      starts.push(i);
      ends.push(i + 1);
    }
    done = upTo;
  };
  for (const run of input.matchAll(UNSTABLE)) {
    const from = Math.max(done, run.index - 1);
    keep(from);
    const chunk = input.slice(from, run.index + run[0].length);
    for (const m of chunk.matchAll(CLUSTER)) {
      const src = m[0];
      const at = from + m.index;
      const out = src.normalize('NFKC');
      parts.push(out);
      for (let k = 0; k < out.length; k++) {
        starts.push(at);
        ends.push(at + src.length);
      }
    }
    done = run.index + run[0].length;
  }
  keep(input.length);
  let text = parts.join('');

  // Pass 2: traditional → simplified, character by character. OpenCC would
  // convert a whole run as phrases, and then a character's simplified form
  // would depend on its neighbours (竺乾威 keeps 乾, 乾威 alone becomes 干威):
  // a query would not find the text it was copied from. A character whose
  // conversion changes its length is kept as it is, so offsets never drift.
  text = text.replace(HAN_CHAR, simplifiedChar);
  return { text, srcStart: Uint32Array.from(starts), srcEnd: Uint32Array.from(ends) };
}

function identity(input: string): Normalized {
  const n = input.length;
  const srcStart = new Uint32Array(n);
  const srcEnd = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    srcStart[i] = i;
    srcEnd[i] = i + 1;
  }
  return { text: input, srcStart, srcEnd };
}

/**
 * The source range of the normalised range `[start, end)`.
 * @param n - a result of {@link normalize}
 * @returns source offsets `[start, end)`; an empty range maps to an empty range
 */
export function toSource(n: Normalized, start: number, end: number): { start: number; end: number } {
  if (end <= start) {
    const at = start < n.text.length ? n.srcStart[start]! : (n.srcEnd[n.text.length - 1] ?? 0);
    return { start: at, end: at };
  }
  return { start: n.srcStart[start]!, end: n.srcEnd[end - 1]! };
}

/**
 * Normalise a short string without a map (a query term, a tag, a glossary entry).
 */
export function normalizeText(s: string): string {
  return normalize(s).text;
}
