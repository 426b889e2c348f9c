import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDatabase, createTestDatabase, testDatabaseUrl } from './helpers/postgres.js';

const serverUrl = testDatabaseUrl();

describe.skipIf(!serverUrl)('the PostgreSQL test server', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(serverUrl as string);
  });
  afterAll(async () => {
    await db.drop();
  });

  it('is PostgreSQL 15 on loopback, with a fresh UTF-8 database per test', async () => {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const r = await c.query<{ v: string; enc: string; addr: string | null; n: string }>(
        `SELECT current_setting('server_version_num') AS v, pg_encoding_to_char(encoding) AS enc,
                inet_server_addr()::text AS addr,
                (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')::text AS n
         FROM pg_database WHERE datname = current_database()`,
      );
      const row = r.rows[0];
      expect(Number(row?.v)).toBeGreaterThanOrEqual(150000);
      expect(row?.enc).toBe('UTF8');
      expect(row?.addr).toMatch(/^127\.0\.0\.1/);
      expect(row?.n).toBe('0');
    } finally {
      await c.end();
    }
  });
});
