/**
 * One indexer per lab server: of all app instances on one database, exactly
 * one watches the corpus and indexes; the others serve searches from the
 * shared index. The indexer holds a session-level advisory lock on its own
 * connection, so when its process dies (or its connection drops) PostgreSQL
 * releases the lock and the next instance that tries takes over.
 */
import type pg from 'pg';

/** Advisory-lock key of the indexer role ('duii'). */
export const INDEXER_LOCK = 0x64_75_69_69;

/** The indexer role, once this instance holds it. */
export interface IndexerLease {
  /** Give the role up (the connection goes back to the pool). */
  release(): Promise<void>;
  /**
   * Settles when the lock's connection is lost (the server restarted, the
   * network dropped): the role is gone then and another instance may take
   * it, so indexing must stop and the instance try again like the others.
   */
  readonly lost: Promise<Error>;
}

/**
 * Try once to become the indexer.
 * @returns the lease, or null while another instance holds the role
 */
export async function tryBecomeIndexer(pool: pg.Pool): Promise<IndexerLease | null> {
  const client = await pool.connect();
  try {
    const got = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [INDEXER_LOCK])).rows[0]?.ok === true;
    if (!got) {
      client.release();
      return null;
    }
  } catch (err) {
    client.release(err as Error);
    throw err;
  }
  let released = false;
  const lost = new Promise<Error>((resolve) => {
    client.on('error', (err) => {
      if (released) return;
      released = true;
      client.release(err);
      resolve(err);
    });
  });
  return {
    lost,
    release: async () => {
      if (released) return;
      released = true;
      try {
        await client.query('SELECT pg_advisory_unlock($1)', [INDEXER_LOCK]);
        client.release();
      } catch (err) {
        // The connection is gone, and the lock with it: discard the client.
        client.release(err as Error);
      }
    },
  };
}

/**
 * Keep trying to become the indexer every `intervalMs` until it works, then
 * call `onLeader` once. Returns a function that stops trying (and releases
 * the role if it was taken).
 */
export function watchForIndexerRole(pool: pg.Pool, onLeader: (lease: IndexerLease) => void, intervalMs = 1000): () => Promise<void> {
  let stopped = false;
  let lease: IndexerLease | null = null;
  let timer: NodeJS.Timeout | undefined;
  const attempt = async () => {
    if (stopped) return;
    try {
      lease = await tryBecomeIndexer(pool);
    } catch (err) {
      console.error(`duikou: cannot check the indexer role (${(err as Error).message}); retrying`);
    }
    if (stopped) {
      await lease?.release();
      return;
    }
    if (lease) {
      try {
        onLeader(lease);
        return;
      } catch (err) {
        // Taking up the role failed (the data folder full or read-only): give the role back for
        // another instance and try again later, rather than end this one, which still serves.
        console.error(`duikou: cannot take up indexing (${(err as Error).message}); retrying`);
        const l = lease;
        lease = null;
        await l.release();
      }
    }
    timer = setTimeout(() => void attempt(), intervalMs);
  };
  void attempt();
  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await lease?.release();
  };
}
