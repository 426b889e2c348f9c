/**
 * The papers the PostgreSQL annotation store has seen, and keeping
 * annotations on them when their text changes or they leave the corpus: the
 * embedded store's behaviour (src/store/document-anchoring.ts), with the
 * re-anchoring planned by the same code (src/store/annotation-rows.ts).
 * {@link PgAnnotationStore} exposes it.
 */
import type pg from 'pg';
import { isoNow } from '../../store/annotation-rules.js';
import { type AnnotationRow, type DocumentRow, knownDocumentFromRow, uncount } from '../../store/annotation-rows.js';
import { planReanchorOffThread } from '../../workers/reanchor.js';
import type { KnownDocument, ReanchorCounts } from '../../store/annotation-types.js';
import { writeAndAnnounce } from './change-feed.js';

/** Record that the store has seen the paper with this text (inside a transaction); a paper that came back is no longer removed. */
export async function touchDocument(c: pg.PoolClient, docId: string, hash: string, now: string): Promise<void> {
  await c.query(
    `INSERT INTO documents (id, text_hash, seen_at) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET text_hash = excluded.text_hash, seen_at = excluded.seen_at, removed_at = NULL`,
    [docId, hash, now],
  );
}

/** Documents the store has seen (to find those whose text changed since). */
export async function knownDocuments(pool: pg.Pool): Promise<KnownDocument[]> {
  const r = await pool.query<DocumentRow>('SELECT id, text_hash, seen_at, removed_at FROM documents ORDER BY id COLLATE "C"');
  return r.rows.map(knownDocumentFromRow);
}

/**
 * Re-anchor the document's annotations not yet on `newHash`, and retry its
 * orphans: planned outside the transaction (in a worker when the approximate
 * search is needed: see reanchor.ts) and written in one, each change only over
 * the row as it was read, as the embedded store does.
 */
export async function reanchorDocument(pool: pg.Pool, docId: string, newText: string, newHash: string): Promise<ReanchorCounts> {
  const rows = (
    await pool.query<AnnotationRow>(`SELECT * FROM annotations WHERE doc_id = $1 AND (text_hash <> $2 OR status = 'orphaned')`, [
      docId,
      newHash,
    ])
  ).rows;
  const { counts, changes } = await planReanchorOffThread(newText, rows, docId);
  const before = new Map(rows.map((r) => [r.id, r]));
  return writeAndAnnounce(pool, { what: 'annotations', docId }, async (c) => {
    // A range or a status written since is newer than this plan.
    const unchanged = `id = $1 AND start = $2 AND "end" = $3 AND exact = $4 AND text_hash = $5 AND status = $6`;
    for (const ch of changes) {
      const r = before.get(ch.id)!;
      const was = [ch.id, r.start, r.end, r.exact, r.text_hash, r.status];
      const written =
        ch.status === 'anchored'
          ? await c.query(
              `UPDATE annotations SET start = $7, "end" = $8, exact = $9, prefix = $10, suffix = $11,
                 text_hash = $12, status = 'anchored', anchor_method = $13 WHERE ${unchanged}`,
              [...was, ch.start, ch.end, ch.exact, ch.prefix, ch.suffix, newHash, ch.method],
            )
          : await c.query(`UPDATE annotations SET status = 'orphaned', anchor_method = 'orphaned' WHERE ${unchanged}`, was);
      if (written.rowCount === 0) uncount(counts, ch);
    }
    if ((await c.query('SELECT 1 FROM documents WHERE id = $1', [docId])).rowCount) await touchDocument(c, docId, newHash, isoNow());
    return counts;
  });
}

/** The document is gone from the corpus: orphan all its annotations. Returns how many. */
export async function orphanDocument(pool: pg.Pool, docId: string): Promise<number> {
  return writeAndAnnounce(pool, { what: 'documents', docId }, async (c) => {
    await c.query('UPDATE documents SET removed_at = $1 WHERE id = $2', [isoNow(), docId]);
    const r = await c.query(`UPDATE annotations SET status = 'orphaned', anchor_method = 'orphaned' WHERE doc_id = $1`, [docId]);
    return r.rowCount ?? 0;
  });
}

/** Delete every annotation of a document (the researcher confirmed it). Returns how many. */
export async function deleteByDocument(pool: pg.Pool, docId: string): Promise<number> {
  return writeAndAnnounce(
    pool,
    { what: 'annotations', docId },
    async (c) => (await c.query('DELETE FROM annotations WHERE doc_id = $1', [docId])).rowCount ?? 0,
  );
}
