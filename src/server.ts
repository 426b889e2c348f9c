/**
 * `npm start`: index the corpus folder, serve the app, print the URL.
 */
import { setting } from './core/settings.js';
import { join } from 'node:path';
import { openCorpus, syncAnnotations } from './corpus.js';
import { createApp } from './http/app.js';
import { isLoopback } from './http/security.js';
import { AnnotationStore } from './store/annotations.js';
import { openDatabase } from './store/db.js';

const corpusDir = setting('DUIKOU_CORPUS');
const host = setting('HOST');
const port = Number(setting('PORT'));

const token = setting('DUIKOU_TOKEN');
if (!isLoopback(host) && token === '') {
  console.error(
    `duikou: refusing to listen on ${host} without DUIKOU_TOKEN: anyone on the network could read and change your annotations.`,
  );
  console.error('Set DUIKOU_TOKEN to a long random secret, or use HOST=127.0.0.1.');
  process.exit(1);
}

const started = Date.now();
const engine = await openCorpus(corpusDir, (done, total, id) => {
  process.stdout.write(`\rIndexing ${corpusDir}: ${done}/${total} ${id.padEnd(40).slice(0, 40)}`);
});
const passages = engine.documents().reduce((n, d) => n + d.passages.length, 0);
process.stdout.write(
  `\rIndexed ${engine.documents().length} papers, ${passages} passages in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
);

const dbFile = join(setting('DUIKOU_DATA'), 'duikou.db');
const store = new AnnotationStore(openDatabase(dbFile));
for (const [docId, c] of Object.entries(syncAnnotations(engine, store))) {
  console.log(
    `Re-anchored annotations of ${docId}: ${c.exact + c.quote + c.fuzzy} kept (${c.quote} moved, ${c.fuzzy} fuzzy), ${c.orphaned} orphaned`,
  );
}

const server = createApp({ engine, store, token: token || undefined }).listen(port, host, () => {
  const addr = server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  console.log(`duikou is running at http://${shownHost}:${actualPort}/`);
});

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () =>
    server.close(() => {
      store.db.close();
      process.exit(0);
    }),
  );
}
