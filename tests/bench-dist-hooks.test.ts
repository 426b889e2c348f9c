/**
 * The benchmark times what `npm start` serves: bench/run.ts registers
 * bench/dist-hooks.mjs before the benchmark imports duikou's sources, and
 * the hook answers those imports from dist/. Checked by resolving, in a
 * process started as `npm run bench` starts (node with tsx), a module of
 * the sources and one of the benchmark, with and without the hook.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where `./src/pipeline/rank-spans.js` and `./bench/queries.js` resolve from the project's root, through tsx. */
function resolved(withHook: boolean): string[] {
  const code = [
    "import { register } from 'node:module';",
    withHook ? `register('./bench/dist-hooks.mjs', ${JSON.stringify(pathToFileURL(ROOT).href)});` : '',
    "console.log(JSON.stringify([import.meta.resolve('./src/pipeline/rank-spans.js'), import.meta.resolve('./bench/queries.js')]));",
  ].join('\n');
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' });
  return (JSON.parse(out) as string[]).map((url) => fileURLToPath(url).slice(ROOT.length));
}

describe('the benchmark loads duikou from dist/', () => {
  it('answers an import of the sources with their build, and leaves the benchmark’s own files alone', () => {
    expect(resolved(false)).toEqual(['src/pipeline/rank-spans.ts', 'bench/queries.ts']);
    expect(resolved(true)).toEqual(['dist/pipeline/rank-spans.js', 'bench/queries.ts']);
  });
});
