import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { CorpusDocument, Span } from '../src/core/types.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { parseTable } from '../src/http/passage-html.js';
import { type TestServer, startServer } from './helpers/server.js';
import { SAMPLE } from './helpers/sample.js';

let engine: Engine;
let server: TestServer;

beforeAll(async () => {
  engine = await openCorpus(SAMPLE);
  server = await startServer({ engine });
}, 120_000);
afterAll(() => server?.close());

async function page(path: string): Promise<{ status: number; html: string; type: string | null }> {
  const res = await fetch(server.url + path);
  return { status: res.status, html: await res.text(), type: res.headers.get('content-type') };
}

/** A script element that is not one of duikou's own module files. */
const INLINE_SCRIPT = /<script(?![^>]*\ssrc="\/static\/js\/[a-z-]+\.js"><\/script>)/i;

const search = (params: Record<string, string>) => `/search?${new URLSearchParams(params).toString()}`;

// --- a minimal reading of our own HTML ------------------------------------------

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#34': '"' };
const unescapeHtml = (s: string) => s.replace(/&(amp|lt|gt|quot|#39|#34);/g, (_, e: string) => ENTITIES[e]!);
const textContent = (html: string) => unescapeHtml(html.replace(/<[^>]*>/g, ''));

interface Ranged extends Span {
  /** Decoded text content. */
  text: string;
  /** Raw inner HTML. */
  inner: string;
  /** A mark's `data-via`, if any. */
  via?: string;
}

/** Every `<span … data-start data-end>` (they never nest) with its text content. */
function rangeSpans(html: string): Ranged[] {
  return [...html.matchAll(/<span class="(?:pc(?: join-(?:space|hyphen))?|cell)" data-start="(\d+)" data-end="(\d+)">(.*?)<\/span>/gs)].map(
    (m) => ({
      start: Number(m[1]),
      end: Number(m[2]),
      inner: m[3]!,
      text: textContent(m[3]!),
    }),
  );
}

/** Every `<mark … data-start data-end>` with its text content. */
function marks(html: string): Ranged[] {
  return [...html.matchAll(/<mark\b([^>]*?)data-start="(\d+)" data-end="(\d+)"[^>]*>(.*?)<\/mark>/gs)].map((m) => ({
    start: Number(m[2]),
    end: Number(m[3]),
    inner: m[4]!,
    text: textContent(m[4]!),
    via: /data-via="([^"]*)"/.exec(m[1]!)?.[1],
  }));
}

/** The outer HTML of the element with `id="p-<id>"` (passage elements never nest in themselves). */
function passageElement(html: string, id: number): string | null {
  const m = new RegExp(`<(h1|h2|h3|p|li|aside|div|pre) id="p-${id}"[^>]*>`).exec(html);
  if (!m) return null;
  const close = `</${m[1]}>`;
  // A div holds a table: its own closing tag is the first </div> after </table>.
  const from = m[1] === 'div' ? html.indexOf('</table>', m.index) : m.index;
  return html.slice(m.index, html.indexOf(close, from) + close.length);
}

/** Code-unit offsets covered by some span. */
function covered(spans: Span[]): Set<number> {
  const s = new Set<number>();
  for (const r of spans) for (let i = r.start; i < r.end; i++) s.add(i);
  return s;
}

// --- search page ------------------------------------------------------------------

describe('GET / and /search', () => {
  it('shows the document list as a landing page', async () => {
    for (const path of ['/', '/search', '/search?q=']) {
      const { status, html, type } = await page(path);
      expect(status).toBe(200);
      expect(type).toMatch(/text\/html/);
      expect(html).toMatch(/<html lang="[a-z-A-Z]+">/);
      expect(html).toContain('<meta charset="utf-8">');
      expect(html).toContain('/static/css/duikou.css');
      for (const d of engine.documents()) expect(html).toContain(`href="/documents/${d.id}"`);
    }
  });

  it.each(['对口支援', '"key node"'])('marks exactly the matched characters for %s', async (q) => {
    const { status, html } = await page(search({ q, limit: '50' }));
    expect(status).toBe(200);
    const result = engine.search(q, { limit: 50 });
    expect(result.total).toBeGreaterThan(0);
    expect(html).toContain(`<strong>${result.total}</strong>`);
    for (const h of result.hits) {
      // each hit's passage comes with its range and a link to the passage in its document
      expect(html).toContain(`data-start="${h.start}" data-end="${h.end}"`);
      expect(html).toContain(`/documents/${h.docId}?q=${encodeURIComponent(q).replace(/%20/g, '+')}#p-${h.passageId}`);
    }
    const doc = (id: string) => engine.requireDocument(id).text;
    // Marks: each one's text is the document's characters at its offsets, and together they cover exactly the matches.
    const hitBlocks = [...html.matchAll(/<p class="passage[^"]*" lang="[^"]*" data-start="(\d+)" data-end="(\d+)">(.*?)<\/p>/gs)];
    expect(hitBlocks).toHaveLength(result.hits.length);
    hitBlocks.forEach((b, i) => {
      const h = result.hits[i]!;
      expect(Number(b[1])).toBe(h.start);
      const ms = marks(b[3]!);
      expect(ms.length).toBeGreaterThan(0);
      for (const m of ms) expect(m.text).toBe(doc(h.docId).slice(m.start, m.end));
      expect([...covered(ms)].sort()).toEqual([...covered(h.matches)].sort());
      for (const s of rangeSpans(b[3]!)) expect(s.text).toBe(doc(h.docId).slice(s.start, s.end));
    });
    // what the user typed is marked as typed; glossary matches say what they came through
    const own = marks(html).filter((m) => !m.via);
    expect(own.length).toBeGreaterThan(0);
    if (q === '对口支援') expect(own.every((m) => m.text === '对口支援')).toBe(true);
    if (q === '"key node"') expect(own.every((m) => /^key nodes?$/i.test(m.text))).toBe(true);
    const hitVia = new Set(result.hits.flatMap((h) => h.matches.map((m) => m.via)).filter(Boolean));
    for (const m of marks(html).filter((x) => x.via)) {
      expect(hitVia.has(unescapeHtml(m.via!))).toBe(true);
      expect(html).toContain(`title="via ${m.via}"`);
    }
  });

  it('shows per-document counts that link to a filtered search', async () => {
    const q = '对口支援';
    const { html } = await page(search({ q }));
    const result = engine.search(q);
    for (const [id, n] of Object.entries(result.perDocument)) {
      expect(html).toMatch(new RegExp(`href="/search\\?q=[^"]*doc=${id}"[^>]*>[^<]*</a> <span class="n">${n}</span>`));
    }
    const filtered = await page(search({ q, doc: 'zhou-partner-assistance-overview' }));
    expect(filtered.status).toBe(200);
    expect(filtered.html).toContain(`<strong>${result.perDocument['zhou-partner-assistance-overview']}</strong>`);
  });

  it('pages with previous and next links', async () => {
    const q = '对口支援';
    const first = await page(search({ q, limit: '5' }));
    expect(first.html).toContain('rel="next"');
    expect(first.html).not.toContain('rel="prev"');
    const second = await page(search({ q, limit: '5', offset: '5' }));
    expect(second.html).toContain('rel="prev"');
    expect(second.html).toContain('<ol class="hits" start="6">');
    expect(second.html).toMatch(new RegExp(`<span>6–10 / ${engine.search(q, { limit: 5 }).total}</span>`));
    // The concordance pages its lines with the same links.
    const lines = await page(`/concordance?q=${encodeURIComponent(q)}&limit=5&offset=5`);
    expect(lines.html).toContain('rel="prev"');
    expect(lines.html).toContain('rel="next"');
    expect(lines.html).toMatch(/<span>6–10 \/ \d+<\/span>/);
  });

  it('renders a KWIC table with one row per match, keyword in its own column', async () => {
    const q = '对口支援';
    const { status, html } = await page(search({ q, view: 'kwic', limit: '10' }));
    expect(status).toBe(200);
    const result = engine.search(q, { limit: 10 });
    const rows = [
      ...html.matchAll(
        /<tr lang="[^"]*">\s*<td class="left"><span>(.*?)<\/span><\/td>\s*<td class="kw"><a href="([^"]*)"><mark[^>]*>(.*?)<\/mark><\/a><\/td>\s*<td class="right">(.*?)<\/td>/gs,
      ),
    ];
    expect(rows).toHaveLength(result.hits.reduce((n, h) => n + h.matches.length, 0));
    for (const r of rows) {
      expect(textContent(r[3]!)).toBe('对口支援');
      expect(r[2]).toMatch(/^\/documents\/[^"]+#p-\d+$/);
      expect(textContent(r[1]!)).not.toContain('\n');
      expect(textContent(r[4]!)).not.toContain('\n');
    }
  });

  it('keeps the form state and lets the form turn expansion off', async () => {
    const on = await page(search({ q: 'counterpart support', lang: 'en' }));
    expect(on.html).toMatch(/<option value="en" selected>/);
    expect(on.html).toMatch(/name="expand" value="1" checked>/);
    expect(on.html).toContain('value="counterpart support"');
    // the form always sends f=1; an unticked box sends nothing
    const off = await page('/search?f=1&q=counterpart+support&lang=&doc=&view=list');
    expect(off.status).toBe(200);
    expect(off.html).not.toMatch(/name="expand" value="1" checked>/);
    expect(off.html).toContain('expand=0');
  });

  it('labels glossary matches with the term they came through', async () => {
    // English passages can only match 对口支援 through the glossary
    const params = { q: '对口支援', lang: 'en', limit: '50' };
    const result = engine.search(params.q, { lang: 'en', limit: 50 });
    const via = result.hits.flatMap((h) => h.matches).find((m) => m.via);
    expect(via).toBeDefined();
    const { html } = await page(search(params));
    expect(html).toContain(`title="via ${via!.via}"`);
    expect(html).toContain(`>via <span lang="en">${via!.via}</span></span>`);
    expect(html).toMatch(/<mark class="via"/);
  });

  it('escapes an XSS-looking query everywhere', async () => {
    const q = '<script>alert(1)</script>';
    const { status, html } = await page(search({ q }));
    expect([200, 400]).toContain(status);
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).not.toMatch(INLINE_SCRIPT);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const attr = await page(search({ q: '"><img src=x onerror=alert(1)>' }));
    expect(attr.html).not.toContain('<img');
    const docPage = await page(`/documents/wang-duikou-zhiyuan-mechanism?q=${encodeURIComponent(q)}`);
    expect(docPage.html).not.toMatch(INLINE_SCRIPT);
    expect(docPage.html).not.toContain('<script>alert(1)');
  });

  it.each([
    ['lang=xx', '"lang" must be zh or en'],
    ['q=a&limit=0', '"limit"'],
    ['q=a&view=grid', '"view"'],
    ['q=a&q=b', '"q"'],
    ['q=a&doc=no-such-paper', 'no-such-paper'],
  ])('answers bad input %s with the search page and the message beside the box', async (qs, message) => {
    const { status, html, type } = await page(`/search?${qs}`);
    expect(status).toBe(qs.includes('no-such-paper') ? 404 : 400);
    expect(type).toMatch(/text\/html/);
    expect(html).not.toContain('class="error-page"');
    expect(html).toContain('id="q-error"');
    expect(html).toContain(unescapeHtml(message).replace(/"/g, '&#34;'));
  });
});

// --- document page ------------------------------------------------------------------

/** Check every passage element of a rendered document against the document text. */
function checkDocument(doc: CorpusDocument, html: string): void {
  for (const p of doc.passages) {
    const el = passageElement(html, p.id);
    expect(el, `passage ${p.id} (${p.kind})`).not.toBeNull();
    expect(el!).toContain(`data-start="${p.start}" data-end="${p.end}"`);
    const spans = rangeSpans(el!);
    for (const s of spans) expect(s.text).toBe(doc.text.slice(s.start, s.end));
    if (p.kind === 'table' && /^<div/.test(el!)) {
      // a parsed table: its cells are ranges inside the passage's pieces
      for (const s of spans) expect(p.pieces.some((pc) => pc.start <= s.start && s.end <= pc.end)).toBe(true);
    } else {
      // everything else: one span per piece, holding exactly that piece's text
      expect(spans.map(({ start, end }) => ({ start, end }))).toEqual(p.pieces.map(({ start, end }) => ({ start, end })));
      for (const pc of p.pieces) expect(spans.find((s) => s.start === pc.start)!.text).toBe(doc.text.slice(pc.start, pc.end));
    }
  }
}

describe('GET /documents/:id', () => {
  it('renders every passage of every document with pieces that map to document offsets', async () => {
    for (const d of engine.documents()) {
      const { status, html } = await page(`/documents/${d.id}`);
      expect(status).toBe(200);
      expect(html).not.toContain('<mark');
      checkDocument(engine.requireDocument(d.id), html);
    }
  });

  it('uses headings by level, lists for references, asides for footnotes and tables for tables', async () => {
    const d = engine.requireDocument('wang-duikou-zhiyuan-mechanism');
    const { html } = await page(`/documents/${d.id}`);
    for (const p of d.passages) {
      const el = passageElement(html, p.id)!;
      const tag = /^<([a-z0-9]+)/.exec(el)![1];
      const expected = { title: 'h1', heading: (p.level ?? 1) <= 1 ? 'h2' : 'h3', reference: 'li', 'list-item': 'li', footnote: 'aside' }[
        p.kind as string
      ];
      if (expected) expect(tag, `${p.kind} ${p.id}`).toBe(expected);
    }
    expect(html).toContain('<ol class="references">');
    const tables = d.passages.filter((p) => p.kind === 'table');
    expect(tables.length).toBeGreaterThan(0);
    expect(tables.some((p) => /^<div[^>]*><table>/.test(passageElement(html, p.id)!))).toBe(true);
  });

  it('marks every match of q in its passage and links to each', async () => {
    for (const q of ['对口支援', '"key node"']) {
      const docId = q === '对口支援' ? 'wang-duikou-zhiyuan-mechanism' : 'wang-counterpart-support-policy';
      const d = engine.requireDocument(docId);
      const { status, html } = await page(`/documents/${docId}?q=${encodeURIComponent(q)}`);
      expect(status).toBe(200);
      checkDocument(d, html);
      // The reader marks whole occurrences, as strict matching finds them (not a translation's words apart).
      const r = engine.search(q, { docs: [docId], limit: 200, match: 'strict' });
      expect(r.total).toBeLessThanOrEqual(200);
      const n = r.hits.reduce((k, h) => k + h.matches.length, 0);
      expect(html).toMatch(new RegExp(`<strong>${n}</strong> match`));
      // a counter and previous/next, not a link per match
      expect(html).toContain(`/ ${n}</span>`);
      expect(html).toContain('id="match-next" href="#m-1"');
      expect(html).toContain(`id="match-prev" href="#m-${n}"`);
      for (const h of r.hits) {
        const el = passageElement(html, h.passageId)!;
        const ms = marks(el);
        for (const m of ms) expect(m.text).toBe(d.text.slice(m.start, m.end));
        // the marked characters are the matched characters (tables drop the delimiters between cells)
        const want = covered(h.matches);
        const got = covered(ms);
        for (const i of got) expect(want.has(i)).toBe(true);
        if (h.kind !== 'table') expect(got.size).toBe(want.size);
      }
      for (let i = 1; i <= n; i++) expect(html).toContain(`id="m-${i}"`);
      expect(html).not.toContain(`id="m-${n + 1}"`);
    }
  });

  // A question found by best match opened in its paper: the words that made it a hit are marked, and
  // the page says why, rather than "0 matches" with nothing marked.
  it.each([
    ['a question', 'li-zhong-personalized-pairing', 'how are village cadres selected', ['village', 'cadres']],
    ['a word found with one nowhere', 'wang-counterpart-support-policy', 'counterpart zyxwvutsrq', ['counterpart']],
    ['a Chinese question', 'wang-duikou-zhiyuan-mechanism', '对口支援的资金从哪里来', ['资金']],
  ])('marks the words of %s that matches nothing as typed', async (_what, docId, q, words) => {
    const d = engine.requireDocument(docId);
    expect(engine.search(q, { docs: [docId], limit: 1, match: 'strict' }).total).toBe(0);
    const { status, html } = await page(`/documents/${docId}?q=${encodeURIComponent(q)}`);
    expect(status).toBe(200);
    const ms = marks(html.slice(html.indexOf('<article')));
    for (const m of ms) expect(m.text).toBe(d.text.slice(m.start, m.end));
    const marked = new Set(ms.map((m) => m.text.toLowerCase()));
    for (const w of words) expect(marked, w).toContain(w);
    expect(html).toContain('class="closest"');
    expect(html).toMatch(new RegExp(`<strong>${ms.length}</strong> match`));
  });

  it('marks nothing, and says nothing of closest words, for a single word found nowhere', async () => {
    const { html } = await page(`/documents/wang-counterpart-support-policy?q=zyxwvutsrq`);
    expect(html).toContain('<strong>0</strong> match');
    expect(html).not.toContain('class="closest"');
  });

  it('answers an unknown document with the 404 error page', async () => {
    const { status, html, type } = await page('/documents/no-such-paper');
    expect(status).toBe(404);
    expect(type).toMatch(/text\/html/);
    expect(html).toContain('class="error-page"');
    expect(html).toContain('no-such-paper');
  });

  it('answers a bad query with the 400 error page', async () => {
    const { status, html } = await page(`/documents/wang-duikou-zhiyuan-mechanism?q=${encodeURIComponent('lang:xx')}`);
    expect(status).toBe(400);
    expect(html).toContain('class="error-page"');
  });
});

describe('other pages', () => {
  it('lists the documents', async () => {
    const { status, html } = await page('/documents');
    expect(status).toBe(200);
    for (const d of engine.documents()) expect(html).toContain(`href="/documents/${d.id}"`);
  });

  it('answers an unknown path with the 404 error page', async () => {
    const { status, html } = await page('/nowhere');
    expect(status).toBe(404);
    expect(html).toContain('class="error-page"');
  });

  it('serves the stylesheet', async () => {
    const res = await fetch(`${server.url}/static/css/duikou.css`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('mark');
  });

  it('has no inline scripts, event handlers or style attributes', async () => {
    for (const path of [
      '/',
      search({ q: '对口支援' }),
      search({ q: '对口支援', view: 'kwic' }),
      '/documents/zheng-wu-task-oriented-network?q=Tibet',
      '/concordance?q=Tibet',
      '/collocates?q=Tibet',
      '/dispersion?q=Tibet',
      '/nowhere',
    ]) {
      const { html } = await page(path);
      expect(html).not.toMatch(INLINE_SCRIPT);
      expect(html).not.toMatch(/\son[a-z]+=/i);
      expect(html).not.toMatch(/\sstyle=/i);
    }
  });
});

describe('parseTable', () => {
  it('reads pipe and tab tables into cells at document offsets', () => {
    const text = 'x\n| 阶段 | 时间 |\n|---|---|\n| 萌发 | 1958 |\n| | 1960 |\ny\n\tA\tB\nR\t1\t2\n';
    const pipe = { start: text.indexOf('| 阶段'), end: text.indexOf('1960 |') + '1960 |'.length };
    const t = parseTable(text, { pieces: [pipe] })!;
    const cell = (c: Span & { empty: boolean }) => (c.empty ? '' : text.slice(c.start, c.end));
    expect(t.head.map((r) => r.map(cell))).toEqual([['阶段', '时间']]);
    expect(t.body.map((r) => r.map(cell))).toEqual([
      ['萌发', '1958'],
      ['', '1960'],
    ]);
    const tab = { start: text.indexOf('A\tB'), end: text.indexOf('2\n') + 1 };
    const t2 = parseTable(text, { pieces: [tab] })!;
    expect(t2.head.map((r) => r.map(cell))).toEqual([['', 'A', 'B']]);
    expect(t2.body.map((r) => r.map(cell))).toEqual([['R', '1', '2']]);
    expect(parseTable(text, { pieces: [{ start: 0, end: 1 }] })).toBeNull();
  });
});
