/**
 * The annotation store on PostgreSQL (lab-server mode): the same behaviour
 * as the embedded `AnnotationStore` — the same validation (shared `rules`),
 * errors, ordering and tag hierarchy — over a connection pool.
 *
 * Every write is one transaction that first takes a transaction-level
 * advisory lock, so writes from all app instances are serialised like
 * SQLite's IMMEDIATE transactions (no lost tag creations, no half-applied
 * renames). Each write also sends a NOTIFY on {@link CHANGES_CHANNEL},
 * delivered only if it commits, so other instances can refresh their pages.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { UserInputError, notFound } from '../../core/errors.js';
import { makeQuote, reanchor } from '../../store/anchor.js';
import type {
  Annotation,
  AnnotationFilter,
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
  type AnnotationRow,
  DEFAULT_COLOUR,
  annotationsFromRows,
  foldText,
  normalizeTagName,
  planMerge,
  rules,
} from '../../store/annotation-rules.js';
import { IMPLICIT_OWNER } from '../../store/users.js';
import type { AnnotationBackend } from '../types.js';
import { type PgOptions, inTransaction, openPgPool, pgSchemaVersion } from './db.js';
import { PG_SCHEMA_VERSION } from './migrations.js';

const { bad, isoNow, validateColour, validateNote, validateDescription, validateDocId, validateTags, validateRange, MAX_QUERY_LENGTH } =
  rules;

/** The channel on which every committed write is announced. */
export const CHANGES_CHANNEL = 'duikou_changes';

/** What a change notification says: which kind of thing changed, and the document when known. */
export interface ChangeNotice {
  what: 'annotations' | 'tags' | 'documents';
  docId?: string;
}

/** Advisory-lock key serialising writes (any number; only duikou uses it). */
const WRITE_LOCK = 0x64_75_69_77; // 'duiw'

interface TagRow {
  id: number;
  name: string;
  name_key: string;
  colour: string | null;
  description: string;
}

type Q = pg.Pool | pg.PoolClient;
type ParsedTag = ReturnType<typeof validateTags>[number];

/**
 * SQL condition: the annotation with id `<aid>` is visible to the viewer in
 * parameter `<viewer>` (`$n`). Hidden are other coders' annotations in the
 * papers of an open round in which the viewer is a coder (blind coding);
 * everyone else, the owner included, sees all. As the embedded store's.
 */
const visibleSql = (aid: string, viewer: string) => `NOT EXISTS (
  SELECT 1 FROM annotations hx
    JOIN round_documents rd ON rd.doc_id = hx.doc_id
    JOIN rounds r ON r.id = rd.round_id AND r.status = 'open'
    JOIN round_coders rc ON rc.round_id = r.id AND rc.coder = ${viewer}
  WHERE hx.id = ${aid} AND hx.created_by <> ${viewer})`;

/** SQL condition: tag `t` is the tag with key `$1` or one of its descendants. */
const SUBTREE_SQL = `(t.name_key = $1 OR left(t.name_key, length($1) + 1) = $1 || '/')`;

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
   * Call `listener` for every committed change, from any instance. When the
   * listening connection is lost (the server restarted, the network
   * dropped), it connects again every second until it can, then calls
   * `onReconnect`: changes made meanwhile were not announced, so the caller
   * reloads what it keeps. Resolves to a function that stops listening.
   */
  async listen(listener: (notice: ChangeNotice) => void, onReconnect?: () => void): Promise<() => Promise<void>> {
    let stopped = false;
    let current: pg.PoolClient | null = null;
    let timer: NodeJS.Timeout | undefined;
    const connect = async (): Promise<void> => {
      const c = await this.pool.connect();
      current = c;
      const lost = (err?: Error) => {
        if (current !== c) return;
        current = null;
        c.release(err ?? new Error('connection ended'));
        if (!stopped) retry();
      };
      c.on('error', lost);
      c.on('end', () => lost());
      c.on('notification', (msg) => {
        if (msg.channel !== CHANGES_CHANNEL || !msg.payload) return;
        try {
          listener(JSON.parse(msg.payload) as ChangeNotice);
        } catch {
          // A payload that is not ours: ignore it.
        }
      });
      try {
        await c.query(`LISTEN ${CHANGES_CHANNEL}`);
      } catch (err) {
        lost(err as Error);
        throw err;
      }
    };
    const retry = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (stopped || current) return;
        connect().then(
          () => onReconnect?.(),
          () => undefined, // lost() already scheduled the next try
        );
      }, 1000);
    };
    await connect();
    return async () => {
      stopped = true;
      clearTimeout(timer);
      const c = current;
      current = null;
      if (!c) return;
      try {
        await c.query(`UNLISTEN ${CHANGES_CHANNEL}`);
        c.release();
      } catch (err) {
        c.release(err as Error);
      }
    };
  }

  /** Run `fn` in one transaction holding the write lock; announce `notice` on commit. */
  private async write<T>(notice: ChangeNotice, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
      const result = await fn(c);
      await c.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify(notice)]);
      return result;
    });
  }

  // ---------------------------------------------------------------- annotations

  async create(input: NewAnnotation, doc: DocText, by: string = IMPLICIT_OWNER): Promise<Annotation> {
    if (typeof input !== 'object' || input === null) throw bad('bad_input', 'Missing annotation (缺少标注)');
    const docId = validateDocId(input.docId);
    const range = validateRange(doc.text, input.start, input.end, input.exact);
    const note = input.note === undefined ? '' : validateNote(input.note);
    const colour = input.colour === undefined ? DEFAULT_COLOUR : validateColour(input.colour);
    const tags = validateTags(input.tags ?? []);
    const id = randomUUID();
    const now = isoNow();
    await this.write({ what: 'annotations', docId }, async (c) => {
      await this.touchDocument(c, docId, doc.hash, now);
      await c.query(
        `INSERT INTO annotations (id, doc_id, start, "end", exact, prefix, suffix, note, colour,
           created_at, updated_at, text_hash, status, anchor_method, created_by, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, 'anchored', 'created', $12, $12)`,
        [id, docId, range.start, range.end, range.exact, range.prefix, range.suffix, note, colour, now, doc.hash, by],
      );
      await this.setTags(c, id, tags);
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
    if (typeof patch !== 'object' || patch === null) throw bad('bad_input', 'Missing changes (缺少修改内容)');
    const note = patch.note === undefined ? undefined : validateNote(patch.note);
    const colour = patch.colour === undefined ? undefined : validateColour(patch.colour);
    const tags = patch.tags === undefined ? undefined : validateTags(patch.tags);
    const rangeChange = patch.start !== undefined || patch.end !== undefined || patch.exact !== undefined;
    let range: ReturnType<typeof validateRange> | undefined;
    if (rangeChange) {
      if (!doc) throw new Error('PgAnnotationStore.update: changing the range needs the document text');
      range = validateRange(doc.text, patch.start ?? current.start, patch.end ?? current.end, patch.exact);
    }
    if (note === undefined && colour === undefined && tags === undefined && range === undefined) return current;
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
        await this.touchDocument(c, current.docId, doc.hash, now);
        await c.query(
          `UPDATE annotations SET start = $2, "end" = $3, exact = $4, prefix = $5, suffix = $6,
             text_hash = $7, status = 'anchored', anchor_method = 'created' WHERE id = $1`,
          [id, range.start, range.end, range.exact, range.prefix, range.suffix, doc.hash],
        );
      }
      if (tags) await this.setTags(c, id, tags);
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
      await this.touchDocument(c, first.docId, doc.hash, now);
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
      await this.setTags(c, id, tags);
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
    const where: string[] = [];
    const params: unknown[] = [];
    let tagKey: string | undefined;
    if (filter.tag !== undefined) tagKey = normalizeTagName(filter.tag, { existing: true }).key;
    let q = '';
    if (filter.q !== undefined) {
      if (typeof filter.q !== 'string' || filter.q.length > MAX_QUERY_LENGTH) {
        throw bad('bad_query', `The search text must be at most ${MAX_QUERY_LENGTH} characters (搜索文本过长)`);
      }
      q = foldText(filter.q.trim());
    }
    if (tagKey !== undefined) {
      params.push(tagKey);
      where.push(`a.id IN (SELECT at.annotation_id FROM annotation_tags at JOIN tags t ON t.id = at.tag_id WHERE ${SUBTREE_SQL})`);
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
    const sql = `SELECT a.* FROM annotations a ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY a.doc_id COLLATE "C", a.start, a.created_at COLLATE "C", a.id COLLATE "C"`;
    let rows = (await this.pool.query<AnnotationRow>(sql, params)).rows;
    // Folded substring match in Node: the very foldText the embedded store uses
    // (NFKC + toLowerCase), whatever the database's locale.
    if (q !== '') rows = rows.filter((r) => foldText(r.exact).includes(q) || foldText(r.note).includes(q));
    return this.withTags(this.pool, rows);
  }

  /** Rows → annotations, fetching all their tags in one query. */
  private async withTags(q: Q, rows: AnnotationRow[]): Promise<Annotation[]> {
    if (rows.length === 0) return [];
    const links = await q.query<{ aid: string; name: string }>(
      `SELECT at.annotation_id AS aid, t.name AS name FROM annotation_tags at JOIN tags t ON t.id = at.tag_id
       WHERE at.annotation_id = ANY($1::text[]) ORDER BY t.name_key COLLATE "C"`,
      [rows.map((r) => r.id)],
    );
    return annotationsFromRows(rows, links.rows);
  }

  private async setTags(c: pg.PoolClient, annotationId: string, tags: ParsedTag[]): Promise<void> {
    await c.query('DELETE FROM annotation_tags WHERE annotation_id = $1', [annotationId]);
    for (const t of tags) {
      const tagId = await this.ensureTag(c, t.segments);
      await c.query('INSERT INTO annotation_tags (annotation_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [annotationId, tagId]);
    }
  }

  private async touchDocument(c: pg.PoolClient, docId: string, hash: string, now: string): Promise<void> {
    await c.query(
      `INSERT INTO documents (id, text_hash, seen_at) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET text_hash = excluded.text_hash, seen_at = excluded.seen_at, removed_at = NULL`,
      [docId, hash, now],
    );
  }

  async restore(backup: {
    annotations: readonly RestorableAnnotation[];
    tags: readonly RestorableTag[];
  }): Promise<{ added: number; skipped: number }> {
    const tags = backup.tags.map((t) => ({
      ...normalizeTagName(t.name),
      colour: t.colour === null ? null : validateColour(t.colour, 'tag colour'),
      description: validateDescription(t.description),
    }));
    const annotations = backup.annotations.map((a) => {
      if (!(Number.isInteger(a.start) && Number.isInteger(a.end) && a.start >= 0 && a.end > a.start && a.exact !== '')) {
        throw bad('bad_range', `Annotation ${a.id}: start/end must be whole numbers with 0 ≤ start < end and a quote (范围无效)`);
      }
      return {
        ...a,
        docId: validateDocId(a.docId),
        note: validateNote(a.note),
        colour: validateColour(a.colour),
        tagNames: validateTags(a.tags),
      };
    });
    let added = 0;
    let skipped = 0;
    await this.write({ what: 'annotations' }, async (c) => {
      for (const t of tags) {
        const id = await this.ensureTag(c, t.segments);
        await c.query('UPDATE tags SET colour = $1, description = $2 WHERE id = $3', [t.colour, t.description, id]);
      }
      for (const a of annotations) {
        if ((await c.query('SELECT 1 FROM annotations WHERE id = $1', [a.id])).rowCount) {
          skipped++;
          continue;
        }
        if (!(await c.query('SELECT 1 FROM documents WHERE id = $1', [a.docId])).rowCount) {
          await this.touchDocument(c, a.docId, a.textHash, isoNow());
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
            a.createdBy ?? IMPLICIT_OWNER,
            a.updatedBy ?? a.createdBy ?? IMPLICIT_OWNER,
            JSON.stringify(a.mergedFrom ?? []),
          ],
        );
        await this.setTags(c, a.id, a.tagNames);
        added++;
      }
    });
    return { added, skipped };
  }

  // ---------------------------------------------------------------- documents

  async knownDocuments(): Promise<KnownDocument[]> {
    const r = await this.pool.query<{ id: string; text_hash: string; seen_at: string; removed_at: string | null }>(
      'SELECT id, text_hash, seen_at, removed_at FROM documents ORDER BY id COLLATE "C"',
    );
    return r.rows.map((d) => ({ id: d.id, textHash: d.text_hash, seenAt: d.seen_at, removedAt: d.removed_at }));
  }

  async reanchorDocument(docId: string, newText: string, newHash: string): Promise<ReanchorCounts> {
    const counts: ReanchorCounts = { checked: 0, exact: 0, quote: 0, fuzzy: 0, orphaned: 0 };
    await this.write({ what: 'annotations', docId }, async (c) => {
      const rows = (
        await c.query<AnnotationRow>(`SELECT * FROM annotations WHERE doc_id = $1 AND (text_hash <> $2 OR status = 'orphaned')`, [
          docId,
          newHash,
        ])
      ).rows;
      for (const row of rows) {
        counts.checked++;
        const r = reanchor(newText, row);
        counts[r.method]++;
        if (r.status === 'anchored') {
          const quote = makeQuote(newText, r.start, r.end);
          await c.query(
            `UPDATE annotations SET start = $2, "end" = $3, exact = $4, prefix = $5, suffix = $6,
               text_hash = $7, status = 'anchored', anchor_method = $8 WHERE id = $1`,
            [row.id, r.start, r.end, quote.exact, quote.prefix, quote.suffix, newHash, r.method],
          );
        } else {
          await c.query(`UPDATE annotations SET status = 'orphaned', anchor_method = 'orphaned' WHERE id = $1`, [row.id]);
        }
      }
      if ((await c.query('SELECT 1 FROM documents WHERE id = $1', [docId])).rowCount) await this.touchDocument(c, docId, newHash, isoNow());
    });
    return counts;
  }

  async orphanDocument(docId: string): Promise<number> {
    return this.write({ what: 'documents', docId }, async (c) => {
      await c.query('UPDATE documents SET removed_at = $1 WHERE id = $2', [isoNow(), docId]);
      const r = await c.query(`UPDATE annotations SET status = 'orphaned', anchor_method = 'orphaned' WHERE doc_id = $1`, [docId]);
      return r.rowCount ?? 0;
    });
  }

  async deleteByDocument(docId: string): Promise<number> {
    return this.write(
      { what: 'annotations', docId },
      async (c) => (await c.query('DELETE FROM annotations WHERE doc_id = $1', [docId])).rowCount ?? 0,
    );
  }

  // ---------------------------------------------------------------- tags

  /** All tags, ordered by name (so children follow their parent), with usage counts (of what `viewer` may see, when given). */
  async listTags(viewer?: string): Promise<Tag[]> {
    const visible = viewer === undefined ? '' : `AND ${visibleSql('at.annotation_id', '$1')}`;
    const r = await this.pool.query<Tag>(
      `SELECT t.id, t.name, t.colour, t.description,
         (SELECT count(*) FROM annotation_tags at WHERE at.tag_id = t.id ${visible})::int AS count,
         (SELECT count(DISTINCT at.annotation_id) FROM annotation_tags at JOIN tags d ON d.id = at.tag_id
            WHERE (d.name_key = t.name_key OR left(d.name_key, length(t.name_key) + 1) = t.name_key || '/') ${visible})::int AS "totalCount"
       FROM tags t ORDER BY t.name_key COLLATE "C"`,
      viewer === undefined ? [] : [viewer],
    );
    return r.rows;
  }

  async getTag(name: string): Promise<Tag> {
    const row = await this.mustFindTag(this.pool, name);
    const tag = (await this.listTags()).find((t) => t.id === row.id);
    if (!tag) throw notFound('tag', name);
    return tag;
  }

  async createTag(input: NewTag): Promise<Tag> {
    const n = normalizeTagName(input.name);
    const colour = input.colour === undefined || input.colour === null ? null : validateColour(input.colour);
    const description = input.description === undefined ? '' : validateDescription(input.description);
    await this.write({ what: 'tags' }, async (c) => {
      if (await this.findTag(c, n.key)) throw new UserInputError('tag_exists', `Tag "${n.name}" already exists (标签已存在)`, 409);
      const id = await this.ensureTag(c, n.segments);
      await c.query('UPDATE tags SET colour = $1, description = $2 WHERE id = $3', [colour, description, id]);
    });
    return this.getTag(n.name);
  }

  async updateTag(name: string, patch: TagPatch): Promise<Tag> {
    const source = await this.mustFindTag(this.pool, name);
    if (typeof patch !== 'object' || patch === null) throw bad('bad_input', 'Missing changes (缺少修改内容)');
    if (patch.mergeInto !== undefined) {
      if (patch.name !== undefined || patch.colour !== undefined || patch.description !== undefined) {
        throw bad('bad_input', 'Merge a tag or edit it, not both at once (合并与修改不能同时进行)');
      }
      const target = await this.mustFindTag(this.pool, patch.mergeInto);
      if (target.id === source.id) throw bad('bad_tag', 'A tag cannot be merged into itself (不能合并到自身)');
      if (target.name_key.startsWith(`${source.name_key}/`)) {
        throw bad('bad_tag', `Tag "${source.name}" cannot be merged into its own child "${target.name}" (不能合并到子标签)`);
      }
      await this.write({ what: 'tags' }, (c) => this.moveSubtree(c, source, target.name, target.name_key, true));
      return this.getTag(target.name);
    }

    const colour = patch.colour === undefined ? undefined : patch.colour === null ? null : validateColour(patch.colour);
    const description = patch.description === undefined ? undefined : validateDescription(patch.description);
    const renamed = patch.name === undefined ? undefined : normalizeTagName(patch.name);
    if (renamed?.key.startsWith(`${source.name_key}/`)) {
      throw bad('bad_tag', `Tag "${source.name}" cannot be renamed into its own subtree (不能重命名为自身的子标签)`);
    }
    await this.write({ what: 'tags' }, async (c) => {
      if (renamed && renamed.name !== source.name) {
        if (renamed.key !== source.name_key) {
          for (const k of await this.subtreeTargets(c, source, renamed.key)) {
            const t = await this.findTag(c, k);
            if (t !== undefined && !inSubtree(t.name_key, source.name_key)) {
              throw new UserInputError('tag_exists', `Tag "${t.name}" already exists; merge into it instead (标签已存在，请使用合并)`, 409);
            }
          }
        }
        let newName = renamed.name;
        if (renamed.segments.length > 1) {
          const parentId = await this.ensureTag(c, renamed.segments.slice(0, -1));
          const parent = (await c.query<{ name: string }>('SELECT name FROM tags WHERE id = $1', [parentId])).rows[0] as { name: string };
          newName = `${parent.name}/${renamed.segments.at(-1)}`;
        }
        await this.moveSubtree(c, source, newName, renamed.key, false);
      }
      if (colour !== undefined) await c.query('UPDATE tags SET colour = $1 WHERE id = $2', [colour, source.id]);
      if (description !== undefined) await c.query('UPDATE tags SET description = $1 WHERE id = $2', [description, source.id]);
    });
    return this.getTag(renamed ? renamed.key : source.name);
  }

  async deleteTag(name: string, options: { detach?: boolean } = {}): Promise<number> {
    const tag = await this.mustFindTag(this.pool, name);
    return this.write({ what: 'tags' }, async (c) => {
      const child = (
        await c.query<{ name: string }>(`SELECT name FROM tags WHERE left(name_key, length($1) + 1) = $1 || '/' LIMIT 1`, [tag.name_key])
      ).rows[0];
      if (child) {
        throw new UserInputError(
          'tag_has_children',
          `Tag "${tag.name}" has child tags such as "${child.name}"; delete or move them first (标签含有子标签)`,
          409,
        );
      }
      const used =
        (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM annotation_tags WHERE tag_id = $1', [tag.id])).rows[0]?.n ?? 0;
      if (used > 0 && !options.detach) {
        throw new UserInputError('tag_in_use', `Tag "${tag.name}" is used by ${used} annotation(s); detach it first (标签正在使用中)`, 409);
      }
      await c.query('DELETE FROM annotation_tags WHERE tag_id = $1', [tag.id]);
      await c.query('DELETE FROM tags WHERE id = $1', [tag.id]);
      return used;
    });
  }

  private async findTag(q: Q, key: string): Promise<TagRow | undefined> {
    return (await q.query<TagRow>('SELECT * FROM tags WHERE name_key = $1', [key])).rows[0];
  }

  private async mustFindTag(q: Q, name: string): Promise<TagRow> {
    const n = normalizeTagName(name, { existing: true });
    const row = await this.findTag(q, n.key);
    if (!row) throw notFound('tag', n.name);
    return row;
  }

  private async subtree(q: Q, root: TagRow): Promise<TagRow[]> {
    const rows = (await q.query<TagRow>(`SELECT * FROM tags t WHERE ${SUBTREE_SQL}`, [root.name_key])).rows;
    return rows.sort((a, b) => a.name_key.split('/').length - b.name_key.split('/').length);
  }

  private async subtreeTargets(q: Q, root: TagRow, newKey: string): Promise<string[]> {
    return (await this.subtree(q, root)).map((t) => newKey + t.name_key.slice(root.name_key.length));
  }

  /** As the embedded store: temporary unique keys first, then shallowest first merge or rename. */
  private async moveSubtree(c: pg.PoolClient, root: TagRow, newName: string, newKey: string, merge: boolean): Promise<void> {
    const tags = await this.subtree(c, root);
    const depth = root.name.split('/').length;
    const setKey = (name: string, key: string, id: number) =>
      c.query('UPDATE tags SET name = $1, name_key = $2 WHERE id = $3', [name, key, id]);
    // PostgreSQL text cannot hold U+0000, so the temporary key uses another character no tag has (control characters are refused).
    for (const t of tags) await setKey(t.name, `\u0001moving\u0001${t.id}`, t.id);
    for (const t of tags) {
      const rest = t.name.split('/').slice(depth);
      const name = [newName, ...rest].join('/');
      const key = newKey + t.name_key.slice(root.name_key.length);
      const existing = await this.findTag(c, key);
      if (existing) {
        if (!merge) throw new Error(`moveSubtree: ${key} exists`);
        await c.query(
          'INSERT INTO annotation_tags (annotation_id, tag_id) SELECT annotation_id, $1 FROM annotation_tags WHERE tag_id = $2 ON CONFLICT DO NOTHING',
          [existing.id, t.id],
        );
        await c.query('DELETE FROM annotation_tags WHERE tag_id = $1', [t.id]);
        await c.query('DELETE FROM tags WHERE id = $1', [t.id]);
      } else {
        await setKey(name, key, t.id);
      }
    }
  }

  private async ensureTag(c: pg.PoolClient, segments: string[]): Promise<number> {
    let parentName = '';
    let id = -1;
    for (let i = 0; i < segments.length; i++) {
      const name = i === 0 ? (segments[0] as string) : `${parentName}/${segments[i]}`;
      const key = foldText(name)
        .split('/')
        .map((s) => s.trim())
        .join('/');
      const row = await this.findTag(c, key);
      if (row) {
        id = row.id;
        parentName = row.name;
      } else {
        const r = await c.query<{ id: number }>(
          `INSERT INTO tags (name, name_key, colour, description, created_at) VALUES ($1, $2, NULL, '', $3) RETURNING id`,
          [name, key, isoNow()],
        );
        id = (r.rows[0] as { id: number }).id;
        parentName = name;
      }
    }
    return id;
  }
}

function inSubtree(key: string, rootKey: string): boolean {
  return key === rootKey || key.startsWith(`${rootKey}/`);
}
