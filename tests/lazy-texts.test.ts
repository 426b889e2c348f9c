/**
 * Papers' texts after a restart are read from the persisted index when used
 * (see src/backends/embedded/texts.ts): they must read exactly the text the
 * paper's offsets are in, also after the paper changes or is removed, and the
 * cache of texts must stay within its bound.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openPersistentCorpus } from '../src/backends/embedded/persist.js';
import { PaperTexts, holdText, textCacheChars, textLength } from '../src/backends/embedded/texts.js';
import { SAMPLE, SAMPLE_IDS } from './helpers/sample.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'duikou-texts-'));
  dirs.push(d);
  return d;
}

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
      db.exec('CREATE TABLE documents (id TEXT, hash TEXT, text TEXT)');
      const texts = { a: '对口支援 A 𠀀'.repeat(10), b: 'counterpart B'.repeat(10), c: '援疆 C 😀'.repeat(10) };
      for (const [id, text] of Object.entries(texts)) db.prepare('INSERT INTO documents VALUES (?, ?, ?)').run(id, `hash-${id}`, text);
      // Room for two of the three texts.
      const cache = new PaperTexts(db, texts.a.length + texts.b.length + 1);
      const read = (id: keyof typeof texts): string => cache.text(id, `hash-${id}`);
      expect(read('a')).toBe(texts.a);
      expect(read('b')).toBe(texts.b);
      expect(read('a')).toBe(texts.a); // a used again: b is now the least recently used
      expect(read('c')).toBe(texts.c);
      expect(cache.cachedChars).toBe(texts.a.length + texts.c.length);
      // What is kept is answered without the database; what was dropped is read from it again.
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
