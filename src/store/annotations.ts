/**
 * The annotation store: annotations (a coded stretch of a document, with tags
 * and a note), the tag vocabulary (a `/` hierarchy: `援藏/教育` is a child of
 * `援藏`) and re-anchoring when a document's text changes.
 *
 * Every write runs in one IMMEDIATE transaction (it takes the write lock up
 * front, so a second connection waits for `busy_timeout` instead of failing
 * with SQLITE_BUSY when it upgrades a read to a write). Input is validated
 * before anything is written: a {@link UserInputError} means nothing changed.
 * Annotations are never deleted except by {@link AnnotationStore.delete}: a
 * vanished passage or document orphans them, keeping their quote.
 */
import { randomUUID } from 'node:crypto';
import { UserInputError, notFound } from '../core/errors.js';
import { makeQuote, reanchor } from './anchor.js';
import { type Database, schemaVersion } from './db.js';
import { SCHEMA_VERSION } from './migrations.js';
import { IMPLICIT_OWNER } from './users.js';
import {
  DEFAULT_COLOUR,
  MAX_QUERY_LENGTH,
  type AnnotationRow,
  annotationsFromRows,
  bad,
  foldText,
  isoNow,
  normalizeTagName,
  planMerge,
  validateColour,
  validateDescription,
  validateDocId,
  validateNote,
  validateRange,
  validateTags,
} from './annotation-rules.js';
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
} from './annotation-types.js';

interface TagRow {
  id: number;
  name: string;
  name_key: string;
  colour: string | null;
  description: string;
}

/** SQL condition: tag `t` is the tag with key `@tagKey` or one of its descendants. */
const SUBTREE_SQL = `(t.name_key = @tagKey OR substr(t.name_key, 1, length(@tagKey) + 1) = @tagKey || '/')`;

/**
 * SQL condition: the annotation with id `<aid>` is visible to `@viewer`. Hidden
 * are other coders' annotations in the papers of an open round in which the
 * viewer is a coder (blind coding); everyone else, the owner included, sees all.
 */
const visibleSql = (aid: string) => `NOT EXISTS (
  SELECT 1 FROM annotations hx
    JOIN round_documents rd ON rd.doc_id = hx.doc_id
    JOIN rounds r ON r.id = rd.round_id AND r.status = 'open'
    JOIN round_coders rc ON rc.round_id = r.id AND rc.coder = @viewer
  WHERE hx.id = ${aid} AND hx.created_by <> @viewer)`;

/** Annotations, tags and re-anchoring over one better-sqlite3 connection (see `openDatabase`). */
export class AnnotationStore {
  readonly db: Database;

  /** @throws Error when the database is not at the latest schema (open it with `openDatabase`). */
  constructor(db: Database) {
    const version = schemaVersion(db);
    if (version !== SCHEMA_VERSION) {
      throw new Error(
        `AnnotationStore needs schema version ${SCHEMA_VERSION}, the database has schema version ${version}; open it with openDatabase()`,
      );
    }
    this.db = db;
    // SQLite's lower() folds ASCII only; search must fold Ａ/ä/Σ too.
    db.function('duikou_fold', { deterministic: true }, (s: unknown) => (typeof s === 'string' ? foldText(s) : s));
  }

  /** Run `fn` in an IMMEDIATE transaction (all or nothing). */
  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  // ---------------------------------------------------------------- annotations

  /**
   * Store a new annotation on `doc` (the document's current canonical text).
   * Unknown tags are created, with their missing ancestors.
   * @throws UserInputError bad_range | quote_mismatch (409) | bad_tag | bad_note | bad_colour | bad_doc_id
   */
  create(input: NewAnnotation, doc: DocText, by: string = IMPLICIT_OWNER): Annotation {
    if (typeof input !== 'object' || input === null) throw bad('bad_input', 'Missing annotation (缺少标注)');
    const docId = validateDocId(input.docId);
    const range = validateRange(doc.text, input.start, input.end, input.exact);
    const note = input.note === undefined ? '' : validateNote(input.note);
    const colour = input.colour === undefined ? DEFAULT_COLOUR : validateColour(input.colour);
    const tags = validateTags(input.tags ?? []);
    const id = randomUUID();
    const now = isoNow();
    this.write(() => {
      this.touchDocument(docId, doc.hash, now);
      this.db
        .prepare(
          `INSERT INTO annotations (id, doc_id, start, "end", exact, prefix, suffix, note, colour,
             created_at, updated_at, text_hash, status, anchor_method, created_by, updated_by)
           VALUES (@id, @docId, @start, @end, @exact, @prefix, @suffix, @note, @colour,
             @now, @now, @hash, 'anchored', 'created', @by, @by)`,
        )
        .run({ id, docId, ...range, note, colour, now, hash: doc.hash, by });
      this.setTags(id, tags);
    });
    return this.mustGet(id);
  }

  /** The annotation with this id, or null (also when it is hidden from `viewer` by a blind round). */
  get(id: string, viewer?: string): Annotation | null {
    const row = (
      viewer === undefined
        ? this.db.prepare('SELECT * FROM annotations WHERE id = ?').get(id)
        : this.db.prepare(`SELECT * FROM annotations a WHERE a.id = @id AND ${visibleSql('a.id')}`).get({ id, viewer })
    ) as AnnotationRow | undefined;
    return row ? (this.withTags([row])[0] ?? null) : null;
  }

  private mustGet(id: string): Annotation {
    const a = this.get(id);
    if (!a) throw notFound('annotation', id);
    return a;
  }

  /**
   * Change an annotation. A new range (any of start/end/exact) needs `doc`, is
   * validated like {@link create}, re-quoted, and re-anchors an orphan.
   * `updatedAt` moves forward.
   * @throws UserInputError not_found (404) and the validation errors of {@link create}
   */
  update(id: string, patch: AnnotationPatch, doc?: DocText, by: string = IMPLICIT_OWNER): Annotation {
    const current = this.mustGet(id);
    if (typeof patch !== 'object' || patch === null) throw bad('bad_input', 'Missing changes (缺少修改内容)');
    const note = patch.note === undefined ? undefined : validateNote(patch.note);
    const colour = patch.colour === undefined ? undefined : validateColour(patch.colour);
    const tags = patch.tags === undefined ? undefined : validateTags(patch.tags);
    const rangeChange = patch.start !== undefined || patch.end !== undefined || patch.exact !== undefined;
    let range: ReturnType<typeof validateRange> | undefined;
    if (rangeChange) {
      if (!doc) throw new Error('AnnotationStore.update: changing the range needs the document text');
      range = validateRange(doc.text, patch.start ?? current.start, patch.end ?? current.end, patch.exact);
    }
    if (note === undefined && colour === undefined && tags === undefined && range === undefined) return current;
    this.write(() => {
      const now = isoNow(current.updatedAt);
      this.db
        .prepare('UPDATE annotations SET note = @note, colour = @colour, updated_at = @now, updated_by = @by WHERE id = @id')
        .run({ id, note: note ?? current.note, colour: colour ?? current.colour, now, by });
      if (range && doc) {
        this.touchDocument(current.docId, doc.hash, now);
        this.db
          .prepare(
            `UPDATE annotations SET start = @start, "end" = @end, exact = @exact, prefix = @prefix, suffix = @suffix,
               text_hash = @hash, status = 'anchored', anchor_method = 'created' WHERE id = @id`,
          )
          .run({ id, ...range, hash: doc.hash });
      }
      if (tags) this.setTags(id, tags);
    });
    return this.mustGet(id);
  }

  /**
   * The group's version after discussion: one new annotation, by `by`, over the
   * union of the given annotations' ranges (one annotation: accept it as it is;
   * two or more: they must overlap or touch, in one paper), with the union of
   * their tags and their notes, recording in `mergedFrom` who made what. The
   * coders' own annotations stay, so the round's agreement can still be read.
   * @throws UserInputError not_found (404), bad_merge
   */
  merge(ids: readonly string[], doc: DocText, by: string): Annotation {
    const { first, end, note, tags, mergedFrom } = planMerge([...new Set(ids)].map((id) => this.mustGet(id)));
    return this.write(() => {
      const created = this.create({ docId: first.docId, start: first.start, end, note, colour: first.colour, tags }, doc, by);
      this.db.prepare('UPDATE annotations SET merged_from = ? WHERE id = ?').run(JSON.stringify(mergedFrom), created.id);
      return this.mustGet(created.id);
    });
  }

  /**
   * Delete an annotation (its tag links go with it; the tags stay).
   * @returns the deleted annotation, for an undo
   * @throws UserInputError not_found (404)
   */
  delete(id: string): Annotation {
    const current = this.mustGet(id);
    this.write(() => {
      this.db.prepare('DELETE FROM annotations WHERE id = ?').run(id);
    });
    return current;
  }

  /** Annotations matching `filter`, ordered by document, then start, then creation. */
  list(filter: AnnotationFilter = {}): Annotation[] {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    if (filter.docId !== undefined) {
      where.push('a.doc_id = @docId');
      params.docId = filter.docId;
    }
    if (filter.orphaned !== undefined) {
      where.push('a.status = @status');
      params.status = filter.orphaned ? 'orphaned' : 'anchored';
    }
    if (filter.tag !== undefined) {
      params.tagKey = normalizeTagName(filter.tag, { existing: true }).key;
      where.push(`a.id IN (SELECT at.annotation_id FROM annotation_tags at JOIN tags t ON t.id = at.tag_id
                           WHERE ${SUBTREE_SQL})`);
    }
    if (filter.viewer !== undefined) {
      where.push(visibleSql('a.id'));
      params.viewer = filter.viewer;
    }
    if (filter.q !== undefined) {
      if (typeof filter.q !== 'string' || filter.q.length > MAX_QUERY_LENGTH) {
        throw bad('bad_query', `The search text must be at most ${MAX_QUERY_LENGTH} characters (搜索文本过长)`);
      }
      const q = foldText(filter.q.trim());
      if (q !== '') {
        // instr on folded text: no LIKE wildcards (% _) to escape, and non-ASCII case folding.
        where.push('(instr(duikou_fold(a.exact), @q) > 0 OR instr(duikou_fold(a.note), @q) > 0)');
        params.q = q;
      }
    }
    const sql = `SELECT a.* FROM annotations a ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
                 ORDER BY a.doc_id, a.start, a.created_at, a.id`;
    return this.withTags(this.db.prepare(sql).all(params) as AnnotationRow[]);
  }

  /** Rows → annotations, fetching all their tags in one query. */
  private withTags(rows: AnnotationRow[]): Annotation[] {
    if (rows.length === 0) return [];
    const links = this.db
      .prepare(
        `SELECT at.annotation_id AS aid, t.name AS name FROM annotation_tags at JOIN tags t ON t.id = at.tag_id
         WHERE at.annotation_id IN (SELECT value FROM json_each(?)) ORDER BY t.name_key`,
      )
      .all(JSON.stringify(rows.map((r) => r.id))) as { aid: string; name: string }[];
    return annotationsFromRows(rows, links);
  }

  /** Replace an annotation's tags (inside a transaction). */
  private setTags(annotationId: string, tags: { name: string; key: string; segments: string[] }[]): void {
    this.db.prepare('DELETE FROM annotation_tags WHERE annotation_id = ?').run(annotationId);
    const link = this.db.prepare('INSERT OR IGNORE INTO annotation_tags (annotation_id, tag_id) VALUES (?, ?)');
    for (const t of tags) link.run(annotationId, this.ensureTag(t.segments));
  }

  private touchDocument(docId: string, hash: string, now: string): void {
    this.db
      .prepare(
        `INSERT INTO documents (id, text_hash, seen_at) VALUES (?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET text_hash = excluded.text_hash, seen_at = excluded.seen_at, removed_at = NULL`,
      )
      .run(docId, hash, now);
  }

  /**
   * Restore annotations and tag definitions from a backup, exactly as they
   * were (ids, offsets, quotes, timestamps, status). Annotations whose id is
   * already stored are left alone, so restoring the same backup twice adds
   * nothing. All or nothing: one bad entry and nothing is written.
   * @returns how many annotations were added and how many were already there
   */
  restore(backup: { annotations: readonly RestorableAnnotation[]; tags: readonly RestorableTag[] }): { added: number; skipped: number } {
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
    this.write(() => {
      for (const t of tags) {
        const id = this.ensureTag(t.segments);
        this.db.prepare('UPDATE tags SET colour = ?, description = ? WHERE id = ?').run(t.colour, t.description, id);
      }
      const exists = this.db.prepare('SELECT 1 FROM annotations WHERE id = ?');
      const knownDoc = this.db.prepare('SELECT 1 FROM documents WHERE id = ?');
      const insert = this.db.prepare(
        `INSERT INTO annotations (id, doc_id, start, "end", exact, prefix, suffix, note, colour,
           created_at, updated_at, text_hash, status, anchor_method, created_by, updated_by, merged_from)
         VALUES (@id, @docId, @start, @end, @exact, @prefix, @suffix, @note, @colour,
           @createdAt, @updatedAt, @textHash, @status, @anchorMethod, @createdBy, @updatedBy, @mergedFrom)`,
      );
      for (const a of annotations) {
        if (exists.get(a.id)) {
          skipped++;
          continue;
        }
        // The document row only records that duikou has seen the paper; the next
        // start re-anchors against the paper's current text if its hash differs.
        if (!knownDoc.get(a.docId)) this.touchDocument(a.docId, a.textHash, isoNow());
        insert.run({
          id: a.id,
          docId: a.docId,
          start: a.start,
          end: a.end,
          exact: a.exact,
          prefix: a.prefix,
          suffix: a.suffix,
          note: a.note,
          colour: a.colour,
          createdAt: a.createdAt,
          updatedAt: a.updatedAt,
          textHash: a.textHash,
          status: a.status,
          anchorMethod: a.anchorMethod,
          createdBy: a.createdBy ?? IMPLICIT_OWNER,
          updatedBy: a.updatedBy ?? a.createdBy ?? IMPLICIT_OWNER,
          mergedFrom: JSON.stringify(a.mergedFrom ?? []),
        });
        this.setTags(a.id, a.tagNames);
        added++;
      }
    });
    return { added, skipped };
  }

  // ---------------------------------------------------------------- documents

  /** Documents the store has seen (to find those whose text changed since). */
  knownDocuments(): KnownDocument[] {
    return (
      this.db.prepare('SELECT id, text_hash, seen_at, removed_at FROM documents ORDER BY id').all() as {
        id: string;
        text_hash: string;
        seen_at: string;
        removed_at: string | null;
      }[]
    ).map((d) => ({ id: d.id, textHash: d.text_hash, seenAt: d.seen_at, removedAt: d.removed_at }));
  }

  /**
   * The document's text changed (or came back): re-anchor every annotation not
   * yet on `newHash`, and retry every orphan, in one transaction. Anchored
   * annotations get the new range, quote and context; the ones that cannot be
   * found are orphaned with their old range and quote kept.
   * @param text - the document's text now, or what reads it (read only when an annotation needs it)
   */
  reanchorDocument(docId: string, text: string | (() => string), newHash: string): ReanchorCounts {
    const counts: ReanchorCounts = { checked: 0, exact: 0, quote: 0, fuzzy: 0, orphaned: 0 };
    this.write(() => {
      const rows = this.db
        .prepare(`SELECT * FROM annotations WHERE doc_id = ? AND (text_hash <> ? OR status = 'orphaned')`)
        .all(docId, newHash) as AnnotationRow[];
      const anchored = this.db.prepare(
        `UPDATE annotations SET start = @start, "end" = @end, exact = @exact, prefix = @prefix, suffix = @suffix,
           text_hash = @hash, status = 'anchored', anchor_method = @method WHERE id = @id`,
      );
      const orphaned = this.db.prepare(`UPDATE annotations SET status = 'orphaned', anchor_method = 'orphaned' WHERE id = ?`);
      // The text only when an annotation needs it: a paper's text may be read from the index on demand.
      const newText = rows.length === 0 ? '' : typeof text === 'string' ? text : text();
      for (const row of rows) {
        counts.checked++;
        const r = reanchor(newText, row);
        counts[r.method]++;
        if (r.status === 'anchored') {
          anchored.run({ id: row.id, start: r.start, end: r.end, ...makeQuote(newText, r.start, r.end), hash: newHash, method: r.method });
        } else {
          orphaned.run(row.id);
        }
      }
      const known = this.db.prepare('SELECT 1 FROM documents WHERE id = ?').get(docId);
      if (known) this.touchDocument(docId, newHash, isoNow());
    });
    return counts;
  }

  /**
   * The document is gone from the corpus: orphan all its annotations (kept,
   * with their quotes, to be re-anchored if it comes back).
   * @returns how many annotations were orphaned
   */
  orphanDocument(docId: string): number {
    return this.write(() => {
      this.db.prepare('UPDATE documents SET removed_at = ? WHERE id = ?').run(isoNow(), docId);
      return this.db.prepare(`UPDATE annotations SET status = 'orphaned', anchor_method = 'orphaned' WHERE doc_id = ?`).run(docId).changes;
    });
  }

  // ---------------------------------------------------------------- tags

  /** All tags, ordered by name (so children follow their parent), with usage counts (of what `viewer` may see, when given). */
  listTags(viewer?: string): Tag[] {
    const visible = viewer === undefined ? '' : `AND ${visibleSql('at.annotation_id')}`;
    return this.db
      .prepare(
        `SELECT t.id, t.name, t.colour, t.description,
           (SELECT count(*) FROM annotation_tags at WHERE at.tag_id = t.id ${visible}) AS count,
           (SELECT count(DISTINCT at.annotation_id) FROM annotation_tags at JOIN tags d ON d.id = at.tag_id
              WHERE (d.name_key = t.name_key OR substr(d.name_key, 1, length(t.name_key) + 1) = t.name_key || '/') ${visible}) AS totalCount
         FROM tags t ORDER BY t.name_key`,
      )
      .all(viewer === undefined ? {} : { viewer }) as Tag[];
  }

  /**
   * One tag with its counts.
   * @throws UserInputError not_found (404)
   */
  getTag(name: string): Tag {
    const row = this.mustFindTag(name);
    const tag = this.listTags().find((t) => t.id === row.id);
    if (!tag) throw notFound('tag', name);
    return tag;
  }

  /**
   * Create a tag (and its missing ancestors).
   * @throws UserInputError tag_exists (409) when a tag of that name exists ignoring case
   */
  createTag(input: NewTag): Tag {
    const n = normalizeTagName(input.name);
    const colour = input.colour === undefined || input.colour === null ? null : validateColour(input.colour);
    const description = input.description === undefined ? '' : validateDescription(input.description);
    this.write(() => {
      if (this.findTag(n.key)) throw new UserInputError('tag_exists', `Tag "${n.name}" already exists (标签已存在)`, 409);
      const id = this.ensureTag(n.segments);
      this.db.prepare('UPDATE tags SET colour = ?, description = ? WHERE id = ?').run(colour, description, id);
    });
    return this.getTag(n.name);
  }

  /**
   * Rename, recolour, describe or merge a tag. Rename and merge move the whole
   * subtree (`援藏/教育` follows `援藏`) and keep every annotation; merging
   * into a tag that already has a same-named child merges those children too.
   * @returns the tag afterwards (the target, for a merge)
   * @throws UserInputError not_found (404), tag_exists (409: rename onto an existing tag — merge instead), bad_tag
   */
  updateTag(name: string, patch: TagPatch): Tag {
    const source = this.mustFindTag(name);
    if (typeof patch !== 'object' || patch === null) throw bad('bad_input', 'Missing changes (缺少修改内容)');
    if (patch.mergeInto !== undefined) {
      if (patch.name !== undefined || patch.colour !== undefined || patch.description !== undefined) {
        throw bad('bad_input', 'Merge a tag or edit it, not both at once (合并与修改不能同时进行)');
      }
      const target = this.mustFindTag(patch.mergeInto);
      if (target.id === source.id) throw bad('bad_tag', 'A tag cannot be merged into itself (不能合并到自身)');
      if (target.name_key.startsWith(`${source.name_key}/`)) {
        throw bad('bad_tag', `Tag "${source.name}" cannot be merged into its own child "${target.name}" (不能合并到子标签)`);
      }
      this.write(() => this.moveSubtree(source, target.name, target.name_key, true));
      return this.getTag(target.name);
    }

    const colour = patch.colour === undefined ? undefined : patch.colour === null ? null : validateColour(patch.colour);
    const description = patch.description === undefined ? undefined : validateDescription(patch.description);
    const renamed = patch.name === undefined ? undefined : normalizeTagName(patch.name);
    if (renamed?.key.startsWith(`${source.name_key}/`)) {
      throw bad('bad_tag', `Tag "${source.name}" cannot be renamed into its own subtree (不能重命名为自身的子标签)`);
    }
    this.write(() => {
      if (renamed && renamed.name !== source.name) {
        if (renamed.key !== source.name_key) {
          const clash = this.subtreeTargets(source, renamed.key).find((k) => {
            const t = this.findTag(k);
            return t !== undefined && !this.inSubtree(t.name_key, source.name_key);
          });
          if (clash !== undefined) {
            throw new UserInputError(
              'tag_exists',
              `Tag "${this.findTag(clash)?.name ?? clash}" already exists; merge into it instead (标签已存在，请使用合并)`,
              409,
            );
          }
        }
        let newName = renamed.name;
        if (renamed.segments.length > 1) {
          // Create the new parent if needed, and spell the renamed tag the way its parent is spelled.
          const parentId = this.ensureTag(renamed.segments.slice(0, -1));
          const parent = this.db.prepare('SELECT name FROM tags WHERE id = ?').get(parentId) as { name: string };
          newName = `${parent.name}/${renamed.segments.at(-1)}`;
        }
        this.moveSubtree(source, newName, renamed.key, false);
      }
      if (colour !== undefined) this.db.prepare('UPDATE tags SET colour = ? WHERE id = ?').run(colour, source.id);
      if (description !== undefined) this.db.prepare('UPDATE tags SET description = ? WHERE id = ?').run(description, source.id);
    });
    return this.getTag(renamed ? renamed.key : source.name);
  }

  /**
   * Delete a tag. Refused while annotations carry it unless `detach` (which
   * removes the tag from them; the annotations stay), and while it has child tags.
   * @returns how many annotations lost the tag
   * @throws UserInputError not_found (404), tag_in_use (409), tag_has_children (409)
   */
  deleteTag(name: string, options: { detach?: boolean } = {}): number {
    const tag = this.mustFindTag(name);
    return this.write(() => {
      const child = this.db
        .prepare("SELECT name FROM tags WHERE substr(name_key, 1, length(@k) + 1) = @k || '/' LIMIT 1")
        .get({ k: tag.name_key }) as { name: string } | undefined;
      if (child) {
        throw new UserInputError(
          'tag_has_children',
          `Tag "${tag.name}" has child tags such as "${child.name}"; delete or move them first (标签含有子标签)`,
          409,
        );
      }
      const used = (this.db.prepare('SELECT count(*) AS n FROM annotation_tags WHERE tag_id = ?').get(tag.id) as { n: number }).n;
      if (used > 0 && !options.detach) {
        throw new UserInputError('tag_in_use', `Tag "${tag.name}" is used by ${used} annotation(s); detach it first (标签正在使用中)`, 409);
      }
      this.db.prepare('DELETE FROM annotation_tags WHERE tag_id = ?').run(tag.id);
      this.db.prepare('DELETE FROM tags WHERE id = ?').run(tag.id);
      return used;
    });
  }

  private findTag(key: string): TagRow | undefined {
    return this.db.prepare('SELECT * FROM tags WHERE name_key = ?').get(key) as TagRow | undefined;
  }

  private mustFindTag(name: string): TagRow {
    const n = normalizeTagName(name, { existing: true });
    const row = this.findTag(n.key);
    if (!row) throw notFound('tag', n.name);
    return row;
  }

  private inSubtree(key: string, rootKey: string): boolean {
    return key === rootKey || key.startsWith(`${rootKey}/`);
  }

  private subtree(root: TagRow): TagRow[] {
    return (this.db.prepare(`SELECT * FROM tags t WHERE ${SUBTREE_SQL}`).all({ tagKey: root.name_key }) as TagRow[]).sort(
      (a, b) => a.name_key.split('/').length - b.name_key.split('/').length,
    );
  }

  /** New keys of `root`'s subtree if `root` became `newKey`. */
  private subtreeTargets(root: TagRow, newKey: string): string[] {
    return this.subtree(root).map((t) => newKey + t.name_key.slice(root.name_key.length));
  }

  /**
   * Move `root` and its descendants under the name `newName` (inside a
   * transaction). First every moved tag gets a temporary unique key (the
   * UNIQUE index is checked row by row), then, shallowest first, each one
   * either merges into the existing tag of its new key (`merge`) or takes the
   * new name and key.
   */
  private moveSubtree(root: TagRow, newName: string, newKey: string, merge: boolean): void {
    const tags = this.subtree(root);
    const depth = root.name.split('/').length;
    const setKey = this.db.prepare('UPDATE tags SET name = ?, name_key = ? WHERE id = ?');
    for (const t of tags) setKey.run(t.name, `\u0000moving\u0000${t.id}`, t.id);
    for (const t of tags) {
      const rest = t.name.split('/').slice(depth);
      const name = [newName, ...rest].join('/');
      const key = newKey + t.name_key.slice(root.name_key.length);
      const existing = this.findTag(key);
      if (existing) {
        if (!merge) throw new Error(`moveSubtree: ${key} exists`); // checked before; a bug if reached
        this.db
          .prepare(
            'INSERT OR IGNORE INTO annotation_tags (annotation_id, tag_id) SELECT annotation_id, ? FROM annotation_tags WHERE tag_id = ?',
          )
          .run(existing.id, t.id);
        this.db.prepare('DELETE FROM annotation_tags WHERE tag_id = ?').run(t.id);
        this.db.prepare('DELETE FROM tags WHERE id = ?').run(t.id);
      } else {
        setKey.run(name, key, t.id);
      }
    }
  }

  /**
   * The id of the tag with these segments, creating it and any missing
   * ancestor (inside a transaction). A new child is spelled with its existing
   * parent's spelling, so renames can rewrite prefixes level by level.
   */
  private ensureTag(segments: string[]): number {
    let parentName = '';
    let id = -1;
    for (let i = 0; i < segments.length; i++) {
      const name = i === 0 ? (segments[0] as string) : `${parentName}/${segments[i]}`;
      const key = foldText(name)
        .split('/')
        .map((s) => s.trim())
        .join('/');
      const row = this.findTag(key);
      if (row) {
        id = row.id;
        parentName = row.name;
      } else {
        id = Number(
          this.db
            .prepare("INSERT INTO tags (name, name_key, colour, description, created_at) VALUES (?, ?, NULL, '', ?)")
            .run(name, key, isoNow()).lastInsertRowid,
        );
        parentName = name;
      }
    }
    return id;
  }

  /**
   * Delete every annotation of a document (the researcher confirmed it when
   * removing the paper from the corpus). Tags stay.
   * @returns how many annotations were deleted
   */
  deleteByDocument(docId: string): number {
    return this.write(() => this.db.prepare('DELETE FROM annotations WHERE doc_id = ?').run(docId).changes);
  }
}
