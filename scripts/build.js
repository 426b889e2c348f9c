#!/usr/bin/env node
/**
 * Build duikou only when its sources changed, then (with `--start`) run the
 * compiled server in this same process.
 *
 * `npm start` used to compile the TypeScript on every start, which took
 * 15–25 s on a small machine although indexing an unchanged corpus takes a
 * fraction of a second. A fingerprint of everything the compiler reads from
 * the project (src/, tsconfig.json, the compiler's version) is written beside
 * the output after each build; a start whose fingerprint matches goes
 * straight to `dist/server.js`. Hashing the sources takes a few milliseconds.
 *
 *   node scripts/build.js           build if anything changed (what `npm install` runs)
 *   node scripts/build.js --force   build whatever the fingerprint says
 *   node scripts/build.js --start   build if needed, then start the server
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const STAMP = join(DIST, '.source-hash');
const require = createRequire(import.meta.url);

/** Every file under `dir`, sorted, so the fingerprint does not depend on directory order. */
function files(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** A hash of what the compiler reads from the project: the sources, the config, its own version. */
function fingerprint() {
  const h = createHash('sha256');
  h.update(`typescript ${require('typescript/package.json').version}\n`);
  for (const f of [join(ROOT, 'tsconfig.json'), ...files(join(ROOT, 'src'))]) {
    h.update(`${relative(ROOT, f)}\n`);
    h.update(readFileSync(f));
  }
  return h.digest('hex');
}

/** Whether `dist/` was built from the sources as they are now. */
function isCurrent(print) {
  if (!existsSync(join(DIST, 'server.js'))) return false;
  try {
    return readFileSync(STAMP, 'utf8').trim() === print;
  } catch {
    return false;
  }
}

function build(print) {
  // A stale output file (a source that was deleted or renamed) must not linger in dist/.
  rmSync(DIST, { recursive: true, force: true });
  const tsc = require.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.json')], { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0) process.exit(r.status ?? 1);
  writeFileSync(STAMP, `${print}\n`);
}

const args = new Set(process.argv.slice(2));
const print = fingerprint();
if (args.has('--force') || !isCurrent(print)) {
  if (args.has('--start')) console.log('duikou: the sources changed since the last build; compiling (once)…');
  build(print);
}
if (args.has('--start')) await import(pathToFileURL(join(DIST, 'server.js')).href);
