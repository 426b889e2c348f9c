/**
 * A full disk (ENOSPC) is a clear answer, never a 500 or half a file: the
 * failing write is injected into node:fs/promises (it writes a few bytes, then
 * fails as a full disk does), and SQLite's own "database or disk is full" is
 * reached with `max_page_count`.
 */
import fs, { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { openIndexDatabase } from '../src/backends/embedded/index-db.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { CorpusSync } from '../src/library/watch.js';
import { type TestServer, startServer } from './helpers/server.js';

// `atomic`: also fail fs.write itself (see below), which the upload test's own stream uses underneath.
const disk = vi.hoisted(() => ({ full: false, atomic: false }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const writeFile = async (...args: Parameters<typeof real.writeFile>): Promise<void> => {
    const [path, data] = args;
    if (disk.full && typeof path === 'string') {
      // Part of the data reaches the disk, then the write fails.
      await real.writeFile(path, String(data).slice(0, 7));
      throw Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    }
    return real.writeFile(...args);
  };
  return { ...real, writeFile, default: { ...real, writeFile } };
});

// Uploads are written by multer through fs.createWriteStream (a CommonJS require of the same
// module object): its stream writes a few bytes and then fails as a full disk does.
const realCreateWriteStream = fs.createWriteStream;
fs.createWriteStream = ((path: fs.PathLike, options?: Parameters<typeof fs.createWriteStream>[1]) => {
  const out = realCreateWriteStream(path, options);
  if (!disk.full) return out;
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.write(chunk.subarray(0, 5), () =>
        out.end(() => callback(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 }))),
      );
    },
  });
}) as typeof fs.createWriteStream;
// Files written atomically (write-file-atomic: a temp file, fsync, rename) go through fs.write on
// the same CommonJS module object: a few bytes reach the disk, then it fails as a full disk does.
const realWrite = fs.write;
fs.write = ((fd: number, data: unknown, ...rest: unknown[]) => {
  const callback = rest[rest.length - 1] as (err: Error | null, written?: number) => void;
  if (!disk.full || !disk.atomic) return (realWrite as (...a: unknown[]) => void)(fd, data, ...rest);
  const part = typeof data === 'string' ? data.slice(0, 7) : (data as Buffer).subarray(0, 7);
  (realWrite as (...a: unknown[]) => void)(fd, part, () =>
    callback(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 })),
  );
}) as typeof fs.write;
afterAll(() => {
  fs.createWriteStream = realCreateWriteStream;
  fs.write = realWrite;
});

const CORPUS = fileURLToPath(new URL('../corpus', import.meta.url));
const ID = 'zhou-partner-assistance-overview';
const root = mkdtempSync(join(tmpdir(), 'duikou-full-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let server: TestServer | undefined;
let cleanup: (() => void) | undefined;
afterEach(async () => {
  disk.full = false;
  disk.atomic = false;
  await server?.close();
  server = undefined;
  cleanup?.();
});

async function setUp(name: string) {
  const corpus = join(root, name, 'corpus');
  const data = join(root, name, 'data');
  mkdirSync(corpus, { recursive: true });
  copyFileSync(join(CORPUS, `${ID}.txt`), join(corpus, `${ID}.txt`));
  const engine = new Engine();
  const store = new AnnotationStore(openDatabase(join(data, 'duikou.db')));
  const sync = new CorpusSync(engine, openIndexDatabase(join(data, 'index.db')), corpus, store, undefined, () => {});
  await sync.request();
  server = await startServer({ engine, store, status: sync.status, sync, corpusDir: corpus, dataDir: data });
  cleanup = () => {
    sync.indexDb.close();
    store.db.close();
  };
  return { corpus, data, engine, store, sync, url: server.url };
}

describe('a full disk', () => {
  it('a metadata edit answers 507 disk_full; the metadata file is unchanged and no temp file is left', async () => {
    const { corpus, engine, url } = await setUp('meta');
    const metaFile = join(corpus, 'duikou.metadata.json');
    writeFileSync(metaFile, `${JSON.stringify({ [ID]: { title: 'Before' } }, null, 2)}\n`);
    const before = readFileSync(metaFile, 'utf8');
    const files = readdirSync(corpus).sort();
    disk.full = true;
    disk.atomic = true;
    const res = await fetch(`${url}/api/documents/${ID}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'After' }),
    });
    expect(res.status).toBe(507);
    const body = (await res.json()) as any;
    expect(body.error.code).toBe('disk_full');
    expect(body.error.message).toMatch(/disk is full.*nothing was saved/i);
    expect(readFileSync(metaFile, 'utf8')).toBe(before);
    expect(readdirSync(corpus).sort()).toEqual(files);
    expect(engine.requireDocument(ID).title).not.toBe('After');

    // The page form says the same, on a page, not a 500.
    const page = await fetch(`${url}/documents/${ID}/metadata`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ title: 'After' }),
      redirect: 'manual',
    });
    expect(page.status).not.toBe(500);
    expect(readFileSync(metaFile, 'utf8')).toBe(before);
  });

  it('an upload answers 507 disk_full and leaves nothing in the corpus folder', async () => {
    const { corpus, engine, url } = await setUp('upload');
    const files = readdirSync(corpus).sort();
    disk.full = true;
    const form = new FormData();
    form.append('files', new Blob(['A Paper on Full Disks\n\nThe xylophonic counterpart mechanism.\n'.repeat(200)]), 'full-disk.txt');
    const res = await fetch(`${url}/api/documents`, { method: 'POST', body: form });
    expect(res.status).toBe(507);
    expect(((await res.json()) as any).error.code).toBe('disk_full');
    expect(readdirSync(corpus).sort()).toEqual(files);
    expect(engine.document('full-disk')).toBeUndefined();
  });

  it('a full index database shows on the status bar and the last index keeps answering', async () => {
    const { corpus, sync, url } = await setUp('index');
    const total = ((await (await fetch(`${url}/api/search?q=Nyingchi`)).json()) as any).total;
    sync.indexDb.pragma(`max_page_count = ${sync.indexDb.pragma('page_count', { simple: true }) as number}`);
    writeFileSync(join(corpus, 'big.txt'), `Big Paper\n\n${'The xylophonic counterpart mechanism of aid. '.repeat(3000)}\n`);
    expect(await sync.request()).toBeNull();
    const status = (await (await fetch(`${url}/api/status`)).json()) as any;
    expect(status.problems).toMatchObject([{ code: 'disk_full' }]);
    expect(status.problems[0].message).toMatch(/disk is full/);
    expect(((await (await fetch(`${url}/api/search?q=Nyingchi`)).json()) as any).total).toBe(total);
  });
});
