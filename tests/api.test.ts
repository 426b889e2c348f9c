import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { asLibrary, loadLibraryGlossary } from '../src/library/library.js';
import { startSearchServerOnTestBackend } from './helpers/backends.js';
import type { TestServer } from './helpers/server.js';
import { SAMPLE } from './helpers/sample.js';

let engine: Engine;
let server: TestServer;

beforeAll(async () => {
  engine = await openCorpus(SAMPLE);
  server = await startSearchServerOnTestBackend(engine, loadLibraryGlossary(asLibrary(SAMPLE)));
});
afterAll(() => server.close());

async function get(path: string): Promise<{ status: number; body: any; type: string | null }> {
  const res = await fetch(server.url + path);
  const type = res.headers.get('content-type');
  return { status: res.status, body: type?.includes('json') ? await res.json() : await res.text(), type };
}

describe('GET /api/search', () => {
  it('returns ranked hits whose text and matches are document offsets', async () => {
    const { status, body } = await get(`/api/search?q=${encodeURIComponent('对口支援')}&lang=zh&limit=5`);
    expect(status).toBe(200);
    expect(body.query).toBe('对口支援');
    expect(body.total).toBeGreaterThan(5);
    // Far below the exact-count cap: the total is exact.
    expect(body.totalRelation).toBe('eq');
    expect(body.hits).toHaveLength(5);
    const doc = engine.requireDocument(body.hits[0].docId);
    for (const h of body.hits) {
      expect(Object.keys(h).sort()).toEqual(
        ['docId', 'title', 'passageId', 'kind', 'lang', 'section', 'start', 'end', 'text', 'score', 'page', 'matches'].sort(),
      );
      expect(h.page).toBeNull(); // the seed papers are text files without page information
      expect(h.lang).toBe('zh');
      expect(h.text).toBe(engine.requireDocument(h.docId).text.slice(h.start, h.end));
      for (const m of h.matches) expect(engine.requireDocument(h.docId).text.slice(m.start, m.end)).toBe('对口支援');
    }
    expect(doc.id).toBe('wang-duikou-zhiyuan-mechanism');
  });

  it('pages with limit and offset', async () => {
    const a = (await get('/api/search?q=counterpart&limit=3')).body;
    const b = (await get('/api/search?q=counterpart&limit=3&offset=3')).body;
    const all = (await get('/api/search?q=counterpart&limit=6')).body;
    expect([...a.hits, ...b.hits].map((h: any) => h.passageId)).toEqual(all.hits.map((h: any) => h.passageId));
  });

  it('filters by doc and turns expansion off with expand=0', async () => {
    const on = (await get(`/api/search?q=${encodeURIComponent('对口支援')}&doc=zhou-partner-assistance-overview`)).body;
    expect(on.total).toBeGreaterThan(0);
    expect(on.hits.every((h: any) => h.docId === 'zhou-partner-assistance-overview')).toBe(true);
    expect(on.hits[0].matches[0].via).toBeDefined();
    const off = (await get(`/api/search?q=${encodeURIComponent('对口支援')}&doc=zhou-partner-assistance-overview&expand=0`)).body;
    expect(off.total).toBe(0);
  });

  it.each([
    ['an unknown lang', '/api/search?q=x&lang=fr', 400, 'bad_parameter'],
    ['a limit out of range', '/api/search?q=x&limit=0', 400, 'bad_parameter'],
    ['a non-numeric offset', '/api/search?q=x&offset=abc', 400, 'bad_parameter'],
    ['a repeated q', '/api/search?q=a&q=b', 400, 'bad_parameter'],
    ['an empty query', '/api/search?q=', 400, 'empty_query'],
    ['only an exclusion', '/api/search?q=-foo', 400, 'empty_query'],
    ['a 3,000-character query', `/api/search?q=${'a'.repeat(3000)}`, 400, 'query_too_long'],
    ['an unknown document filter', '/api/search?q=x&doc=nope', 404, 'unknown_document'],
    ['a bad lang: filter', `/api/search?q=${encodeURIComponent('lang:xx 对口支援')}`, 400, 'bad_filter'],
  ])('%s → %i with a clear JSON error', async (_name, path, status, code) => {
    const r = await get(path);
    expect(r.status).toBe(status);
    expect(r.type).toContain('application/json');
    expect(r.body.error.code).toBe(code);
    expect(r.body.error.message).toMatch(/\w/);
  });

  it.each([
    ['unbalanced quotes', '"key node'],
    ['only operators', 'OR OR'],
    ['control characters', 'key\u0001node'],
    ['a lone surrogate (percent-encoded)', '%ED%A0%80'],
    ['emoji', '😀😀'],
    ['malformed percent-encoding', '%E0%A4%A'],
  ])('%s never gives a 500', async (_name, q) => {
    const raw = q.startsWith('%');
    const r = await get(`/api/search?q=${raw ? q : encodeURIComponent(q)}`);
    expect(r.status).toBeLessThan(500);
    expect(r.status === 200 || r.body.error.code).toBeTruthy();
  });
});

describe('GET /api/documents', () => {
  it('lists the five papers with metadata and passage counts', async () => {
    const { status, body } = await get('/api/documents');
    expect(status).toBe(200);
    expect(body.documents.map((d: any) => d.id)).toEqual([
      'li-zhong-personalized-pairing',
      'wang-counterpart-support-policy',
      'wang-duikou-zhiyuan-mechanism',
      'zheng-wu-task-oriented-network',
      'zhou-partner-assistance-overview',
    ]);
    const zh = body.documents.find((d: any) => d.id === 'wang-duikou-zhiyuan-mechanism');
    expect(zh).toMatchObject({ lang: 'zh', authors: ['王禹澔'], year: 2022 });
    expect(zh.passages).toBeGreaterThan(50);
    expect(zh.chars).toBe(engine.requireDocument(zh.id).text.length);
  });

  it('gives one document with its text and passages', async () => {
    const { status, body } = await get('/api/documents/wang-counterpart-support-policy');
    expect(status).toBe(200);
    expect(body.text).toBe(engine.requireDocument('wang-counterpart-support-policy').text);
    const heading = body.passages.find((p: any) => body.text.slice(p.start, p.end) === '3.2.2. Key Nodes');
    expect(heading).toMatchObject({ kind: 'heading', lang: 'en' });
  });

  it('404s an unknown document with a JSON error', async () => {
    const r = await get('/api/documents/no-such-paper');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('unknown_document');
  });

  it('404s an unknown API route as JSON', async () => {
    const r = await get('/api/nothing-here');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
  });
});
