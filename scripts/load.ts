/**
 * Load test (`npm run load`, not part of `npm test`): the server `npm start`
 * runs, on loopback, once its papers are indexed; 50 concurrent clients for
 * 30 s, each cycling through a search, a document page, an annotation write
 * and an annotations listing. Passes when no request got a 5xx, some writes
 * were answered 201, and every one of them is in the database.
 *
 *   npm run load -- --connections 50 --duration 30
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { startServerProcess, stopProcess } from '../tests/helpers/process.js';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '50' },
    duration: { type: 'string', default: '30' },
  },
});
const connections = Number(values.connections);
const duration = Number(values.duration);

const data = mkdtempSync(join(tmpdir(), 'duikou-load-'));
// The server `npm start` runs (dist/, built first if the sources changed), with sign-in on as it
// runs it: every request carries the token.
const { child, url, token } = await startServerProcess({ DUIKOU_CORPUS: '', DUIKOU_DATA: data, DUIKOU_AUTH: 'token' }, { built: true });
const authorization = `Bearer ${token}`;

const queries = ['对口支援', '"key node"', 'counterpart support -Tibet', '援藏 OR 援疆', 'lang:zh 脱贫攻坚', 'Wenchuan', 'path dependence'];
const docs = ['wang-duikou-zhiyuan-mechanism', 'wang-counterpart-support-policy', 'zheng-wu-task-oriented-network'];
let i = 0;
let writesOk = 0;
let fivexx = 0;

const countAnnotations = async (): Promise<number> =>
  ((await (await fetch(`${url}/api/annotations`, { headers: { authorization } })).json()) as { total: number }).total;

/**
 * Wait until the server's first sync has indexed the papers: it listens at once and indexes meanwhile,
 * and a load begun before would time 404s for the papers and empty search answers, and refuse every
 * write (an unknown paper), as runs shorter than the sync under load did.
 */
async function papersIndexed(): Promise<void> {
  for (let tries = 0; tries < 600; tries++) {
    const s = (await (await fetch(`${url}/api/status`, { headers: { authorization } })).json()) as { indexing: boolean; documents: number };
    if (!s.indexing && s.documents > 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server did not index the papers within a minute');
}

try {
  await papersIndexed();
  const before = await countAnnotations();
  const times: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        headers: { authorization },
        connections,
        duration,
        requests: [
          {
            method: 'GET',
            setupRequest: (r) => ({ ...r, path: `/api/search?q=${encodeURIComponent(queries[i++ % queries.length]!)}&limit=20` }),
          },
          {
            method: 'GET',
            setupRequest: (r) => ({ ...r, path: `/documents/${docs[i++ % docs.length]}?q=${encodeURIComponent('对口支援')}` }),
          },
          {
            method: 'POST',
            path: '/api/annotations',
            headers: { authorization, 'content-type': 'application/json' },
            setupRequest: (r) => {
              const n = i++;
              const start = (n * 37) % 2000;
              return {
                ...r,
                body: JSON.stringify({
                  docId: 'zhou-partner-assistance-overview',
                  start,
                  end: start + 12,
                  tags: [`load/${n % 5}`],
                  note: `load ${n}`,
                }),
              };
            },
            onResponse: (status) => {
              if (status === 201) writesOk++;
            },
          },
          // The whole tagged list, as before the API answered pages (100 by default).
          { method: 'GET', path: '/api/annotations?tag=load&limit=500' },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => times.push(responseTime));
  });
  for (const [code, n] of Object.entries(result.statusCodeStats ?? {})) if (Number(code) >= 500) fivexx += (n as { count: number }).count;
  const after = await countAnnotations();
  // Writes that timed out on the client may still have been stored, so more rows than
  // acknowledgements is fine; fewer would be a lost write.
  const lost = Math.max(0, writesOk - (after - before));

  const l = result.latency;
  console.log(`\nduikou load test: ${connections} clients, ${duration} s, loopback`);
  console.log(
    `requests: ${result.requests.total} (${Math.round(result.requests.average)}/s), errors: ${result.errors}, timeouts: ${result.timeouts}`,
  );
  times.sort((a, b) => a - b);
  const p95 = times[Math.min(times.length - 1, Math.floor(times.length * 0.95))] ?? Number.NaN;
  console.log(`latency ms: p50 ${l.p50}, p95 ${p95.toFixed(1)}, p99 ${l.p99}, max ${l.max}`);
  console.log(`5xx: ${fivexx}, writes acknowledged: ${writesOk}, lost writes: ${lost}`);
  if (fivexx > 0 || lost !== 0 || result.errors > result.timeouts) {
    console.error('FAILED: the server answered 5xx, dropped connections, or lost acknowledged writes');
    process.exitCode = 1;
  }
  // Without acknowledged writes there is nothing whose loss could be seen.
  if (writesOk === 0) {
    console.error('FAILED: no write was acknowledged, so none could be checked');
    process.exitCode = 1;
  }
} finally {
  await stopProcess(child);
  rmSync(data, { recursive: true, force: true });
}
