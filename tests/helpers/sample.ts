/**
 * The shipped sample papers, for tests: a private copy in a temp folder.
 *
 * Tests never read or write the repository's `corpus/` in place: a user who
 * pointed duikou at it, or a test that wrote into it, would make another
 * test's results depend on what happened before. Each test file that imports
 * this gets its own copy of exactly the shipped files, made once, removed
 * after that file's tests.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

/** The repository's sample folder; only this module reads it. */
const SHIPPED = fileURLToPath(new URL('../../corpus', import.meta.url));

/** The five sample papers' ids. */
export const SAMPLE_IDS = [
  'li-zhong-personalized-pairing',
  'wang-counterpart-support-policy',
  'wang-duikou-zhiyuan-mechanism',
  'zheng-wu-task-oriented-network',
  'zhou-partner-assistance-overview',
] as const;

/** The files of the sample: the papers and the two data files kept beside them. */
export const SAMPLE_FILES: readonly string[] = [...SAMPLE_IDS.map((id) => `${id}.txt`), 'duikou.glossary.tsv', 'duikou.metadata.json'];

const root = mkdtempSync(join(tmpdir(), 'duikou-sample-'));
// After the importing file's tests (each test file imports its own copy of this module); a process
// 'exit' handler did not run in vitest's test processes and left a copy in the temp folder per file.
afterAll(() => rmSync(root, { recursive: true, force: true }));
let copies = 0;

/**
 * A new copy of the sample folder (or of some of its files) in a temp folder.
 * @param files - which files to copy (default: all of {@link SAMPLE_FILES})
 */
export function copySample(files: readonly string[] = SAMPLE_FILES): string {
  const dir = join(root, `corpus-${++copies}`);
  mkdirSync(dir, { recursive: true });
  for (const f of files) copyFileSync(join(SHIPPED, f), join(dir, f));
  return dir;
}

/** A copy of the whole sample folder shared by the tests of one file that only read it. */
export const SAMPLE = copySample();

/** The text of a sample paper (from the copy). */
export const sampleText = (id: string): string => readFileSync(join(SAMPLE, `${id}.txt`), 'utf8');
