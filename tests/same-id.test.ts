/**
 * Two files with one id (`probe.docx`, `probe.pdf`): as the README promises,
 * the first in name order is loaded and the other is reported, by name, on
 * the documents page and on the console; the second is not read at all.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Document, Packer, Paragraph } from 'docx';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../src/backends/embedded/engine.js';
import { openIndexDatabase } from '../src/backends/embedded/index-db.js';
import { CorpusSync } from '../src/library/watch.js';
import { startServerProcess, stopProcess } from './helpers/process.js';
import { type TestServer, startServer } from './helpers/server.js';

const PDF = fileURLToPath(new URL('./fixtures/import/chinese.pdf', import.meta.url));
const DOCX_SENTENCE = 'The probe paper in Word says counterpart support.';

const root = mkdtempSync(join(tmpdir(), 'duikou-same-id-'));
const corpus = join(root, 'corpus');
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeAll(async () => {
  mkdirSync(corpus);
  const doc = new Document({ sections: [{ children: [new Paragraph('Probe'), new Paragraph(DOCX_SENTENCE)] }] });
  writeFileSync(join(corpus, 'probe.docx'), await Packer.toBuffer(doc));
  copyFileSync(PDF, join(corpus, 'probe.pdf'));
});

describe('two files with the same id', () => {
  let server: TestServer;
  let sync: CorpusSync;
  let engine: Engine;
  beforeAll(async () => {
    engine = new Engine();
    const data = join(root, 'data');
    mkdirSync(data);
    sync = new CorpusSync(engine, openIndexDatabase(join(data, 'index.db')), corpus);
    await sync.request();
    server = await startServer({ engine, status: sync.status });
  });
  afterAll(() => server?.close());

  it('loads the first in name order (probe.docx) and reports probe.pdf', () => {
    expect(engine.documents().map((d) => d.file)).toEqual(['probe.docx']);
    expect(engine.document('probe')!.text).toContain(DOCX_SENTENCE);
    const errors = sync.status.last!.errors;
    expect(errors).toHaveLength(1);
    expect(errors[0]!.file).toBe('probe.pdf');
    expect(errors[0]!.message).toMatch(/probe\.pdf has the same id "probe" as probe\.docx, which is the one loaded/);
  });

  it('says so on the documents page', async () => {
    const html = await (await fetch(`${server.url}/documents`)).text();
    const section = /<section class="skipped"[\s\S]*?<\/section>/.exec(html)?.[0];
    expect(section, 'the "Files not loaded" section').toBeDefined();
    expect(section).toContain('<code>probe.pdf</code>');
    expect(section).toContain('probe.docx, which is the one loaded');
  });

  it('says so on the console of the server', async () => {
    const { child } = await startServerProcess({ DUIKOU_CORPUS: corpus, DUIKOU_DATA: join(root, 'data-process') });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
    });
    try {
      await expect
        .poll(() => err, { timeout: 30_000 })
        .toContain('duikou: skipped probe.pdf: probe.pdf has the same id "probe" as probe.docx');
    } finally {
      await stopProcess(child);
    }
  });
});
