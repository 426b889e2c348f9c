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
import { pgOptionsFromSettings } from './postgres/db.js';
import type { AnnotationBackend } from './types.js';

/** Open the annotation backend the settings ask for. */
export async function openAnnotationBackend(env: NodeJS.ProcessEnv = process.env): Promise<AnnotationBackend> {
  const pgOptions = pgOptionsFromSettings(env);
  if (pgOptions) return PgAnnotationStore.open(pgOptions);
  return new EmbeddedAnnotationBackend(new AnnotationStore(openDatabase(join(setting('DUIKOU_DATA', env), 'duikou.db'))));
}
