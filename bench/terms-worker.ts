/**
 * Bench worker: loads a paper, segments it exactly as the engine does and
 * analyses every passage into what the baselines index: the sequence of the
 * passage's words (the analyzer's terms, in order, with a break marker where
 * two Chinese words do not touch, so a phrase never spans punctuation — the
 * engine's contiguity rule), the joined forms of hyphenated compounds, the
 * Han bigrams in text order (each run's bigrams, then its last character as
 * a one-character token, which also keeps a phrase of bigrams inside one
 * run), and the normalised text the brute-force scan greps.
 */
import { serveWorker } from '../src/workers/prepare.js';
import { BREAK, type TermsResult, type TermsTask } from './baselines.js';
import { analyzePassage } from '../src/pipeline/prepare.js';
import { normalizeText } from '../src/pipeline/normalize.js';
import { loadDocument } from '../src/pipeline/load.js';
import { joinPieces, segment } from '../src/pipeline/segment.js';

await serveWorker(async (task: TermsTask): Promise<TermsResult> => {
  const doc = await loadDocument(task.dir, task.file, {});
  return {
    docId: doc.id,
    text: doc.text,
    passages: segment(doc.id, doc.text, doc.lang).map((p) => {
      const seq: string[] = [];
      const subs: string[] = [];
      let prev: { han: boolean; end: number } | null = null;
      for (const t of analyzePassage(doc.text, p)) {
        if (t.sub) {
          subs.push(t.term);
          continue;
        }
        const han = t.script === 'han';
        if (prev?.han && han && t.start !== prev.end) seq.push(BREAK);
        seq.push(t.term);
        prev = { han, end: t.end };
      }
      const norm = normalizeText(joinPieces(doc.text, p.pieces).text);
      const bi: string[] = [];
      for (const m of norm.matchAll(/\p{Script=Han}+/gu)) {
        const cs = Array.from(m[0]);
        for (let i = 0; i + 1 < cs.length; i++) bi.push(cs[i]! + cs[i + 1]!);
        bi.push(cs[cs.length - 1]!);
      }
      return { lang: p.lang, start: p.start, end: p.end, seq, subs, bi, norm };
    }),
  };
});
