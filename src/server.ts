/**
 * `npm start`: serve the app at once, index the corpus folder (only what
 * changed since the last start), watch it for changes, and print the URL.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type AccessConfig, accessFromSettings, signInUrl } from './http/access.js';
import { UserInputError } from './core/errors.js';
import { setting } from './core/settings.js';
import { importLimitsFromSettings } from './pipeline/import/index.js';
import { Engine } from './backends/embedded/engine.js';
import { createApp } from './http/app.js';
import { isWildcard } from './http/security.js';
import { resolveLibrary } from './library/library.js';
import type { SyncProgress } from './backends/embedded/persist.js';
import { openIndexDatabase } from './backends/embedded/index-db.js';
import { AnnotationStore } from './store/annotations.js';
import { DataFileError, describeStorageFailure, openDatabase, storageFailure } from './store/db.js';
import { CorpusSync } from './library/watch.js';
import { pgOptionsFromSettings, redactUrl } from './backends/postgres/db.js';
import { type LabServer, openLabServer } from './backends/postgres/lab-server.js';
import { segmentOnJiebaThread } from './workers/jieba-thread.js';

// Chinese text is cut on jieba's own thread: its dictionary's load (seconds) never blocks this one.
segmentOnJiebaThread();

// The sample papers (read only) and the user's library, or the user's own corpus folder: see library.ts.
const library = resolveLibrary();
const dataDir = setting('DUIKOU_DATA');
const host = setting('HOST');

/** The PORT setting as a port number; anything else is the operator's mistake, said in one line. */
function portFromSettings(): number {
  const raw = setting('PORT');
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n > 65535) {
    throw new UserInputError('bad_setting', `PORT must be a whole number from 0 to 65535, not ${JSON.stringify(raw)} (设置值无效)`);
  }
  return n;
}

// Settings and access first: a mistake in these stops the server before it opens anything
// (the import limits are read again by the importer; a bad one must not wait for the first paper).
let access: AccessConfig;
let port: number;
try {
  port = portFromSettings();
  importLimitsFromSettings();
  access = accessFromSettings();
} catch (err) {
  // The token file lives in the data folder: a folder duikou cannot write is named, not a stack trace.
  const failure = storageFailure(err);
  if (!(err instanceof UserInputError) && failure === null) throw err;
  const file = (err as NodeJS.ErrnoException).path ?? dataDir;
  console.error(`duikou: ${failure === null ? (err as Error).message : describeStorageFailure(file, failure, err, 'the sign-in token')}`);
  process.exit(1);
}
for (const w of access.warnings) console.error(`duikou: ${w}`);

/**
 * The port is taken or not ours to use: say so in one line and stop, printing
 * nothing as if the server ran (the sign-in link would go to whoever holds the port).
 */
function cannotListen(err: Error): never {
  console.error(`duikou: cannot listen on ${host}:${port}: ${err.message}`);
  process.exit(1);
}

// The lab-server mode: annotations and the search index in PostgreSQL, shared by every instance (see lab-server.ts).
if (setting('DUIKOU_DATABASE_URL') !== '') {
  await serveLab();
}

/** Serve from PostgreSQL until a signal stops the process. */
async function serveLab(): Promise<never> {
  let lab: LabServer;
  try {
    const pgOptions = pgOptionsFromSettings();
    if (!pgOptions) throw new Error('DUIKOU_DATABASE_URL is empty');
    mkdirSync(dataDir, { recursive: true });
    if (library.sample !== null) mkdirSync(library.dir, { recursive: true });
    lab = await openLabServer({ pg: pgOptions, library, dataDir });
  } catch (err) {
    // Unreachable, refused, a schema from a newer duikou, a malformed setting: one line, no stack trace.
    console.error(`duikou: cannot serve from PostgreSQL: ${(err as Error).message}`);
    process.exit(1);
  }
  const app = createApp({
    engine: lab.engine,
    search: lab.search,
    annotations: lab.annotations,
    accounts: lab.accounts,
    access: access.access,
    status: lab.status,
  });
  const server = app.listen(port, host, (err?: Error) => {
    if (err) cannotListen(err);
    const addr = server.address();
    const actualPort = typeof addr === 'object' && addr ? addr.port : port;
    const shownHost = isWildcard(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    const base = `http://${shownHost}:${actualPort}`;
    console.log(`duikou is running at ${base}/ (lab server: ${redactUrl(setting('DUIKOU_DATABASE_URL'))})`);
    if (access.source === 'setting') console.log(`Sign in at ${signInUrl(base, access)} with your DUIKOU_TOKEN (用您的令牌登录).`);
    else if (access.source !== 'none') console.log(`Open this address to sign in (打开此地址登录): ${signInUrl(base, access)}`);
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      server.close(() => {
        void lab.close().finally(() => process.exit(0));
      });
      server.closeAllConnections();
    });
  }
  return new Promise<never>(() => undefined);
}

/** Open a database of the data folder; one duikou cannot use stops the start with a message naming it, not a stack trace. */
function open<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof DataFileError)) throw err;
    console.error(`duikou: ${err.message}`);
    process.exit(1);
  }
}
const store = open(() => new AnnotationStore(openDatabase(join(dataDir, 'duikou.db'))));
const indexDb = open(() => openIndexDatabase(join(dataDir, 'index.db')));
// duikou's own library folder (beside the sample) is made now, so it is watched from the start; a folder
// the user chose with DUIKOU_CORPUS is never made: missing, it is reported and its papers served from the index.
if (library.sample !== null) mkdirSync(library.dir, { recursive: true });
// The glossary is read by the first sync, which reports a broken one instead of failing the start.
const engine = new Engine();

/** A one-line progress bar: files, MB, time left. */
function bar(p: SyncProgress): string {
  const width = 24;
  const frac = p.totalBytes > 0 ? p.bytes / p.totalBytes : p.done / Math.max(1, p.total);
  const filled = Math.round(frac * width);
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const eta = p.etaMs === null ? '' : ` · ${Math.ceil(p.etaMs / 1000)} s left`;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} files · ${mb(p.bytes)}/${mb(p.totalBytes)} MB${eta}`;
}
const tty = process.stdout.isTTY === true;
const sync = new CorpusSync(engine, indexDb, library, store, (p) => {
  if (tty) process.stdout.write(`\r${bar(p)} `);
});

// With the corpus and data folders and the sync, papers can be added, edited and removed from the app.
const app = createApp({
  engine,
  store,
  access: access.access,
  status: sync.status,
  sync,
  corpusDir: library.dir,
  ...(library.sample !== null && { sampleDir: library.sample }),
  dataDir,
});
const server = app.listen(port, host, (err?: Error) => {
  if (err) cannotListen(err);
  const addr = server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  // A wildcard bind is reached on every address; the loopback one works from this machine.
  const shownHost = isWildcard(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const base = `http://${shownHost}:${actualPort}`;
  console.log(`duikou is running at ${base}/`);
  if (access.source === 'setting') console.log(`Sign in at ${signInUrl(base, access)} with your DUIKOU_TOKEN (用您的令牌登录).`);
  else if (access.source !== 'none') {
    console.log(`Open this address to sign in (打开此地址登录): ${signInUrl(base, access)}`);
    console.log(`(The token is kept in ${access.tokenFile}, readable only by your account; scripts send it as Authorization: Bearer.)`);
  }
});

// Watch from the start, so a change made while the first sync runs is synced after it.
const watcher = sync.watch((s) => {
  if (s.indexed + s.removed > 0) console.log(`Corpus changed: ${s.indexed} papers re-indexed, ${s.removed} removed`);
  for (const e of s.errors) console.error(`duikou: skipped ${e.file}: ${e.message}`);
});
const stats = await sync.request();
if (stats) {
  const passages = engine.documents().reduce((n, d) => n + d.passages.length, 0);
  if (tty) process.stdout.write('\r\x1b[K');
  console.log(
    `Indexed ${engine.documents().length} papers, ${passages} passages in ${(stats.ms / 1000).toFixed(1)} s ` +
      `(${stats.indexed} read and segmented, ${stats.reused} unchanged, ${stats.removed} removed)`,
  );
  for (const e of stats.errors) console.error(`duikou: skipped ${e.file}: ${e.message}`);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    void watcher.close();
    server.close(() => {
      store.db.close();
      sync.indexDb.close();
      process.exit(0);
    });
    server.closeAllConnections();
  });
}
