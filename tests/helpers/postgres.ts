/**
 * PostgreSQL for tests: a fresh database per test (or file) on the server
 * named by `DUIKOU_TEST_DATABASE_URL` (scripts/pg-test-server.sh starts one).
 * Without it the PostgreSQL tests skip with a printed reason, unless
 * `DUIKOU_REQUIRE_POSTGRES=1` or `CI=true`, where a missing server fails them.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server tests may use, or undefined (after printing why they skip). */
export function testDatabaseUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const url = env.DUIKOU_TEST_DATABASE_URL;
  if (url) return url;
  if (env.DUIKOU_REQUIRE_POSTGRES === '1' || env.CI === 'true') {
    throw new Error(
      'DUIKOU_TEST_DATABASE_URL is not set but PostgreSQL tests are required here; run them through scripts/pg-test-server.sh',
    );
  }
  if (!warned) {
    warned = true;
    console.warn(
      'skipping PostgreSQL tests: DUIKOU_TEST_DATABASE_URL is not set (run scripts/pg-test-server.sh npx vitest run … to include them)',
    );
  }
  return undefined;
}
let warned = false;

/** A database created for one test, dropped by {@link TestDatabase.drop}. */
export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Create an empty database with a random name on the test server. */
export async function createTestDatabase(serverUrl: string): Promise<TestDatabase> {
  const name = `duikou_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  admin.on('error', () => undefined); // its query's own error is what counts
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8'`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      c.on('error', () => undefined); // its query's own error is what counts
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/**
 * A pool on a test database. Dropping a database (`DROP … WITH (FORCE)`)
 * terminates its connections, and a pool still closing then gets the
 * server's "terminating connection" on an idle or checked-out client: an
 * 'error' event nobody listens to would fail the whole run, so both are
 * listened to here, as the app's own pool does (src/backends/postgres/db.ts).
 */
export function testPool(url: string, max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
