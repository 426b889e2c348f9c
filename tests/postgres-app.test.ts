/**
 * The web app served from PostgreSQL (`npm start` with DUIKOU_DATABASE_URL):
 * real server processes on ephemeral ports over a real database. Search,
 * annotations, the reader and exports answer as in the embedded mode; what
 * the lab server lacks answers 501 naming it; two instances share one
 * library, and killing the indexing one hands the indexing to the other.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openCorpus } from '../src/backends/embedded/corpus.js';
import { parseQuery } from '../src/pipeline/query.js';
import { type ServerProcess, runCli, startServerProcess, stopProcess } from './helpers/process.js';
import { type TestDatabase, createTestDatabase, testDatabaseUrl } from './helpers/postgres.js';

const pgServer = testDatabaseUrl();
const PHRASE = '对口支援';

interface Instance extends ServerProcess {
  get(path: string): Promise<Response>;
  json<T = Record<string, unknown>>(path: string, init?: RequestInit): Promise<T>;
}

describe.skipIf(!pgServer)('the web app on PostgreSQL', () => {
  let root: string;
  let corpus: string;
  let tdb: TestDatabase;
  const running: Instance[] = [];

  /**
   * Start an instance on the shared database and corpus folder, with its own
   * data folder. With a `DUIKOU_TOKEN` in `extra`, requests carry it (as the
   * owner's scripts do) unless they carry a session cookie.
   */
  async function instance(name: string, extra: Record<string, string> = {}): Promise<Instance> {
    const p = await startServerProcess({
      DUIKOU_DATABASE_URL: tdb.url,
      DUIKOU_CORPUS: corpus,
      DUIKOU_DATA: join(root, `data-${name}`),
      DUIKOU_DATABASE_POOL_SIZE: '4',
      ...extra,
    });
    const authorized = (init?: RequestInit): RequestInit | undefined => {
      const headers = (init?.headers ?? {}) as Record<string, string>;
      if (!extra.DUIKOU_TOKEN || headers.cookie !== undefined) return init;
      return { ...init, headers: { ...headers, authorization: `Bearer ${extra.DUIKOU_TOKEN}` } };
    };
    // A GET is retried once when the server closed an idle keep-alive connection just as it was reused
    // (a race of Node's keep-alive timeout after a long pause in the test, not a server failure).
    const send = async (path: string, given?: RequestInit): Promise<Response> => {
      const init = authorized(given);
      try {
        return await fetch(`${p.url}${path}`, init);
      } catch (err) {
        const idempotent = (init?.method ?? 'GET') === 'GET';
        if (!idempotent || (err as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw err;
        return fetch(`${p.url}${path}`, init);
      }
    };
    const i: Instance = {
      ...p,
      get: (path) => send(path),
      json: async (path, init) => {
        const r = await send(path, init);
        const body = (await r.json()) as never;
        if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(body)}`);
        return body;
      },
    };
    running.push(i);
    return i;
  }

  /** Wait until an instance serves `n` papers (the indexer has published them). */
  async function papers(i: Instance, n: number, timeout = 60_000): Promise<void> {
    await expect
      .poll(async () => (await i.json<{ documents: number; indexing: boolean }>('/api/status')).documents, { timeout, interval: 200 })
      .toBe(n);
  }

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'duikou-pgapp-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  afterEach(async () => {
    await Promise.all(running.splice(0).map((i) => stopProcess(i.child, 'SIGKILL')));
    await tdb?.drop();
  });

  async function freshLibrary(): Promise<void> {
    tdb = await createTestDatabase(pgServer as string);
    corpus = mkdtempSync(join(root, 'corpus-'));
    cpSync(fileURLToPath(new URL('../corpus', import.meta.url)), corpus, { recursive: true });
  }

  it('searches, annotates, reads and exports as the embedded app does, and says 501 for what it lacks', async () => {
    await freshLibrary();
    // The same passages and total as the embedded engine over the same folder.
    const engine = await openCorpus(corpus);
    const embedded = engine.search(PHRASE, { limit: 200 });
    const a = await instance('a');
    await papers(a, 5);
    const served = await a.json<{ total: number; hits: { docId: string; start: number; matches: { start: number; end: number }[] }[] }>(
      `/api/search?q=${encodeURIComponent(PHRASE)}&limit=200`,
    );
    expect(served.total).toBe(embedded.total);
    expect(served.total).toBeGreaterThan(20);
    expect(new Set(served.hits.map((h) => `${h.docId}@${h.start}`))).toEqual(new Set(embedded.hits.map((h) => `${h.docId}@${h.start}`)));

    // Annotate the first hit's match, with offsets taken from the served text.
    const hit = served.hits[0]!;
    const doc = await a.json<{ text: string }>(`/api/documents/${hit.docId}`);
    const start = doc.text.indexOf(PHRASE, hit.start);
    const end = start + PHRASE.length;
    const created = await a.json<{ id: string; exact: string }>('/api/annotations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ docId: hit.docId, start, end, exact: PHRASE, tags: ['援藏/教育'], note: '𠀀 outside the BMP' }),
    });
    expect(created.exact).toBe(PHRASE);
    const listed = await a.json<{ total: number; annotations: { id: string; tags: string[] }[] }>(`/api/annotations?docId=${hit.docId}`);
    expect(listed.annotations.map((x) => x.id)).toEqual([created.id]);
    expect((await a.json<{ tags: { name: string }[] }>('/api/tags')).tags.map((t) => t.name)).toEqual(['援藏', '援藏/教育']);
    // tag: filters through the annotations in PostgreSQL.
    const tagged = await a.json<{ total: number }>(`/api/search?q=${encodeURIComponent(`${PHRASE} tag:援藏`)}`);
    expect(tagged.total).toBe(1);

    // The reader marks the annotation and the query's matches.
    const page = await (await a.get(`/documents/${hit.docId}?q=${encodeURIComponent(PHRASE)}`)).text();
    expect(page).toContain(created.id);
    expect(page).toMatch(/id="m-1"/);
    expect((await a.get('/annotations')).status).toBe(200);
    expect((await a.get('/tags')).status).toBe(200);
    expect((await a.get(`/search?q=${encodeURIComponent(PHRASE)}`)).status).toBe(200);

    // Exports read the same store.
    const md = await (await a.get('/api/export?format=md')).text();
    expect(md).toContain(PHRASE);
    const csv = await a.get('/api/export?format=csv');
    expect(csv.headers.get('x-duikou-count')).toBe('1');

    // The command line reads the same database: search through its index, export its annotations.
    const labEnv = { DUIKOU_DATABASE_URL: tdb.url, DUIKOU_CORPUS: corpus, DUIKOU_DATA: join(root, 'data-cli') };
    const cliSearch = runCli(['search', PHRASE, '--json', '--limit', '200'], labEnv);
    expect(cliSearch.status, cliSearch.stderr).toBe(0);
    const cliResult = JSON.parse(cliSearch.stdout) as { total: number; hits: { docId: string; start: number }[] };
    expect(cliResult.total).toBe(served.total);
    expect(new Set(cliResult.hits.map((h) => `${h.docId}@${h.start}`))).toEqual(new Set(served.hits.map((h) => `${h.docId}@${h.start}`)));
    const cliExport = runCli(['export', '--format', 'csv'], labEnv);
    expect(cliExport.status, cliExport.stderr).toBe(0);
    expect(cliExport.stdout).toContain('𠀀 outside the BMP');

    // The analysis views count what the embedded engine counts over the same folder.
    const concordance = await a.json<{ total: number }>(`/api/concordance?q=${encodeURIComponent(PHRASE)}&expand=0`);
    const occurrences = engine.allMatchesParsed(parseQuery(PHRASE), { expand: false }).reduce((n, m) => n + m.matches.length, 0);
    expect(concordance.total).toBe(occurrences);
    expect((await a.json<{ total: number }>(`/api/dispersion?q=${encodeURIComponent(PHRASE)}&expand=0`)).total).toBe(occurrences);

    // Accounts and coding rounds are served (the next test uses them across instances).
    for (const path of ['/api/rounds', '/rounds', '/api/users']) expect((await a.get(path)).status, path).toBe(200);
    // What the lab server does not serve yet: a 501 that names it, never a crash.
    const upload = await fetch(`${a.url}/api/documents`, { method: 'POST' });
    expect(upload.status).toBe(501);
    const body = (await upload.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('embedded_only');
    expect(body.error.message).toMatch(/lab server/);

    // Every page and read-only API answers: served (2xx), or a 501 naming what is missing; never a 500.
    const q = encodeURIComponent(PHRASE);
    const pages = [
      '/',
      `/search?q=${q}`,
      `/search?q=${q}&group=paper`,
      `/search?q=${q}&view=kwic`,
      '/documents',
      `/documents/${hit.docId}`,
      `/documents/${hit.docId}?reattach=${created.id}`,
      '/annotations',
      `/annotations?tag=${encodeURIComponent('援藏')}`,
      '/tags',
      `/concordance?q=${q}`,
      `/collocates?q=${q}`,
      `/dispersion?q=${q}`,
      '/cooccurrence',
      `/api/collocates?q=${q}`,
      '/api/cooccurrence?format=csv',
      '/rounds',
      '/api/status',
      '/api/documents',
      '/api/tags',
      `/api/annotations/${created.id}`,
      ...['md', 'csv', 'json', 'docx', 'qdpx'].map((f) => `/api/export?format=${f}`),
    ];
    for (const path of pages) {
      const r = await a.get(path);
      await r.arrayBuffer();
      expect([200, 501], path).toContain(r.status);
    }
  }, 180_000);

  it('shares one library between two instances, and the survivor takes over indexing when the indexer is killed', async () => {
    await freshLibrary();
    const a = await instance('a');
    // Only the indexer publishes: once a serves the papers, a holds the role (b starts after).
    await papers(a, 5);
    const b = await instance('b');
    await papers(b, 5, 10_000);

    // An annotation saved through one instance appears through the other within a second.
    const docs = await a.json<{ documents: { id: string }[] }>('/api/documents');
    const docId = docs.documents[0]!.id;
    const text = (await a.json<{ text: string }>(`/api/documents/${docId}`)).text;
    const start = text.search(/\S/);
    const end = start + 4;
    const created = await a.json<{ id: string }>('/api/annotations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ docId, start, end, exact: text.slice(start, end), tags: ['shared'] }),
    });
    const t0 = Date.now();
    await expect
      .poll(async () => (await b.json<{ annotations: { id: string }[] }>(`/api/annotations?docId=${docId}`)).annotations.map((x) => x.id), {
        timeout: 1000,
        interval: 50,
      })
      .toEqual([created.id]);
    expect(Date.now() - t0).toBeLessThan(1000);
    // And the other way round, edits included.
    await b.json(`/api/annotations/${created.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ note: 'edited through b' }),
    });
    await expect
      .poll(async () => (await a.json<{ note: string }>(`/api/annotations/${created.id}`)).note, { timeout: 1000 })
      .toBe('edited through b');

    // A paper added while a indexes reaches b's pages too (announced by NOTIFY), and b's searches.
    writeFileSync(join(corpus, 'first-new.txt'), 'First new paper\n\nWombatcoordination of 对口支援 𝌆 pairs.\n');
    await papers(b, 6, 30_000);
    expect((await b.json<{ total: number }>('/api/search?q=Wombatcoordination')).total).toBe(1);
    expect((await b.get('/documents/first-new')).status).toBe(200);

    // The indexing instance dies (no clean shutdown): b takes the role and indexes the next paper.
    await stopProcess(a.child, 'SIGKILL');
    const marker = 'Quokkaplanning';
    writeFileSync(
      join(corpus, 'new-paper.txt'),
      `A new paper\n\n${marker} is how the pairing was planned in 2024, 对口支援 𝌆 included.\n`,
    );
    await papers(b, 7, 60_000);
    const found = await b.json<{ total: number; hits: { docId: string }[] }>(`/api/search?q=${marker}`);
    expect(found.total).toBe(1);
    expect(found.hits[0]!.docId).toBe('new-paper');
    // The annotations survived the handover untouched.
    expect((await b.json<{ note: string; status: string }>(`/api/annotations/${created.id}`)).status).toBe('anchored');
  }, 240_000);

  it('shares accounts, sessions and coding rounds between two instances: blind coding, closing, agreement and merging', async () => {
    await freshLibrary();
    const lab = { DUIKOU_AUTH: 'token', DUIKOU_TOKEN: 'lab-token-for-the-owner-scripts-0123' };
    const a = await instance('a', lab);
    await papers(a, 5);
    const b = await instance('b', lab);
    await papers(b, 5, 10_000);
    const port = (i: Instance) => new URL(i.url).port;
    const post = (body: unknown, cookie?: string): RequestInit => ({
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(cookie && { cookie }) },
      body: JSON.stringify(body),
    });
    const as = (cookie: string): RequestInit => ({ headers: { cookie } });

    // Accounts added through a (with the owner's token) exist on b at once.
    const PW = { wang: 'wang-owner-password', li: 'li-coder-password', zhang: 'zhang-coder-password' };
    await a.json('/api/users', post({ name: 'wang', role: 'owner', password: PW.wang }));
    await a.json('/api/users', post({ name: 'li', role: 'coder', password: PW.li }));
    await a.json('/api/users', post({ name: 'zhang', role: 'coder', password: PW.zhang }));
    const onB = await b.json<{ users: { name: string; role: string }[] }>('/api/users');
    expect(onB.users.map((u) => `${u.name}:${u.role}`)).toEqual(['li:coder', 'wang:owner', 'zhang:coder']);

    // A session started on one instance signs in on the other (the cookie is named per port; its value is the session).
    const signIn = async (i: Instance, name: keyof typeof PW) => {
      const r = await fetch(`${i.url}/login`, {
        method: 'POST',
        body: new URLSearchParams({ name, password: PW[name] }),
        redirect: 'manual',
      });
      expect(r.status, `${name} signs in`).toBe(303);
      return (r.headers.get('set-cookie') ?? '').split(';')[0]!.split('=')[1]!;
    };
    const cookieFor = (i: Instance, session: string) => `duikou_session_${port(i)}=${session}`;
    const wang = await signIn(b, 'wang');
    const li = await signIn(a, 'li');
    const zhang = await signIn(b, 'zhang');
    expect((await a.get('/api/documents')).status).toBe(200); // the token still works for scripts
    const unsigned = await fetch(`${a.url}/api/documents`);
    expect(unsigned.status).toBe(401);

    // A round opened through a is listed by b.
    const docs = await a.json<{ documents: { id: string }[] }>('/api/documents', as(cookieFor(a, wang)));
    const docId = docs.documents[0]!.id;
    const round = await a.json<{ id: number; status: string }>(
      '/api/rounds',
      post({ name: '第一轮 on the lab', docIds: [docId], coders: ['li', 'zhang'] }, cookieFor(a, wang)),
    );
    expect(round.status).toBe('open');
    const listed = await b.json<{ rounds: { id: number; name: string; coders: string[] }[] }>('/api/rounds', as(cookieFor(b, li)));
    expect(listed.rounds).toEqual([expect.objectContaining({ id: round.id, name: '第一轮 on the lab', coders: ['li', 'zhang'] })]);

    // Blind: zhang codes through b; li, on a, does not see it; the owner does.
    const text = (await a.json<{ text: string }>(`/api/documents/${docId}`)).text;
    const start = text.search(/\S/);
    const span = { docId, start, end: start + 4, exact: text.slice(start, start + 4) };
    const z = await b.json<{ id: string }>(
      '/api/annotations',
      post({ ...span, tags: ['援藏'], note: 'zhang-secret' }, cookieFor(b, zhang)),
    );
    const l = await a.json<{ id: string }>('/api/annotations', post({ ...span, tags: ['援藏'] }, cookieFor(a, li)));
    const idsFor = async (i: Instance, session: string) =>
      (await i.json<{ annotations: { id: string }[] }>(`/api/annotations?docId=${docId}`, as(cookieFor(i, session)))).annotations.map(
        (x) => x.id,
      );
    expect(await idsFor(a, li)).toEqual([l.id]);
    expect((await a.get(`/api/annotations/${z.id}`)).status).toBe(200); // the owner's token sees it
    expect((await fetch(`${a.url}/api/annotations/${z.id}`, as(cookieFor(a, li)))).status).toBe(404);
    expect(new Set(await idsFor(b, wang))).toEqual(new Set([l.id, z.id]));
    expect((await fetch(`${b.url}/api/rounds/${round.id}/agreement`, as(cookieFor(b, li)))).status).toBe(403);

    // The owner closes it through b: on a, li now sees both, and the agreement is read.
    await b.json(`/api/rounds/${round.id}/close`, post({}, cookieFor(b, wang)));
    expect(new Set(await idsFor(a, li))).toEqual(new Set([l.id, z.id]));
    const table = await a.json<{ coders: string[]; rows: { tag: string | null; percent: number }[] }>(
      `/api/rounds/${round.id}/agreement?unit=characters`,
      as(cookieFor(a, li)),
    );
    expect(table.coders).toEqual(['li', 'zhang']);
    expect(table.rows.find((r) => r.tag === '援藏')?.percent).toBe(1);

    // The owner merges both coders' annotations into the group's version.
    const merged = await a.json<{ createdBy: string; note: string; mergedFrom: { coder: string }[] }>(
      '/api/annotations/merge',
      post({ ids: [z.id, l.id] }, cookieFor(a, wang)),
    );
    expect(merged.createdBy).toBe('wang');
    expect(merged.note).toBe('zhang: zhang-secret');
    expect(merged.mergedFrom.map((m) => m.coder).sort()).toEqual(['li', 'zhang']);
    expect((await b.get(`/rounds/${round.id}/compare?doc=${encodeURIComponent(docId)}`)).status).toBe(200);

    // Signing out on one instance ends the session on both.
    await fetch(`${a.url}/logout`, { method: 'POST', headers: { cookie: cookieFor(a, li) }, redirect: 'manual' });
    expect((await fetch(`${b.url}/api/documents`, as(cookieFor(b, li)))).status).toBe(401);
  }, 240_000);

  it('refuses to start, with one clear line, when the database cannot be reached', async () => {
    tdb = undefined as unknown as TestDatabase;
    const err = await startServerProcess({
      DUIKOU_DATABASE_URL: 'postgres://duikou:hunter2@127.0.0.1:1/duikou',
      DUIKOU_DATA: join(root, 'data-unreachable'),
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/exited with 1/);
    expect((err as Error).message).toMatch(/cannot reach the PostgreSQL server at postgres:\/\/duikou:\*\*\*@127\.0\.0\.1:1/);
    expect((err as Error).message).not.toContain('hunter2');
    expect((err as Error).message).not.toMatch(/\n\s+at /); // no stack trace
  }, 60_000);
});
