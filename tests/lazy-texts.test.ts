/**
 * Papers' texts after a restart are read from the persisted index when used
 * (see src/backends/embedded/texts.ts): they must read exactly the text the
 * paper's offsets are in, also after the paper changes or is removed, and the
 * cache of texts must stay within its bound.
 */
import { cpSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openPersistentCorpus } from '../src/backends/embedded/persist.js';
import {
  PaperTexts,
  TEXT_PART,
  holdText,
  textCacheChars,
  textLength,
  cutText,
  textsOf,
  writeText,
} from '../src/backends/embedded/texts.js';
import fc from 'fast-check';
import { SAMPLE, SAMPLE_IDS } from './helpers/sample.js';
import { tempDirs } from './helpers/temp.js';

const tempDir = tempDirs('texts');

/** A copy of the sample with one paper holding text outside the BMP, its persisted index built once. */
async function restartedCorpus() {
  const corpus = tempDir();
  cpSync(SAMPLE, corpus, { recursive: true });
  const file = join(corpus, `${SAMPLE_IDS[0]}.txt`);
  writeFileSync(file, `${readFileSync(file, 'utf8')}\n\n𠀀𠀁 对口支援 beyond the BMP 😀.\n`);
  const data = tempDir();
  (await openPersistentCorpus(corpus, data)).db.close();
  const restarted = await openPersistentCorpus(corpus, data);
  expect(restarted.stats.restored).toBe(true);
  return { corpus, data, ...restarted };
}

/** The two tables {@link PaperTexts} reads, as the index has them (index-db.ts). */
function partsTables(db: Database.Database): void {
  db.pragma('foreign_keys = ON');
  db.exec(`CREATE TABLE documents (id TEXT PRIMARY KEY, hash TEXT);
    CREATE TABLE text_parts (doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
      part INTEGER NOT NULL, start INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (doc_id, part))`);
}

const isLazy = (doc: object): boolean => Object.getOwnPropertyDescriptor(doc, 'text')?.get !== undefined;

describe("papers' texts read when used", () => {
  it('a restart reads no text; each reads back exactly the text its offsets are in, its length known without reading it', async () => {
    const { corpus, engine, db } = await restartedCorpus();
    try {
      for (const id of SAMPLE_IDS) {
        const doc = engine.requireDocument(id);
        expect(isLazy(doc)).toBe(true);
        const onDisk = readFileSync(join(corpus, `${id}.txt`), 'utf8').replace(/\r\n/g, '\n');
        expect(textLength(doc)).toBe(doc.text.length);
        expect(doc.text.replace(/^\uFEFF/, '')).toBe(onDisk.replace(/^\uFEFF/, ''));
      }
      const q = '𠀀𠀁';
      const hit = engine.search(q, { limit: 1 }).hits[0]!;
      const doc = engine.requireDocument(hit.docId);
      expect(hit.text).toBe(doc.text.slice(hit.start, hit.end));
      expect(hit.matches.map((m) => doc.text.slice(m.start, m.end))).toContain(q);
      // Metadata changes keep the text lazy (a spread would have read it).
      const { id, authors, year, venue, lang } = engine.requireDocument(SAMPLE_IDS[1]!);
      engine.setMetadata({ id, title: 'Another title', authors, year, venue, lang });
      expect(engine.requireDocument(id).title).toBe('Another title');
      expect(isLazy(engine.requireDocument(SAMPLE_IDS[1]!))).toBe(true);
    } finally {
      db.close();
    }
  }, 60_000);

  it('a paper changed or removed: the version served before reads its own text, the new one its new text', async () => {
    const { corpus, data, engine, db } = await restartedCorpus();
    db.close();
    const [changedId, removedId] = [SAMPLE_IDS[1]!, SAMPLE_IDS[2]!];
    const before = engine.requireDocument(changedId);
    const removed = engine.requireDocument(removedId);
    expect(isLazy(before) && isLazy(removed)).toBe(true);
    const oldText = readFileSync(join(corpus, `${changedId}.txt`), 'utf8');
    const oldRemoved = readFileSync(join(corpus, `${removedId}.txt`), 'utf8');
    writeFileSync(join(corpus, `${changedId}.txt`), `Inserted first 插入 𠀀.\n\n${oldText}`);
    unlinkSync(join(corpus, `${removedId}.txt`));
    const synced = await openPersistentCorpus(corpus, data, { engine });
    try {
      expect(synced.stats).toMatchObject({ indexed: 1, removed: 1 });
      // References kept across the sync (a request in flight) read the text they were served with.
      expect(before.text).toBe(oldText);
      expect(removed.text).toBe(oldRemoved);
      const now = engine.requireDocument(changedId);
      expect(now.text.startsWith('Inserted first 插入 𠀀.')).toBe(true);
      const hit = engine.search('插入', { limit: 1 }).hits[0]!;
      expect(hit.text).toBe(now.text.slice(hit.start, hit.end));
      expect(engine.document(removedId)).toBeUndefined();
    } finally {
      synced.db.close();
    }
    // And after another restart, from the state written by that sync.
    const again = await openPersistentCorpus(corpus, data);
    try {
      expect(again.stats.restored).toBe(true);
      const doc = again.engine.requireDocument(changedId);
      expect(isLazy(doc)).toBe(true);
      expect(doc.text).toBe(`Inserted first 插入 𠀀.\n\n${oldText}`);
      expect(textLength(doc)).toBe(doc.text.length);
    } finally {
      again.db.close();
    }
  }, 60_000);

  it('keeps at most its bound of characters, always the text last read, and never a text of another version', async () => {
    const { engine, db } = await restartedCorpus();
    try {
      const docs = SAMPLE_IDS.map((id) => engine.requireDocument(id));
      const lengths = docs.map((d) => textLength(d));
      const bound = Math.max(...lengths) + 10;
      const texts = new PaperTexts(db, bound);
      for (const d of [...docs, ...docs]) {
        expect(texts.text(d.id, d.hash)).toBe(d.text);
        expect(texts.cachedChars).toBeLessThanOrEqual(bound);
        expect(texts.cachedChars).toBeGreaterThan(0);
      }
      // Smaller than any text: the one last read is kept, nothing else.
      const tiny = new PaperTexts(db, 1);
      expect(tiny.text(docs[0]!.id, docs[0]!.hash)).toBe(docs[0]!.text);
      expect(tiny.cachedChars).toBe(lengths[0]);
      expect(() => texts.text(docs[0]!.id, 'another hash')).toThrow(/no longer in the index/);
      // Held: a plain value from then on.
      const doc = docs[3]!;
      const text = doc.text;
      holdText(doc);
      expect(Object.getOwnPropertyDescriptor(doc, 'text')).toMatchObject({ value: text, enumerable: true });
    } finally {
      db.close();
    }
  }, 60_000);

  it('drops the least recently used text first', () => {
    const db = new Database(join(tempDir(), 'index.db'));
    try {
      partsTables(db);
      const texts = { a: '对口支援 A 𠀀'.repeat(10), b: 'counterpart B'.repeat(10), c: '援疆 C 😀'.repeat(10) };
      for (const [id, text] of Object.entries(texts)) {
        db.prepare('INSERT INTO documents VALUES (?, ?)').run(id, `hash-${id}`);
        writeText(db, id, text);
      }
      // Room for two of the three texts.
      const cache = new PaperTexts(db, texts.a.length + texts.b.length + 1);
      const read = (id: keyof typeof texts): string => cache.text(id, `hash-${id}`);
      expect(read('a')).toBe(texts.a);
      expect(read('b')).toBe(texts.b);
      expect(read('a')).toBe(texts.a); // a used again: b is now the least recently used
      expect(read('c')).toBe(texts.c);
      expect(cache.cachedChars).toBe(texts.a.length + texts.c.length);
      // What is kept is answered without the database; what was dropped is read from it again.
      db.prepare('DELETE FROM text_parts').run();
      db.prepare('DELETE FROM documents').run();
      expect(read('a')).toBe(texts.a);
      expect(read('c')).toBe(texts.c);
      expect(() => read('b')).toThrow(/no longer in the index/);
    } finally {
      db.close();
    }
  });

  it('reads the bound from DUIKOU_TEXT_CACHE_MB', () => {
    expect(textCacheChars({})).toBe(64 * 2 ** 19);
    expect(textCacheChars({ DUIKOU_TEXT_CACHE_MB: '1' })).toBe(2 ** 19);
    expect(() => textCacheChars({ DUIKOU_TEXT_CACHE_MB: 'lots' })).toThrow(/DUIKOU_TEXT_CACHE_MB/);
  });
});

describe('texts stored in parts', () => {
  /** Texts mixing Han, Latin, astral characters and line breaks, where surrogate pairs fall on part boundaries. */
  const mixed = fc
    .array(fc.constantFrom('对', '口', '支援', 'a', 'key node', ' ', '\n', '𠀀', '😀', '，', '2008年'), { maxLength: 400 })
    .map((xs) => xs.join(''));

  it('cuts a text into numbered parts that join back to it, none splitting a surrogate pair, each offset in part ⌊x / size⌋ or the next', () => {
    fc.assert(
      fc.property(mixed, fc.integer({ min: 2, max: 40 }), (text, size) => {
        const parts = cutText(text, size);
        expect(parts.map((p) => p.text).join('')).toBe(text);
        let at = 0;
        parts.forEach((p, k) => {
          expect(p.part).toBe(k);
          expect(p.start).toBe(at);
          expect([k * size, k * size - 1]).toContain(p.start);
          expect(p.text.length).toBeGreaterThan(0);
          expect(/[\uD800-\uDFFF]/u.test(p.text)).toBe(false);
          at += p.text.length;
        });
        for (let x = 0; x < text.length; x++) {
          const k = parts.findIndex((p) => x >= p.start && x < p.start + p.text.length);
          expect([Math.floor(x / size), Math.floor(x / size) + 1]).toContain(k);
        }
      }),
    );
  });

  it('reads any stretch of a stored text from its parts, as the whole text has it', () => {
    const db = new Database(join(tempDir(), 'index.db'));
    try {
      partsTables(db);
      // Long enough for several parts; astral characters put surrogate pairs on some boundaries.
      const text = '对口支援 key node 𠀀😀，'.repeat(300) + '援疆'.repeat(400);
      // Parts 1 and 2 start one code unit early, where a surrogate pair straddles k · TEXT_PART.
      expect(text.codePointAt(TEXT_PART - 1)! > 0xffff && text.codePointAt(2 * TEXT_PART - 1)! > 0xffff).toBe(true);
      db.prepare('INSERT INTO documents VALUES (?, ?)').run('zh', 'h1');
      writeText(db, 'zh', text);
      const texts = new PaperTexts(db, 1);
      const at = (i: number): number => Math.min(i, text.length);
      // The first, the last, across part boundaries, and random ranges, each read straight from the parts.
      const ranges: [number, number][] = [
        [0, 1],
        [text.length - 1, text.length],
        [TEXT_PART - 3, TEXT_PART + 3],
        // Ending with a pair whose high half is the last unit before TEXT_PART: it lies in part 1.
        [TEXT_PART - 5, TEXT_PART],
        [2 * TEXT_PART - 1, 2 * TEXT_PART + 1],
        [text.indexOf('援疆'), text.indexOf('援疆') + 2],
      ];
      for (const [start, length] of fc.sample(fc.tuple(fc.nat(text.length), fc.nat(3 * TEXT_PART)), 200)) {
        ranges.push([start, at(start + length)]);
      }
      for (const [start, end] of ranges) {
        const w = new PaperTexts(db, 1).window('zh', 'h1', start, end);
        expect(w.text.slice(start - w.offset, end - w.offset)).toBe(text.slice(start, end));
        // At most the parts the range lies in: never the whole text.
        expect(w.text.length).toBeLessThanOrEqual(end - start + 2 * TEXT_PART + 2);
      }
      // Of a text kept whole, the whole text; of another version, an error.
      expect(texts.text('zh', 'h1')).toBe(text);
      expect(texts.window('zh', 'h1', 5, 9)).toEqual({ text, offset: 0 });
      expect(() => new PaperTexts(db, 1).window('zh', 'h0', 5, 9)).toThrow(/no longer in the index/);
      expect(() => new PaperTexts(db, 1).window('zh', 'h1', text.length, text.length + 5)).toThrow(/holds no characters/);
    } finally {
      db.close();
    }
  });

  it("remembers the part numbers of a bounded number of texts, and never reads one text's parts as another's", () => {
    const db = new Database(':memory:');
    try {
      partsTables(db);
      const texts: Record<string, string> = {
        a: '对口支援 𠀀 first paper. '.repeat(200),
        b: 'Second paper, key node 😀. '.repeat(200),
        c: '第三篇 援疆 third. '.repeat(200),
      };
      for (const [id, text] of Object.entries(texts)) {
        db.prepare('INSERT INTO documents VALUES (?, ?)').run(id, `h-${id}`);
        writeText(db, id, text);
      }
      // Room for every part, but part numbers of one text at a time: each read forgets the text before.
      const cache = new PaperTexts(db, 1_000_000, 1);
      for (const id of ['a', 'b', 'a', 'c', 'b', 'a']) {
        const text = texts[id]!;
        const start = text.indexOf(' ', TEXT_PART + 7);
        const end = start + 40;
        const w = cache.window(id, `h-${id}`, start, end);
        expect(w.text.slice(start - w.offset, end - w.offset)).toBe(text.slice(start, end));
      }
    } finally {
      db.close();
    }
  });

  it('a restarted corpus answers a Chinese query, its checks and its page, without reading a whole text', async () => {
    const { engine, db } = await restartedCorpus();
    try {
      const texts = textsOf(db);
      expect(texts.wholeReads).toBe(0);
      // 支援 inside longer words is checked in each passage's text; the page shows hits' texts and matches.
      for (const q of ['对口支援', '支援', '援', '𠀀𠀁', 'counterpart support']) {
        const result = engine.search(q, { limit: 20 });
        expect(result.hits.length).toBeGreaterThan(0);
        for (const hit of result.hits) {
          expect(hit.text.length).toBe(hit.end - hit.start);
        }
      }
      expect(texts.wholeReads).toBe(0);
      expect(texts.cachedChars).toBeGreaterThan(0);
      for (const id of SAMPLE_IDS) expect(isLazy(engine.requireDocument(id))).toBe(true);
      // And every hit's text is its paper's, read whole now.
      const hit = engine.search('援', { limit: 1 }).hits[0]!;
      expect(hit.text).toBe(engine.requireDocument(hit.docId).text.slice(hit.start, hit.end));
    } finally {
      db.close();
    }
  }, 60_000);
});
