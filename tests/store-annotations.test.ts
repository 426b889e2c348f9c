import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserInputError } from '../src/core/errors.js';
import { textHash } from '../src/store/anchor.js';
import { EmbeddedAnnotationBackend } from '../src/backends/embedded/annotations.js';
import { PgAnnotationStore } from '../src/backends/postgres/annotations.js';
import type { AnnotationBackend } from '../src/backends/types.js';
import { AnnotationStore } from '../src/store/annotations.js';
import type { Annotation, DocText } from '../src/store/annotation-types.js';
import { type Database, openDatabase, schemaVersion } from '../src/store/db.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/store/migrations.js';
import { createTestDatabase, testDatabaseUrl } from './helpers/postgres.js';
import { SAMPLE } from './helpers/sample.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const readDoc = (id: string): DocText => {
  const text = readFileSync(join(SAMPLE, `${id}.txt`), 'utf8')
    .replace(/^\uFEFF/, '')
    .replace(/\r\n/g, '\n');
  return { text, hash: textHash(text) };
};
const ZH_ID = 'wang-duikou-zhiyuan-mechanism';
const EN_ID = 'wang-counterpart-support-policy';
const ZH = readDoc(ZH_ID);
const EN = readDoc(EN_ID);
const ZH_QUOTE = '1956年,党的八大提出,国家主要任务是集中力量发展社会生产力,实现国家工业化。';
const EN_QUOTE =
  'The counterpart support system has undergone more than 70 years of development, and has been continuously improved and enriched.';
const range = (doc: DocText, quote: string) => {
  const start = doc.text.indexOf(quote);
  if (start < 0) throw new Error('quote not found');
  return { start, end: start + quote.length };
};

let dir: string;
let db: Database;
let store: AnnotationStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'duikou-store-'));
  db = openDatabase(join(dir, 'data', 'duikou.db'));
  store = new AnnotationStore(db);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Row counts of every table, to prove a refused write left nothing behind. */
function rowCounts(d: Database = db) {
  const n = (t: string) => (d.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
  return { documents: n('documents'), annotations: n('annotations'), tags: n('tags'), links: n('annotation_tags') };
}

/** Expect `fn` to throw (or reject with) a UserInputError with this code and status. */
async function expectUserError(fn: () => unknown, code: string, status = 400): Promise<void> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected UserInputError ${code}`).toBeInstanceOf(UserInputError);
  expect((caught as UserInputError).code).toBe(code);
  expect((caught as UserInputError).status).toBe(status);
}

type Counts = ReturnType<typeof rowCounts>;

/** One backend under test: its store, row counts, and a raw tag-row delete that bypasses the store's checks. */
interface Harness {
  store: AnnotationBackend;
  rowCounts(): Promise<Counts>;
  deleteTagRow(id: number): Promise<unknown>;
  close(): Promise<void>;
}

const pgServer = testDatabaseUrl();

/** The backends the store tests run on: SQLite always, PostgreSQL when a test server is configured. */
const BACKENDS: { name: string; open: () => Promise<Harness> }[] = [
  {
    name: 'SQLite',
    open: async () => ({
      store: new EmbeddedAnnotationBackend(store),
      rowCounts: async () => rowCounts(db),
      deleteTagRow: async (id) => db.prepare('DELETE FROM tags WHERE id = ?').run(id),
      close: async () => undefined,
    }),
  },
  ...(pgServer
    ? [
        {
          name: 'PostgreSQL',
          open: async (): Promise<Harness> => {
            const tdb = await createTestDatabase(pgServer);
            const s = await PgAnnotationStore.open({ url: tdb.url, poolSize: 4 });
            const n = async (t: string) => (await s.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`)).rows[0]?.n;
            return {
              store: s,
              rowCounts: async () =>
                ({
                  documents: await n('documents'),
                  annotations: await n('annotations'),
                  tags: await n('tags'),
                  links: await n('annotation_tags'),
                }) as Counts,
              deleteTagRow: (id) => s.pool.query('DELETE FROM tags WHERE id = $1', [id]),
              close: async () => {
                await s.close();
                await tdb.drop();
              },
            };
          },
        },
      ]
    : []),
];

describe('openDatabase', () => {
  it('creates the folder and the latest schema with WAL and foreign keys', () => {
    expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
  });

  it('upgrades a version-1 database and keeps its data', () => {
    const file = join(dir, 'old.db');
    const old = openDatabase(file, { migrations: MIGRATIONS.slice(0, 1) });
    expect(schemaVersion(old)).toBe(1);
    // Data written the way version-1 code wrote it.
    const r = range(EN, EN_QUOTE);
    old.prepare("INSERT INTO documents (id, text_hash, seen_at) VALUES (?, ?, '2024-01-01T00:00:00.000Z')").run(EN_ID, EN.hash);
    old
      .prepare(
        `INSERT INTO annotations (id, doc_id, start, "end", exact, prefix, suffix, note, colour, created_at, updated_at,
           text_hash, status, anchor_method)
         VALUES ('a1', ?, ?, ?, ?, ?, ?, '旧笔记', '#ffd54f', '2024-01-01T00:00:00.000Z', '2024-01-02T00:00:00.000Z', ?, 'anchored', 'created')`,
      )
      .run(EN_ID, r.start, r.end, EN_QUOTE, EN.text.slice(r.start - 32, r.start), EN.text.slice(r.end, r.end + 32), EN.hash);
    old.exec(`INSERT INTO tags (id, name, name_key, created_at) VALUES (1, '援藏', '援藏', 'x'), (2, '援藏/教育', '援藏/教育', 'x');
              INSERT INTO annotation_tags VALUES ('a1', 2);`);
    expect(() => new AnnotationStore(old)).toThrow(/schema version 1/);
    old.close();

    const upgraded = openDatabase(file);
    try {
      expect(schemaVersion(upgraded)).toBe(SCHEMA_VERSION);
      const s = new AnnotationStore(upgraded);
      expect(s.get('a1')).toEqual({
        id: 'a1',
        docId: EN_ID,
        ...r,
        exact: EN_QUOTE,
        prefix: EN.text.slice(r.start - 32, r.start),
        suffix: EN.text.slice(r.end, r.end + 32),
        note: '旧笔记',
        colour: '#ffd54f',
        tags: ['援藏/教育'],
        createdAt: '2024-01-01T00:00:00.000Z',
        updatedAt: '2024-01-02T00:00:00.000Z',
        textHash: EN.hash,
        status: 'anchored',
        anchorMethod: 'created',
        createdBy: 'owner',
        updatedBy: 'owner',
        mergedFrom: [],
      });
      expect(s.listTags().map((t) => t.name)).toEqual(['援藏', '援藏/教育']);
      // Migration 2's column is there and usable.
      expect(s.orphanDocument(EN_ID)).toBe(1);
      expect(s.knownDocuments()[0]?.removedAt).not.toBeNull();
      expect(upgraded.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      upgraded.close();
    }
  });

  it('opens an up-to-date database again without touching it', () => {
    const a = store.create({ docId: EN_ID, ...range(EN, EN_QUOTE), tags: [] }, EN);
    db.close();
    db = openDatabase(join(dir, 'data', 'duikou.db'));
    store = new AnnotationStore(db);
    expect(store.get(a.id)).toEqual(a);
  });

  it('refuses a database newer than the code, leaving it untouched', () => {
    const file = join(dir, 'future.db');
    const d = openDatabase(file);
    d.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    d.close();
    expect(() => openDatabase(file)).toThrow(/newer than this duikou knows/);
    const again = openDatabase(file, { migrations: [...MIGRATIONS, { description: 'future', up: 'SELECT 1' }] });
    expect(schemaVersion(again)).toBe(SCHEMA_VERSION + 1);
    again.close();
  });

  it('rolls back a failing migration as a whole', () => {
    const file = join(dir, 'broken.db');
    const broken = [...MIGRATIONS, { description: 'broken', up: 'CREATE TABLE half (x); SELECT * FROM no_such_table;' }];
    expect(() => openDatabase(file, { migrations: broken })).toThrow(new RegExp(`migration ${MIGRATIONS.length + 1} \\(broken\\) failed`));
    const d = openDatabase(file);
    expect(schemaVersion(d)).toBe(SCHEMA_VERSION);
    expect(d.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'").get()).toEqual({ n: 0 });
    d.close();
  });
});

describe.each(BACKENDS)('the annotation store on $name', (backend) => {
  // Shadows the SQLite store above: these tests see only the backend interface.
  let store: AnnotationBackend;
  let rowCounts: () => Promise<Counts>;
  let deleteTagRow: (id: number) => Promise<unknown>;
  let h: Harness;
  beforeEach(async () => {
    h = await backend.open();
    ({ store, rowCounts, deleteTagRow } = h);
  });
  afterEach(async () => {
    await h.close();
  });

  describe('annotations', () => {
    it('creates, gets, updates and deletes', async () => {
      const r = range(ZH, ZH_QUOTE);
      const a = await store.create({ docId: ZH_ID, ...r, exact: ZH_QUOTE, note: '路径依赖的起点', tags: ['援藏', ' 干部 ', '干部'] }, ZH);
      expect(a).toMatchObject({
        docId: ZH_ID,
        ...r,
        exact: ZH_QUOTE,
        note: '路径依赖的起点',
        colour: '#ffd54f',
        tags: ['干部', '援藏'].sort((x, y) => (x < y ? -1 : 1)),
        textHash: ZH.hash,
        status: 'anchored',
        anchorMethod: 'created',
      });
      expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(a.prefix).toBe(ZH.text.slice(r.start - 32, r.start));
      expect(a.suffix).toBe(ZH.text.slice(r.end, r.end + 32));
      expect(a.createdAt).toBe(a.updatedAt);
      expect(await store.get(a.id)).toEqual(a);

      const u = await store.update(a.id, { note: 'path dependence', colour: '#ABC', tags: ['path dependence'] });
      expect(u).toMatchObject({ note: 'path dependence', colour: '#abc', tags: ['path dependence'], start: r.start });
      expect(u.updatedAt > a.updatedAt).toBe(true);
      expect(u.createdAt).toBe(a.createdAt);

      // A new range is validated and re-quoted.
      const shorter = await store.update(a.id, { end: r.start + 5 }, ZH);
      expect(shorter).toMatchObject({
        start: r.start,
        end: r.start + 5,
        exact: ZH_QUOTE.slice(0, 5),
        suffix: ZH.text.slice(r.start + 5, r.start + 37),
      });

      expect((await store.delete(a.id)).id).toBe(a.id);
      expect(await store.get(a.id)).toBeNull();
      expect((await rowCounts()).links).toBe(0);
      expect((await store.listTags()).map((t) => t.name).sort()).toEqual(['path dependence', '干部', '援藏'].sort()); // tags outlive their annotations
      await expectUserError(() => store.delete(a.id), 'not_found', 404);
      await expectUserError(() => store.update(a.id, { note: 'x' }), 'not_found', 404);
    });

    it('lists by document, tag subtree, text and status, ordered by document then start', async () => {
      const mk = (doc: DocText, docId: string, quote: string, tags: string[], note = '') =>
        store.create({ docId, ...range(doc, quote), tags, note }, doc);
      const later = await mk(ZH, ZH_ID, '对口支援机制的发展历程', ['援藏/教育']);
      const earlier = await mk(ZH, ZH_ID, '中国特色对口支援机制', ['援藏']);
      const en = await mk(EN, EN_ID, EN_QUOTE, ['援疆', 'Path Dependence'], 'Note with 100% and under_score');
      const other = await mk(EN, EN_ID, 'Historical Institutionalism', ['援藏教育'], 'ÄRGER im Ämt');

      expect((await store.list()).map((a) => a.id)).toEqual(
        [earlier, later, en, other]
          .sort((ax, ay) => (ax.docId === ay.docId ? ax.start - ay.start : ax.docId < ay.docId ? -1 : 1))
          .map((a) => a.id),
      );
      expect((await store.list({ docId: ZH_ID })).map((a) => a.id)).toEqual([earlier.id, later.id]);
      // 援藏 includes 援藏/教育 but not the unrelated 援藏教育 (not a child: no '/').
      expect((await store.list({ tag: '援藏' })).map((a) => a.id)).toEqual([earlier.id, later.id]);
      expect((await store.list({ tag: '援藏/教育' })).map((a) => a.id)).toEqual([later.id]);
      expect((await store.list({ tag: 'path DEPENDENCE' })).map((a) => a.id)).toEqual([en.id]);
      expect(await store.list({ tag: 'no such tag' })).toEqual([]);
      // q: quote or note, case-insensitive (non-ASCII too), % and _ are literal.
      expect((await store.list({ q: 'CONTINUOUSLY improved' })).map((a) => a.id)).toEqual([en.id]);
      expect((await store.list({ q: '100%' })).map((a) => a.id)).toEqual([en.id]);
      expect((await store.list({ q: '%' })).map((a) => a.id)).toEqual([en.id]);
      expect(await store.list({ q: 'r%s' })).toEqual([]);
      expect((await store.list({ q: '_' })).map((a) => a.id)).toEqual([en.id]);
      expect((await store.list({ q: 'under_score' })).map((a) => a.id)).toEqual([en.id]);
      expect((await store.list({ q: 'ärger IM ämt' })).map((a) => a.id)).toEqual([other.id]);
      expect((await store.list({ q: '发展历程' })).map((a) => a.id)).toEqual([later.id]);
      expect((await store.list({ q: '发展历程', tag: '援藏', docId: ZH_ID })).map((a) => a.id)).toEqual([later.id]);
      expect(await store.list({ orphaned: true })).toEqual([]);
      expect(await store.list({ orphaned: false })).toHaveLength(4);
    });

    it('refuses bad input for every field and writes nothing', async () => {
      const base = { docId: EN_ID, ...range(EN, EN_QUOTE), tags: ['ok'] };
      await store.create(base, EN);
      const before = await rowCounts();
      const astral: DocText = { text: 'ab𠀀cd😀', hash: textHash('ab𠀀cd😀') };
      const cases: [string, () => unknown, string, number?][] = [
        ['non-integer start', () => store.create({ ...base, start: 1.5 }, EN), 'bad_range'],
        ['string end', () => store.create({ ...base, end: '9' as unknown as number }, EN), 'bad_range'],
        ['NaN start', () => store.create({ ...base, start: Number.NaN }, EN), 'bad_range'],
        ['start = end', () => store.create({ ...base, end: base.start }, EN), 'bad_range'],
        ['start > end', () => store.create({ ...base, start: base.end, end: base.start }, EN), 'bad_range'],
        ['negative start', () => store.create({ ...base, start: -1 }, EN), 'bad_range'],
        ['end past the text', () => store.create({ ...base, end: EN.text.length + 1 }, EN), 'bad_range'],
        // The low half of 𠀀: one past where the character starts.
        [
          'start splits a surrogate pair',
          () => store.create({ docId: 'a', start: astral.text.indexOf('𠀀') + 1, end: astral.text.indexOf('cd'), tags: [] }, astral),
          'bad_range',
        ],
        [
          'end splits a surrogate pair',
          () => store.create({ docId: 'a', start: 0, end: astral.text.indexOf('𠀀') + 1, tags: [] }, astral),
          'bad_range',
        ],
        ['exact mismatch', () => store.create({ ...base, exact: 'something else' }, EN), 'quote_mismatch', 409],
        ['empty tag', () => store.create({ ...base, tags: ['ok', '   '] }, EN), 'bad_tag'],
        ['65-char tag', () => store.create({ ...base, tags: ['援'.repeat(65)] }, EN), 'bad_tag'],
        ['tag with a control char', () => store.create({ ...base, tags: ['a\u0007b'] }, EN), 'bad_tag'],
        ['tag with an empty level', () => store.create({ ...base, tags: ['援藏//教育'] }, EN), 'bad_tag'],
        ['tag not a string', () => store.create({ ...base, tags: [42 as unknown as string] }, EN), 'bad_tag'],
        ['10,001-char note', () => store.create({ ...base, note: 'x'.repeat(10_001) }, EN), 'bad_note'],
        ['note with a lone surrogate', () => store.create({ ...base, note: 'a\ud800b' }, EN), 'bad_note'],
        ['bad colour', () => store.create({ ...base, colour: 'red' }, EN), 'bad_colour'],
        ['4-digit colour', () => store.create({ ...base, colour: '#abcd' }, EN), 'bad_colour'],
        ['missing document id', () => store.create({ ...base, docId: '' }, EN), 'bad_doc_id'],
      ];
      for (const [what, fn, code, status] of cases) {
        await expectUserError(fn, code, status ?? 400);
        expect(await rowCounts(), what).toEqual(before);
      }
      // The limits themselves are accepted.
      await store.create({ ...base, tags: ['援'.repeat(64)], note: 'x'.repeat(10_000), colour: '#A1B2C3' }, EN);
      expect((await rowCounts()).annotations).toBe(before.annotations + 1);
    });

    it('refuses bad updates and leaves the annotation as it was', async () => {
      const a = await store.create({ docId: EN_ID, ...range(EN, EN_QUOTE), tags: ['keep'], note: 'n' }, EN);
      const before = await rowCounts();
      await expectUserError(() => store.update(a.id, { note: 'fine', colour: '#12' }), 'bad_colour');
      await expectUserError(() => store.update(a.id, { note: 'fine', tags: ['x'.repeat(65)] }), 'bad_tag');
      await expectUserError(() => store.update(a.id, { note: 'y'.repeat(10_001) }), 'bad_note');
      await expectUserError(() => store.update(a.id, { start: a.end }, EN), 'bad_range');
      await expectUserError(() => store.update(a.id, { start: 0, end: 4, exact: 'nope' }, EN), 'quote_mismatch', 409);
      expect(await store.get(a.id)).toEqual(a);
      expect(await rowCounts()).toEqual(before);
    });
  });

  describe('tags', () => {
    const create = (quote: string, tags: string[]) => store.create({ docId: EN_ID, ...range(EN, quote), tags }, EN);

    it('are unique ignoring case and width; parents are created; counts include descendants', async () => {
      const a = await create(EN_QUOTE, ['援藏/教育', 'China']);
      const b = await create('Historical Institutionalism', ['援藏', 'CHINA', 'ｃｈｉｎａ', '援藏／教育']);
      expect(b.tags).toEqual(['China', '援藏', '援藏/教育']);
      const tags = Object.fromEntries((await store.listTags()).map((t) => [t.name, [t.count, t.totalCount]]));
      expect(tags).toEqual({ China: [2, 2], 援藏: [1, 2], '援藏/教育': [2, 2] });
      await expectUserError(() => store.createTag({ name: 'china' }), 'tag_exists', 409);
      const t = await store.createTag({ name: '干部/驻村', colour: '#0af', description: '驻村干部' });
      expect(t).toMatchObject({ name: '干部/驻村', colour: '#0af', description: '驻村干部', count: 0, totalCount: 0 });
      expect(await store.getTag('干部')).toMatchObject({ name: '干部', count: 0 });
      expect(a.tags).toEqual(['China', '援藏/教育']);
      await expectUserError(() => store.getTag('nope'), 'not_found', 404);
    });

    it('rename keeps every annotation and carries the children along', async () => {
      const a = await create(EN_QUOTE, ['援藏/教育/小学', '援藏']);
      const b = await create('Historical Institutionalism', ['援藏/教育']);
      const renamed = await store.updateTag('援藏', { name: '对口援藏', colour: '#f00' });
      expect(renamed).toMatchObject({ name: '对口援藏', colour: '#f00', count: 1, totalCount: 2 });
      expect((await store.listTags()).map((t) => t.name)).toEqual(['对口援藏', '对口援藏/教育', '对口援藏/教育/小学']);
      expect((await store.get(a.id))?.tags).toEqual(['对口援藏', '对口援藏/教育/小学']);
      expect((await store.get(b.id))?.tags).toEqual(['对口援藏/教育']);
      expect(await store.list({ tag: '对口援藏' })).toHaveLength(2);
      // Case-only rename.
      await store.updateTag('对口援藏/教育', { name: '对口援藏/Education' });
      await store.updateTag('对口援藏/education', { name: '对口援藏/EDUCATION' });
      expect((await store.get(b.id))?.tags).toEqual(['对口援藏/EDUCATION']);
      // Renaming onto an existing tag is refused (merge does that), nothing changes.
      await store.createTag({ name: 'other' });
      const before = await store.listTags();
      await expectUserError(() => store.updateTag('对口援藏', { name: 'OTHER' }), 'tag_exists', 409);
      await expectUserError(() => store.updateTag('对口援藏', { name: '对口援藏/sub' }), 'bad_tag');
      await expectUserError(() => store.updateTag('nope', { name: 'x' }), 'not_found', 404);
      expect(await store.listTags()).toEqual(before);
      // Renaming into another branch creates the new parent.
      await store.updateTag('对口援藏/EDUCATION', { name: '教育/援藏' });
      expect((await store.get(a.id))?.tags).toEqual(['对口援藏', '教育/援藏/小学']);
      expect(await store.getTag('教育')).toMatchObject({ count: 0, totalCount: 2 });
      // The new parent's spelling wins for its children.
      await store.updateTag('教育/援藏/小学', { name: 'PRIMARY/小学' });
      await store.createTag({ name: 'Schools' });
      expect((await store.updateTag('primary/小学', { name: 'schools/小学' })).name).toBe('Schools/小学');
    });

    it('merge moves annotations (deduplicated) and the subtree, then deletes the source', async () => {
      const a = await create(EN_QUOTE, ['cadres', '干部']);
      const b = await create('Historical Institutionalism', ['cadres/village', '干部/驻村']);
      const c = await create('Counterpart Support', ['cadres/county']);
      const target = await store.updateTag('Cadres', { mergeInto: '干部' });
      expect(target).toMatchObject({ name: '干部', count: 1, totalCount: 3 });
      expect((await store.get(a.id))?.tags).toEqual(['干部']);
      expect((await store.get(b.id))?.tags).toEqual(['干部/village', '干部/驻村']);
      expect((await store.get(c.id))?.tags).toEqual(['干部/county']);
      expect((await store.listTags()).map((t) => t.name).sort()).toEqual(['干部', '干部/county', '干部/village', '干部/驻村'].sort());
      expect((await rowCounts()).annotations).toBe(3);
      await expectUserError(() => store.updateTag('干部', { mergeInto: '干部/驻村' }), 'bad_tag');
      await expectUserError(() => store.updateTag('干部', { mergeInto: '干部' }), 'bad_tag');
      await expectUserError(() => store.updateTag('干部', { mergeInto: 'missing' }), 'not_found', 404);
      // A child merged into its parent.
      await store.updateTag('干部/驻村', { mergeInto: '干部' });
      expect((await store.get(b.id))?.tags).toEqual(['干部', '干部/village']);
    });

    it('delete is refused while in use or with children, allowed with detach', async () => {
      const a = await create(EN_QUOTE, ['援藏/教育', 'temp']);
      const before = await rowCounts();
      await expectUserError(() => store.deleteTag('temp'), 'tag_in_use', 409);
      await expectUserError(() => store.deleteTag('援藏'), 'tag_has_children', 409);
      await expectUserError(() => store.deleteTag('missing'), 'not_found', 404);
      expect(await rowCounts()).toEqual(before);
      expect(await store.deleteTag('TEMP', { detach: true })).toBe(1);
      expect((await store.get(a.id))?.tags).toEqual(['援藏/教育']);
      await store.createTag({ name: 'unused' });
      expect(await store.deleteTag('unused')).toBe(0);
      // The database refuses to drop a used tag even if the code forgot to check.
      const tagId = (await store.getTag('援藏/教育')).id;
      await expect(deleteTagRow(tagId)).rejects.toThrow(/FOREIGN KEY/i);
    });
  });

  describe('re-anchoring stored annotations', () => {
    it('re-anchors on a changed text, orphans what vanished, and retries orphans', async () => {
      const a = await store.create({ docId: ZH_ID, ...range(ZH, ZH_QUOTE), tags: ['援藏'] }, ZH);
      const gone = await store.create({ docId: ZH_ID, ...range(ZH, '一、中国特色对口支援机制的发展历程'), tags: [], note: '重要' }, ZH);
      const otherDoc = await store.create({ docId: EN_ID, ...range(EN, EN_QUOTE), tags: [] }, EN);

      const inserted = '编者按：本文新增一段。\n\n';
      const v2text = inserted + ZH.text.replace('一、中国特色对口支援机制的发展历程\n', '').replace('社会生产力', '社会生产力量');
      const v2 = { text: v2text, hash: textHash(v2text) };
      const counts = await store.reanchorDocument(ZH_ID, v2.text, v2.hash);
      expect(counts).toEqual({ checked: 2, exact: 0, quote: 0, fuzzy: 1, orphaned: 1 });
      const a2 = (await store.get(a.id)) as Annotation;
      expect(a2).toMatchObject({ status: 'anchored', anchorMethod: 'fuzzy', textHash: v2.hash });
      expect(a2.exact).toBe(v2.text.slice(a2.start, a2.end));
      expect(a2.exact).toContain('社会生产力量');
      expect(a2.updatedAt).toBe(a.updatedAt);
      const g2 = (await store.get(gone.id)) as Annotation;
      expect(g2).toMatchObject({
        status: 'orphaned',
        anchorMethod: 'orphaned',
        start: gone.start,
        exact: gone.exact,
        note: '重要',
        textHash: ZH.hash,
      });
      expect((await store.list({ orphaned: true })).map((x) => x.id)).toEqual([gone.id]);
      expect(await store.get(otherDoc.id)).toEqual(otherDoc);

      // Same text again: nothing to do but retry the orphan (still missing).
      expect(await store.reanchorDocument(ZH_ID, v2.text, v2.hash)).toEqual({ checked: 1, exact: 0, quote: 0, fuzzy: 0, orphaned: 1 });
      // The original text comes back: the orphan is found where it was.
      expect(await store.reanchorDocument(ZH_ID, ZH.text, ZH.hash)).toMatchObject({ checked: 2, exact: 1, orphaned: 0 });
      expect(await store.get(gone.id)).toMatchObject({ status: 'anchored', anchorMethod: 'exact', start: gone.start });
    });

    it('leaves an annotation whose range the researcher set while its re-anchoring was planned as they set it', async () => {
      const a = await store.create({ docId: ZH_ID, ...range(ZH, ZH_QUOTE), tags: [], note: '起点' }, ZH);
      const b = await store.create({ docId: EN_ID, ...range(EN, EN_QUOTE), tags: [] }, EN);
      // An edit inside the quote: re-anchoring it needs the approximate search, planned in a worker.
      const v2text = ZH.text.replace('社会生产力', '社会生产力量');
      const v2 = { text: v2text, hash: textHash(v2text) };
      const pending = store.reanchorDocument(ZH_ID, v2.text, v2.hash);
      // Meanwhile the researcher puts it on another sentence of the new text.
      const other = '1979年7月，中央批转了乌兰夫在全国边防工作会议上的报告';
      const mine = await store.update(a.id, { ...range(v2, other), exact: other }, v2);
      expect(await pending).toEqual({ checked: 0, exact: 0, quote: 0, fuzzy: 0, orphaned: 0 });
      expect(await store.get(a.id)).toEqual(mine);
      // The same while the other paper's annotation is orphaned: its note or tags may change, its orphaning stands.
      const gone = EN.text.replace(EN_QUOTE, '');
      const orphaning = store.reanchorDocument(EN_ID, gone, textHash(gone));
      await store.update(b.id, { note: 'written meanwhile' }, { text: gone, hash: textHash(gone) });
      expect(await orphaning).toMatchObject({ checked: 1, orphaned: 1 });
      expect(await store.get(b.id)).toMatchObject({ status: 'orphaned', note: 'written meanwhile', exact: EN_QUOTE });
    });

    it('orphanDocument keeps every annotation, and they come back with the document', async () => {
      const a = await store.create({ docId: EN_ID, ...range(EN, EN_QUOTE), tags: ['x'], note: 'keep me' }, EN);
      expect(await store.orphanDocument(EN_ID)).toBe(1);
      expect(await store.get(a.id)).toMatchObject({ status: 'orphaned', note: 'keep me', tags: ['x'], exact: EN_QUOTE });
      expect((await store.knownDocuments())[0]).toMatchObject({ id: EN_ID, removedAt: expect.any(String) });
      expect(await store.reanchorDocument(EN_ID, EN.text, EN.hash)).toMatchObject({ checked: 1, exact: 1 });
      expect(await store.get(a.id)).toMatchObject({ status: 'anchored', start: a.start, end: a.end });
      expect((await store.knownDocuments())[0]?.removedAt).toBeNull();
    });

    it('a manual range edit re-anchors an orphan', async () => {
      const a = await store.create({ docId: EN_ID, ...range(EN, EN_QUOTE), tags: [] }, EN);
      await store.orphanDocument(EN_ID);
      const r = range(EN, 'Historical Institutionalism');
      expect(await store.update(a.id, { ...r, exact: 'Historical Institutionalism' }, EN)).toMatchObject({
        status: 'anchored',
        anchorMethod: 'created',
        ...r,
      });
    });
  });
});

describe('concurrent writers', () => {
  /** Create `n` annotations from a separate Node process through the real store. */
  function childWriter(file: string, worker: number, n: number): Promise<void> {
    const code = `
      import { openDatabase } from './src/store/db.ts';
      import { AnnotationStore } from './src/store/annotations.ts';
      const doc = { text: ${JSON.stringify(EN.text)}, hash: ${JSON.stringify(EN.hash)} };
      const store = new AnnotationStore(openDatabase(${JSON.stringify(file)}));
      for (let i = 0; i < ${n}; i++) {
        const start = (i * 37 + ${worker}) % (doc.text.length - 40);
        store.create({ docId: ${JSON.stringify(EN_ID)}, start, end: start + 20, note: 'child ${worker} #' + i,
          tags: ['concurrent', 'worker/${worker}', 'shared/' + (i % 5)] }, doc);
        // Spread the writes over time as a researcher's are, so they interleave with the other
        // connections' however the machine schedules the processes (in a burst they could all
        // land while the test's own loop waits for a core, and nothing would be concurrent).
        await new Promise((r) => setTimeout(r, 1));
      }
      store.db.close();
    `;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
      });
      child.on('error', reject);
      child.on('exit', (status) => (status === 0 ? resolve() : reject(new Error(`writer ${worker} exited ${status}: ${err}`))));
    });
  }

  it('keeps every row from several connections and processes writing at once', async () => {
    const file = join(dir, 'data', 'duikou.db');
    const PER_CHILD = 200;
    let childrenDone = false;
    const children = Promise.all([1, 2, 3].map((w) => childWriter(file, w, PER_CHILD))).finally(() => {
      childrenDone = true;
    });
    // Meanwhile, three more connections in this process interleave their writes
    // until the children are done (and at least 150 of them).
    const conns = [openDatabase(file), openDatabase(file), openDatabase(file)];
    const stores = conns.map((c) => new AnnotationStore(c));
    const ids: string[] = [];
    let overlapped = 0; // writes made while the children were part-way through theirs
    for (let i = 0; i < 150 || !childrenDone; i++) {
      const s = stores[i % stores.length] as AnnotationStore;
      const start = (i * 53) % (ZH.text.length - 40);
      ids.push(s.create({ docId: ZH_ID, start, end: start + 10, tags: ['concurrent', `shared/${i % 5}`], note: `main #${i}` }, ZH).id);
      if (i % 25 === 0) (stores[(i + 1) % 3] as AnnotationStore).update(ids[0] as string, { note: `edited ${i}` });
      const fromChildren = s.list({ docId: EN_ID }).length;
      if (fromChildren > 0 && fromChildren < 3 * PER_CHILD) overlapped++;
      await new Promise((r) => setTimeout(r, 1)); // let the child processes' output events run
    }
    await children;
    expect(overlapped).toBeGreaterThan(10);

    expect(
      store
        .list({ docId: ZH_ID })
        .map((a) => a.id)
        .sort(),
    ).toEqual([...ids].sort());
    expect(store.list({ docId: EN_ID })).toHaveLength(3 * PER_CHILD);
    expect(store.list({ tag: 'concurrent' })).toHaveLength(ids.length + 3 * PER_CHILD);
    for (const w of [1, 2, 3]) expect(store.list({ tag: `worker/${w}` })).toHaveLength(PER_CHILD);
    // Tags created concurrently were not duplicated.
    expect(
      store
        .listTags()
        .filter((t) => t.name.startsWith('shared'))
        .map((t) => t.name),
    ).toEqual(['shared', 'shared/0', 'shared/1', 'shared/2', 'shared/3', 'shared/4']);
    expect(store.getTag('shared')).toMatchObject({ count: 0, totalCount: ids.length + 3 * PER_CHILD });
    for (const c of conns) {
      expect(c.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(c.pragma('foreign_key_check')).toEqual([]);
      c.close();
    }
  }, 60_000);
});

// In the table, the key columns stand after the note: reading them from the rows walks every long
// note's overflow pages. Listing keys reads the index of keys (migration 6) and never the rows.
describe('listing keys', () => {
  it('reads the index of keys alone, under every filter but the text', () => {
    const r = range(ZH, ZH_QUOTE);
    store.create({ docId: ZH_ID, ...r, tags: ['援藏/教育'], note: 'n'.repeat(9000) }, ZH);
    const statements: string[] = [];
    const prepare = db.prepare.bind(db);
    const spy = (sql: string) => {
      statements.push(sql);
      return prepare(sql);
    };
    (db as unknown as { prepare: typeof spy }).prepare = spy;
    try {
      for (const filter of [
        {},
        { viewer: 'owner' },
        { tag: '援藏' },
        { orphaned: false },
        { docId: ZH_ID },
        { viewer: 'someone', tag: '援藏', orphaned: false },
      ]) {
        statements.length = 0;
        expect(store.listKeys(filter), JSON.stringify(filter)).toHaveLength(1);
        const sql = statements.find((s) => s.includes('FROM annotations a'))!;
        const params = { docId: ZH_ID, status: 'anchored', viewer: 'someone', tagKey: '援藏' };
        const used = Object.fromEntries(Object.entries(params).filter(([k]) => sql.includes(`@${k}`)));
        const plan = (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(used) as { detail: string }[]).map((p) => p.detail);
        // The outer table `a` only through the covering index; never scanned nor looked up by row.
        const outer = plan.filter((d) => /\ba\b/.test(d) && !/\b(hx|rd|r|rc|at|t)\b/.test(d));
        expect(outer, `${JSON.stringify(filter)}: ${plan.join(' | ')}`).toEqual([
          expect.stringContaining('USING COVERING INDEX annotations_keys'),
        ]);
      }
    } finally {
      (db as unknown as { prepare: typeof prepare }).prepare = prepare;
    }
  });
});
