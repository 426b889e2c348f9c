/**
 * The test files that run on both backends: as they are (embedded SQLite),
 * and again with `DUIKOU_TEST_BACKEND=postgres` (see vitest.config.ts and
 * backends.ts). Kept free of imports: the test configuration reads it.
 */
export const BOTH_BACKENDS = [
  'tests/annotations-api.test.ts',
  'tests/export-api.test.ts',
  'tests/api.test.ts',
  'tests/ranking.test.ts',
  'tests/documents-api.test.ts',
  'tests/accounts.test.ts',
  'tests/team.test.ts',
  'tests/analysis-backends.test.ts',
  'tests/search.test.ts',
  'tests/import-text.test.ts',
  'tests/import-pdf.test.ts',
  'tests/import-docx-html.test.ts',
];
