/**
 * Uploads in progress: an uploaded paper is written to a hidden temp file in
 * the corpus folder, checked, then renamed into place (so the folder watcher
 * never sees half a paper); what a killed server left behind is removed at
 * the next sync.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Prefix of the hidden temp files uploads are written to in the corpus folder before their rename. */
export const UPLOAD_TEMP_PREFIX = '.duikou-upload-';

/** Age after which an upload's temp file is taken as left behind (an upload cut off by a kill). */
export const STALE_UPLOAD_MS = 60 * 60_000;

/**
 * Removes upload temp files older than `olderThanMs` from a corpus folder:
 * a server killed during an upload leaves its temp file, which nothing else
 * would ever remove. A younger one may be an upload in progress and stays.
 * @returns the names removed
 */
export async function removeStaleUploads(dir: string, olderThanMs = STALE_UPLOAD_MS): Promise<string[]> {
  const removed: string[] = [];
  const now = Date.now();
  // A folder that cannot be read is reported by the listing that follows, not here.
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile() || !e.name.startsWith(UPLOAD_TEMP_PREFIX)) continue;
    const path = join(dir, e.name);
    try {
      if (now - (await stat(path)).mtimeMs < olderThanMs) continue;
      await rm(path, { force: true });
      removed.push(e.name);
    } catch {
      // Gone already, or not ours to remove: the next sync tries again.
    }
  }
  return removed;
}
