/**
 * Chinese segmentation on jieba's own thread (src/workers/jieba-thread.ts), as
 * a server runs it: a restart answers the queries that need no Chinese
 * segmentation while jieba's dictionary is still loading, and once it is
 * loaded every answer is the one jieba on the server's own thread gives.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BroadcastChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { openPersistentCorpus } from '../src/backends/embedded/persist.js';
import { analyze, cutsOf } from '../src/pipeline/analyze.js';
import { jieba, localJieba, preloadJieba } from '../src/pipeline/jieba.js';
import { segmentOnJiebaThread } from '../src/workers/jieba-thread.js';
import { SAMPLE } from './helpers/sample.js';
import { tempDirs } from './helpers/temp.js';

const tempDir = tempDirs('jieba-thread');

/** Queries whose answers hold no Chinese words (no glossary equivalent in Chinese reaches a passage): they need no segmentation. */
const ENGLISH = [
  '"key node"',
  'support',
  'village cadres',
  'network',
  'governance',
  'key node',
  // Their passages hold Chinese (names and titles an English paper quotes: 林芝地区, 陈瑞莲): the paper's kept cuts answer.
  'Xinhuanet',
  '"Politics Study"',
  'Fujian',
  'Chen Ruilian',
];
/** Queries that need jieba: Chinese, and English whose glossary equivalents in Chinese reach passages. */
const CHINESE = [
  '对口支援',
  '援藏 OR 援疆',
  '扶贫协作',
  'counterpart support',
  'partner assistance -Tibet',
  'Wenchuan earthquake',
  'how are village cadres selected',
];

const answer = (e: Engine, queries: string[]) =>
  queries.map((q) => e.search(q, { limit: 50 })).map((r) => ({ total: r.total, hits: r.hits.map((h) => [h.passageId, h.score]) }));

describe("jieba's own thread", () => {
  it('a restart answers English while jieba loads, and every query as jieba on this thread does once it is loaded', async () => {
    // Built, persisted and answered with jieba on this thread: what the restart must give.
    const corpus = tempDir();
    cpSync(SAMPLE, corpus, { recursive: true });
    const data = tempDir();
    const first = await openPersistentCorpus(corpus, data);
    first.db.close();
    const expected = { english: answer(first.engine, ENGLISH), chinese: answer(first.engine, CHINESE) };

    // From here on this thread's Chinese text is cut on a thread that loads jieba only when let go.
    segmentOnJiebaThread(new URL('./helpers/gated-jieba-worker.mjs', import.meta.url));
    // A restart as a server makes it, answering as soon as the engine has taken the index over.
    const engine = new Engine();
    let restored!: () => void;
    const taken = new Promise<void>((resolve) => (restored = resolve));
    const opening = openPersistentCorpus(corpus, data, { engine, onRestored: () => restored() });
    await Promise.race([taken, opening]);
    let loaded = false;
    const loading = preloadJieba().then(() => (loaded = true));
    // Had any of these needed jieba, this thread would wait for a load that cannot start: a timeout.
    expect(answer(engine, ENGLISH)).toEqual(expected.english);
    // Still loading after a turn of the event loop: it never ran on this thread (where it would be done by now).
    await new Promise((resolve) => setImmediate(resolve));
    expect(loaded).toBe(false);

    const gate = new BroadcastChannel('duikou-test:jieba-gate');
    // Said until heard: a channel keeps no message for a listener that is not there yet.
    const letGo = setInterval(() => gate.postMessage(true), 20);
    await loading;
    clearInterval(letGo);
    gate.close();
    expect(answer(engine, CHINESE)).toEqual(expected.chinese);
    expect(answer(engine, ENGLISH)).toEqual(expected.english);
    const { stats, db } = await opening;
    db.close();
    expect(stats.restored).toBe(true);
  }, 120_000);

  it("a state keeps jieba's cuts only when its papers have Chinese: an English-only library never loads jieba for them", async () => {
    const sections = async (files: string[]): Promise<string[]> => {
      const corpus = tempDir();
      for (const f of files) cpSync(join(SAMPLE, f), join(corpus, f));
      const data = tempDir();
      const { db } = await openPersistentCorpus(corpus, data);
      const head = db.prepare("SELECT data FROM state_part WHERE name = 'head'").pluck().get() as string;
      db.close();
      return Object.keys((JSON.parse(head) as { sections: Record<string, unknown> }).sections);
    };
    // The glossary (Chinese terms) is there in both: only the papers' languages differ.
    const english = await sections(['zheng-wu-task-oriented-network.txt', 'duikou.glossary.tsv']);
    expect(english).not.toContain('cuts');
    // The cuts its Chinese names were analysed with in the workers are kept all the same: they cost no load.
    expect(english).toContain('paperCuts');
    expect(await sections(['wang-duikou-zhiyuan-mechanism.txt', 'duikou.glossary.tsv'])).toContain('cuts');
  }, 60_000);

  it('a process with nothing else to do waits for the load instead of ending with it unfinished', () => {
    // As the benchmark's cold start or a command does: nothing but the load keeps the process alive.
    const script = [
      `const { segmentOnJiebaThread } = await import(${JSON.stringify(new URL('../src/workers/jieba-thread.ts', import.meta.url).href)});`,
      `const { preloadJieba, jieba } = await import(${JSON.stringify(new URL('../src/pipeline/jieba.ts', import.meta.url).href)});`,
      'segmentOnJiebaThread();',
      'await preloadJieba();',
      "console.log(jieba().cut('对口支援机制').join('/'));",
    ].join('\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(localJieba().cut('对口支援机制').join('/'));
  }, 120_000);

  it("cuts on jieba's thread are the cuts of jieba on this thread, short (remembered) and long", () => {
    // The previous test routed this thread's cuts to jieba's thread and let it load.
    const there = jieba();
    const here = localJieba();
    expect(there).not.toBe(here);
    const zh = readFileSync(join(SAMPLE, 'wang-duikou-zhiyuan-mechanism.txt'), 'utf8');
    const paragraphs = zh.split(/\n+/).filter((p) => /\p{Script=Han}/u.test(p));
    const texts = [
      ...paragraphs,
      ...paragraphs.map((p) => p.slice(0, 20)),
      '对口支援',
      '𠀀对口𠀁支援', // outside the BMP (CJK Extension B) inside a run
      'GDP增长率与2008年汶川地震后的对口支援',
      '东西部扶贫协作\n脱贫攻坚战',
    ];
    expect(texts.some((t) => t.length > 64)).toBe(true);
    for (let round = 0; round < 2; round++) {
      for (const t of texts) {
        expect(there.cut(t)).toEqual(here.cut(t));
        expect(there.cutForSearch(t)).toEqual(here.cutForSearch(t));
      }
    }
    // What is kept is each run's cut, taken from one cut of all of a text's runs: jieba cuts the runs apart.
    const multi = texts.map((t) => cutsOf(t)).filter((c) => c.length > 1);
    expect(multi.length).toBeGreaterThan(0);
    for (const cuts of multi) for (const [, run, words] of cuts) expect(words).toEqual(here.cut(run));
    expect(analyze(zh.slice(0, 2000)).length).toBeGreaterThan(100);
  });

  it("an English paper's kept cuts follow it: added, updated (old and new runs), removed", () => {
    const engine = new Engine();
    const text = readFileSync(join(SAMPLE, 'zhou-partner-assistance-overview.txt'), 'utf8');
    const meta = {
      id: 'zhou',
      title: 'Partner Assistance',
      authors: [],
      year: null,
      venue: null,
      lang: 'en' as const,
      hash: 'h1',
      file: 'zhou.txt',
    };
    engine.addDocument({ ...meta, text });
    const runs = () => (engine.keptCuts().get('zhou') ?? []).map((c) => c[1]).sort();
    expect(runs()).toContain('林芝地区');
    const added = `${text}\n\nA new paragraph names 福建省 and 援藏干部.\n`;
    engine.updateDocument({ ...meta, hash: 'h2', text: added });
    expect(runs()).toEqual(expect.arrayContaining(['林芝地区', '福建省', '援藏干部']));
    for (const [, run, words] of engine.keptCuts().get('zhou')!) expect(words).toEqual(localJieba().cut(run));
    engine.removeDocument('zhou');
    expect(engine.keptCuts().has('zhou')).toBe(false);
  });
});
