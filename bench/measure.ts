/**
 * What every benchmark column measures the same way: rounding, latency
 * percentiles over the query mix, and the HTTP load (autocannon on loopback)
 * against an app served on an ephemeral port. One definition, so the
 * embedded, FTS5, brute-force and PostgreSQL columns compare like with like.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import type express from 'express';

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
