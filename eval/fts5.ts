/**
 * The baseline: SQLite FTS5 (better-sqlite3's bundled SQLite) over the same
 * passages, with the trigram tokenizer and `bm25()` ranking.
 *
 * Each passage's own text (pieces joined, as duikou indexes it) is stored
 * after duikou's normalisation (NFKC, traditional → simplified), so folding is
 * not what the comparison measures. A query is translated into a plain
 * OR-query of its terms: the query is normalised the same way, split on
 * whitespace, and each term becomes an FTS5 string (`"对口支援" OR "support"`),
 * which the trigram tokenizer matches as a substring, case-insensitively.
 * A term shorter than three characters (援藏, 林芝) has no trigram, so FTS5
 * cannot match it; it is matched with `LIKE '%term%'` instead, and passages
 * found only that way follow the bm25-ranked ones, in corpus order.
 */
import Database from 'better-sqlite3';
import type { CorpusDocument } from '../src/core/types.js';
import { normalizeText } from '../src/pipeline/normalize.js';
import { joinPieces } from '../src/pipeline/segment.js';

/** An FTS5 trigram index of a corpus's passages, by passage id. */
export class Fts5Baseline {
  private readonly db = new Database(':memory:');

  constructor(docs: readonly CorpusDocument[]) {
    this.db.exec(`CREATE VIRTUAL TABLE p USING fts5(text, tokenize = 'trigram')`);
    const insert = this.db.prepare('INSERT INTO p (rowid, text) VALUES (?, ?)');
    this.db.transaction(() => {
      for (const d of docs) for (const ps of d.passages) insert.run(ps.id, normalizeText(joinPieces(d.text, ps.pieces).text));
    })();
  }

  /** The translated query: an FTS5 MATCH expression (or null) and the short terms matched with LIKE. */
  static translate(query: string): { match: string | null; like: string[] } {
    const terms = [
      ...new Set(
        normalizeText(query)
          .split(/\s+/)
          .filter((t) => t !== ''),
      ),
    ];
    const long = terms.filter((t) => [...t].length >= 3);
    return {
      match: long.length === 0 ? null : long.map((t) => `"${t.replaceAll('"', '""')}"`).join(' OR '),
      like: terms.filter((t) => [...t].length < 3),
    };
  }

  /** Passage ids, best first: bm25 order for the MATCH, then LIKE-only matches. */
  search(query: string, limit: number): number[] {
    const { match, like } = Fts5Baseline.translate(query);
    const ids: number[] = [];
    if (match !== null) {
      const rows = this.db.prepare('SELECT rowid AS id FROM p WHERE p MATCH ? ORDER BY bm25(p) LIMIT ?').all(match, limit) as {
        id: number;
      }[];
      for (const r of rows) ids.push(r.id);
    }
    if (like.length > 0 && ids.length < limit) {
      const where = like.map(() => `text LIKE ? ESCAPE '\\'`).join(' OR ');
      const patterns = like.map((t) => `%${t.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      const rows = this.db.prepare(`SELECT rowid AS id FROM p WHERE ${where} ORDER BY rowid`).all(...patterns) as { id: number }[];
      const seen = new Set(ids);
      for (const r of rows) if (!seen.has(r.id) && ids.length < limit) ids.push(r.id);
    }
    return ids;
  }

  close(): void {
    this.db.close();
  }
}
