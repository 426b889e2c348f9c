/**
 * The relevance set (eval/relevance.json): graded judgments that name passages
 * by a short verbatim quote, resolved to the one passage whose own text holds
 * the quote. Quotes rather than ids or offsets keep the set readable and make
 * it survive re-segmentation; a quote that stops resolving fails loudly.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { CorpusDocument, Passage } from '../src/core/types.js';
import { joinPieces } from '../src/pipeline/segment.js';

const Judgment = z.strictObject({
  doc: z.string().min(1),
  /** 0 records a pooled passage read and found not relevant, so it is not offered for judging again. */
  grade: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]),
  quote: z.string().min(4),
  /** Judged when pooling the top 10 of duikou and FTS5, after the first judgments. */
  pooled: z.boolean().optional(),
});

const Query = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/),
  query: z.string().min(1),
  type: z.string().min(1),
  notes: z.string().min(1),
  judgments: z.array(Judgment),
});

const RelevanceSet = z.strictObject({ about: z.string(), queries: z.array(Query).min(1) });

/** One judged query as written in the set. */
export type JudgedQuery = z.infer<typeof Query>;

/** A judged query with its quotes resolved: passage id → grade (0–3; 0 = read and not relevant). */
export interface ResolvedQuery extends JudgedQuery {
  grades: Map<number, number>;
}

/** Read and validate a relevance set file. */
export function loadRelevanceSet(path: string): JudgedQuery[] {
  const set = RelevanceSet.parse(JSON.parse(readFileSync(path, 'utf8')));
  const ids = new Set<string>();
  for (const q of set.queries) {
    if (ids.has(q.id)) throw new Error(`${path}: query id "${q.id}" is used twice`);
    ids.add(q.id);
  }
  return set.queries;
}

/** Whitespace runs count as one space, so a quote copied from a reflowed line still matches. */
const squash = (s: string): string => s.replace(/\s+/g, ' ');

/** A passage's own text (its pieces joined, so a footnote inside a paragraph is not part of it), whitespace squashed. */
export function passageText(doc: CorpusDocument, p: Passage): string {
  return squash(joinPieces(doc.text, p.pieces).text);
}

/** Where a quote resolves: the passages of the whole corpus whose own text holds it. */
export function passagesHolding(quote: string, docs: readonly CorpusDocument[]): Array<{ doc: CorpusDocument; passage: Passage }> {
  const q = squash(quote).trim();
  const found: Array<{ doc: CorpusDocument; passage: Passage }> = [];
  for (const doc of docs) for (const p of doc.passages) if (passageText(doc, p).includes(q)) found.push({ doc, passage: p });
  return found;
}

/**
 * Resolve every quote of the set against the corpus.
 * @throws Error listing every quote that matches no passage, more than one
 *   passage, or a passage of another document than the judgment names, and
 *   every passage judged twice in one query
 */
export function resolveJudgments(queries: readonly JudgedQuery[], docs: readonly CorpusDocument[]): ResolvedQuery[] {
  const problems: string[] = [];
  const resolved = queries.map((q) => {
    const grades = new Map<number, number>();
    for (const j of q.judgments) {
      const where = passagesHolding(j.quote, docs);
      const at = `${q.id}: "${j.quote}"`;
      if (where.length === 0) problems.push(`${at} matches no passage`);
      else if (where.length > 1) problems.push(`${at} is ambiguous: ${where.map((w) => `${w.doc.id}#${w.passage.ordinal}`).join(', ')}`);
      else if (where[0]!.doc.id !== j.doc) problems.push(`${at} is in ${where[0]!.doc.id}, not ${j.doc}`);
      else if (grades.has(where[0]!.passage.id)) problems.push(`${at} judges a passage already judged in this query`);
      else grades.set(where[0]!.passage.id, j.grade);
    }
    return { ...q, grades };
  });
  if (problems.length > 0) throw new Error(`Relevance set does not resolve:\n  ${problems.join('\n  ')}`);
  return resolved;
}
