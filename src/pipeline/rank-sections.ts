/**
 * Section evidence for best match: a passage under a heading that names the
 * whole query counts as holding it. A section titled "Path Dependency" goes
 * on about coordination effects and the learning effect without saying
 * "path dependence" again, and a researcher searching for it wants those
 * paragraphs; a paper's headings are its authors' own summary of what each
 * part discusses (the idea of BM25F's title field, and of section-title
 * inheritance in scholarly search).
 *
 * Only in best match, where hits are ranked by how much of the query they
 * hold: a strict hit still holds every word in its own text. Such a passage
 * scores the heading's share of the query with nothing for its own weight,
 * so it ranks below every passage holding the whole query in its own text,
 * above those holding less of it, and its own score counts when that is
 * higher. Not when the query has a quoted phrase or an OR group, which must
 * stand in every hit; an excluded word and the filters still hold, for the
 * heading as for its passages.
 */
import type { Passage, PassageKind } from '../core/types.js';
import { bestScore, excludes } from './rank-score.js';
import type { CompiledLoose, Context, RankedHit } from './rank-types.js';

/** Below this much of the query's share (the rarity of its words), a heading does not name the whole query. */
const WHOLE = 1 - 1e-9;

/**
 * The passages that gain a score from their section's heading: by id, the
 * score their heading gives them (see the module comment).
 * @param candidates - the best-match candidates (every passage holding a word
 *   or group of the query), among which the headings are looked for
 * @param kindOf - a passage's kind (a backend may answer it without reading the passage)
 */
export function sectionScores(
  loose: CompiledLoose,
  ctx: Context,
  candidates: Iterable<number>,
  kindOf: (id: number) => PassageKind | undefined = (id) => ctx.src.passage(id)?.kind,
): Map<number, number> {
  const out = new Map<number, number>();
  if (loose.required.length > 0) return out;
  const whole = loose.rarity.reduce((sum, r) => sum + r, 0);
  // Each word's candidate lists, its own and those of the groups covering it: a heading missing
  // from all of one word's cannot hold the whole query, and is not scored.
  const lists = loose.words.map((w, i) => [
    ...w.variants.map((v) => ctx.pool.get(v)),
    ...loose.groups.filter((g) => g.covers.includes(i)).flatMap((g) => g.ci.variants.map((v) => ctx.pool.get(v))),
  ]);
  const mayHoldAll = (id: number): boolean => lists.every((l) => l.some((set) => set?.has(id) === true));
  // The heading must pass the filters too (kind:paragraph turns this off): a backend holds only the
  // passages that pass them (the lab server's view), and the two backends answer alike.
  for (const id of candidates) {
    if (kindOf(id) !== 'heading' || !mayHoldAll(id)) continue;
    const s = bestScore(id, loose, ctx);
    if (s === null || s.coverage < whole * WHOLE) continue;
    for (const member of ctx.src.sectionPassages(id)) {
      const p = ctx.src.passage(member);
      if (p === undefined || !ctx.accept(p) || excludes(p, ctx)) continue;
      out.set(member, Math.max(out.get(member) ?? 0, s.coverage));
    }
  }
  return out;
}

/**
 * Best-match hits with the section scores merged in: a passage's score is the
 * larger of its own and its section's; passages only their section makes hits
 * are added. `hits` must hold every hit that can rank above the last one kept
 * (all of them, or the first `k` of the ranking); without section scores it
 * is sorted in place and returned, not copied (the full ranking's every hit).
 * @param own - a passage's own best-match score, or null when its own text
 *   makes it no hit (asked only of passages not in `hits`)
 * @returns the merged hits, best first (ties broken by `order`), and how many
 *   passages only their section made hits
 */
export function withSections(
  hits: RankedHit[],
  sections: ReadonlyMap<number, number>,
  own: (id: number) => { p: Passage; score: number } | null,
  passage: (id: number) => Passage | undefined,
  order: (a: RankedHit, b: RankedHit) => number,
): { hits: RankedHit[]; added: Passage[] } {
  if (sections.size === 0) return { hits: hits.sort(order), added: [] };
  const shown = new Set(hits.map((h) => h.passage.id));
  const merged = hits.map((h) => {
    const inherited = sections.get(h.passage.id);
    return inherited !== undefined && inherited > h.score ? { passage: h.passage, score: inherited } : h;
  });
  const added: Passage[] = [];
  for (const [id, inherited] of sections) {
    if (shown.has(id)) continue;
    const mine = own(id);
    if (mine !== null) {
      if (inherited > mine.score) merged.push({ passage: mine.p, score: inherited });
      continue;
    }
    const p = passage(id);
    if (p === undefined) continue;
    added.push(p);
    merged.push({ passage: p, score: inherited });
  }
  return { hits: merged.sort(order), added };
}
