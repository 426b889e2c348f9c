/**
 * One query's view of the lab server's stored corpus, as the ranking stage's
 * `SearchSource`: what it fetched from PostgreSQL (posting lists, strict
 * candidates, passages, texts), and what it lacked, for the next round.
 */
import type pg from 'pg';
import type { Passage, Span } from '../../core/types.js';
import { analyzePassage } from '../../pipeline/prepare.js';
import { type AnalyzedToken, biwords, findRun, hanLayer } from '../../pipeline/analyze.js';
import type { Glossary } from '../../pipeline/glossary.js';
import type { PassageIndex } from '../../pipeline/index.js';
import { normalizeText } from '../../pipeline/normalize.js';
import type { ParsedQuery } from '../../pipeline/query.js';
import { joinPieces, readsAsCitation } from '../../pipeline/segment.js';
import type { SearchSource } from '../../pipeline/rank.js';
import { type Candidates, type IndexCache, type PassageStats, type Posting, STATS_CACHE_SIZE, type TextCache } from './search-cache.js';
import { type TsqueryPlan, filterWhere, isBiword, lexeme, quoteLexeme } from './tsquery.js';

/** A passage as stored: its row id, paper and the passage without its id. */
export interface PassageRow {
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
 * One query's view of the stored corpus, as the ranking stage's
 * {@link SearchSource}: it answers from what it has fetched and notes what it
 * lacked, for the next round.
 */
export class QueryView implements SearchSource {
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
  /** The passages of each heading's section (see `sectionPassages`), and the headings whose are still to fetch. */
  private readonly sections = new Map<number, number[]>();
  private readonly wantedSections = new Set<number>();
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
      this.wantedSections.size > 0 ||
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
    await this.fetchSections();
    const ids = [...this.wantedPassages];
    this.wantedPassages.clear();
    if (this.wantAll && !this.allLoaded) {
      await this.loadPassages(null);
      this.allLoaded = true;
    } else if (ids.length > 0) {
      await this.loadPassages(ids);
    }
  }

  /** The passages of the sections asked for (one statement), to be loaded with the other passages wanted. */
  private async fetchSections(): Promise<void> {
    const headings = [...this.wantedSections].flatMap((id) => {
      const h = this.loaded.get(id);
      return h && h.section !== null ? [{ id, doc: h.docId, section: h.section }] : [];
    });
    this.wantedSections.clear();
    if (headings.length === 0) return;
    const r = await this.pool.query<{ h: number; id: number }>(
      `SELECT x.h, p.id FROM unnest($1::int[], $2::text[], $3::text[]) AS x(h, doc, section)
       JOIN search_passages p ON p.doc_id = x.doc AND p.passage->>'section' = x.section AND p.kind NOT IN ('heading', 'title')
       ORDER BY x.h, p.id`,
      [headings.map((h) => h.id), headings.map((h) => h.doc), headings.map((h) => h.section)],
    );
    for (const h of headings) this.sections.set(h.id, []);
    for (const row of r.rows) {
      this.sections.get(row.h)!.push(row.id);
      if (!this.checked.has(row.id)) this.wantedPassages.add(row.id);
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
      // The texts fetched now are used from here, not read back from the bounded cache: a batch larger
      // than the cache (or one paper larger than it) would otherwise evict what this query needs.
      const fetched = new Map<string, { hash: string; text: string }>();
      if (stale.length) {
        const t = await this.pool.query<{ id: string; hash: string; text: string }>(
          `SELECT id, doc->>'hash' AS hash, text FROM search_documents WHERE id = ANY($1::text[])`,
          [stale],
        );
        for (const x of t.rows) {
          fetched.set(x.id, x);
          this.texts.set(x.id, x.hash, x.text);
        }
      }
      for (const x of d.rows) {
        this.cache.setDoc(this.generation, x.id, { title: x.title, hash: x.hash });
        const f = fetched.get(x.id);
        const text = f?.hash === x.hash ? f.text : this.texts.get(x.id, x.hash);
        if (text !== undefined) this.docs.set(x.id, { title: x.title, text });
      }
    }
  }

  /** Whether a document's title and text are loaded (a hit's always are). */
  hasDoc(id: string): boolean {
    return this.docs.has(id);
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

  /** As the embedded engine's `sectionPassages`: fetched in the next round the first time a heading's are asked for. */
  sectionPassages(id: number): readonly number[] {
    const h = this.loaded.get(id);
    if (!h || h.kind !== 'heading' || h.section === null) return [];
    if (this.plan) {
      this.planMiss = true;
      return [];
    }
    const known = this.sections.get(id);
    if (known) return known;
    this.wantedSections.add(id);
    return [];
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
    const joined = joinPieces(text, p.pieces);
    const own = joined.text;
    const found = findRun(
      own,
      run,
      this.cache.hanStable(id, () => hanLayer(own).stable),
    );
    return found.map((r) => ({ start: joined.map(r.start), end: joined.map(r.end - 1) + 1 }));
  }

  /** As the embedded engine's `citesOnly`: a footnote that only cites a source. */
  citesOnly(id: number): boolean {
    const p = this.loaded.get(id);
    if (!p || p.kind !== 'footnote') return false;
    return this.cache.citesOnly(id, () => readsAsCitation(joinPieces(this.doc(p.docId).text, p.pieces).text));
  }

  tokens(id: number): AnalyzedToken[] {
    return this.stat(id)?.toks ?? [];
  }

  titleTokens(docId: string): AnalyzedToken[] {
    return this.cache.titleTokens(this.docs.get(docId)?.title ?? '');
  }

  expansions(text: string): { text: string; via: string }[] {
    return expansionsOf(this.glossary, text);
  }
}

/** Cross-lingual equivalents of a term as typed, as the embedded engine gives them (see `SearchSource.expansions`). */
export function expansionsOf(glossary: Glossary, text: string): { text: string; via: string }[] {
  return glossary.translationsOf(normalizeText(text)).map((t) => ({ text: t.term, via: t.term }));
}
