/**
 * Temp folders for a test file: each call makes a new one, and all of them are
 * removed after the file's tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * A maker of temp folders named `duikou-<name>-…`, removed after the calling file's tests.
 * Call it at the top level of a test file.
 */
export function tempDirs(name: string): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), `duikou-${name}-`));
    dirs.push(d);
    return d;
  };
}
