/**
 * The lab server's cache of papers' texts between queries (TextCache in
 * src/backends/postgres/search-cache.ts), without a database: a text is answered
 * only at the hash it was kept at, the bound holds, and the least recently
 * used text goes first; and its analysed titles and per-passage facts
 * (IndexCache), which queries ask for again and again.
 */
import { describe, expect, it } from 'vitest';
import { IndexCache, TextCache } from '../src/backends/postgres/search-cache.js';
import { analyze } from '../src/pipeline/analyze.js';

const texts = { a: '对口支援 A 𠀀'.repeat(10), b: 'counterpart support B'.repeat(10), c: '援疆 C 😀'.repeat(10) };

describe("the lab server's text cache", () => {
  it('answers a text only at the hash it was kept at, and a new version replaces the old', () => {
    const cache = new TextCache();
    cache.set('a', 'h1', texts.a);
    expect(cache.get('a', 'h1')).toBe(texts.a);
    expect(cache.get('a', 'h2')).toBeUndefined();
    expect(cache.get('b', 'h1')).toBeUndefined();
    cache.set('a', 'h2', texts.b);
    expect(cache.get('a', 'h1')).toBeUndefined();
    expect(cache.get('a', 'h2')).toBe(texts.b);
    expect(cache.chars).toBe(texts.b.length);
  });

  it('keeps within its bound, dropping the least recently used text first', () => {
    const cache = new TextCache(texts.a.length + texts.b.length + 1);
    cache.set('a', 'h', texts.a);
    cache.set('b', 'h', texts.b);
    expect(cache.get('a', 'h')).toBe(texts.a); // a used again: b is now the least recently used
    cache.set('c', 'h', texts.c);
    expect(cache.get('b', 'h')).toBeUndefined();
    expect(cache.get('a', 'h')).toBe(texts.a);
    expect(cache.get('c', 'h')).toBe(texts.c);
    expect(cache.chars).toBe(texts.a.length + texts.c.length);
  });
});

describe("the lab server's analysed titles", () => {
  it('analyses a title once, keeps it across index generations, and a changed title is analysed anew', () => {
    const cache = new IndexCache();
    const title = '中国特色对口支援机制: Achievements 𠀀 and Value';
    cache.at('g1');
    const first = cache.titleTokens(title);
    expect(first).toEqual(analyze(title, 'index'));
    expect(first.map((t) => t.term)).toContain('对口支援');
    // The same array: not analysed again by the next query, nor after a write bumps the generation.
    expect(cache.titleTokens(title)).toBe(first);
    cache.at('g2');
    expect(cache.titleTokens(title)).toBe(first);
    const changed = `${title} (revised)`;
    expect(cache.titleTokens(changed)).toEqual(analyze(changed, 'index'));
    expect(cache.titleTokens(changed)).not.toBe(first);
  });
});

describe("the lab server's per-passage facts", () => {
  it('works out whether a passage cites only, or its Han runs are stable, once per passage id, across generations', () => {
    const cache = new IndexCache();
    cache.at('g1');
    let computed = 0;
    const answer = (v: boolean) => () => {
      computed++;
      return v;
    };
    expect(cache.citesOnly(7, answer(true))).toBe(true);
    expect(cache.citesOnly(7, answer(false))).toBe(true);
    expect(cache.citesOnly(8, answer(false))).toBe(false);
    expect(cache.hanStable(7, answer(false))).toBe(false);
    cache.at('g2');
    // A passage id is never reused, so a write elsewhere changes nothing kept for it.
    expect(cache.hanStable(7, answer(true))).toBe(false);
    expect(cache.citesOnly(8, answer(true))).toBe(false);
    expect(computed).toBe(3);
  });
});
