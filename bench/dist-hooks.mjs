/**
 * Module resolution hook for the benchmark (registered by bench/run.ts):
 * a module of duikou's sources, src/…/x.ts, is loaded from its build,
 * dist/…/x.js, which tsc compiled from it. Everything else resolves as
 * before (the benchmark's own TypeScript through tsx).
 */
const SRC = new URL('../src/', import.meta.url).href;
const DIST = new URL('../dist/', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (!resolved.url.startsWith(SRC) || !resolved.url.endsWith('.ts')) return resolved;
  return { ...resolved, url: `${DIST}${resolved.url.slice(SRC.length, -'.ts'.length)}.js`, format: 'module' };
}
