/**
 * Worker thread of the contained importer (src/workers/contained.ts): converts a file
 * into canonical text and, when asked, segments and analyses it, under the
 * limits the importer started it with. A file is anything a user dropped in
 * or uploaded, so this thread may die of it: the heap limit and a watchdog on
 * the array buffers (which the heap limit does not count: pdfjs inflates
 * streams into them) end this thread, never the server.
 */
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { UserInputError } from '../core/errors.js';
import { prepareDocument } from '../pipeline/prepare.js';
import { type ContainedPart, type ContainedReply, type ContainedRequest, MEMORY_EXIT_CODE } from './contained.js';
import { importFile, type ImportLimits } from '../pipeline/import/index.js';
import { documentFromImport, readPaperBytes } from '../pipeline/load.js';

/** Passages per message back: a few milliseconds for the main thread to decode. */
const PASSAGES_PER_MESSAGE = 200;

const limits = (workerData as { limits: ImportLimits }).limits;
const port = parentPort!;

// The watchdog runs whenever the converters yield (pdfjs does every few ms).
setInterval(() => {
  const m = process.memoryUsage();
  if (m.heapUsed + m.arrayBuffers > limits.memoryMb * 1024 * 1024) process.exit(MEMORY_EXIT_CODE);
}, 25).unref();

port.on('message', async (msg: ContainedRequest | 'next') => {
  if (msg === 'next') return; // the main thread asking for the next part, awaited below
  const { id, task } = msg;
  let reply: ContainedReply;
  try {
    if (task.kind === 'parse') {
      const bytes = await readPaperBytes(task.path, task.file);
      reply = { id, ok: true, output: await importFile(bytes, task.file, limits) };
    } else {
      const imported = task.parsed ?? (await importFile(await readPaperBytes(join(task.dir, task.file), task.file), task.file, limits));
      const doc = documentFromImport(task.file, imported, task.overrides);
      const prepared = task.prepare ? prepareDocument(doc) : null;
      const passages = prepared?.passages ?? [];
      // In parts: the main thread decodes each message at once, and must not stall on a large paper's.
      // One at a time, each after the main thread asked for it: queued messages would be decoded in one go.
      for (let i = 0; i < passages.length; i += PASSAGES_PER_MESSAGE) {
        const asked = new Promise<void>((resolve) => port.once('message', () => resolve()));
        port.postMessage({ id, part: passages.slice(i, i + PASSAGES_PER_MESSAGE) } satisfies ContainedPart);
        await asked;
      }
      reply = { id, ok: true, output: { doc, passages: [], ...(prepared?.cuts && { cuts: prepared.cuts }) } };
    }
  } catch (err) {
    reply =
      err instanceof UserInputError
        ? { id, ok: false, error: { code: err.code, message: err.message, status: err.status } }
        : {
            id,
            ok: false,
            error: {
              code: 'internal',
              message: err instanceof Error ? err.message : String(err),
              status: 500,
              ...(err instanceof Error && err.stack ? { stack: err.stack } : {}),
            },
          };
  }
  port.postMessage(reply);
});
