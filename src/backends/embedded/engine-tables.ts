/**
 * What the engine holds in memory — the papers, their passages by id, the
 * per-passage typed arrays and caches — and the lookups ranking makes on
 * them for every candidate (kind, document, language, order, tokens, runs).
 *
 * {@link Engine} is built up by concern, one module each, over this class:
 * adding, replacing and removing papers (engine-build.ts), its persisted
 * state (engine-state.ts) and searching (engine.ts). The fields stay
 * protected and the lookups stay methods reading them directly, so the
 * query path calls them on the engine itself with nothing in between.
 */
import { LRUCache } from 'lru-cache';
import {
  type CorpusDocument,
  PASSAGE_KINDS,
  type Passage,
  type PassageKind,
  type Lang,
  type Span,
  type TextWindow,
} from '../../core/types.js';
import { UserInputError } from '../../core/errors.js';
import { type AnalyzedToken, analyze, findRun, hanLayer } from '../../pipeline/analyze.js';
import { type Glossary, emptyGlossary } from '../../pipeline/glossary.js';
import type { KnownCut } from '../../pipeline/jieba.js';
import { PassageIndex } from '../../pipeline/index.js';
import { normalizeText } from '../../pipeline/normalize.js';
import { PinyinLexicon } from '../../pipeline/pinyin.js';
import { joinPieces, readsAsCitation } from '../../pipeline/segment.js';
import { textWindow } from './texts.js';
import { analyzePassage } from '../../pipeline/prepare.js';

/**
 * A copy of `doc` with `fields` set, keeping how it holds its text: a text
 * read lazily from the persisted index (see texts.ts) stays lazy, where a
 * spread would read it.
 */
export function withFields<T extends object, F extends object>(doc: T, fields: F): T & F {
  const copy = Object.defineProperties({}, Object.getOwnPropertyDescriptors(doc)) as T & F;
  for (const [k, value] of Object.entries(fields)) {
    Object.defineProperty(copy, k, { value, writable: true, enumerable: true, configurable: true });
  }
  return copy;
}

/**
 * The state of an {@link Engine} and its lookups, shared by the modules of
 * its chain (see this module's comment); exported for them only, never
 * constructed on its own. Its public methods are part of Engine's public API.
 */
export abstract class EngineTables {
  /** Replaced only by {@link Engine.restore}. */
  index = new PassageIndex();
  protected readonly docs = new Map<string, CorpusDocument>();
  /** Passages by id (an array: ids are small and dense, and ranking reads one per candidate). */
  protected readonly byId: Array<Passage | undefined> = [];
  /**
   * Per passage id, its kind (index into {@link PASSAGE_KINDS}, 255: none), its
   * document (index into {@link docIds}) and its language: what the top-k ranking reads for
   * every candidate, in typed arrays rather than from the passage objects.
   */
  private kindCodes = new Uint8Array(1024).fill(255);
  private docCodes = new Int32Array(1024).fill(-1);
  /** Per passage id, its language: 0 en, 1 zh, 255 none. */
  private langCodes = new Uint8Array(1024).fill(255);
  protected readonly docIds: string[] = [];
  protected readonly docCode = new Map<string, number>();
  protected nextId = 1;
  private static readonly TOKEN_CACHE_SIZE = 20_000;
  /**
   * Analysed tokens of recently used passages: verification, highlighting and
   * concordances re-read candidates often. (A Map dropping its oldest entry
   * slowed to 10 µs a miss once full: each removal left a hole its key
   * iterator skipped at the next one.)
   */
  protected readonly tokenCache = new LRUCache<number, AnalyzedToken[]>({ max: EngineTables.TOKEN_CACHE_SIZE });
  /** Footnotes that only cite a source, by passage id (computed on first ranking). */
  protected readonly citationCache = new Map<number, boolean>();
  protected readonly titleCache = new Map<string, AnalyzedToken[]>();
  /** jieba's cuts of the Han runs of each paper that is not Chinese (see PreparedDocument.cuts), kept with the index. */
  protected readonly paperCuts = new Map<string, readonly KnownCut[]>();
  /**
   * Per passage id: 1 when normalisation leaves its Han runs as they are (a
   * Chinese run is then searched in the text itself), 2 when it does not, 0
   * when not known yet (a passage read back from the persisted index).
   */
  protected hanStable = new Uint8Array(1024);
  /** The corpus's Chinese terms by their pinyin, for queries typed in pinyin (see pinyin.ts). */
  protected readonly pinyin = new PinyinLexicon();

  /** Counts every change to the corpus (documents, metadata, glossary), so results computed from it can be cached. */
  protected changes = 0;
  /** Counts every change to what {@link Engine.state} returns (papers and passages indexed, not metadata). */
  protected stateChanges = 0;
  /** Each passage's {@link orderKey}, by id, and the generation it was computed for. */
  private orderKeys = new Float64Array(0);
  private orderKeysAt = -1;

  constructor(protected glossary: Glossary = emptyGlossary()) {}

  /** A number that changes whenever the corpus, a paper's metadata or the glossary does. */
  get generation(): number {
    return this.changes;
  }

  /**
   * A number that changes whenever {@link Engine.state} would return something else
   * (a paper or passage added or removed): a state taken a step at a time is
   * consistent only when this did not change between its first and last step.
   */
  get stateGeneration(): number {
    return this.stateChanges;
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

  sectionPassages(id: number): readonly number[] {
    const h = this.byId[id];
    if (h === undefined || h.kind !== 'heading' || h.section === null) return [];
    const doc = this.docs.get(h.docId);
    if (doc === undefined) return [];
    const out: number[] = [];
    for (const p of doc.passages) if (p.section === h.section && p.kind !== 'heading' && p.kind !== 'title') out.push(p.id);
    return out;
  }

  tokens(id: number): AnalyzedToken[] {
    let toks = this.tokenCache.get(id);
    if (!toks) {
      const p = this.byId[id];
      if (!p) return [];
      toks = analyzePassage(this.stretch(p), p);
      this.tokenCache.set(id, toks);
    }
    return toks;
  }

  /** Set passage `id`'s kind, document and language codes, growing the arrays when it is beyond them. */
  protected setCodes(id: number, kind: number, doc: number, lang: number): void {
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
    return PASSAGE_KINDS[this.kindCodes[id] ?? 255];
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
      v = readsAsCitation(joinPieces(this.stretch(p), p.pieces).text);
      this.citationCache.set(id, v);
    }
    return v;
  }

  runs(id: number, run: string): Span[] {
    const p = this.byId[id];
    if (!p) return [];
    const joined = joinPieces(this.stretch(p), p.pieces);
    const own = joined.text;
    if ((this.hanStable[id] ?? 0) === 0) this.setStable(id, hanLayer(own).stable);
    const found = findRun(own, run, this.hanStable[id] === 1);
    return found.map((r) => ({ start: joined.map(r.start), end: joined.map(r.end - 1) + 1 }));
  }

  /**
   * The text passage `p` is in, or (a paper read lazily from the persisted
   * index, not kept in memory) only the stretch of it the passage covers.
   */
  private stretch(p: Passage): TextWindow {
    return textWindow(this.docs.get(p.docId)!, p.start, p.end);
  }

  /** Note whether passage `id`'s Han runs survive normalisation (see {@link hanStable}), growing the array when needed. */
  protected setStable(id: number, stable: boolean): void {
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

  /**
   * Analyse every paper's title now, a slice of them per turn of the event loop, for a restart
   * to call: a query weighs its hits by their papers' titles, and at a gigabyte analysing the
   * 8,300 titles at the first query held that query for 0.2 s.
   * @param slice - titles analysed per turn
   */
  async warmTitles(slice = 100): Promise<void> {
    const ids = [...this.docs.keys()];
    for (let i = 0; i < ids.length; i += slice) {
      // A paper removed meanwhile is skipped: its entry would never be dropped.
      for (const id of ids.slice(i, i + slice)) if (this.docs.has(id)) this.titleTokens(id);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * The short texts a query analyses besides its own words: every paper's
   * title (for the title boost) and the glossary's Chinese terms (what an
   * English query expands to). jieba's cuts of them are kept with the index.
   */
  queryTexts(): string[] {
    return [...[...this.docs.values()].map((d) => d.title), ...this.glossary.entries.map((e) => e.zh)];
  }

  /** jieba's cuts kept for each paper that is not Chinese (see PreparedDocument.cuts), by paper id. */
  keptCuts(): ReadonlyMap<string, readonly KnownCut[]> {
    return this.paperCuts;
  }

  /** Take over the cuts kept with the index for a paper the engine holds (a restart: see persist-restore.ts). */
  keepCuts(docId: string, cuts: readonly KnownCut[]): void {
    if (this.docs.has(docId)) this.paperCuts.set(docId, cuts);
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
}
