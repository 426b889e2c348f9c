/**
 * Server-rendered pages over the annotation store: the list of quote cards
 * (`/annotations`, filtered by tag, paper and text, orphans in their own
 * section) and the tag tree (`/tags`). Both work without JavaScript for
 * reading and filtering; editing goes through the JSON API from page scripts
 * (public/js/annotations.js, public/js/tags.js). Views print everything with
 * `<%=`, so notes, tags, titles and quotes are escaped.
 */
import { type Request, Router } from 'express';
import type { Engine } from '../engine.js';
import { formatPages } from '../export/citation.js';
import type { AnnotationBackend } from '../backends/types.js';
import type { Annotation, Tag } from '../store/annotations.js';
import { withSection } from './annotations-api.js';
import { cooccurringIn, passagesIn } from '../store/cooccurrence.js';
import { str } from './params.js';
import { viewerOf } from './accounts.js';

type Query = Record<string, unknown>;

const htmlLang = (l: string) => (l === 'zh' ? 'zh-Hans' : 'en');

/** `/annotations?…` for a filter, leaving empty fields out. */
export function annotationsUrl(f: { tag?: string; docId?: string; q?: string }): string {
  const u = new URLSearchParams();
  if (f.tag) u.set('tag', f.tag);
  if (f.docId) u.set('docId', f.docId);
  if (f.q) u.set('q', f.q);
  const qs = u.toString();
  return qs ? `/annotations?${qs}` : '/annotations';
}

const documentUrl = (docId: string) => `/documents/${encodeURIComponent(docId)}`;

/** Highlight colours with a CSS class each (the popovers offer these); the first is the store's default. */
export const PALETTE: readonly string[] = ['#ffd54f', '#a5d6a7', '#90caf9', '#f48fb1', '#ffb74d', '#ce93d8'];

/** The class of a colour: `hl-c<i>` for a palette colour, `hl-cx` (drawn by page JS from `data-colour`) for another, `hl-none` for none. */
export function colourClass(colour: string | null): string {
  if (!colour) return 'hl-none';
  const i = PALETTE.indexOf(colour.toLowerCase());
  return i < 0 ? 'hl-cx' : `hl-c${i}`;
}

/** One quote card. */
function card(engine: Engine, a: Annotation) {
  const s = withSection(engine, a);
  const doc = engine.document(a.docId);
  return {
    id: a.id,
    quote: s.quote,
    title: s.title,
    section: s.section,
    page: s.page ? formatPages(s.page, 'apa') : null,
    lang: htmlLang(doc?.lang ?? 'en'),
    docId: a.docId,
    docExists: !!doc,
    docUrl: documentUrl(a.docId),
    anchorUrl: `${documentUrl(a.docId)}#a-${encodeURIComponent(a.id)}`,
    reattachUrl: `${documentUrl(a.docId)}?${new URLSearchParams({ reattach: a.id }).toString()}`,
    tags: a.tags.map((t) => ({ name: t, url: annotationsUrl({ tag: t }) })),
    note: a.note,
    colour: a.colour,
    colourClass: colourClass(a.colour),
    coder: a.createdBy,
    editedBy: a.updatedBy !== a.createdBy ? a.updatedBy : null,
    date: a.createdAt.slice(0, 10),
    updated: a.updatedAt.slice(0, 10) !== a.createdAt.slice(0, 10) ? a.updatedAt.slice(0, 10) : null,
  };
}

async function annotationsPage(engine: Engine, store: AnnotationBackend, req: Request, viewer: string) {
  const query = req.query as Query;
  const filter = { tag: str(query, 'tag').trim(), docId: str(query, 'docId').trim(), q: str(query, 'q').trim() };
  const f = { tag: filter.tag || undefined, docId: filter.docId || undefined, q: filter.q || undefined };
  // `with=<tag>` (from the co-occurrence table): only the annotations where `tag` and that tag co-occur.
  const withTag = str(query, 'with').trim();
  const unit = str(query, 'unit') === 'passage' ? 'passage' : 'annotation';
  let live = await store.list({ ...f, orphaned: false, viewer });
  if (withTag && f.tag) {
    const all = await store.list({ orphaned: false, viewer });
    const ids = new Set(cooccurringIn(all, unit, passagesIn(engine), f.tag, withTag).map((a) => a.id));
    live = (await store.list({ orphaned: false, viewer, ...(f.docId ? { docId: f.docId } : {}), ...(f.q ? { q: f.q } : {}) })).filter((a) =>
      ids.has(a.id),
    );
  }
  const anchored = live.map((a) => card(engine, a));
  const orphaned = (await store.list({ ...f, orphaned: true, viewer })).map((a) => card(engine, a));
  const filtered = !!(f.tag || f.docId || f.q);
  return {
    title: 'Annotations 标注 · duikou',
    active: 'annotations',
    htmlLang: 'en',
    filter,
    withTag: withTag && f.tag ? withTag : '',
    withUnit: unit,
    filtered,
    documents: engine.documents().map((d) => ({ id: d.id, title: d.title })),
    tags: (await store.listTags(viewer)).map((t) => t.name),
    anchored,
    orphaned,
    clearUrl: '/annotations',
    exportFormats: EXPORT_CHOICES,
  };
}

/** The export formats offered on the annotations page, in the order a researcher reaches for them. */
const EXPORT_CHOICES = [
  { value: 'md', label: 'Markdown, with citations 带引文' },
  { value: 'docx', label: 'Word (.docx)' },
  { value: 'csv', label: 'CSV for Excel / spreadsheets 表格' },
  { value: 'qdpx', label: 'REFI-QDA (.qdpx): NVivo, ATLAS.ti, MAXQDA, QualCoder' },
  { value: 'json', label: 'W3C Web Annotation JSON (backup 备份)' },
];

/** A tag in the tree, with its children. */
export interface TagNode {
  name: string;
  /** The last level of the name (`教育` of `援藏/教育`). */
  label: string;
  tag: Tag;
  url: string;
  colourClass: string;
  children: TagNode[];
}

/** The `/` hierarchy of tags (listTags gives parents before children; a missing parent puts the tag at the top). */
export function tagTree(tags: Tag[]): TagNode[] {
  const roots: TagNode[] = [];
  const byKey = new Map<string, TagNode>();
  const key = (n: string) => n.normalize('NFKC').toLowerCase();
  for (const tag of tags) {
    const cut = tag.name.lastIndexOf('/');
    const node: TagNode = {
      name: tag.name,
      label: cut < 0 ? tag.name : tag.name.slice(cut + 1),
      tag,
      url: annotationsUrl({ tag: tag.name }),
      colourClass: colourClass(tag.colour),
      children: [],
    };
    byKey.set(key(tag.name), node);
    const parent = cut < 0 ? undefined : byKey.get(key(tag.name.slice(0, cut)));
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  return roots;
}

async function tagsPage(store: AnnotationBackend, viewer: string) {
  const tags = await store.listTags(viewer);
  return {
    title: 'Tags 标签 · duikou',
    active: 'tags',
    htmlLang: 'en',
    tree: tagTree(tags),
    names: tags.map((t) => t.name),
    palette: PALETTE,
    total: tags.length,
  };
}

/** `/annotations` and `/tags`. */
export function annotationPagesRouter(engine: Engine, store: AnnotationBackend): Router {
  const r = Router();
  r.get('/annotations', async (req, res) => {
    res.render('annotations', await annotationsPage(engine, store, req, viewerOf(res).name));
  });
  r.get('/tags', async (_req, res) => {
    res.render('tags', await tagsPage(store, viewerOf(res).name));
  });
  return r;
}
