import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import type { Engine } from '../src/backends/embedded/engine.js';
import { type TestLibrary, startServerOnTestBackend } from './helpers/backends.js';
import type { TestServer } from './helpers/server.js';
import { SAMPLE } from './helpers/sample.js';
import { MAX_NOTE_LENGTH } from '../src/store/annotation-rules.js';
import type { Annotation } from '../src/store/annotation-types.js';

let engine: Engine;
let library: TestLibrary;
let server: TestServer;

const ZH = 'wang-duikou-zhiyuan-mechanism';
const EN = 'wang-counterpart-support-policy';

beforeAll(async () => {
  engine = await openCorpus(SAMPLE);
  const started = await startServerOnTestBackend(engine);
  server = started;
  library = started.library;
});
afterAll(() => server.close());

async function call(method: string, path: string, body?: unknown, raw?: string) {
  const res = await fetch(server.url + path, {
    method,
    headers: body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {},
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** Offsets of a sentence of a corpus paper, found in its text. */
function range(docId: string, quote: string) {
  const text = engine.requireDocument(docId).text;
  const start = text.indexOf(quote);
  if (start < 0) throw new Error(`quote not in ${docId}`);
  return { docId, start, end: start + quote.length };
}

const count = () => library.count('annotations');

describe('annotations API', () => {
  it('creates, reads, updates and deletes an annotation on a Chinese sentence', async () => {
    const r = range(ZH, '对口支援是中国特色国家治理的重要方式和机制');
    const created = await call('POST', '/api/annotations', {
      ...r,
      exact: '对口支援是中国特色国家治理的重要方式和机制',
      tags: ['援藏', '援藏/教育'],
      note: '定义',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      ...r,
      exact: '对口支援是中国特色国家治理的重要方式和机制',
      note: '定义',
      tags: ['援藏', '援藏/教育'],
    });
    expect(created.body.prefix).toBe(engine.requireDocument(ZH).text.slice(r.start - created.body.prefix.length, r.start));
    const id = created.body.id;

    expect((await call('GET', `/api/annotations/${id}`)).body.note).toBe('定义');
    const patched = await call('PATCH', `/api/annotations/${id}`, { note: 'definition 定义', colour: '#88ccff' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ note: 'definition 定义', colour: '#88ccff' });

    // tag: includes children
    const byParent = await call('GET', `/api/annotations?tag=${encodeURIComponent('援藏')}`);
    expect(byParent.body.annotations.map((a: any) => a.id)).toContain(id);

    // search learns tag: and lists overlapping annotations
    const s = await call('GET', `/api/search?q=${encodeURIComponent('tag:援藏 对口支援')}`);
    expect(s.status).toBe(200);
    expect(s.body.total).toBeGreaterThan(0);
    expect(s.body.hits.every((h: any) => h.annotations.some((a: any) => a.id === id))).toBe(true);
    // Each with its tags, colour and note, in the hits and in the hits grouped by paper.
    const listed = { id, start: r.start, end: r.end, tags: ['援藏', '援藏/教育'], colour: '#88ccff', note: 'definition 定义' };
    expect(s.body.hits[0].annotations.find((a: any) => a.id === id)).toEqual(listed);
    const grouped = await call('GET', `/api/search?q=${encodeURIComponent('tag:援藏 对口支援')}&group=paper`);
    expect(grouped.body.groups[0].hits[0].annotations.find((a: any) => a.id === id)).toEqual(listed);
    const n = await call('GET', `/api/search?q=${encodeURIComponent('note:definition')}`);
    expect(n.body.hits.map((h: any) => h.docId)).toContain(ZH);

    expect((await call('DELETE', `/api/annotations/${id}`)).status).toBe(200);
    expect((await call('GET', `/api/annotations/${id}`)).status).toBe(404);
  });

  it('lists the annotations of near matches too', async () => {
    const quote = '武汉新冠肺炎疫情防控阻击战';
    const r = range(ZH, quote);
    const created = await call('POST', '/api/annotations', { ...r, exact: quote, tags: ['疫情'] });
    expect(created.status).toBe(201);
    const s = await call('GET', `/api/search?q=${encodeURIComponent('新冠疫情')}`);
    const near = s.body.near.find((h: any) => h.text.includes(quote));
    expect(near.annotations.map((a: any) => a.id)).toEqual([created.body.id]);
    expect((await call('DELETE', `/api/annotations/${created.body.id}`)).status).toBe(200);
  });

  it('annotates an English sentence across a page break', async () => {
    const text = engine.requireDocument(EN).text;
    const start = text.indexOf('with Chinese characteristics, counterpart');
    const end = text.indexOf('support has played a key role') + 'support has played a key role'.length;
    const r = await call('POST', '/api/annotations', { docId: EN, start, end, tags: ['path dependence'] });
    expect(r.status).toBe(201);
    expect(r.body.exact).toBe(text.slice(start, end));
  });

  it.each([
    ['an unknown document', () => ({ docId: 'nope', start: 0, end: 1 }), 400, 'unknown_document'],
    ['start ≥ end', () => ({ ...range(EN, 'counterpart'), end: range(EN, 'counterpart').start }), 400, 'bad_range'],
    ['an offset past the end', () => ({ docId: EN, start: 0, end: 10_000_000 }), 400, 'bad_range'],
    ['a negative offset', () => ({ docId: EN, start: -1, end: 5 }), 400, 'bad_field'],
    ['a fractional offset', () => ({ docId: EN, start: 1.5, end: 5 }), 400, 'bad_field'],
    ['an offset as a string', () => ({ docId: EN, start: '1', end: 5 }), 400, 'bad_field'],
    ['a quote that does not match', () => ({ ...range(EN, 'counterpart'), exact: 'something else' }), 409, 'quote_mismatch'],
    ['an empty tag', () => ({ ...range(EN, 'counterpart'), tags: ['  '] }), 400, 'bad_tag'],
    ['a 65-character tag', () => ({ ...range(EN, 'counterpart'), tags: ['援'.repeat(65)] }), 400, 'bad_tag'],
    ['a tag that is not a string', () => ({ ...range(EN, 'counterpart'), tags: [42] }), 400, 'bad_field'],
    ['a note over 10,000 characters', () => ({ ...range(EN, 'counterpart'), note: 'n'.repeat(10_001) }), 400, 'bad_note'],
    ['a note with a NUL character', () => ({ ...range(EN, 'counterpart'), note: 'before\u0000after 𠀀' }), 400, 'bad_note'],
    ['a note over twice as many UTF-16 units', () => ({ ...range(EN, 'counterpart'), note: 'n'.repeat(20_001) }), 400, 'bad_field'],
    ['a bad colour', () => ({ ...range(EN, 'counterpart'), colour: 'url(x)' }), 400, 'bad_colour'],
    ['an unknown field', () => ({ ...range(EN, 'counterpart'), owner: 'me' }), 400, 'bad_field'],
  ])('rejects %s without writing anything', async (_name, body, status, code) => {
    const before = await count();
    const r = await call('POST', '/api/annotations', body());
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(r.body.error.message).toMatch(/\S/);
    expect(await count()).toBe(before);
  });

  it.each([
    ['a body that is not JSON', '{"docId": '],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"hello"'],
  ])('rejects %s with 400', async (_name, raw) => {
    const before = await count();
    const r = await call('POST', '/api/annotations', undefined, raw);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toMatch(/bad_/);
    expect(await count()).toBe(before);
  });

  it('rejects a body over 1 MB with 413', async () => {
    const r = await call('POST', '/api/annotations', { ...range(EN, 'counterpart'), note: 'x'.repeat(1_100_000) });
    expect(r.status).toBe(413);
  });

  it('counts a note in characters, outside the BMP too, the same on creating and on editing', async () => {
    // Characters as a researcher counts them: 😀 and 𠀀 are one each, two UTF-16 units each.
    const full = '😀𠀀'.repeat(MAX_NOTE_LENGTH / 2);
    const created = await call('POST', '/api/annotations', { ...range(EN, 'counterpart'), note: full });
    expect(created.status).toBe(201);
    expect(created.body.note).toBe(full);
    const over = await call('PATCH', `/api/annotations/${created.body.id}`, { note: `${full}字` });
    expect(over.status).toBe(400);
    expect(over.body.error.code).toBe('bad_note');
    expect((await call('POST', '/api/annotations', { ...range(EN, 'counterpart'), note: `${full}a` })).body.error.code).toBe('bad_note');
    expect((await call('DELETE', `/api/annotations/${created.body.id}`)).status).toBe(200);
  });

  // PostgreSQL refuses a NUL in any text it is sent: a 400 there (where the embedded store finds nothing), never a 500.
  it('answers ids, filters and fields holding a NUL character as a mistake, on both backends', async () => {
    const before = await count();
    const tagged = await call('POST', '/api/annotations', { ...range(EN, 'counterpart'), tags: ['nul-test'] });
    expect(tagged.status).toBe(201);
    for (const [method, path, body] of [
      ['GET', '/api/annotations/a%00b', undefined],
      ['PATCH', '/api/annotations/a%00b', { note: 'x' }],
      ['DELETE', '/api/annotations/a%00b', undefined],
      ['GET', '/api/annotations?docId=a%00b', undefined],
      ['GET', '/api/annotations?tag=a%00b', undefined],
      ['GET', `/api/search?q=${encodeURIComponent('对口支援')}&doc=%00`, undefined],
      ['PATCH', `/api/tags/${encodeURIComponent('nul-test')}`, { description: 'a\u0000b' }],
      ['POST', '/api/annotations/merge', { ids: ['a\u0000b', tagged.body.id] }],
    ] as const) {
      const r = await call(method, path, body);
      expect([200, 400, 404], `${method} ${path}`).toContain(r.status);
      if (r.status !== 200) expect(r.body.error.code, `${method} ${path}`).not.toBe('internal_error');
    }
    // Where the embedded store could keep the NUL, it is refused as the lab server must: one answer on both.
    const description = await call('PATCH', `/api/tags/${encodeURIComponent('nul-test')}`, { description: 'a\u0000b' });
    expect([description.status, description.body.error?.code]).toEqual([400, 'bad_description']);
    const created = await call('POST', '/api/tags', { name: 'nul-new', description: 'a\u0000b' });
    expect([created.status, created.body.error?.code]).toEqual([400, 'bad_description']);
    expect((await call('DELETE', `/api/annotations/${tagged.body.id}`)).status).toBe(200);
    expect(await count()).toBe(before);
  });

  // A page at a time, so thousands of long notes are never read and sent at once; the pages together are the list.
  it('answers the list a page at a time, in its order, on both backends', async () => {
    const text = engine.requireDocument(EN).text;
    // Seven annotations on the first words of seven sentences; two carry the tag, three the note's word.
    const sentences = text.split('. ').slice(1, 8);
    const ids: string[] = [];
    for (const [i, sentence] of sentences.entries()) {
      const word = sentence.trim().split(' ')[0]!;
      const start = text.indexOf(sentence) + sentence.indexOf(word);
      const r = await call('POST', '/api/annotations', {
        docId: EN,
        start,
        end: start + word.length,
        tags: i % 3 === 0 ? ['paging'] : [],
        note: i % 2 === 0 ? `PaGing note ${i}` : '',
      });
      expect(r.status).toBe(201);
      ids.push(r.body.id);
    }
    for (const filter of [`docId=${EN}`, 'tag=paging', 'q=PAGING', `docId=${EN}&q=paging`]) {
      const whole = await call('GET', `/api/annotations?${filter}&limit=500`);
      expect(whole.status).toBe(200);
      const pages: string[] = [];
      let next: number | null = 0;
      let turns = 0;
      while (next !== null) {
        const page = await call('GET', `/api/annotations?${filter}&limit=2&offset=${next}`);
        expect(page.body, filter).toMatchObject({ total: whole.body.total, offset: next, limit: 2 });
        expect(page.body.annotations.length).toBeLessThanOrEqual(2);
        pages.push(...page.body.annotations.map((a: { id: string }) => a.id));
        next = page.body.next;
        expect(++turns).toBeLessThan(20);
      }
      expect(pages, filter).toEqual(whole.body.annotations.map((a: { id: string }) => a.id));
      expect(whole.body.total).toBe(whole.body.annotations.length);
      expect(whole.body.next).toBeNull();
    }
    expect((await call('GET', '/api/annotations?tag=paging&limit=500')).body.total).toBe(3);
    expect((await call('GET', '/api/annotations?q=paging')).body.total).toBe(4);
    // Past the end: an empty page, the total still counted.
    const past = await call('GET', `/api/annotations?docId=${EN}&offset=500`);
    expect(past.body.annotations).toEqual([]);
    expect(past.body.next).toBeNull();
    expect(past.body.total).toBeGreaterThanOrEqual(7);
    for (const bad of ['limit=0', 'limit=501', 'offset=-1', 'limit=ten']) {
      const r = await call('GET', `/api/annotations?${bad}`);
      expect([r.status, r.body.error.code], bad).toEqual([400, 'bad_parameter']);
    }
    for (const id of ids) expect((await call('DELETE', `/api/annotations/${id}`)).status).toBe(200);
  });

  // What the annotations page orders and counts: every annotation's key, its note and quote read only for the page shown.
  it('lists keys in the list order with the list fields but the quotes and notes, and reads only the annotations asked for, on both backends', async () => {
    const text = engine.requireDocument(EN).text;
    const words = ['support', 'policy', 'China', 'regional'];
    const made: string[] = [];
    for (const [i, word] of words.entries()) {
      const start = text.indexOf(word);
      const r = await call('POST', '/api/annotations', {
        docId: EN,
        start,
        end: start + word.length,
        tags: i % 2 === 0 ? ['keys/even'] : ['keys'],
        note: `Keyed 𠀀 note ${i}`,
      });
      expect(r.status).toBe(201);
      made.push(r.body.id);
    }
    const store = library.backend;
    const fields = ['id', 'docId', 'start', 'end', 'colour', 'tags', 'createdAt', 'updatedAt', 'textHash', 'status', 'createdBy'] as const;
    const keyOf = (a: Annotation) => Object.fromEntries(fields.map((f) => [f, a[f]]));
    for (const filter of [
      {},
      { docId: EN },
      { tag: 'keys' },
      { tag: 'keys/even' },
      { q: 'KEYED 𠀀' },
      { orphaned: false },
      { viewer: 'owner', tag: 'keys' },
    ]) {
      const keys = await store.listKeys(filter);
      expect(keys, JSON.stringify(filter)).toEqual((await store.list(filter)).map(keyOf));
      for (const k of keys) expect(Object.keys(k).sort()).toEqual([...fields].sort());
    }
    expect((await store.listKeys({ tag: 'keys' })).map((k) => k.id).sort()).toEqual([...made].sort());
    expect((await store.listKeys({ q: 'keyed 𠀀 note 3' })).map((k) => k.id)).toEqual([made[3]]);
    // `ids`: those annotations, in the list order, with the other criteria still applied.
    const two = [made[2]!, made[0]!];
    expect((await store.list({ ids: two })).map((a) => a.id)).toEqual(
      (await store.list({ tag: 'keys' })).map((a) => a.id).filter((id) => two.includes(id)),
    );
    const even = await store.list({ ids: two, tag: 'keys/even' });
    expect(even).toEqual(await store.list({ tag: 'keys/even' }));
    expect(even.map((a) => a.note).sort()).toEqual(['Keyed 𠀀 note 0', 'Keyed 𠀀 note 2']);
    expect(await store.list({ ids: [made[1]!], tag: 'keys/even' })).toEqual([]);
    expect(await store.list({ ids: [] })).toEqual([]);
    for (const id of made) expect((await call('DELETE', `/api/annotations/${id}`)).status).toBe(200);
  });

  it('answers 100 annotations when no limit is asked for, and says where the next page starts', async () => {
    const text = engine.requireDocument(ZH).text;
    const at = text.indexOf('对口支援');
    const before = (await call('GET', '/api/annotations?limit=500')).body.total as number;
    const made: string[] = [];
    for (let i = 0; made.length + before < 101; i++) {
      const r = await call('POST', '/api/annotations', { docId: ZH, start: at, end: at + 4, note: `n${i}` });
      expect(r.status).toBe(201);
      made.push(r.body.id);
    }
    const first = await call('GET', '/api/annotations');
    expect(first.body).toMatchObject({ total: before + made.length, offset: 0, limit: 100, next: 100 });
    expect(first.body.annotations).toHaveLength(100);
    const rest = await call('GET', '/api/annotations?offset=100');
    expect(rest.body.annotations).toHaveLength(before + made.length - 100);
    for (const id of made) expect((await call('DELETE', `/api/annotations/${id}`)).status).toBe(200);
  });

  // The embedded store once kept a NUL in notes and tag descriptions: a backup holding one restores on
  // both backends, each NUL read as U+FFFD (as the REFI-QDA export writes it), the rest of the text kept.
  it('restores a backup whose note and tag description hold a NUL', async () => {
    const made = await call('POST', '/api/annotations', { ...range(EN, 'counterpart'), tags: ['nul-backup'] });
    expect(made.status).toBe(201);
    const { id: _id, title: _t, section: _s, page: _p, quote: _q, ...stored } = made.body;
    const result = await library.backend.restore({
      annotations: [{ ...stored, id: 'restored-with-nul', note: 'before\u0000after 𠀀' }],
      tags: [{ name: 'nul-backup', colour: null, description: 'aid\u0000援藏' }],
    });
    expect(result).toEqual({ added: 1, skipped: 0 });
    expect((await call('GET', '/api/annotations/restored-with-nul')).body.note).toBe('before\uFFFDafter 𠀀');
    expect((await library.backend.getTag('nul-backup')).description).toBe('aid\uFFFD援藏');
    for (const id of [made.body.id, 'restored-with-nul']) expect((await call('DELETE', `/api/annotations/${id}`)).status).toBe(200);
  });

  it('404s an unknown annotation on PATCH and DELETE', async () => {
    expect((await call('PATCH', '/api/annotations/nope', { note: 'x' })).status).toBe(404);
    expect((await call('DELETE', '/api/annotations/nope')).status).toBe(404);
  });
});

describe('tags API', () => {
  it('lists with counts, renames, merges and refuses to delete a tag in use', async () => {
    const a = await call('POST', '/api/annotations', { ...range(EN, 'historical institutionalism'), tags: ['干部', 'Cadres'] });
    expect(a.status).toBe(201);
    // Tag names are unique ignoring case: "Cadres" and "cadres" are one tag.
    const b = await call('POST', '/api/annotations', { ...range(EN, 'path dependence'), tags: ['cadres'] });
    expect(b.body.tags).toEqual(['Cadres']);

    const tags = (await call('GET', '/api/tags')).body.tags;
    expect(tags.find((t: any) => t.name === 'Cadres').count).toBe(2);

    const renamed = await call('PATCH', `/api/tags/Cadres`, { name: 'cadres (官员)', description: 'officials' });
    expect(renamed.status).toBe(200);
    expect((await call('GET', `/api/annotations/${b.body.id}`)).body.tags).toEqual(['cadres (官员)']);

    const merged = await call('PATCH', `/api/tags/${encodeURIComponent('cadres (官员)')}`, { mergeInto: '干部' });
    expect(merged.status).toBe(200);
    expect((await call('GET', `/api/annotations/${a.body.id}`)).body.tags).toEqual(['干部']);
    expect((await call('GET', `/api/annotations/${b.body.id}`)).body.tags).toEqual(['干部']);

    const refused = await call('DELETE', `/api/tags/${encodeURIComponent('干部')}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('tag_in_use');
    const detached = await call('DELETE', `/api/tags/${encodeURIComponent('干部')}?detach=1`);
    expect(detached.status).toBe(200);
    expect((await call('GET', `/api/annotations/${a.body.id}`)).body.tags).toEqual([]);
    expect((await call('GET', `/api/annotations/${a.body.id}`)).status).toBe(200);
  });

  it('lists tags in pinyin order, each with its pinyin and initials', async () => {
    for (const name of ['拼音/治理', '拼音/安徽', '拼音/Beijing', '拼音/北京'])
      expect((await call('POST', '/api/tags', { name })).status).toBe(201);
    const tags = (await call('GET', '/api/tags')).body.tags as { name: string; pinyin: string; initials: string }[];
    const mine = tags.filter((t) => t.name.startsWith('拼音'));
    // the parent first, then 安徽 an < 北京 bei < Beijing < 治理 zhi
    expect(mine.map((t) => t.name)).toEqual(['拼音', '拼音/安徽', '拼音/北京', '拼音/Beijing', '拼音/治理']);
    expect(mine[1]).toMatchObject({ pinyin: 'pinyinanhui', initials: 'pyah' });
    expect((await call('POST', '/api/tags', { name: 'latin only' })).status).toBe(201);
    const latin = ((await call('GET', '/api/tags')).body.tags as { name: string }[]).find((t) => t.name === 'latin only');
    expect(latin).toMatchObject({ pinyin: '', initials: '' });
  });

  it('creates a tag and rejects bad tag bodies', async () => {
    expect((await call('POST', '/api/tags', { name: '援疆', colour: '#4caf50', description: 'aid to Xinjiang' })).status).toBe(201);
    expect((await call('POST', '/api/tags', { name: '援疆' })).status).toBe(409);
    expect((await call('POST', '/api/tags', { name: '' })).status).toBe(400);
    expect((await call('POST', '/api/tags', { name: 'x', size: 3 })).status).toBe(400);
    expect((await call('PATCH', '/api/tags/nope', { colour: '#000' })).status).toBe(404);
  });

  // A level "." or ".." would make a tag the Tags page cannot reach: fetch('/api/tags/..') asks for /api/.
  const unmanageable = ['.', '..', '援藏/..', './援藏', '援藏/./教育', '．．', '‥', '/援藏', '援藏/', '援藏//教育', '℅/x', '\u200b'];
  it.each(unmanageable)('refuses the tag %j over the API: as a tag, an annotation tag and a rename', async (name) => {
    const before = await count();
    const tagsBefore = (await call('GET', '/api/tags')).body.tags.length;
    const created = await call('POST', '/api/tags', { name });
    expect(created.status).toBe(400);
    expect(created.body.error.code).toBe('bad_tag');
    const annotated = await call('POST', '/api/annotations', { ...range(EN, 'counterpart'), tags: [name] });
    expect(annotated.status).toBe(400);
    expect(annotated.body.error.code).toBe('bad_tag');
    expect(await count()).toBe(before);
    await call('POST', '/api/tags', { name: 'to-rename' });
    const renamed = await call('PATCH', '/api/tags/to-rename', { name });
    expect(renamed.status).toBe(400);
    expect(renamed.body.error.code).toBe('bad_tag');
    await call('DELETE', '/api/tags/to-rename');
    expect((await call('GET', '/api/tags')).body.tags.length).toBe(tagsBefore);
  });

  it('still accepts dots inside a level, and a tag made before the rule can be renamed away', async () => {
    expect((await call('POST', '/api/tags', { name: '...' })).status).toBe(201);
    expect((await call('POST', '/api/tags', { name: 'v1.2/.x' })).status).toBe(201);
    // A tag stored by an older duikou: lookups find it, so it can be renamed (here via its key, as a script would).
    await library.exec(
      "INSERT INTO tags (name, name_key, colour, description, created_at) VALUES ('..', '..', NULL, '', '2026-01-01T00:00:00.000Z')",
    );
    expect((await library.backend.listTags()).some((t) => t.name === '..')).toBe(true);
    expect((await library.backend.updateTag('..', { name: 'dots' })).name).toBe('dots');
  });
});
