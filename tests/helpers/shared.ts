/**
 * Files from `../shared`, the folder of reference material (the REFI-QDA
 * schema …) that stands beside the repository where it is developed and in
 * CI, but not in every clone. duikou never copies them into the project.
 *
 * A test that needs one asks {@link sharedFile}: where the file is absent the
 * test is skipped and the reason printed, unless `DUIKOU_REQUIRE_SHARED=1`
 * (set by `.ci/run`, where `../shared` is always present), in which case the
 * absence fails the test file.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './process.js';

/** The shared folder: `shared/` beside the repository root. */
export const SHARED_DIR = join(ROOT, '..', 'shared');

/**
 * The path of `rel` inside the shared folder, or null (with the reason
 * printed) when it is absent.
 * @param who - the test file, for the printed reason
 * @param what - what the skipped tests check, for the printed reason
 * @throws Error when the file is absent and DUIKOU_REQUIRE_SHARED=1
 */
export function sharedFile(rel: string, who: string, what: string): string | null {
  const path = join(SHARED_DIR, rel);
  if (existsSync(path)) return path;
  const reason = `${path} is absent (no ../shared beside the repository)`;
  if (process.env.DUIKOU_REQUIRE_SHARED === '1') throw new Error(`${who}: ${reason}, and DUIKOU_REQUIRE_SHARED=1 requires it`);
  console.warn(`${who}: SKIPPED ${what}: ${reason}`);
  return null;
}
