/**
 * The tag vocabulary in SQLite: the `/` hierarchy (`援藏/教育` is a child of
 * `援藏`), tags' usage counts, and renaming, merging and deleting whole
 * subtrees. The rules are tag-rules.ts's (shared with the PostgreSQL store);
 * this module holds the SQL. {@link AnnotationStore} exposes it.
 */
import { notFound } from '../core/errors.js';
import { type ParsedTag, isoNow, normalizeTagName } from './annotation-rules.js';
import { visibleSql } from './annotation-rows.js';
import type { NewTag, Tag, TagPatch } from './annotation-types.js';
import { type Database, writeImmediately } from './db.js';
import {
  type TagRow,
  byDepth,
  checkMergeTarget,
  inSubtree,
  movedKey,
  movedName,
  mustBeTag,
  parseNewTag,
  parseTagPatch,
  tagExists,
  tagExistsMergeInstead,
  tagHasChildren,
  tagInUse,
  tagKey,
} from './tag-rules.js';

/** SQL condition: tag `t` is the tag with key `@tagKey` or one of its descendants. */
export const SUBTREE_SQL = `(t.name_key = @tagKey OR substr(t.name_key, 1, length(@tagKey) + 1) = @tagKey || '/')`;

/** All tags, ordered by name (so children follow their parent), with usage counts (of what `viewer` may see, when given). */
export function listTags(db: Database, viewer?: string): Tag[] {
  const visible = viewer === undefined ? '' : `AND ${visibleSql('at.annotation_id', '@viewer')}`;
  return db
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
export function getTag(db: Database, name: string): Tag {
  const row = mustFindTag(db, name);
  const tag = listTags(db).find((t) => t.id === row.id);
  if (!tag) throw notFound('tag', name);
  return tag;
}

/**
 * Create a tag (and its missing ancestors).
 * @throws UserInputError tag_exists (409) when a tag of that name exists ignoring case
 */
export function createTag(db: Database, input: NewTag): Tag {
  const { tag: n, colour, description } = parseNewTag(input);
  writeImmediately(db, () => {
    if (findTag(db, n.key)) throw tagExists(n.name);
    const id = ensureTag(db, n.segments);
    db.prepare('UPDATE tags SET colour = ?, description = ? WHERE id = ?').run(colour, description, id);
  });
  return getTag(db, n.name);
}

/**
 * Rename, recolour, describe or merge a tag. Rename and merge move the whole
 * subtree (`援藏/教育` follows `援藏`) and keep every annotation; merging
 * into a tag that already has a same-named child merges those children too.
 * @returns the tag afterwards (the target, for a merge)
 * @throws UserInputError not_found (404), tag_exists (409: rename onto an existing tag — merge instead), bad_tag
 */
export function updateTag(db: Database, name: string, patch: TagPatch): Tag {
  const source = mustFindTag(db, name);
  const change = parseTagPatch(source, patch);
  if (change.merge) {
    const target = mustFindTag(db, change.into);
    checkMergeTarget(source, target);
    writeImmediately(db, () => moveSubtree(db, source, target.name, target.name_key, true));
    return getTag(db, target.name);
  }

  const { colour, description, renamed } = change;
  writeImmediately(db, () => {
    if (renamed && renamed.name !== source.name) {
      if (renamed.key !== source.name_key) {
        const clash = subtree(db, source)
          .map((t) => findTag(db, movedKey(source, t, renamed.key)))
          .find((t) => t !== undefined && !inSubtree(t.name_key, source.name_key));
        if (clash) throw tagExistsMergeInstead(clash.name);
      }
      let newName = renamed.name;
      if (renamed.segments.length > 1) {
        // Create the new parent if needed, and spell the renamed tag the way its parent is spelled.
        const parentId = ensureTag(db, renamed.segments.slice(0, -1));
        const parent = db.prepare('SELECT name FROM tags WHERE id = ?').get(parentId) as { name: string };
        newName = `${parent.name}/${renamed.segments.at(-1)}`;
      }
      moveSubtree(db, source, newName, renamed.key, false);
    }
    if (colour !== undefined) db.prepare('UPDATE tags SET colour = ? WHERE id = ?').run(colour, source.id);
    if (description !== undefined) db.prepare('UPDATE tags SET description = ? WHERE id = ?').run(description, source.id);
  });
  return getTag(db, renamed ? renamed.key : source.name);
}

/**
 * Delete a tag. Refused while annotations carry it unless `detach` (which
 * removes the tag from them; the annotations stay), and while it has child tags.
 * @returns how many annotations lost the tag
 * @throws UserInputError not_found (404), tag_in_use (409), tag_has_children (409)
 */
export function deleteTag(db: Database, name: string, options: { detach?: boolean } = {}): number {
  const tag = mustFindTag(db, name);
  return writeImmediately(db, () => {
    const child = db
      .prepare("SELECT name FROM tags WHERE substr(name_key, 1, length(@k) + 1) = @k || '/' LIMIT 1")
      .get({ k: tag.name_key }) as { name: string } | undefined;
    if (child) throw tagHasChildren(tag, child.name);
    const used = (db.prepare('SELECT count(*) AS n FROM annotation_tags WHERE tag_id = ?').get(tag.id) as { n: number }).n;
    if (used > 0 && !options.detach) throw tagInUse(tag, used);
    db.prepare('DELETE FROM annotation_tags WHERE tag_id = ?').run(tag.id);
    db.prepare('DELETE FROM tags WHERE id = ?').run(tag.id);
    return used;
  });
}

/** Replace an annotation's tags (inside a transaction), creating unknown ones. */
export function setTags(db: Database, annotationId: string, tags: readonly ParsedTag[]): void {
  db.prepare('DELETE FROM annotation_tags WHERE annotation_id = ?').run(annotationId);
  const link = db.prepare('INSERT OR IGNORE INTO annotation_tags (annotation_id, tag_id) VALUES (?, ?)');
  for (const t of tags) link.run(annotationId, ensureTag(db, t.segments));
}

/**
 * The id of the tag with these segments, creating it and any missing
 * ancestor (inside a transaction). A new child is spelled with its existing
 * parent's spelling, so renames can rewrite prefixes level by level.
 */
export function ensureTag(db: Database, segments: string[]): number {
  let parentName = '';
  let id = -1;
  for (let i = 0; i < segments.length; i++) {
    const name = i === 0 ? (segments[0] as string) : `${parentName}/${segments[i]}`;
    const key = tagKey(name);
    const row = findTag(db, key);
    if (row) {
      id = row.id;
      parentName = row.name;
    } else {
      id = Number(
        db.prepare("INSERT INTO tags (name, name_key, colour, description, created_at) VALUES (?, ?, NULL, '', ?)").run(name, key, isoNow())
          .lastInsertRowid,
      );
      parentName = name;
    }
  }
  return id;
}

function findTag(db: Database, key: string): TagRow | undefined {
  return db.prepare('SELECT * FROM tags WHERE name_key = ?').get(key) as TagRow | undefined;
}

function mustFindTag(db: Database, name: string): TagRow {
  const n = normalizeTagName(name, { existing: true });
  return mustBeTag(findTag(db, n.key), n.name);
}

function subtree(db: Database, root: TagRow): TagRow[] {
  return byDepth(db.prepare(`SELECT * FROM tags t WHERE ${SUBTREE_SQL}`).all({ tagKey: root.name_key }) as TagRow[]);
}

/**
 * Move `root` and its descendants under the name `newName` (inside a
 * transaction). First every moved tag gets a temporary unique key (the
 * UNIQUE index is checked row by row), then, shallowest first, each one
 * either merges into the existing tag of its new key (`merge`) or takes the
 * new name and key.
 */
function moveSubtree(db: Database, root: TagRow, newName: string, newKey: string, merge: boolean): void {
  const tags = subtree(db, root);
  const setKey = db.prepare('UPDATE tags SET name = ?, name_key = ? WHERE id = ?');
  for (const t of tags) setKey.run(t.name, `\u0000moving\u0000${t.id}`, t.id);
  for (const t of tags) {
    const key = movedKey(root, t, newKey);
    const existing = findTag(db, key);
    if (existing) {
      if (!merge) throw new Error(`moveSubtree: ${key} exists`); // checked before; a bug if reached
      db.prepare(
        'INSERT OR IGNORE INTO annotation_tags (annotation_id, tag_id) SELECT annotation_id, ? FROM annotation_tags WHERE tag_id = ?',
      ).run(existing.id, t.id);
      db.prepare('DELETE FROM annotation_tags WHERE tag_id = ?').run(t.id);
      db.prepare('DELETE FROM tags WHERE id = ?').run(t.id);
    } else {
      setKey.run(movedName(root, t, newName), key, t.id);
    }
  }
}
