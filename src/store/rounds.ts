/**
 * Coding rounds: the owner picks papers and coders; while the round is open
 * each of its coders sees only their own annotations in those papers (the
 * annotation store's `viewer` filter does the hiding); once the owner closes
 * it everyone sees all, and agreement can be measured.
 */
import { UserInputError } from '../core/errors.js';
import type { Database } from './db.js';

/** A coding round. */
export interface Round {
  id: number;
  name: string;
  status: 'open' | 'closed';
  /** The papers coded in the round. */
  docIds: string[];
  /** The coders (user names) who code blind while it is open. */
  coders: string[];
  createdBy: string;
  createdAt: string;
  closedAt: string | null;
}

/** Input of {@link RoundStore.create}. */
export interface NewRound {
  name: string;
  docIds: readonly string[];
  coders: readonly string[];
}

/** A round row as both stores read it. */
export interface RoundRow {
  id: number;
  name: string;
  status: 'open' | 'closed';
  created_by: string;
  created_at: string;
  closed_at: string | null;
}

const bad = (message: string) => new UserInputError('bad_round', message, 400);

/**
 * A new round's name, papers and coders, checked and without repeats (shared by every round store).
 * @throws UserInputError bad_round
 */
export function validateNewRound(input: NewRound): NewRound {
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name === '' || name.length > 200) throw bad('A round needs a name of at most 200 characters (轮次需要名称)');
  // A control character (a NUL, which the lab server's PostgreSQL cannot store, among them) has no place in a
  // name shown in lists and exports: refused on both backends alike.
  if (/\p{Cc}/u.test(name)) throw bad('A round name cannot hold control characters (轮次名称含有无效字符)');
  const docIds = [...new Set(input.docIds)];
  const coders = [...new Set(input.coders)];
  if (docIds.length === 0) throw bad('Choose at least one paper for the round (请至少选择一篇文献)');
  if (coders.length < 2) throw bad('Choose at least two coders for the round (请至少选择两位编码者)');
  return { name, docIds, coders };
}

/** The error for a round closed twice (also when two owners close it at once). */
export const roundClosed = (name: string) => new UserInputError('round_closed', `Round "${name}" is already closed (该轮次已结束)`, 409);

/** The error for an unknown round id. */
export const noRound = (id: number) => new UserInputError('not_found', `No coding round ${String(id)} (未找到该编码轮次)`, 404);

/** A round from its row and its members. */
export function toRound(r: RoundRow, docIds: string[], coders: string[]): Round {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    docIds,
    coders,
    createdBy: r.created_by,
    createdAt: r.created_at,
    closedAt: r.closed_at,
  };
}

/** Rounds over one better-sqlite3 connection (see `openDatabase`). */
export class RoundStore {
  constructor(readonly db: Database) {}

  /**
   * Open a round. `docIds` and `coders` must already be checked to exist (the caller knows the corpus and the accounts).
   * @throws UserInputError bad_round
   */
  create(input: NewRound, by: string): Round {
    const { name, docIds, coders } = validateNewRound(input);
    const id = this.db.transaction(() => {
      const rid = Number(
        this.db
          .prepare("INSERT INTO rounds (name, status, created_by, created_at) VALUES (?, 'open', ?, ?)")
          .run(name, by, new Date().toISOString()).lastInsertRowid,
      );
      const doc = this.db.prepare('INSERT INTO round_documents (round_id, doc_id) VALUES (?, ?)');
      for (const d of docIds) doc.run(rid, d);
      const coder = this.db.prepare('INSERT INTO round_coders (round_id, coder) VALUES (?, ?)');
      for (const c of coders) coder.run(rid, c);
      return rid;
    })();
    return this.mustGet(id);
  }

  /** Close a round: everyone sees all its annotations again. */
  close(id: number): Round {
    const r = this.mustGet(id);
    if (r.status === 'closed') throw roundClosed(r.name);
    this.db.prepare("UPDATE rounds SET status = 'closed', closed_at = ? WHERE id = ?").run(new Date().toISOString(), id);
    return this.mustGet(id);
  }

  list(): Round[] {
    return (this.db.prepare('SELECT * FROM rounds ORDER BY id DESC').all() as RoundRow[]).map((r) => this.withMembers(r));
  }

  get(id: number): Round | null {
    const row = this.db.prepare('SELECT * FROM rounds WHERE id = ?').get(id) as RoundRow | undefined;
    return row ? this.withMembers(row) : null;
  }

  /** @throws UserInputError not_found (404) */
  mustGet(id: number): Round {
    const r = Number.isSafeInteger(id) ? this.get(id) : null;
    if (!r) throw noRound(id);
    return r;
  }

  private withMembers(r: RoundRow): Round {
    const docIds = (
      this.db.prepare('SELECT doc_id FROM round_documents WHERE round_id = ? ORDER BY doc_id').all(r.id) as { doc_id: string }[]
    ).map((x) => x.doc_id);
    const coders = (
      this.db.prepare('SELECT coder FROM round_coders WHERE round_id = ? ORDER BY coder').all(r.id) as { coder: string }[]
    ).map((x) => x.coder);
    return toRound(r, docIds, coders);
  }
}
