/**
 * The embedded account and round backends: today's synchronous SQLite
 * `UserStore` and `RoundStore`, behind the asynchronous interfaces the HTTP
 * layer uses. Every method delegates unchanged; a thrown error becomes a
 * rejected promise.
 */
import { RoundStore } from '../../store/rounds.js';
import { UserStore } from '../../store/users.js';
import type { Database } from '../../store/db.js';
import type { AccountBackend, RoundBackend } from '../types.js';

type Users = UserStore;
type Rounds = RoundStore;

/** {@link AccountBackend} over an open SQLite {@link UserStore}. */
export class EmbeddedAccountBackend implements AccountBackend {
  constructor(readonly users: Users) {}

  async hasUsers() {
    return this.users.hasUsers();
  }
  async list() {
    return this.users.list();
  }
  async find(...a: Parameters<Users['find']>) {
    return this.users.find(...a);
  }
  async add(...a: Parameters<Users['add']>) {
    return this.users.add(...a);
  }
  async setPassword(...a: Parameters<Users['setPassword']>) {
    return this.users.setPassword(...a);
  }
  async setRole(...a: Parameters<Users['setRole']>) {
    return this.users.setRole(...a);
  }
  async remove(...a: Parameters<Users['remove']>) {
    return this.users.remove(...a);
  }
  async authenticate(...a: Parameters<Users['authenticate']>) {
    return this.users.authenticate(...a);
  }
  async startSession(...a: Parameters<Users['startSession']>) {
    return this.users.startSession(...a);
  }
  async sessionUser(...a: Parameters<Users['sessionUser']>) {
    return this.users.sessionUser(...a);
  }
  async endSession(...a: Parameters<Users['endSession']>) {
    return this.users.endSession(...a);
  }
}

/** {@link RoundBackend} over an open SQLite {@link RoundStore}. */
export class EmbeddedRoundBackend implements RoundBackend {
  constructor(readonly rounds: Rounds) {}

  async create(...a: Parameters<Rounds['create']>) {
    return this.rounds.create(...a);
  }
  async close(...a: Parameters<Rounds['close']>) {
    return this.rounds.close(...a);
  }
  async list() {
    return this.rounds.list();
  }
  async get(...a: Parameters<Rounds['get']>) {
    return this.rounds.get(...a);
  }
  async mustGet(...a: Parameters<Rounds['mustGet']>) {
    return this.rounds.mustGet(...a);
  }
}

/** Accounts and rounds of an embedded library, in its SQLite database. */
export function embeddedAccounts(db: Database): { users: AccountBackend; rounds: RoundBackend } {
  return { users: new EmbeddedAccountBackend(new UserStore(db)), rounds: new EmbeddedRoundBackend(new RoundStore(db)) };
}
