/**
 * The annotation store on PostgreSQL (lab-server mode): the same behaviour
 * as the embedded `AnnotationStore` — the same validation (annotation-rules.ts,
 * tag-rules.ts), row mapping (annotation-rows.ts), errors, ordering and tag
 * hierarchy — over a connection pool. This module holds the annotations
 * themselves; the tags are in tag-vocabulary.ts, the documents in
 * document-anchoring.ts.
 *
 * Every write is one transaction that first takes a transaction-level
 * advisory lock and announces itself on commit (see change-feed.ts), so
 * writes from all app instances are serialised and other instances can
 * refresh their pages.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { notFound } from '../../core/errors.js';
import type {
  Annotation,
  AnnotationFilter,
  AnnotationKey,
  ListPage,
  AnnotationPatch,
  DocText,
  KnownDocument,
  NewAnnotation,
  NewTag,
  ReanchorCounts,
  RestorableAnnotation,
  RestorableTag,
  Tag,
  TagPatch,
} from '../../store/annotation-types.js';
import {
  bad,
  foldText,
  isoNow,
  normalizeTagName,
  parseAnnotationPatch,
  parseBackup,
  parseListQuery,
  parseNewAnnotation,
  planMerge,
  validateNote,
  validateRange,
  validateTags,
} from '../../store/annotation-rules.js';
import {
  type AnnotationKeyRow,
  type AnnotationRow,
  KEY_COLUMNS,
  annotationsFromRows,
  keysFromRows,
  visibleSql,
} from '../../store/annotation-rows.js';
import { IMPLICIT_OWNER } from '../../store/users.js';
import type { AnnotationBackend } from '../types.js';
import { type ChangeNotice, listenForChanges, writeAndAnnounce } from './change-feed.js';
import { type PgOptions, openPgPool, pgSchemaVersion } from './db.js';
import * as documents from './document-anchoring.js';
import { PG_SCHEMA_VERSION } from './migrations.js';
import * as vocabulary from './tag-vocabulary.js';

/**
 * The order of every list of annotations, the embedded store's: by document, then start, then creation
 * (the id settles ties), compared byte by byte as SQLite does, whatever the database's locale.
 */
const LIST_ORDER = 'ORDER BY a.doc_id COLLATE "C", a.start, a.created_at COLLATE "C", a.id COLLATE "C"';

/** {@link AnnotationBackend} on PostgreSQL. Open with {@link PgAnnotationStore.open}. */
export class PgAnnotationStore implements AnnotationBackend {
  readonly kind = 'postgres' as const;

  private constructor(readonly pool: pg.Pool) {}

  /**
   * Connect, migrate, and return the store.
   * @throws Error when the server is unreachable or its schema is newer than this code
   */
  static async open(options: PgOptions): Promise<PgAnnotationStore> {
    const pool = await openPgPool(options);
    const version = await pgSchemaVersion(pool);
    if (version !== PG_SCHEMA_VERSION) {
      await pool.end();
      throw new Error(`PgAnnotationStore needs schema version ${PG_SCHEMA_VERSION}, the database has ${version}`);
    }
    return new PgAnnotationStore(pool);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * Call `listener` for every committed change, from any instance, and
   * `onReconnect` after a lost listening connection is back (see
   * {@link listenForChanges}). Resolves to a function that stops listening.
   */
  async listen(listener: (notice: ChangeNotice) => void, onReconnect?: () => void): Promise<() => Promise<void>> {
    return listenForChanges(this.pool, listener, onReconnect);
  }

  /** Run `fn` in one transaction holding the write lock; announce `notice` on commit. */
  private write<T>(notice: ChangeNotice, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return writeAndAnnounce(this.pool, notice, fn);
  }

  // ---------------------------------------------------------------- annotations

  async create(input: NewAnnotation, doc: DocText, by: string = IMPLICIT_OWNER): Promise<Annotation> {
    const { docId, range, note, colour, tags } = parseNewAnnotation(input, doc);
    const id = randomUUID();
    const now = isoNow();
    await this.write({ what: 'annotations', docId }, async (c) => {
      await documents.touchDocument(c, docId, doc.hash, now);
      await c.query(
        `INSERT INTO annotations (id, doc_id, start, "end", exact, prefix, suffix, note, colour,
           created_at, updated_at, text_hash, status, anchor_method, created_by, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, 'anchored', 'created', $12, $12)`,
        [id, docId, range.start, range.end, range.exact, range.prefix, range.suffix, note, colour, now, doc.hash, by],
      );
      await vocabulary.setTags(c, id, tags);
    });
    return this.mustGet(id);
  }

  /** The annotation with this id, or null (also when it is hidden from `viewer` by a blind round). */
  async get(id: string, viewer?: string): Promise<Annotation | null> {
    const r =
      viewer === undefined
        ? await this.pool.query<AnnotationRow>('SELECT * FROM annotations WHERE id = $1', [id])
        : await this.pool.query<AnnotationRow>(`SELECT * FROM annotations a WHERE a.id = $1 AND ${visibleSql('a.id', '$2')}`, [id, viewer]);
    return r.rows.length ? ((await this.withTags(this.pool, r.rows))[0] ?? null) : null;
  }

  private async mustGet(id: string): Promise<Annotation> {
    const a = await this.get(id);
    if (!a) throw notFound('annotation', id);
    return a;
  }

  async update(id: string, patch: AnnotationPatch, doc?: DocText, by: string = IMPLICIT_OWNER): Promise<Annotation> {
    const current = await this.mustGet(id);
    const change = parseAnnotationPatch(current, patch, doc, 'PgAnnotationStore');
    if (!change) return current;
    const { note, colour, tags, range } = change;
    await this.write({ what: 'annotations', docId: current.docId }, async (c) => {
      const now = isoNow(current.updatedAt);
      const n = await c.query('UPDATE annotations SET note = $2, colour = $3, updated_at = $4, updated_by = $5 WHERE id = $1', [
        id,
        note ?? current.note,
        colour ?? current.colour,
        now,
        by,
      ]);
      if (n.rowCount === 0) throw notFound('annotation', id); // deleted by another instance meanwhile
      if (range && doc) {
        await documents.touchDocument(c, current.docId, doc.hash, now);
        await c.query(
          `UPDATE annotations SET start = $2, "end" = $3, exact = $4, prefix = $5, suffix = $6,
             text_hash = $7, status = 'anchored', anchor_method = 'created' WHERE id = $1`,
          [id, range.start, range.end, range.exact, range.prefix, range.suffix, doc.hash],
        );
      }
      if (tags) await vocabulary.setTags(c, id, tags);
    });
    return this.mustGet(id);
  }

  /**
   * The group's version after discussion, as the embedded store makes it: one
   * new annotation by `by` over the union of the given (overlapping, one
   * paper) annotations, their tags and notes, recording who made what in
   * `mergedFrom`. The sources are read again inside the write, so one
   * deleted or moved meanwhile by another instance is not merged stale.
   * @throws UserInputError not_found (404), bad_merge
   */
  async merge(ids: readonly string[], doc: DocText, by: string): Promise<Annotation> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) throw bad('bad_merge', 'Choose the annotations to accept or merge (请选择标注)');
    const id = randomUUID();
    await this.write({ what: 'annotations' }, async (c) => {
      const sources: Annotation[] = [];
      for (const sid of unique) {
        const r = await c.query<AnnotationRow>('SELECT * FROM annotations WHERE id = $1', [sid]);
        const a = r.rows.length ? (await this.withTags(c, r.rows))[0] : undefined;
        if (!a) throw notFound('annotation', sid);
        sources.push(a);
      }
      const { first, end, note: merged, tags: mergedTags, mergedFrom } = planMerge(sources);
      const range = validateRange(doc.text, first.start, end, undefined);
      const note = validateNote(merged);
      const tags = validateTags(mergedTags);
      const now = isoNow();
      await documents.touchDocument(c, first.docId, doc.hash, now);
      await c.query(
        `INSERT INTO annotations (id, doc_id, start, "end", exact, prefix, suffix, note, colour,
           created_at, updated_at, text_hash, status, anchor_method, created_by, updated_by, merged_from)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, 'anchored', 'created', $12, $12, $13)`,
        [
          id,
          first.docId,
          range.start,
          range.end,
          range.exact,
          range.prefix,
          range.suffix,
          note,
          first.colour,
          now,
          doc.hash,
          by,
          JSON.stringify(mergedFrom),
        ],
      );
      await vocabulary.setTags(c, id, tags);
    });
    return this.mustGet(id);
  }

  async delete(id: string): Promise<Annotation> {
    const current = await this.mustGet(id);
    await this.write({ what: 'annotations', docId: current.docId }, async (c) => {
      await c.query('DELETE FROM annotations WHERE id = $1', [id]);
    });
    return current;
  }

  async list(filter: AnnotationFilter = {}): Promise<Annotation[]> {
    return this.withTags(this.pool, await this.matchingRows(this.whereOf(filter)));
  }

  async listKeys(filter: AnnotationFilter = {}): Promise<AnnotationKey[]> {
    const { where, params, q } = this.whereOf(filter);
    // The text filter folds in Node (see matchingRows), so with one the quote and note are read too.
    const columns = q === '' ? KEY_COLUMNS : `${KEY_COLUMNS}, a.exact, a.note`;
    let rows = (
      await this.pool.query<AnnotationKeyRow & { exact?: string; note?: string }>(
        `SELECT ${columns} FROM annotations a ${where} ${LIST_ORDER}`,
        params,
      )
    ).rows;
    if (q !== '') rows = rows.filter((r) => foldText(r.exact!).includes(q) || foldText(r.note!).includes(q));
    return keysFromRows(rows, await this.tagLinks(this.pool, rows));
  }

  async listPage(filter: AnnotationFilter, page: ListPage): Promise<{ total: number; annotations: Annotation[] }> {
    const clause = this.whereOf(filter);
    const { where, params } = clause;
    if (clause.q !== '') {
      // The text filter folds in Node (see matchingRows): the rows are filtered here, and only the page gets its tags.
      const rows = await this.matchingRows(clause);
      return { total: rows.length, annotations: await this.withTags(this.pool, rows.slice(page.offset, page.offset + page.limit)) };
    }
    const total = Number((await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM annotations a ${where}`, params)).rows[0]!.n);
    const rows = (
      await this.pool.query<AnnotationRow>(
        `SELECT a.* FROM annotations a ${where} ${LIST_ORDER} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, page.limit, page.offset],
      )
    ).rows;
    return { total, annotations: await this.withTags(this.pool, rows) };
  }

  /** The rows matching a filter (its {@link whereOf}), in the list order. */
  private async matchingRows({ where, params, q }: { where: string; params: unknown[]; q: string }): Promise<AnnotationRow[]> {
    const rows = (await this.pool.query<AnnotationRow>(`SELECT a.* FROM annotations a ${where} ${LIST_ORDER}`, params)).rows;
    // Folded substring match in Node: the very foldText the embedded store uses
    // (NFKC + toLowerCase), whatever the database's locale.
    return q === '' ? rows : rows.filter((r) => foldText(r.exact).includes(q) || foldText(r.note).includes(q));
  }

  /** The WHERE clause for `filter` but its text (`q`, folded and returned for Node to match), and its parameters. */
  private whereOf(filter: AnnotationFilter): { where: string; params: unknown[]; q: string } {
    const where: string[] = [];
    const params: unknown[] = [];
    let tagKey: string | undefined;
    if (filter.tag !== undefined) tagKey = normalizeTagName(filter.tag, { existing: true }).key;
    const q = parseListQuery(filter.q);
    if (tagKey !== undefined) {
      params.push(tagKey);
      where.push(
        `a.id IN (SELECT at.annotation_id FROM annotation_tags at JOIN tags t ON t.id = at.tag_id WHERE ${vocabulary.SUBTREE_SQL})`,
      );
    }
    if (filter.docId !== undefined) {
      params.push(filter.docId);
      where.push(`a.doc_id = $${params.length}`);
    }
    if (filter.orphaned !== undefined) {
      params.push(filter.orphaned ? 'orphaned' : 'anchored');
      where.push(`a.status = $${params.length}`);
    }
    if (filter.viewer !== undefined) {
      params.push(filter.viewer);
      where.push(visibleSql('a.id', `$${params.length}`));
    }
    if (filter.ids !== undefined) {
      params.push(filter.ids);
      where.push(`a.id = ANY($${params.length}::text[])`);
    }
    return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', params, q };
  }

  /** Rows → annotations, fetching all their tags in one query. */
  private async withTags(q: vocabulary.Q, rows: AnnotationRow[]): Promise<Annotation[]> {
    return rows.length === 0 ? [] : annotationsFromRows(rows, await this.tagLinks(q, rows));
  }

  /** The tag links of the annotations `rows` name, in tag order, in one query. */
  private async tagLinks(q: vocabulary.Q, rows: readonly { id: string }[]): Promise<{ aid: string; name: string }[]> {
    if (rows.length === 0) return [];
    const links = await q.query<{ aid: string; name: string }>(
      `SELECT at.annotation_id AS aid, t.name AS name FROM annotation_tags at JOIN tags t ON t.id = at.tag_id
       WHERE at.annotation_id = ANY($1::text[]) ORDER BY t.name_key COLLATE "C"`,
      [rows.map((r) => r.id)],
    );
    return links.rows;
  }

  async restore(backup: {
    annotations: readonly RestorableAnnotation[];
    tags: readonly RestorableTag[];
  }): Promise<{ added: number; skipped: number }> {
    const { tags, annotations } = parseBackup(backup);
    let added = 0;
    let skipped = 0;
    await this.write({ what: 'annotations' }, async (c) => {
      for (const t of tags) {
        const id = await vocabulary.ensureTag(c, t.segments);
        await c.query('UPDATE tags SET colour = $1, description = $2 WHERE id = $3', [t.colour, t.description, id]);
      }
      for (const a of annotations) {
        if ((await c.query('SELECT 1 FROM annotations WHERE id = $1', [a.id])).rowCount) {
          skipped++;
          continue;
        }
        if (!(await c.query('SELECT 1 FROM documents WHERE id = $1', [a.docId])).rowCount) {
          await documents.touchDocument(c, a.docId, a.textHash, isoNow());
        }
        await c.query(
          `INSERT INTO annotations (id, doc_id, start, "end", exact, prefix, suffix, note, colour,
             created_at, updated_at, text_hash, status, anchor_method, created_by, updated_by, merged_from)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
          [
            a.id,
            a.docId,
            a.start,
            a.end,
            a.exact,
            a.prefix,
            a.suffix,
            a.note,
            a.colour,
            a.createdAt,
            a.updatedAt,
            a.textHash,
            a.status,
            a.anchorMethod,
            a.createdBy,
            a.updatedBy,
            JSON.stringify(a.mergedFrom),
          ],
        );
        await vocabulary.setTags(c, a.id, a.tagNames);
        added++;
      }
    });
    return { added, skipped };
  }

  // ---------------------------------------------------------------- documents (document-anchoring.ts)

  async knownDocuments(): Promise<KnownDocument[]> {
    return documents.knownDocuments(this.pool);
  }

  async reanchorDocument(docId: string, newText: string, newHash: string): Promise<ReanchorCounts> {
    return documents.reanchorDocument(this.pool, docId, newText, newHash);
  }

  async orphanDocument(docId: string): Promise<number> {
    return documents.orphanDocument(this.pool, docId);
  }

  async deleteByDocument(docId: string): Promise<number> {
    return documents.deleteByDocument(this.pool, docId);
  }

  // ---------------------------------------------------------------- tags (tag-vocabulary.ts)

  /** All tags, ordered by name (so children follow their parent), with usage counts (of what `viewer` may see, when given). */
  async listTags(viewer?: string): Promise<Tag[]> {
    return vocabulary.listTags(this.pool, viewer);
  }

  async getTag(name: string): Promise<Tag> {
    return vocabulary.getTag(this.pool, name);
  }

  async createTag(input: NewTag): Promise<Tag> {
    return vocabulary.createTag(this.pool, input);
  }

  async updateTag(name: string, patch: TagPatch): Promise<Tag> {
    return vocabulary.updateTag(this.pool, name, patch);
  }

  async deleteTag(name: string, options: { detach?: boolean } = {}): Promise<number> {
    return vocabulary.deleteTag(this.pool, name, options);
  }
}
