/**
 * Crash safety: kill the server with SIGKILL in the middle of a stream of
 * annotation writes; after a restart every write that was answered 2xx is
 * there and the database passes its integrity check.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'duikou-crash-'));
const corpus = join(dir, 'corpus');
const data = join(dir, 'data');
mkdirSync(corpus);
copyFileSync(join(ROOT, 'corpus', 'zhou-partner-assistance-overview.txt'), join(corpus, 'zhou-partner-assistance-overview.txt'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Start the real server (from source) and resolve with its URL once it listens. */
function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, DUIKOU_CORPUS: corpus, DUIKOU_DATA: data, PORT: '0', HOST: '127.0.0.1', DUIKOU_TOKEN: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = out.match(/running at (http:\/\/[^/\s]+)\//);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.stderr!.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

describe('crash safety', () => {
  it('keeps every acknowledged write through a SIGKILL', async () => {
    const { child, url } = await startServer();
    const acknowledged: string[] = [];
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; !stop && i < 10_000; i++) {
        try {
          const res = await fetch(`${url}/api/annotations`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ docId: 'zhou-partner-assistance-overview', start: i % 500, end: (i % 500) + 20, note: `w${w}-${i}`, tags: [`t${i % 7}`] }),
          });
          if (res.status === 201) acknowledged.push(((await res.json()) as { id: string }).id);
        } catch {
          return; // the server is gone
        }
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    // Let a stream of writes get going, then pull the plug without warning.
    while (acknowledged.length < 150) await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await new Promise((r) => child.once('exit', r));
    expect(acknowledged.length).toBeGreaterThanOrEqual(150);

    // Restart: the server opens the database (recovering the WAL) and serves every acknowledged write.
    const again = await startServer();
    try {
      const res = await fetch(`${again.url}/api/annotations?docId=zhou-partner-assistance-overview`);
      const ids = new Set(((await res.json()) as { annotations: { id: string }[] }).annotations.map((a) => a.id));
      const missing = acknowledged.filter((id) => !ids.has(id));
      expect(missing).toEqual([]);
    } finally {
      again.child.kill('SIGTERM');
      await new Promise((r) => again.child.once('exit', r));
    }
    const db = openDatabase(join(data, 'duikou.db'));
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(new AnnotationStore(db).list().length).toBeGreaterThanOrEqual(acknowledged.length);
    } finally {
      db.close();
    }
  }, 120_000);
});
