/**
 * How much memory each export format takes for a large collection
 * (`npm run build && npx tsx scripts/export-memory.ts [count]`, 10,000 annotations by default):
 * for each format, three fresh processes each make the annotations in a
 * temporary database on the real corpus, build the export and consume its
 * stream; the growth of resident memory from just before the export to the
 * process's peak is printed as the median and the worst of the three (garbage
 * collection timing moves it from run to run). A measurement, not a test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// The built code, as `npm start` runs it: under tsx the Word export's worker
// thread would also load tsx's compiler, which the server never does.
const DIST = join(import.meta.dirname, '..', 'dist');
if (!existsSync(join(DIST, 'services', 'export-service.js'))) throw new Error('run `npm run build` first');
const load = (file: string): Promise<unknown> => import(pathToFileURL(join(DIST, file)).href);
const { openCorpus } = (await load('backends/embedded/corpus.js')) as typeof import('../src/backends/embedded/corpus.js');
const { buildExport } = (await load('services/export-service.js')) as typeof import('../src/services/export-service.js');
const { AnnotationStore } = (await load('store/annotations.js')) as typeof import('../src/store/annotations.js');
const { openDatabase } = (await load('store/db.js')) as typeof import('../src/store/db.js');

const FORMATS = ['csv', 'md', 'json', 'docx', 'qdpx'];
const RUNS = 3;
const [countArg, childFormat] = process.argv.slice(2);
const count = Number(countArg ?? 10_000);

/** One export in this process: prints `{bytes, growth}` as JSON. */
async function measure(format: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'duikou-export-memory-'));
  const engine = await openCorpus(join(import.meta.dirname, '..', 'corpus'));
  const store = new AnnotationStore(openDatabase(join(dir, 'duikou.db')));
  const doc = engine.requireDocument('wang-counterpart-support-policy');
  store.db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const start = (i * 13) % (doc.text.length - 300);
      store.create(
        { docId: doc.id, start, end: start + 200, tags: [`code ${i % 20}`, '援藏/教育'], note: `note ${i} 笔记 `.repeat(5) },
        doc,
      );
    }
  })();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
  const out = await buildExport(engine, store, { format });
  let bytes = 0;
  for await (const chunk of out.body) bytes += Buffer.byteLength(chunk as Buffer | string);
  clearInterval(sample);
  peak = Math.max(peak, process.memoryUsage().rss, process.resourceUsage().maxRSS * 1024);
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(JSON.stringify({ bytes, growth: peak - before }));
}

if (childFormat) {
  await measure(childFormat);
} else {
  console.log(`${count} annotations (200-character quotes, two tags each), ${process.version}, ${RUNS} runs per format`);
  for (const format of FORMATS) {
    const runs = Array.from({ length: RUNS }, () => {
      const out = execFileSync(process.execPath, [...process.execArgv, import.meta.filename, String(count), format], { encoding: 'utf8' });
      return JSON.parse(out.trim().split('\n').at(-1)!) as { bytes: number; growth: number };
    });
    const growth = runs.map((r) => r.growth / 1e6).sort((a, b) => a - b);
    console.log(
      `${format.padEnd(5)} ${(runs[0]!.bytes / 1e6).toFixed(1).padStart(6)} MB file, resident memory +${growth[1]!.toFixed(0)} MB median, +${growth.at(-1)!.toFixed(0)} MB worst`,
    );
  }
}
