/**
 * Moving a library between backends (`duikou migrate --to postgres://…` and
 * back `--to <folder>`): its papers (ids, canonical texts, metadata), its
 * annotations and its tags, verified. The copy must have as many papers,
 * annotations and tags as the source; the W3C Web Annotation export of both
 * must be byte-for-byte the same (compared by SHA-256), and so must a
 * listing of the papers (each id, the SHA-256 of its text and its metadata).
 */
import { createHash } from 'node:crypto';
import { UserInputError } from '../core/errors.js';
import type { LoadedDocument } from '../core/types.js';
import { stringifyWebAnnotations } from '../export/webannotation.js';
import type { PaperShelf } from './papers.js';
import type { AnnotationBackend } from './types.js';

/** What identifies a library's content for the check. */
export interface LibraryDigest {
  annotations: number;
  tags: number;
  /** SHA-256 (hex) of the W3C JSON export of every annotation and tag definition. */
  sha256: string;
}

/** {@link LibraryDigest} with the papers. */
export interface FullDigest extends LibraryDigest {
  papers: number;
  /** SHA-256 (hex) of {@link papersListing}. */
  papersSha256: string;
}

/** Count a library and hash its W3C export (with a fixed collection id, so equal libraries hash equal). */
export async function libraryDigest(b: AnnotationBackend): Promise<LibraryDigest> {
  const annotations = await b.list();
  const tags = (await b.listTags()).map((t) => ({ name: t.name, colour: t.colour, description: t.description }));
  const json = stringifyWebAnnotations({ annotations, tags }, { id: 'urn:duikou:library', label: 'duikou library' });
  return { annotations: annotations.length, tags: tags.length, sha256: createHash('sha256').update(json).digest('hex') };
}

/**
 * The papers as the check compares them: one JSON line per paper, by id, with
 * the SHA-256 of its canonical text (computed here, not the stored hash) and
 * its metadata. The file it came from and a PDF's page starts are not
 * compared: a paper copied into a folder becomes a `.txt` of its text.
 */
export function papersListing(docs: readonly LoadedDocument[]): string {
  return [...docs]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((d) =>
      JSON.stringify([d.id, createHash('sha256').update(d.text, 'utf8').digest('hex'), d.title, d.authors, d.year, d.venue, d.lang]),
    )
    .join('\n');
}

/** Count and hash a library's papers. */
export async function papersDigest(shelf: PaperShelf): Promise<{ papers: number; papersSha256: string }> {
  const docs = await shelf.papers();
  return { papers: docs.length, papersSha256: createHash('sha256').update(papersListing(docs)).digest('hex') };
}

const notEmpty = () =>
  new UserInputError(
    'target_not_empty',
    'The target library already holds papers, annotations or tags; migrate into an empty one (目标库不为空)',
    409,
  );

/**
 * Copy every annotation (ids, offsets, quotes, timestamps, status kept) and
 * tag definition from `from` into the empty library `to`, in one transaction
 * there, then check the copy.
 * @throws UserInputError target_not_empty when `to` already holds annotations or tags
 * @throws Error when the copy's counts or checksum differ from the source's
 */
export async function copyLibrary(from: AnnotationBackend, to: AnnotationBackend): Promise<LibraryDigest> {
  if ((await to.list()).length > 0 || (await to.listTags()).length > 0) throw notEmpty();
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

/**
 * Copy a whole library — papers first, then annotations and tags — into an
 * empty one, and check both parts of the copy against the source. When the
 * annotations cannot be copied, the papers written are taken away again.
 * @throws UserInputError target_not_empty when the target holds papers, annotations or tags (nothing is written)
 * @throws Error when the copy differs from the source
 */
export async function copyWholeLibrary(
  from: { annotations: AnnotationBackend; papers: PaperShelf },
  to: { annotations: AnnotationBackend; papers: PaperShelf },
): Promise<FullDigest> {
  if (!(await to.papers.isEmpty()) || (await to.annotations.list()).length > 0 || (await to.annotations.listTags()).length > 0) {
    throw notEmpty();
  }
  const docs = await from.papers.papers();
  const source = createHash('sha256').update(papersListing(docs)).digest('hex');
  await to.papers.add(docs);
  const copied = await papersDigest(to.papers);
  let annotations: LibraryDigest;
  try {
    if (copied.papers !== docs.length || copied.papersSha256 !== source) {
      throw new Error(
        `the papers copied differ from the source: ${copied.papers}/${docs.length} papers, checksum ${copied.papersSha256.slice(0, 12)} vs ${source.slice(0, 12)}`,
      );
    }
    annotations = await copyLibrary(from.annotations, to.annotations);
  } catch (err) {
    await to.papers.remove(docs.map((d) => d.id));
    throw err;
  }
  return { ...annotations, ...copied };
}
