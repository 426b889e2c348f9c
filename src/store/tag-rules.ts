/**
 * The tag vocabulary's rules, shared by the SQLite and PostgreSQL stores so
 * both keep the `/` hierarchy (`援藏/教育` is a child of `援藏`) the same way:
 * tag keys, subtrees, where a moved tag lands, what a tag edit may do, and the
 * errors a researcher sees. The SQL that applies them stays in each store.
 */
import { UserInputError, notFound } from '../core/errors.js';
import { type ParsedTag, bad, foldText, normalizeTagName, validateColour, validateDescription } from './annotation-rules.js';
import type { NewTag, TagPatch } from './annotation-types.js';

/** A tags row as both stores read it. */
export interface TagRow {
  id: number;
  name: string;
  name_key: string;
  colour: string | null;
  description: string;
}

/**
 * The key of a tag name built from stored levels (a child spelled with its
 * parent's spelling): each level folded and trimmed, as {@link normalizeTagName} keys them.
 */
export function tagKey(name: string): string {
  return foldText(name)
    .split('/')
    .map((s) => s.trim())
    .join('/');
}

/** Whether the tag with key `key` is the tag `rootKey` or one of its descendants. */
export function inSubtree(key: string, rootKey: string): boolean {
  return key === rootKey || key.startsWith(`${rootKey}/`);
}

/** Tags ordered shallowest first, so a parent is handled before its children. */
export function byDepth(tags: TagRow[]): TagRow[] {
  return tags.sort((a, b) => a.name_key.split('/').length - b.name_key.split('/').length);
}

/** The key tag `t` of `root`'s subtree takes when `root` becomes `newKey`. */
export function movedKey(root: TagRow, t: TagRow, newKey: string): string {
  return newKey + t.name_key.slice(root.name_key.length);
}

/** The name tag `t` of `root`'s subtree takes when `root` is renamed `newName` (its deeper levels keep their spelling). */
export function movedName(root: TagRow, t: TagRow, newName: string): string {
  const rest = t.name.split('/').slice(root.name.split('/').length);
  return [newName, ...rest].join('/');
}

/** The tag with this name, or not_found (404). */
export function mustBeTag(row: TagRow | undefined, name: string): TagRow {
  if (!row) throw notFound('tag', name);
  return row;
}

/**
 * A new tag's name, colour and description, checked.
 * @throws UserInputError bad_tag | bad_colour | bad_description
 */
export function parseNewTag(input: NewTag): { tag: ParsedTag; colour: string | null; description: string } {
  const tag = normalizeTagName(input.name);
  const colour = input.colour === undefined || input.colour === null ? null : validateColour(input.colour);
  const description = input.description === undefined ? '' : validateDescription(input.description);
  return { tag, colour, description };
}

/** What a tag patch asks for: a merge into another tag, or edits of this one (absent: left alone). */
export type TagChange = { merge: true; into: string } | { merge: false; colour?: string | null; description?: string; renamed?: ParsedTag };

/**
 * Check a patch of tag `source`: a merge alone, or edits, never both; a rename
 * may not move a tag into its own subtree.
 * @throws UserInputError bad_input | bad_tag | bad_colour | bad_description
 */
export function parseTagPatch(source: TagRow, patch: TagPatch): TagChange {
  if (typeof patch !== 'object' || patch === null) throw bad('bad_input', 'Missing changes (缺少修改内容)');
  if (patch.mergeInto !== undefined) {
    if (patch.name !== undefined || patch.colour !== undefined || patch.description !== undefined) {
      throw bad('bad_input', 'Merge a tag or edit it, not both at once (合并与修改不能同时进行)');
    }
    return { merge: true, into: patch.mergeInto };
  }
  const colour = patch.colour === undefined ? undefined : patch.colour === null ? null : validateColour(patch.colour);
  const description = patch.description === undefined ? undefined : validateDescription(patch.description);
  const renamed = patch.name === undefined ? undefined : normalizeTagName(patch.name);
  if (renamed?.key.startsWith(`${source.name_key}/`)) {
    throw bad('bad_tag', `Tag "${source.name}" cannot be renamed into its own subtree (不能重命名为自身的子标签)`);
  }
  return { merge: false, colour, description, renamed };
}

/**
 * A tag can be merged into any other tag but itself or its own descendants.
 * @throws UserInputError bad_tag
 */
export function checkMergeTarget(source: TagRow, target: TagRow): void {
  if (target.id === source.id) throw bad('bad_tag', 'A tag cannot be merged into itself (不能合并到自身)');
  if (target.name_key.startsWith(`${source.name_key}/`)) {
    throw bad('bad_tag', `Tag "${source.name}" cannot be merged into its own child "${target.name}" (不能合并到子标签)`);
  }
}

/** tag_exists (409): a new tag's name is taken, ignoring case. */
export function tagExists(name: string): UserInputError {
  return new UserInputError('tag_exists', `Tag "${name}" already exists (标签已存在)`, 409);
}

/** tag_exists (409): a rename would land on another tag; merging is how to join them. */
export function tagExistsMergeInstead(name: string): UserInputError {
  return new UserInputError('tag_exists', `Tag "${name}" already exists; merge into it instead (标签已存在，请使用合并)`, 409);
}

/** tag_has_children (409): deleting a parent would strand its children. */
export function tagHasChildren(tag: TagRow, child: string): UserInputError {
  return new UserInputError(
    'tag_has_children',
    `Tag "${tag.name}" has child tags such as "${child}"; delete or move them first (标签含有子标签)`,
    409,
  );
}

/** tag_in_use (409): deleting a tag annotations carry needs the researcher's `detach`. */
export function tagInUse(tag: TagRow, used: number): UserInputError {
  return new UserInputError('tag_in_use', `Tag "${tag.name}" is used by ${used} annotation(s); detach it first (标签正在使用中)`, 409);
}
