/**
 * A query that cannot run gets the search page back, not a bare error page:
 * the search box holds the query as typed, and the message stands beside it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { type TestServer, startServer } from './helpers/server.js';
import { SAMPLE } from './helpers/sample.js';

let engine: Engine;
let server: TestServer;

beforeAll(async () => {
  engine = await openCorpus(SAMPLE);
  server = await startServer({ engine });
});
afterAll(() => server.close());

/** The text the page's HTML gives an attribute value or text node (EJS escapes &<>"'). */
const escaped = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;');

describe('search error pages', () => {
  it.each([
    ['a lone quote', '"', 400, 'empty_query'],
    ['a negated Chinese term alone', '-对口支援', 400, 'empty_query'],
    ['an unknown language', 'lang:xx 对口支援', 400, 'bad_filter'],
    ['an unknown paper', 'doc:nosuch 对口支援', 404, 'unknown_document'],
    ['a query of nothing but a filter behind -', 'support -lang:zh', 400, 'bad_filter'],
  ])('keeps the search box with the query and the message beside it for %s', async (_what, q, status, code) => {
    const res = await fetch(`${server.url}/search?q=${encodeURIComponent(q)}`);
    expect(res.status).toBe(status);
    const html = await res.text();
    // the search box, holding exactly what was typed
    const input = /<input id="q" type="search" name="q" value="([^"]*)"[^>]*>/.exec(html);
    expect(input, 'the search box').not.toBeNull();
    expect(input![1]).toBe(escaped(q));
    expect(input![0]).toContain('aria-describedby="q-error"');
    // the message, right after the box, inside the search form
    const start = html.indexOf('<form class="searchform"');
    const form = html.slice(start, html.indexOf('</form>', start));
    const msg = /<p class="search-error" id="q-error" role="alert">([\s\S]*?)<\/p>/.exec(form);
    expect(msg, 'the message beside the box').not.toBeNull();
    expect(msg![1]!.length).toBeGreaterThan(10);
    if (code) expect(msg![1]).toContain(code);
    expect(html).not.toContain('class="error-page"');
  });

  it('keeps the box for a bad parameter too (an unknown document in the filter)', async () => {
    const res = await fetch(`${server.url}/search?q=${encodeURIComponent('对口支援')}&doc=nosuch`);
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).toContain('value="对口支援"');
    expect(html).toContain('id="q-error"');
    expect(html).toContain('nosuch');
  });
});
