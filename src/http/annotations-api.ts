/**
 * JSON API for annotations and tags. Bodies are checked with zod at the
 * boundary (types, sizes, unknown fields rejected); the store checks meaning
 * (offsets inside the text, the quote matching) and writes all or nothing.
 */
import { pipeline } from 'node:stream/promises';
import { type Response, Router } from 'express';
import { z } from 'zod';
import { UserInputError } from '../core/errors.js';
import type { PageRange } from '../core/types.js';
import { buildExport, placeAnnotation } from '../services/export-service.js';
import type { AnnotationBackend, PaperCatalog } from '../backends/types.js';
import type { Annotation } from '../store/annotation-types.js';
import { MAX_NOTE_LENGTH } from '../store/annotation-rules.js';
import { pinyinKeys, sortTagNames } from '../pipeline/pinyin.js';
import { flag, int, str } from './params.js';
import { viewerOf } from './accounts.js';

/**
 * Annotations per answer of `GET /api/annotations` unless `limit` asks otherwise, and the most it may ask:
 * thousands of long notes read, serialised and sent at once held the server for over a second.
 */
export const DEFAULT_ANNOTATIONS_LIMIT = 100;
export const MAX_ANNOTATIONS_LIMIT = 500;

/** Longest tag description and the most tags on one annotation accepted from a client. */
const MAX_DESCRIPTION = 2_000;
const MAX_TAGS = 50;

const offset = z.number().int().nonnegative();
const tagName = z.string().max(200);
const colour = z.string().max(16);

/**
 * A note: its length in characters (code points) is the store's to check, as for every other
 * way in; here only what no note can be (twice the limit in UTF-16 units, every character a
 * surrogate pair) is refused before it is parsed further.
 */
const note = z.string().max(2 * MAX_NOTE_LENGTH, `The note is longer than ${MAX_NOTE_LENGTH} characters (笔记过长)`);

const newAnnotation = z.strictObject({
  docId: z.string().min(1).max(200),
  start: offset,
  end: offset,
  exact: z.string().max(200_000).optional(),
  note: note.optional(),
  colour: colour.optional(),
  tags: z.array(tagName).max(MAX_TAGS).optional(),
});

const annotationPatch = z.strictObject({
  start: offset.optional(),
  end: offset.optional(),
  exact: z.string().max(200_000).optional(),
  note: note.optional(),
  colour: colour.optional(),
  tags: z.array(tagName).max(MAX_TAGS).optional(),
});

const newTag = z.strictObject({
  name: tagName,
  colour: colour.nullable().optional(),
  description: z.string().max(MAX_DESCRIPTION).optional(),
});

const tagPatch = z.strictObject({
  name: tagName.optional(),
  colour: colour.nullable().optional(),
  description: z.string().max(MAX_DESCRIPTION).optional(),
  mergeInto: tagName.optional(),
});

/**
 * Validate a request body against a schema, or throw a UserInputError that
 * names the first offending field.
 */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new UserInputError('bad_body', 'Send a JSON object with Content-Type: application/json (请求内容应为 JSON 对象)');
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = issue.path.length ? `"${issue.path.join('.')}"` : 'body';
  const message = issue.code === 'unrecognized_keys' ? `Unknown field(s): ${issue.keys.join(', ')}` : issue.message;
  throw new UserInputError('bad_field', `${where}: ${message}`);
}

/** The text a new or moved annotation is checked against: the document as it is now. */
function docText(engine: PaperCatalog, docId: string): { text: string; hash: string } {
  const d = engine.document(docId);
  if (!d) throw new UserInputError('unknown_document', `No document "${docId}" (未找到该文献)`);
  return { text: d.text, hash: d.hash };
}

/** An annotation as the API and the cards show it. */
export type PlacedAnnotation = Annotation & {
  section: string | null;
  title: string;
  /** The pages the quote stands on; null for a paper without page information (or an orphan). */
  page: PageRange | null;
  /** The quote as a reader sees it: `exact` with a page-break join it crosses closed. */
  quote: string;
};

/** An annotation with where it sits in the paper (section, pages) and its whole quote, for lists and cards. */
export function withSection(engine: PaperCatalog, a: Annotation): PlacedAnnotation {
  const d = engine.document(a.docId);
  const placed = placeAnnotation(engine, a);
  return { ...a, section: placed.section ?? null, title: d?.title ?? a.docId, page: placed.page ?? null, quote: placed.quote ?? a.exact };
}

/** A tag name's toneless pinyin and initials ('' for a name without Chinese). */
const tagPinyin = (name: string) => {
  const k = pinyinKeys(name);
  return { pinyin: k.full, initials: k.initials };
};

/** A coder changes only their own annotations; the owner any (after discussion, the group's). */
export function mayChange(res: Response, a: Annotation): void {
  const v = viewerOf(res);
  if (v.role !== 'owner' && a.createdBy !== v.name) {
    throw new UserInputError(
      'forbidden',
      `This annotation is ${a.createdBy}'s; only they or the owner can change it (只能修改自己的标注)`,
      403,
    );
  }
}

/** The `/api/annotations` and `/api/tags` routes. */
export function annotationsRouter(engine: PaperCatalog, store: AnnotationBackend): Router {
  const r = Router();

  r.post('/annotations', async (req, res) => {
    const body = parseBody(newAnnotation, req.body);
    const a = await store.create(body, docText(engine, body.docId), viewerOf(res).name);
    res.status(201).json(withSection(engine, a));
  });

  // The group's version after discussion (the owner's, by the role table): accept one coder's, or merge overlapping ones.
  const mergeBody = z.strictObject({ ids: z.array(z.string().max(100)).min(1).max(20) });
  const merge = async (ids: readonly string[], res: Response) => {
    const first = await store.get(ids[0]!, viewerOf(res).name);
    if (!first) throw new UserInputError('not_found', `No annotation "${ids[0]}" (未找到该标注)`, 404);
    const a = await store.merge(ids, docText(engine, first.docId), viewerOf(res).name);
    res.status(201).json(withSection(engine, a));
  };
  r.post('/annotations/merge', async (req, res) => merge(parseBody(mergeBody, req.body).ids, res));
  r.post('/annotations/:id/accept', async (req, res) => merge([req.params.id], res));

  r.get('/annotations', async (req, res) => {
    const viewer = viewerOf(res).name;
    const orphaned = str(req.query, 'orphaned') === '' ? undefined : flag(req.query, 'orphaned', false);
    const docId = str(req.query, 'docId') || undefined;
    const tag = str(req.query, 'tag') || undefined;
    const q = str(req.query, 'q') || undefined;
    const offset = int(req.query, 'offset', 0, 0, 10_000_000);
    const limit = int(req.query, 'limit', DEFAULT_ANNOTATIONS_LIMIT, 1, MAX_ANNOTATIONS_LIMIT);
    const page = await store.listPage({ docId, tag, q, orphaned, viewer }, { offset, limit });
    // An empty page ends the list even when the count, taken apart from it, says there is more.
    const end = offset + page.annotations.length;
    const next = page.annotations.length > 0 && end < page.total ? end : null;
    res.json({ total: page.total, offset, limit, next, annotations: page.annotations.map((a) => withSection(engine, a)) });
  });

  r.get('/annotations/:id', async (req, res) => {
    const a = await store.get(req.params.id, viewerOf(res).name);
    if (!a) throw new UserInputError('not_found', `No annotation "${req.params.id}" (未找到该标注)`, 404);
    res.json(withSection(engine, a));
  });

  r.patch('/annotations/:id', async (req, res) => {
    const patch = parseBody(annotationPatch, req.body);
    const current = await store.get(req.params.id, viewerOf(res).name);
    if (!current) throw new UserInputError('not_found', `No annotation "${req.params.id}" (未找到该标注)`, 404);
    mayChange(res, current);
    const moving = patch.start !== undefined || patch.end !== undefined || patch.exact !== undefined;
    const a = await store.update(req.params.id, patch, moving ? docText(engine, current.docId) : undefined, viewerOf(res).name);
    res.json(withSection(engine, a));
  });

  r.delete('/annotations/:id', async (req, res) => {
    const current = await store.get(req.params.id, viewerOf(res).name);
    if (!current) throw new UserInputError('not_found', `No annotation "${req.params.id}" (未找到该标注)`, 404);
    mayChange(res, current);
    const a = await store.delete(req.params.id);
    res.json({ deleted: a.id });
  });

  // In pinyin order, each tag with its pinyin and initials, so a tag box finds 对口支援 by `dkzy`.
  r.get('/tags', async (_req, res) => {
    const tags = await store.listTags(viewerOf(res).name);
    const order = new Map(sortTagNames(tags.map((t) => t.name)).map((n, i) => [n, i]));
    tags.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
    res.json({ tags: tags.map((t) => ({ ...t, ...tagPinyin(t.name) })) });
  });

  r.post('/tags', async (req, res) => {
    res.status(201).json(await store.createTag(parseBody(newTag, req.body)));
  });

  r.patch('/tags/:name', async (req, res) => {
    res.json(await store.updateTag(req.params.name, parseBody(tagPatch, req.body)));
  });

  r.delete('/tags/:name', async (req, res) => {
    const detached = await store.deleteTag(req.params.name, { detach: flag(req.query, 'detach', false) });
    res.json({ deleted: req.params.name, detached });
  });

  r.get('/export', async (req, res) => {
    const out = await buildExport(engine, store, {
      format: str(req.query, 'format') || 'md',
      tag: str(req.query, 'tag') || undefined,
      docId: str(req.query, 'docId') || undefined,
      q: str(req.query, 'q') || undefined,
      style: str(req.query, 'style') || undefined,
      groupBy: str(req.query, 'groupBy') || undefined,
      lang: str(req.query, 'lang') || undefined,
      viewer: viewerOf(res).name,
    });
    res.set('Content-Type', out.contentType);
    res.set('Content-Disposition', out.name.contentDisposition);
    res.set('X-Duikou-Count', String(out.count));
    // Streamed: 10,000 annotations never become one string or buffer in memory.
    await pipeline(out.body, res);
  });

  return r;
}
