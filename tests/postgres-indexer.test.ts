/** One indexer per lab server: the advisory lock, and taking over when the indexing instance dies. */
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type IndexerLease, tryBecomeIndexer, watchForIndexerRole } from '../src/backends/postgres/indexer-lock.js';
import { type TestDatabase, createTestDatabase, testDatabaseUrl, testPool } from './helpers/postgres.js';

const server = testDatabaseUrl();

describe.skipIf(!server)('the indexer role', () => {
  let tdb: TestDatabase;
  const pools: pg.Pool[] = [];
  const instance = () => {
    const p = testPool(tdb.url, 3);
    p.on('error', () => undefined); // a terminated connection is what these tests cause
    pools.push(p);
    return p;
  };
  beforeEach(async () => {
    tdb = await createTestDatabase(server as string);
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.end()));
    await tdb.drop();
  });

  it('is held by exactly one instance, and passes on when released', async () => {
    const a = instance();
    const b = instance();
    const lease = await tryBecomeIndexer(a);
    expect(lease).not.toBeNull();
    expect(await tryBecomeIndexer(b)).toBeNull();
    expect(await tryBecomeIndexer(a)).toBeNull(); // not twice in one instance either (another session)
    await lease?.release();
    const next = await tryBecomeIndexer(b);
    expect(next).not.toBeNull();
    await next?.release();
  });

  it('is taken over by a waiting instance when the indexing instance dies', async () => {
    const a = instance();
    const b = instance();
    const lease = await tryBecomeIndexer(a);
    expect(lease).not.toBeNull();
    let taken: IndexerLease | null = null;
    const stop = watchForIndexerRole(b, (l) => (taken = l), 50);
    await new Promise((r) => setTimeout(r, 200));
    expect(taken).toBeNull();
    // The indexing instance dies: its database session ends without releasing anything.
    const admin = instance();
    const killed = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND granted`,
      [0x64_75_69_69],
    );
    expect(killed.rowCount).toBe(1);
    // The dying instance learns it lost the role (here its connection was cut, not its process).
    await expect(lease?.lost).resolves.toBeInstanceOf(Error);
    await expect.poll(() => taken, { timeout: 2000, interval: 20 }).not.toBeNull();
    await stop();
    const back = await tryBecomeIndexer(a); // released by stop()
    expect(back).not.toBeNull();
    await back?.release();
  });

  it('gives the role back and tries again when taking it up fails, instead of ending the instance', async () => {
    const a = instance();
    const b = instance();
    let tries = 0;
    let taken: IndexerLease | null = null;
    const stop = watchForIndexerRole(
      a,
      (l) => {
        // The first time, the instance cannot take up indexing (its data folder read-only, say).
        if (++tries === 1) throw new Error('EROFS: read-only file system');
        taken = l;
      },
      50,
    );
    await expect.poll(() => taken, { timeout: 5000, interval: 20 }).not.toBeNull();
    expect(tries).toBe(2);
    // While it held the role no other instance could; now it does, so another still cannot.
    expect(await tryBecomeIndexer(b)).toBeNull();
    await stop();
    const next = await tryBecomeIndexer(b);
    expect(next).not.toBeNull();
    await next?.release();
  });
});
