/**
 * Building and changing what an {@link Engine} holds: adding a paper (at
 * once, or a slice at a time between requests), replacing it by a new version
 * while keeping the index entries of the passages whose text did not change,
 * changing its metadata, removing it, and dropping removed passages' postings
 * in the background. A module of the engine's chain (see engine-tables.ts).
 */
import { type CorpusDocument, type DocumentMeta, type LoadedDocument, PASSAGE_KINDS, type Passage } from '../../core/types.js';
import { runSteps } from '../../core/steps.js';
import { type PreparedDocument, analyzeSegmented, passageKey, prepareDocument, prepareUpdate } from '../../pipeline/prepare.js';
import type { Glossary } from '../../pipeline/glossary.js';
import { EngineTables, withFields } from './engine-tables.js';

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

/**
 * The build side of an {@link Engine}, over {@link EngineTables}; exported
 * only for the engine's own modules. Its public methods are part of Engine's
 * public API.
 */
export abstract class EngineBuilder extends EngineTables {
  /** Whether removed passages' postings are being dropped in the background. */
  private compacting = false;

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
    this.keepPreparedCuts(prep, old);
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
      this.setCodes(p.id, PASSAGE_KINDS.indexOf(p.kind), code, p.lang === 'zh' ? 1 : 0);
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
   * Change a document's metadata (title, authors, year, venue, language) in
   * place: nothing is re-segmented or re-indexed.
   * @returns false when the document is unknown
   */
  setMetadata(meta: DocumentMeta): boolean {
    const d = this.docs.get(meta.id);
    if (!d) return false;
    this.changes++;
    this.docs.set(meta.id, withFields(d, meta));
    // Every sync sets every paper's metadata again: a title analysed stays so unless it changed.
    if (meta.title !== d.title) this.titleCache.delete(meta.id);
    return true;
  }

  /**
   * Keep the cuts a paper was prepared with (see PreparedDocument.cuts). An
   * update analyses only the passages that changed: their cuts add to those
   * kept for the version before. A paper added again from its stored
   * passages, unanalysed, keeps those kept for the same text.
   */
  private keepPreparedCuts(prep: PreparedDocument, old: CorpusDocument | undefined): void {
    const id = prep.doc.id;
    if (prep.cuts === undefined) {
      if (old?.hash !== prep.doc.hash) this.paperCuts.delete(id);
      return;
    }
    const before = prep.against !== undefined && prep.against === old ? (this.paperCuts.get(id) ?? []) : [];
    const cuts = new Map(before.map((c) => [c[1], c]));
    for (const c of prep.cuts) cuts.set(c[1], c);
    if (cuts.size > 0) this.paperCuts.set(id, [...cuts.values()]);
    else this.paperCuts.delete(id);
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
    this.paperCuts.delete(id);
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
}
