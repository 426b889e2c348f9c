/**
 * The search engine: the pipeline stages wired together over one corpus.
 * load → normalize → segment → analyze → index → query → rank. Storage and HTTP
 * sit on top of this and hold no search logic of their own.
 */
import { LRUCache } from 'lru-cache';
import type { CorpusDocument, DocumentMeta, LoadedDocument, MatchSpan, Passage, PassageKind, Lang, Span } from '../../core/types.js';
import { UserInputError } from '../../core/errors.js';
import { runSteps } from '../../core/steps.js';
import { type AnalyzedToken, analyze, findRun, hanLayer } from '../../pipeline/analyze.js';
import { type Glossary, emptyGlossary } from '../../pipeline/glossary.js';
import { type IndexSnapshot, PassageIndex } from '../../pipeline/index.js';
import { normalizeText } from '../../pipeline/normalize.js';
import { PinyinLexicon, readPinyin } from '../../pipeline/pinyin.js';
import { parseQuery, type ParsedQuery } from '../../pipeline/query.js';
import { type MatchMode, type RankOptions, type RankedHit, rank } from '../../pipeline/rank.js';
import { type TopSource, rankTop } from '../../pipeline/rank-top.js';
import { joinPieces, readsAsCitation } from '../../pipeline/segment.js';
import {
  type PreparedDocument,
  analyzePassage,
  analyzeSegmented,
  passageKey,
  prepareDocument,
  prepareUpdate,
} from '../../pipeline/prepare.js';
import { MAX_LIMIT, type PassageMatches, type SearchOptions, type SearchResult, pageOfHits } from '../search-contract.js';
import type { PaperCatalog } from '../types.js';

/** Every passage kind, numbered for the engine's typed per-passage arrays. */
const KINDS = Object.keys({
  paragraph: 0,
  'list-item': 0,
  table: 0,
  footnote: 0,
  heading: 0,
  title: 0,
  'front-matter': 0,
  reference: 0,
} satisfies Record<PassageKind, 0>) as PassageKind[];

/**
 * An engine's state as {@link Engine.restore} takes it back: the index as
 * written, each document's passages with their ids, and what was learnt of
 * the passages on the way.
 */
export interface EngineState {
  index: IndexSnapshot;
  /** Passages by document id, with their ids. */
  passages: Map<string, Passage[]>;
  nextId: number;
  /** See `hanStable` in {@link Engine}. */
  hanStable: Uint8Array;
  /** The pinyin lexicon's terms. */
  pinyinTerms: string[];
}

/**
 * A copy of `doc` with `fields` set, keeping how it holds its text: a text
 * read lazily from the persisted index (see texts.ts) stays lazy, where a
 * spread would read it.
 */
function withFields<T extends object, F extends object>(doc: T, fields: F): T & F {
  const copy = Object.defineProperties({}, Object.getOwnPropertyDescriptors(doc)) as T & F;
  for (const [k, value] of Object.entries(fields)) {
    Object.defineProperty(copy, k, { value, writable: true, enumerable: true, configurable: true });
  }
  return copy;
}

/**
 * A passage with id `id`, built with the same properties in the same order
 * as every other: one hidden class for all of them. A passage sent from a
 * worker thread comes back with a layout of its own (at 100 MB, 120,000 of
 * them, a few megabytes of heap each 10 MB of text).
 */
function compactPassage(p: Omit<Passage, 'id'>, id: number, section: string | null): Passage {
  const passage: Passage = {
    docId: p.docId,
    ordinal: p.ordinal,
    kind: p.kind,
    lang: p.lang,
    section,
    start: p.start,
    end: p.end,
    pieces: p.pieces.map((s) => ({ start: s.start, end: s.end })),
    id,
  };
  if (p.level !== undefined) passage.level = p.level;
  return passage;
}

/** The corpus, its passages and index, ready to search. */
export class Engine implements TopSource, PaperCatalog {
  /** Replaced only by {@link restore}. */
  index = new PassageIndex();
  private readonly docs = new Map<string, CorpusDocument>();
  /** Passages by id (an array: ids are small and dense, and ranking reads one per candidate). */
  private readonly byId: Array<Passage | undefined> = [];
  /**
   * Per passage id, its kind (index into {@link KINDS}, 255: none), its
   * document (index into {@link docIds}) and its language: what the top-k ranking reads for
   * every candidate, in typed arrays rather than from the passage objects.
   */
  private kindCodes = new Uint8Array(1024).fill(255);
  private docCodes = new Int32Array(1024).fill(-1);
  /** Per passage id, its language: 0 en, 1 zh, 255 none. */
  private langCodes = new Uint8Array(1024).fill(255);
  private readonly docIds: string[] = [];
  private readonly docCode = new Map<string, number>();
  private nextId = 1;
  private static readonly TOKEN_CACHE_SIZE = 20_000;
  /**
   * Analysed tokens of recently used passages: verification, highlighting and
   * concordances re-read candidates often. (A Map dropping its oldest entry
   * slowed to 10 µs a miss once full: each removal left a hole its key
   * iterator skipped at the next one.)
   */
  private readonly tokenCache = new LRUCache<number, AnalyzedToken[]>({ max: Engine.TOKEN_CACHE_SIZE });
  /** Footnotes that only cite a source, by passage id (computed on first ranking). */
  private readonly citationCache = new Map<number, boolean>();
  private readonly titleCache = new Map<string, AnalyzedToken[]>();
  /**
   * Per passage id: 1 when normalisation leaves its Han runs as they are (a
   * Chinese run is then searched in the text itself), 2 when it does not, 0
   * when not known yet (a passage read back from the persisted index).
   */
  private hanStable = new Uint8Array(1024);
  /** The corpus's Chinese terms by their pinyin, for queries typed in pinyin (see pinyin.ts). */
  private readonly pinyin = new PinyinLexicon();

  /** Counts every change to the corpus (documents, metadata, glossary), so results computed from it can be cached. */
  private changes = 0;
  /** Counts every change to what {@link state} returns (papers and passages indexed, not metadata). */
  private stateChanges = 0;
  /** Each passage's {@link orderKey}, by id, and the generation it was computed for. */
  private orderKeys = new Float64Array(0);
  private orderKeysAt = -1;

  constructor(private glossary: Glossary = emptyGlossary()) {}

  /** A number that changes whenever the corpus, a paper's metadata or the glossary does. */
  get generation(): number {
    return this.changes;
  }

  /**
   * A number that changes whenever {@link state} would return something else
   * (a paper or passage added or removed): a state taken a step at a time is
   * consistent only when this did not change between its first and last step.
   */
  get stateGeneration(): number {
    return this.stateChanges;
  }

  /** Replace the glossary used for cross-lingual expansion. */
  setGlossary(g: Glossary): void {
    this.glossary = g;
    this.changes++;
  }

  /** Add or replace a document: segment, analyse and index its passages. */
  addDocument(doc: LoadedDocument): CorpusDocument {
    return this.addPrepared(prepareDocument(doc, { packed: true }));
  }

  /**
   * Add or replace a document that was already segmented and analysed
   * (possibly in a worker thread): only ids are assigned and the index updated.
   */
  addPrepared(prep: PreparedDocument): CorpusDocument {
    return runSteps(this.adding(prep));
  }

  /**
   * {@link addPrepared} a slice of passages at a time, with `pause` (the event
   * loop's turn) whenever a slice has taken `sliceMs`, so a server keeps
   * answering while a large paper goes in. Meanwhile searches see the
   * passages indexed so far. Stops if the document is removed or replaced
   * during a pause.
   */
  async addPreparedGradually(prep: PreparedDocument, pause: () => Promise<void>, sliceMs = 20): Promise<CorpusDocument> {
    const steps = this.adding(prep);
    let step = steps.next();
    let sliceStart = Date.now();
    while (!step.done) {
      if (Date.now() - sliceStart >= sliceMs) {
        await pause();
        if (this.docs.get(prep.doc.id)?.passages !== step.value) return { ...prep.doc, passages: step.value };
        sliceStart = Date.now();
      }
      step = steps.next();
    }
    return step.value;
  }

  /**
   * Replace a document by a new version of it, re-indexing only what changed:
   * the paper is segmented again, but a passage whose text the indexed
   * version already holds keeps its id and index entry, and only the others
   * are analysed and indexed (the replaced ones are marked removed and their
   * postings dropped later, in the background).
   */
  updateDocument(doc: LoadedDocument): CorpusDocument {
    return this.addPrepared(prepareUpdate(doc, this.docs.get(doc.id)));
  }

  /** Adding a document, one passage per step; each step yields the document's passages. */
  private *adding(prep: PreparedDocument): Generator<Passage[], CorpusDocument> {
    const { doc } = prep;
    const old = this.docs.get(doc.id);
    const kept = new Set<number>();
    let ids: number[];
    if (old && prep.against === old) {
      // Prepared against the version indexed now: the passages of the same text are known already.
      ids = prep.passages.map(({ reuses: id }) => {
        if (id === undefined || !this.index.has(id) || kept.has(id)) return this.nextId++;
        kept.add(id);
        return id;
      });
    } else {
      // The indexed version's passages by their text: a passage of the same text keeps its entry.
      const reusable = new Map<string, number[]>();
      for (const p of old?.passages ?? []) {
        if (!this.index.has(p.id)) continue;
        const k = passageKey(old!.text, p);
        const list = reusable.get(k);
        if (list) list.push(p.id);
        else reusable.set(k, [p.id]);
      }
      ids = prep.passages.map((p) => {
        const id = reusable.get(passageKey(doc.text, p.passage))?.shift();
        if (id === undefined) return this.nextId++;
        kept.add(id);
        return id;
      });
    }
    if (old) {
      this.docs.delete(doc.id);
      this.titleCache.delete(doc.id);
      for (const p of old.passages) if (!kept.has(p.id)) this.dropPassage(p.id);
    }
    this.changes++;
    this.stateChanges++;
    let section: string | null = null;
    const passages: Passage[] = prep.passages.map((p, i) => {
      // One heading's text shared by the passages under it, as a restart reads them (see compactPassage).
      if (p.passage.section !== section && p.passage.section !== null) section = p.passage.section;
      return compactPassage(p.passage, ids[i]!, p.passage.section === null ? null : section);
    });
    const full: CorpusDocument = { ...doc, passages };
    this.docs.set(doc.id, full);
    let code = this.docCode.get(doc.id);
    if (code === undefined) {
      code = this.docIds.push(doc.id) - 1;
      this.docCode.set(doc.id, code);
    }
    for (const [i, p] of passages.entries()) {
      this.byId[p.id] = p;
      this.setCodes(p.id, KINDS.indexOf(p.kind), code, p.lang === 'zh' ? 1 : 0);
      if (kept.has(p.id)) {
        // Same text, perhaps another place in the paper: what is cached in document offsets is not.
        this.tokenCache.delete(p.id);
        this.citationCache.delete(p.id);
        continue;
      }
      const prepared = prep.passages[i]!;
      const { terms, counts, words, bigrams, biwords, stable } = prepared.unanalysed
        ? analyzeSegmented(doc.text, prepared.passage)
        : prepared;
      this.index.add(p.id, terms, counts, words, bigrams, biwords);
      this.stateChanges++;
      if (p.lang === 'zh') this.pinyin.addTerms(terms);
      if (stable !== undefined) this.setStable(p.id, stable);
      yield passages;
    }
    this.compactLater();
    return full;
  }

  /** Take one passage out of the index and the per-passage tables. */
  private dropPassage(id: number): void {
    this.index.remove(id);
    this.byId[id] = undefined;
    this.setCodes(id, 255, -1, 255);
    this.tokenCache.delete(id);
    this.citationCache.delete(id);
  }

  /** Whether removed passages' postings are being dropped in the background. */
  private compacting = false;

  /**
   * Drop removed passages' postings (see PassageIndex.compactPostings) a few
   * milliseconds at a time, between other work, so a removal costs no
   * splicing while the researcher waits.
   */
  private compactLater(): void {
    if (this.compacting || !this.index.compactionDue()) return;
    this.compacting = true;
    const step = (): void => {
      if (this.index.compactPostings(performance.now() + 8)) {
        this.compacting = false;
        return;
      }
      setTimeout(step, 1).unref();
    };
    setTimeout(step, 1).unref();
  }

  /**
   * The engine's state, to persist: {@link restore} reads it back in a new
   * process without segmenting, analysing or indexing a passage again.
   */
  state(): EngineState {
    return runSteps(this.stateSteps());
  }

  /**
   * {@link state} a few milliseconds per step, so a server answers requests
   * between steps. Valid only when {@link stateGeneration} did not change
   * between the first step and the last: the caller checks, and takes it again.
   */
  *stateSteps(): Generator<void, EngineState> {
    const index = yield* this.index.snapshotSteps();
    const passages = new Map<string, Passage[]>();
    for (const d of this.docs.values()) passages.set(d.id, d.passages);
    return {
      index,
      passages,
      nextId: this.nextId,
      hanStable: this.hanStable.slice(0, this.nextId),
      pinyinTerms: this.pinyin.noted(),
    };
  }

  /**
   * Once `state` — taken by {@link stateSteps} at {@link stateGeneration}
   * `takenAt` — is persisted, hold the index as an engine read back from it
   * would ({@link PassageIndex.settleSteps}): its postings in the state's
   * typed arrays, FlexSearch's lists of the build dropped. A few milliseconds
   * per step; nothing changes when the engine did since (it is then settled
   * by the next state written).
   * @returns whether the index was settled
   */
  *settleSteps(state: EngineState, takenAt: number): Generator<void, boolean> {
    if (this.stateChanges !== takenAt) return false;
    const commit = yield* this.index.settleSteps(state.index);
    if (!commit || this.stateChanges !== takenAt) return false;
    commit();
    return true;
  }

  /**
   * Take over a persisted {@link state}, on an engine holding no document:
   * `docs` are the documents it was taken with (their text and metadata; a
   * text read lazily stays so, see texts.ts).
   */
  restore(state: EngineState, docs: readonly LoadedDocument[]): void {
    if (this.docs.size > 0) throw new Error('restore needs an empty engine');
    this.index = PassageIndex.fromSnapshot(state.index);
    this.nextId = Math.max(this.nextId, state.nextId);
    this.hanStable = new Uint8Array(Math.max(1024, state.hanStable.length));
    this.hanStable.set(state.hanStable);
    for (const doc of docs) {
      const passages = state.passages.get(doc.id);
      if (!passages) throw new Error(`no passages for ${doc.id} in the persisted state`);
      this.docs.set(doc.id, withFields(doc, { passages }));
      const code = this.docIds.push(doc.id) - 1;
      this.docCode.set(doc.id, code);
      for (const p of passages) {
        this.byId[p.id] = p;
        this.setCodes(p.id, KINDS.indexOf(p.kind), code, p.lang === 'zh' ? 1 : 0);
      }
    }
    this.pinyin.addTerms(state.pinyinTerms);
    this.changes++;
    this.stateChanges++;
  }

  /**
   * Change a document's metadata (title, authors, year, venue, language) in
   * place: nothing is re-segmented or re-indexed.
   * @returns false when the document is unknown
   */
  setMetadata(meta: DocumentMeta): boolean {
    const d = this.docs.get(meta.id);
    if (!d) return false;
    this.changes++;
    this.docs.set(meta.id, withFields(d, meta));
    this.titleCache.delete(meta.id);
    return true;
  }

  /** Remove a document and its passages from the index; unknown ids are ignored. */
  removeDocument(id: string): void {
    const old = this.docs.get(id);
    if (!old) return;
    this.changes++;
    this.stateChanges++;
    for (const p of old.passages) this.dropPassage(p.id);
    this.docs.delete(id);
    this.titleCache.delete(id);
    this.compactLater();
  }

  /**
   * Keep a document indexed elsewhere (the lab server's PostgreSQL index) for
   * lookups by id and by passage id, without indexing it here: its passages
   * keep the ids they have there, so a hit's passage id finds its passage.
   */
  showDocument(doc: CorpusDocument): void {
    this.removeDocument(doc.id);
    this.changes++;
    this.stateChanges++;
    this.docs.set(doc.id, doc);
    for (const p of doc.passages) this.byId[p.id] = p;
  }

  /** All documents, sorted by id. */
  documents(): CorpusDocument[] {
    return [...this.docs.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** One document, or undefined. */
  document(id: string): CorpusDocument | undefined {
    return this.docs.get(id);
  }

  /** One document, or a 404 UserInputError. */
  requireDocument(id: string): CorpusDocument {
    const d = this.docs.get(id);
    if (!d) throw new UserInputError('unknown_document', `No document "${id}" (未找到该文献)`, 404);
    return d;
  }

  // --- SearchSource ---

  passage(id: number): Passage | undefined {
    return this.byId[id];
  }

  *passages(): Iterable<Passage> {
    for (const d of this.documents()) yield* d.passages;
  }

  tokens(id: number): AnalyzedToken[] {
    let toks = this.tokenCache.get(id);
    if (!toks) {
      const p = this.byId[id];
      if (!p) return [];
      toks = analyzePassage(this.docs.get(p.docId)!.text, p);
      this.tokenCache.set(id, toks);
    }
    return toks;
  }

  private setCodes(id: number, kind: number, doc: number, lang: number): void {
    if (id >= this.kindCodes.length) {
      const size = Math.max(id + 1, this.kindCodes.length * 2);
      const kinds = new Uint8Array(size).fill(255);
      kinds.set(this.kindCodes);
      this.kindCodes = kinds;
      const langs = new Uint8Array(size).fill(255);
      langs.set(this.langCodes);
      this.langCodes = langs;
      const docs = new Int32Array(size).fill(-1);
      docs.set(this.docCodes);
      this.docCodes = docs;
    }
    this.kindCodes[id] = kind;
    this.docCodes[id] = doc;
    this.langCodes[id] = lang;
  }

  langOf(id: number): Lang | undefined {
    const c = this.langCodes[id];
    return c === 0 ? 'en' : c === 1 ? 'zh' : undefined;
  }

  kindOf(id: number): PassageKind | undefined {
    return KINDS[this.kindCodes[id] ?? 255];
  }

  docOf(id: number): string {
    return this.docIds[this.docCodes[id] ?? -1] ?? '';
  }

  docIndex(id: number): number {
    return this.docCodes[id] ?? -1;
  }

  docAt(index: number): string {
    return this.docIds[index] ?? '';
  }

  orderKey(id: number): number {
    if (this.orderKeysAt !== this.changes) {
      // Documents by id as the ranking compares them (localeCompare; ids it finds equal share a rank), then start.
      const keys = new Float64Array(this.nextId);
      let rank = 0;
      let prev: string | undefined;
      for (const d of this.documents()) {
        if (prev !== undefined && prev.localeCompare(d.id) !== 0) rank++;
        prev = d.id;
        for (const p of d.passages) keys[p.id] = rank * 2 ** 32 + p.start;
      }
      this.orderKeys = keys;
      this.orderKeysAt = this.changes;
    }
    return this.orderKeys[id] ?? 0;
  }

  passageIdsOf(docId: string): number[] {
    return this.docs.get(docId)?.passages.map((p) => p.id) ?? [];
  }

  citesOnly(id: number): boolean {
    const p = this.byId[id];
    if (!p || p.kind !== 'footnote') return false;
    let v = this.citationCache.get(id);
    if (v === undefined) {
      v = readsAsCitation(joinPieces(this.docs.get(p.docId)!.text, p.pieces).text);
      this.citationCache.set(id, v);
    }
    return v;
  }

  runs(id: number, run: string): Span[] {
    const p = this.byId[id];
    if (!p) return [];
    const text = this.docs.get(p.docId)!.text;
    const joined = joinPieces(text, p.pieces);
    const own = joined.text;
    if ((this.hanStable[id] ?? 0) === 0) this.setStable(id, hanLayer(own).stable);
    const found = findRun(own, run, this.hanStable[id] === 1);
    return found.map((r) => ({ start: joined.map(r.start), end: joined.map(r.end - 1) + 1 }));
  }

  private setStable(id: number, stable: boolean): void {
    if (id >= this.hanStable.length) {
      const grown = new Uint8Array(Math.max(id + 1, this.hanStable.length * 2));
      grown.set(this.hanStable);
      this.hanStable = grown;
    }
    this.hanStable[id] = stable ? 1 : 2;
  }

  /** Title of a document ('' if unknown). */
  title(docId: string): string {
    return this.docs.get(docId)?.title ?? '';
  }

  titleTokens(docId: string): AnalyzedToken[] {
    let toks = this.titleCache.get(docId);
    if (!toks) {
      toks = analyze(this.docs.get(docId)?.title ?? '', 'index');
      this.titleCache.set(docId, toks);
    }
    return toks;
  }

  expansions(text: string): { text: string; via: string }[] {
    // Normalised first, so 對口支援 and ＷＥＮＣＨＵＡＮ reach the glossary like the index.
    return this.glossary.translationsOf(normalizeText(text)).map((t) => ({ text: t.term, via: t.term }));
  }

  /**
   * Search with the query language.
   * @throws UserInputError for a query the parser rejects or bad paging
   */
  search(query: string, opts: SearchOptions = {}): SearchResult {
    return this.searchParsed(query, parseQuery(query), opts);
  }

  /**
   * Search with a query already parsed (the annotation layer reads its
   * `tag:`/`note:` filters first and passes them back as `restrict`).
   * @param query - the query as typed, echoed in the result
   */
  searchParsed(query: string, parsed: ParsedQuery, opts: SearchOptions = {}): SearchResult {
    this.applyFilters(parsed, opts);
    const limit = opts.limit ?? 20;
    const offset = opts.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw new UserInputError('bad_limit', `limit must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    if (!Number.isInteger(offset) || offset < 0) throw new UserInputError('bad_offset', 'offset must be a whole number ≥ 0');

    // A page of hits needs only the first offset + limit of the ranking (see rankTop); grouping by
    // paper orders papers by their best hit and counts each paper's hits, so it ranks them all.
    let page: RankedHit[];
    let total: number;
    let totalRelation: 'eq' | 'gte' = 'eq';
    let perDocument: Record<string, number>;
    let ranked: RankedHit[] = [];
    let matches: (p: Passage) => MatchSpan[];
    let mode: MatchMode;
    let strictTotal: number;
    if (opts.group === 'paper') {
      ({ hits: ranked, matches, mode, strictTotal } = rank(this.withPinyin(parsed), this, opts));
      total = ranked.length;
      perDocument = {};
      for (const h of ranked) perDocument[h.passage.docId] = (perDocument[h.passage.docId] ?? 0) + 1;
      page = [];
    } else {
      const top = rankTop(this.withPinyin(parsed), this, opts, offset + limit);
      ({ total, totalRelation, perDocument, matches, mode, strictTotal } = top);
      page = top.hits.slice(offset, offset + limit);
    }
    return pageOfHits(
      { query, parsed, opts, offset, limit, total, totalRelation, perDocument, mode, strictTotal, ranked, page, matches },
      (id) => this.docs.get(id)!,
    );
  }

  /**
   * Every match of a query in the corpus, not a page of it: each matching
   * passage (in document order) with its matched ranges, found by the same
   * ranking and verification as {@link searchParsed}, always strictly (an
   * occurrence is the whole query, never the part of it best match settles
   * for). A concordance is built on this.
   * @throws UserInputError for an unknown `doc:`
   */
  allMatchesParsed(parsed: ParsedQuery, opts: Omit<RankOptions, 'match'> & { lang?: Lang; docs?: string[] } = {}): PassageMatches[] {
    this.applyFilters(parsed, opts);
    const { hits, matches } = rank(this.withPinyin(parsed), this, { ...opts, match: 'strict' });
    const order = new Map(this.documents().map((d, i) => [d.id, i]));
    return hits
      .map((h) => h.passage)
      .sort((a, b) => order.get(a.docId)! - order.get(b.docId)! || a.start - b.start)
      .map((passage) => ({ passage, matches: matches(passage) }));
  }

  /** The query with words typed in pinyin also searched as the corpus's Chinese terms that sound so. */
  private withPinyin(parsed: ParsedQuery): ParsedQuery {
    const occurs = (term: string) => this.index.occurs(term);
    return readPinyin(parsed, {
      read: (letters) => this.pinyin.read(letters, occurs),
      known: (word) => analyze(word, 'query').some((t) => occurs(t.term)),
    });
  }

  /** Add the options' language and documents to the query's filters, and check the documents exist. */
  private applyFilters(parsed: ParsedQuery, opts: { lang?: Lang; docs?: string[] }): void {
    if (opts.lang) parsed.filters.lang = opts.lang;
    if (opts.docs?.length) parsed.filters.docs = [...new Set([...parsed.filters.docs, ...opts.docs])];
    for (const d of parsed.filters.docs) this.requireDocument(d);
  }
}
