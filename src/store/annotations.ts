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
import { type AnchorMethod, type AnchorStatus, makeQuote, reanchor, splitsSurrogatePair } from './anchor.js';
import { type Database, schemaVersion } from './db.js';
import { SCHEMA_VERSION } from './migrations.js';
import { IMPLICIT_OWNER } from './users.js';

/**
 * A stored annotation. `start`/`end` are **UTF-16 code-unit offsets into the
 * document's canonical text** (the text whose SHA-256 is `textHash`), so
 * `text.slice(start, end) === exact`. While `status` is `'orphaned'` they are
 * the offsets in the last text the annotation was anchored on.
 */
export interface Annotation {
  /** UUID. */
  id: string;
  docId: string;
  /** First UTF-16 code unit of the annotated range (inclusive). */
  start: number;
  /** One past the last UTF-16 code unit (exclusive). */
  end: number;
  /** The quoted text, `text.slice(start, end)`. */
  exact: string;
  /** Up to 32 UTF-16 code units before the quote (never half a surrogate pair). */
  prefix: string;
  /** Up to 32 UTF-16 code units after the quote. */
  suffix: string;
  note: string;
  /** CSS hex colour, `#rgb` or `#rrggbb`, lowercase. */
  colour: string;
  /** Tag names, sorted case-insensitively. */
  tags: string[];
  /** ISO 8601 timestamps; `updatedAt` moves only on the researcher's edits, not on re-anchoring. */
  createdAt: string;
  updatedAt: string;
  /** SHA-256 (hex) of the document text the annotation was created or last anchored on. */
  textHash: string;
  status: AnchorStatus;
  /** How it was last anchored: 'created' (by the researcher), 'exact'/'quote'/'fuzzy' (re-anchored), 'orphaned'. */
  anchorMethod: AnchorMethod;
  /** The coder who made it (a user name; `owner` before accounts existed). */
  createdBy: string;
  /** The coder who last edited it. */
  updatedBy: string;
  /** For the group's version after discussion: the coders' annotations it was accepted or merged from (empty otherwise). */
  mergedFrom: MergedSource[];
}

/** One coder's annotation as the group's version records it. */
export interface MergedSource {
  id: string;
  coder: string;
  start: number;
  end: number;
  exact: string;
  tags: string[];
  note: string;
}

/** A document's canonical text and its SHA-256, as the corpus loader provides them. */
export interface DocText {
  text: string;
  hash: string;
}

/** Input of {@link AnnotationStore.create}. Offsets are UTF-16 code units. */
export interface NewAnnotation {
  docId: string;
  start: number;
  end: number;
  /** The quote the client saw; if given it must equal `text.slice(start, end)` (else 409). */
  exact?: string;
  note?: string;
  colour?: string;
  tags?: string[];
}

/** Changes for {@link AnnotationStore.update}; absent fields are left alone. */
export interface AnnotationPatch {
  note?: string;
  colour?: string;
  /** Replaces the whole tag set. */
  tags?: string[];
  start?: number;
  end?: number;
  exact?: string;
}

/** Filter of {@link AnnotationStore.list}; all given criteria must hold. */
export interface AnnotationFilter {
  docId?: string;
  /** The tag or any of its descendants (`援藏` matches `援藏/教育`). An unknown tag matches nothing. */
  tag?: string;
  /** Case-insensitive substring of the quote or the note. */
  q?: string;
  /** true: only orphaned; false: only anchored; absent: both. */
  orphaned?: boolean;
  /** Who is looking: in the papers of an open round they code, they see only their own annotations. */
  viewer?: string;
}

/** A tag with how much it is used. */
export interface Tag {
  id: number;
  name: string;
  colour: string | null;
  description: string;
  /** Annotations carrying this very tag. */
  count: number;
  /** Distinct annotations carrying this tag or any descendant. */
  totalCount: number;
}

export interface NewTag {
  name: string;
  colour?: string | null;
  description?: string;
}

/** Changes for {@link AnnotationStore.updateTag}: either edits (rename, colour, description) or a merge. */
export interface TagPatch {
  /** Rename; descendants follow (`援藏/教育` → `<new>/教育`). */
  name?: string;
  colour?: string | null;
  description?: string;
  /** Move every annotation (and descendant tag) to this existing tag, then delete this one. */
  mergeInto?: string;
}

/** What {@link AnnotationStore.reanchorDocument} did, by method. */
export interface ReanchorCounts {
  /** Annotations looked at (those not yet on the new hash, and every orphan). */
  checked: number;
  exact: number;
  quote: number;
  fuzzy: number;
  orphaned: number;
}

/** A document the store has seen. */
export interface KnownDocument {
  id: string;
  textHash: string;
  seenAt: string;
  removedAt: string | null;
}

/** An annotation as a backup carries it, for {@link AnnotationStore.restore}. */
export type RestorableAnnotation = Omit<Annotation, 'tags' | 'createdBy' | 'updatedBy' | 'mergedFrom'> & {
  mergedFrom?: readonly MergedSource[];
  tags: readonly string[];
  /** Absent in backups made before accounts: the implicit owner. */
  createdBy?: string;
  updatedBy?: string;
};

/** A tag definition as a backup carries it. */
export interface RestorableTag {
  name: string;
  colour: string | null;
  description: string;
}

export const DEFAULT_COLOUR = '#ffd54f';
export const MAX_TAG_LENGTH = 64;
export const MAX_NOTE_LENGTH = 10_000;
export const MAX_DESCRIPTION_LENGTH = 2_000;
const MAX_QUERY_LENGTH = 1_000;
const MAX_DOC_ID_LENGTH = 512;

const COLOUR_RE = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
const CONTROL_RE = /[\p{Cc}\u2028\u2029]/u;
/** A level made only of white space and invisible format characters (zero-width space, joiners, marks). */
const INVISIBLE_ONLY_RE = /^[\s\p{Cf}]+$/u;
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

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

interface TagRow {
  id: number;
  name: string;
  name_key: string;
  colour: string | null;
  description: string;
}

/** Case- and width-insensitive form used for tag identity and text search. */
export function foldText(s: string): string {
  return s.normalize('NFKC').toLowerCase();
}

/** Code points in `s` (what a researcher calls characters). */
function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function bad(code: string, message: string): UserInputError {
  return new UserInputError(code, message, 400);
}

/**
 * A tag name as stored, and its key: segments between `/` (a full-width `／`
 * counts as `/`) trimmed; non-empty; at most 64 characters; no control
 * characters. The key is NFKC + lowercase, so `China`, `china` and `ｃｈｉｎａ`
 * are the same tag.
 *
 * A new name (`existing` unset) is also refused when a level is `.` or `..`
 * (also as `．．` or `‥`, which fold to them): the Tags page manages a tag at
 * `/api/tags/<name>`, and every URL parser resolves such a path segment away,
 * so the tag could be made but never renamed or deleted. Likewise a level that
 * folds to something holding `/` (`℅` is `c/o`) would put the key at another
 * depth than the name, and a level of only invisible characters shows as
 * nothing. Lookups of existing tags (`existing: true`) skip these checks, so a
 * tag stored by an older duikou can still be found, renamed and deleted.
 */
export function normalizeTagName(raw: unknown, options: { existing?: boolean } = {}): { name: string; key: string; segments: string[] } {
  if (typeof raw !== 'string') throw bad('bad_tag', 'A tag must be a string (标签必须是文本)');
  const segments = raw
    .replace(/／/g, '/')
    .split('/')
    .map((s) => s.trim());
  const name = segments.join('/');
  if (name === '') throw bad('bad_tag', 'A tag cannot be empty (标签不能为空)');
  if (segments.some((s) => s === '')) {
    throw bad('bad_tag', `Tag "${name}" has an empty level; write levels as 援藏/教育 (标签层级不能为空)`);
  }
  if (charCount(name) > MAX_TAG_LENGTH) {
    throw bad('bad_tag', `Tag "${name.slice(0, 20)}…" is longer than ${MAX_TAG_LENGTH} characters (标签过长)`);
  }
  if (CONTROL_RE.test(name) || LONE_SURROGATE_RE.test(name)) {
    throw bad('bad_tag', 'A tag cannot contain control characters (标签含有控制字符)');
  }
  const keySegments = segments.map((s) => foldText(s).trim());
  if (!options.existing) {
    for (const [i, k] of keySegments.entries()) {
      const level = segments[i] as string;
      if (k === '.' || k === '..') {
        throw bad('bad_tag', `Tag "${name}" has a level "${level}"; "." and ".." cannot be tag levels (标签层级不能为 . 或 ..)`);
      }
      if (k.includes('/')) {
        throw bad(
          'bad_tag',
          `Tag "${name}": the level "${level}" reads as "${k}", which holds "/"; write levels as 援藏/教育 (标签层级含有斜杠)`,
        );
      }
      if (INVISIBLE_ONLY_RE.test(k)) {
        throw bad('bad_tag', `Tag "${name}" has a level with nothing visible in it (标签层级不能为空)`);
      }
    }
  }
  return { name, key: keySegments.join('/'), segments };
}

function validateColour(raw: unknown, what = 'colour'): string {
  if (typeof raw !== 'string' || !COLOUR_RE.test(raw)) {
    throw bad('bad_colour', `The ${what} must be a CSS hex colour such as #ffd54f or #fc0 (颜色格式错误)`);
  }
  return raw.toLowerCase();
}

function validateNote(raw: unknown): string {
  if (typeof raw !== 'string') throw bad('bad_note', 'The note must be text (备注必须是文本)');
  if (charCount(raw) > MAX_NOTE_LENGTH) {
    throw bad('bad_note', `The note is longer than ${MAX_NOTE_LENGTH} characters (备注过长)`);
  }
  if (LONE_SURROGATE_RE.test(raw)) throw bad('bad_note', 'The note contains an invalid character (备注含有无效字符)');
  return raw;
}

function validateDescription(raw: unknown): string {
  if (typeof raw !== 'string' || charCount(raw) > MAX_DESCRIPTION_LENGTH || LONE_SURROGATE_RE.test(raw)) {
    throw bad('bad_description', `A tag description must be text of at most ${MAX_DESCRIPTION_LENGTH} characters (描述无效)`);
  }
  return raw;
}

function validateDocId(raw: unknown): string {
  if (typeof raw !== 'string' || raw === '' || raw.length > MAX_DOC_ID_LENGTH || CONTROL_RE.test(raw)) {
    throw bad('bad_doc_id', 'The document id is missing or invalid (文档编号无效)');
  }
  return raw;
}

/** Tags of one annotation: validated, deduplicated ignoring case (first spelling wins). */
function validateTags(raw: unknown): { name: string; key: string; segments: string[] }[] {
  if (!Array.isArray(raw)) throw bad('bad_tag', 'Tags must be a list of names (标签必须是列表)');
  const seen = new Map<string, { name: string; key: string; segments: string[] }>();
  for (const t of raw) {
    const n = normalizeTagName(t);
    if (!seen.has(n.key)) seen.set(n.key, n);
  }
  return [...seen.values()];
}

/** Check `[start, end)` against the text and the optional client quote; returns the quote with context. */
function validateRange(text: string, start: unknown, end: unknown, exact: unknown) {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    throw bad('bad_range', 'start and end must be whole numbers (起止位置必须是整数)');
  }
  const s = start as number;
  const e = end as number;
  if (s < 0 || e > text.length || s >= e) {
    throw bad('bad_range', `The range ${s}–${e} is not a non-empty range inside the document (0–${text.length}) (范围无效)`);
  }
  if (splitsSurrogatePair(text, s) || splitsSurrogatePair(text, e)) {
    throw bad('bad_range', 'The range cuts a character in half (范围切断了一个字符)');
  }
  const quote = makeQuote(text, s, e);
  if (exact !== undefined) {
    if (typeof exact !== 'string') throw bad('bad_quote', 'exact must be text (引文必须是文本)');
    if (exact !== quote.exact) {
      throw new UserInputError(
        'quote_mismatch',
        'The selected text no longer matches the document; reload it and select again (所选文本与文档不一致)',
        409,
      );
    }
  }
  return { start: s, end: e, ...quote };
}

function isoNow(after?: string): string {
  const now = new Date();
  // Keep updated_at strictly increasing even for two edits within a millisecond.
  if (after !== undefined && now.toISOString() <= after) return new Date(Date.parse(after) + 1).toISOString();
  return now.toISOString();
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

/**
 * The validation and quoting rules, shared with the PostgreSQL store
 * (src/backends/postgres/annotations.ts) so both backends accept and refuse
 * exactly the same input.
 */
/** What merging a group of annotations makes: see {@link AnnotationStore.merge}. */
export interface MergePlan {
  /** The first source in document order: its paper, start and colour are the merged annotation's. */
  first: Annotation;
  /** The end of the union of the sources' ranges (UTF-16 code units). */
  end: number;
  /** The sources' notes, each named by its coder when there are two or more. */
  note: string;
  /** The union of the sources' tags. */
  tags: string[];
  /** Who made what, in document order. */
  mergedFrom: MergedSource[];
}

/**
 * Check a group of annotations for merging (one paper, all anchored,
 * overlapping or touching) and work out the merged annotation; the rule both
 * backends follow.
 * @throws UserInputError bad_merge
 */
export function planMerge(group: readonly Annotation[]): MergePlan {
  const sources = [...group].sort((a, b) => a.start - b.start || a.end - b.end);
  if (sources.length === 0) throw bad('bad_merge', 'Choose the annotations to accept or merge (请选择标注)');
  const first = sources[0]!;
  if (sources.some((a) => a.docId !== first.docId))
    throw bad('bad_merge', 'Only annotations in one paper can be merged (只能合并同一文献中的标注)');
  if (sources.some((a) => a.status !== 'anchored'))
    throw bad('bad_merge', 'Re-attach orphaned annotations before merging them (请先重新锚定)');
  let end = first.end;
  for (const a of sources.slice(1)) {
    if (a.start > end) throw bad('bad_merge', 'Only overlapping annotations can be merged into one (只能合并相互重叠的标注)');
    end = Math.max(end, a.end);
  }
  const notes = sources.filter((a) => a.note.trim() !== '').map((a) => (sources.length > 1 ? `${a.createdBy}: ${a.note}` : a.note));
  return {
    first,
    end,
    note: notes.join('\n\n'),
    tags: [...new Set(sources.flatMap((a) => a.tags))],
    mergedFrom: sources.map((a) => ({
      id: a.id,
      coder: a.createdBy,
      start: a.start,
      end: a.end,
      exact: a.exact,
      tags: a.tags,
      note: a.note,
    })),
  };
}

export const rules = {
  bad,
  isoNow,
  validateColour,
  validateNote,
  validateDescription,
  validateDocId,
  validateTags,
  validateRange,
  MAX_QUERY_LENGTH,
};

/**
 * Rows and their tag links (in tag order) → annotations; the one mapping both
 * stores use.
 */
export function annotationsFromRows(rows: AnnotationRow[], links: { aid: string; name: string }[]): Annotation[] {
  const byId = new Map<string, string[]>();
  for (const l of links) {
    const list = byId.get(l.aid);
    if (list) list.push(l.name);
    else byId.set(l.aid, [l.name]);
  }
  return rows.map((r) => ({
    id: r.id,
    docId: r.doc_id,
    start: r.start,
    end: r.end,
    exact: r.exact,
    prefix: r.prefix,
    suffix: r.suffix,
    note: r.note,
    colour: r.colour,
    tags: byId.get(r.id) ?? [],
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    textHash: r.text_hash,
    status: r.status,
    anchorMethod: r.anchor_method,
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    mergedFrom: typeof r.merged_from === 'string' ? (JSON.parse(r.merged_from) as MergedSource[]) : r.merged_from,
  }));
}
