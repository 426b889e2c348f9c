import { defineConfig } from 'vitest/config';
import { BOTH_BACKENDS } from './tests/helpers/both-backends.js';

/**
 * The files of BOTH_BACKENDS run a second time with their annotations in
 * PostgreSQL, when a test server is configured (scripts/pg-test-server.sh);
 * without one that run is skipped with a printed reason, except where
 * PostgreSQL is required (CI), where a missing server is an error.
 */
const pgUrl = process.env.DUIKOU_TEST_DATABASE_URL;
const required = process.env.DUIKOU_REQUIRE_POSTGRES === '1' || process.env.CI === 'true';
if (!pgUrl && required) {
  throw new Error('DUIKOU_TEST_DATABASE_URL is not set but PostgreSQL tests are required here; run them through scripts/pg-test-server.sh');
}
if (!pgUrl && !process.env.DUIKOU_PG_SKIP_SAID) {
  process.env.DUIKOU_PG_SKIP_SAID = '1'; // the configuration is read more than once per run: say it once
  console.warn(`skipping the PostgreSQL run of ${BOTH_BACKENDS.join(', ')}: DUIKOU_TEST_DATABASE_URL is not set`);
}

export default defineConfig({
  test: {
    reporters: ['default', './tests/helpers/summary-reporter.ts'],
    // jieba's dictionary takes a second or two to load in each test process.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'embedded', include: ['tests/**/*.test.ts'] } },
      ...(pgUrl ? [{ extends: true, test: { name: 'postgres', include: BOTH_BACKENDS, env: { DUIKOU_TEST_BACKEND: 'postgres' } } }] : []),
    ],
  },
});
