/**
 * The search index on PostgreSQL (lab-server mode).
 *
 * Passages are stored with their analysed single terms, and apart their
 * biwords (the pairs of words that stand together), as `tsvector`s whose
 * lexemes are duikou's own terms (the same analyzer and glossary as the
 * embedded index; PostgreSQL's parsers and dictionaries are never used) and
 * whose positions are the analyzer's word positions, under a GIN index.
 *
 * Strict matching (every word; the default mode when enough passages hold
 * them all) runs on the whole query as one tsquery (tsquery.ts): the query
 * is compiled as ranking compiles it — glossary translations, hyphenated
 * compounds, multi-word glossary entries, optional stop words — and each
 * item becomes its lexemes (a Chinese run its character pairs, a phrase its
 * words joined by `<->`), alternatives joined by `|`, clauses by `&`, an
 * excluded word `!word`, with `lang:`/`doc:`/`kind:` as a parameterised
 * WHERE clause. One statement returns the passages matching it and the
 * filters, with each query term's and biword's frequency counted from the
 * stored positions and each passage's stored length; beside it, one
 * statement reads the query terms' posting lists as passage ids only (for a
 * phrase, its biwords'), which give BM25 the corpus-wide document
 * frequencies the embedded engine counts (a per-lexeme table could not give
 * a Chinese run's or a phrase's). The very `rank()` of the embedded engine
 * then runs over a per-query view holding just that: a passage outside the
 * candidates is no strict hit, since the tsquery is a superset of the strict
 * hits — where it cannot say something exactly (a single Chinese character,
 * an exclusion that needs the text, positions past a tsvector's limits,
 * `tf_exact` false, read through the same query with `&` for `<->`) it is
 * left wider, and Node checks every candidate exactly. Scores are duikou's
 * BM25 with its priors, computed in Node, so both backends return the same
 * passages, totals, order and scores; match offsets come from the same code.
 *
 * Best match (when strict matching is thin, or the query reads as a
 * question) ranks every passage holding any word: the tsquery `a | b | c`
 * would fetch the same passages, so it keeps the path per term. A query runs
 * in rounds there: `rank()` runs over a view holding the posting list of
 * each term it asked for (`tsv @@ 'term'::tsquery`, with frequencies) and
 * the candidate passages that pass the filters; whatever it asked for and
 * did not have is fetched and the ranking re-run, until nothing is missing
 * (two or three rounds). So does a query of filters or single characters
 * only (its tsquery would not narrow anything), and, as a safety net, a
 * strict query whose ranking asked for something its plan did not fetch
 * ({@link PgSearchBackend.queryPaths} counts both paths).
 *
 * Cost: a passage is analysed again only for what positions do not give
 * (phrases of three words or more, the tokens of the page's hits for match
 * offsets, a passage whose positions do not count its terms: see
 * {@link positionsCountTerms}), and kept, like the embedded engine's token
 * cache. A document's text is fetched once and kept (up to
 * {@link TEXT_CACHE_CHARS}) until its hash changes. Posting lists, strict
 * candidates, passages and titles read by a query are kept for the next
 * ones while the index does not change: every write bumps
 * `search_totals.generation`, which each query reads first, so a query
 * whose lists and candidates are all kept costs that one statement.
 *
 * Words typed in pinyin are read as the index's Chinese terms (readPinyin
 * over a PinyinLexicon, as the embedded engine does): the lexicon is filled
 * from the stored tsvectors at open, from the papers this instance indexes,
 * and from those another instance announces ({@link PgSearchBackend.learnTerms});
 * whether a term still occurs is asked of the index and kept until the next
 * write (`search_totals.generation`).
 *
 * The index records {@link PG_INDEX_FORMAT}; when it differs (the analyzer
 * or the index layout changed) the stored passages are dropped and
 * {@link PgSearchBackend.needsReindex} tells the caller to index again.
 */
import type pg from 'pg';
import { LRUCache } from 'lru-cache';
import { UserInputError } from '../../core/errors.js';
import type { CorpusDocument, Lang, Passage, Span } from '../../core/types.js';
import { type PassageMatches, type SearchOptions, type SearchResult, MAX_LIMIT, pageOfHits } from '../search-contract.js';
import { type PreparedDocument, analyzePassage } from '../../pipeline/prepare.js';
import { type AnalyzedToken, analyze, biwords, findRun, hanLayer } from '../../pipeline/analyze.js';
import type { Glossary } from '../../pipeline/glossary.js';
import { INDEX_FORMAT_VERSION, type PassageIndex } from '../../pipeline/index.js';
import { normalizeText } from '../../pipeline/normalize.js';
import { PinyinLexicon, pinyinLetters, readPinyin } from '../../pipeline/pinyin.js';
import type { ParsedQuery } from '../../pipeline/query.js';
import { joinPieces, readsAsCitation } from '../../pipeline/segment.js';
import { BEST_MATCH_BELOW, type RankOptions, type SearchSource, rank } from '../../pipeline/rank.js';
import { readsAsQuestion } from '../../pipeline/best-match.js';
import type { AllMatchesOptions, CorpusCounts, SearchBackend } from '../types.js';
import { CHANGES_CHANNEL, type ChangeNotice } from './annotations.js';
import { inTransaction } from './db.js';
import { type TsqueryPlan, filterWhere, isBiword, lexeme, planStrict, quoteLexeme } from './tsquery.js';

export { lexeme };

/** What decides the stored index's content: the embedded index's format version and this layout. */
export const PG_INDEX_FORMAT = `duikou-index-${INDEX_FORMAT_VERSION}/pg-5`;

/** tsvector positions stop at 16383 and 256 per lexeme. */
const MAX_POSITION = 16383;
const MAX_POSITIONS = 256;
/** Document text kept between queries, in UTF-16 units (about twice as many bytes). */
const TEXT_CACHE_CHARS = 100_000_000;
/** Analysed passages kept between queries (as the embedded engine's token cache). */
const STATS_CACHE_SIZE = 20_000;
/** Passage ids of posting lists kept between queries, all lists together (about 8 bytes each). */
const POSTINGS_CACHE_IDS = 4_000_000;
/** Passages (their place, kind and pieces) kept between queries. */
const PASSAGE_CACHE_SIZE = 100_000;
/** Terms whose presence in the index is kept between queries (dropped all at once beyond this, and at every write). */
const OCCURRENCE_CACHE_SIZE = 100_000;

/**
 * A term's posting list: passage ids, ascending, and for each the term's
 * frequency read from the stored positions (-1 where they do not give it);
 * no frequencies for a character's list.
 */
interface Posting {
  ids: number[];
  tf: Int32Array | null;
}

/** A passage's analysis: its tokens, its length in word positions, and its term and biword frequencies. */
interface PassageStats {
  length: number;
  freq: Map<string, number>;
  toks: AnalyzedToken[];
}

/** Rounds of fetch-and-rank before giving up (a bug if ever reached: each round only adds). */
const MAX_ROUNDS = 8;

/**
 * Each occurrence of a passage's index terms with its word position: its
 * single terms, then its biwords (at their first token's position), as the
 * embedded index counts them.
 */
function termOccurrences(toks: readonly AnalyzedToken[]): Array<[term: string, position: number]> {
  const out: Array<[string, number]> = toks.map((t) => [t.term, t.position]);
  const at: number[] = [];
  biwords(toks, at).forEach((b, i) => out.push([b, at[i]!]));
  return out;
}

/**
 * The tsvector text of a passage: each single term with its word positions
 * (1-based); with `pairs`, each biword instead, at its first word's position.
 * Biwords are stored (in a column of their own, so that a single term's list
 * reads no larger tsvectors than before) so that a phrase's pairs are counted
 * from their positions, like single terms, rather than by analysing every
 * candidate passage again.
 */
export function passageTsvector(toks: readonly AnalyzedToken[], bigrams: readonly string[] = [], pairs = false): string {
  const positions = new Map<string, number[]>();
  // Han bigrams (the recall layer) share the terms' lexemes, as in the embedded index, without positions.
  for (const b of bigrams) positions.set(lexeme(b), []);
  for (const [term, position] of termOccurrences(toks)) {
    if (isBiword(term) !== pairs) continue;
    const l = lexeme(term);
    const list = positions.get(l) ?? [];
    const pos = Math.min(position + 1, MAX_POSITION);
    if (list.length < MAX_POSITIONS && list.at(-1) !== pos) list.push(pos);
    positions.set(l, list);
  }
  return [...positions].map(([l, ps]) => (ps.length ? `${quoteLexeme(l)}:${ps.join(',')}` : quoteLexeme(l))).join(' ');
}

/**
 * Whether a passage's tsvector gives each of its terms' and biwords'
 * frequencies exactly: its positions are one per occurrence unless a term or
 * biword occurs twice at one position (a sub-word the same as another, a
 * word followed by two sub-words of one term), 256 times or more, or past
 * position 16383. Where not, frequencies come from analysing it again.
 */
export function positionsCountTerms(toks: readonly AnalyzedToken[]): boolean {
  const last = new Map<string, number>();
  const count = new Map<string, number>();
  for (const [term, position] of termOccurrences(toks)) {
    const prev = last.get(term);
    if (position + 1 >= MAX_POSITION || (prev !== undefined && position <= prev)) return false;
    last.set(term, position);
    const n = (count.get(term) ?? 0) + 1;
    if (n >= MAX_POSITIONS) return false;
    count.set(term, n);
  }
  return true;
}

/** Delete a document and its passages, taking them off `search_totals`; true when it was there. */
async function removeRows(c: pg.PoolClient, docId: string): Promise<boolean> {
  const gone = await c.query<{ n: number; w: string }>(
    `WITH gone AS (DELETE FROM search_passages WHERE doc_id = $1 RETURNING words)
     SELECT count(*)::int AS n, coalesce(sum(words), 0)::text AS w FROM gone`,
    [docId],
  );
  const { n, w } = gone.rows[0] ?? { n: 0, w: '0' };
  if (n > 0) await c.query('UPDATE search_totals SET passages = passages - $1, words = words - $2, generation = generation + 1', [n, w]);
  return ((await c.query('DELETE FROM search_documents WHERE id = $1', [docId])).rowCount ?? 0) > 0;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Announce a change to the other instances (delivered when the transaction commits). */
async function notify(c: pg.PoolClient, notice: ChangeNotice): Promise<void> {
  await c.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify(notice)]);
}

interface PassageRow {
  id: number;
  doc_id: string;
  passage: Omit<Passage, 'id'>;
}

/** A strict candidate as fetched: its row, and the counts of the asked lexemes in `tsv` and `pairs` (null: none there). */
interface CandidateRow extends PassageRow {
  words: number;
  tf_exact: boolean;
  tf: Record<string, number> | null;
  pf: Record<string, number> | null;
}

/** Where an ascending list of ids holds `id`, or -1. */
function indexOf(ids: readonly number[], id: number): number {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = ids[mid]!;
    if (at === id) return mid;
    if (at < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Whether an ascending list of ids holds `id`. */
const holds = (ids: readonly number[], id: number): boolean => indexOf(ids, id) >= 0;

/**
 * A plan's strict candidates as ranking reads them (kept between queries):
 * ids ascending, with each one's passage and length, and per term or biword
 * its count in each (aligned with the ids; -1 where positions do not count it).
 */
interface Candidates {
  ids: number[];
  passages: Passage[];
  words: number[];
  docIds: string[];
  counts: Map<string, Int32Array>;
}

/** {@link SearchBackend} on PostgreSQL. Open with {@link PgSearchBackend.open}. */
export class PgSearchBackend implements SearchBackend {
  readonly kind = 'postgres' as const;

  /**
   * Passage id → analysis. Ids are never reused (an identity column), so an
   * entry can only go unused, never go stale, when a document is re-indexed.
   */
  private readonly statsCache = new Map<number, PassageStats>();
  /** Documents' texts by id, with the hash they were fetched at: fetched again only when the text changed. */
  private readonly textCache = new TextCache();
  /** Posting lists, titles and passages read by earlier queries (see {@link IndexCache}). */
  private readonly indexCache = new IndexCache();
  /**
   * The index's Chinese terms by their pinyin, for queries typed in pinyin
   * (as the embedded engine's). Terms of removed papers stay; a reading is
   * kept only when its terms still occur (see {@link withPinyin}).
   */
  private readonly pinyin = new PinyinLexicon();
  /** Filled from the stored index at open; a query typed in pinyin waits for it. */
  private lexiconLoaded: Promise<void> = Promise.resolve();
  /** Whether a term occurs in the index, as last asked, valid at {@link occurrenceAt}. */
  private readonly occurrence = new Map<string, boolean>();
  private occurrenceAt = '';
  /**
   * How many queries were answered from their whole tsquery's candidates,
   * and how many from a posting list per term (best match, a question, a
   * query of filters or single characters only): for tests and the benchmark.
   */
  readonly queryPaths = { tsquery: 0, postings: 0 };

  private constructor(
    readonly pool: pg.Pool,
    private glossary: Glossary,
    /** True when the stored index was made by another analyzer and was dropped: index the corpus again. */
    readonly needsReindex: boolean,
  ) {}

  /**
   * Note the Chinese terms of stored papers in the pinyin lexicon: those of
   * `docIds`, or of every paper. An instance calls it for papers another
   * instance indexed (announced by NOTIFY); its own are noted as it indexes them.
   */
  async learnTerms(docIds: readonly string[] | null = null): Promise<void> {
    // ts_stat lists each lexeme of the matching passages once: the terms and Han bigrams indexed.
    const inner = docIds
      ? `SELECT tsv FROM search_passages WHERE lang = 'zh' AND doc_id = ANY(%L::text[])`
      : `SELECT tsv FROM search_passages WHERE lang = 'zh'`;
    const r = await this.pool.query<{ word: string }>(`SELECT word FROM ts_stat(format($1, $2::text[]))`, [inner, docIds ?? []]);
    this.pinyin.addTerms(r.rows.map((x) => x.word));
  }

  /** Create the index tables if needed, and drop an index of another format. */
  static async open(pool: pg.Pool, glossary: Glossary): Promise<PgSearchBackend> {
    const reindex = await inTransaction(pool, async (c) => {
      let otherFormat = false;
      await c.query('SELECT pg_advisory_xact_lock($1)', [0x64_75_69_78]); // 'duix'
      await c.query(`CREATE TABLE IF NOT EXISTS search_meta (key text PRIMARY KEY, value text NOT NULL)`);
      const format = (await c.query<{ value: string }>(`SELECT value FROM search_meta WHERE key = 'format'`)).rows[0]?.value;
      if (format !== PG_INDEX_FORMAT) {
        otherFormat = format !== undefined;
        await c.query('DROP TABLE IF EXISTS search_passages, search_documents, search_totals');
        await c.query(`
          CREATE TABLE search_documents (
            id   text PRIMARY KEY,
            doc  jsonb NOT NULL,  -- the loaded document without its text
            text text NOT NULL    -- canonical text: offsets are UTF-16 code units into it
          );
          CREATE TABLE search_passages (
            id      integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            doc_id  text NOT NULL REFERENCES search_documents(id) ON DELETE CASCADE,
            kind    text NOT NULL,
            lang    text NOT NULL,
            words   integer NOT NULL,
            passage jsonb NOT NULL,
            tsv     tsvector NOT NULL,
            pairs   tsvector NOT NULL, -- its biwords, apart: a single term's list then reads tsvectors no larger
            tf_exact boolean NOT NULL, -- its positions count its terms' occurrences (positionsCountTerms)
            han     text[] NOT NULL  -- the Han characters of its bigrams, for single-character lookups
          );
          CREATE INDEX search_passages_tsv ON search_passages USING gin (tsv);
          CREATE INDEX search_passages_pairs ON search_passages USING gin (pairs);
          CREATE INDEX search_passages_doc ON search_passages (doc_id);
          CREATE INDEX search_passages_han ON search_passages USING gin (han);
          -- The corpus size BM25 needs on every query, kept by each write in its
          -- transaction: counting it would read every passage row each time.
          -- generation: bumped by every write, so what an instance keeps between queries
          -- (which terms occur) is known to be current by reading this one row.
          CREATE TABLE search_totals (
            one        boolean PRIMARY KEY DEFAULT true CHECK (one),
            passages   bigint NOT NULL,
            words      bigint NOT NULL,
            generation bigint NOT NULL DEFAULT 0
          );
          INSERT INTO search_totals (passages, words) VALUES (0, 0);
        `);
        await c.query(`INSERT INTO search_meta (key, value) VALUES ('format', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [
          PG_INDEX_FORMAT,
        ]);
      }
      return otherFormat;
    });
    const backend = new PgSearchBackend(pool, glossary, reindex);
    backend.lexiconLoaded = backend.learnTerms();
    // A failure here shows at the first query typed in pinyin, not as an unhandled rejection.
    backend.lexiconLoaded.catch(() => undefined);
    return backend;
  }

  /** Replace the glossary used for cross-lingual expansion. */
  setGlossary(g: Glossary): void {
    this.glossary = g;
  }

  async indexDocument(prep: PreparedDocument): Promise<CorpusDocument> {
    const { doc } = prep;
    const { text, ...rest } = doc;
    const rows = prep.passages.map((p) => {
      const toks = analyzePassage(text, p.passage);
      if (p.passage.lang === 'zh') this.pinyin.addTerms(p.terms);
      return {
        passage: p.passage,
        words: p.words,
        tsv: passageTsvector(toks, p.bigrams),
        pairs: passageTsvector(toks, [], true),
        exact: positionsCountTerms(toks),
        han: [...new Set(p.bigrams.join(''))],
      };
    });
    const ids = await inTransaction(this.pool, async (c) => {
      await removeRows(c, doc.id);
      await c.query('INSERT INTO search_documents (id, doc, text) VALUES ($1, $2, $3)', [doc.id, JSON.stringify(rest), text]);
      const ids = (
        await c.query<{ id: number }>(
          `INSERT INTO search_passages (doc_id, kind, lang, words, passage, tsv, pairs, tf_exact, han)
           SELECT $1, p->>'kind', p->>'lang', w, p, t::tsvector, b::tsvector, e, ARRAY(SELECT jsonb_array_elements_text(h))
           FROM unnest($2::jsonb[], $3::int[], $4::text[], $5::jsonb[], $6::boolean[], $7::text[]) WITH ORDINALITY AS x(p, w, t, h, e, b, n) ORDER BY n
           RETURNING id`,
          [
            doc.id,
            rows.map((r) => JSON.stringify(r.passage)),
            rows.map((r) => r.words),
            rows.map((r) => r.tsv),
            rows.map((r) => JSON.stringify(r.han)),
            rows.map((r) => r.exact),
            rows.map((r) => r.pairs),
          ],
        )
      ).rows.map((r) => r.id);
      await c.query('UPDATE search_totals SET passages = passages + $1, words = words + $2, generation = generation + 1', [
        rows.length,
        sum(rows.map((r) => r.words)),
      ]);
      await notify(c, { what: 'documents', docId: doc.id });
      return ids;
    });
    // RETURNING follows the insertion order, which follows ORDER BY n.
    const sorted = [...ids].sort((a, b) => a - b);
    return { ...doc, passages: prep.passages.map((p, i) => ({ ...p.passage, id: sorted[i]! })) };
  }

  async removeDocument(id: string): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      if (await removeRows(c, id)) await notify(c, { what: 'documents', docId: id });
    });
  }

  /**
   * Stored documents with their passages (ids as stored): all of them, or
   * those of `ids` that exist. An app instance keeps these for its pages
   * (titles, text, passages by id); the index itself stays in the database.
   */
  async loadDocuments(ids?: readonly string[]): Promise<CorpusDocument[]> {
    const docs = await this.pool.query<{ id: string; doc: Omit<CorpusDocument, 'passages' | 'text'>; text: string }>(
      `SELECT id, doc, text FROM search_documents ${ids ? 'WHERE id = ANY($1::text[])' : ''}`,
      ids ? [ids] : [],
    );
    const passages = await this.pool.query<PassageRow>(
      `SELECT id, doc_id, passage FROM search_passages ${ids ? 'WHERE doc_id = ANY($1::text[])' : ''} ORDER BY id`,
      ids ? [ids] : [],
    );
    const byDoc = new Map<string, Passage[]>();
    for (const r of passages.rows) {
      const list = byDoc.get(r.doc_id) ?? [];
      list.push({ ...r.passage, id: r.id });
      byDoc.set(r.doc_id, list);
    }
    return docs.rows.map((r) => ({ ...r.doc, text: r.text, passages: byDoc.get(r.id) ?? [] }) as CorpusDocument);
  }

  /** Each stored document's metadata (everything but text and passages), by id: what an indexing run compares against. */
  async storedMetadata(): Promise<Map<string, Record<string, unknown>>> {
    const r = await this.pool.query<{ id: string; doc: Record<string, unknown> }>('SELECT id, doc FROM search_documents');
    return new Map(r.rows.map((x) => [x.id, x.doc]));
  }

  async search(query: string, parsed: ParsedQuery, opts: SearchOptions = {}): Promise<SearchResult> {
    await this.applyFilters(parsed, opts);
    const limit = opts.limit ?? 20;
    const offset = opts.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new UserInputError('bad_limit', `limit must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    if (!Number.isInteger(offset) || offset < 0) throw new UserInputError('bad_offset', 'offset must be a whole number ≥ 0');

    const { view, ranked } = await this.rankAll(parsed, opts);
    const { hits, matches, mode, strictTotal } = ranked;
    const perDocument: Record<string, number> = {};
    for (const h of hits) perDocument[h.passage.docId] = (perDocument[h.passage.docId] ?? 0) + 1;
    const page = hits.slice(offset, offset + limit);
    return pageOfHits(
      { query, parsed, opts, offset, limit, total: hits.length, perDocument, mode, strictTotal, ranked: hits, page, matches },
      (id) => view.doc(id),
    );
  }

  async allMatches(parsed: ParsedQuery, opts: AllMatchesOptions = {}): Promise<PassageMatches[]> {
    await this.applyFilters(parsed, opts);
    const { hits, matches } = (await this.rankAll(parsed, { ...opts, match: 'strict' })).ranked;
    // The embedded engine's order: documents by id (as Engine.documents sorts them), passages by place.
    return hits
      .map((h) => h.passage)
      .sort((a, b) => a.docId.localeCompare(b.docId) || a.start - b.start)
      .map((passage) => ({ passage, matches: matches(passage) }));
  }

  /**
   * Term frequencies from the stored tsvectors: each lexeme's positions are
   * its occurrences in the passage. Where a list may have been cut short
   * (256 positions per lexeme, positions beyond 16383 folded into one), the
   * passage is analysed again here and counted as the embedded index counts.
   */
  async corpusCounts(terms: readonly string[]): Promise<CorpusCounts> {
    // The same totals the ranking's BM25 reads (kept by every write).
    const size = (await this.pool.query<{ n: number; w: string | null }>('SELECT passages::int AS n, words::text AS w FROM search_totals'))
      .rows[0];
    const n = size?.n ?? 0;
    const tokens = Math.round((n === 0 ? 1 : Math.max(1, Number(size?.w ?? 0) / n)) * n);
    const frequencies = new Map<string, number>(terms.map((t) => [t, 0]));
    const byLexeme = new Map<string, string[]>();
    for (const t of new Set(terms)) {
      if (t === '' || isBiword(t)) continue;
      const l = lexeme(t);
      byLexeme.set(l, [...(byLexeme.get(l) ?? []), t]);
    }
    if (byLexeme.size === 0) return { tokens, frequencies };
    const lexemes = [...byLexeme.keys()];
    const r = await this.pool.query<{ lexeme: string; n: string; capped: number[] | null }>(
      `SELECT u.lexeme,
              coalesce(sum(coalesce(array_length(u.positions, 1), 0))
                FILTER (WHERE coalesce(array_length(u.positions, 1), 0) < ${MAX_POSITIONS} AND NOT ${MAX_POSITION} = ANY(u.positions)), 0)::text AS n,
              array_agg(p.id) FILTER (WHERE array_length(u.positions, 1) >= ${MAX_POSITIONS} OR ${MAX_POSITION} = ANY(u.positions)) AS capped
       FROM search_passages p, unnest(p.tsv) u
       WHERE p.tsv @@ $1::tsquery AND u.lexeme = ANY($2::text[])
       GROUP BY u.lexeme`,
      [lexemes.map(quoteLexeme).join(' | '), lexemes],
    );
    // Passage id → the terms it was left out of the SQL sums for.
    const capped = new Map<number, string[]>();
    for (const row of r.rows) {
      const ts = byLexeme.get(row.lexeme) ?? [];
      for (const t of ts) frequencies.set(t, Number(row.n));
      for (const id of row.capped ?? []) capped.set(id, [...(capped.get(id) ?? []), ...ts]);
    }
    if (capped.size > 0) {
      const rows = (
        await this.pool.query<PassageRow & { text: string }>(
          `SELECT p.id, p.doc_id, p.passage, d.text FROM search_passages p JOIN search_documents d ON d.id = p.doc_id WHERE p.id = ANY($1::int[])`,
          [[...capped.keys()]],
        )
      ).rows;
      for (const row of rows) {
        const short = new Set(capped.get(row.id));
        for (const t of analyzePassage(row.text, row.passage)) {
          if (short.has(t.term)) frequencies.set(t.term, (frequencies.get(t.term) ?? 0) + 1);
        }
      }
    }
    return { tokens, frequencies };
  }

  /** Add the options' language and documents to the query's filters, and check the documents exist. */
  private async applyFilters(parsed: ParsedQuery, opts: { lang?: Lang; docs?: string[] }): Promise<void> {
    if (opts.lang) parsed.filters.lang = opts.lang;
    if (opts.docs?.length) parsed.filters.docs = [...new Set([...parsed.filters.docs, ...opts.docs])];
    if (parsed.filters.docs.length) {
      const known = new Set(
        (await this.pool.query<{ id: string }>('SELECT id FROM search_documents WHERE id = ANY($1)', [parsed.filters.docs])).rows.map(
          (r) => r.id,
        ),
      );
      const missing = parsed.filters.docs.find((d) => !known.has(d));
      if (missing !== undefined) throw new UserInputError('unknown_document', `No document "${missing}" (未找到该文献)`, 404);
    }
  }

  /** Rank every candidate, fetching what the ranking asks for round by round until nothing is missing. */
  private async rankAll(
    parsed: ParsedQuery,
    opts: RankOptions & { within?: readonly string[] },
  ): Promise<{ view: QueryView; ranked: ReturnType<typeof rank> }> {
    const totals = (
      await this.pool.query<{ n: number; w: string | null; g: string }>(
        // The table's oid with the counter: an index dropped and built again starts a new series.
        `SELECT passages::int AS n, words::text AS w, generation::text || '@' || 'search_totals'::regclass::oid::text AS g FROM search_totals`,
      )
    ).rows[0];
    const generation = totals?.g ?? '';
    if (generation !== this.occurrenceAt) {
      this.occurrence.clear();
      this.occurrenceAt = generation;
    }
    this.indexCache.at(generation);
    const query = await this.withPinyin(parsed, generation);
    const caches = { stats: this.statsCache, texts: this.textCache, index: this.indexCache, generation };
    const newView = () => new QueryView(this.pool, this.glossary, query, caches, totals?.n ?? 0, Number(totals?.w ?? 0), opts.within);
    // Strict matching on the whole query's tsquery: its candidates only, in one statement.
    const strict = opts.match === 'strict';
    const plan = strict || !readsAsQuestion(query) ? planStrict(query, (text) => expansionsOf(this.glossary, text), opts) : null;
    if (plan) {
      const view = newView();
      await view.prefetchStrict(plan);
      const ranked = rank(query, view, opts);
      // Best match (strict too thin) needs every passage holding any word: it runs as below.
      const final = strict || (ranked.mode === 'strict' && ranked.strictTotal >= BEST_MATCH_BELOW);
      if (final && !view.missingSomething()) {
        this.queryPaths.tsquery++;
        return { view, ranked };
      }
    }
    this.queryPaths.postings++;
    const view = newView();
    let ranked = rank(query, view, opts);
    for (let round = 1; view.missingSomething(); round++) {
      if (round >= MAX_ROUNDS) throw new Error(`search: still missing data after ${MAX_ROUNDS} rounds`);
      await view.fetchMissing();
      ranked = rank(query, view, opts);
    }
    return { view, ranked };
  }

  /**
   * The query with words typed in pinyin also searched as the index's Chinese
   * terms that sound so, as the embedded engine reads it. Whether a term
   * occurs is asked of the index for the terms the reading needs (one
   * statement a round, rarely more than one round) and kept until the next
   * write (`generation`).
   */
  private async withPinyin(parsed: ParsedQuery, generation: string): Promise<ParsedQuery> {
    const typed = [...parsed.clauses.flat(), ...parsed.exclude].some((item) =>
      item.text.split(/\s+/).some((w) => pinyinLetters(w) !== null),
    );
    if (!typed) return parsed;
    // Readings are made from the lexicon: it must hold every stored paper's terms first.
    await this.lexiconLoaded;
    const answers = new Map<string, boolean>();
    for (let round = 0; ; round++) {
      const unknown = new Set<string>();
      const occurs = (term: string): boolean => {
        const o = answers.get(term) ?? this.occurrence.get(term);
        if (o === undefined) unknown.add(term);
        return o ?? false;
      };
      const read = readPinyin(parsed, {
        read: (letters) => this.pinyin.read(letters, occurs),
        known: (word) => analyze(word, 'query').some((t) => occurs(t.term)),
      });
      if (unknown.size === 0) return read;
      if (round >= MAX_ROUNDS) throw new Error(`search: pinyin reading still asking after ${MAX_ROUNDS} rounds`);
      for (const [t, o] of await this.learnOccurrence([...unknown], generation)) answers.set(t, o);
    }
  }

  /** Ask the index which of `terms` occur (in any passage, as the embedded index's `lookup`). */
  private async learnOccurrence(terms: string[], generation: string): Promise<Map<string, boolean>> {
    const asked = terms.filter((t) => t !== '' && !isBiword(t) && !t.includes(' '));
    const found = new Set(
      asked.length === 0
        ? []
        : (
            await this.pool.query<{ t: string }>(
              `SELECT x.t FROM unnest($1::text[], $2::text[]) AS x(t, q) WHERE EXISTS (SELECT 1 FROM search_passages WHERE tsv @@ x.q::tsquery)`,
              [asked, asked.map((t) => quoteLexeme(lexeme(t)))],
            )
          ).rows.map((r) => r.t),
    );
    const answers = new Map(terms.map((t) => [t, found.has(t)]));
    // Another query may have seen a newer generation meanwhile: keep the answers only for the one they were asked at.
    if (generation === this.occurrenceAt) {
      if (this.occurrence.size + terms.length > OCCURRENCE_CACHE_SIZE) this.occurrence.clear();
      for (const [t, o] of answers) this.occurrence.set(t, o);
    }
    return answers;
  }
}

/**
 * What queries read from the index and the next query may read again,
 * valid for one index generation (`search_totals.generation`, bumped by
 * every write, read by each query in the statement it needs anyway): posting
 * lists and documents' titles and hashes. Passages are kept across
 * generations: a passage id is never reused, and a paper indexed again gets
 * new ones.
 */
class IndexCache {
  private generation = '';
  private readonly postings = new Map<string, Posting>();
  private postingIds = 0;
  private readonly docs = new Map<string, { title: string; hash: string }>();
  private readonly passages = new Map<number, { passage: Passage; words: number }>();
  /** Posting lists as ids only (plan mode), under the same budget as {@link postings}. */
  private readonly idLists = new Map<string, number[]>();
  /** Strict candidates by their statement's parameters (plan mode), at most an eighth of {@link POSTINGS_CACHE_IDS} in all. */
  private readonly candidateRows = new Map<string, Candidates>();
  private candidateCount = 0;

  /** Start a query at `generation`: what was kept for another one is dropped. */
  at(generation: string): void {
    if (generation === this.generation) return;
    this.generation = generation;
    this.postings.clear();
    this.idLists.clear();
    this.postingIds = 0;
    this.docs.clear();
    this.candidateRows.clear();
    this.candidateCount = 0;
  }

  /** Whether answers read at `generation` may still be kept. */
  current(generation: string): boolean {
    return generation === this.generation;
  }

  posting(term: string): Posting | undefined {
    return this.postings.get(term);
  }

  setPosting(generation: string, term: string, posting: Posting): void {
    if (!this.current(generation)) return;
    if (this.postingIds + posting.ids.length > POSTINGS_CACHE_IDS) {
      this.postings.clear();
      this.idLists.clear();
      this.postingIds = 0;
    }
    this.postings.set(term, posting);
    this.postingIds += posting.ids.length;
  }

  /** A term's passage ids: from a posting list kept with its frequencies, or one kept as ids only. */
  idList(term: string): number[] | undefined {
    return this.postings.get(term)?.ids ?? this.idLists.get(term);
  }

  setIdList(generation: string, term: string, ids: number[]): void {
    if (!this.current(generation)) return;
    if (this.postingIds + ids.length > POSTINGS_CACHE_IDS) {
      this.postings.clear();
      this.idLists.clear();
      this.postingIds = 0;
    }
    this.idLists.set(term, ids);
    this.postingIds += ids.length;
  }

  candidates(key: string): Candidates | undefined {
    return this.candidateRows.get(key);
  }

  setCandidates(generation: string, key: string, found: Candidates): void {
    if (!this.current(generation)) return;
    if (this.candidateCount + found.ids.length > POSTINGS_CACHE_IDS / 8) {
      this.candidateRows.clear();
      this.candidateCount = 0;
    }
    this.candidateRows.set(key, found);
    this.candidateCount += found.ids.length;
  }

  doc(id: string): { title: string; hash: string } | undefined {
    return this.docs.get(id);
  }

  setDoc(generation: string, id: string, d: { title: string; hash: string }): void {
    if (this.current(generation)) this.docs.set(id, d);
  }

  passage(id: number): { passage: Passage; words: number } | undefined {
    return this.passages.get(id);
  }

  setPassage(id: number, e: { passage: Passage; words: number }): void {
    if (this.passages.size >= PASSAGE_CACHE_SIZE) {
      // The oldest tenth goes at once, so filling a full cache does not drop one entry per passage.
      let n = PASSAGE_CACHE_SIZE / 10;
      for (const k of this.passages.keys()) {
        if (n-- <= 0) break;
        this.passages.delete(k);
      }
    }
    this.passages.set(id, e);
  }
}

/**
 * Texts kept between queries, at most {@link TEXT_CACHE_CHARS} UTF-16 units,
 * the least recently used dropped first (a text larger than the whole bound
 * is not kept).
 */
export class TextCache {
  private readonly map: LRUCache<string, { hash: string; text: string }>;

  /** @param maxChars - UTF-16 units kept at most */
  constructor(maxChars = TEXT_CACHE_CHARS) {
    // lru-cache wants positive sizes: an empty text counts as one unit.
    this.map = new LRUCache({ maxSize: maxChars, sizeCalculation: (e) => Math.max(1, e.text.length) });
  }

  /** UTF-16 units of the texts kept now. */
  get chars(): number {
    return this.map.calculatedSize;
  }

  /** The text of `id` if it is kept at `hash`. */
  get(id: string, hash: string): string | undefined {
    const e = this.map.get(id);
    return e?.hash === hash ? e.text : undefined;
  }

  /** Keep `text` as `id`'s text at `hash` (replacing another version's). */
  set(id: string, hash: string, text: string): void {
    this.map.set(id, { hash, text });
  }
}

/**
 * One query's view of the stored corpus, as the ranking stage's
 * {@link SearchSource}: it answers from what it has fetched and notes what it
 * lacked, for the next round.
 */
class QueryView implements SearchSource {
  readonly index: PassageIndex;
  private readonly postings = new Map<string, Posting>();
  /** Posting lists read only for their frequencies (a Chinese run's own word): their passages are not candidates. */
  private readonly counted = new Map<string, Posting>();
  private readonly wantedCounts = new Set<string>();
  private readonly wantedTerms = new Set<string>();
  /** Passages fetched (those that pass the filters); `checked` also holds those that did not. */
  private readonly loaded = new Map<number, Passage>();
  private readonly checked = new Set<number>();
  private readonly wantedPassages = new Set<number>();
  private readonly docs = new Map<string, { title: string; text: string }>();

  private allLoaded = false;
  private wantAll = false;

  private readonly stats: Map<number, PassageStats>;
  private readonly texts: TextCache;
  private readonly cache: IndexCache;
  private readonly generation: string;
  /** Each loaded passage's length in word positions (as stored at indexing). */
  private readonly words = new Map<number, number>();

  /**
   * Set when the query runs on its strict candidates only (see {@link prefetchStrict}):
   * the passages matching its tsquery are all that is loaded, and ranking is
   * answered from them and from the posting lists' ids, never fetching more.
   */
  private plan: TsqueryPlan | null = null;
  /** Plan mode: the strict candidates, with the counts of the plan's terms and biwords. */
  private candidates: Candidates | null = null;
  /** Plan mode: posting lists (ids only) of the terms, characters and biwords ranking reads. */
  private readonly idLists = new Map<string, number[]>();
  /** Plan mode: ranking asked for something the plan did not fetch (the caller then ranks as before). */
  private planMiss = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly glossary: Glossary,
    private readonly parsed: ParsedQuery,
    caches: { stats: Map<number, PassageStats>; texts: TextCache; index: IndexCache; generation: string },
    size: number,
    totalWords: number,
    /** See {@link SearchOptions.within}: the papers a `tag:`/`note:` filter leaves, as a WHERE clause. */
    private readonly within?: readonly string[],
  ) {
    this.stats = caches.stats;
    this.texts = caches.texts;
    this.cache = caches.index;
    this.generation = caches.generation;
    // The subset of PassageIndex that ranking reads, answered from this view.
    const index: Pick<PassageIndex, 'lookup' | 'lookupAll' | 'lookupChar' | 'frequency' | 'lengthOf' | 'size' | 'averageLength'> = {
      lookup: (term) => this.lookup(term),
      lookupAll: (terms) => {
        const lists = [...new Set(terms)].map((t) => this.lookup(t));
        if (lists.length === 0) return [];
        return lists.reduce((acc, l) => {
          const set = new Set(l);
          return acc.filter((id) => set.has(id));
        });
      },
      lookupChar: (c) => this.lookup(`\u0000char:${c}`),
      frequency: (id, term) => this.storedFrequency(id, term) ?? this.stat(id)?.freq.get(term) ?? 0,
      lengthOf: (id) => this.words.get(id) ?? 0,
      size,
      averageLength: size === 0 ? 1 : Math.max(1, totalWords / size),
    };
    this.index = index as PassageIndex;
  }

  missingSomething(): boolean {
    return (
      this.planMiss ||
      this.wantedTerms.size > 0 ||
      this.wantedCounts.size > 0 ||
      this.wantedPassages.size > 0 ||
      (this.wantAll && !this.allLoaded)
    );
  }

  /**
   * Fetch, for strict matching on the plan's tsquery, the candidate passages
   * (those matching it and the filters, with the counts of the plan's terms
   * and biwords from their positions, and their lengths) in one statement,
   * and beside it the posting lists (ids only) that give the corpus-wide
   * document frequencies BM25 reads, as the embedded engine counts them.
   */
  async prefetchStrict(plan: TsqueryPlan): Promise<void> {
    this.plan = plan;
    const lists = [
      ...plan.terms.map((t) => ({ key: t, q: quoteLexeme(lexeme(t)), char: null, pair: false })),
      ...plan.chars.map((c) => ({ key: `\u0000char:${c}`, q: quoteLexeme(lexeme(c)), char: c, pair: false })),
      ...plan.pairs.map((b) => ({ key: b, q: quoteLexeme(lexeme(b)), char: null, pair: true })),
    ];
    // A query of one word without filters: its candidates are its posting list, read once.
    const { lang, docs, kinds } = this.parsed.filters;
    const unfiltered = !lang && docs.length === 0 && !kinds?.length;
    const whole = unfiltered ? lists.find((l) => !l.pair && l.char === null && l.q === plan.tsquery) : undefined;
    const missing = lists.filter((l) => {
      const kept = this.cache.idList(l.key);
      if (kept) this.idLists.set(l.key, kept);
      return !kept && l !== whole;
    });
    const fetchLists = async (): Promise<void> => {
      if (missing.length === 0) return;
      const terms = missing.filter((l) => !l.pair && l.char === null);
      const chars = missing.filter((l) => l.char !== null);
      const pairs = missing.filter((l) => l.pair);
      const groups = [terms, chars, pairs];
      // Each list comes back by its group and place (a character's key holds a NUL, which text parameters cannot).
      const part = (pred: string, g: number) =>
        `SELECT ${g} AS g, x.n, ARRAY(SELECT id FROM search_passages WHERE ${pred} ORDER BY id) AS ids
         FROM unnest($${2 * g + 1}::text[], $${2 * g + 2}::text[]) WITH ORDINALITY AS x(q, c, n)`;
      const r = await this.pool.query<{ g: number; n: string; ids: number[] }>(
        [
          part('tsv @@ x.q::tsquery', 0),
          // A character: the passages listing it as a word, or holding a pair with it (as the embedded lookupChar).
          part('(tsv @@ x.q::tsquery OR han @> ARRAY[x.c])', 1),
          part('pairs @@ x.q::tsquery', 2),
        ].join(' UNION ALL '),
        groups.flatMap((ls) => [ls.map((l) => l.q), ls.map((l) => l.char ?? '')]),
      );
      for (const row of r.rows) {
        const key = groups[row.g]![Number(row.n) - 1]!.key;
        this.idLists.set(key, row.ids);
        this.cache.setIdList(this.generation, key, row.ids);
      }
    };
    await Promise.all([fetchLists(), this.fetchCandidates(plan)]);
    if (whole && !this.idLists.has(whole.key)) {
      const ids = this.candidates!.ids;
      this.idLists.set(whole.key, ids);
      this.cache.setIdList(this.generation, whole.key, ids);
    }
  }

  /** The strict candidates of a plan, with what ranking reads of them (kept for the next query at this generation). */
  private async fetchCandidates(plan: TsqueryPlan): Promise<void> {
    const terms = [...new Set([...plan.counted, ...plan.pairs])];
    const termLexemes = [...new Set(terms.filter((t) => !isBiword(t)).map(lexeme))];
    const pairLexemes = [...new Set(plan.pairs.map(lexeme))];
    const filters = filterWhere(this.parsed.filters, plan.loose ? 5 : 4, this.within);
    const match = plan.loose ? '(tsv @@ $1::tsquery OR (NOT tf_exact AND tsv @@ $4::tsquery))' : 'tsv @@ $1::tsquery';
    const params = [plan.tsquery, termLexemes, pairLexemes, ...(plan.loose ? [plan.loose] : []), ...filters.params];
    const key = JSON.stringify(params);
    let found = this.cache.candidates(key);
    if (!found) {
      // Each candidate's count of an asked lexeme is its number of positions, cut out of the tsvector
      // (setweight marks the asked lexemes, ts_filter keeps them: no passage's whole tsvector is unnested).
      const r = await this.pool.query<CandidateRow>(
        `SELECT id, doc_id, words, passage, tf_exact,
                (SELECT jsonb_object_agg(u.lexeme, array_length(u.positions, 1)) FROM unnest(ts_filter(setweight(tsv, 'A', $2::text[]), '{a}')) u) AS tf,
                (SELECT jsonb_object_agg(u.lexeme, array_length(u.positions, 1)) FROM unnest(ts_filter(setweight(pairs, 'A', $3::text[]), '{a}')) u) AS pf
         FROM search_passages WHERE ${[match, ...filters.sql].join(' AND ')} ORDER BY id`,
        params,
      );
      const rows = r.rows;
      // Counts by term, aligned with the ids (-1 where the positions do not count the terms): read per candidate and term.
      const counts = new Map<string, Int32Array>();
      for (const t of terms) {
        const l = lexeme(t);
        const pair = isBiword(t);
        counts.set(
          t,
          Int32Array.from(rows, (row) => (row.tf_exact ? ((pair ? row.pf : row.tf)?.[l] ?? 0) : -1)),
        );
      }
      found = {
        ids: rows.map((row) => row.id),
        passages: rows.map((row) => ({ ...row.passage, id: row.id })),
        words: rows.map((row) => row.words),
        docIds: [...new Set(rows.map((row) => row.doc_id))],
        counts,
      };
      this.cache.setCandidates(this.generation, key, found);
    }
    this.candidates = found;
    for (const [i, id] of found.ids.entries()) {
      this.checked.add(id);
      this.loaded.set(id, found.passages[i]!);
      this.words.set(id, found.words[i]!);
    }
    await this.loadDocs(found.docIds);
  }

  /** Plan mode: a term's or biword's frequency in a passage (see {@link storedFrequency}). */
  private planFrequency(id: number, term: string): number | undefined {
    const c = this.candidates;
    const at = c ? indexOf(c.ids, id) : -1;
    if (at >= 0) {
      const counts = c!.counts.get(term);
      if (!counts) {
        if (term === '' || term.includes(' ') || term.startsWith('\u0000')) return undefined;
        this.planMiss = true;
        return 0;
      }
      const n = counts[at]!;
      return n < 0 ? undefined : n;
    }
    // Not a candidate: only whether it holds the term is asked (a phrase's document frequency), from the lists.
    const ids = this.idLists.get(term);
    if (!ids) {
      this.planMiss = true;
      return 0;
    }
    return holds(ids, id) ? 1 : 0;
  }

  /** Fetch the posting lists and passages the last round asked for. */
  async fetchMissing(): Promise<void> {
    const terms = [...this.wantedTerms];
    this.wantedTerms.clear();
    const counts = [...this.wantedCounts].filter((t) => !terms.includes(t));
    this.wantedCounts.clear();
    const fetchCounts = counts.map(async (t) => {
      const posting = await this.fetchPosting(t);
      this.counted.set(t, posting);
      this.cache.setPosting(this.generation, t, posting);
    });
    await Promise.all([
      ...fetchCounts,
      ...terms.map(async (t) => {
        const posting = await this.fetchPosting(t);
        this.postings.set(t, posting);
        this.cache.setPosting(this.generation, t, posting);
      }),
    ]);
    // Every candidate of a term is a passage ranking will look at.
    for (const t of terms) for (const id of this.postings.get(t)?.ids ?? []) if (!this.checked.has(id)) this.wantedPassages.add(id);
    const ids = [...this.wantedPassages];
    this.wantedPassages.clear();
    if (this.wantAll && !this.allLoaded) {
      await this.loadPassages(null);
      this.allLoaded = true;
    } else if (ids.length > 0) {
      await this.loadPassages(ids);
    }
  }

  /** A term's posting list (a character's: `\u0000char:` and the character) with its frequencies. */
  private async fetchPosting(t: string): Promise<Posting> {
    const char = t.startsWith('\u0000char:') ? t.slice('\u0000char:'.length) : null;
    // A character: the passages listing it as a word, or holding a bigram with it (as the embedded lookupChar).
    if (char) {
      const r = await this.pool.query<{ id: number }>(
        'SELECT id FROM search_passages WHERE tsv @@ $1::tsquery OR han @> ARRAY[$2] ORDER BY id',
        [quoteLexeme(lexeme(char)), char],
      );
      return { ids: r.rows.map((x) => x.id), tf: null };
    }
    // The term's positions in each passage, cut out of its tsvector (setweight marks the one lexeme, ts_filter keeps it).
    const col = isBiword(t) ? 'pairs' : 'tsv';
    const r = await this.pool.query<{ id: number; n: number | null }>(
      `SELECT id, CASE WHEN tf_exact THEN coalesce((SELECT array_length(u.positions, 1) FROM unnest(ts_filter(setweight(${col}, 'A', ARRAY[$2]), '{a}')) u), 0) END AS n
       FROM search_passages WHERE ${col} @@ $1::tsquery ORDER BY id`,
      [quoteLexeme(lexeme(t)), lexeme(t)],
    );
    return { ids: r.rows.map((x) => x.id), tf: Int32Array.from(r.rows, (x) => x.n ?? -1) };
  }

  /** Whether a passage passes the query's `lang:`/`doc:`/`kind:` filters. */
  private passes(p: Passage): boolean {
    const { lang, docs, kinds } = this.parsed.filters;
    return (!lang || p.lang === lang) && (docs.length === 0 || docs.includes(p.docId)) && (!kinds?.length || kinds.includes(p.kind));
  }

  /** Whether a document's title and text are at hand (here, or kept at this generation), without asking the database. */
  private docReady(docId: string): boolean {
    if (this.docs.has(docId)) return true;
    const d = this.cache.doc(docId);
    const text = d && this.texts.get(docId, d.hash);
    if (!d || text === undefined) return false;
    this.docs.set(docId, { title: d.title, text });
    return true;
  }

  /** Take the passages of `ids` that earlier queries kept (with their documents); the ids still to fetch. */
  private adopt(ids: Iterable<number>): number[] {
    const missing: number[] = [];
    for (const id of ids) {
      if (this.checked.has(id)) continue;
      const e = this.cache.passage(id);
      if (!e || !this.docReady(e.passage.docId)) {
        missing.push(id);
        continue;
      }
      this.checked.add(id);
      if (this.passes(e.passage)) {
        this.loaded.set(id, e.passage);
        this.words.set(id, e.words);
      }
    }
    return missing;
  }

  /** Load passages (these ids, or all) that pass the query's filters, with their documents. */
  private async loadPassages(wanted: number[] | null): Promise<void> {
    const ids = wanted && this.adopt(wanted);
    if (ids?.length === 0) return;
    const { lang, docs, kinds } = this.parsed.filters;
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    // By id, every one is fetched (and kept for later queries) and the filters applied here.
    if (ids) add('id = ANY(?::int[])', ids);
    else {
      if (lang) add('lang = ?', lang);
      if (docs.length) add('doc_id = ANY(?::text[])', docs);
      if (kinds?.length) add('kind = ANY(?::text[])', kinds);
      if (this.within) add('doc_id = ANY(?::text[])', this.within);
    }
    const rows = (
      await this.pool.query<PassageRow & { words: number }>(
        `SELECT id, doc_id, words, passage FROM search_passages ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY doc_id COLLATE "C", id`,
        params,
      )
    ).rows;
    for (const id of ids ?? []) this.checked.add(id);
    const passing: PassageRow[] = [];
    for (const r of rows) {
      const passage = { ...r.passage, id: r.id };
      this.cache.setPassage(r.id, { passage, words: r.words });
      this.checked.add(r.id);
      if (!this.passes(passage)) continue;
      passing.push(r);
      this.loaded.set(r.id, passage);
      this.words.set(r.id, r.words);
    }
    await this.loadDocs([...new Set(passing.map((r) => r.doc_id))]);
  }

  /** Titles and texts of these documents (those not at hand), as kept or from the database. */
  private async loadDocs(docIds: string[]): Promise<void> {
    const needDocs = docIds.filter((d) => !this.docReady(d));
    if (needDocs.length) {
      // Titles and hashes at each generation (metadata may change); a text only when its hash is not the one kept.
      const d = await this.pool.query<{ id: string; title: string; hash: string }>(
        `SELECT id, doc->>'title' AS title, doc->>'hash' AS hash FROM search_documents WHERE id = ANY($1::text[])`,
        [needDocs],
      );
      const stale = d.rows.filter((x) => this.texts.get(x.id, x.hash) === undefined).map((x) => x.id);
      if (stale.length) {
        const t = await this.pool.query<{ id: string; hash: string; text: string }>(
          `SELECT id, doc->>'hash' AS hash, text FROM search_documents WHERE id = ANY($1::text[])`,
          [stale],
        );
        for (const x of t.rows) this.texts.set(x.id, x.hash, x.text);
      }
      for (const x of d.rows) {
        this.cache.setDoc(this.generation, x.id, { title: x.title, hash: x.hash });
        const text = this.texts.get(x.id, x.hash);
        if (text !== undefined) this.docs.set(x.id, { title: x.title, text });
      }
    }
  }

  doc(id: string): { title: string; text: string } {
    const d = this.docs.get(id);
    if (!d) throw new Error(`search: document ${id} was not loaded`);
    return d;
  }

  private lookup(term: string): number[] {
    // Biwords list no passages, as in the embedded index (`lookup` there lists single terms only):
    // their lists are fetched for their frequencies (see storedFrequency).
    if (term === '' || (!term.startsWith('\u0000char:') && (term.includes(' ') || isBiword(term)))) return [];
    if (this.plan) {
      const ids = this.idLists.get(term);
      if (!ids) this.planMiss = true;
      return ids ?? [];
    }
    const list = this.postings.get(term);
    if (list) return list.ids;
    const kept = this.cache.posting(term);
    if (kept) {
      this.postings.set(term, kept);
      // Its candidates are passages ranking will look at, as for a list fetched now.
      for (const id of this.adopt(kept.ids)) this.wantedPassages.add(id);
      return kept.ids;
    }
    this.wantedTerms.add(term);
    return [];
  }

  /**
   * A single term's or biword's frequency in a loaded passage from its
   * posting list (0 when the list does not hold it), or undefined when it
   * must be counted on the passage's tokens: a character, a term with a
   * space, positions that do not count it (see positionsCountTerms).
   */
  private storedFrequency(id: number, term: string): number | undefined {
    if (this.plan) return this.planFrequency(id, term);
    if (!this.loaded.has(id)) {
      // Not a candidate (outside the filters): only whether it holds a biword is asked, for a
      // phrase's document frequency, counted over the whole corpus as the embedded index counts it.
      if (!isBiword(term)) return undefined;
      const list = this.postings.get(term) ?? this.counted.get(term) ?? this.cache.posting(term);
      if (!list) {
        this.wantedCounts.add(term);
        return 0;
      }
      this.counted.set(term, list);
      return holds(list.ids, id) ? 1 : 0;
    }
    let p = this.postings.get(term) ?? this.counted.get(term);
    if (!p) {
      if (term === '' || term.includes(' ') || term.startsWith('\u0000')) return undefined;
      p = this.cache.posting(term);
      if (!p) {
        // Asked for in the next round (this round's ranking is run again); no passage is analysed meanwhile.
        this.wantedCounts.add(term);
        return 0;
      }
      this.counted.set(term, p);
    }
    if (!p.tf) return undefined;
    let lo = 0;
    let hi = p.ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const at = p.ids[mid]!;
      if (at === id) {
        const n = p.tf[mid]!;
        return n < 0 ? undefined : n;
      }
      if (at < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** Length and term/biword frequencies of a loaded passage, from its tokens (as indexing computes them). */
  private stat(id: number): PassageStats | undefined {
    const p = this.loaded.get(id);
    if (!p) return undefined;
    let s = this.stats.get(id);
    if (!s) {
      const toks = analyzePassage(this.doc(p.docId).text, p);
      const freq = new Map<string, number>();
      for (const t of toks) freq.set(t.term, (freq.get(t.term) ?? 0) + 1);
      for (const b of biwords(toks)) freq.set(b, (freq.get(b) ?? 0) + 1);
      s = { length: toks.length === 0 ? 0 : toks[toks.length - 1]!.position + 1, freq, toks };
      if (this.stats.size >= STATS_CACHE_SIZE) {
        const oldest = this.stats.keys().next().value;
        if (oldest !== undefined) this.stats.delete(oldest);
      }
      this.stats.set(id, s);
    }
    return s;
  }

  passage(id: number): Passage | undefined {
    const p = this.loaded.get(id);
    // In plan mode a passage not loaded is no strict candidate: the tsquery holds every strict hit.
    if (!p && !this.checked.has(id) && !this.plan) this.wantedPassages.add(id);
    return p;
  }

  *passages(): Iterable<Passage> {
    if (this.plan) {
      this.planMiss = true;
      return;
    }
    if (!this.allLoaded) {
      this.wantAll = true;
      return;
    }
    yield* [...this.loaded.values()].sort((a, b) => a.docId.localeCompare(b.docId) || a.start - b.start);
  }

  /** As the embedded engine's `runs`: where a Chinese run stands in the passage's normalised text, in document offsets. */
  runs(id: number, run: string): Span[] {
    const p = this.loaded.get(id);
    if (!p) return [];
    const text = this.doc(p.docId).text;
    const one = p.pieces.length === 1 ? p.pieces[0]! : null;
    const joined = one ? null : joinPieces(text, p.pieces);
    const own = one ? text.slice(one.start, one.end) : joined!.text;
    const found = findRun(own, run, hanLayer(own).stable);
    return one
      ? found.map((r) => ({ start: r.start + one.start, end: r.end + one.start }))
      : found.map((r) => ({ start: joined!.map(r.start), end: joined!.map(r.end - 1) + 1 }));
  }

  /** As the embedded engine's `citesOnly`: a footnote that only cites a source. */
  citesOnly(id: number): boolean {
    const p = this.loaded.get(id);
    if (!p || p.kind !== 'footnote') return false;
    return readsAsCitation(joinPieces(this.doc(p.docId).text, p.pieces).text);
  }

  tokens(id: number): AnalyzedToken[] {
    return this.stat(id)?.toks ?? [];
  }

  titleTokens(docId: string): AnalyzedToken[] {
    return analyze(this.docs.get(docId)?.title ?? '', 'index');
  }

  expansions(text: string): { text: string; via: string }[] {
    return expansionsOf(this.glossary, text);
  }
}

/** Cross-lingual equivalents of a term as typed, as the embedded engine gives them (see `SearchSource.expansions`). */
function expansionsOf(glossary: Glossary, text: string): { text: string; via: string }[] {
  return glossary.translationsOf(normalizeText(text)).map((t) => ({ text: t.term, via: t.term }));
}
