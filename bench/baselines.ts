/**
 * The baselines the benchmark compares duikou with, over the same passages
 * and the same analysed terms (so only the index and query execution differ):
 *
 * - SQLite FTS5 (better-sqlite3's bundled SQLite): one row per passage, the
 *   column `seq` holding the passage's words in order (the analyzer's terms
 *   joined by spaces, a break marker where two Chinese words do not touch) and
 *   `subs` the sub-words of long Chinese words; tokenizer unicode61 (with `.`
 *   and `'` as token characters, which analysed terms may contain), and `bi`
 *   the passage's Han bigrams in text order (Lucene's CJK bigrams; each run
 *   ends with its last character as a one-character token). A query is
 *   compiled by the engine's own compiler (src/pipeline/compile.ts) and
 *   translated clause by clause: a Chinese run is the FTS5 phrase of its
 *   bigrams `bi : "ab bc"` (a single character the prefix query
 *   `bi : "a"*`), a one-word item `"term"` (any column), a multi-word item the
 *   FTS5 phrase `seq : "a b"`; OR within a clause, AND between clauses, NOT
 *   for exclusions; lang:/doc: are WHERE conditions; ranked by bm25(), top 20.
 * - Brute force: every passage's term ids in flat typed arrays and its
 *   normalised text, scanned in full for every query (a Chinese run is
 *   grepped in the text, other items matched on the terms), ranked by BM25.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runBigrams } from '../src/pipeline/analyze.js';
import { type Expansions, compileItem, glossaryGroups } from '../src/pipeline/compile.js';
import { type QueryItem, parseQuery } from '../src/pipeline/query.js';

/** Between two Chinese words that do not touch (absent from the bench corpora). */
export const BREAK = 'ǂ';

export interface TermsTask {
  dir: string;
  file: string;
}

export interface TermsResult {
  docId: string;
  text: string;
  passages: Array<{ lang: string; start: number; end: number; seq: string[]; subs: string[]; bi: string[]; norm: string }>;
}

/** A query item's way to match: a list of terms (one term, or words that must stand together), or a Chinese run. */
interface Variant {
  terms: string[];
  run?: string;
}

/** A query as the baselines run it. */
export interface BaselineQuery {
  clauses: Variant[][];
  exclude: Variant[];
  lang?: string;
  docs: string[];
}

/**
 * Translate a query with the engine's own parser and compiler, expanding items
 * through the glossary when `expand` (as the engine does, multi-word glossary
 * entries typed as separate words included).
 */
export function compileQuery(q: string, expand: boolean, expansions: Expansions): BaselineQuery {
  const parsed = parseQuery(q);
  const groups = expand ? glossaryGroups(parsed.clauses, expansions) : new Map<number, { text: string; via: string; share: number }[]>();
  const variants = (c: QueryItem[], exp: Expansions | null, i = -1): Variant[] =>
    c
      .flatMap((item) => compileItem(item, exp, groups.get(i)))
      .map((v) => (v.run !== undefined ? { terms: v.terms, run: v.run } : { terms: v.terms }));
  return {
    clauses: parsed.clauses.map((c, i) => variants(c, expand ? expansions : null, i)).filter((c) => c.length > 0),
    exclude: variants(parsed.exclude, null),
    ...(parsed.filters.lang !== undefined && { lang: parsed.filters.lang }),
    docs: parsed.filters.docs,
  };
}

/** A search answer of a baseline: top hits (id and text) and every matching id. */
export interface BaselineHit {
  passageId: number;
  text: string;
}

const K1 = 1.2;
const B = 0.75;

/** The passages both baselines index, numbered like the engine numbers them (from 1, in file order). */
export class Baselines {
  private readonly docIds: string[] = [];
  private readonly texts: string[] = [];
  /** Each passage's normalised text (index = passage id), for the grep of Chinese runs. */
  private readonly norms: string[] = [''];
  private normChars = 0;
  // Per passage (index = passage id): document, language, range, and slices of the flat term arrays.
  private pDoc = new Int32Array(1024);
  private pLang = new Uint8Array(1024);
  private pStart = new Int32Array(1024);
  private pEnd = new Int32Array(1024);
  private seqAt = new Int32Array(1025);
  private subAt = new Int32Array(1025);
  private seq = new Int32Array(1 << 20);
  private subs = new Int32Array(1 << 16);
  private nSeq = 0;
  private nSub = 0;
  private readonly termIds = new Map<string, number>();
  count = 0;
  private totalLen = 0;
  readonly db: Database.Database;
  private readonly insert: Database.Statement;
  ftsBuildMs = 0;
  bruteBuildMs = 0;

  constructor(readonly dbPath: string) {
    this.db = new Database(dbPath);
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.exec(
      `CREATE VIRTUAL TABLE p USING fts5(seq, subs, bi, lang UNINDEXED, doc UNINDEXED, tokenize = "unicode61 remove_diacritics 0 tokenchars '.'''")`,
    );
    this.insert = this.db.prepare('INSERT INTO p(rowid, seq, subs, bi, lang, doc) VALUES (?, ?, ?, ?, ?, ?)');
    this.db.exec('BEGIN');
  }

  private termId(t: string): number {
    let id = this.termIds.get(t);
    if (id === undefined) {
      id = this.termIds.size;
      this.termIds.set(t, id);
    }
    return id;
  }

  private grow(): void {
    const need = this.count + 2;
    if (need < this.pDoc.length) return;
    const n = this.pDoc.length * 2;
    const g = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T, extra = 0): T => {
      const b = make(n + extra);
      b.set(a);
      return b;
    };
    this.pDoc = g(this.pDoc, (k) => new Int32Array(k));
    this.pLang = g(this.pLang, (k) => new Uint8Array(k));
    this.pStart = g(this.pStart, (k) => new Int32Array(k));
    this.pEnd = g(this.pEnd, (k) => new Int32Array(k));
    this.seqAt = g(this.seqAt, (k) => new Int32Array(k), 1);
    this.subAt = g(this.subAt, (k) => new Int32Array(k), 1);
  }

  private push(arr: 'seq' | 'subs', ids: number[]): void {
    const n = arr === 'seq' ? this.nSeq : this.nSub;
    let a = this[arr];
    if (n + ids.length > a.length) {
      const b = new Int32Array(Math.max(a.length * 2, n + ids.length));
      b.set(a);
      a = b;
      this[arr] = b;
    }
    a.set(ids, n);
    if (arr === 'seq') this.nSeq += ids.length;
    else this.nSub += ids.length;
  }

  /** Add one document's analysed passages to both baselines (ids continue from the last). */
  add(r: TermsResult): void {
    const d = this.docIds.length;
    this.docIds.push(r.docId);
    this.texts.push(r.text);
    for (const p of r.passages) {
      this.grow();
      const id = ++this.count;
      let t = performance.now();
      this.insert.run(id, p.seq.join(' '), p.subs.join(' '), p.bi.join(' '), p.lang, r.docId);
      this.ftsBuildMs += performance.now() - t;
      t = performance.now();
      this.pDoc[id] = d;
      this.pLang[id] = p.lang === 'zh' ? 1 : 0;
      this.pStart[id] = p.start;
      this.pEnd[id] = p.end;
      this.norms[id] = p.norm;
      this.normChars += p.norm.length;
      this.seqAt[id] = this.nSeq;
      this.subAt[id] = this.nSub;
      this.push(
        'seq',
        p.seq.map((x) => (x === BREAK ? -1 : this.termId(x))),
      );
      this.push(
        'subs',
        p.subs.map((x) => this.termId(x)),
      );
      this.seqAt[id + 1] = this.nSeq;
      this.subAt[id + 1] = this.nSub;
      this.totalLen += p.seq.length;
      this.bruteBuildMs += performance.now() - t;
    }
  }

  /** Finish the FTS5 index (commit and merge its segments); returns its size in bytes. */
  finish(): number {
    const t = performance.now();
    this.db.exec('COMMIT');
    this.db.exec("INSERT INTO p(p) VALUES('optimize')");
    this.ftsBuildMs += performance.now() - t;
    return statSync(this.dbPath).size;
  }

  /** Heap-independent size of the brute-force arrays, in bytes. */
  get bruteBytes(): number {
    return (this.nSeq + this.nSub) * 4 + this.pDoc.length * 21 + this.normChars * 2;
  }

  private text(id: number): string {
    return this.texts[this.pDoc[id]!]!.slice(this.pStart[id]!, this.pEnd[id]!);
  }

  // --- FTS5 ---

  private static quote(t: string): string {
    return `"${t.replace(/"/g, '""')}"`;
  }

  private static variant(v: Variant): string {
    if (v.run !== undefined) {
      const grams = runBigrams(v.run);
      return grams.length === 0 ? `bi : ${Baselines.quote(v.run)}*` : `bi : ${Baselines.quote(grams.join(' '))}`;
    }
    return v.terms.length === 1 ? Baselines.quote(v.terms[0]!) : `seq : ${Baselines.quote(v.terms.join(' '))}`;
  }

  /** The FTS5 statement text and parameters of a query. */
  ftsSql(q: BaselineQuery, limit: boolean): { sql: string; params: unknown[] } | null {
    if (q.clauses.length === 0) return null;
    let match = q.clauses.map((c) => `(${c.map(Baselines.variant).join(' OR ')})`).join(' AND ');
    if (q.exclude.length > 0) match = `(${match}) NOT (${q.exclude.map(Baselines.variant).join(' OR ')})`;
    const where = ['p MATCH ?'];
    const params: unknown[] = [match];
    if (q.lang) {
      where.push('lang = ?');
      params.push(q.lang);
    }
    if (q.docs.length > 0) {
      where.push(`doc IN (${q.docs.map(() => '?').join(', ')})`);
      params.push(...q.docs);
    }
    return { sql: `SELECT rowid AS id FROM p WHERE ${where.join(' AND ')}${limit ? ' ORDER BY rank LIMIT 20' : ''}`, params };
  }

  private readonly stmts = new Map<string, Database.Statement>();

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** FTS5 top 20 by bm25(), with their text. */
  ftsSearch(q: BaselineQuery): BaselineHit[] {
    const s = this.ftsSql(q, true);
    if (!s) return [];
    return (this.stmt(s.sql).all(...s.params) as { id: number }[]).map((r) => ({ passageId: r.id, text: this.text(r.id) }));
  }

  /** Every passage id FTS5 matches. */
  ftsAll(q: BaselineQuery): Set<number> {
    const s = this.ftsSql(q, false);
    if (!s) return new Set();
    return new Set((this.stmt(s.sql).all(...s.params) as { id: number }[]).map((r) => r.id));
  }

  // --- brute force ---

  private ids(v: Variant): number[] | string | null {
    if (v.run !== undefined) return v.run;
    const out: number[] = [];
    for (const t of v.terms) {
      const id = this.termIds.get(t);
      if (id === undefined) return null;
      out.push(id);
    }
    return out;
  }

  /** Occurrences of a variant (term ids, or a Chinese run to grep) in passage `id` (0 when absent). */
  private tf(v: number[] | string, id: number): number {
    if (typeof v === 'string') {
      const text = this.norms[id]!;
      let k = 0;
      for (let i = text.indexOf(v); i >= 0; i = text.indexOf(v, i + v.length)) k++;
      return k;
    }
    const seq = this.seq;
    const from = this.seqAt[id]!;
    const to = this.seqAt[id + 1]!;
    let n = 0;
    if (v.length === 1) {
      const t = v[0]!;
      for (let i = from; i < to; i++) if (seq[i] === t) n++;
      const subs = this.subs;
      for (let i = this.subAt[id]!, e = this.subAt[id + 1]!; i < e; i++) if (subs[i] === t) n++;
      return n;
    }
    const last = to - v.length;
    outer: for (let i = from; i <= last; i++) {
      for (let k = 0; k < v.length; k++) if (seq[i + k] !== v[k]) continue outer;
      n++;
    }
    return n;
  }

  /** Scan every passage; returns all matching ids and the top 20 by BM25. */
  bruteSearch(q: BaselineQuery): { all: number[]; top: BaselineHit[] } {
    const clauses = q.clauses.map((c) => c.map((v) => this.ids(v)).filter((v): v is number[] | string => v !== null));
    const exclude = q.exclude.map((v) => this.ids(v)).filter((v): v is number[] | string => v !== null);
    if (q.clauses.length === 0 || clauses.some((c) => c.length === 0)) return { all: [], top: [] };
    const docSet = q.docs.length > 0 ? new Set(q.docs.map((d) => this.docIds.indexOf(d))) : null;
    const lang = q.lang === undefined ? -1 : q.lang === 'zh' ? 1 : 0;
    const all: number[] = [];
    const tfs: number[][] = [];
    const flat = clauses.flat();
    const df = new Array<number>(flat.length).fill(0);
    for (let id = 1; id <= this.count; id++) {
      if (lang >= 0 && this.pLang[id] !== lang) continue;
      if (docSet && !docSet.has(this.pDoc[id]!)) continue;
      const row: number[] = [];
      let ok = true;
      for (const c of clauses) {
        let any = false;
        for (const v of c) {
          const n = this.tf(v, id);
          row.push(n);
          if (n > 0) any = true;
        }
        if (!any) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      if (exclude.some((v) => this.tf(v, id) > 0)) continue;
      all.push(id);
      tfs.push(row);
      row.forEach((n, i) => {
        if (n > 0) df[i]!++;
      });
    }
    const avg = Math.max(1, this.totalLen / Math.max(1, this.count));
    const scored = all.map((id, j) => {
      const len = this.seqAt[id + 1]! - this.seqAt[id]!;
      const norm = K1 * (1 - B + (B * len) / avg);
      let s = 0;
      tfs[j]!.forEach((tf, i) => {
        if (tf > 0) s += (Math.log(1 + (this.count - df[i]! + 0.5) / (df[i]! + 0.5)) * tf * (K1 + 1)) / (tf + norm);
      });
      return { id, s };
    });
    scored.sort((a, b) => b.s - a.s || a.id - b.id);
    return { all, top: scored.slice(0, 20).map((x) => ({ passageId: x.id, text: this.text(x.id) })) };
  }

  close(): void {
    this.db.close();
  }
}

/** Path of the FTS5 database for a run. */
export function ftsPath(dir: string): string {
  return join(dir, 'fts5.db');
}
