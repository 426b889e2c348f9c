/**
 * How a passage is stored for the lab server's index: its analysed terms
 * and biwords as `tsvector` text, with the analyzer's word positions, within
 * PostgreSQL's limits on positions.
 */
import { type AnalyzedToken, biwords } from '../../pipeline/analyze.js';
import { isBiword, lexeme, quoteLexeme } from './tsquery.js';

/** tsvector positions stop at 16383 and 256 per lexeme. */
export const MAX_POSITION = 16383;
export const MAX_POSITIONS = 256;

/**
 * Each occurrence of a passage's index terms with its word position: its
 * single terms, then its biwords (at their first token's position), as the
 * embedded index counts them.
 */
function termOccurrences(toks: readonly AnalyzedToken[]): Array<[term: string, position: number]> {
  const out: Array<[string, number]> = toks.map((t) => [t.term, t.position]);
  const at: number[] = [];
  biwords(toks, at).forEach((b, i) => out.push([b, at[i]!]));
  return out;
}

/**
 * The tsvector text of a passage: each single term with its word positions
 * (1-based); with `pairs`, each biword instead, at its first word's position.
 * Biwords are stored (in a column of their own, so that a single term's list
 * reads no larger tsvectors than before) so that a phrase's pairs are counted
 * from their positions, like single terms, rather than by analysing every
 * candidate passage again.
 */
export function passageTsvector(toks: readonly AnalyzedToken[], bigrams: readonly string[] = [], pairs = false): string {
  const positions = new Map<string, number[]>();
  // Han bigrams (the recall layer) share the terms' lexemes, as in the embedded index, without positions.
  for (const b of bigrams) positions.set(lexeme(b), []);
  for (const [term, position] of termOccurrences(toks)) {
    if (isBiword(term) !== pairs) continue;
    const l = lexeme(term);
    const list = positions.get(l) ?? [];
    const pos = Math.min(position + 1, MAX_POSITION);
    if (list.length < MAX_POSITIONS && list.at(-1) !== pos) list.push(pos);
    positions.set(l, list);
  }
  return [...positions].map(([l, ps]) => (ps.length ? `${quoteLexeme(l)}:${ps.join(',')}` : quoteLexeme(l))).join(' ');
}

/**
 * Whether a passage's tsvector gives each of its terms' and biwords'
 * frequencies exactly: its positions are one per occurrence unless a term or
 * biword occurs twice at one position (a sub-word the same as another, a
 * word followed by two sub-words of one term), 256 times or more, or past
 * position 16383. Where not, frequencies come from analysing it again.
 */
export function positionsCountTerms(toks: readonly AnalyzedToken[]): boolean {
  const last = new Map<string, number>();
  const count = new Map<string, number>();
  for (const [term, position] of termOccurrences(toks)) {
    const prev = last.get(term);
    if (position + 1 >= MAX_POSITION || (prev !== undefined && position <= prev)) return false;
    last.set(term, position);
    const n = (count.get(term) ?? 0) + 1;
    if (n >= MAX_POSITIONS) return false;
    count.set(term, n);
  }
  return true;
}
