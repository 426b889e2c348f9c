/**
 * Prepare stage: a loaded document segmented into passages and each passage
 * analysed — its terms and biwords with their frequencies, its length in
 * word positions and its Han bigrams — ready for the index. Pure and
 * CPU-bound (no engine state), so it runs in worker threads
 * (src/workers/prepare.ts) and in the contained importer; both backends
 * index what it returns.
 */
import type { CorpusDocument, LoadedDocument, Passage, TextWindow } from '../core/types.js';
import { type AnalyzedToken, analyze, analyzeWithLayer, biwords } from './analyze.js';
import type { KnownCut } from './jieba.js';
import { joinPieces, type SegmentedPassage, segment } from './segment.js';
import { sortedBiwords } from './term-keys.js';

/**
 * A document segmented and analysed, ready for the index (the embedded engine's `addPrepared`, the lab server's `index`):
 * the expensive, pure part of indexing, which can run in a worker thread.
 */
export interface PreparedDocument {
  doc: LoadedDocument;
  /**
   * Per passage: its distinct terms, how often each occurs, its number of word
   * positions, its distinct Han bigrams (the recall layer), and whether
   * normalisation leaves its Han runs as they are (absent when not known).
   */
  passages: PreparedPassage[];
  /**
   * The version of the document {@link prepareUpdate} compared with (the
   * one indexed then): while it is still the one indexed, each unanalysed
   * passage's {@link PreparedPassage.reuses} names the entry it keeps.
   */
  against?: CorpusDocument;
  /**
   * For a paper that is not Chinese: jieba's cut of each distinct Han run of
   * the passages analysed (the names and titles an English paper quotes in
   * Chinese), kept with the index so that a restart answers queries over
   * such passages before jieba's dictionary is loaded (see state-store.ts).
   */
  cuts?: KnownCut[];
}

/** One passage of a {@link PreparedDocument}. */
export interface PreparedPassage {
  passage: SegmentedPassage;
  terms: string[];
  counts: number[];
  words: number;
  bigrams: string[];
  /**
   * The biwords hashed and sorted as the index stores them (see
   * term-keys.ts, {@link PrepareFormOptions.packed}): `terms` and `counts`
   * then hold the single terms only. Numbers cross from a worker thread to
   * the main thread without a string each, and the main thread neither
   * hashes nor sorts them.
   */
  biwords?: Uint32Array;
  stable?: boolean;
  /**
   * Not analysed: the document already holds a passage of the same text
   * (see {@link prepareUpdate}), whose index entry is kept; `terms`,
   * `counts` and `bigrams` are then empty.
   */
  unanalysed?: true;
  /** With `unanalysed`: the id of the passage of {@link PreparedDocument.against} with the same text. */
  reuses?: number;
}

/** How {@link prepareDocument} hands the passages' terms over. */
export interface PrepareFormOptions {
  /**
   * Biwords as hashed, sorted triples ({@link PreparedPassage.biwords}), all
   * of a document's in one buffer, instead of strings among the terms: the
   * form the embedded engine indexes fastest. The persisted passages
   * (paper-rows.ts) store the strings, and so take the default.
   */
  packed?: boolean;
}

/** Segment a document and analyse every passage (pure; no engine state). */
export function prepareDocument(doc: LoadedDocument, opts: PrepareFormOptions = {}): PreparedDocument {
  const cuts = cutsKept(doc);
  const passages = segment(doc.id, doc.text, doc.lang).map((passage) => analyzeSegmented(doc.text, passage, opts, cuts?.add));
  if (opts.packed) {
    // One buffer for the document (one transfer from a worker thread), each passage a view into it.
    const all = new Uint32Array(passages.reduce((n, p) => n + p.biwords!.length, 0));
    let at = 0;
    for (const p of passages) {
      all.set(p.biwords!, at);
      p.biwords = all.subarray(at, at + p.biwords!.length);
      at += p.biwords.length;
    }
  }
  return { doc, passages, ...(cuts && { cuts: cuts.list() }) };
}

/**
 * Where the cuts of a paper that is not Chinese are gathered (see
 * {@link PreparedDocument.cuts}), each Han run once; none for a Chinese
 * paper, whose every passage is Chinese and is read with jieba loaded.
 */
function cutsKept(doc: LoadedDocument): { add: (cuts: KnownCut[]) => void; list: () => KnownCut[] } | null {
  if (doc.lang === 'zh') return null;
  const byRun = new Map<string, KnownCut>();
  return {
    add: (cuts) => {
      for (const c of cuts) byRun.set(c[1], c);
    },
    list: () => [...byRun.values()],
  };
}

/** A segmented passage's terms, frequencies, length and Han bigrams. */
export function analyzeSegmented(
  text: string,
  passage: SegmentedPassage,
  opts: PrepareFormOptions = {},
  onCuts?: (cuts: KnownCut[]) => void,
): PreparedPassage {
  const joined = joinPieces(text, passage.pieces);
  const han = analyzeWithLayer(joined.text, onCuts);
  const toks = inDocument(joined, han.tokens);
  const freq = new Map<string, number>();
  for (const t of toks) freq.set(t.term, (freq.get(t.term) ?? 0) + 1);
  const words = toks.length === 0 ? 0 : toks[toks.length - 1]!.position + 1;
  if (opts.packed) {
    const pairs = new Map<string, number>();
    for (const b of biwords(toks)) pairs.set(b, (pairs.get(b) ?? 0) + 1);
    const packed = new Uint32Array(pairs.size * 3);
    sortedBiwords([...pairs.keys()], [...pairs.values()], packed);
    return {
      passage,
      terms: [...freq.keys()],
      counts: [...freq.values()],
      words,
      bigrams: han.bigrams,
      biwords: packed,
      stable: han.stable,
    };
  }
  for (const b of biwords(toks)) freq.set(b, (freq.get(b) ?? 0) + 1);
  return { passage, terms: [...freq.keys()], counts: [...freq.values()], words, bigrams: han.bigrams, stable: han.stable };
}

/**
 * What decides a passage's index entry: its own text (and its language, for
 * the pinyin lexicon). Two passages with the same key index the same.
 */
export function passageKey(text: string, p: Pick<Passage, 'pieces' | 'lang'>): string {
  return `${p.lang}\u0000${joinPieces(text, p.pieces).text}`;
}

/**
 * Segment a new version of a document, analysing only the passages whose
 * text `old` (the version indexed now) does not hold: an edit to one
 * paragraph analyses that paragraph, not the paper.
 */
export function prepareUpdate(doc: LoadedDocument, old: CorpusDocument | undefined): PreparedDocument {
  // The old version's passages by their key, in order: each new passage of the same text takes the first left.
  const have = new Map<string, number[]>();
  if (old) {
    const oldText = old.text;
    for (const p of old.passages) {
      const k = passageKey(oldText, p);
      const ids = have.get(k);
      if (ids) ids.push(p.id);
      else have.set(k, [p.id]);
    }
  }
  const cuts = cutsKept(doc);
  return {
    doc,
    passages: segment(doc.id, doc.text, doc.lang).map((passage): PreparedPassage => {
      const reuses = have.get(passageKey(doc.text, passage))?.shift();
      if (reuses === undefined) return analyzeSegmented(doc.text, passage, {}, cuts?.add);
      return { passage, terms: [], counts: [], words: 0, bigrams: [], unanalysed: true, reuses };
    }),
    ...(old && { against: old }),
    ...(cuts && { cuts: cuts.list() }),
  };
}

/**
 * Analyse a passage's own text (its pieces joined), with tokens in document
 * offsets; `text` is the document's text or a stretch of it holding the passage.
 */
export function analyzePassage(text: string | TextWindow, p: Pick<Passage, 'pieces'>): AnalyzedToken[] {
  const joined = joinPieces(text, p.pieces);
  return inDocument(joined, analyze(joined.text, 'index'));
}

/** Tokens of a passage's joined text, in document offsets. */
function inDocument(joined: ReturnType<typeof joinPieces>, toks: AnalyzedToken[]): AnalyzedToken[] {
  return toks.map((t) => ({ ...t, start: joined.map(t.start), end: joined.map(t.end - 1) + 1 }));
}
