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
 * `TEXT_CACHE_CHARS` in search-cache.ts) until its hash changes. Posting lists, strict
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
import { UserInputError } from '../../core/errors.js';
import type { CorpusDocument, Lang, Passage } from '../../core/types.js';
import {
  type PassageMatches,
  type RankedPage,
  type SearchOptions,
  type SearchResult,
  MAX_LIMIT,
  nearHits,
  nearWanted,
  pageOfHits,
} from '../search-contract.js';
import { type PreparedDocument, analyzePassage } from '../../pipeline/prepare.js';
import { analyze } from '../../pipeline/analyze.js';
import type { Glossary } from '../../pipeline/glossary.js';
import { INDEX_FORMAT_VERSION } from '../../pipeline/index.js';
import { PinyinLexicon, pinyinLetters, readPinyin } from '../../pipeline/pinyin.js';
import type { ParsedQuery } from '../../pipeline/query.js';
import { BEST_MATCH_BELOW, type RankOptions, rank } from '../../pipeline/rank.js';
import { nearQuery, readsAsQuestion } from '../../pipeline/best-match.js';
import type { AllMatchesOptions, CorpusCounts, SearchBackend } from '../types.js';
import { announce } from './change-feed.js';
import { inTransaction } from './db.js';
import { IndexCache, type PassageStats, TextCache } from './search-cache.js';
import { MAX_POSITION, MAX_POSITIONS, passageTsvector, positionsCountTerms } from './tsvector.js';
import { type PassageRow, QueryView, expansionsOf } from './query-view.js';
import { isBiword, lexeme, planStrict, quoteLexeme } from './tsquery.js';

export { lexeme };

/** What decides the stored index's content: the embedded index's format version and this layout. */
export const PG_INDEX_FORMAT = `duikou-index-${INDEX_FORMAT_VERSION}/pg-5`;

/** Terms whose presence in the index is kept between queries (dropped all at once beyond this, and at every write). */
const OCCURRENCE_CACHE_SIZE = 100_000;

/**
 * Rounds of fetch-and-rank before giving up, besides one a character of the query (a bug if ever
 * reached: each round only adds). A phrase is checked a word at a time, each word's postings
 * fetched once the candidates of the words before it are known, so a long one takes a round a
 * word: a 40-word phrase 38, a 300-character Chinese passage 64 (a fixed 8 failed them).
 */
const MAX_ROUNDS = 8;

/** The rounds a query may take: {@link MAX_ROUNDS} and one a character of its words. */
function roundsFor(parsed: ParsedQuery): number {
  return MAX_ROUNDS + [...parsed.clauses.flat(), ...parsed.exclude].reduce((n, item) => n + item.text.length, 0);
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

/** {@link SearchBackend} on PostgreSQL. Open with {@link PgSearchBackend.open}. */
export class PgSearchBackend implements SearchBackend {
  readonly kind = 'postgres' as const;

  /**
   * Passage id → analysis. Ids are never reused (an identity column), so an
   * entry can only go unused, never go stale, when a document is re-indexed.
   */
  private readonly statsCache = new Map<number, PassageStats>();
  /** Documents' texts by id, with the hash they were fetched at: fetched again only when the text changed. */
  private readonly textCache: TextCache;
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
    textCacheChars?: number,
  ) {
    this.textCache = new TextCache(textCacheChars);
  }

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

  /**
   * Create the index tables if needed, and drop an index of another format.
   * @param opts.textCacheChars - UTF-16 units of papers' texts kept between queries (default: the cache's own bound)
   */
  static async open(pool: pg.Pool, glossary: Glossary, opts: { textCacheChars?: number } = {}): Promise<PgSearchBackend> {
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
    const backend = new PgSearchBackend(pool, glossary, reindex, opts.textCacheChars);
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
      await announce(c, { what: 'documents', docId: doc.id });
      return ids;
    });
    // RETURNING follows the insertion order, which follows ORDER BY n.
    const sorted = [...ids].sort((a, b) => a - b);
    return { ...doc, passages: prep.passages.map((p, i) => ({ ...p.passage, id: sorted[i]! })) };
  }

  async removeDocument(id: string): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      if (await removeRows(c, id)) await announce(c, { what: 'documents', docId: id });
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
    let near: RankedPage['near'];
    // The near matches' papers are loaded by their own ranking's view.
    let docOf = (id: string) => view.doc(id);
    const nq = nearWanted(opts, { offset, limit, total: hits.length, mode }) ? nearQuery(parsed) : null;
    if (nq !== null) {
      const loose = await this.rankAll(nq, { ...opts, match: 'best' });
      const best = loose.ranked;
      if (best.mode === 'best') near = { hits: nearHits(best.hits, new Set(hits.map((h) => h.passage.id))), matches: best.matches };
      docOf = (id) => (view.hasDoc(id) ? view : loose.view).doc(id);
    }
    return pageOfHits(
      { query, parsed, opts, offset, limit, total: hits.length, perDocument, mode, strictTotal, ranked: hits, page, matches, near },
      (id) => docOf(id).title,
      (p) => docOf(p.docId).text.slice(p.start, p.end),
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
    const rounds = roundsFor(query);
    for (let round = 1; view.missingSomething(); round++) {
      if (round >= rounds) throw new Error(`search: still missing data after ${rounds} rounds`);
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
      if (round >= roundsFor(parsed)) throw new Error(`search: pinyin reading still asking after ${round} rounds`);
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
