/**
 * Limits on importing one file: what a hostile or broken file may cost before
 * duikou gives up on it. The import runs in a worker thread (see
 * `contained.ts`); the memory and time limits end that worker, the others make
 * the importers refuse a file early, before the expensive part.
 */
import { UserInputError } from '../../core/errors.js';
import { setting } from '../../core/settings.js';

/** The limits of one import. */
export interface ImportLimits {
  /** Heap and array buffers the worker may use, in MB; past it the worker is ended. */
  memoryMb: number;
  /** Longest one file may take to convert and prepare, in milliseconds. */
  timeoutMs: number;
  /** Most bytes the entries of a zip container (DOCX) may inflate to, all together. */
  maxUnzippedBytes: number;
  /** Most entries in a zip container (a Word file has tens to a few hundred). */
  maxZipEntries: number;
  /** Most pages of a PDF. */
  maxPdfPages: number;
  /** Most text items (runs of text) on one PDF page (a dense page has a few thousand). */
  maxPageItems: number;
}

/** The defaults, as the settings table documents them. */
export const DEFAULT_IMPORT_LIMITS: Readonly<ImportLimits> = {
  memoryMb: 1024,
  timeoutMs: 180_000,
  maxUnzippedBytes: 256 * 1024 * 1024,
  maxZipEntries: 5000,
  maxPdfPages: 5000,
  maxPageItems: 100_000,
};

function positive(name: Parameters<typeof setting>[0], env: NodeJS.ProcessEnv): number {
  const raw = setting(name, env);
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new UserInputError('bad_setting', `${name} must be a positive number, not ${JSON.stringify(raw)} (设置值无效)`);
  }
  return n;
}

/** The limits the settings (environment variables) ask for. */
export function importLimitsFromSettings(env: NodeJS.ProcessEnv = process.env): ImportLimits {
  return {
    ...DEFAULT_IMPORT_LIMITS,
    memoryMb: positive('DUIKOU_IMPORT_MEMORY_MB', env),
    timeoutMs: Math.round(positive('DUIKOU_IMPORT_TIMEOUT_S', env) * 1000),
    maxUnzippedBytes: Math.round(positive('DUIKOU_IMPORT_MAX_UNZIPPED_MB', env) * 1024 * 1024),
    maxPdfPages: Math.floor(positive('DUIKOU_IMPORT_MAX_PDF_PAGES', env)),
  };
}
