/**
 * How the lab server's instances keep each other informed. Every write of
 * the annotation store is one transaction holding one advisory lock (so
 * writes from all instances are serialised like SQLite's IMMEDIATE
 * transactions: no lost tag creations, no half-applied renames), and every
 * write (the search index's too) announces itself on {@link CHANGES_CHANNEL}
 * with a NOTIFY that PostgreSQL delivers only if the transaction commits, so
 * other instances can refresh their pages.
 */
import type pg from 'pg';
import { inTransaction } from './db.js';

/** The channel on which every committed write is announced. */
export const CHANGES_CHANNEL = 'duikou_changes';

/** What a change notification says: which kind of thing changed, and the document when known. */
export interface ChangeNotice {
  what: 'annotations' | 'tags' | 'documents';
  docId?: string;
}

/** Advisory-lock key serialising writes (any number; only duikou uses it). */
const WRITE_LOCK = 0x64_75_69_77; // 'duiw'

/** Announce a change to the other instances, inside the writing transaction (delivered when it commits). */
export async function announce(c: pg.PoolClient, notice: ChangeNotice): Promise<void> {
  await c.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, JSON.stringify(notice)]);
}

/** Run `fn` in one transaction holding the write lock; announce `notice` on commit. */
export async function writeAndAnnounce<T>(pool: pg.Pool, notice: ChangeNotice, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK]);
    const result = await fn(c);
    await announce(c, notice);
    return result;
  });
}

/**
 * Call `listener` for every committed change, from any instance. When the
 * listening connection is lost (the server restarted, the network
 * dropped), it connects again every second until it can, then calls
 * `onReconnect`: changes made meanwhile were not announced, so the caller
 * reloads what it keeps. Resolves to a function that stops listening.
 */
export async function listenForChanges(
  pool: pg.Pool,
  listener: (notice: ChangeNotice) => void,
  onReconnect?: () => void,
): Promise<() => Promise<void>> {
  let stopped = false;
  let current: pg.PoolClient | null = null;
  let timer: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    const c = await pool.connect();
    current = c;
    const lost = (err?: Error) => {
      if (current !== c) return;
      current = null;
      c.release(err ?? new Error('connection ended'));
      if (!stopped) retry();
    };
    c.on('error', lost);
    c.on('end', () => lost());
    c.on('notification', (msg) => {
      if (msg.channel !== CHANGES_CHANNEL || !msg.payload) return;
      try {
        listener(JSON.parse(msg.payload) as ChangeNotice);
      } catch {
        // A payload that is not ours: ignore it.
      }
    });
    try {
      await c.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (err) {
      lost(err as Error);
      throw err;
    }
  };
  const retry = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (stopped || current) return;
      connect().then(
        () => onReconnect?.(),
        () => undefined, // lost() already scheduled the next try
      );
    }, 1000);
  };
  await connect();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    const c = current;
    current = null;
    if (!c) return;
    try {
      await c.query(`UNLISTEN ${CHANGES_CHANNEL}`);
      c.release();
    } catch (err) {
      c.release(err as Error);
    }
  };
}
