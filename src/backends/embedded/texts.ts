/**
 * Papers' texts read from the persisted index when something needs them (a
 * hit shown, a candidate verified, the reader page, an export), not all at
 * start: at 100 MB reading every text took about half a second of a restart
 * and held 80 million characters that most sessions never look at.
 *
 * A text is stored in numbered parts of about {@link TEXT_PART} UTF-16 code
 * units (`text_parts`), so a passage's stretch is read without its whole paper: a
 * query verifies Chinese runs in thousands of candidate passages, and at 1 GB
 * reading their papers' whole texts (0.7 ms each, more papers than any cache
 * keeps) was 2.5 of the 2.8 s of `脱贫攻坚`.
 *
 * A paper taken over from the persisted state has a `text` that reads its
 * parts (by id *and* text hash, so a paper changed since is never misread) and
 * keeps the most recently used texts and parts in a bounded cache. Everything else sees
 * a plain `text` property; a paper added or changed in this process has its
 * text as a plain value, as before.
 */
import Database from 'better-sqlite3';
import type { Database as DB, Statement } from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import { setting } from '../../core/settings.js';
import type { TextWindow } from '../../core/types.js';

/** A document's length in UTF-16 code units, known without reading its text (see {@link textLength}). */
const LENGTH = Symbol('text length');
/** Reads a stretch of a lazily read document's text without the whole of it (see {@link textWindow}). */
const WINDOW = Symbol('text window');

/**
 * The UTF-16 code units of one stored part of a text: part `k` starts at
 * `k · TEXT_PART` (one earlier when that falls inside a surrogate pair), so
 * the parts a stretch lies in are known from its offsets. Part of the index
 * format: changing it changes `INDEX_FORMAT_VERSION`. A passage is mostly a
 * few hundred characters, so it lies in one or two parts.
 */
export const TEXT_PART = 1024;

/** One stored part of a text. */
export interface TextPart {
  /** Its number: it starts at `part · size`, or one code unit earlier (see {@link cutText}). */
  part: number;
  /** UTF-16 code-unit offset of the part in the document's canonical text. */
  start: number;
  text: string;
}

/**
 * Cut a text into parts: part `k` is `[s(k), s(k + 1))` where `s(k)` is
 * `k · size`, or `k · size − 1` when `k · size` falls between the two halves of
 * a surrogate pair (SQLite stores text as UTF-8, where half a pair cannot be
 * written). Joined, they are the text; offset `x` lies in part
 * `⌊x / size⌋` or the one after it.
 */
export function cutText(text: string, size = TEXT_PART): TextPart[] {
  if (size < 2) throw new Error(`a text part holds at least 2 code units, not ${size}`);
  const startOf = (k: number): number => {
    const s = k * size;
    if (s <= 0 || s >= text.length) return Math.min(s, text.length);
    const c = text.charCodeAt(s);
    const b = text.charCodeAt(s - 1);
    return c >= 0xdc00 && c <= 0xdfff && b >= 0xd800 && b <= 0xdbff ? s - 1 : s;
  };
  const parts: TextPart[] = [];
  for (let k = 0; k * size < text.length; k++) {
    const start = startOf(k);
    parts.push({ part: k, start, text: text.slice(start, startOf(k + 1)) });
  }
  return parts;
}

/** The statements of {@link writeText} and {@link readText}, prepared once per connection (they run once per paper). */
const partStatements = new WeakMap<DB, { remove: Statement; insert: Statement; read: Statement }>();

function partStatementsOf(db: DB): { remove: Statement; insert: Statement; read: Statement } {
  let s = partStatements.get(db);
  if (!s) {
    s = {
      remove: db.prepare('DELETE FROM text_parts WHERE doc_id = ?'),
      insert: db.prepare('INSERT INTO text_parts (doc_id, part, start, text) VALUES (?, ?, ?, ?)'),
      read: db.prepare('SELECT text FROM text_parts WHERE doc_id = ? ORDER BY part').pluck(),
    };
    partStatements.set(db, s);
  }
  return s;
}

/** Store `text` as paper `id`'s parts, replacing any it had (the caller's transaction). */
export function writeText(db: DB, id: string, text: string): void {
  const { remove, insert } = partStatementsOf(db);
  remove.run(id);
  for (const p of cutText(text)) insert.run(id, p.part, p.start, p.text);
}

/** Paper `id`'s whole stored text ('' when it has none), whatever its version. */
export function readText(db: DB, id: string): string {
  return (partStatementsOf(db).read.all(id) as string[]).join('');
}

/** The number of characters (UTF-16 code units) {@link PaperTexts} keeps by default: `DUIKOU_TEXT_CACHE_MB` at 2 bytes each. */
export function textCacheChars(env: NodeJS.ProcessEnv = process.env): number {
  const mb = Number(setting('DUIKOU_TEXT_CACHE_MB', env));
  if (!Number.isFinite(mb) || mb < 0) throw new Error(`DUIKOU_TEXT_CACHE_MB must be a number of megabytes ≥ 0, not ${mb}`);
  return Math.floor((mb * 2 ** 20) / 2);
}

/**
 * Texts of the papers of one index database, read on demand, the most
 * recently used kept: whole texts, and the parts of texts that stretches
 * (a passage's text) were read from.
 */
export class PaperTexts {
  /**
   * Whole texts by id and hash, parts by a number (the text's {@link slots}
   * number and the part's): bounded by characters together. Numbers, as a
   * query reads thousands of parts and a key built of strings is hashed anew each time.
   */
  private readonly cache: LRUCache<string | number, string | TextPart>;
  /**
   * A number per text (id and hash) whose parts were asked for, for the parts' keys. Every
   * edit of a paper makes a new text, so the map is emptied when it reaches its bound (a
   * plain Map: it is read for every passage a query checks). A number is never given twice,
   * so the parts kept under a forgotten number can only age out of the cache, never be read
   * as another text's.
   */
  private readonly slots = new Map<string, number>();
  private nextSlot = 0;
  /**
   * The text last read, kept even when it is larger than the whole bound (the
   * cache refuses such an entry): a hit reads its paper's text many times in a
   * row, and each of those must not go back to the database.
   */
  private last: { key: string; text: string } | null = null;
  private statements: { db: DB; whole: Statement; parts: Statement; exists: Statement } | null = null;
  /** A read-only connection of its own, once the caller's is closed (a test, a shutdown) while papers are still read. */
  private own: DB | null = null;
  private wholeTextsRead = 0;

  /**
   * @param db - the index database (its `documents` and `text_parts` tables)
   * @param maxChars - characters kept at most (the text last read is kept whatever its size)
   */
  constructor(
    private readonly db: DB,
    maxChars = textCacheChars(),
    /** Texts whose part numbers are remembered at most (a 1 GB corpus has about 8,300 papers). */
    private readonly maxSlots = 100_000,
  ) {
    // lru-cache wants positive sizes; an empty text counts as one character, a bound of 0 as 1.
    this.cache = new LRUCache({
      maxSize: Math.max(1, maxChars),
      sizeCalculation: (v) => Math.max(1, typeof v === 'string' ? v.length : v.text.length),
    });
  }

  /** Whole texts read from the database so far (a stretch read from its parts is not one). */
  get wholeReads(): number {
    return this.wholeTextsRead;
  }

  /** Characters of the texts and parts kept now. */
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
    let text = this.cache.get(key) as string | undefined;
    if (text === undefined) {
      const read = this.read();
      const parts = read.whole.all(id, hash) as string[];
      if (parts.length === 0 && read.exists.get(id, hash) === undefined) throw this.gone(id, hash);
      text = parts.join('');
      this.wholeTextsRead++;
      this.cache.set(key, text);
    }
    this.last = { key, text };
    return text;
  }

  /**
   * A stretch of paper `id`'s text as it was when its hash was `hash`,
   * holding `[start, end)` (UTF-16 offsets into the whole text): the whole
   * text when it is kept, else the parts the range lies in, from the cache or
   * read together.
   * @throws Error when the index no longer holds that text, or not that stretch of it
   */
  window(id: string, hash: string, start: number, end: number): TextWindow {
    return this.windowOf(`${id}\u0000${hash}`, id, hash, start, end);
  }

  /** {@link window} with the text's key made once (a lazily read paper keeps its own). */
  private windowOf(key: string, id: string, hash: string, start: number, end: number): TextWindow {
    const whole = this.last?.key === key ? this.last.text : (this.cache.peek(key) as string | undefined);
    if (whole !== undefined) return { text: whole, offset: 0 };
    if (end <= start) return { text: '', offset: start };
    // Offset x lies in part ⌊x / TEXT_PART⌋ or the next (see cutText): these hold [start, end).
    const first = Math.floor(start / TEXT_PART);
    const last = Math.floor(end / TEXT_PART);
    let slot = this.slots.get(key);
    if (slot === undefined) {
      if (this.slots.size >= this.maxSlots) this.slots.clear();
      this.slots.set(key, (slot = this.nextSlot++));
    }
    // Part k of this text is kept under slot · 2^21 + k (2^21 parts: 2 billion code units; exact up to 2^32 slots).
    const base = slot * 2 ** 21;
    const parts: (TextPart | undefined)[] = [];
    let missing = false;
    for (let k = first; k <= last; k++) {
      const part = this.cache.get(base + k) as TextPart | undefined;
      missing ||= part === undefined;
      parts.push(part);
    }
    if (missing) {
      for (const p of this.read().parts.all(id, hash, first, last) as TextPart[]) {
        parts[p.part - first] = p;
        this.cache.set(base + p.part, p);
      }
    }
    // The last part asked for may be past the end of the text.
    while (parts.length > 0 && parts[parts.length - 1] === undefined) parts.pop();
    const found = parts.includes(undefined) ? [] : (parts as TextPart[]);
    const offset = found[0]?.start ?? start;
    const text = found.length === 1 ? found[0]!.text : found.map((p) => p.text).join('');
    if (found.length === 0 || offset > start || offset + text.length < end) {
      if (this.read().exists.get(id, hash) === undefined) throw this.gone(id, hash);
      throw new Error(`the index holds no characters ${start}–${end} of ${id} (${hash.slice(0, 12)})`);
    }
    return { text, offset };
  }

  private gone(id: string, hash: string): Error {
    return new Error(`the text of ${id} (${hash.slice(0, 12)}) is no longer in the index`);
  }

  /** The statements reading texts, on the caller's connection while it is open. */
  private read(): { whole: Statement; parts: Statement; exists: Statement } {
    const db = this.db.open ? this.db : (this.own ??= new Database(this.db.name, { readonly: true, fileMustExist: true }));
    if (this.statements?.db !== db) {
      const parts = 'FROM text_parts p JOIN documents d ON d.id = p.doc_id WHERE p.doc_id = ? AND d.hash = ?';
      this.statements = {
        db,
        whole: db.prepare(`SELECT p.text ${parts} ORDER BY p.part`).pluck(),
        parts: db.prepare(`SELECT p.part, p.start, p.text ${parts} AND p.part BETWEEN ? AND ? ORDER BY p.part`),
        exists: db.prepare('SELECT 1 FROM documents WHERE id = ? AND hash = ?').pluck(),
      };
    }
    return this.statements;
  }

  /**
   * Give `doc` a `text` read from the index when used (assigning it a text
   * makes that its text), and its length known without reading it.
   */
  lazy<T extends object>(doc: T, id: string, hash: string, length: number | undefined): T & { text: string } {
    const read = (): string => this.text(id, hash);
    const key = `${id}\u0000${hash}`;
    const window = (start: number, end: number): TextWindow => this.windowOf(key, id, hash, start, end);
    Object.defineProperty(doc, 'text', {
      get: read,
      set(this: object, value: string): void {
        Object.defineProperty(this, 'text', { value, writable: true, enumerable: true, configurable: true });
        delete (this as { [LENGTH]?: number })[LENGTH];
        delete (this as { [WINDOW]?: unknown })[WINDOW];
      },
      enumerable: true,
      configurable: true,
    });
    if (length !== undefined) Object.defineProperty(doc, LENGTH, { value: length, configurable: true });
    Object.defineProperty(doc, WINDOW, { value: window, configurable: true });
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
  delete (doc as { [WINDOW]?: unknown })[WINDOW];
}

/** `[start, end)` of a document's text (UTF-16 offsets), read as {@link textWindow} reads it. */
export function sliceText(doc: { text: string }, start: number, end: number): string {
  const w = textWindow(doc, start, end);
  return w.text.slice(start - w.offset, end - w.offset);
}

/**
 * A stretch of a document's text holding `[start, end)` (UTF-16 offsets):
 * of a text read lazily, only the parts it lies in (see {@link PaperTexts.window});
 * of any other, the whole text at offset 0, without copying.
 */
export function textWindow(doc: { text: string }, start: number, end: number): TextWindow {
  const window = (doc as { [WINDOW]?: (start: number, end: number) => TextWindow })[WINDOW];
  return window ? window(start, end) : { text: doc.text, offset: 0 };
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
