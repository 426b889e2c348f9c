/**
 * Makes one Word export in its own thread (see `docxInWorker`) and posts the
 * file's bytes back chunk by chunk; the thread ends when the file is done.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type DocxOptions, docxStream } from './docx.js';
import type { ExportInput } from './types.js';

const { input, options } = workerData as { input: ExportInput; options: DocxOptions };
for await (const chunk of docxStream(input, options)) parentPort!.postMessage(chunk);
