/**
 * What both annotation stores (SQLite here, PostgreSQL in
 * src/backends/postgres/) read from their tables and how it becomes the
 * store's answer: annotation and document rows, the blind-coding visibility
 * condition, and the plan of a re-anchoring pass. Kept in one place so the
 * two backends cannot drift apart in what they return.
 */
import { type AnchorMethod, type AnchorResult, type AnchorStatus, type Selector, makeQuote, reanchor } from './anchor.js';
import type { Annotation, AnnotationKey, KnownDocument, MergedSource, ReanchorCounts } from './annotation-types.js';

/**
 * An annotations row as both stores read it: `merged_from` is JSON text in
 * SQLite and already parsed (jsonb) in PostgreSQL.
 */
export interface AnnotationRow {
  id: string;
  doc_id: string;
  start: number;
  end: number;
  exact: string;
  prefix: string;
  suffix: string;
  note: string;
  colour: string;
  created_at: string;
  updated_at: string;
  text_hash: string;
  status: AnchorStatus;
  anchor_method: AnchorMethod;
  created_by: string;
  updated_by: string;
  merged_from: string | MergedSource[];
}

/** Tag links (in tag order) by annotation id. */
function tagsById(links: { aid: string; name: string }[]): Map<string, string[]> {
  const byId = new Map<string, string[]>();
  for (const l of links) {
    const list = byId.get(l.aid);
    if (list) list.push(l.name);
    else byId.set(l.aid, [l.name]);
  }
  return byId;
}

/**
 * Rows and their tag links (in tag order) → annotations; the one mapping both
 * stores use: a row's key ({@link keyOfRow}) and the rest of its fields.
 */
export function annotationsFromRows(rows: AnnotationRow[], links: { aid: string; name: string }[]): Annotation[] {
  const byId = tagsById(links);
  return rows.map((r) => ({
    ...keyOfRow(r, byId),
    exact: r.exact,
    prefix: r.prefix,
    suffix: r.suffix,
    note: r.note,
    anchorMethod: r.anchor_method,
    updatedBy: r.updated_by,
    mergedFrom: typeof r.merged_from === 'string' ? (JSON.parse(r.merged_from) as MergedSource[]) : r.merged_from,
  }));
}

/** The columns of an {@link AnnotationKey} (of the table aliased `a`), the same text in SQLite and PostgreSQL. */
export const KEY_COLUMNS = 'a.id, a.doc_id, a.start, a."end", a.colour, a.created_at, a.updated_at, a.text_hash, a.status, a.created_by';

/** An annotations row as {@link KEY_COLUMNS} reads it. */
export type AnnotationKeyRow = Pick<
  AnnotationRow,
  'id' | 'doc_id' | 'start' | 'end' | 'colour' | 'created_at' | 'updated_at' | 'text_hash' | 'status' | 'created_by'
>;

/** Key rows and their tag links (in tag order) → annotation keys; the one mapping both stores use. */
export function keysFromRows(rows: AnnotationKeyRow[], links: { aid: string; name: string }[]): AnnotationKey[] {
  const byId = tagsById(links);
  return rows.map((r) => keyOfRow(r, byId));
}

/** One row's key, its tags from the links by annotation id. */
function keyOfRow(r: AnnotationKeyRow, tags: Map<string, string[]>): AnnotationKey {
  return {
    id: r.id,
    docId: r.doc_id,
    start: r.start,
    end: r.end,
    colour: r.colour,
    tags: tags.get(r.id) ?? [],
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    textHash: r.text_hash,
    status: r.status,
    createdBy: r.created_by,
  };
}

/** A documents row as both stores read it. */
export interface DocumentRow {
  id: string;
  text_hash: string;
  seen_at: string;
  removed_at: string | null;
}

/** A documents row → what {@link AnnotationStore.knownDocuments} returns. */
export function knownDocumentFromRow(d: DocumentRow): KnownDocument {
  return { id: d.id, textHash: d.text_hash, seenAt: d.seen_at, removedAt: d.removed_at };
}

/**
 * SQL condition (the same text in SQLite and PostgreSQL): the annotation with
 * id `aid` is visible to the viewer in the parameter `viewer` (`@viewer` or
 * `$n`). Hidden are other coders' annotations in the papers of an open round
 * in which the viewer is a coder (blind coding); everyone else, the owner
 * included, sees all.
 */
export const visibleSql = (aid: string, viewer: string) => `NOT EXISTS (
  SELECT 1 FROM annotations hx
    JOIN round_documents rd ON rd.doc_id = hx.doc_id
    JOIN rounds r ON r.id = rd.round_id AND r.status = 'open'
    JOIN round_coders rc ON rc.round_id = r.id AND rc.coder = ${viewer}
  WHERE hx.id = ${aid} AND hx.created_by <> ${viewer})`;

/** What re-anchoring one annotation found: its new range, quote and context, or that it is orphaned. */
export type ReanchorChange =
  | { id: string; status: 'anchored'; start: number; end: number; exact: string; prefix: string; suffix: string; method: AnchorMethod }
  | { id: string; status: 'orphaned' };

/** What re-anchoring reads of an annotation: its id and where it was. */
export type ReanchorSelector = Selector & { id: string };

/** The changes to write for a document's annotations, and the counts by method. */
export interface ReanchorPlan {
  counts: ReanchorCounts;
  changes: ReanchorChange[];
}

/**
 * Re-anchor `rows` on a document's new text: what to write for each, and the
 * counts by method. Orphans keep their old range and quote (only the status
 * is written), so they can be re-anchored if the passage comes back.
 */
export function planReanchor(
  newText: string,
  rows: readonly ReanchorSelector[],
  place: (text: string, sel: Selector) => AnchorResult = reanchor,
): ReanchorPlan {
  const counts: ReanchorCounts = { checked: 0, exact: 0, quote: 0, fuzzy: 0, orphaned: 0 };
  const changes = rows.map((row) => reanchorChange(newText, row, place(newText, row)));
  for (const c of changes) count(counts, c);
  return { counts, changes };
}

/** What to write for one annotation, from where re-anchoring placed it on `newText`. */
export function reanchorChange(newText: string, row: ReanchorSelector, r: AnchorResult): ReanchorChange {
  if (r.status !== 'anchored') return { id: row.id, status: 'orphaned' };
  return { id: row.id, status: 'anchored', start: r.start, end: r.end, ...makeQuote(newText, r.start, r.end), method: r.method };
}

/** Count a change of a plan by its method. */
export function count(counts: ReanchorCounts, c: ReanchorChange): void {
  counts.checked++;
  counts[c.status === 'anchored' ? (c.method as Exclude<AnchorMethod, 'created'>) : 'orphaned']++;
}

/**
 * Take a change out of a plan's counts: the store did not write it, as the
 * annotation changed or went while the plan was made (it is then the
 * researcher's version that stands).
 */
export function uncount(counts: ReanchorCounts, c: ReanchorChange): void {
  counts.checked--;
  counts[c.status === 'anchored' ? (c.method as Exclude<AnchorMethod, 'created'>) : 'orphaned']--;
}
