/** The fixed query mix of the benchmark, the same for every engine and size. */
import type { CorpusManifest } from './corpus.js';

export interface BenchQuery {
  /** Short label for tables. */
  name: string;
  q: string;
  /** Cross-lingual expansion (the baselines expand through the same glossary). */
  expand: boolean;
}

/** The query mix for a generated corpus (its rare made-up words, its first paper). */
export function queryMix(m: CorpusManifest): BenchQuery[] {
  const firstDoc = m.files[0]!.replace(/\.txt$/, '');
  return [
    { name: 'en frequent', q: 'support', expand: false },
    { name: 'en rare', q: m.rareLatin, expand: false },
    { name: 'zh word', q: '治理', expand: false },
    { name: 'zh rare', q: m.rareHan, expand: false },
    { name: 'phrase en', q: '"key node"', expand: false },
    { name: 'phrase zh 对口支援', q: '对口支援', expand: false },
    { name: 'phrase zh 脱贫攻坚', q: '脱贫攻坚', expand: false },
    { name: 'AND frequent+rare', q: `support ${m.rareLatin}`, expand: false },
    { name: 'OR', q: '援藏 OR 援疆', expand: false },
    { name: 'NOT', q: 'counterpart support -Tibet', expand: false },
    { name: 'lang:zh', q: 'lang:zh 机制', expand: false },
    { name: 'doc:', q: `doc:${firstDoc} support`, expand: false },
    { name: 'expand on 对口支援', q: '对口支援', expand: true },
    { name: 'expand on counterpart support', q: 'counterpart support', expand: true },
  ];
}
