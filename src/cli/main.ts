/**
 * `npx duikou …`: the command line. Each command is a thin wrapper over the
 * same engine and store the web app uses.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { Command, InvalidArgumentError } from 'commander';
import pc from 'picocolors';
import { UserInputError } from '../core/errors.js';
import { SETTINGS, setting } from '../core/settings.js';
import { openCorpus } from '../backends/embedded/corpus.js';
import { NEAR_HEADING, type SearchHit } from '../backends/search-contract.js';
import { markSegments } from '../pipeline/highlight.js';
import { FORMAT_NAMES, buildExport } from '../services/export-service.js';
import { parseWebAnnotationBackup } from '../export/index.js';
import {
  type IncomingPaper,
  MAX_UPLOAD_FILE_BYTES,
  PAPER_EXTENSIONS,
  type PaperError,
  addPapers,
  findClashes,
  sanitizePaperName,
  tempPaperPath,
} from '../http/documents-api.js';
import { loadLibraryGlossary, resolveLibrary } from '../library/library.js';
import { openPersistentCorpus, syncCorpus } from '../backends/embedded/persist.js';
import { copyWholeLibrary } from '../backends/migrate.js';
import { type PaperShelf, folderShelf, pgShelf } from '../backends/papers.js';
import { PgSearchBackend } from '../backends/postgres/search.js';
import type { AnnotationBackend } from '../backends/types.js';
import { emptyGlossary } from '../pipeline/glossary.js';
import { openAnnotationBackend, openPgSearch } from '../backends/open.js';
import { parseQuery } from '../pipeline/query.js';
import { pgBackup } from '../backends/postgres/backup.js';
import { PgAnnotationStore } from '../backends/postgres/annotations.js';
import { openPgPool, pgOptionsFromSettings, redactUrl } from '../backends/postgres/db.js';
import { DataFileError, openDatabase } from '../store/db.js';
import { ROLES } from '../store/users.js';
import { EmbeddedAccountBackend } from '../backends/embedded/accounts.js';
import { PgAccountStore } from '../backends/postgres/accounts.js';
import type { AccountBackend } from '../backends/types.js';
import { UserStore } from '../store/users.js';

const program = new Command();
program
  .name('duikou')
  .description('Bilingual (Chinese + English) full-text search and annotation for research papers')
  .addHelpText(
    'after',
    `\nSettings (environment variables):\n${SETTINGS.map((s) => `  ${s.name.padEnd(14)} ${s.help} (default: ${s.default || 'none'})`).join('\n')}`,
  );

function positiveInt(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('must be a whole number ≥ 1');
  return Number(v);
}

/** One hit for a terminal: title, section, and the passage with its matches in colour. */
export function formatHit(h: SearchHit, rank: number, colour: boolean): string {
  const c = colour ? pc : pc.createColors(false);
  const body = markSegments(h.text, h.start, h.matches)
    .map((s) => (s.mark ? c.bold(c.red(s.text)) : s.text))
    .join('')
    .replace(/\s*\n\s*/g, ' ');
  const where = [h.docId, h.section ? `§ ${h.section}` : null, h.kind !== 'paragraph' ? h.kind : null].filter(Boolean).join(' · ');
  const via = [...new Set(h.matches.map((m) => m.via).filter(Boolean))];
  return [
    `${c.dim(`${rank}.`)} ${c.cyan(h.title)} ${c.dim(`(${h.score})`)}`,
    `   ${c.dim(where)}${via.length ? c.yellow(`  via ${via.join(', ')}`) : ''}`,
    `   ${body}`,
  ].join('\n');
}

program
  .command('search')
  .description('search the corpus with the query language (对口支援, "key node", a OR b, -term, lang:zh, doc:<id>)')
  .argument('<query...>', 'the query')
  .option('--lang <lang>', 'only passages in zh or en')
  .option('--doc <id>', 'only this document')
  .option('--limit <n>', 'how many hits', positiveInt, 10)
  .option('--offset <n>', 'skip this many hits', (v) => (/^\d+$/.test(v) ? Number(v) : Number.NaN), 0)
  .option('--no-expand', 'no cross-lingual expansion through the glossary')
  .option('--json', 'print the API JSON instead')
  .action(async (words: string[], o: { lang?: string; doc?: string; limit: number; offset: number; expand: boolean; json?: boolean }) => {
    if (o.lang !== undefined && o.lang !== 'zh' && o.lang !== 'en') throw new UserInputError('bad_parameter', '--lang must be zh or en');
    const query = words.join(' ');
    const opts = {
      lang: o.lang as 'zh' | 'en' | undefined,
      docs: o.doc ? [o.doc] : [],
      limit: o.limit,
      offset: o.offset,
      expand: o.expand,
    };
    // On a lab server, its shared index answers; otherwise the corpus folder is indexed here.
    const lab = await openPgSearch(() => loadLibraryGlossary(resolveLibrary()));
    let r;
    try {
      r = lab ? await lab.search.search(query, parseQuery(query), opts) : (await openCorpus(resolveLibrary())).search(query, opts);
    } finally {
      await lab?.close();
    }
    if (o.json) {
      const { query, total, mode, strictTotal, notice, hits, perDocument, near } = r;
      process.stdout.write(`${JSON.stringify({ query, total, mode, strictTotal, notice, hits, perDocument, near }, null, 2)}\n`);
      return;
    }
    const colour = pc.isColorSupported && process.stdout.isTTY === true;
    console.log(`${r.total} passage${r.total === 1 ? '' : 's'} match ${JSON.stringify(r.query)}`);
    if (r.notice) console.log(r.notice);
    for (const [i, h] of r.hits.entries()) console.log(`\n${formatHit(h, o.offset + i + 1, colour)}`);
    if (r.near) {
      console.log(`\n${NEAR_HEADING}`);
      for (const [i, h] of r.near.entries()) console.log(`\n${formatHit(h, i + 1, colour)}`);
    }
  });

/** The engine and the annotation backend (PostgreSQL's with DUIKOU_DATABASE_URL), as the server opens them. */
async function openAll() {
  const engine = await openCorpus(resolveLibrary());
  const store = await openAnnotationBackend();
  return { engine, store };
}

/** The options of `duikou export`, as commander parses them. */
type ExportCliOptions = {
  format: string;
  tag?: string;
  doc?: string;
  q?: string;
  style: string;
  groupBy: string;
  lang: string;
  output?: string;
};

program
  .command('export')
  .description('export annotated quotes: md (with citations), csv, json (W3C Web Annotation; the backup format), docx, qdpx (REFI-QDA)')
  .option('--format <format>', `one of ${Object.keys(FORMAT_NAMES).join(', ')}`, 'md')
  .option('--tag <tag>', 'only annotations with this tag or a child tag')
  .option('--doc <id>', 'only annotations of this paper')
  .option('--q <text>', 'only annotations whose quote or note contains the text')
  .option('--style <style>', "citation style: apa, gbt7714, or auto (each paper in its language's style)", 'auto')
  .option('--group-by <what>', 'group Markdown and Word exports by tag or paper', 'tag')
  .option('--lang <lang>', "language of the labels (Note, Tags …): en, zh, or auto (that of most of the quotes' papers)", 'auto')
  .option('-o, --output <file>', 'write to FILE instead of standard output')
  .action(async (o: ExportCliOptions) => {
    const { engine, store } = await openAll();
    try {
      const out = await buildExport(engine, store, {
        format: o.format,
        tag: o.tag,
        docId: o.doc,
        q: o.q,
        style: o.style,
        groupBy: o.groupBy,
        lang: o.lang,
      });
      const binary = out.format === 'docx' || out.format === 'refiqda';
      if (binary && !o.output && process.stdout.isTTY) {
        throw new UserInputError('binary_to_terminal', `A ${o.format} file is binary; use --output FILE or redirect with > FILE`);
      }
      const sink = o.output ? createWriteStream(o.output) : process.stdout;
      await pipeline(out.body, sink, { end: !!o.output });
      if (o.output) console.error(`Exported ${out.count} annotations to ${o.output}`);
    } finally {
      await store.close();
    }
  });

program
  .command('import')
  .description(
    'restore annotations and tags from a W3C Web Annotation JSON backup (duikou export --format json); importing twice adds nothing',
  )
  .argument('<file>', 'the backup file')
  .action(async (file: string) => {
    const backup = parseWebAnnotationBackup(await readFile(file, 'utf8'));
    const store = await openAnnotationBackend();
    try {
      const { added, skipped } = await store.restore(backup);
      console.log(`Imported ${added} annotations and ${backup.tags.length} tag definitions from ${file}; ${skipped} were already there`);
    } finally {
      await store.close();
    }
  });

program
  .command('migrate')
  .description(
    'copy this library — papers with their metadata, annotations and tags — into an empty PostgreSQL database (--to postgres://…) or data folder (--to FOLDER), checked by counts and checksums of the papers and of the W3C export',
  )
  .requiredOption('--to <target>', 'postgres://user:password@host/database, or a folder for an embedded library (its DUIKOU_DATA)')
  .action(async (o: { to: string }) => {
    const closers: Array<() => Promise<void>> = [];
    try {
      // The source: this library as the settings name it (PostgreSQL with DUIKOU_DATABASE_URL, else the folders).
      const fromAnnotations = await openAnnotationBackend();
      closers.push(() => fromAnnotations.close());
      const lab = await openPgSearch(() => emptyGlossary());
      if (lab) closers.push(() => lab.close());
      const sourceUrl = pgOptionsFromSettings()?.url;
      const fromPapers = lab && sourceUrl ? pgShelf(lab.search, redactUrl(sourceUrl)) : folderShelf(resolveLibrary());

      const toPg = /^postgres(ql)?:\/\//.test(o.to);
      let to: { annotations: AnnotationBackend; papers: PaperShelf };
      if (toPg) {
        const store = await PgAnnotationStore.open({ ...pgOptionsFromSettings({ ...process.env, DUIKOU_DATABASE_URL: o.to }), url: o.to });
        closers.unshift(() => store.close());
        // Papers are indexed, not searched, here: the glossary (query-time expansion) plays no part.
        to = { annotations: store, papers: pgShelf(await PgSearchBackend.open(store.pool, emptyGlossary()), redactUrl(o.to)) };
      } else {
        const store = await openAnnotationBackend({ DUIKOU_DATA: o.to });
        closers.unshift(() => store.close());
        to = { annotations: store, papers: folderShelf(resolveLibrary({ DUIKOU_DATA: o.to })) };
      }
      const d = await copyWholeLibrary({ annotations: fromAnnotations, papers: fromPapers }, to);
      console.log(
        `Copied ${d.papers} papers, ${d.annotations} annotations and ${d.tags} tags to ${toPg ? redactUrl(o.to) : o.to} ` +
          `(papers sha256 ${d.papersSha256}, W3C export sha256 ${d.sha256}, both the same as the source's)`,
      );
      console.log(
        toPg
          ? 'Lab-server instances on this database serve these papers now. Its indexing instance makes the index match its DUIKOU_CORPUS folder: give it a copy of this library’s papers, or an empty folder to keep them as copied.'
          : `Serve it with DUIKOU_DATA=${o.to} (papers in ${join(o.to, 'library')}); glossary files are not copied.`,
      );
    } finally {
      for (const close of closers) await close().catch(() => undefined);
    }
  });

program
  .command('backup')
  .description(
    'copy the annotation database to FILE, consistently, even while the server runs (SQLite online backup; with DUIKOU_DATABASE_URL, pg_dump of the lab server)',
  )
  .argument('<file>', 'where to write the copy')
  .option('--force', 'overwrite FILE if it exists')
  .action(async (file: string, o: { force?: boolean }) => {
    if (existsSync(file) && !o.force) throw new UserInputError('file_exists', `${file} exists; pass --force to overwrite it`);
    const pgOptions = pgOptionsFromSettings();
    if (pgOptions) {
      const r = await pgBackup(pgOptions.url, file);
      console.log(
        `Backed up the lab server's database (${r.annotations} annotations, ${r.tables} tables) to ${file} with pg_dump in ${r.ms} ms ` +
          `(${(r.bytes / 1e6).toFixed(1)} MB; restore with pg_restore --dbname=… ${file})`,
      );
      return;
    }
    const source = join(setting('DUIKOU_DATA'), 'duikou.db');
    if (!existsSync(source)) throw new UserInputError('no_database', `No database at ${source} yet: nothing to back up`);
    const db = openDatabase(source);
    try {
      const started = Date.now();
      await db.backup(file);
      const copy = new Database(file, { readonly: true });
      const check = copy.pragma('integrity_check', { simple: true });
      const n = (copy.prepare('SELECT count(*) AS n FROM annotations').get() as { n: number }).n;
      copy.close();
      if (check !== 'ok') throw new Error(`backup ${file} failed its integrity check: ${String(check)}`);
      console.log(`Backed up ${n} annotations to ${file} in ${Date.now() - started} ms (integrity check ok)`);
    } finally {
      db.close();
    }
  });

/**
 * A password read without echo from a terminal, or the first line of stdin
 * when it is piped (`printf '%s\n' "$PW" | npx duikou user add li`): never from
 * the arguments, which other accounts can see in the process list.
 */
async function readPassword(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    let data = '';
    for await (const chunk of process.stdin) data += String(chunk);
    return data.split(/\r?\n/)[0] ?? '';
  }
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  // Echo nothing while the password is typed.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
    if (s.startsWith(prompt)) process.stdout.write(prompt);
  };
  try {
    const first = await new Promise<string>((resolve) => rl.question(prompt, resolve));
    process.stdout.write('\n');
    const again = await new Promise<string>((resolve) => rl.question('Again 再次输入: ', resolve));
    process.stdout.write('\n');
    if (first !== again) throw new UserInputError('password_mismatch', 'The two passwords differ (两次输入的密码不一致)');
    return first;
  } finally {
    rl.close();
  }
}

/** Run `fn` on the accounts of the library: the lab server's (DUIKOU_DATABASE_URL), else the data folder's database. */
async function withUsers<T>(fn: (users: AccountBackend) => Promise<T>): Promise<T> {
  const pgOptions = pgOptionsFromSettings();
  if (pgOptions) {
    const pool = await openPgPool({ ...pgOptions, poolSize: 2 });
    try {
      return await fn(new PgAccountStore(pool));
    } finally {
      await pool.end();
    }
  }
  const db = openDatabase(join(setting('DUIKOU_DATA'), 'duikou.db'));
  try {
    return await fn(new EmbeddedAccountBackend(new UserStore(db)));
  } finally {
    db.close();
  }
}

const user = program
  .command('user')
  .description('researcher accounts: once one exists, everyone signs in with a name and password (roles: owner, coder, reader)');
user
  .command('add')
  .description('add an account; the password is asked for (or read from the first line of stdin)')
  .argument('<name>', 'the name to sign in with')
  .option('--role <role>', `one of ${ROLES.join(', ')}`, 'coder')
  .action(async (name: string, o: { role: string }) => {
    await withUsers(async (users) => {
      const first = !(await users.hasUsers());
      const u = await users.add(name, o.role, await readPassword(`Password for ${name} 密码: `));
      console.log(`Added ${u.name} (${u.role}).`);
      if (first) console.log('From now on everyone signs in with a name and password; scripts can still send the access token.');
      if (first && u.role !== 'owner')
        console.log(`Nobody can manage accounts in the app yet: add an owner (npx duikou user add NAME --role owner).`);
    });
  });
user
  .command('list')
  .description('list the accounts and their roles')
  .action(async () => {
    await withUsers(async (users) => {
      const list = await users.list();
      if (list.length === 0) console.log('No accounts: duikou runs with one owner, signed in with the access token.');
      for (const u of list) console.log(`${u.name}\t${u.role}\t${u.createdAt.slice(0, 10)}`);
    });
  });
user
  .command('passwd')
  .description("set an account's password (its sessions end)")
  .argument('<name>')
  .action(async (name: string) => {
    await withUsers(async (users) => {
      if (!(await users.find(name))) throw new UserInputError('not_found', `No user "${name}" (未找到该用户)`);
      await users.setPassword(name, await readPassword(`New password for ${name} 新密码: `));
      console.log(`Password of ${name} changed; its sessions have ended.`);
    });
  });
user
  .command('remove')
  .description('remove an account (its annotations keep its name)')
  .argument('<name>')
  .action(async (name: string) => {
    await withUsers(async (users) => {
      const u = await users.remove(name);
      console.log(`Removed ${u.name}.`);
    });
  });

program
  .command('add')
  .description(
    'copy papers into your library (DUIKOU_CORPUS, or DUIKOU_DATA/library beside the sample papers) and index them (a running server picks them up too); names are checked as for uploads',
  )
  .argument('<files...>', `papers to add (${PAPER_EXTENSIONS.join(' ')})`)
  .option('--replace', 'put a new version in place of a paper with the same name (the old file is kept in DUIKOU_DATA/removed/)')
  .action(async (files: string[], o: { replace?: boolean }) => {
    const library = resolveLibrary();
    const corpusDir = library.dir;
    const dataDir = setting('DUIKOU_DATA');
    await mkdir(corpusDir, { recursive: true });
    const errors: PaperError[] = [];
    const candidates: { path: string; name: string }[] = [];
    for (const path of files) {
      try {
        const name = sanitizePaperName(basename(path));
        const st = await stat(path).catch(() => null);
        if (!st?.isFile()) throw new UserInputError('not_a_file', `${path} is not a file (找不到该文件)`);
        if (st.size > MAX_UPLOAD_FILE_BYTES) {
          throw new UserInputError('file_too_large', `${path} is larger than ${MAX_UPLOAD_FILE_BYTES / 1024 / 1024} MB (文件过大)`);
        }
        if (candidates.some((c) => c.name.toLowerCase() === name.toLowerCase())) {
          throw new UserInputError('duplicate_name', `${path}: ${name} is already among the files to add (文件名重复)`);
        }
        candidates.push({ path, name });
      } catch (err) {
        if (!(err instanceof UserInputError)) throw err;
        errors.push({ file: path, code: err.code, message: err.message });
      }
    }
    const clashes = o.replace
      ? new Map<string, string>()
      : await findClashes(
          library,
          candidates.map((c) => c.name),
        );
    const incoming: IncomingPaper[] = [];
    try {
      for (const c of candidates) {
        const existing = clashes.get(c.name);
        if (existing !== undefined) {
          errors.push({
            file: c.path,
            code: 'file_exists',
            message: `${c.name} is already in the corpus${existing !== c.name ? ` (as ${existing})` : ''}; use --replace to put the new version in its place (文献已存在)`,
          });
          continue;
        }
        const tempPath = tempPaperPath(corpusDir);
        await copyFile(c.path, tempPath);
        incoming.push({ name: c.name, tempPath });
      }
      if (incoming.length > 0) {
        let opened: Awaited<ReturnType<typeof openPersistentCorpus>> | null = null;
        try {
          const result = await addPapers(
            {
              corpusDir,
              sampleDir: library.sample,
              dataDir,
              engine: () => opened!.engine,
              sync: async () => {
                if (!opened) {
                  opened = await openPersistentCorpus(library, dataDir);
                  return opened.stats;
                }
                return syncCorpus(opened.engine, opened.db, library);
              },
            },
            incoming,
            o.replace === true,
          );
          for (const d of result.documents) {
            console.log(`${d.status === 'replaced' ? 'Replaced' : 'Added'} ${d.file}: ${d.title} (${d.passages} passages, id ${d.id})`);
          }
          errors.push(...result.errors);
        } catch (err) {
          if (!(err instanceof UserInputError)) throw err;
          errors.push({ file: '', code: err.code, message: err.message });
        } finally {
          (opened as Awaited<ReturnType<typeof openPersistentCorpus>> | null)?.db.close();
        }
      }
    } finally {
      await Promise.all(incoming.map((p) => rm(p.tempPath, { force: true })));
    }
    for (const e of errors) console.error(`duikou: ${e.message}`);
    if (errors.length > 0) process.exitCode = 2;
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof UserInputError) {
    console.error(`duikou: ${err.message}`);
    process.exit(2);
  }
  // A damaged or unwritable database: the message names the file and what to do; a stack trace would not help.
  if (err instanceof DataFileError) {
    console.error(`duikou: ${err.message}`);
    process.exit(1);
  }
  throw err;
}
