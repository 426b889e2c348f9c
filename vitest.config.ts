import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    reporters: ['default', './tests/helpers/summary-reporter.ts'],
    // jieba's dictionary takes a second or two to load in each test process.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
