/**
 * Bench worker: loads a paper, segments it exactly as the engine does and
 * analyses every passage into what the baselines index: the sequence of the
 * passage's words (the analyzer's terms, in order, with a break marker where
 * two Chinese words do not touch, so a phrase never spans punctuation — the
 * engine's contiguity rule) and the sub-words of long Chinese words.
 */
import { serveWorker } from '../src/parallel.js';
import { BREAK, type TermsResult, type TermsTask } from './baselines.js';
import { analyzePassage } from '../src/engine.js';
import { loadDocument } from '../src/pipeline/load.js';
import { segment } from '../src/pipeline/segment.js';

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
      return { lang: p.lang, start: p.start, end: p.end, seq, subs };
    }),
  };
});
