/**
 * The annotation store: annotations (a coded stretch of a document, with tags
 * and a note), the tag vocabulary (a `/` hierarchy: `援藏/教育` is a child of
 * `援藏`) and re-anchoring when a document's text changes. This module holds
 * the annotations themselves; the tags' SQL is in tag-vocabulary.ts, the
 * documents' in document-anchoring.ts, and the rules and row mapping shared
 * with the PostgreSQL store in annotation-rules.ts, tag-rules.ts and
 * annotation-rows.ts.
 *
 * Every write runs in one IMMEDIATE transaction (see `writeImmediately`).
 * Input is validated before anything is written: a {@link UserInputError}
 * means nothing changed. Annotations are never deleted except by
 * {@link AnnotationStore.delete}: a vanished passage or document orphans
 * them, keeping their quote.
 */
import { randomUUID } from 'node:crypto';
import { notFound } from '../core/errors.js';
import { type Database, schemaVersion, writeImmediately } from './db.js';
import { SCHEMA_VERSION } from './migrations.js';
import { IMPLICIT_OWNER } from './users.js';
import {
  foldText,
  isoNow,
  normalizeTagName,
  parseAnnotationPatch,
  parseBackup,
  parseListQuery,
  parseNewAnnotation,
  planMerge,
} from './annotation-rules.js';
import {
  type AnnotationKeyRow,
  type AnnotationRow,
  KEY_COLUMNS,
  annotationsFromRows,
  keysFromRows,
  visibleSql,
} from './annotation-rows.js';
import type {
  Annotation,
  AnnotationKey,
  AnnotationFilter,
  AnnotationPatch,
  DocText,
  KnownDocument,
  ListPage,
  NewAnnotation,
  NewTag,
  ReanchorCounts,
  RestorableAnnotation,
  RestorableTag,
  Tag,
  TagPatch,
} from './annotation-types.js';
import * as documents from './document-anchoring.js';
import * as vocabulary from './tag-vocabulary.js';

/** The order of every list of annotations: by document, then start, then creation (the id settles ties). */
const LIST_ORDER = 'ORDER BY a.doc_id, a.start, a.created_at, a.id';

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

  // ---------------------------------------------------------------- annotations

  /**
   * Store a new annotation on `doc` (the document's current canonical text).
   * Unknown tags are created, with their missing ancestors.
   * @throws UserInputError bad_range | quote_mismatch (409) | bad_tag | bad_note | bad_colour | bad_doc_id
   */
  create(input: NewAnnotation, doc: DocText, by: string = IMPLICIT_OWNER): Annotation {
    const { docId, range, note, colour, tags } = parseNewAnnotation(input, doc);
    const id = randomUUID();
    const now = isoNow();
    writeImmediately(this.db, () => {
      documents.touchDocument(this.db, docId, doc.hash, now);
      this.db
        .prepare(
          `INSERT INTO annotations (id, doc_id, start, "end", exact, prefix, suffix, note, colour,
             created_at, updated_at, text_hash, status, anchor_method, created_by, updated_by)
           VALUES (@id, @docId, @start, @end, @exact, @prefix, @suffix, @note, @colour,
             @now, @now, @hash, 'anchored', 'created', @by, @by)`,
        )
        .run({ id, docId, ...range, note, colour, now, hash: doc.hash, by });
      vocabulary.setTags(this.db, id, tags);
    });
    return this.mustGet(id);
  }

  /** The annotation with this id, or null (also when it is hidden from `viewer` by a blind round). */
  get(id: string, viewer?: string): Annotation | null {
    const row = (
      viewer === undefined
        ? this.db.prepare('SELECT * FROM annotations WHERE id = ?').get(id)
        : this.db.prepare(`SELECT * FROM annotations a WHERE a.id = @id AND ${visibleSql('a.id', '@viewer')}`).get({ id, viewer })
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
    const change = parseAnnotationPatch(current, patch, doc, 'AnnotationStore');
    if (!change) return current;
    const { note, colour, tags, range } = change;
    writeImmediately(this.db, () => {
      const now = isoNow(current.updatedAt);
      this.db
        .prepare('UPDATE annotations SET note = @note, colour = @colour, updated_at = @now, updated_by = @by WHERE id = @id')
        .run({ id, note: note ?? current.note, colour: colour ?? current.colour, now, by });
      if (range && doc) {
        documents.touchDocument(this.db, current.docId, doc.hash, now);
        this.db
          .prepare(
            `UPDATE annotations SET start = @start, "end" = @end, exact = @exact, prefix = @prefix, suffix = @suffix,
               text_hash = @hash, status = 'anchored', anchor_method = 'created' WHERE id = @id`,
          )
          .run({ id, ...range, hash: doc.hash });
      }
      if (tags) vocabulary.setTags(this.db, id, tags);
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
    return writeImmediately(this.db, () => {
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
    writeImmediately(this.db, () => {
      this.db.prepare('DELETE FROM annotations WHERE id = ?').run(id);
    });
    return current;
  }

  /** Annotations matching `filter`, ordered by document, then start, then creation. */
  list(filter: AnnotationFilter = {}): Annotation[] {
    const { where, params } = this.whereOf(filter);
    return this.withTags(this.db.prepare(`SELECT a.* FROM annotations a ${where} ${LIST_ORDER}`).all(params) as AnnotationRow[]);
  }

  /** {@link list}'s annotations as {@link AnnotationKey}s: what ordering and counting read, without the quotes and notes. */
  listKeys(filter: AnnotationFilter = {}): AnnotationKey[] {
    const { where, params } = this.whereOf(filter);
    // From the index of the key columns alone (migration 6), which every filter but the text can be read
    // from: otherwise the planner fetches rows by id or status, and each row's late columns lie past its note.
    const from = filter.q === undefined || parseListQuery(filter.q) === '' ? 'annotations a INDEXED BY annotations_keys' : 'annotations a';
    const rows = this.db.prepare(`SELECT ${KEY_COLUMNS} FROM ${from} ${where} ${LIST_ORDER}`).all(params) as AnnotationKeyRow[];
    return keysFromRows(rows, this.tagLinks(rows));
  }

  /**
   * One page of {@link list}'s answer, and how many annotations match in all: only the page is read,
   * so a client paging through thousands of long notes never has them all read and sent at once.
   */
  listPage(filter: AnnotationFilter, page: ListPage): { total: number; annotations: Annotation[] } {
    const { where, params } = this.whereOf(filter);
    const total = (this.db.prepare(`SELECT count(*) AS n FROM annotations a ${where}`).get(params) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT a.* FROM annotations a ${where} ${LIST_ORDER} LIMIT @limit OFFSET @offset`)
      .all({ ...params, limit: page.limit, offset: page.offset }) as AnnotationRow[];
    return { total, annotations: this.withTags(rows) };
  }

  /** The WHERE clause (empty when nothing is filtered) and its parameters for `filter`. */
  private whereOf(filter: AnnotationFilter): { where: string; params: Record<string, unknown> } {
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
                           WHERE ${vocabulary.SUBTREE_SQL})`);
    }
    if (filter.viewer !== undefined) {
      where.push(visibleSql('a.id', '@viewer'));
      params.viewer = filter.viewer;
    }
    if (filter.ids !== undefined) {
      where.push('a.id IN (SELECT value FROM json_each(@ids))');
      params.ids = JSON.stringify(filter.ids);
    }
    const q = parseListQuery(filter.q);
    if (q !== '') {
      // instr on folded text: no LIKE wildcards (% _) to escape, and non-ASCII case folding.
      where.push('(instr(duikou_fold(a.exact), @q) > 0 OR instr(duikou_fold(a.note), @q) > 0)');
      params.q = q;
    }
    return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
  }

  /** Rows → annotations, fetching all their tags in one query. */
  private withTags(rows: AnnotationRow[]): Annotation[] {
    return rows.length === 0 ? [] : annotationsFromRows(rows, this.tagLinks(rows));
  }

  /** The tag links of the annotations `rows` name, in tag order, in one query. */
  private tagLinks(rows: readonly { id: string }[]): { aid: string; name: string }[] {
    if (rows.length === 0) return [];
    return this.db
      .prepare(
        `SELECT at.annotation_id AS aid, t.name AS name FROM annotation_tags at JOIN tags t ON t.id = at.tag_id
         WHERE at.annotation_id IN (SELECT value FROM json_each(?)) ORDER BY t.name_key`,
      )
      .all(JSON.stringify(rows.map((r) => r.id))) as { aid: string; name: string }[];
  }

  /**
   * Restore annotations and tag definitions from a backup, exactly as they
   * were (ids, offsets, quotes, timestamps, status). Annotations whose id is
   * already stored are left alone, so restoring the same backup twice adds
   * nothing. All or nothing: one bad entry and nothing is written.
   * @returns how many annotations were added and how many were already there
   */
  restore(backup: { annotations: readonly RestorableAnnotation[]; tags: readonly RestorableTag[] }): { added: number; skipped: number } {
    const { tags, annotations } = parseBackup(backup);
    let added = 0;
    let skipped = 0;
    writeImmediately(this.db, () => {
      for (const t of tags) {
        const id = vocabulary.ensureTag(this.db, t.segments);
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
        if (!knownDoc.get(a.docId)) documents.touchDocument(this.db, a.docId, a.textHash, isoNow());
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
          createdBy: a.createdBy,
          updatedBy: a.updatedBy,
          mergedFrom: JSON.stringify(a.mergedFrom),
        });
        vocabulary.setTags(this.db, a.id, a.tagNames);
        added++;
      }
    });
    return { added, skipped };
  }

  // ---------------------------------------------------------------- documents (document-anchoring.ts)

  /** Documents the store has seen (to find those whose text changed since). */
  knownDocuments(): KnownDocument[] {
    return documents.knownDocuments(this.db);
  }

  /**
   * The document's text changed (or came back): re-anchor every annotation not
   * yet on `newHash`, and retry every orphan (see document-anchoring.ts).
   * Anchored annotations get the new range, quote and context; the ones that
   * cannot be found are orphaned with their old range and quote kept.
   * @param text - the document's text now, or what reads it (read only when an annotation needs it)
   */
  reanchorDocument(docId: string, text: string | (() => string), newHash: string): Promise<ReanchorCounts> {
    return documents.reanchorDocument(this.db, docId, text, newHash);
  }

  /**
   * The document is gone from the corpus: orphan all its annotations (kept,
   * with their quotes, to be re-anchored if it comes back).
   * @returns how many annotations were orphaned
   */
  orphanDocument(docId: string): number {
    return documents.orphanDocument(this.db, docId);
  }

  /**
   * Delete every annotation of a document (the researcher confirmed it when
   * removing the paper from the corpus). Tags stay.
   * @returns how many annotations were deleted
   */
  deleteByDocument(docId: string): number {
    return documents.deleteByDocument(this.db, docId);
  }

  // ---------------------------------------------------------------- tags (tag-vocabulary.ts)

  /** All tags, ordered by name (so children follow their parent), with usage counts (of what `viewer` may see, when given). */
  listTags(viewer?: string): Tag[] {
    return vocabulary.listTags(this.db, viewer);
  }

  /**
   * One tag with its counts.
   * @throws UserInputError not_found (404)
   */
  getTag(name: string): Tag {
    return vocabulary.getTag(this.db, name);
  }

  /**
   * Create a tag (and its missing ancestors).
   * @throws UserInputError tag_exists (409) when a tag of that name exists ignoring case
   */
  createTag(input: NewTag): Tag {
    return vocabulary.createTag(this.db, input);
  }

  /**
   * Rename, recolour, describe or merge a tag; the subtree follows.
   * @returns the tag afterwards (the target, for a merge)
   * @throws UserInputError not_found (404), tag_exists (409: rename onto an existing tag — merge instead), bad_tag
   */
  updateTag(name: string, patch: TagPatch): Tag {
    return vocabulary.updateTag(this.db, name, patch);
  }

  /**
   * Delete a tag; refused while it has children, or annotations carry it and `detach` is unset.
   * @returns how many annotations lost the tag
   * @throws UserInputError not_found (404), tag_in_use (409), tag_has_children (409)
   */
  deleteTag(name: string, options: { detach?: boolean } = {}): number {
    return vocabulary.deleteTag(this.db, name, options);
  }
}
