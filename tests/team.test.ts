/**
 * Coding as a team over real HTTP: who may do what on every route, and blind
 * rounds (a coder never receives another coder's annotations in an open
 * round's papers, through any API answer, page or export).
 */
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { type TestLibrary, startServerOnTestBackend } from './helpers/backends.js';
import type { TestServer } from './helpers/server.js';
import { paper } from './helpers/paper.js';

const TOKEN = 'team-token-for-scripts-0123456789';
const P1 = '对口支援是国家治理的重要方式。Counterpart support pairs provinces 𠀀援藏。\n\n第二段：援疆与教育。';
const P2 = '另一篇文献：对口支援与援疆。';
const PW: Record<string, string> = {
  wang: 'wang-owner-password',
  li: 'li-coder-password',
  zhang: 'zhang-coder-password',
  chen: 'chen-reader-password',
};

let library: TestLibrary;
let server: TestServer;
const cookie: Record<string, string> = {};

const doc = (id: string, text: string) => paper(id, text, 'zh', { hash: `h-${id}`, title: `Paper ${id}`, year: 2020 });

beforeAll(async () => {
  const engine = new Engine();
  engine.addDocument(doc('p1', P1));
  engine.addDocument(doc('p2', P2));
  const started = await startServerOnTestBackend(engine, { access: { auth: { token: TOKEN } } });
  server = started;
  library = started.library;
  const { users } = library.accounts;
  await users.add('wang', 'owner', PW.wang);
  await users.add('li', 'coder', PW.li);
  await users.add('zhang', 'coder', PW.zhang);
  await users.add('chen', 'reader', PW.chen);
  for (const name of Object.keys(PW)) {
    const r = await fetch(`${server.url}/login`, {
      method: 'POST',
      body: new URLSearchParams({ name, password: PW[name]! }),
      redirect: 'manual',
    });
    expect(r.status).toBe(303);
    cookie[name] = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
  }
});
afterAll(async () => {
  await server.close();
});

type Who = 'wang' | 'li' | 'zhang' | 'chen' | null;

async function call(who: Who, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = {};
  if (who) headers.cookie = cookie[who]!;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(server.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: 'manual' });
}
async function json(who: Who, method: string, path: string, body?: unknown) {
  const r = await call(who, method, path, body);
  return { status: r.status, body: (await r.json()) as any };
}
const range = (text: string, quote: string) => ({ start: text.indexOf(quote), end: text.indexOf(quote) + quote.length });

describe('roles on every route', () => {
  let own = ''; // li's annotation, for the write routes on one annotation

  beforeAll(async () => {
    const r = await json('li', 'POST', '/api/annotations', { docId: 'p2', ...range(P2, '援疆'), tags: ['援疆'] });
    expect(r.status).toBe(201);
    own = r.body.id;
    expect((await json('wang', 'POST', '/api/tags', { name: '码本/unused' })).status).toBe(201);
  });

  // [method, path, least role, body]. Reads are for every role, annotating for coders, the rest for the owner.
  const ROUTES: [string, string | (() => string), 'reader' | 'coder' | 'owner', unknown?][] = [
    ['GET', '/', 'reader'],
    ['GET', '/search?q=对口支援', 'reader'],
    ['GET', '/documents', 'reader'],
    ['GET', '/documents/p2', 'reader'],
    ['GET', '/annotations', 'reader'],
    ['GET', '/tags', 'reader'],
    ['GET', '/rounds', 'reader'],
    ['GET', '/api/search?q=对口支援', 'reader'],
    ['GET', '/api/status', 'reader'],
    ['GET', '/api/documents', 'reader'],
    ['GET', '/api/documents/p2', 'reader'],
    ['GET', '/api/annotations', 'reader'],
    ['GET', () => `/api/annotations/${own}`, 'reader'],
    ['GET', '/api/tags', 'reader'],
    ['GET', '/api/export?format=csv', 'reader'],
    ['GET', '/api/rounds', 'reader'],
    ['GET', '/concordance?q=对口支援', 'reader'],
    ['GET', '/api/concordance?q=对口支援', 'reader'],
    ['GET', '/api/collocates?q=对口支援', 'reader'],
    ['GET', '/dispersion?q=对口支援', 'reader'],
    ['GET', '/cooccurrence', 'reader'],
    ['GET', '/api/cooccurrence', 'reader'],
    ['POST', '/api/annotations', 'coder', { docId: 'p2', ...range(P2, '对口支援'), tags: ['新码'] }],
    ['PATCH', () => `/api/annotations/${own}`, 'coder', { note: '改' }],
    ['POST', '/api/tags', 'owner', { name: '码本/新' }],
    ['PATCH', '/api/tags/码本', 'owner', { description: 'codebook' }],
    ['DELETE', '/api/tags/码本%2Funused', 'owner'],
    ['GET', '/api/users', 'owner'],
    // Routes match whatever the letter case, and so must the roles.
    ['GET', '/API/users', 'owner'],
    ['GET', '/api/Users', 'owner'],
    ['GET', '/USERS', 'owner'],
    ['POST', '/api/users', 'owner', { name: 'new-coder', role: 'coder', password: 'new-coder-password' }],
    ['PATCH', '/api/users/new-coder', 'owner', { role: 'reader' }],
    // One coder is refused (400) for the owner too, so no round on p2 is left open for the tests below.
    ['POST', '/api/rounds', 'owner', { name: 'r', docIds: ['p2'], coders: ['li'] }],
    ['POST', '/api/rounds/999/close', 'owner'],
    ['POST', '/api/documents', 'owner'],
    ['PATCH', '/api/documents/p2', 'owner', { title: 'x' }],
    ['DELETE', '/api/documents/p2', 'owner'],
    ['POST', '/documents', 'owner'],
    ['POST', '/documents/p2/metadata', 'owner'],
    ['POST', '/documents/p2/remove', 'owner'],
    ['POST', '/rounds', 'owner'],
    ['POST', '/rounds/999/close', 'owner'],
    ['POST', '/tags/new', 'owner'],
    ['POST', '/tags/edit', 'owner'],
    ['POST', '/tags/merge', 'owner'],
    ['POST', '/tags/delete', 'owner'],
    ['DELETE', '/api/users/new-coder', 'owner'],
    ['POST', () => `/annotations/${own}`, 'coder'],
    ['DELETE', () => `/api/annotations/${own}`, 'coder'],
    ['POST', () => `/annotations/${own}/delete`, 'coder'],
  ];
  const RANK = { reader: 0, coder: 1, owner: 2 };
  const ROLE_OF = { chen: 'reader', li: 'coder', wang: 'owner' } as const;

  it.each(ROUTES)('%s %s needs %s', async (method, p, least, body) => {
    const path = typeof p === 'function' ? p() : p;
    const out = await call(null, method, path, body);
    // The API in any letter case answers as the API (Express routes /API/users to /api/users).
    if (path.toLowerCase().startsWith('/api/')) expect(out.status).toBe(401);
    else {
      expect(out.status).toBe(303);
      expect(out.headers.get('location')).toMatch(/^\/login\?next=/);
    }
    // The lower roles first: a write allowed to a role must not have run for a lower one.
    for (const who of ['chen', 'li', 'wang'] as const) {
      const r = await call(who, method, path, body);
      if (RANK[ROLE_OF[who]] >= RANK[least]) expect([401, 403], `${who} ${method} ${path}`).not.toContain(r.status);
      else expect(r.status, `${who} ${method} ${path}`).toBe(403);
    }
  });

  it('a coder changes only their own annotations; the owner any', async () => {
    const r = await json('li', 'POST', '/api/annotations', { docId: 'p2', ...range(P2, '另一篇'), tags: ['x'] });
    expect((await call('zhang', 'PATCH', `/api/annotations/${r.body.id}`, { note: 'mine now' })).status).toBe(403);
    expect((await call('zhang', 'DELETE', `/api/annotations/${r.body.id}`)).status).toBe(403);
    const edited = await json('wang', 'PATCH', `/api/annotations/${r.body.id}`, { note: 'owner note' });
    expect(edited.status).toBe(200);
    expect(edited.body.createdBy).toBe('li');
    expect(edited.body.updatedBy).toBe('wang');
    // the same through the card's forms: no form on another coder's card, and a posted one is refused
    const form = (who: Who, path: string) =>
      fetch(server.url + path, {
        method: 'POST',
        headers: { cookie: cookie[who!]!, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ tags: 'x', note: 'via the form' }).toString(),
        redirect: 'manual',
      });
    const cards = async (who: Who) => (await call(who, 'GET', '/annotations')).text();
    expect(await cards('zhang')).not.toContain(`action="/annotations/${r.body.id}"`);
    expect(await cards('chen')).not.toContain('class="card-form"');
    expect(await cards('li')).toContain(`action="/annotations/${r.body.id}"`);
    expect(await cards('wang')).toContain(`action="/annotations/${r.body.id}"`);
    expect((await form('zhang', `/annotations/${r.body.id}`)).status).toBe(403);
    expect((await form('zhang', `/annotations/${r.body.id}/delete`)).status).toBe(403);
    expect(await library.backend.get(r.body.id)).toMatchObject({ note: 'owner note' });
    expect((await form('li', `/annotations/${r.body.id}`)).status).toBe(303);
    expect(await library.backend.get(r.body.id)).toMatchObject({ note: 'via the form', updatedBy: 'li' });
  });
});

describe('a blind round', () => {
  let round = 0;
  let liId = '';
  let zhangId = '';
  let zhangOutside = '';
  const SECRET = 'zhang-note-in-round';

  beforeAll(async () => {
    const r = await json('wang', 'POST', '/api/rounds', { name: '第一轮 round 1', docIds: ['p1'], coders: ['li', 'zhang'] });
    expect(r.status).toBe(201);
    round = r.body.id;
    liId = (await json('li', 'POST', '/api/annotations', { docId: 'p1', ...range(P1, '对口支援是国家治理'), tags: ['援藏'] })).body.id;
    zhangId = (
      await json('zhang', 'POST', '/api/annotations', {
        docId: 'p1',
        ...range(P1, 'Counterpart support pairs'),
        tags: ['援藏', '教育/盲'],
        note: SECRET,
      })
    ).body.id;
    zhangOutside = (await json('zhang', 'POST', '/api/annotations', { docId: 'p2', ...range(P2, '对口支援'), note: 'outside' })).body.id;
  });

  const leaks = (text: string) => text.includes(zhangId) || text.includes(SECRET);

  async function analysisViewsHide() {
    const concordance = (who: Who) => json(who, 'GET', `/api/concordance?${new URLSearchParams({ q: 'tag:教育/盲 Counterpart' })}`);
    expect((await concordance('li')).body.total).toBe(0);
    expect((await concordance('wang')).body.total).toBe(1);
    expect((await json('li', 'GET', '/api/cooccurrence')).body.tags).not.toContain('教育/盲');
    expect((await json('wang', 'GET', '/api/cooccurrence')).body.tags).toContain('教育/盲');
  }

  it('never gives li zhang’s annotations in the round’s paper, through any API answer, page or export', async () => {
    const paths = [
      '/api/annotations',
      '/api/annotations?docId=p1',
      '/api/annotations?tag=援藏',
      '/api/search?q=对口支援',
      '/api/search?q=Counterpart',
      '/api/search?q=tag:援藏',
      '/api/tags',
      '/annotations',
      '/annotations?docId=p1',
      '/documents/p1',
      '/tags',
      '/rounds',
      '/api/export?format=csv',
      '/api/export?format=json',
      '/api/export?format=md',
    ];
    for (const p of paths) {
      const r = await call('li', 'GET', p);
      expect(r.status, p).toBe(200);
      const text = await r.text();
      expect(leaks(text), p).toBe(false);
    }
    for (const format of ['qdpx', 'docx']) {
      const zip = unzipSync(new Uint8Array(await (await call('li', 'GET', `/api/export?format=${format}`)).arrayBuffer()));
      const all = Object.values(zip)
        .map((b) => strFromU8(b))
        .join('\n');
      expect(leaks(all), format).toBe(false);
    }
    // The analysis views: a tag: filter and the co-occurrence table count only li's.
    await analysisViewsHide();
    // Fetching, editing or deleting it by id: as if it did not exist.
    expect((await call('li', 'GET', `/api/annotations/${zhangId}`)).status).toBe(404);
    expect((await call('li', 'PATCH', `/api/annotations/${zhangId}`, { note: 'x' })).status).toBe(404);
    // Tag counts: li's own only.
    const tags = (await json('li', 'GET', '/api/tags')).body.tags as { name: string; count: number }[];
    expect(tags.find((t) => t.name === '援藏')!.count).toBe(1);
    expect(tags.find((t) => t.name === '教育/盲')!.count).toBe(0);
    // The agreement and the comparison wait for the owner to close the round.
    expect((await call('li', 'GET', `/api/rounds/${round}/agreement`)).status).toBe(403);
    expect((await call('li', 'GET', `/rounds/${round}/compare`)).status).toBe(403);
    // A round is named by its number as written: `abc` or `1e3` names none (not NaN, not round 1000).
    for (const id of ['abc', '1e3', '0', '-1', `${round}.0`]) {
      const r = await json('wang', 'GET', `/api/rounds/${id}/agreement`);
      expect(r.status, id).toBe(404);
      expect(r.body.error.message, id).toContain(`"${id}"`);
    }
  });

  it('is not hiding what it should not: li’s own, zhang’s outside the round, and all of it for the owner', async () => {
    const li = (await json('li', 'GET', '/api/annotations')).body.annotations.map((a: { id: string }) => a.id);
    expect(li).toContain(liId);
    expect(li).toContain(zhangOutside);
    const doc = await (await call('li', 'GET', '/documents/p1')).text();
    expect(doc).toContain(liId);
    const owner = (await json('wang', 'GET', '/api/annotations?docId=p1')).body.annotations.map((a: { id: string }) => a.id);
    expect(owner).toEqual(expect.arrayContaining([liId, zhangId]));
    // Zhang is blind the other way round.
    expect(await (await call('zhang', 'GET', '/documents/p1')).text()).not.toContain(liId);
  });

  it('once the owner closes it, everyone sees all, and the agreement and comparison open', async () => {
    expect((await call('li', 'POST', `/api/rounds/${round}/close`)).status).toBe(403);
    expect((await json('wang', 'POST', `/api/rounds/${round}/close`)).body.status).toBe('closed');
    const li = (await json('li', 'GET', '/api/annotations?docId=p1')).body.annotations.map((a: { id: string }) => a.id);
    expect(li).toEqual(expect.arrayContaining([liId, zhangId]));
    const table = await json('chen', 'GET', `/api/rounds/${round}/agreement?unit=characters`);
    expect(table.status).toBe(200);
    expect(table.body.unit).toBe('characters');
    const yuanzang = table.body.rows.find((r: { tag: string }) => r.tag === '援藏');
    expect(yuanzang.coded).toEqual({ li: [...'对口支援是国家治理'].length, zhang: 'Counterpart support pairs'.length });
    expect(yuanzang.kappa).toBeLessThan(0); // no overlap at all: worse than chance
    const bytes = Buffer.from(await (await call('chen', 'GET', `/api/rounds/${round}/agreement?unit=passages&format=csv`)).arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]); // BOM: Excel reads it as UTF-8
    const csv = bytes.subarray(3).toString('utf8');
    expect(csv.split('\r\n')[0]).toBe('round,unit,tag,units,coded by li,coded by zhang,percent agreement,cohen kappa,krippendorff alpha');
    expect(csv).toContain('第一轮 round 1,passages,援藏,');
    const compare = await (await call('chen', 'GET', `/rounds/${round}/compare?doc=p1`)).text();
    expect(compare).toContain('hl-c2');
    expect(compare).toContain('hl-c3');
    expect(compare).toMatch(/<ol class="disagreements"[\s\S]*Counterpart support pairs[\s\S]*only zhang/);
  });

  it('after discussion the owner accepts one coder’s annotation or merges overlapping ones, keeping who made what', async () => {
    const overlap = (
      await json('zhang', 'POST', '/api/annotations', { docId: 'p1', ...range(P1, '国家治理的重要方式'), tags: ['治理'], note: 'z' })
    ).body.id;
    expect((await call('li', 'POST', '/api/annotations/merge', { ids: [liId, overlap] })).status).toBe(403);
    expect((await call('li', 'POST', `/api/annotations/${liId}/accept`)).status).toBe(403);
    const accepted = await json('wang', 'POST', `/api/annotations/${liId}/accept`);
    expect(accepted.status).toBe(201);
    expect(accepted.body).toMatchObject({ exact: '对口支援是国家治理', createdBy: 'wang', tags: ['援藏'] });
    expect(accepted.body.mergedFrom).toEqual([expect.objectContaining({ id: liId, coder: 'li', exact: '对口支援是国家治理' })]);
    const merged = await json('wang', 'POST', '/api/annotations/merge', { ids: [overlap, liId] });
    expect(merged.status).toBe(201);
    expect(merged.body.exact).toBe('对口支援是国家治理的重要方式');
    expect(merged.body.tags).toEqual(['援藏', '治理']);
    expect(merged.body.note).toBe('zhang: z');
    expect(merged.body.mergedFrom.map((m: { coder: string }) => m.coder)).toEqual(['li', 'zhang']);
    // The coders' own stay, and the backup keeps who made what.
    expect((await call('wang', 'GET', `/api/annotations/${overlap}`)).status).toBe(200);
    const backup = await (await call('wang', 'GET', '/api/export?format=json')).text();
    expect(backup).toContain('"duikou:mergedFrom"');
    // Annotations that do not overlap are not merged into one.
    const apart = await json('wang', 'POST', '/api/annotations/merge', { ids: [liId, zhangId] });
    expect(apart.status).toBe(400);
    expect(apart.body.error.code).toBe('bad_merge');
    // The comparison view lists the group's annotation with its coders.
    const compare = await (await call('wang', 'GET', `/rounds/${round}/compare?doc=p1`)).text();
    expect(compare).toMatch(/<ul class="group"[\s\S]*from li \+ zhang/);
  });
});

describe('round names', () => {
  // A NUL cannot be stored by the lab server's PostgreSQL: refused as a mistake on both backends, before anything is written.
  it.each([
    ['a NUL', 'round\u00001'],
    ['a line feed', 'round\n1'],
    ['an escape', 'round\u001b[31m'],
  ])('refuses a name holding %s', async (_what, name) => {
    const before = (await json('wang', 'GET', '/api/rounds')).body.rounds.length;
    const r = await json('wang', 'POST', '/api/rounds', { name, docIds: ['p2'], coders: ['li', 'zhang'] });
    expect([r.status, r.body.error.code]).toEqual([400, 'bad_round']);
    expect((await json('wang', 'GET', '/api/rounds')).body.rounds.length).toBe(before);
  });
});

describe('rounds closed twice at once', () => {
  it('closes once: the other owner is told it is closed, and a round that does not exist is a 404', async () => {
    const r = await json('wang', 'POST', '/api/rounds', { name: 'quick', docIds: ['p2'], coders: ['li', 'zhang'] });
    expect(r.status).toBe(201);
    const [x, y] = await Promise.all([
      json('wang', 'POST', `/api/rounds/${r.body.id}/close`),
      json('wang', 'POST', `/api/rounds/${r.body.id}/close`),
    ]);
    expect([x.status, y.status].sort()).toEqual([200, 409]);
    expect([x, y].find((o) => o.status === 409)!.body.error.code).toBe('round_closed');
    expect((await json('li', 'GET', '/api/rounds')).body.rounds.find((o: { id: number }) => o.id === r.body.id).status).toBe('closed');
    for (const id of ['999999', '99999999999', 'x'])
      expect((await call('wang', 'GET', `/api/rounds/${id}/agreement`)).status, id).toBe(404);
  });
});
