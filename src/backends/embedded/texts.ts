/**
 * Papers' texts read from the persisted index when something needs them (a
 * hit shown, a candidate verified, the reader page, an export), not all at
 * start: at 100 MB reading every text took about half a second of a restart
 * and held 80 million characters that most sessions never look at.
 *
 * A paper taken over from the persisted state has a `text` that reads its
 * row (by id *and* text hash, so a paper changed since is never misread) and
 * keeps the most recently used texts in a bounded cache. Everything else sees
 * a plain `text` property; a paper added or changed in this process has its
 * text as a plain value, as before.
 */
import Database from 'better-sqlite3';
import type { Database as DB, Statement } from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import { setting } from '../../core/settings.js';

/** A document's length in UTF-16 code units, known without reading its text (see {@link textLength}). */
const LENGTH = Symbol('text length');

/** The number of characters (UTF-16 code units) {@link PaperTexts} keeps by default: `DUIKOU_TEXT_CACHE_MB` at 2 bytes each. */
export function textCacheChars(env: NodeJS.ProcessEnv = process.env): number {
  const mb = Number(setting('DUIKOU_TEXT_CACHE_MB', env));
  if (!Number.isFinite(mb) || mb < 0) throw new Error(`DUIKOU_TEXT_CACHE_MB must be a number of megabytes ≥ 0, not ${mb}`);
  return Math.floor((mb * 2 ** 20) / 2);
}

/** Texts of the papers of one index database, read on demand, the most recently used kept. */
export class PaperTexts {
  /** By id and hash, bounded by characters. */
  private readonly cache: LRUCache<string, string>;
  /**
   * The text last read, kept even when it is larger than the whole bound (the
   * cache refuses such an entry): a hit reads its paper's text many times in a
   * row, and each of those must not go back to the database.
   */
  private last: { key: string; text: string } | null = null;
  private statement: Statement | null = null;
  /** A read-only connection of its own, once the caller's is closed (a test, a shutdown) while papers are still read. */
  private own: DB | null = null;

  /**
   * @param db - the index database (its `documents` table)
   * @param maxChars - characters kept at most (the text last read is kept whatever its size)
   */
  constructor(
    private readonly db: DB,
    maxChars = textCacheChars(),
  ) {
    // lru-cache wants positive sizes; an empty text counts as one character, a bound of 0 as 1.
    this.cache = new LRUCache({ maxSize: Math.max(1, maxChars), sizeCalculation: (text) => Math.max(1, text.length) });
  }

  /** Characters of the texts kept now. */
  get cachedChars(): number {
    const last = this.last;
    return this.cache.calculatedSize + (last && !this.cache.has(last.key) ? last.text.length : 0);
  }

  /**
   * The text of paper `id` as it was when its hash was `hash`.
   * @throws Error when the index no longer holds that text (a bug: a paper's text is held before its row changes, see {@link holdText})
   */
  text(id: string, hash: string): string {
    const key = `${id}\u0000${hash}`;
    if (this.last?.key === key) return this.last.text;
    let text = this.cache.get(key);
    if (text === undefined) {
      text = this.read().get(id, hash) as string | undefined;
      if (text === undefined) throw new Error(`the text of ${id} (${hash.slice(0, 12)}) is no longer in the index`);
      this.cache.set(key, text);
    }
    this.last = { key, text };
    return text;
  }

  /** The statement reading a text, on the caller's connection while it is open. */
  private read(): Statement {
    const db = this.db.open ? this.db : (this.own ??= new Database(this.db.name, { readonly: true, fileMustExist: true }));
    if (this.statement?.database !== db) this.statement = db.prepare('SELECT text FROM documents WHERE id = ? AND hash = ?').pluck();
    return this.statement;
  }

  /**
   * Give `doc` a `text` read from the index when used (assigning it a text
   * makes that its text), and its length known without reading it.
   */
  lazy<T extends object>(doc: T, id: string, hash: string, length: number | undefined): T & { text: string } {
    const read = (): string => this.text(id, hash);
    Object.defineProperty(doc, 'text', {
      get: read,
      set(this: object, value: string): void {
        Object.defineProperty(this, 'text', { value, writable: true, enumerable: true, configurable: true });
        delete (this as { [LENGTH]?: number })[LENGTH];
      },
      enumerable: true,
      configurable: true,
    });
    if (length !== undefined) Object.defineProperty(doc, LENGTH, { value: length, configurable: true });
    return doc as T & { text: string };
  }
}

/**
 * Make a document's text a plain value (read now if it is read lazily):
 * done before its row in the index is replaced or deleted, so a reference
 * to the document kept meanwhile still reads the text its offsets are in.
 */
export function holdText(doc: { text: string } | undefined): void {
  if (!doc || !Object.getOwnPropertyDescriptor(doc, 'text')?.get) return;
  Object.defineProperty(doc, 'text', { value: doc.text, writable: true, enumerable: true, configurable: true });
}

/** A document's text length (UTF-16 code units), without reading a lazily read text when it is known. */
export function textLength(doc: { text: string }): number {
  return (doc as { [LENGTH]?: number })[LENGTH] ?? doc.text.length;
}

/** The texts of each index database's papers, read when used (one cache per database). */
const paperTexts = new WeakMap<DB, PaperTexts>();

/** The {@link PaperTexts} of an index database's papers. */
export function textsOf(db: DB): PaperTexts {
  let texts = paperTexts.get(db);
  if (!texts) {
    texts = new PaperTexts(db);
    paperTexts.set(db, texts);
  }
  return texts;
}
