/**
 * The papers the SQLite annotation store has seen, and keeping annotations on
 * them when their text changes or they leave the corpus: re-anchoring
 * (planned by annotation-rows.ts, shared with the PostgreSQL store),
 * orphaning and deleting. {@link AnnotationStore} exposes it.
 */
import { isoNow } from './annotation-rules.js';
import { type AnnotationRow, type DocumentRow, knownDocumentFromRow, uncount } from './annotation-rows.js';
import { planReanchorOffThread } from '../workers/reanchor.js';
import type { KnownDocument, ReanchorCounts } from './annotation-types.js';
import { type Database, writeImmediately } from './db.js';

/** Record that the store has seen the paper with this text (inside a transaction); a paper that came back is no longer removed. */
export function touchDocument(db: Database, docId: string, hash: string, now: string): void {
  db.prepare(
    `INSERT INTO documents (id, text_hash, seen_at) VALUES (?, ?, ?)
     ON CONFLICT(id) DO UPDATE SET text_hash = excluded.text_hash, seen_at = excluded.seen_at, removed_at = NULL`,
  ).run(docId, hash, now);
}

/** Documents the store has seen (to find those whose text changed since). */
export function knownDocuments(db: Database): KnownDocument[] {
  return (db.prepare('SELECT id, text_hash, seen_at, removed_at FROM documents ORDER BY id').all() as DocumentRow[]).map(
    knownDocumentFromRow,
  );
}

/**
 * The document's text changed (or came back): re-anchor every annotation not
 * yet on `newHash`, and retry every orphan. Anchored annotations get the new
 * range, quote and context; the ones that cannot be found are orphaned with
 * their old range and quote kept. The plan is made outside any transaction
 * (in a worker when it needs the approximate search: see reanchor.ts) and
 * written in one; an annotation changed or deleted meanwhile is left as the
 * researcher left it (its next re-anchoring, if it still needs one, sees it).
 * @param text - the document's text now, or what reads it (read only when an annotation needs it)
 */
export async function reanchorDocument(
  db: Database,
  docId: string,
  text: string | (() => string),
  newHash: string,
): Promise<ReanchorCounts> {
  const rows = db
    .prepare(`SELECT * FROM annotations WHERE doc_id = ? AND (text_hash <> ? OR status = 'orphaned')`)
    .all(docId, newHash) as AnnotationRow[];
  // The text only when an annotation needs it: a paper's text may be read from the index on demand.
  const newText = rows.length === 0 ? '' : typeof text === 'string' ? text : text();
  const { counts, changes } = await planReanchorOffThread(newText, rows, docId);
  const before = new Map(rows.map((r) => [r.id, r]));
  return writeImmediately(db, () => {
    // Only over the row as it was read: a range or a status written since is newer than this plan.
    const unchanged = `id = @id AND start = @was_start AND "end" = @was_end AND exact = @was_exact AND text_hash = @was_hash AND status = @was_status`;
    const anchored = db.prepare(
      `UPDATE annotations SET start = @start, "end" = @end, exact = @exact, prefix = @prefix, suffix = @suffix,
         text_hash = @hash, status = 'anchored', anchor_method = @method WHERE ${unchanged}`,
    );
    const orphaned = db.prepare(`UPDATE annotations SET status = 'orphaned', anchor_method = 'orphaned' WHERE ${unchanged}`);
    for (const c of changes) {
      const r = before.get(c.id)!;
      const was = { id: c.id, was_start: r.start, was_end: r.end, was_exact: r.exact, was_hash: r.text_hash, was_status: r.status };
      const written =
        c.status === 'anchored'
          ? anchored.run({
              ...was,
              start: c.start,
              end: c.end,
              exact: c.exact,
              prefix: c.prefix,
              suffix: c.suffix,
              hash: newHash,
              method: c.method,
            })
          : orphaned.run(was);
      if (written.changes === 0) uncount(counts, c);
    }
    const known = db.prepare('SELECT 1 FROM documents WHERE id = ?').get(docId);
    if (known) touchDocument(db, docId, newHash, isoNow());
    return counts;
  });
}

/**
 * The document is gone from the corpus: orphan all its annotations (kept,
 * with their quotes, to be re-anchored if it comes back).
 * @returns how many annotations were orphaned
 */
export function orphanDocument(db: Database, docId: string): number {
  return writeImmediately(db, () => {
    db.prepare('UPDATE documents SET removed_at = ? WHERE id = ?').run(isoNow(), docId);
    return db.prepare(`UPDATE annotations SET status = 'orphaned', anchor_method = 'orphaned' WHERE doc_id = ?`).run(docId).changes;
  });
}

/**
 * Delete every annotation of a document (the researcher confirmed it when
 * removing the paper from the corpus). Tags stay.
 * @returns how many annotations were deleted
 */
export function deleteByDocument(db: Database, docId: string): number {
  return writeImmediately(db, () => db.prepare('DELETE FROM annotations WHERE doc_id = ?').run(docId).changes);
}
