/**
 * The tag vocabulary on PostgreSQL: the same `/` hierarchy, counts, renames,
 * merges and deletions as the embedded store's (src/store/tag-vocabulary.ts),
 * following the same rules (src/store/tag-rules.ts), over a connection pool.
 * Writes go through {@link writeAndAnnounce}. {@link PgAnnotationStore} exposes it.
 */
import type pg from 'pg';
import { notFound } from '../../core/errors.js';
import { type ParsedTag, isoNow, normalizeTagName } from '../../store/annotation-rules.js';
import { visibleSql } from '../../store/annotation-rows.js';
import type { NewTag, Tag, TagPatch } from '../../store/annotation-types.js';
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
} from '../../store/tag-rules.js';
import { writeAndAnnounce } from './change-feed.js';

/** A pool for reads, or the client of the transaction in progress. */
export type Q = pg.Pool | pg.PoolClient;

/** SQL condition: tag `t` is the tag with key `$1` or one of its descendants. */
export const SUBTREE_SQL = `(t.name_key = $1 OR left(t.name_key, length($1) + 1) = $1 || '/')`;

/** All tags, ordered by name (so children follow their parent), with usage counts (of what `viewer` may see, when given). */
export async function listTags(pool: pg.Pool, viewer?: string): Promise<Tag[]> {
  const visible = viewer === undefined ? '' : `AND ${visibleSql('at.annotation_id', '$1')}`;
  const r = await pool.query<Tag>(
    `SELECT t.id, t.name, t.colour, t.description,
       (SELECT count(*) FROM annotation_tags at WHERE at.tag_id = t.id ${visible})::int AS count,
       (SELECT count(DISTINCT at.annotation_id) FROM annotation_tags at JOIN tags d ON d.id = at.tag_id
          WHERE (d.name_key = t.name_key OR left(d.name_key, length(t.name_key) + 1) = t.name_key || '/') ${visible})::int AS "totalCount"
     FROM tags t ORDER BY t.name_key COLLATE "C"`,
    viewer === undefined ? [] : [viewer],
  );
  return r.rows;
}

/**
 * One tag with its counts.
 * @throws UserInputError not_found (404)
 */
export async function getTag(pool: pg.Pool, name: string): Promise<Tag> {
  const row = await mustFindTag(pool, name);
  const tag = (await listTags(pool)).find((t) => t.id === row.id);
  if (!tag) throw notFound('tag', name);
  return tag;
}

/**
 * Create a tag (and its missing ancestors).
 * @throws UserInputError tag_exists (409) when a tag of that name exists ignoring case
 */
export async function createTag(pool: pg.Pool, input: NewTag): Promise<Tag> {
  const { tag: n, colour, description } = parseNewTag(input);
  await writeAndAnnounce(pool, { what: 'tags' }, async (c) => {
    if (await findTag(c, n.key)) throw tagExists(n.name);
    const id = await ensureTag(c, n.segments);
    await c.query('UPDATE tags SET colour = $1, description = $2 WHERE id = $3', [colour, description, id]);
  });
  return getTag(pool, n.name);
}

/**
 * Rename, recolour, describe or merge a tag; the subtree follows, as in the embedded store.
 * @returns the tag afterwards (the target, for a merge)
 * @throws UserInputError not_found (404), tag_exists (409: rename onto an existing tag — merge instead), bad_tag
 */
export async function updateTag(pool: pg.Pool, name: string, patch: TagPatch): Promise<Tag> {
  const source = await mustFindTag(pool, name);
  const change = parseTagPatch(source, patch);
  if (change.merge) {
    const target = await mustFindTag(pool, change.into);
    checkMergeTarget(source, target);
    await writeAndAnnounce(pool, { what: 'tags' }, (c) => moveSubtree(c, source, target.name, target.name_key, true));
    return getTag(pool, target.name);
  }

  const { colour, description, renamed } = change;
  await writeAndAnnounce(pool, { what: 'tags' }, async (c) => {
    if (renamed && renamed.name !== source.name) {
      if (renamed.key !== source.name_key) {
        for (const t of await subtree(c, source)) {
          const clash = await findTag(c, movedKey(source, t, renamed.key));
          if (clash !== undefined && !inSubtree(clash.name_key, source.name_key)) throw tagExistsMergeInstead(clash.name);
        }
      }
      let newName = renamed.name;
      if (renamed.segments.length > 1) {
        // Create the new parent if needed, and spell the renamed tag the way its parent is spelled.
        const parentId = await ensureTag(c, renamed.segments.slice(0, -1));
        const parent = (await c.query<{ name: string }>('SELECT name FROM tags WHERE id = $1', [parentId])).rows[0] as { name: string };
        newName = `${parent.name}/${renamed.segments.at(-1)}`;
      }
      await moveSubtree(c, source, newName, renamed.key, false);
    }
    if (colour !== undefined) await c.query('UPDATE tags SET colour = $1 WHERE id = $2', [colour, source.id]);
    if (description !== undefined) await c.query('UPDATE tags SET description = $1 WHERE id = $2', [description, source.id]);
  });
  return getTag(pool, renamed ? renamed.key : source.name);
}

/**
 * Delete a tag; refused while it has children, or annotations carry it and `detach` is unset.
 * @returns how many annotations lost the tag
 * @throws UserInputError not_found (404), tag_in_use (409), tag_has_children (409)
 */
export async function deleteTag(pool: pg.Pool, name: string, options: { detach?: boolean } = {}): Promise<number> {
  const tag = await mustFindTag(pool, name);
  return writeAndAnnounce(pool, { what: 'tags' }, async (c) => {
    const child = (
      await c.query<{ name: string }>(`SELECT name FROM tags WHERE left(name_key, length($1) + 1) = $1 || '/' LIMIT 1`, [tag.name_key])
    ).rows[0];
    if (child) throw tagHasChildren(tag, child.name);
    const used =
      (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM annotation_tags WHERE tag_id = $1', [tag.id])).rows[0]?.n ?? 0;
    if (used > 0 && !options.detach) throw tagInUse(tag, used);
    await c.query('DELETE FROM annotation_tags WHERE tag_id = $1', [tag.id]);
    await c.query('DELETE FROM tags WHERE id = $1', [tag.id]);
    return used;
  });
}

/** Replace an annotation's tags (inside a transaction), creating unknown ones. */
export async function setTags(c: pg.PoolClient, annotationId: string, tags: readonly ParsedTag[]): Promise<void> {
  await c.query('DELETE FROM annotation_tags WHERE annotation_id = $1', [annotationId]);
  for (const t of tags) {
    const tagId = await ensureTag(c, t.segments);
    await c.query('INSERT INTO annotation_tags (annotation_id, tag_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [annotationId, tagId]);
  }
}

/**
 * The id of the tag with these segments, creating it and any missing
 * ancestor (inside a transaction), each new child spelled as its parent is.
 */
export async function ensureTag(c: pg.PoolClient, segments: string[]): Promise<number> {
  let parentName = '';
  let id = -1;
  for (let i = 0; i < segments.length; i++) {
    const name = i === 0 ? (segments[0] as string) : `${parentName}/${segments[i]}`;
    const key = tagKey(name);
    const row = await findTag(c, key);
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

async function findTag(q: Q, key: string): Promise<TagRow | undefined> {
  return (await q.query<TagRow>('SELECT * FROM tags WHERE name_key = $1', [key])).rows[0];
}

async function mustFindTag(q: Q, name: string): Promise<TagRow> {
  const n = normalizeTagName(name, { existing: true });
  return mustBeTag(await findTag(q, n.key), n.name);
}

async function subtree(q: Q, root: TagRow): Promise<TagRow[]> {
  return byDepth((await q.query<TagRow>(`SELECT * FROM tags t WHERE ${SUBTREE_SQL}`, [root.name_key])).rows);
}

/** As the embedded store: temporary unique keys first, then shallowest first merge or rename. */
async function moveSubtree(c: pg.PoolClient, root: TagRow, newName: string, newKey: string, merge: boolean): Promise<void> {
  const tags = await subtree(c, root);
  const setKey = (name: string, key: string, id: number) =>
    c.query('UPDATE tags SET name = $1, name_key = $2 WHERE id = $3', [name, key, id]);
  // PostgreSQL text cannot hold U+0000, so the temporary key uses another character no tag has (control characters are refused).
  for (const t of tags) await setKey(t.name, `\u0001moving\u0001${t.id}`, t.id);
  for (const t of tags) {
    const key = movedKey(root, t, newKey);
    const existing = await findTag(c, key);
    if (existing) {
      if (!merge) throw new Error(`moveSubtree: ${key} exists`); // checked before; a bug if reached
      await c.query(
        'INSERT INTO annotation_tags (annotation_id, tag_id) SELECT annotation_id, $1 FROM annotation_tags WHERE tag_id = $2 ON CONFLICT DO NOTHING',
        [existing.id, t.id],
      );
      await c.query('DELETE FROM annotation_tags WHERE tag_id = $1', [t.id]);
      await c.query('DELETE FROM tags WHERE id = $1', [t.id]);
    } else {
      await setKey(movedName(root, t, newName), key, t.id);
    }
  }
}
