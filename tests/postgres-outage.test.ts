/**
 * The lab server while its database goes away and comes back: requests get a
 * 503 with a message (nothing half-written), and once the database is
 * reachable again the same process answers, listens for changes and indexes
 * again, without a restart. The outage is a loopback TCP proxy in front of
 * the test server that drops every connection and refuses new ones.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { type PgOptions, QUERY_TIMEOUT_MARGIN_MS, inTransaction, isDatabaseUnavailable, openPgPool } from '../src/backends/postgres/db.js';
import { type LabServer, openLabServer } from '../src/backends/postgres/lab-server.js';
import { asLibrary } from '../src/library/library.js';
import { type TestDatabase, createTestDatabase, testDatabaseUrl } from './helpers/postgres.js';
import { type TestServer, startServer } from './helpers/server.js';

const pgServer = testDatabaseUrl();

/** A TCP proxy to `target` on a fixed loopback port, which can be taken down (every socket cut) and up again. */
class Proxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private frozen = false;
  private readonly pairs = new Set<[Socket, Socket]>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  async up(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      client.on('close', () => this.pairs.delete(pair));
      if (!this.frozen) client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', resolve);
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Stop passing bytes either way, keeping every connection open: a server that stopped answering. */
  freeze(): void {
    this.frozen = true;
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
    }
  }

  thaw(): void {
    this.frozen = false;
    for (const [client, upstream] of this.pairs) client.pipe(upstream).pipe(client);
  }

  async down(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
}

/** A fresh test database reached through a {@link Proxy}, and a pool on it through the proxy. */
async function proxiedPool(options: Omit<PgOptions, 'url'>): Promise<{ tdb: TestDatabase; proxy: Proxy; pool: pg.Pool }> {
  const tdb = await createTestDatabase(pgServer as string);
  const target = new URL(tdb.url);
  const proxy = new Proxy({ host: target.hostname, port: Number(target.port) });
  await proxy.up();
  const via = new URL(tdb.url);
  via.port = String(proxy.port);
  return { tdb, proxy, pool: await openPgPool({ url: via.toString(), ...options }) };
}

describe.skipIf(!pgServer)('a database that stops answering without closing the connection', () => {
  it('fails a query, and a transaction, past the statement timeout and a margin, and the pool serves again when it answers', async () => {
    const { tdb, proxy, pool } = await proxiedPool({ poolSize: 2, statementTimeoutMs: 300 });
    try {
      expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      // Both connections open and idle, so the transaction below meets an open one, not a new connect.
      await Promise.all([pool.query('SELECT pg_sleep(0.05)'), pool.query('SELECT pg_sleep(0.05)')]);
      expect(pool.idleCount).toBe(2);
      proxy.freeze();
      for (const run of [() => pool.query('SELECT 2'), () => inTransaction(pool, (c) => c.query('SELECT 3'))]) {
        const t = Date.now();
        const err = await run().then(
          () => null,
          (e: unknown) => e,
        );
        expect(isDatabaseUnavailable(err), String(err)).toBe(true);
        // One timeout, not a second one for the ROLLBACK of a transaction.
        expect(Date.now() - t).toBeLessThan(1.8 * (300 + QUERY_TIMEOUT_MARGIN_MS));
      }
      proxy.thaw();
      expect((await pool.query('SELECT 4 AS four')).rows[0].four).toBe(4);
    } finally {
      proxy.thaw();
      await pool.end();
      await proxy.down();
      await tdb.drop();
    }
  }, 60_000);
});

describe.skipIf(!pgServer)('the lab server when the database goes away', () => {
  let tdb: TestDatabase;
  let proxy: Proxy;
  let lab: LabServer;
  let app: TestServer;
  let root: string;
  let corpus: string;

  beforeAll(async () => {
    tdb = await createTestDatabase(pgServer as string);
    const target = new URL(tdb.url);
    proxy = new Proxy({ host: target.hostname, port: Number(target.port) });
    await proxy.up();
    const via = new URL(tdb.url);
    via.port = String(proxy.port);
    root = mkdtempSync(join(tmpdir(), 'duikou-pgoutage-'));
    corpus = join(root, 'corpus');
    cpSync(fileURLToPath(new URL('../corpus', import.meta.url)), corpus, { recursive: true });
    lab = await openLabServer({
      pg: { url: via.toString(), poolSize: 4, statementTimeoutMs: 10_000 },
      library: asLibrary(corpus),
      dataDir: join(root, 'data'),
      log: () => undefined,
      indexerPollMs: 200,
    });
    app = await startServer({
      engine: lab.engine,
      search: lab.search,
      annotations: lab.annotations,
      accounts: lab.accounts, // as served: the sign-in gate asks the database too
      status: lab.status,
    });
    for (const until = Date.now() + 60_000; lab.engine.documents().length < 5 && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 90_000);
  afterAll(async () => {
    await app?.close();
    await proxy?.up().catch(() => undefined);
    await lab?.close();
    await tdb?.drop();
    rmSync(root, { recursive: true, force: true });
  });

  const post = (path: string, body: unknown) =>
    fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answers 503 while it is away, writes nothing half, and serves, listens and indexes again when it is back', async () => {
    expect(lab.engine.documents()).toHaveLength(5);
    const doc = lab.engine.documents().find((d) => d.text.includes('对口支援'))!;
    const start = doc.text.indexOf('对口支援');
    expect(start).toBeGreaterThanOrEqual(0);
    const annotation = { docId: doc.id, start, end: start + 4, exact: '对口支援', tags: ['before'] };
    expect((await post('/api/annotations', annotation)).status).toBe(201);

    await proxy.down();
    for (const [what, r] of [
      ['list', await fetch(`${app.url}/api/annotations`)],
      ['search', await fetch(`${app.url}/api/search?q=${encodeURIComponent('对口支援')}`)],
      ['create', await post('/api/annotations', { ...annotation, tags: ['during'] })],
    ] as const) {
      expect(r.status, what).toBe(503);
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(body.error.code, what).toBe('database_unavailable');
      expect(body.error.message).toMatch(/nothing was changed/);
    }
    const page = await fetch(`${app.url}/annotations`);
    expect(page.status).toBe(503);
    expect(await page.text()).toMatch(/cannot be reached/);

    await proxy.up();
    // The same process reconnects on the next request.
    await expect.poll(async () => (await fetch(`${app.url}/api/annotations`)).status, { timeout: 10_000, interval: 100 }).toBe(200);
    const list = (await (await fetch(`${app.url}/api/annotations`)).json()) as { annotations: { tags: string[] }[] };
    expect(list.annotations.map((a) => a.tags)).toEqual([['before']]); // the write during the outage left nothing
    expect(
      (await post('/api/annotations', { ...annotation, start: start + 1, end: start + 3, exact: '口支', tags: ['after'] })).status,
    ).toBe(201);

    // Indexing and change notices work again: a new paper reaches this instance's pages and searches.
    writeFileSync(join(corpus, 'after-outage.txt'), 'After the outage\n\nPlatypusrecovery of the 对口支援 index 𝌆.\n');
    await expect.poll(() => lab.engine.documents().length, { timeout: 30_000, interval: 100 }).toBe(6);
    const found = (await (await fetch(`${app.url}/api/search?q=Platypusrecovery`)).json()) as { total: number };
    expect(found.total).toBe(1);
  }, 90_000);
});

describe.skipIf(!pgServer)('a pool client that loses its server while checked out', () => {
  it('does not take the process down, and the pool hands out a working client once the server is back', async () => {
    const { tdb, proxy, pool } = await proxiedPool({ poolSize: 2 });
    const uncaught: Error[] = [];
    const onUncaught = (err: Error) => uncaught.push(err);
    process.on('uncaughtException', onUncaught);
    try {
      const client = await pool.connect();
      await client.query('SELECT 1');
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      // Between two queries of the caller, the connection is cut.
      await proxy.down();
      await ended;
      await new Promise((r) => setTimeout(r, 50));
      expect(uncaught).toEqual([]);
      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release();
      await proxy.up();
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    } finally {
      process.off('uncaughtException', onUncaught);
      await pool.end();
      await proxy.up().catch(() => undefined);
      await tdb.drop();
    }
  }, 30_000);
});
