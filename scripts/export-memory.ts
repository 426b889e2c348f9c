/**
 * How much memory each export format takes for a large collection
 * (`npx tsx scripts/export-memory.ts [count]`, 10,000 annotations by default):
 * the annotations are made in a temporary database on the real corpus, each
 * format is built (CSV consumed as the stream it is), and the peak growth of
 * the process's resident memory is printed. A measurement, not a test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCorpus } from '../src/corpus.js';
import { buildExport } from '../src/export-service.js';
import { AnnotationStore } from '../src/store/annotations.js';
import { openDatabase } from '../src/store/db.js';

const count = Number(process.argv[2] ?? 10_000);
const dir = mkdtempSync(join(tmpdir(), 'duikou-export-memory-'));
const engine = await openCorpus(join(import.meta.dirname, '..', 'corpus'));
const store = new AnnotationStore(openDatabase(join(dir, 'duikou.db')));
const doc = engine.requireDocument('wang-counterpart-support-policy');
store.db.transaction(() => {
  for (let i = 0; i < count; i++) {
    const start = (i * 13) % (doc.text.length - 300);
    store.create({ docId: doc.id, start, end: start + 200, tags: [`code ${i % 20}`, '援藏/教育'], note: `note ${i} 笔记 `.repeat(5) }, doc);
  }
})();

console.log(`${count} annotations (200-character quotes, two tags each), ${process.version}`);
for (const format of ['csv', 'md', 'json', 'docx', 'qdpx']) {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const out = await buildExport(engine, store, { format });
  let bytes = 0;
  if (typeof out.body === 'string' || Buffer.isBuffer(out.body)) bytes = out.body.length;
  else for await (const chunk of out.body) bytes += (chunk as Buffer).length;
  clearInterval(sample);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(
    `${format.padEnd(5)} ${(bytes / 1e6).toFixed(1).padStart(6)} MB file, resident memory +${((peak - before) / 1e6).toFixed(0)} MB`,
  );
}
store.db.close();
rmSync(dir, { recursive: true, force: true });
