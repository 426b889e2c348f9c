/**
 * The import limits, one by one, with small limits and small generated files:
 * a zip's entry count, unpacked size and a directory that lies about it; a
 * PDF's pages and text items per page; the worker's time limit (and its
 * replacement for the next file); and an upload converted once, not twice.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { PDFDocument } from 'pdf-lib';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ContainedImporter, containedImporter, importBug } from '../src/workers/contained.js';
import { UserInputError } from '../src/core/errors.js';
import { Engine } from '../src/backends/embedded/engine.js';
import { prepareDocument } from '../src/pipeline/prepare.js';
import { documentFromImport } from '../src/pipeline/load.js';
import { DEFAULT_IMPORT_LIMITS, importFile } from '../src/pipeline/import/index.js';
import { openIndexDatabase } from '../src/backends/embedded/index-db.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';
import { CorpusSync } from '../src/library/watch.js';
import { docxBomb, docxInflating, docxManyParagraphs, pdfManyOperators } from './helpers/bombs.js';
import { runCli } from './helpers/process.js';
import { startServer } from './helpers/server.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/import', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'duikou-limits-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const small = { ...DEFAULT_IMPORT_LIMITS, maxUnzippedBytes: 1024 * 1024, maxZipEntries: 20, maxPdfPages: 2, maxPageItems: 1000 };

/** The UserInputError an import throws (fails the test when it succeeds). */
async function refusal(p: Promise<unknown>): Promise<UserInputError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserInputError);
  return err as UserInputError;
}

describe('zip containers (.docx) are checked before mammoth reads them', () => {
  it('reads a small Word file within the limits', async () => {
    const ok = docxBomb('<w:p><w:r><w:t>Counterpart support 对口支援𠀀</w:t></w:r></w:p>', 3);
    const { text } = await importFile(ok, 'ok.docx', small);
    expect(text).toBe('Counterpart support 对口支援𠀀\n\n'.repeat(3).slice(0, -1));
  });

  it('refuses a file that unpacks to more than the limit, by its declared size', async () => {
    const err = await refusal(importFile(docxInflating(2), 'big.docx', small));
    expect(err.code).toBe('import_too_large');
    expect(err.message).toMatch(/^big\.docx unpacks to more than 1 MB/);
  });

  it('refuses a file whose directory understates what a part unpacks to, after the stated bytes', async () => {
    const err = await refusal(importFile(docxInflating(2, 1000), 'liar.docx', small));
    expect(err.code).toBe('import_too_large');
    expect(err.message).toMatch(/^liar\.docx has a part that unpacks to more than it declares/);
  });

  it('refuses a file of too many entries', async () => {
    const files = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`word/part${i}.xml`, new Uint8Array(1)]));
    const err = await refusal(importFile(zipSync(files), 'many.docx', small));
    expect(err.code).toBe('import_too_large');
    expect(err.message).toMatch(/^many\.docx holds 30 parts \(at most 20\)/);
  });
});

describe('PDFs are capped in pages and in text items per page', () => {
  it('refuses a page with more text items than the limit, naming the page', async () => {
    const err = await refusal(importFile(await pdfManyOperators(20_000), 'dense.pdf', small));
    expect(err.code).toBe('import_too_large');
    expect(err.message).toMatch(/^dense\.pdf: page 1 holds more than 1000 pieces of text/);
  });

  it('refuses a PDF of more pages than the limit', async () => {
    const pdf = await PDFDocument.create();
    for (let i = 0; i < 3; i++) pdf.addPage();
    const err = await refusal(importFile(await pdf.save(), 'long.pdf', small));
    expect(err.code).toBe('import_too_large');
    expect(err.message).toMatch(/^long\.pdf has 3 pages; duikou imports PDFs of up to 2 pages/);
  });
});

describe('the contained importer', () => {
  it('brings the stack of a bug inside the worker back to the log, and goes on with the next file', async () => {
    const importer = new ContainedImporter(DEFAULT_IMPORT_LIMITS);
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      // Overrides that are not an object: reading them throws a plain TypeError inside the worker, a bug and not the file's fault.
      const dir = mkdtempSync(join(root, 'bug-'));
      writeFileSync(join(dir, 'bug.txt'), '对口支援 𠀀 text that is fine');
      const err = await refusal(importer.load(dir, 'bug.txt', null as unknown as Record<string, never>, false));
      expect(err.code).toBe('import_failed');
      expect(err.message).toContain('bug.txt could not be imported');
      const logged = log.mock.calls.map((c) => String(c[0])).find((m) => m.includes('bug.txt'));
      expect(logged).toMatch(/TypeError[^\n]*\n\s+at /); // the worker's stack, not only its message
      writeFileSync(join(dir, 'next.txt'), '对口支援 after a bug');
      expect((await importer.load(dir, 'next.txt', {}, false)).doc.text).toContain('对口支援');
    } finally {
      log.mockRestore();
      await importer.close();
    }
  });

  it('tells the researcher a bug inside the importer failed their file, and logs the stack for whoever fixes it', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'text')");
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const err = importBug('论文 𠀀.docx', { message: bug.message, stack: bug.stack });
      expect(err).toBeInstanceOf(UserInputError);
      expect(err.code).toBe('import_failed');
      expect(err.message).toContain('论文 𠀀.docx could not be imported');
      expect(err.message).not.toContain(' at '); // no stack for the researcher
      expect(log).toHaveBeenCalledTimes(1);
      expect(String(log.mock.calls[0]![0])).toContain(bug.stack!);
    } finally {
      log.mockRestore();
    }
  });

  it("says a file nested too deeply for a parser's stack is nested too deeply, not what V8 calls it", () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const deep = new RangeError('Maximum call stack size exceeded');
      const err = importBug('论文 𠀀.docx', { message: deep.message, stack: deep.stack });
      expect(err.code).toBe('import_failed');
      expect(err.message).toContain('论文 𠀀.docx could not be imported: its structure is nested too deeply');
      expect(err.message).not.toContain('call stack');
    } finally {
      log.mockRestore();
    }
  });

  it('ends a file that runs out of time, names it, and imports the next file in a new worker', async () => {
    const dir = join(root, 'timeout');
    mkdirSync(dir);
    copyFileSync(join(FIXTURES, 'two-column.pdf'), join(dir, 'slow.pdf'));
    writeFileSync(join(dir, 'next.txt'), 'Counterpart support 对口支援.\n');
    const limits = { ...DEFAULT_IMPORT_LIMITS, timeoutMs: 1 };
    const importer = new ContainedImporter(limits);
    try {
      const err = await refusal(importer.parse(join(dir, 'slow.pdf'), 'slow.pdf'));
      expect(err.code).toBe('import_timeout');
      expect(err.message).toMatch(/^slow\.pdf took longer than 0 s to import; it was skipped/);
      // The same importer, its worker ended, goes on with the next file (the limit read per file).
      limits.timeoutMs = 60_000;
      expect((await importer.parse(join(dir, 'next.txt'), 'next.txt')).text).toBe('Counterpart support 对口支援.\n');
    } finally {
      await importer.close();
    }
  }, 60_000);

  it('converts an uploaded paper once: the sync indexes the conversion the upload was checked with', async () => {
    const corpus = join(root, 'once', 'corpus');
    const data = join(root, 'once', 'data');
    mkdirSync(corpus, { recursive: true });
    mkdirSync(data, { recursive: true });
    const engine = new Engine();
    const db = openIndexDatabase(join(data, 'index.db'));
    const store = new AnnotationStore(openDatabase(join(data, 'duikou.db')));
    const sync = new CorpusSync(engine, db, corpus, store);
    await sync.request();
    const server = await startServer({ engine, store, status: sync.status, sync, corpusDir: corpus, dataDir: data });
    try {
      const before = containedImporter().conversions;
      const form = new FormData();
      form.append('files', new Blob([readFileSync(join(FIXTURES, 'two-column.pdf'))]), 'once.pdf');
      const res = await fetch(`${server.url}/api/documents`, { method: 'POST', body: form });
      expect(res.status).toBe(201);
      const body = (await res.json()) as any;
      expect(body.documents.map((d: any) => d.id)).toEqual(['once']);
      expect(containedImporter().conversions - before).toBe(1);
      expect(engine.document('once')?.pages?.length).toBeGreaterThan(0);
    } finally {
      await server.close();
      db.close();
      store.db.close();
    }
  }, 60_000);

  it('duikou add refuses a bomb by name, with exit code 2, and adds the other paper', () => {
    const dir = join(root, 'cli');
    mkdirSync(join(dir, 'in'), { recursive: true });
    writeFileSync(join(dir, 'in', 'bomb.docx'), docxManyParagraphs(3_000_000));
    writeFileSync(join(dir, 'in', 'fine.txt'), 'Fine\n\nCounterpart support 对口支援 𠀀.\n');
    const r = runCli(['add', join(dir, 'in', 'bomb.docx'), join(dir, 'in', 'fine.txt')], {
      DUIKOU_CORPUS: join(dir, 'corpus'),
      DUIKOU_DATA: join(dir, 'data'),
      DUIKOU_IMPORT_MEMORY_MB: '128',
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bomb\.docx needs more than 128 MB of memory to import/);
    expect(r.stdout).toMatch(/^Added fine\.txt/m);
  }, 60_000);

  it('a large paper enters the index a slice at a time, as addPrepared would put it, and stops if removed meanwhile', async () => {
    const text =
      Array.from({ length: 60 }, (_, i) => `Paragraph ${i}: counterpart support 对口支援 𠀀 in county ${i}.`).join('\n\n') + '\n';
    const prep = prepareDocument(documentFromImport('big.txt', { text }, {}));
    const whole = new Engine();
    whole.addPrepared(prep);
    const sliced = new Engine();
    let pauses = 0;
    const seen: number[] = [];
    await sliced.addPreparedGradually(
      prep,
      async () => {
        pauses++;
        seen.push(sliced.search('对口支援', { limit: 200 }).total);
      },
      0,
    );
    expect(pauses).toBeGreaterThanOrEqual(prep.passages.length - 1);
    // Searches between slices see the passages indexed so far, growing to all.
    expect(seen[0]).toBeLessThan(seen[seen.length - 1]!);
    const answer = (e: Engine) => e.search('对口支援 county', { limit: 200 }).hits.map((h) => [h.start, h.end, h.matches]);
    expect(answer(sliced)).toEqual(answer(whole));

    const removed = new Engine();
    let n = 0;
    await removed.addPreparedGradually(
      prep,
      async () => {
        if (++n === 5) removed.removeDocument('big');
      },
      0,
    );
    expect(removed.document('big')).toBeUndefined();
    expect(removed.search('对口支援').total).toBe(0);
  });

  it('a refused file left in the corpus folder is named at every sync but parsed again only when it changes', async () => {
    const corpus = join(root, 'again', 'corpus');
    mkdirSync(corpus, { recursive: true });
    writeFileSync(join(corpus, 'bad.pdf'), 'not a PDF at all');
    writeFileSync(join(corpus, 'good.txt'), 'Good\n\nCounterpart support 对口支援.\n');
    const engine = new Engine();
    const db = openIndexDatabase(join(root, 'again', 'index.db'));
    const sync = new CorpusSync(engine, db, corpus);
    try {
      const named = (s: Awaited<ReturnType<CorpusSync['request']>>) => s?.errors.map((e) => e.file);
      expect(named(await sync.request())).toEqual(['bad.pdf']);
      const before = containedImporter().conversions;
      writeFileSync(join(corpus, 'new.txt'), 'New\n\nA paper about wombats.\n');
      const second = await sync.request();
      expect(named(second)).toEqual(['bad.pdf']);
      expect(second?.errors[0]?.message).toMatch(/^bad\.pdf is not a readable PDF/);
      expect(containedImporter().conversions - before).toBe(1); // new.txt only
      writeFileSync(join(corpus, 'bad.pdf'), 'still not a PDF, but changed');
      expect(named(await sync.request())).toEqual(['bad.pdf']);
      expect(containedImporter().conversions - before).toBe(2);
    } finally {
      db.close();
    }
  });
});
