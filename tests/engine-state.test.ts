/**
 * The engine read back from the persisted index, and the engine after a
 * partial update, against an engine built from scratch on the same papers:
 * the golden set's queries and random ones must get exactly the same answers
 * (passages, order, scores, matches, totals).
 */
import {
  appendFileSync,
  copyFileSync,
  cpSync,
  openSync,
  closeSync,
  readFileSync,
  readdirSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import type { DocumentMeta, LoadedDocument } from '../src/core/types.js';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import { Engine } from '../src/backends/embedded/engine.js';
import type { SearchOptions, SearchResult } from '../src/backends/search-contract.js';
import { openPersistentCorpus } from '../src/backends/embedded/persist.js';
import { stateWriter, writeState, writeStateGradually } from '../src/backends/embedded/state-store.js';
import { detectMetadata } from '../src/pipeline/load.js';
import { loadGlossary } from '../src/pipeline/glossary.js';
import { SAMPLE, SAMPLE_IDS } from './helpers/sample.js';
import { tempDirs } from './helpers/temp.js';

/** The ranking golden set's queries with their options (tests/ranking.test.ts), and a few more forms. */
const GOLDEN: Array<[string, SearchOptions]> = [
  ['"key node"', { limit: 3 }],
  ['path dependence', { limit: 5 }],
  ['对口支援 脱贫攻坚', { limit: 3 }],
  ['village-resident cadres', { limit: 8 }],
  ['林芝', { limit: 5 }],
  ['对口支援', { limit: 20 }],
  ['对口支援', { limit: 200, match: 'strict' }],
  ['习近平', { limit: 50 }],
  ['汶川地震', { limit: 20 }],
  ['counterpart support', { limit: 200 }],
  ['counterpart support', { limit: 3 }],
  ['partner assistance', { limit: 3 }],
  ['对口支援', { group: 'paper', limit: 5 }],
  ['support -Tibet', { limit: 20 }],
  ['援藏 OR 援疆', { limit: 20 }],
  ['lang:zh 机制', { limit: 20 }],
  ['why does counterpart support work?', { limit: 20 }],
];

/** Everything an answer says, without passage ids (each engine numbers passages its own way). */
function answer(engine: Engine, q: string, opts: SearchOptions): unknown {
  let r: SearchResult;
  try {
    r = engine.search(q, opts);
  } catch (err) {
    return { error: (err as Error).message };
  }
  const hit = (h: SearchResult['hits'][number]) => [h.docId, h.start, h.end, h.kind, h.lang, h.section, h.score, h.matches, h.text];
  return {
    total: r.total,
    strictTotal: r.strictTotal,
    mode: r.mode,
    perDocument: r.perDocument,
    hits: r.hits.map(hit),
    groups: r.groups?.map((g) => [g.docId, g.total, g.more, g.hits.map(hit)]),
  };
}

function expectSameAnswers(mine: Engine, fresh: Engine, queries: ReadonlyArray<[string, SearchOptions]>): void {
  for (const [q, opts] of queries) expect(answer(mine, q, opts), `${q} ${JSON.stringify(opts)}`).toEqual(answer(fresh, q, opts));
}

/** Words and Han strings of the sample, to make random queries from. */
const WORDS = [
  ...new Set(
    SAMPLE_IDS.flatMap((id) => {
      const text = readFileSync(join(SAMPLE, `${id}.txt`), 'utf8');
      const latin = text.match(/[A-Za-z]{3,}/g) ?? [];
      const han = (text.match(/\p{Script=Han}{2,}/gu) ?? []).map((run) => run.slice(0, 2 + (run.length % 3)));
      return [...latin.filter((_, i) => i % 7 === 0), ...han.filter((_, i) => i % 3 === 0)];
    }),
  ),
];

/** A random query in the query language: words, phrases, OR, exclusions, a language filter. */
const arbQuery = fc
  .tuple(
    fc.array(fc.tuple(fc.constantFrom(...WORDS), fc.constantFrom('', '', '', '-', 'OR ', '"')), { minLength: 1, maxLength: 3 }),
    fc.constantFrom('', '', 'lang:zh ', 'lang:en '),
    fc.constantFrom<SearchOptions>({ limit: 10 }, { limit: 50, offset: 5 }, { limit: 10, expand: false }, { limit: 5, group: 'paper' }),
  )
  .map(([parts, filter, opts]): [string, SearchOptions] => [
    filter + parts.map(([w, op]) => (op === '"' ? `"${w} ${w}"` : op + w)).join(' '),
    opts,
  ]);

const tempDir = tempDirs('state');

/** The state files beside the index database (see state-store.ts). */
const stateFiles = (data: string): string[] => readdirSync(data).filter((f) => f.startsWith('state-'));

/**
 * A copy of the sample papers in a temp folder, indexed once into a data
 * folder of its own (index.db and its state written), and an engine built
 * from scratch on the same papers to compare against.
 */
async function persistedSample(): Promise<{ corpus: string; data: string; fresh: Engine }> {
  const corpus = tempDir();
  cpSync(SAMPLE, corpus, { recursive: true });
  const data = tempDir();
  (await openPersistentCorpus(corpus, data)).db.close();
  return { corpus, data, fresh: await openCorpus(corpus) };
}

/** Papers' metadata as the library reads it, for writing a state. */
const metaOf = (id: string, _hash: string, text: () => string): DocumentMeta => detectMetadata(id, text());

describe('restart from the persisted index', () => {
  let fresh: Engine;
  let restored: Engine;
  let built: Engine;
  let corpus: string;
  let data: string;
  beforeAll(async () => {
    corpus = tempDir();
    cpSync(SAMPLE, corpus, { recursive: true });
    data = tempDir();
    const first = await openPersistentCorpus(corpus, data);
    expect(first.stats.restored).toBe(false);
    first.db.close();
    built = first.engine;
    const second = await openPersistentCorpus(corpus, data);
    second.db.close();
    // Read back, not added again: nothing indexed, the state taken over.
    expect(second.stats).toMatchObject({ restored: true, indexed: 0, reused: SAMPLE_IDS.length });
    restored = second.engine;
    fresh = await openCorpus(corpus);
  });

  it('answers the golden set exactly as an engine built from scratch', () => {
    expectSameAnswers(restored, fresh, GOLDEN);
  });

  it('analyses the titles after the restart, a slice per turn of the event loop, as a query would', async () => {
    const cache = (e: Engine): Map<string, unknown> => (e as unknown as { titleCache: Map<string, unknown> }).titleCache;
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const second = await openPersistentCorpus(corpus, data);
    second.db.close();
    const { engine } = second;
    await turn();
    expect([...cache(engine).keys()].sort()).toEqual([...SAMPLE_IDS].sort());
    for (const id of SAMPLE_IDS) expect(cache(engine).get(id)).toEqual(fresh.titleTokens(id));
    // Two titles per turn: the rest wait for the next turns.
    cache(engine).clear();
    const warming = engine.warmTitles(2);
    expect(cache(engine).size).toBe(2);
    await turn();
    expect(cache(engine).size).toBe(4);
    await warming;
    expect(cache(engine).size).toBe(SAMPLE_IDS.length);
    // Metadata set again as every sync sets it: kept while the title stands, analysed anew when it changes.
    const meta = engine.requireDocument(SAMPLE_IDS[0]);
    const { id, title, authors, year, venue, lang } = meta;
    const before = engine.titleTokens(id);
    engine.setMetadata({ id, title, authors, year, venue, lang });
    expect(cache(engine).get(id)).toBe(before);
    engine.setMetadata({ id, title: '新的标题 𠀀 New title', authors, year, venue, lang });
    expect(engine.titleTokens(id).map((t) => t.term)).toContain('标题');
  });

  it('reads back every passage as built: its id, place, kind, language, section, level and pieces', () => {
    const all = (e: Engine) => e.documents().flatMap((d) => d.passages);
    const read = all(restored);
    expect(read).toEqual(all(built));
    // The sample has what each field may hold: headings with a level, passages before the first heading
    // (no section), Chinese and English, passages of several pieces (a paragraph around a page break).
    expect(read.some((p) => p.level !== undefined)).toBe(true);
    expect(read.some((p) => p.section === null)).toBe(true);
    expect(new Set(read.map((p) => p.lang)).size).toBe(2);
    expect(read.some((p) => p.pieces.length > 1)).toBe(true);
    for (const p of read) expect(restored.passage(p.id)).toBe(p);
  });

  it('the engine that built and persisted the index holds it as a restart does, and answers as one built from scratch', () => {
    // Postings in the persisted state's typed arrays, texts read from the index when used.
    expect(built.index.unsettledTerms).toBe(0);
    expect(fresh.index.unsettledTerms).toBeGreaterThan(0);
    for (const d of built.documents()) expect(Object.getOwnPropertyDescriptor(d, 'text')?.get).toBeDefined();
    expectSameAnswers(built, fresh, GOLDEN);
    fc.assert(
      fc.property(arbQuery, (q) => expectSameAnswers(built, fresh, [q])),
      { numRuns: 100 },
    );
  });

  it('answers random queries exactly as an engine built from scratch', () => {
    fc.assert(
      fc.property(arbQuery, (q) => expectSameAnswers(restored, fresh, [q])),
      { numRuns: 150 },
    );
  });

  it('after a paper changes, answers as an engine built from scratch on the changed papers, again after a restart', async () => {
    const file = join(corpus, `${SAMPLE_IDS[1]}.txt`);
    const text = readFileSync(file, 'utf8');
    const at = text.indexOf('\n\n', text.length >> 1);
    writeFileSync(
      file,
      `${text.slice(0, at)}\n\nA new paragraph on counterpart support 对口支援 and 𠀀𠀁 beyond the BMP.${text.slice(at)}`,
    );
    const { db, engine, stats } = await openPersistentCorpus(corpus, data, { engine: restored });
    expect(stats).toMatchObject({ indexed: 1 });
    const changed = await openCorpus(corpus);
    expectSameAnswers(engine, changed, [...GOLDEN, ['𠀀𠀁', { limit: 5 }], ['new paragraph', { limit: 5 }]]);
    engine.index.compactPostings();
    expectSameAnswers(engine, changed, GOLDEN);
    db.close();
    const again = await openPersistentCorpus(corpus, data);
    again.db.close();
    expect(again.stats.restored).toBe(true);
    expectSameAnswers(again.engine, changed, [...GOLDEN, ['𠀀𠀁', { limit: 5 }]]);
  });
});

describe('one-document update', () => {
  let docs: Map<string, LoadedDocument>;
  let engine: Engine;
  const glossary = loadGlossary(SAMPLE);
  beforeAll(async () => {
    const built = await openCorpus(SAMPLE);
    docs = new Map(
      built.documents().map((d) => {
        const { passages: _passages, ...loaded } = d;
        return [d.id, loaded];
      }),
    );
    engine = new Engine(glossary);
    for (const d of docs.values()) engine.addDocument(d);
  });

  /** An edit at a place in the text given as a fraction of its length. */
  const arbEdit = fc.record({
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    cut: fc.integer({ min: 0, max: 400 }),
    insert: fc.array(
      fc.constantFrom('对口支援', 'counterpart support', '𠀀', '😀', '援藏', ' ', '\n\n', '# Heading', 'Tibet', '。', 'the'),
      {
        maxLength: 12,
      },
    ),
  });

  it('answers exactly as an engine built from scratch on the changed papers, over random edits', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SAMPLE_IDS), fc.array(arbEdit, { minLength: 1, maxLength: 4 }), fc.boolean(), (id, edits, compact) => {
        const doc = docs.get(id)!;
        let text = doc.text;
        for (const e of edits) {
          // Never split a surrogate pair: offsets are UTF-16 code units, edits are of whole characters.
          let at = Math.floor(e.at * text.length);
          if (at > 0 && /[\uDC00-\uDFFF]/.test(text[at] ?? '')) at--;
          let end = Math.min(text.length, at + e.cut);
          if (end < text.length && /[\uDC00-\uDFFF]/.test(text[end] ?? '')) end++;
          text = text.slice(0, at) + e.insert.join('') + text.slice(end);
        }
        const changed = { ...doc, text };
        docs.set(id, changed);
        engine.updateDocument(changed);
        if (compact) engine.index.compactPostings();
        const scratch = new Engine(glossary);
        for (const d of docs.values()) scratch.addDocument(d);
        const inserted = edits
          .flatMap((e) => e.insert.filter((s) => s.trim() !== ''))
          .map((s): [string, SearchOptions] => [s, { limit: 20 }]);
        expectSameAnswers(engine, scratch, [...GOLDEN, ...inserted]);
      }),
      { numRuns: 10 },
    );
  }, 180_000);
});

describe('writing the state a step at a time', () => {
  /** The generation of the state in force (see state-store.ts). */
  const currentGen = (db: Database.Database): number | null =>
    db.prepare("SELECT max(gen) FROM state_part WHERE name = 'head'").pluck().get() as number | null;

  let corpus: string;
  let data: string;
  let fresh: Engine;
  beforeAll(async () => {
    ({ corpus, data, fresh } = await persistedSample());
  });

  it('leaves the state before in force when the process ends at any step of a write, and uses a complete one that matches', async () => {
    const { db, engine } = await openPersistentCorpus(corpus, data);
    const before = currentGen(db);
    expect(before).not.toBeNull();
    // Another engine state than the papers in the index: one paper edited in memory only.
    const id = SAMPLE_IDS[2]!;
    const doc = engine.document(id)!;
    const at = doc.text.indexOf('\n\n', doc.text.length >> 1);
    const { passages: _p, ...loaded } = doc;
    engine.updateDocument({ ...loaded, text: `${doc.text.slice(0, at)}\n\n对口支援 𠀀 edited.${doc.text.slice(at)}`, hash: 'edited' });
    // Steps before the one that switches the new state in.
    let steps = 0;
    const counting = stateWriter(db, engine, metaOf);
    while (counting.next().value !== 'switched') steps++;
    counting.return(false);
    db.close();
    expect(steps).toBeGreaterThan(5);
    // A complete state of other papers than the index's is never used.
    const complete = await openPersistentCorpus(corpus, data);
    expect(complete.stats.restored).toBe(false);
    expectSameAnswers(complete.engine, fresh, GOLDEN.slice(0, 6));
    complete.db.close();
    // Now the index's state again, in force; then writes of the edited engine's state cut short at many steps.
    for (const cut of [0, 1, 2, Math.floor(steps / 3), Math.floor(steps / 2), steps - 1, steps]) {
      const again = await openPersistentCorpus(corpus, data);
      const gen = currentGen(again.db);
      const writer = stateWriter(again.db, engine, metaOf);
      for (let i = 0; i < cut; i++) writer.next();
      // The process ends here: the writer never runs again.
      again.db.close();
      const next = await openPersistentCorpus(corpus, data);
      expect(next.stats.restored, `cut at step ${cut} of ${steps}`).toBe(true);
      expect(currentGen(next.db)).toBe(gen);
      // What the write cut short left beside the database is gone: only the state in force is kept.
      expect(stateFiles(data)).toEqual([`state-${gen}.bin`]);
      expectSameAnswers(next.engine, fresh, GOLDEN.slice(0, 6));
      next.db.close();
    }
  }, 120_000);

  it('abandons a write when the engine changes meanwhile, takes the state again, and writes a burst of requests once', async () => {
    const { db, engine } = await openPersistentCorpus(corpus, data);
    const gen = currentGen(db)!;
    const id = SAMPLE_IDS[0]!;
    const { passages: _p, ...loaded } = engine.document(id)!;
    let pauses = 0;
    const changing = async (): Promise<void> => {
      // Between two steps of the write, a paper changes.
      if (pauses++ === 0) engine.updateDocument({ ...loaded, text: `${loaded.text}\n\nA new paragraph.`, hash: 'changed' });
      await new Promise((r) => setImmediate(r));
    };
    // One attempt only: abandoned, nothing switched in.
    expect(await writeStateGradually(db, engine, metaOf, { pause: changing, sliceMs: 0, attempts: 1 })).toBe(false);
    expect(currentGen(db)).toBe(gen);
    expect(pauses).toBeGreaterThan(1);
    // Taken again after the change: the state written is the changed engine's.
    pauses = 0;
    expect(await writeStateGradually(db, engine, metaOf, { pause: changing, sliceMs: 0, attempts: 2 })).toBe(true);
    const head = JSON.parse(db.prepare("SELECT data FROM state_part WHERE name = 'head'").pluck().get() as string) as {
      docs: Record<string, string>;
    };
    expect(head.docs[id]).toBe('changed');
    const afterChange = currentGen(db)!;
    expect(afterChange).toBeGreaterThan(gen);
    // A burst: one write running, three more asked for meanwhile: they wait as one, so two writes in all.
    const pause = (): Promise<void> => new Promise((r) => setImmediate(r));
    const running = writeStateGradually(db, engine, metaOf, { pause, sliceMs: 0 });
    await pause();
    const burst = [1, 2, 3].map(() => writeStateGradually(db, engine, metaOf, { pause, sliceMs: 0 }));
    expect(burst[1]).toBe(burst[0]);
    expect(burst[2]).toBe(burst[0]);
    expect(await Promise.all([running, ...burst])).toEqual([true, true, true, true]);
    expect(currentGen(db)).toBe(afterChange + 2);
    // Only the state in force is left in the table, and beside the database.
    expect(db.prepare('SELECT DISTINCT gen FROM state_part').pluck().all()).toEqual([afterChange + 2]);
    expect(stateFiles(data)).toEqual([`state-${afterChange + 2}.bin`]);
    db.close();
  }, 60_000);
});

describe('the state file beside index.db', () => {
  let corpus: string;
  let data: string;
  let fresh: Engine;
  beforeAll(async () => {
    ({ corpus, data, fresh } = await persistedSample());
  });

  /** The one state file in force. */
  const stateFile = (): string => {
    const files = stateFiles(data);
    expect(files).toHaveLength(1);
    return join(data, files[0]!);
  };

  /** Where the current state's section `name` starts in its file (from its head in the index). */
  const sectionAt = (name: string): number => {
    const db = new Database(join(data, 'index.db'), { readonly: true });
    try {
      const head = JSON.parse(db.prepare("SELECT data FROM state_part WHERE name = 'head'").pluck().get() as string) as {
        sections: Record<string, [number, number]>;
      };
      return head.sections[name]![0];
    } finally {
      db.close();
    }
  };

  /** Flip one byte of a file in place. */
  const flip = (file: string, at: number): void => {
    const fd = openSync(file, 'r+');
    const b = Buffer.alloc(1);
    b[0] = (readFileSync(file)[at]! ^ 0xff) & 0xff;
    writeSync(fd, b, 0, 1, at);
    closeSync(fd);
  };

  const damage: Array<[string, (file: string) => void]> = [
    ['missing', (file) => unlinkSync(file)],
    ['truncated', (file) => truncateSync(file, statSync(file).size - 8)],
    ['cut to its header', (file) => truncateSync(file, 64)],
    ['longer than its head says', (file) => appendFileSync(file, Buffer.alloc(8))],
    ['of another write (its header)', (file) => flip(file, 20)],
    ['not a state file', (file) => flip(file, 0)],
    // Damaged within, its size and header intact: decoding fails, and the start goes on without it.
    ['with a passage of no kind', (file) => flip(file, sectionAt('passages') + 2 * Int32Array.BYTES_PER_ELEMENT)],
    ['with its list of papers broken', (file) => flip(file, sectionAt('papers'))],
  ];

  it.each(damage)(
    'a state file %s is ignored, never misread: the papers are served as built from scratch and the state written again',
    async (_how, harm) => {
      harm(stateFile());
      const next = await openPersistentCorpus(corpus, data);
      expect(next.stats).toMatchObject({ restored: false, indexed: 0, reused: SAMPLE_IDS.length });
      expectSameAnswers(next.engine, fresh, GOLDEN.slice(0, 8));
      next.db.close();
      stateFile();
      const again = await openPersistentCorpus(corpus, data);
      again.db.close();
      expect(again.stats.restored).toBe(true);
      expectSameAnswers(again.engine, fresh, GOLDEN.slice(0, 8));
    },
    60_000,
  );

  it('a state file of another generation put in place of the current one is ignored', async () => {
    const older = stateFile();
    const copy = join(tempDir(), 'older.bin');
    copyFileSync(older, copy);
    // A new generation of the same state: same size, same contents but for the header.
    const { db, engine } = await openPersistentCorpus(corpus, data);
    writeState(db, engine, metaOf);
    db.close();
    const current = stateFile();
    expect(current).not.toBe(older);
    expect(statSync(current).size).toBe(statSync(copy).size);
    copyFileSync(copy, current);
    const next = await openPersistentCorpus(corpus, data);
    expect(next.stats.restored).toBe(false);
    expectSameAnswers(next.engine, fresh, GOLDEN.slice(0, 8));
    next.db.close();
  }, 60_000);

  it('an earlier layout (the state in rows of the database) is ignored, its rows deleted when the state is written again', async () => {
    const { db } = await openPersistentCorpus(corpus, data);
    const head = JSON.parse(db.prepare("SELECT data FROM state_part WHERE name = 'head'").pluck().get() as string) as Record<
      string,
      unknown
    >;
    const { layout: _layout, ...older } = head;
    db.prepare("UPDATE state_part SET data = ? WHERE name = 'head'").run(JSON.stringify(older));
    db.prepare("INSERT INTO state_part (gen, name, part, data) VALUES (1, 'triples', 0, x'00')").run();
    db.close();
    const next = await openPersistentCorpus(corpus, data);
    expect(next.stats.restored).toBe(false);
    expectSameAnswers(next.engine, fresh, GOLDEN.slice(0, 8));
    expect(next.db.prepare('SELECT name FROM state_part').pluck().all()).toEqual(['head']);
    next.db.close();
    const again = await openPersistentCorpus(corpus, data);
    expect(again.stats.restored).toBe(true);
    again.db.close();
  }, 60_000);
});
