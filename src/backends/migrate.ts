/**
 * Moving a library's annotations and tags between backends (`duikou migrate
 * --to postgres://…` and back `--to <folder>`), verified: the copy must
 * have as many annotations and tags as the source, and the W3C Web
 * Annotation export of both must be byte-for-byte the same (compared by
 * SHA-256).
 */
import { createHash } from 'node:crypto';
import { UserInputError } from '../core/errors.js';
import { stringifyWebAnnotations } from '../export/webannotation.js';
import type { AnnotationBackend } from './types.js';

/** What identifies a library's content for the check. */
export interface LibraryDigest {
  annotations: number;
  tags: number;
  /** SHA-256 (hex) of the W3C JSON export of every annotation and tag definition. */
  sha256: string;
}

/** Count a library and hash its W3C export (with a fixed collection id, so equal libraries hash equal). */
export async function libraryDigest(b: AnnotationBackend): Promise<LibraryDigest> {
  const annotations = await b.list();
  const tags = (await b.listTags()).map((t) => ({ name: t.name, colour: t.colour, description: t.description }));
  const json = stringifyWebAnnotations({ annotations, tags }, { id: 'urn:duikou:library', label: 'duikou library' });
  return { annotations: annotations.length, tags: tags.length, sha256: createHash('sha256').update(json).digest('hex') };
}

/**
 * Copy every annotation (ids, offsets, quotes, timestamps, status kept) and
 * tag definition from `from` into the empty library `to`, in one transaction
 * there, then check the copy.
 * @throws UserInputError target_not_empty when `to` already holds annotations or tags
 * @throws Error when the copy's counts or checksum differ from the source's
 */
export async function copyLibrary(from: AnnotationBackend, to: AnnotationBackend): Promise<LibraryDigest> {
  if ((await to.list()).length > 0 || (await to.listTags()).length > 0) {
    throw new UserInputError(
      'target_not_empty',
      'The target library already holds annotations or tags; migrate into an empty one (目标库不为空)',
      409,
    );
  }
  const source = await libraryDigest(from);
  const annotations = await from.list();
  const tags = (await from.listTags()).map((t) => ({ name: t.name, colour: t.colour, description: t.description }));
  await to.restore({ annotations, tags });
  const copy = await libraryDigest(to);
  if (copy.annotations !== source.annotations || copy.tags !== source.tags || copy.sha256 !== source.sha256) {
    throw new Error(
      `the copy differs from the source: ${copy.annotations}/${source.annotations} annotations, ${copy.tags}/${source.tags} tags, ` +
        `checksum ${copy.sha256.slice(0, 12)} vs ${source.sha256.slice(0, 12)}`,
    );
  }
  return copy;
}
