/**
 * `npm run bench`: build dist/ if the sources changed since its last build,
 * then run the benchmark (bench/main.ts) with every import of duikou's
 * sources answered from dist/.
 *
 * The benchmark times the JavaScript that `npm start` serves, compiled by
 * tsc. Run through tsx, the harness would otherwise load duikou's sources as
 * tsx transforms them on the fly: esbuild with `keepNames`, which wraps every
 * function it creates in a `__name` call, closures made per query and per
 * passage included, a cost no researcher's server pays. At 100 MB it was
 * about a fifth of the in-process query time and of the build (the README's
 * Benchmarks section has the two runs side by side). The cold start already
 * ran dist/ in its own process (bench/coldstart.mjs); now every figure does.
 *
 * The redirect is a module resolution hook (bench/dist-hooks.mjs), registered
 * before the benchmark's first import of the sources, so the harness and the
 * engine share one copy of each module: the benchmark's own files stay
 * TypeScript, their imports of `../src/…` load `../dist/…`.
 */
import { spawnSync } from 'node:child_process';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

const build = spawnSync(process.execPath, [fileURLToPath(new URL('../scripts/build.js', import.meta.url))], { stdio: 'inherit' });
if (build.status !== 0) throw new Error('building dist/ for the benchmark failed');
register('./dist-hooks.mjs', import.meta.url);
await import('./main.js');
