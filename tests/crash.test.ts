/**
 * Crash safety: kill the server with SIGKILL in the middle of a stream of
 * annotation writes; after a restart every write that was answered 2xx is
 * there and the database passes its integrity check.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { startServerProcess, stopProcess } from './helpers/process.js';
import { SAMPLE } from './helpers/sample.js';

const dir = mkdtempSync(join(tmpdir(), 'duikou-crash-'));
const corpus = join(dir, 'corpus');
const data = join(dir, 'data');
mkdirSync(corpus);
copyFileSync(join(SAMPLE, 'zhou-partner-assistance-overview.txt'), join(corpus, 'zhou-partner-assistance-overview.txt'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const startServer = () => startServerProcess({ DUIKOU_CORPUS: corpus, DUIKOU_DATA: data });

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
            body: JSON.stringify({
              docId: 'zhou-partner-assistance-overview',
              start: i % 500,
              end: (i % 500) + 20,
              note: `w${w}-${i}`,
              tags: [`t${i % 7}`],
            }),
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
    await stopProcess(child, 'SIGKILL');
    stop = true;
    await Promise.all(workers);
    expect(acknowledged.length).toBeGreaterThanOrEqual(150);

    // Restart: the server opens the database (recovering the WAL) and serves every acknowledged write.
    const again = await startServer();
    try {
      // Every page of the paper's annotations, as the document page reads them.
      const ids = new Set<string>();
      for (let next: number | null = 0; next !== null;) {
        const res = await fetch(`${again.url}/api/annotations?docId=zhou-partner-assistance-overview&limit=500&offset=${next}`);
        const page = (await res.json()) as { annotations: { id: string }[]; next: number | null };
        for (const a of page.annotations) ids.add(a.id);
        next = page.next;
      }
      const missing = acknowledged.filter((id) => !ids.has(id));
      expect(missing).toEqual([]);
    } finally {
      await stopProcess(again.child);
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
