/** What the server's thread and jieba's thread (jieba-thread.ts, jieba-worker.ts) share. */

/** The BroadcastChannel on which jieba's thread says its dictionaries are loaded. */
export const JIEBA_LOADED = 'duikou:jieba-loaded';
