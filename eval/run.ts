/**
 * `npm run eval`: runs every query of the relevance set through duikou and
 * through SQLite FTS5 (trigram, bm25) over the same passages, and prints
 * nDCG@10, P@5, recall@50 and MRR per query and their means.
 *
 * Usage: npm run eval [-- --set eval/relevance.json] [--corpus corpus] [--json out.json] [--unjudged]
 *
 * `--unjudged` prints, instead of the figures, every passage in the pool of a
 * query (the union of both systems' top 10, as in TREC pooling) that the set
 * does not grade yet, with its rank in each system and its own text, to be read
 * and graded (0 included) before the figures are trusted.
 */
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import { Fts5Baseline } from './fts5.js';
import { loadRelevanceSet, passageText, resolveJudgments } from './judgments.js';
import { mean, RELEVANT, score, type Scores } from './metrics.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const { values: args } = parseArgs({
  options: {
    set: { type: 'string', default: here('./relevance.json') },
    corpus: { type: 'string', default: here('../corpus') },
    json: { type: 'string' },
    unjudged: { type: 'boolean', default: false },
  },
});

const engine = await openCorpus(args.corpus!);
const docs = engine.documents();
const queries = resolveJudgments(loadRelevanceSet(args.set!), docs);
const fts = new Fts5Baseline(docs);
const byId = new Map(docs.flatMap((doc) => doc.passages.map((passage) => [passage.id, { doc, passage }] as const)));

const DEPTH = 50;
/** How deep each system's list is pooled for judging. */
const POOL = 10;
const fmt = (n: number): string => n.toFixed(3);
const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;

interface Line {
  id: string;
  query: string;
  mode: string;
  duikou: Scores | null;
  fts5: Scores | null;
  hits: { duikou: number; fts5: number };
}
const lines: Line[] = [];
for (const q of queries) {
  const result = engine.search(q.query, { limit: DEPTH });
  // In the order a page of 50 lists them: the hits, then (below a short strict result) the near matches.
  const ours = [...result.hits, ...(result.near ?? [])].slice(0, DEPTH).map((h) => h.passageId);
  const theirs = fts.search(q.query, DEPTH);
  const mode = result.mode;
  if (args.unjudged) {
    const pool = [...new Set([...ours.slice(0, POOL), ...theirs.slice(0, POOL)])].filter((id) => !q.grades.has(id));
    if (pool.length > 0) console.log(`\n## ${q.id}: ${q.query} (${pool.length} unjudged)`);
    for (const id of pool) {
      const { doc, passage } = byId.get(id)!;
      const rank = (list: number[]): string => (list.indexOf(id) < 0 ? '–' : String(list.indexOf(id) + 1));
      console.log(
        `\n- ${doc.id}#${passage.ordinal} ${passage.kind} (duikou ${rank(ours)}, FTS5 ${rank(theirs)})\n  ${passageText(doc, passage)}`,
      );
    }
  }
  // A query whose passages were all judged 0 has, like one with no judgments, nothing relevant to score.
  const judged = [...q.grades.values()].some((g) => g >= 1);
  lines.push({
    id: q.id,
    query: q.query,
    mode,
    duikou: judged ? score(ours, q.grades) : null,
    fts5: judged ? score(theirs, q.grades) : null,
    hits: { duikou: result.total, fts5: theirs.length },
  });
}
fts.close();
if (args.unjudged) process.exit(0);

const scored = lines.filter((l) => l.duikou !== null);
const ours = mean(scored.map((l) => l.duikou!));
const theirs = mean(scored.map((l) => l.fts5!));

console.log(`# duikou relevance evaluation — ${queries.length} queries (${scored.length} with relevant passages)`);
console.log(
  `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GB, Node ${process.version}`,
);
console.log(`P@5 and MRR count a passage as relevant at grade ≥ ${RELEVANT}; recall@50 counts every judged passage (grade ≥ 1).\n`);
console.log(row(['query', 'mode', 'nDCG@10', 'P@5', 'R@50', 'MRR', 'FTS5 nDCG@10', 'P@5', 'R@50', 'MRR', 'hits (duikou / FTS5)']));
console.log(row(Array(11).fill('---')));
for (const l of lines) {
  const s = (x: Scores | null): string[] => (x ? [fmt(x.ndcg10), fmt(x.p5), fmt(x.recall50), fmt(x.mrr)] : ['–', '–', '–', '–']);
  console.log(row([l.query, l.mode, ...s(l.duikou), ...s(l.fts5), `${l.hits.duikou} / ${l.hits.fts5}`]));
}
console.log(row(['**mean**', '', ...[ours, theirs].flatMap((m) => [fmt(m.ndcg10), fmt(m.p5), fmt(m.recall50), fmt(m.mrr)]), '']));
for (const l of lines.filter((x) => x.duikou === null)) {
  console.log(`\n"${l.query}" has no relevant passage: duikou returns ${l.hits.duikou} (mode ${l.mode}), FTS5 ${l.hits.fts5}.`);
}
console.log(
  `\nMean over ${scored.length} queries: duikou nDCG@10 ${fmt(ours.ndcg10)}, recall@50 ${fmt(ours.recall50)}; FTS5 nDCG@10 ${fmt(theirs.ndcg10)}, recall@50 ${fmt(theirs.recall50)}.`,
);
if (args.json) writeFileSync(args.json, JSON.stringify({ lines, mean: { duikou: ours, fts5: theirs } }, null, 2));
