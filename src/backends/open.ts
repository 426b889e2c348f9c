/**
 * Choosing the backend at start: PostgreSQL when `DUIKOU_DATABASE_URL` is
 * set (the lab-server mode), else the embedded SQLite database in the data
 * folder, exactly as before.
 */
import { join } from 'node:path';
import { setting } from '../core/settings.js';
import { AnnotationStore } from '../store/annotations.js';
import { openDatabase } from '../store/db.js';
import { EmbeddedAnnotationBackend } from './embedded/annotations.js';
import { PgAnnotationStore } from './postgres/annotations.js';
import { openPgPool, pgOptionsFromSettings } from './postgres/db.js';
import { PgSearchBackend } from './postgres/search.js';
import type { Glossary } from '../pipeline/glossary.js';
import type { AnnotationBackend } from './types.js';

/** Open the annotation backend the settings ask for. */
export async function openAnnotationBackend(env: NodeJS.ProcessEnv = process.env): Promise<AnnotationBackend> {
  const pgOptions = pgOptionsFromSettings(env);
  if (pgOptions) return PgAnnotationStore.open(pgOptions);
  return new EmbeddedAnnotationBackend(new AnnotationStore(openDatabase(join(setting('DUIKOU_DATA', env), 'duikou.db'))));
}

/**
 * The lab server's search index, when the settings name one (else null: the
 * caller indexes the corpus folder itself). `close` ends its connections.
 */
export async function openPgSearch(
  glossary: () => Glossary,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ search: PgSearchBackend; close(): Promise<void> } | null> {
  const pgOptions = pgOptionsFromSettings(env);
  if (!pgOptions) return null;
  const pool = await openPgPool({ ...pgOptions, poolSize: 2 });
  return { search: await PgSearchBackend.open(pool, glossary()), close: () => pool.end() };
}
