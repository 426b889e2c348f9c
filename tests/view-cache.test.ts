/**
 * Pages are drawn from templates compiled once per process. Express caches
 * views only when NODE_ENV is `production`, which `npm start` does not set:
 * without `view cache`, every request read and compiled its templates again,
 * the annotations page's card template once per card (100 a page).
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { type TestServer, startServer } from './helpers/server.js';
import { SAMPLE } from './helpers/sample.js';

// The instance Express loads (`require('ejs')`): the package's ES module build is another copy.
const ejs = createRequire(import.meta.url)('ejs') as { compile: (...args: unknown[]) => unknown };

let server: TestServer;

beforeAll(async () => {
  const engine = await openCorpus(SAMPLE);
  const store = new AnnotationStore(openDatabase(':memory:'));
  const doc = engine.documents().find((d) => d.text.includes('对口支援'))!;
  const start = doc.text.indexOf('对口支援');
  for (let i = 0; i < 3; i++)
    store.create({ docId: doc.id, start, end: start + '对口支援'.length, note: `note ${i}`, tags: ['援藏'] }, doc);
  server = await startServer({ engine, store });
});

afterAll(() => server?.close());

describe('templates', () => {
  const pages = ['/', '/annotations', `/search?q=${encodeURIComponent('对口支援')}`, '/search?q=support', '/tags', '/no-such-page'];

  it('are compiled at the first request for a page, never again', async () => {
    for (const p of pages) await (await fetch(server.url + p)).text();
    const compile = vi.spyOn(ejs, 'compile');
    try {
      for (const p of pages) {
        const res = await fetch(server.url + p);
        expect(res.status, p).toBe(p === '/no-such-page' ? 404 : 200);
        expect(await res.text(), p).toContain('<html');
      }
      expect(compile).not.toHaveBeenCalled();
    } finally {
      compile.mockRestore();
    }
  });
});
