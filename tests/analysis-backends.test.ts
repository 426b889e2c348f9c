/**
 * The concordance, collocates, dispersion and co-occurrence views on the
 * backend under test (run on both: see both-backends.ts), against oracles
 * that do not go through the index: a scan of the papers' passage texts for
 * the concordance count, and the embedded engine's own answers (an app over
 * the engine alone) for collocates, dispersion and the concordance lines.
 * On PostgreSQL the matches come from its index, and the offsets, windows and
 * corpus frequencies must still come out the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { loadGlossary } from '../src/pipeline/glossary.js';
import { joinPieces } from '../src/pipeline/segment.js';
import { TEST_BACKEND, startAppOnTestBackend } from './helpers/backends.js';
import { copySample } from './helpers/sample.js';
import { type TestServer, startServer } from './helpers/server.js';

let engine: Engine;
/** The app over the embedded engine alone: the reference answers. */
let reference: TestServer;
/** The app on the backend under test, with its annotations there too. */
let served: Awaited<ReturnType<typeof startAppOnTestBackend>>;

beforeAll(async () => {
  const dir = copySample();
  engine = await openCorpus(dir);
  reference = await startServer({ engine });
  served = await startAppOnTestBackend(engine, loadGlossary(dir));
});
afterAll(async () => {
  await reference?.close();
  await served?.close();
});

async function json<T = Record<string, unknown>>(server: TestServer, path: string, init?: RequestInit): Promise<T> {
  const r = await fetch(`${server.url}${path}`, init);
  const body = (await r.json()) as T;
  if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

/** Occurrences of `re` in what the papers' passages hold (their pieces joined: running headers and page furniture left out). */
function scan(re: RegExp): number {
  let n = 0;
  for (const d of engine.documents()) for (const p of d.passages) n += joinPieces(d.text, p.pieces).text.match(re)?.length ?? 0;
  return n;
}

interface Line {
  docId: string;
  passageId: number;
  start: number;
  end: number;
  keyword: string;
  [k: string]: unknown;
}
/** A concordance's lines as both backends must agree on them (passage ids are each backend's own). */
const lines = (r: { lines: Line[] }) => r.lines.map(({ passageId: _id, ...l }) => l);

describe(`analysis views on the ${TEST_BACKEND} backend`, () => {
  it('counts every occurrence of 对口支援 and of an English word, as a scan of the passages does', async () => {
    const cases: [string, RegExp][] = [
      ['对口支援', /对口支援/g],
      // Whole words, any case: the analyzer folds case, and "Tibet" has no other form in the sample ("Tibetan" is another word).
      ['Tibet', /(?<![\p{L}\p{N}])tibet(?![\p{L}\p{N}])/giu],
    ];
    for (const [q, re] of cases) {
      const expected = scan(re);
      expect(expected, q).toBeGreaterThan(50);
      const r = await json<{ total: number; lines: Line[] }>(served, `/api/concordance?q=${encodeURIComponent(q)}&expand=0&limit=1000`);
      expect(r.total, q).toBe(expected);
      // Each line's offsets are the word's own place in the paper's text (an English word's token keeps its possessive).
      for (const l of r.lines) {
        const text = engine.document(l.docId)!.text;
        expect(text.slice(l.start, l.end), q).toMatch(new RegExp(`^${q}(['’]s)?$`, 'i'));
      }
      const d = await json<{ total: number }>(served, `/api/dispersion?q=${encodeURIComponent(q)}&expand=0`);
      expect(d.total, q).toBe(expected);
    }
  });

  it('gives the same concordance, collocates and dispersion as the embedded engine', async () => {
    const queries = [
      '对口支援',
      'Tibet',
      '"counterpart support"',
      '援藏 OR Xinjiang',
      'poverty lang:en',
      '对口支援 doc:wang-duikou-zhiyuan-mechanism',
    ];
    for (const q of queries) {
      const e = encodeURIComponent(q);
      for (const sort of ['doc', 'left', 'right']) {
        const path = `/api/concordance?q=${e}&sort=${sort}&limit=1000`;
        const [mine, theirs] = await Promise.all([
          json<{ total: number; lines: Line[] }>(served, path),
          json<{ lines: Line[] }>(reference, path),
        ]);
        expect(mine.total, path).toBeGreaterThan(0);
        expect(lines(mine), path).toEqual(lines(theirs));
      }
      for (const path of [`/api/collocates?q=${e}`, `/api/collocates?q=${e}&window=3&min=2`, `/api/dispersion?q=${e}`]) {
        const [mine, theirs] = await Promise.all([json(served, path), json(reference, path)]);
        expect(mine, path).toEqual(theirs);
      }
    }
    // Collocates are not trivially empty: the comparison above compared something.
    const c = await json<{ collocates: { corpusFrequency: number }[] }>(served, `/api/collocates?q=${encodeURIComponent('对口支援')}`);
    expect(c.collocates.length).toBeGreaterThan(5);
    expect(c.collocates.every((x) => x.corpusFrequency > 0)).toBe(true);
  });

  it('applies tag: filters and builds the co-occurrence table from the annotations on this backend', async () => {
    const docId = 'wang-duikou-zhiyuan-mechanism';
    const text = engine.document(docId)!.text;
    const first = text.indexOf('对口支援');
    const second = text.indexOf('对口支援', first + 1000);
    const post = (start: number, end: number, tags: string[]) =>
      json(served, '/api/annotations', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ docId, start, end, exact: text.slice(start, end), tags }),
      });
    await post(first, first + 4, ['机制', 'policy 𠀀']);
    await post(second, second + 4, ['机制']);

    const tagged = await json<{ total: number; lines: Line[] }>(served, `/api/concordance?q=${encodeURIComponent('对口支援 tag:机制')}`);
    const passages = engine
      .document(docId)!
      .passages.filter(
        (p) => p.pieces.some((s) => s.start <= first && first < s.end) || p.pieces.some((s) => s.start <= second && second < s.end),
      );
    const expected = passages.reduce((n, p) => n + (joinPieces(text, p.pieces).text.match(/对口支援/g)?.length ?? 0), 0);
    expect(tagged.total).toBe(expected);
    expect(tagged.lines.map((l) => l.start)).toEqual(expect.arrayContaining([first, second]));

    const cooc = await json<{ tags: string[]; counts: number[][] }>(served, '/api/cooccurrence');
    const i = cooc.tags.indexOf('机制');
    const j = cooc.tags.indexOf('policy 𠀀');
    expect(cooc.counts[i]![i]).toBe(2);
    expect(cooc.counts[i]![j]).toBe(1);
    expect(cooc.counts[j]![i]).toBe(1);

    // The pages render on this backend too.
    for (const path of ['/concordance', '/collocates', '/dispersion']) {
      const r = await fetch(`${served.url}${path}?q=${encodeURIComponent('对口支援')}`);
      expect(r.status, path).toBe(200);
      expect(await r.text(), path).toContain('对口支援');
    }
    const page = await fetch(`${served.url}/cooccurrence`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('policy 𠀀');
  });

  // A question's hit opened in its paper marks the question's words, on the lab server as here.
  it('marks the words of a question in its paper as the embedded engine does', async () => {
    const marksOf = async (server: TestServer, docId: string, q: string) => {
      const html = await (await fetch(`${server.url}/documents/${docId}?q=${encodeURIComponent(q)}`)).text();
      expect(html).toContain('class="closest"');
      // The search's marks only (they carry the match number), not the annotations' highlights.
      return [...html.matchAll(/<mark\b[^>]*>/g)]
        .map((m) => m[0])
        .filter((tag) => / id="m-\d+"/.test(tag))
        .map((tag) => `${/data-start="(\d+)"/.exec(tag)![1]}-${/data-end="(\d+)"/.exec(tag)![1]}`);
    };
    for (const [docId, q] of [
      ['li-zhong-personalized-pairing', 'how are village cadres selected'],
      ['wang-duikou-zhiyuan-mechanism', '对口支援的资金从哪里来'],
    ] as const) {
      const want = await marksOf(reference, docId, q);
      expect(want.length, q).toBeGreaterThan(0);
      expect(await marksOf(served, docId, q), q).toEqual(want);
    }
  });
});
