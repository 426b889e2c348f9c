/**
 * Server-rendered pages over the annotation store: the list of quote cards
 * (`/annotations`, filtered by tag, paper and text, sorted, orphans in their
 * own section, a tag tree with counts beside them) and the tag tree (`/tags`).
 * Both work without JavaScript: each card's edit and delete, and each action
 * on the Tags page, is an ordinary form posted here, answered with a redirect
 * back (or the page again with the refusal). The page scripts
 * (public/js/annotations.js, public/js/tags.js) do the same through the JSON
 * API in place. Views print everything with `<%=`, so notes, tags, titles and
 * quotes are escaped.
 */
import express, { type Request, type Response, Router } from 'express';
import { UserInputError } from '../core/errors.js';
import { formatPages } from '../export/citation.js';
import { compareWords, matchesTyped, pinyinKeys, sortTagNames } from '../pipeline/pinyin.js';
import type { AnnotationBackend, PaperCatalog } from '../backends/types.js';
import type { Annotation, AnnotationKey, Tag } from '../store/annotation-types.js';
import { splitTagList } from '../store/annotation-rules.js';
import { mayChange, withSection } from './annotations-api.js';
import { cooccurringIn, passagesIn } from '../services/cooccurrence.js';
import { int, str } from './params.js';
import { viewerOf } from './accounts.js';
import { tr } from './i18n.js';

type Query = Record<string, unknown>;

const htmlLang = (l: string) => (l === 'zh' ? 'zh-Hans' : 'en');

/** The orders the annotations page sorts its cards in; the first is the default. */
export const CARD_SORTS = ['paper', 'position', 'date', 'tag'] as const;
export type CardSort = (typeof CARD_SORTS)[number];

/** `/annotations?…` for a filter, leaving empty fields (and the default sort) out. */
export function annotationsUrl(f: { tag?: string; docId?: string; q?: string; sort?: string }): string {
  const u = new URLSearchParams();
  if (f.tag) u.set('tag', f.tag);
  if (f.docId) u.set('docId', f.docId);
  if (f.q) u.set('q', f.q);
  if (f.sort && f.sort !== CARD_SORTS[0]) u.set('sort', f.sort);
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

/** How far into its paper an annotation starts, from 0 to 1 (the `position` sort). */
const positionIn = (doc: { text: string } | undefined, a: AnnotationKey): number =>
  doc && doc.text.length > 0 ? a.start / doc.text.length : 0;

/** One quote card; `canEdit` when the viewer may change it (their own, or the owner any). */
function card(engine: PaperCatalog, a: Annotation, canEdit: boolean) {
  const s = withSection(engine, a);
  const doc = engine.document(a.docId);
  return {
    id: a.id,
    canEdit,
    editUrl: `/annotations/${encodeURIComponent(a.id)}`,
    deleteUrl: `/annotations/${encodeURIComponent(a.id)}/delete`,
    tagsText: a.tags.join(', '),
    createdAt: a.createdAt,
    start: a.start,
    position: positionIn(doc, a),
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

type Card = ReturnType<typeof card>;

/**
 * Cards on one page of `/annotations`: a team's thousands of annotations, notes and all, made
 * one page of many megabytes that held the server for seconds while it was drawn.
 */
export const CARDS_PER_PAGE = 100;

/** What {@link sortCards} orders by, taken from an annotation's key without drawing its card. */
function sortKey(engine: PaperCatalog, a: AnnotationKey) {
  const doc = engine.document(a.docId);
  return {
    id: a.id,
    docId: a.docId,
    title: doc?.title ?? a.docId,
    start: a.start,
    position: positionIn(doc, a),
    createdAt: a.createdAt,
    tags: a.tags.map((name) => ({ name })),
  };
}

/** One page of a list of cards, and the addresses of the pages before and after it. */
interface CardPage {
  cards: Card[];
  total: number;
  from: number;
  to: number;
  prevUrl: string | null;
  nextUrl: string | null;
}

/** Where a list of cards comes from: the store, the viewer, and who may change a card. */
interface CardSource {
  engine: PaperCatalog;
  store: AnnotationBackend;
  viewer: string;
  may: (a: Annotation) => boolean;
}

/**
 * The cards of `list` in `sort` order from `offset` on. The list is of keys
 * (place, tags, dates: what the order reads); only the page's annotations
 * are read in full, quotes and notes, and drawn. One deleted meanwhile is
 * left out of the page.
 * @param param - the address's parameter that holds this list's offset
 */
async function cardPage(from: CardSource, list: readonly AnnotationKey[], sort: CardSort, req: Request, param: string): Promise<CardPage> {
  const { engine, store, viewer, may } = from;
  const sorted = sortCards(
    list.map((a) => sortKey(engine, a)),
    sort,
  );
  // Past the end (the last card of the last page deleted, say): the last page.
  const asked = int(req.query as Query, param, 0, 0, Number.MAX_SAFE_INTEGER);
  const offset = asked < sorted.length ? asked : Math.floor(Math.max(0, sorted.length - 1) / CARDS_PER_PAGE) * CARDS_PER_PAGE;
  const shown = sorted.slice(offset, offset + CARDS_PER_PAGE);
  const full = shown.length === 0 ? [] : await store.list({ ids: shown.map((k) => k.id), viewer });
  const byId = new Map(full.map((a) => [a.id, a]));
  const cards = shown.flatMap((k) => {
    const a = byId.get(k.id);
    return a === undefined ? [] : [card(engine, a, may(a))];
  });
  const at = (n: number) => {
    const u = new URL(req.originalUrl, 'http://duikou');
    if (n > 0) u.searchParams.set(param, String(n));
    else u.searchParams.delete(param);
    return `${u.pathname}${u.search}`;
  };
  return {
    cards,
    total: sorted.length,
    from: offset + 1,
    to: offset + cards.length,
    prevUrl: offset > 0 ? at(Math.max(0, offset - CARDS_PER_PAGE)) : null,
    nextUrl: offset + CARDS_PER_PAGE < sorted.length ? at(offset + CARDS_PER_PAGE) : null,
  };
}

/** Cards in one of the {@link CARD_SORTS} orders (the store lists them by paper id, then start). */
export function sortCards<
  C extends Pick<Card, 'title' | 'docId' | 'start' | 'position' | 'createdAt' | 'id'> & { tags: { name: string }[] },
>(cards: readonly C[], sort: CardSort): C[] {
  const inPaper = (a: C, b: C) =>
    compareWords(a.title, b.title) || (a.docId < b.docId ? -1 : a.docId > b.docId ? 1 : 0) || a.start - b.start;
  const firstTag = (c: C) => [...c.tags.map((t) => t.name)].sort(compareWords)[0];
  const order: Record<CardSort, (a: C, b: C) => number> = {
    paper: inPaper,
    position: (a, b) => a.position - b.position || inPaper(a, b),
    // newest first: what was just coded is what a researcher looks for
    date: (a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0) || inPaper(a, b),
    tag: (a, b) => {
      const ta = firstTag(a);
      const tb = firstTag(b);
      // untagged last
      if (ta === undefined || tb === undefined) return (ta === undefined ? 1 : 0) - (tb === undefined ? 1 : 0) || inPaper(a, b);
      return compareWords(ta, tb) || inPaper(a, b);
    },
  };
  return [...cards].sort(order[sort]);
}

/** The tag a typed filter means: the tag of that name, else the first (in pinyin order) whose pinyin or initials it is (`dkzy`). */
export function resolveTag(typed: string, names: readonly string[]): string {
  const key = (n: string) => n.normalize('NFKC').toLowerCase();
  if (typed === '' || names.some((n) => key(n) === key(typed))) return typed;
  return [...names].sort(compareWords).find((n) => matchesTyped(n, typed)) ?? typed;
}

/** Per tag name key: distinct annotations carrying the tag or a descendant, among `list`. */
function countsIn(list: readonly AnnotationKey[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const a of list) {
    const keys = new Set<string>();
    for (const t of a.tags) {
      const parts = t.normalize('NFKC').toLowerCase().split('/');
      for (let i = 1; i <= parts.length; i++) keys.add(parts.slice(0, i).join('/'));
    }
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

async function annotationsPage(engine: PaperCatalog, store: AnnotationBackend, req: Request, res: Response) {
  const viewer = viewerOf(res).name;
  const may = (a: Annotation) => {
    try {
      mayChange(res, a);
      return viewerOf(res).role !== 'reader';
    } catch {
      return false;
    }
  };
  const query = req.query as Query;
  const allTags = await store.listTags(viewer);
  const typedTag = str(query, 'tag').trim();
  const sortParam = str(query, 'sort');
  const sort: CardSort = (CARD_SORTS as readonly string[]).includes(sortParam) ? (sortParam as CardSort) : 'paper';
  const filter = {
    tag: resolveTag(
      typedTag,
      allTags.map((t) => t.name),
    ),
    docId: str(query, 'docId').trim(),
    q: str(query, 'q').trim(),
    sort,
  };
  const f = { tag: filter.tag || undefined, docId: filter.docId || undefined, q: filter.q || undefined };
  // `with=<tag>` (from the co-occurrence table): only the annotations where `tag` and that tag co-occur.
  const withTag = str(query, 'with').trim();
  const unit = str(query, 'unit') === 'passage' ? 'passage' : 'annotation';
  // Keys (place, tags, dates) of what the paper and text filters leave (the tree counts it, whatever
  // tag is picked), and of a picked tag's: the quotes and notes of a team's thousands of annotations
  // are megabytes, read only for the page of cards shown (cardPage).
  const unfiltered = { viewer, ...(f.docId ? { docId: f.docId } : {}), ...(f.q ? { q: f.q } : {}) };
  const around = await store.listKeys(unfiltered);
  const picked = f.tag ? await store.listKeys({ ...unfiltered, tag: f.tag }) : around;
  let live = picked.filter((a) => a.status === 'anchored');
  if (withTag && f.tag) {
    // Co-occurrence is counted over every anchored annotation, whichever paper or text is filtered.
    const all = f.docId || f.q ? await store.listKeys({ orphaned: false, viewer }) : around.filter((a) => a.status === 'anchored');
    const ids = new Set(cooccurringIn(all, unit, passagesIn(engine), f.tag, withTag).map((a) => a.id));
    live = around.filter((a) => a.status === 'anchored' && ids.has(a.id));
  }
  const from: CardSource = { engine, store, viewer, may };
  const anchored = await cardPage(from, live, sort, req, 'offset');
  const orphaned = await cardPage(
    from,
    picked.filter((a) => a.status === 'orphaned'),
    sort,
    req,
    'orphans',
  );
  const filtered = !!(f.tag || f.docId || f.q);
  const counts = countsIn(around);
  const tree = tagTree(allTags, (name) => annotationsUrl({ tag: name, docId: f.docId, q: f.q, sort }));
  return {
    title: `${tr(res)('title.annotations')} · duikou`,
    active: 'annotations',
    htmlLang: 'en',
    filter,
    typedTag: typedTag !== filter.tag ? typedTag : '',
    sorts: SORT_CHOICES,
    tree,
    counts: (name: string) => counts.get(name.normalize('NFKC').toLowerCase()) ?? 0,
    allUrl: annotationsUrl({ docId: f.docId, q: f.q, sort }),
    back: req.originalUrl.startsWith('/annotations') ? req.originalUrl : '/annotations',
    palette: PALETTE,
    withTag: withTag && f.tag ? withTag : '',
    withUnit: unit,
    filtered,
    documents: engine.documents().map((d) => ({ id: d.id, title: d.title })),
    tags: sortTagNames(allTags.map((t) => t.name)),
    anchored,
    orphaned,
    clearUrl: '/annotations',
    exportFormats: EXPORT_CHOICES,
  };
}

/** The sort orders offered on the annotations page (their labels are the catalogue's `asort.<value>`). */
const SORT_CHOICES: readonly { value: CardSort }[] = [{ value: 'paper' }, { value: 'position' }, { value: 'date' }, { value: 'tag' }];

/**
 * The export formats offered on the annotations page, in the order a researcher
 * reaches for them (their labels are the catalogue's `format.<value>`).
 */
const EXPORT_CHOICES: readonly { value: string }[] = [
  { value: 'md' },
  { value: 'docx' },
  { value: 'csv' },
  { value: 'qdpx' },
  { value: 'json' },
];

/** A tag in the tree, with its children. */
export interface TagNode {
  name: string;
  /** The last level of the name (`教育` of `援藏/教育`). */
  label: string;
  tag: Tag;
  url: string;
  /** Its annotations (the same as `url` unless the tree links elsewhere). */
  annotationsUrl: string;
  colourClass: string;
  /** The name's pinyin without tones and its initials (empty for a name without Chinese), for finding it by `dkzy`. */
  pinyin: string;
  initials: string;
  children: TagNode[];
}

/**
 * The `/` hierarchy of tags (listTags gives parents before children; a
 * missing parent puts the tag at the top), siblings in pinyin order (Chinese
 * by pinyin, Latin alphabetically, one letter order).
 * @param url - the link of a tag (default: its annotations)
 */
export function tagTree(tags: Tag[], url: (name: string) => string = (name) => annotationsUrl({ tag: name })): TagNode[] {
  const roots: TagNode[] = [];
  const byKey = new Map<string, TagNode>();
  const key = (n: string) => n.normalize('NFKC').toLowerCase();
  for (const tag of tags) {
    const cut = tag.name.lastIndexOf('/');
    const node: TagNode = {
      name: tag.name,
      label: cut < 0 ? tag.name : tag.name.slice(cut + 1),
      tag,
      url: url(tag.name),
      annotationsUrl: annotationsUrl({ tag: tag.name }),
      colourClass: colourClass(tag.colour),
      ...(({ full, initials }) => ({ pinyin: full, initials }))(pinyinKeys(tag.name)),
      children: [],
    };
    byKey.set(key(tag.name), node);
    const parent = cut < 0 ? undefined : byKey.get(key(tag.name.slice(0, cut)));
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  const sortAll = (nodes: TagNode[]): TagNode[] => {
    nodes.sort((a, b) => compareWords(a.label, b.label));
    for (const n of nodes) sortAll(n.children);
    return nodes;
  };
  return sortAll(roots);
}

/** `/tags?tag=…#tag-edit`: the Tags page with a tag's forms open. */
const tagEditUrl = (name: string) => `/tags?${new URLSearchParams({ tag: name }).toString()}#tag-edit`;

async function tagsPage(store: AnnotationBackend, req: Request, res: Response) {
  const tags = await store.listTags(viewerOf(res).name);
  const names = sortTagNames(tags.map((t) => t.name));
  const wanted = str(req.query as Query, 'tag').trim();
  const key = (n: string) => n.normalize('NFKC').toLowerCase();
  const selected = wanted === '' ? undefined : tags.find((t) => key(t.name) === key(wanted));
  const inSubtree = (n: string) => !!selected && (key(n) === key(selected.name) || key(n).startsWith(`${key(selected.name)}/`));
  const cut = selected ? selected.name.lastIndexOf('/') : -1;
  return {
    title: `${tr(res)('title.tags')} · duikou`,
    active: 'tags',
    htmlLang: 'en',
    tree: tagTree(tags, tagEditUrl),
    names,
    palette: PALETTE,
    total: tags.length,
    owner: viewerOf(res).role === 'owner',
    selected: selected
      ? {
          tag: selected,
          label: cut < 0 ? selected.name : selected.name.slice(cut + 1),
          parent: cut < 0 ? '' : selected.name.slice(0, cut),
          annotationsUrl: annotationsUrl({ tag: selected.name }),
          // A tag moves under any tag outside its own subtree; it merges into any other tag but its descendants.
          parents: names.filter((n) => !inSubtree(n)),
          mergeTargets: names.filter((n) => !inSubtree(n)),
          hasChildren: tags.some((t) => key(t.name).startsWith(`${key(selected.name)}/`)),
        }
      : null,
  };
}

/** A form field as a string ('' when absent or repeated oddly). */
const field = (body: unknown, name: string): string => {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
};

/** The full name of a tag called `label` under `parent` ('' for the top level). */
export function nestedName(parent: string, label: string): string {
  const l = label.trim();
  if (l.includes('/'))
    throw new UserInputError('bad_tag', 'A name cannot hold "/": pick the parent instead (名称不能含 "/"，请选择上级标签)');
  return parent.trim() === '' ? l : `${parent.trim()}/${l}`;
}

/** `/annotations` and `/tags`, with the forms that change them. */
export function annotationPagesRouter(engine: PaperCatalog, store: AnnotationBackend): Router {
  const r = Router();
  const form = express.urlencoded({ extended: false, limit: '64kb' });

  r.get('/annotations', async (req, res) => {
    res.render('annotations', await annotationsPage(engine, store, req, res));
  });

  /** Where a card form goes back to: the annotations page it was posted from. */
  const backOf = (req: Request) => {
    const b = field(req.body, 'back');
    return b.startsWith('/annotations') && !b.startsWith('//') ? b : '/annotations';
  };
  /** Run a form's change; a refusal shows the page again with the message (no redirect, so nothing typed is lost to a 303). */
  const orRefuse = async (req: Request, res: Response, view: 'annotations' | 'tags', change: () => Promise<string>) => {
    let to: string;
    try {
      to = await change();
    } catch (err) {
      if (!(err instanceof UserInputError)) throw err;
      const page = view === 'annotations' ? await annotationsPage(engine, store, req, res) : await tagsPage(store, req, res);
      res.status(err.status).render(view, { ...page, flash: { kind: 'error', text: err.message } });
      return;
    }
    res.redirect(303, to);
  };
  const annotationOf = async (req: Request, res: Response) => {
    const a = await store.get(String(req.params.id), viewerOf(res).name);
    if (!a) throw new UserInputError('not_found', `No annotation "${String(req.params.id)}" (未找到该标注)`, 404);
    mayChange(res, a);
    return a;
  };

  // A card's edit form: tags (comma-separated), note and colour.
  r.post('/annotations/:id', form, async (req, res) => {
    await orRefuse(req, res, 'annotations', async () => {
      const a = await annotationOf(req, res);
      // Its own tags and the vocabulary's stay whole when their names hold a comma or 、.
      const known = [...a.tags, ...(await store.listTags(viewerOf(res).name)).map((t) => t.name)];
      const tags = splitTagList(field(req.body, 'tags'), known);
      const colour = field(req.body, 'colour');
      await store.update(a.id, { tags, note: field(req.body, 'note'), ...(colour ? { colour } : {}) }, undefined, viewerOf(res).name);
      return `${backOf(req)}#card-${a.id}`;
    });
  });
  r.post('/annotations/:id/delete', form, async (req, res) => {
    await orRefuse(req, res, 'annotations', async () => {
      await store.delete((await annotationOf(req, res)).id);
      return backOf(req);
    });
  });

  r.get('/tags', async (req, res) => {
    res.render('tags', await tagsPage(store, req, res));
  });
  // The Tags page's forms, one per action, each on the tag picked in the tree.
  r.post('/tags/new', form, async (req, res) => {
    await orRefuse(req, res, 'tags', async () => {
      const t = await store.createTag({ name: nestedName(field(req.body, 'parent'), field(req.body, 'name')) });
      return tagEditUrl(t.name);
    });
  });
  r.post('/tags/edit', form, async (req, res) => {
    await orRefuse(req, res, 'tags', async () => {
      const name = field(req.body, 'tag');
      const current = await store.getTag(name);
      const next = nestedName(field(req.body, 'parent'), field(req.body, 'name'));
      const colour = field(req.body, 'colour');
      const t = await store.updateTag(current.name, {
        ...(next !== current.name ? { name: next } : {}),
        colour: colour === '' ? null : colour,
        description: field(req.body, 'description'),
      });
      return tagEditUrl(t.name);
    });
  });
  r.post('/tags/merge', form, async (req, res) => {
    await orRefuse(req, res, 'tags', async () => {
      const into = field(req.body, 'mergeInto');
      if (into === '') throw new UserInputError('bad_tag', 'Choose the tag to merge into (请选择要合并到的标签)');
      const t = await store.updateTag(field(req.body, 'tag'), { mergeInto: into });
      return tagEditUrl(t.name);
    });
  });
  r.post('/tags/delete', form, async (req, res) => {
    await orRefuse(req, res, 'tags', async () => {
      await store.deleteTag(field(req.body, 'tag'), { detach: field(req.body, 'detach') === '1' });
      return '/tags';
    });
  });
  return r;
}
