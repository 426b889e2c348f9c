/**
 * Preparing in worker threads must give exactly what preparing in the main
 * thread gives, document for document and in order, for the real corpus —
 * whether the workers load the files or are handed the loaded documents.
 */

import { loadLibrary } from '../src/library/library.js';
import { describe, expect, it } from 'vitest';
import { prepareDocument } from '../src/pipeline/prepare.js';
import { prepareInWorkers, workerMessages, workerScript } from '../src/workers/prepare.js';
import { listCorpusFiles, readMetadataOverrides } from '../src/pipeline/load.js';
import { SAMPLE } from './helpers/sample.js';

const CORPUS = SAMPLE;

describe('prepareInWorkers', () => {
  it('prepares the real corpus exactly like prepareDocument, in input order', async () => {
    const docs = (await loadLibrary(CORPUS)).documents;
    // Packed (biwords as hashed triples, moved from the workers in one buffer per document) by default.
    const expected = docs.map((d) => prepareDocument(d, { packed: true }));
    expect(expected.some((p) => p.passages.some((x) => (x.biwords?.length ?? 0) > 0))).toBe(true);

    const fromDocs = [];
    for await (const p of prepareInWorkers(docs, { threads: 2 })) fromDocs.push(p);
    expect(fromDocs).toEqual(expected);

    const overrides = await readMetadataOverrides(CORPUS);
    const files = (await listCorpusFiles(CORPUS)).map((file) => ({ dir: CORPUS, file }));
    const fromFiles = [];
    for await (const p of prepareInWorkers(files, { threads: 2, overrides, packed: false })) fromFiles.push(p);
    expect(fromFiles).toEqual(docs.map((d) => prepareDocument(d)));
  });

  it('reports a worker failure as an error of the iteration', async () => {
    const run = async () => {
      for await (const _ of prepareInWorkers([{ dir: CORPUS, file: 'no-such-paper.txt' }], { threads: 1 })) {
        // nothing
      }
    };
    await expect(run()).rejects.toThrow(/ENOENT|no-such-paper/);
  });
});

describe('workerMessages', () => {
  it('throws the error of a worker that fails, instead of ending quietly', async () => {
    const run = async () => {
      const chunks = workerMessages(workerScript('../src/export/docx-worker', import.meta.url), {
        workerData: { input: null, options: {} },
      });
      for await (const _ of chunks) {
        // nothing
      }
    };
    await expect(run()).rejects.toThrow(TypeError);
  });
});
