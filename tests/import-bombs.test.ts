/**
 * Decompression bombs against the real server: each is made in the test (a
 * few hundred KB to a few MB), dropped into the corpus folder before a start
 * and while the server runs, and uploaded, while a second client keeps
 * searching. The server must survive, name each file (console, status, API),
 * load the other papers, and keep answering.
 *
 * The import limits are set low here (128 MB, as the settings allow) so that
 * each bomb is stopped in seconds; the defaults stop them the same way.
 */
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docxInflating, docxManyParagraphs, pdfInflating, pdfManyOperators } from './helpers/bombs.js';
import { startServerProcess, stopProcess } from './helpers/process.js';

const CORPUS = fileURLToPath(new URL('../corpus', import.meta.url));
const PAPERS = ['wang-counterpart-support-policy.txt', 'zhou-partner-assistance-overview.txt'];
const LIMITS = { DUIKOU_IMPORT_MEMORY_MB: '128', DUIKOU_IMPORT_TIMEOUT_S: '60' };

const root = mkdtempSync(join(tmpdir(), 'duikou-bombs-'));
const bombs = join(root, 'bombs');
/** The bombs by file name. */
const BOMBS: Record<string, () => Promise<Uint8Array> | Uint8Array> = {
  // ~450 KB, 3 million paragraphs (the attack used 6 million in 594 KB).
  'paragraphs.docx': () => docxManyParagraphs(3_000_000),
  // ~1 MB whose document.xml inflates to 1 GB.
  'inflates.docx': () => docxInflating(1024),
  // ~1.4 MB, 10 million text operators on one page.
  'operators.pdf': () => pdfManyOperators(10_000_000),
  // ~3 MB whose one content stream inflates to 1 GB of text operators.
  'inflates.pdf': () => pdfInflating(1024),
};

let child: ChildProcess | undefined;
let corpus: string;
let stderr = '';
/** The server's URL, once the first test started it. */
let baseUrl = '';
const measured: Record<string, number> = {};

beforeAll(async () => {
  mkdirSync(bombs);
  for (const [name, make] of Object.entries(BOMBS)) writeFileSync(join(bombs, name), await make());
  corpus = join(root, 'corpus');
  mkdirSync(corpus);
  for (const f of PAPERS) copyFileSync(join(CORPUS, f), join(corpus, f));
  for (const name of Object.keys(BOMBS)) copyFileSync(join(bombs, name), join(corpus, name));
});

afterAll(async () => {
  if (child) await stopProcess(child);
  rmSync(root, { recursive: true, force: true });
  console.log(`max search latency while bombs were imported (ms): ${JSON.stringify(measured)}`);
});

/** A second client searching in a loop until stopped: every answer's status and the slowest time. */
function searcher(url: string) {
  let stop = false;
  let max = 0;
  let count = 0;
  const statuses = new Set<number>();
  const loop = (async () => {
    while (!stop) {
      const t = performance.now();
      const res = await fetch(`${url}/api/search?q=${encodeURIComponent('counterpart support')}`);
      await res.arrayBuffer();
      max = Math.max(max, performance.now() - t);
      count++;
      statuses.add(res.status);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return async () => {
    stop = true;
    await loop;
    return { max: Math.round(max), count, statuses: [...statuses] };
  };
}

const status = async (url: string) => (await (await fetch(`${url}/api/status`)).json()) as any;

async function settled(url: string, until: (s: any) => boolean): Promise<any> {
  for (;;) {
    const s = await status(url);
    if (!s.indexing && until(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Peak resident memory of a process, in MB, where Linux tells it. */
function peakMb(pid: number): number | null {
  const f = `/proc/${pid}/status`;
  if (!existsSync(f)) return null;
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(f, 'utf8'));
  return m ? Number(m[1]) / 1024 : null;
}

describe('decompression bombs', () => {
  it('a corpus holding them starts, names each bomb and loads the other papers, while searches answer', async () => {
    const started = await startServerProcess({ DUIKOU_CORPUS: corpus, DUIKOU_DATA: join(root, 'data'), ...LIMITS });
    child = started.child;
    baseUrl = started.url;
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const done = searcher(started.url);
    const s = await settled(started.url, (x) => x.last !== null);
    const r = await done();
    measured.atStart = r.max;
    expect(r.statuses).toEqual([200]);
    expect(r.count).toBeGreaterThan(10);
    expect(r.max).toBeLessThan(1000);

    const docs = (await (await fetch(`${started.url}/api/documents`)).json()) as any;
    expect(docs.documents.map((d: any) => `${d.id}.txt`).sort()).toEqual(PAPERS);
    const errors = s.last.errors as Array<{ file: string; message: string }>;
    expect(errors.map((e) => e.file).sort()).toEqual(Object.keys(BOMBS).sort());
    for (const e of errors) expect(e.message).toContain(e.file);
    await expect.poll(() => Object.keys(BOMBS).every((f) => stderr.includes(f)), { timeout: 5000 }).toBe(true);
    const peak = peakMb(child.pid!);
    if (peak !== null) expect(peak).toBeLessThan(1500);
  }, 180_000);

  // The same sync as at start, now from the watcher: one bomb is enough to show that path.
  it('dropped into the folder of the running server, a bomb is named by the sync and the server keeps answering', async () => {
    const base = baseUrl;
    const before = (await status(base)).last;
    const done = searcher(base);
    copyFileSync(join(bombs, 'paragraphs.docx'), join(corpus, 'again-paragraphs.docx'));
    const s = await settled(base, (x) => x.last !== before && x.last.errors.some((e: any) => e.file.startsWith('again-')));
    const r = await done();
    measured.dropped = r.max;
    expect(r.statuses).toEqual([200]);
    expect(r.max).toBeLessThan(1000);
    const e = (s.last.errors as Array<{ file: string; message: string }>).find((x) => x.file === 'again-paragraphs.docx');
    expect(e?.message).toMatch(/^again-paragraphs\.docx needs more than 128 MB/);
    await expect.poll(() => stderr.includes('again-paragraphs.docx'), { timeout: 5000 }).toBe(true);
    expect((await status(base)).documents).toBe(PAPERS.length);
  }, 180_000);

  it.each(Object.keys(BOMBS))(
    'uploaded, %s is refused by name and nothing is added, while searches answer',
    async (name) => {
      const base = baseUrl;
      const done = searcher(base);
      const form = new FormData();
      form.append('files', new Blob([readFileSync(join(bombs, name))]), `up-${name}`);
      const res = await fetch(`${base}/api/documents`, { method: 'POST', body: form });
      const body = (await res.json()) as any;
      const r = await done();
      measured[`upload ${name}`] = r.max;
      expect(res.status).toBe(422);
      expect(body.error.message).toContain(`up-${name}`);
      expect(body.error.message).toMatch(/memory|unpacks|pieces of text|pages/);
      expect(r.statuses).toEqual([200]);
      expect(r.max).toBeLessThan(1000);
      expect(readdirSync(corpus).filter((f) => f.startsWith('up-') || f.startsWith('.duikou-upload-'))).toEqual([]);
      expect((await status(base)).documents).toBe(PAPERS.length);
    },
    120_000,
  );
});
