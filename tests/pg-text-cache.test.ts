/**
 * The lab server's cache of papers' texts between queries (TextCache in
 * src/backends/postgres/search-cache.ts), without a database: a text is answered
 * only at the hash it was kept at, the bound holds, and the least recently
 * used text goes first.
 */
import { describe, expect, it } from 'vitest';
import { TextCache } from '../src/backends/postgres/search-cache.js';

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
