/**
 * The server-rendered annotation pages over a real store: highlights on the
 * document page cover exactly their annotation's characters (overlapping ones
 * and ones spanning paragraphs too), the annotations page filters by tag
 * (children included), paper and text and lists orphans apart, the tags page
 * shows the tree with counts, and user data is escaped everywhere.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { CARDS_PER_PAGE, CARD_SORTS, nestedName, resolveTag, sortCards, tagTree } from '../src/http/annotation-pages.js';
import { sortTagNames } from '../src/pipeline/pinyin.js';
import { AnnotationStore } from '../src/store/annotations.js';
import type { Annotation } from '../src/store/annotation-types.js';
import { openDatabase } from '../src/store/db.js';
import { type TestServer, startServer } from './helpers/server.js';
import { SAMPLE } from './helpers/sample.js';

const ZH = 'wang-duikou-zhiyuan-mechanism';
const EN = 'wang-counterpart-support-policy';
const XSS_DOC = 'xss-paper';
const XSS_QUOTE = 'Payload <script>alert("quote")</script> & <img src=x onerror=alert(2)> in the text.';
const XSS_NOTE = '<script>alert("note")</script>';
const XSS_TAG = '<img src=x onerror=alert(1)>';

let engine: Engine;
let store: AnnotationStore;
let server: TestServer;
let dir: string;
const made: Record<string, Annotation> = {};

function create(
  key: string,
  docId: string,
  from: string,
  to: string = from,
  extra: { tags?: string[]; note?: string; colour?: string } = {},
) {
  const d = engine.requireDocument(docId);
  const start = d.text.indexOf(from);
  if (start < 0) throw new Error(`${from} not in ${docId}`);
  const end = d.text.indexOf(to, start) + to.length;
  made[key] = store.create({ docId, start, end, ...extra }, d);
  return made[key]!;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'duikou-pages-'));
  const corpus = join(dir, 'corpus');
  cpSync(SAMPLE, corpus, { recursive: true });
  writeFileSync(join(corpus, `${XSS_DOC}.txt`), `A <b>bold</b> title\n\nFirst paragraph of the test paper.\n\n${XSS_QUOTE}\n`);
  engine = await openCorpus(corpus);
  store = new AnnotationStore(openDatabase(join(dir, 'duikou.db')));
  server = await startServer({ engine, store });

  create('def', ZH, '对口支援是中国特色国家治理的重要方式和机制', undefined, { tags: ['援藏/教育'], note: '定义' });
  // overlaps the end of 'def' and runs on
  create('over', ZH, '国家治理的重要方式和机制。在实践中', undefined, { tags: ['干部'], colour: '#90caf9' });
  // from the end of one paragraph into the next
  create('span', EN, 'continuously improved and enriched.', 'At present, the research', {
    tags: ['援藏'],
    note: 'two paragraphs on 对口支援',
  });
  create('xss', XSS_DOC, XSS_QUOTE, undefined, { tags: [XSS_TAG, 'path dependence'], note: XSS_NOTE });
  create('gone', EN, 'Historical institutionalism, as the main theoretical school', undefined, { tags: ['援藏/干部'], note: 'orphan' });
  store.db.prepare("UPDATE annotations SET status = 'orphaned', anchor_method = 'orphaned' WHERE id = ?").run(made.gone!.id);
}, 120_000);
afterAll(async () => {
  await server?.close();
  store?.db.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function page(path: string): Promise<{ status: number; html: string }> {
  const res = await fetch(server.url + path);
  return { status: res.status, html: await res.text() };
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#34': '"' };
const decodeEntities = (s: string) => s.replace(/&(amp|lt|gt|quot|#39|#34);/g, (_, e: string) => ENTITIES[e]!);
const textContent = (html: string) => decodeEntities(html.replace(/<[^>]*>/g, ''));

/** Highlight marks (`<mark … class="hl…" data-ids …>`, which never nest in each other) with their ids and text. */
function highlights(html: string) {
  return [...html.matchAll(/<mark\b[^>]*\bclass="hl\b[^"]*"[^>]*>(.*?)<\/mark>(?:<\/mark>)?/gs)].map((m) => {
    const tag = m[0].slice(0, m[0].indexOf('>') + 1);
    // an inner search mark closes first: take everything up to this highlight's own end
    const inner = m[1]!;
    return {
      ids: (/data-ids="([^"]*)"/.exec(tag)?.[1] ?? '').split(' '),
      start: Number(/data-start="(\d+)"/.exec(tag)?.[1]),
      end: Number(/data-end="(\d+)"/.exec(tag)?.[1]),
      id: /\bid="([^"]*)"/.exec(tag)?.[1],
      text: textContent(inner),
    };
  });
}

/** The concatenated highlighted text of one annotation on a page. */
const markedText = (html: string, id: string) =>
  highlights(html)
    .filter((h) => h.ids.includes(id))
    .map((h) => h.text)
    .join('');

describe('document page highlights', () => {
  it('covers exactly each annotation, overlapping ones included', async () => {
    const { status, html } = await page(`/documents/${ZH}`);
    expect(status).toBe(200);
    const text = engine.requireDocument(ZH).text;
    for (const key of ['def', 'over']) {
      const a = made[key]!;
      expect(markedText(html, a.id)).toBe(text.slice(a.start, a.end));
      // every segment's range is inside the annotation and its text is the document's
      for (const h of highlights(html).filter((x) => x.ids.includes(a.id))) {
        expect(h.start).toBeGreaterThanOrEqual(a.start);
        expect(h.end).toBeLessThanOrEqual(a.end);
        expect(h.text).toBe(text.slice(h.start, h.end));
      }
    }
    // the shared stretch is one mark carrying both ids, outermost first, with the overlap class
    const shared = highlights(html).filter((h) => h.ids.length === 2);
    expect(shared).toHaveLength(1);
    expect(shared[0]!.ids).toEqual([made.def!.id, made.over!.id]);
    expect(html).toMatch(/class="hl hl-c2 hl-overlap"/);
    // each annotation has one anchor to link to
    for (const key of ['def', 'over']) expect(html.split(`id="a-${made[key]!.id}"`)).toHaveLength(2);
  });

  it('covers an annotation spanning two paragraphs, leaving out what is between them', async () => {
    const { html } = await page(`/documents/${EN}`);
    const a = made.span!;
    const text = engine.requireDocument(EN).text;
    const marks = highlights(html).filter((h) => h.ids.includes(a.id));
    expect(marks.length).toBeGreaterThanOrEqual(2);
    for (const h of marks) expect(h.text).toBe(text.slice(h.start, h.end));
    // together they are the annotation's text without the blank line between the paragraphs
    expect(markedText(html, a.id)).toBe(text.slice(a.start, a.end).replace(/\s*\n\s*/g, ''));
    expect(marks[0]!.start).toBe(a.start);
    expect(marks.at(-1)!.end).toBe(a.end);
  });

  // A paper whose text has changed and whose annotations are not re-anchored yet: their offsets are
  // the old text's, so drawing them there would mark the wrong words.
  it('draws only annotations anchored on the text as it stands', async () => {
    const a = made.over!;
    const hashOf = () => (store.db.prepare('SELECT text_hash AS h FROM annotations WHERE id = ?').get(a.id) as { h: string }).h;
    const was = hashOf();
    expect(was).toBe(engine.requireDocument(ZH).hash);
    store.db.prepare('UPDATE annotations SET text_hash = ? WHERE id = ?').run('0'.repeat(64), a.id);
    try {
      const { html } = await page(`/documents/${ZH}`);
      expect(markedText(html, a.id)).toBe('');
      expect(markedText(html, made.def!.id)).toBe(made.def!.exact);
    } finally {
      store.db.prepare('UPDATE annotations SET text_hash = ? WHERE id = ?').run(was, a.id);
    }
    expect(markedText((await page(`/documents/${ZH}`)).html, a.id)).toBe(a.exact);
  });

  it('keeps search matches distinguishable inside highlights', async () => {
    const { html } = await page(`/documents/${ZH}?q=${encodeURIComponent('国家治理')}`);
    const a = made.def!;
    expect(markedText(html, a.id)).toBe(a.exact);
    // a search mark (no hl class, with its m-N id) sits inside the highlight
    expect(html).toMatch(/<mark\b[^>]*class="hl[^"]*"[^>]*><mark id="m-\d+"[^>]*>国家治理<\/mark>/);
  });

  it('does not draw orphaned annotations and includes the annotation script', async () => {
    const { html } = await page(`/documents/${EN}`);
    expect(html).not.toContain(made.gone!.id);
    expect(html).toContain('<script type="module" src="/static/js/annotate.js"></script>');
    expect(html).toContain(`data-doc-id="${EN}"`);
  });

  it('prepares re-attaching, and refuses an unknown annotation', async () => {
    const ok = await page(`/documents/${EN}?reattach=${made.gone!.id}`);
    expect(ok.status).toBe(200);
    expect(ok.html).toContain(`data-reattach="${made.gone!.id}"`);
    expect((await page(`/documents/${EN}?reattach=nope`)).status).toBe(404);
    expect((await page(`/documents/${ZH}?reattach=${made.gone!.id}`)).status).toBe(404);
  });
});

describe('annotations page', () => {
  it('lists quote cards with paper, section, tag chips, note and a link to the highlight', async () => {
    const { status, html } = await page('/annotations');
    expect(status).toBe(200);
    const def = made.def!;
    expect(html).toContain(`href="/documents/${ZH}#a-${def.id}"`);
    expect(html).toContain('对口支援是中国特色国家治理的重要方式和机制');
    expect(html).toContain(engine.requireDocument(ZH).title);
    expect(html).toContain(`href="/annotations?tag=${encodeURIComponent('援藏/教育')}"`);
    expect(html).toContain('<p class="card-note" lang="zh-Hans">定义</p>');
    // An English note that quotes a Chinese term is English (a screen reader reads it so).
    expect(html).toContain('<p class="card-note" lang="en">two paragraphs on 对口支援</p>');
    expect(html).toContain(`<time datetime="${def.createdAt.slice(0, 10)}">`);
    expect(html).toContain('href="/annotations" aria-current="page"');
  });

  const cardIds = (html: string) => [...html.matchAll(/<li class="card" id="card-([^"]+)"/g)].map((m) => m[1]);
  const section = (html: string, id: string) => {
    const i = html.indexOf(`aria-labelledby="${id}"`);
    return i < 0 ? '' : html.slice(i, html.indexOf('</section>', i));
  };

  it('filters by tag, children included', async () => {
    const { html } = await page(`/annotations?tag=${encodeURIComponent('援藏')}`);
    const anchored = cardIds(section(html, 'anchored-h'));
    expect(anchored.sort()).toEqual([made.def!.id, made.span!.id].sort());
    expect(cardIds(section(html, 'orphaned-h'))).toEqual([made.gone!.id]);
    const child = await page(`/annotations?tag=${encodeURIComponent('援藏/教育')}`);
    expect(cardIds(child.html)).toEqual([made.def!.id]);
  });

  it('filters by paper and by text', async () => {
    expect(cardIds((await page(`/annotations?docId=${ZH}`)).html).sort()).toEqual([made.def!.id, made.over!.id].sort());
    expect(cardIds((await page(`/annotations?q=${encodeURIComponent('two paragraphs')}`)).html)).toEqual([made.span!.id]);
    const none = await page(`/annotations?q=${encodeURIComponent('nothing like this')}`);
    expect(cardIds(none.html)).toEqual([]);
    expect(none.html).toContain('No annotation matches these filters');
  });

  it('shows orphans in their own section with a re-attach link and their id', async () => {
    const { html } = await page('/annotations');
    expect(cardIds(section(html, 'anchored-h'))).not.toContain(made.gone!.id);
    const orphans = section(html, 'orphaned-h');
    expect(html).toContain('<h2 id="orphaned-h">Orphaned (');
    expect(orphans).toContain('Historical institutionalism, as the main theoretical school');
    expect(orphans).toContain(`href="/documents/${EN}?reattach=${made.gone!.id}"`);
    expect(orphans).toContain(`<code>${made.gone!.id}</code>`);
    expect(orphans).toContain(`data-id="${made.gone!.id}"`);
  });
});

describe('tags page', () => {
  it('shows the tag tree with own and total counts, each linked to its forms and its annotations', async () => {
    const { status, html } = await page('/tags');
    expect(status).toBe(200);
    const node = (name: string) => {
      const i = html.indexOf(`<li class="tagnode" data-tag="${name}" `);
      expect(i, name).toBeGreaterThanOrEqual(0);
      return html.slice(i, html.indexOf('</div>', i));
    };
    // 援藏: own 1 (span), total 3 (span, def via 援藏/教育, gone via 援藏/干部)
    expect(node('援藏')).toMatch(/title="own">1<\/a> <span class="n total"[^>]*>Σ 3</);
    expect(node('援藏/教育')).toMatch(/>教育<\/a>/);
    expect(node('援藏/教育')).toMatch(/title="own">1</);
    expect(node('干部')).toContain(`href="/annotations?tag=${encodeURIComponent('干部')}"`);
    expect(node('干部')).toContain(`href="/tags?tag=${encodeURIComponent('干部')}#tag-edit"`);
    // each tag carries its pinyin and initials, for finding it by typing them
    expect(node('援藏/教育')).toContain('data-pinyin="yuanzangjiaoyu" data-initials="yzjy"');
    // children are nested inside their parent's item
    const parent = html.indexOf('data-tag="援藏"');
    const child = html.indexOf('data-tag="援藏/教育"');
    expect(parent).toBeLessThan(child);
    expect(html.slice(parent, child)).toContain('<ul class="tagtree">');
    expect(html).toContain('<script type="module" src="/static/js/tags.js"></script>');
    // no tag picked: no per-tag forms, only the one to add a tag
    expect([...html.matchAll(/<form [^>]*action="([^"]+)"/g)].map((m) => m[1]).filter((a) => a !== '/lang')).toEqual(['/tags/new']);
  });

  it('builds the hierarchy from names', () => {
    const t = (name: string) => ({ id: 0, name, colour: null, description: '', count: 0, totalCount: 0 });
    const tree = tagTree([t('a'), t('a/b'), t('a/b/c'), t('x/y')]);
    expect(tree.map((n) => n.name)).toEqual(['a', 'x/y']);
    expect(tree[0]!.children[0]!.children[0]!.label).toBe('c');
  });
});

describe('escaping', () => {
  const payloads = [XSS_NOTE, XSS_TAG, '<script>alert("quote")</script>', '<b>bold</b>'];
  const clean = (html: string) => {
    for (const p of payloads) expect(html).not.toContain(p);
    expect(html).not.toMatch(/<img\b/);
    expect(html).not.toMatch(/<script>alert/);
    expect(html).not.toMatch(/<b>/);
  };

  it('escapes notes, tags, quotes and titles on the document page', async () => {
    const { status, html } = await page(`/documents/${XSS_DOC}`);
    expect(status).toBe(200);
    clean(html);
    expect(html).toContain('&lt;script&gt;alert(&quot;quote&quot;)&lt;/script&gt;');
    expect(markedText(html, made.xss!.id)).toBe(XSS_QUOTE);
  });

  it('escapes them on the annotations page', async () => {
    const { html } = await page('/annotations');
    clean(html);
    expect(html).toMatch(/&lt;script&gt;alert\((&quot;|&#34;)note(&quot;|&#34;)\)&lt;\/script&gt;/);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('A &lt;b&gt;bold&lt;/b&gt; title');
    // orphaned cards show their quote escaped too
    store.db.prepare("UPDATE annotations SET status = 'orphaned' WHERE id = ?").run(made.xss!.id);
    try {
      const orphaned = await page('/annotations');
      clean(orphaned.html);
      expect(orphaned.html).toContain('Payload &lt;script&gt;');
    } finally {
      store.db.prepare("UPDATE annotations SET status = 'anchored' WHERE id = ?").run(made.xss!.id);
    }
  });

  it('escapes them on the tags page', async () => {
    const { html } = await page('/tags');
    clean(html);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });
});

/** POST a form as a browser without JavaScript does; the answer is not followed. */
async function post(path: string, fields: Record<string, string>): Promise<{ status: number; location: string | null; html: string }> {
  const res = await fetch(server.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
  return { status: res.status, location: res.headers.get('location'), html: await res.text() };
}

describe('coding on the cards without JavaScript', () => {
  it('retags, re-notes and recolours a card with its form, then goes back to the same view', async () => {
    const a = create('card', ZH, '在实践中', undefined, { tags: ['卡片/旧'], note: 'old' });
    const back = `/annotations?docId=${ZH}&sort=date`;
    const { html } = await page(back);
    // the card's form posts to the card, and carries the view to come back to
    expect(html).toContain(`action="/annotations/${a.id}"`);
    expect(html).toContain(`name="back" value="${back.replace(/&/g, '&amp;')}"`);
    const r = await post(`/annotations/${a.id}`, { tags: '卡片/新，第二', note: '新的笔记', colour: '#a5d6a7', back });
    expect(r.status).toBe(303);
    expect(r.location).toBe(`${back}#card-${a.id}`);
    expect(store.get(a.id)).toMatchObject({ tags: ['卡片/新', '第二'], note: '新的笔记', colour: '#a5d6a7' });
    const after = await page(back);
    expect(after.html).toContain(`value="卡片/新, 第二"`);
  });

  it('keeps tags whose names hold a comma or 、 when the card is saved as shown, with only its note changed', async () => {
    const a = create('commas', ZH, '对口支援', undefined, { tags: ['教育、医疗', 'Health, education', '援藏'] });
    const back = `/annotations?docId=${ZH}`;
    const { html } = await page(back);
    // What the card's tag field holds, as the browser would send it back.
    const card = html.slice(html.indexOf(`id="card-${a.id}"`));
    const shown = /name="tags" value="([^"]*)"/.exec(card)![1]!.replace(/&#39;/g, "'").replace(/&amp;/g, '&');
    const r = await post(`/annotations/${a.id}`, { tags: shown, note: '只改笔记', back });
    expect(r.status).toBe(303);
    expect(store.get(a.id)).toMatchObject({ tags: [...a.tags], note: '只改笔记' });
    // A tag typed after them is added; the known names still stay whole.
    await post(`/annotations/${a.id}`, { tags: `${shown}, 干部`, note: '只改笔记', back });
    expect(new Set(store.get(a.id)!.tags)).toEqual(new Set([...a.tags, '干部']));
    // Gone again, with the tags it brought: the views below count the cards and tags made above.
    store.delete(a.id);
    for (const tag of ['教育、医疗', 'Health, education']) store.deleteTag(tag);
  });

  it('shows a refusal on the page, keeping the card as it was', async () => {
    const a = made.card!;
    const r = await post(`/annotations/${a.id}`, { tags: 'x', note: 'n', colour: 'not-a-colour', back: '/annotations' });
    expect(r.status).toBe(400);
    expect(r.html).toContain('class="flash flash-error"');
    expect(store.get(a.id)!.note).toBe('新的笔记');
    // a link elsewhere is not followed back
    const elsewhere = await post(`/annotations/${a.id}`, { tags: '卡片/新', note: 'n', back: 'https://example.org/' });
    expect(elsewhere.location).toBe(`/annotations#card-${a.id}`);
    expect((await post('/annotations/nope', { tags: 'x' })).status).toBe(404);
  });

  it('deletes a card with its delete form', async () => {
    const a = made.card!;
    const r = await post(`/annotations/${a.id}/delete`, { back: `/annotations?tag=${encodeURIComponent('第二')}` });
    expect(r.status).toBe(303);
    expect(r.location).toBe(`/annotations?tag=${encodeURIComponent('第二')}`);
    expect(store.get(a.id)).toBeNull();
  });
});

describe('sorting and the tag tree beside the cards', () => {
  const cardIds = (html: string) => [...html.matchAll(/<li class="card" id="card-([^"]+)"/g)].map((m) => m[1]);
  const anchored = (html: string) =>
    cardIds(
      html.slice(html.indexOf('aria-labelledby="anchored-h"'), html.indexOf('</section>', html.indexOf('aria-labelledby="anchored-h"'))),
    );

  it('sorts the cards by paper, position, date and tag', async () => {
    const live = [made.def!, made.over!, made.span!, made.xss!];
    const pos = (a: Annotation) => a.start / engine.requireDocument(a.docId).text.length;
    for (const sort of CARD_SORTS) {
      const { html } = await page(`/annotations?sort=${sort}`);
      const ids = anchored(html);
      expect(new Set(ids), sort).toEqual(new Set(live.map((a) => a.id)));
      const shown = ids.map((id) => live.find((a) => a.id === id)!);
      for (let i = 1; i < shown.length; i++) {
        const [a, b] = [shown[i - 1]!, shown[i]!];
        if (sort === 'position') expect(pos(a), sort).toBeLessThanOrEqual(pos(b));
        if (sort === 'date') expect(a.createdAt >= b.createdAt, sort).toBe(true);
      }
      expect(html).toContain(`<option value="${sort}" selected>`);
    }
    // by paper: "A <b>bold</b> title" (a) < "Changes in Our Government's…" (c) < 中国特色… (zhong), in a paper by position
    expect(engine.requireDocument(ZH).title).toMatch(/^中国特色/);
    expect(engine.requireDocument(EN).title).toMatch(/^Changes/);
    expect(anchored((await page('/annotations')).html)).toEqual([made.xss!.id, made.span!.id, made.def!.id, made.over!.id]);
    // by tag, each quote by its first tag: <img…> (punctuation first) < 干部 (gan) < 援藏 (yuan zang) < 援藏/教育
    const byTag = anchored((await page('/annotations?sort=tag')).html);
    expect(byTag).toEqual([made.xss!.id, made.over!.id, made.span!.id, made.def!.id]);
  });

  it('sorts a table of cards exactly', () => {
    const c = (id: string, title: string, start: number, position: number, createdAt: string, tags: string[]) => ({
      id,
      title,
      docId: title,
      start,
      position,
      createdAt,
      tags: tags.map((name) => ({ name })),
    });
    const cards = [
      c('a', '中国', 50, 0.5, '2024-01-02', ['治理']),
      c('b', 'Beijing', 10, 0.9, '2024-01-03', []),
      c('c', '中国', 5, 0.05, '2024-01-01', ['安徽', '治理']),
      c('d', '安徽', 1, 0.2, '2024-01-04', ['Beijing']),
    ];
    const table: [(typeof CARD_SORTS)[number], string[]][] = [
      ['paper', ['d', 'b', 'c', 'a']], // 安徽 an < Beijing < 中国 zhong; in a paper by start
      ['position', ['c', 'd', 'a', 'b']],
      ['date', ['d', 'b', 'a', 'c']],
      ['tag', ['c', 'd', 'a', 'b']], // 安徽 < Beijing < 治理; untagged last
    ];
    for (const [sort, want] of table)
      expect(
        sortCards(cards, sort).map((x) => x.id),
        sort,
      ).toEqual(want);
  });

  it('shows the tag tree beside the cards with counts for the current paper, each filtering the cards', async () => {
    const { html } = await page(`/annotations?docId=${ZH}`);
    const side = html.slice(html.indexOf('<nav class="tagside"'), html.indexOf('</nav>', html.indexOf('<nav class="tagside"')));
    const count = (name: string) =>
      Number(new RegExp(`data-tag="${name}"[^>]*>\\s*<a[^>]*>.*?</a> <span class="n">(\\d+)</span>`, 's').exec(side)?.[1]);
    // in this paper: def (援藏/教育) and over (干部); 援藏 counts its child's
    expect(count('援藏')).toBe(1);
    expect(count('援藏/教育')).toBe(1);
    expect(count('干部')).toBe(1);
    expect(count('path dependence')).toBe(0);
    const link = `/annotations?tag=${encodeURIComponent('干部')}&amp;docId=${ZH}`;
    expect(side).toContain(`href="${link}"`);
    expect(anchored((await page(link.replace(/&amp;/g, '&'))).html)).toEqual([made.over!.id]);
  });

  it('finds a tag typed as its pinyin or initials', async () => {
    const names = ['援藏', '援藏/教育', '干部', 'path dependence'];
    const table: [string, string][] = [
      ['yz', '援藏'],
      ['yuanzang', '援藏'],
      ['yzjy', '援藏/教育'],
      ['jiaoyu', '援藏/教育'],
      ['gb', '干部'],
      ['ganbu', '干部'],
      ['Path', 'path dependence'],
      ['干部', '干部'],
      ['nothing', 'nothing'],
    ];
    for (const [typed, tag] of table) expect(resolveTag(typed, names), typed).toBe(tag);
    const { html } = await page('/annotations?tag=gb');
    expect(anchored(html)).toEqual([made.over!.id]);
    expect(html).toContain('<span class="chip" lang="zh-Hans">干部</span> <small lang="en">(gb)</small>');
  });
});

describe('tag: and note: on the search page', () => {
  const pageHits = (html: string) => [...html.matchAll(/<li class="hit">[\s\S]*?#p-(\d+)"/g)].map((m) => Number(m[1]));
  // The query, the annotations whose passages may be hits (援藏 includes its children), and those that must be.
  it.each([
    ['tag:援藏 对口支援', ['def', 'span'], ['def']],
    ['note:定义', ['def'], ['def']],
    ['tag:干部', ['over'], ['over']],
    ['note:ZZZ-no-such-note 对口支援', [], []],
  ])('%s shows the passages the API finds: those of the annotations it names', async (q, may, must) => {
    const html = (await page(`/search?q=${encodeURIComponent(q)}`)).html;
    const api = (await (await fetch(`${server.url}/api/search?q=${encodeURIComponent(q)}&limit=200`)).json()) as {
      hits: { passageId: number; start: number; end: number; docId: string }[];
    };
    expect(pageHits(html)).toEqual(api.hits.slice(0, 20).map((h) => h.passageId));
    const holds = (h: (typeof api.hits)[number], a: Annotation) => a.docId === h.docId && a.start < h.end && h.start < a.end;
    for (const h of api.hits) expect(may.some((k) => holds(h, made[k]!))).toBe(true);
    for (const k of must) expect(api.hits.some((h) => holds(h, made[k]!))).toBe(true);
  });
});

describe('many cards, a page at a time', () => {
  let many: AnnotationStore;
  let manyServer: TestServer;
  const cardIds = (html: string) => [...html.matchAll(/<li class="card" id="card-([^"]+)"/g)].map((m) => m[1]!);
  const get = async (path: string) => {
    const r = await fetch(manyServer.url + path);
    return { status: r.status, html: await r.text() };
  };
  const links = (html: string) => ({
    prev: /<a rel="prev" href="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&') ?? null,
    next: /<a rel="next" href="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&') ?? null,
  });
  // Two and a half pages tagged 援藏, a few untagged ones the filter leaves out, and a long note on each.
  const TAGGED = CARDS_PER_PAGE * 2 + CARDS_PER_PAGE / 2;
  beforeAll(async () => {
    many = new AnnotationStore(openDatabase(join(dir, 'many.db')));
    const zh = engine.requireDocument(ZH);
    const en = engine.requireDocument(EN);
    for (let i = 0; i < TAGGED + 7; i++) {
      const d = i % 2 ? zh : en;
      const start = (i * 37) % (d.text.length - 20);
      many.create({ docId: d.id, start, end: start + 10, tags: i < TAGGED ? ['援藏'] : [], note: `𠀀 note ${i} `.repeat(50) }, d);
    }
    manyServer = await startServer({ engine, store: many });
  }, 120_000);
  afterAll(async () => {
    await manyServer?.close();
    many?.db.close();
  });

  it('shows the cards of a filter in pages, each in the order of the whole list, with links that keep the filter and sort', async () => {
    const tag = encodeURIComponent('援藏');
    const all = sortCards(
      many.list({ tag: '援藏', orphaned: false }).map((a) => ({
        ...a,
        title: engine.requireDocument(a.docId).title,
        position: a.start / engine.requireDocument(a.docId).text.length,
        tags: a.tags.map((name) => ({ name })),
      })),
      'date',
    ).map((a) => a.id);
    expect(all).toHaveLength(TAGGED);
    const seen: string[] = [];
    let next: string | null = `/annotations?tag=${tag}&sort=date`;
    for (let pageNo = 0; next; pageNo++) {
      const { status, html } = await get(next);
      expect(status).toBe(200);
      expect(html).toContain(`<span id="anchored-n">${TAGGED}</span>`);
      const ids = cardIds(html);
      expect(ids.length).toBe(Math.min(CARDS_PER_PAGE, TAGGED - pageNo * CARDS_PER_PAGE));
      seen.push(...ids);
      const l = links(html);
      expect(l.prev === null).toBe(pageNo === 0);
      for (const url of [l.prev, l.next].filter((u) => u !== null)) {
        expect(new URL(url, manyServer.url).searchParams.get('tag')).toBe('援藏');
        expect(new URL(url, manyServer.url).searchParams.get('sort')).toBe('date');
      }
      next = l.next;
    }
    expect(seen).toEqual(all);
    // Past the end (its last card deleted meanwhile): the last page.
    const last = await get(`/annotations?tag=${tag}&sort=date&offset=${TAGGED + 500}`);
    expect(cardIds(last.html)).toEqual(all.slice(CARDS_PER_PAGE * 2));
    expect(links(last.html).prev).toBe(`/annotations?tag=${tag}&sort=date&offset=${CARDS_PER_PAGE}`);
    expect((await get('/annotations?offset=-1')).status).toBe(400);
    expect((await get('/annotations?offset=ten')).status).toBe(400);
  });

  // A team's thousands of long notes are megabytes: the page orders and counts keys (place, tags,
  // dates), and reads quotes and notes only for the cards it shows. With 2,000 notes of 9,000
  // characters, reading every note took 212 ms of the page's 400–540.
  it('reads notes only for the cards shown, and the keys of the rest once, plus once more for a picked tag', async () => {
    const keys = vi.spyOn(many, 'listKeys');
    const full = vi.spyOn(many, 'list');
    const shown = () => full.mock.calls.map(([filter]) => filter?.ids?.length);
    try {
      const plain = await get('/annotations');
      expect(plain.status).toBe(200);
      expect(keys).toHaveBeenCalledTimes(1);
      // One read, of the first page's cards, and no other.
      expect(shown()).toEqual([CARDS_PER_PAGE]);
      expect(full.mock.calls[0]![0]!.ids).toEqual(cardIds(plain.html));
      keys.mockClear();
      full.mockClear();
      const last = await get(`/annotations?tag=${encodeURIComponent('援藏')}&sort=date&offset=${CARDS_PER_PAGE * 2}`);
      expect(last.status).toBe(200);
      expect(keys).toHaveBeenCalledTimes(2);
      expect(shown()).toEqual([TAGGED - CARDS_PER_PAGE * 2]);
      expect(cardIds(last.html)).toHaveLength(TAGGED - CARDS_PER_PAGE * 2);
    } finally {
      keys.mockRestore();
      full.mockRestore();
    }
  });

  it('leaves out of the page a card deleted between reading the keys and reading the cards', async () => {
    const few = new AnnotationStore(openDatabase(':memory:'));
    const zh = engine.requireDocument(ZH);
    const at = zh.text.indexOf('对口支援');
    for (let i = 0; i < 3; i++) few.create({ docId: ZH, start: at + i, end: at + i + 2, note: `note ${i}` }, zh);
    const listKeys = few.listKeys.bind(few);
    let gone = '';
    // Another coder deletes the first card of the page just after the page has read the keys.
    vi.spyOn(few, 'listKeys').mockImplementation((filter) => {
      const answer = listKeys(filter);
      gone = answer[0]!.id;
      few.delete(gone);
      return answer;
    });
    const fewServer = await startServer({ engine, store: few });
    try {
      const r = await fetch(`${fewServer.url}/annotations`);
      expect(r.status).toBe(200);
      const ids = cardIds(await r.text());
      expect(gone).not.toBe('');
      expect(ids).toHaveLength(2);
      expect(ids).not.toContain(gone);
    } finally {
      await fewServer.close();
      few.db.close();
    }
  });
});

describe('the Tags page, one form per action', () => {
  const tagPage = async (name: string) => (await page(`/tags?tag=${encodeURIComponent(name)}`)).html;

  it('shows one form for each action on the tag picked, and none of its subtree as a parent', async () => {
    store.createTag({ name: '页面/甲' });
    store.createTag({ name: '页面/甲/子' });
    store.createTag({ name: '页面/乙' });
    const html = await tagPage('页面/甲');
    expect([...html.matchAll(/<form [^>]*action="([^"]+)"/g)].map((m) => m[1]).filter((a) => a !== '/lang')).toEqual([
      '/tags/edit',
      '/tags/merge',
      '/tags/delete',
      '/tags/new',
    ]);
    const parents = html.slice(html.indexOf('name="parent"'), html.indexOf('</select>', html.indexOf('name="parent"')));
    expect(parents).toContain('<option value="页面" lang="zh-Hans" selected>');
    expect(parents).toContain('<option value="页面/乙" lang="zh-Hans">');
    expect(parents).not.toContain('value="页面/甲"');
    expect(parents).not.toContain('value="页面/甲/子"');
    // A tag with children cannot be deleted, and the page says why beside the button, not only in a tooltip.
    const del = html.slice(html.indexOf('action="/tags/delete"'), html.indexOf('</form>', html.indexOf('action="/tags/delete"')));
    expect(del).toMatch(/<button type="submit" class="danger" disabled aria-describedby="tag-delete-why">/);
    expect(del).toContain('<small class="why" id="tag-delete-why">Move or delete its child tags first</small>');
    const leaf = await tagPage('页面/乙');
    expect(leaf).not.toContain('tag-delete-why');
  });

  it('nests a tag under another by picking its parent, its children following', async () => {
    const r = await post('/tags/edit', { tag: '页面/甲', name: '甲', parent: '页面/乙', colour: '#90caf9', description: 'moved' });
    expect(r.status).toBe(303);
    expect(r.location).toBe(`/tags?tag=${encodeURIComponent('页面/乙/甲')}#tag-edit`);
    const names = store.listTags().map((t) => t.name);
    expect(names).toContain('页面/乙/甲/子');
    expect(names).not.toContain('页面/甲');
    expect(store.getTag('页面/乙/甲')).toMatchObject({ colour: '#90caf9', description: 'moved' });
    // to the top level, renamed on the way
    expect((await post('/tags/edit', { tag: '页面/乙/甲', name: '顶', parent: '' })).status).toBe(303);
    expect(store.listTags().map((t) => t.name)).toContain('顶/子');
  });

  it('refuses a "/" in a name and an unknown tag, on the page', async () => {
    const slash = await post('/tags/edit', { tag: '顶', name: 'a/b', parent: '' });
    expect(slash.status).toBe(400);
    expect(slash.html).toContain('pick the parent instead');
    expect((await post('/tags/edit', { tag: 'no such tag', name: 'x', parent: '' })).status).toBe(404);
    expect(() => nestedName('p', 'x/y')).toThrow();
    expect(nestedName(' p ', ' x ')).toBe('p/x');
  });

  it('adds, merges and deletes with their own forms', async () => {
    expect((await post('/tags/new', { name: '新', parent: '页面' })).location).toBe(`/tags?tag=${encodeURIComponent('页面/新')}#tag-edit`);
    expect((await post('/tags/merge', { tag: '页面/新', mergeInto: '' })).status).toBe(400);
    expect((await post('/tags/merge', { tag: '页面/新', mergeInto: '页面/乙' })).status).toBe(303);
    expect(store.listTags().map((t) => t.name)).not.toContain('页面/新');
    const refused = await post('/tags/delete', { tag: '顶' });
    expect(refused.status).toBe(409); // it has a child
    expect((await post('/tags/delete', { tag: '顶/子' })).location).toBe('/tags');
    expect(store.listTags().map((t) => t.name)).not.toContain('顶/子');
  });

  it('lists tags in pinyin order, a parent before its children', () => {
    const table: [string[], string[]][] = [
      [
        ['治理', '安徽', '北京', 'Beijing', 'apple', '重庆', '长沙'],
        ['安徽', 'apple', '北京', 'Beijing', '长沙', '重庆', '治理'],
      ],
      [
        // 援疆 yuan jiang < 援藏 yuan zang (藏 read as in 西藏, not cáng); children after their parent, by pinyin
        ['援藏/教育', '援疆', '援藏', '援藏/干部', '对口支援'],
        ['对口支援', '援疆', '援藏', '援藏/干部', '援藏/教育'],
      ],
    ];
    for (const [given, want] of table) expect(sortTagNames(given)).toEqual(want);
    const t = (name: string) => ({ id: 0, name, colour: null, description: '', count: 0, totalCount: 0 });
    const tree = tagTree(['治理', '安徽', '援藏', '援藏/教育', '援藏/干部'].map(t));
    expect(tree.map((n) => n.label)).toEqual(['安徽', '援藏', '治理']);
    expect(tree[1]!.children.map((n) => n.label)).toEqual(['干部', '教育']);
  });
});
