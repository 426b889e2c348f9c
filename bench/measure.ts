/**
 * What every benchmark column measures the same way: rounding, latency
 * percentiles over the query mix, and the HTTP load (autocannon on loopback)
 * against an app served on an ephemeral port. One definition, so the
 * embedded, FTS5, brute-force and PostgreSQL columns compare like with like.
 * Also the in-process tools: a forced garbage collection, timed runs of one
 * query, memory sampling and CPU profiles.
 */
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import autocannon from 'autocannon';
import type express from 'express';
import { ROOT } from './corpus.js';

// Node hands gc() only to contexts made after the flag is set: set it, then take gc from a new context.
setFlagsFromString('--expose-gc');
/** A full garbage collection, so heap figures count what is held, not what is waiting to be collected. */
export const gc = runInNewContext('gc') as () => void;

/** `x` rounded to `d` decimals. */
export const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

/** Latency percentiles (ms). */
export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** Weighted percentile over the query mix: each query counts equally however many samples it has. */
export function percentiles(perQuery: number[][]): Percentiles {
  const pts: Array<[number, number]> = [];
  for (const s of perQuery) for (const v of s) pts.push([v, 1 / s.length]);
  pts.sort((a, b) => a[0] - b[0]);
  const total = pts.reduce((a, p) => a + p[1], 0);
  const at = (q: number): number => {
    let acc = 0;
    for (const [v, w] of pts) {
      acc += w;
      if (acc >= q * total - 1e-9) return round(v, 3);
    }
    return round(pts[pts.length - 1]?.[0] ?? 0, 3);
  };
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

/** Run autocannon over the query paths (in turn) for `seconds` and return exact latency percentiles of the 2xx answers. */
export async function httpLoad(
  url: string,
  paths: string[],
  connections: number,
  seconds: number,
): Promise<Percentiles & { requests: number; errors: number }> {
  const lat: number[] = [];
  let i = 0;
  let errors = 0;
  await new Promise<void>((resolve, reject) => {
    const inst = autocannon(
      {
        url,
        connections,
        duration: seconds,
        timeout: 60,
        requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: paths[i++ % paths.length]! }) }],
      },
      (err) => (err ? reject(err) : resolve()),
    );
    inst.on('response', (_c: unknown, status: number, _b: unknown, ms: number) => {
      if (status >= 200 && status < 300) lat.push(ms);
      else errors++;
    });
  });
  lat.sort((a, b) => a - b);
  const q = (p: number): number => round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0, 3);
  return { p50: q(0.5), p95: q(0.95), p99: q(0.99), requests: lat.length, errors };
}

/**
 * Serve `app` on an ephemeral loopback port. `close()` waits for the answers still
 * being computed when the load ended (autocannon stops with requests in flight):
 * dropping their sockets does not stop their handlers, which would then run into
 * a store or database pool the caller closes next.
 */
export async function serve(app: express.Express): Promise<{ url: string; close(): Promise<void> }> {
  let inFlight = 0;
  const server = createServer((req, res) => {
    inFlight++;
    const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
    let ended = false;
    // Patched rather than listened for: 'finish' never fires once the client has gone.
    res.end = ((...args: unknown[]) => {
      if (!ended) {
        ended = true;
        inFlight--;
      }
      return end(...args);
    }) as typeof res.end;
    app(req, res);
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      for (let waited = 0; inFlight > 0 && waited < 30_000; waited += 10) await new Promise((r) => setTimeout(r, 10));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Peak RSS (whole process, workers included) and main-thread heap, sampled every 20 ms until `stop()`. */
export function memorySampler(): { stop(): { rss: number; heap: number } } {
  let rss = 0;
  let heap = 0;
  const sample = (): void => {
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss);
    heap = Math.max(heap, m.heapUsed);
  };
  sample();
  const t = setInterval(sample, 20);
  return {
    stop() {
      clearInterval(t);
      sample();
      return { rss, heap };
    },
  };
}

/** The median of `xs` (the upper one of an even count; 0 for none). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Time `fn` up to `reps` times (after one warm-up) or until `budgetMs` is spent. */
export function timeQuery(fn: () => unknown, reps: number, budgetMs: number): { samples: number[]; firstMs: number } {
  let t = performance.now();
  fn();
  const firstMs = performance.now() - t;
  // A query slower than the whole budget on its first run counts that run as its only sample.
  if (firstMs > budgetMs) return { samples: [firstMs], firstMs };
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < reps && (samples.length === 0 || performance.now() - start < budgetMs)) {
    t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return { samples, firstMs };
}

/** One function's share of a CPU profile: `name file:line`, its self time and its percentage of all self time. */
export interface ProfileEntry {
  fn: string;
  selfMs: number;
  pct: number;
}

/** Self time by function (the top 10) over a CPU profile of `fn` repeated for ~1.5 s. */
export async function profile(fn: () => unknown): Promise<ProfileEntry[]> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  const start = performance.now();
  do fn();
  while (performance.now() - start < 1500);
  const { profile: prof } = await session.post('Profiler.stop');
  session.disconnect();
  const self = new Map<number, number>();
  const samples = prof.samples ?? [];
  const deltas = prof.timeDeltas ?? [];
  samples.forEach((id, k) => self.set(id, (self.get(id) ?? 0) + (deltas[k] ?? 0)));
  const byFn = new Map<string, number>();
  let total = 0;
  for (const node of prof.nodes) {
    // node's inspector starting and stopping the profiler (called from post@node:inspector), not query work.
    if (node.callFrame.functionName === 'dispatch' && node.callFrame.url === '') continue;
    const us = self.get(node.id) ?? 0;
    total += us;
    const cf = node.callFrame;
    const file = cf.url.replace(/^file:\/\//, '').replace(ROOT, '');
    const key = `${cf.functionName || '(anonymous)'} ${file ? `${file}:${cf.lineNumber + 1}` : ''}`.trim();
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  return [...byFn.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([f, us]) => ({ fn: f, selfMs: round(us / 1000, 1), pct: round((100 * us) / Math.max(1, total), 1) }));
}
