/**
 * How the server is protected, from the settings: a token by default (made at
 * first start and kept in the data folder, readable only by its owner, as
 * Jupyter does), the user's own `DUIKOU_TOKEN`, or, on request, none.
 * Mistakes in these settings stop the server with a clear message.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import express from 'express';
import { UserInputError } from '../core/errors.js';
import { setting } from '../core/settings.js';
import { type Access, type TrustProxy, hostRules, isLoopback } from './security.js';

/** The file in the data folder that holds the generated token. */
export const TOKEN_FILE = 'access-token';

/** Shortest token accepted: shorter ones can be guessed or typed by accident (`DUIKOU_TOKEN=a`). */
export const MIN_TOKEN_LENGTH = 16;

/** Where the token came from, for what the server prints at start. */
export type TokenSource = 'generated' | 'file' | 'setting' | 'none';

/** The access settings, checked. */
export interface AccessConfig {
  access: Access;
  source: TokenSource;
  /** The token file, when the token is kept in one. */
  tokenFile?: string;
  /** Things the user should know, printed at start. */
  warnings: string[];
}

const refuse = (message: string) => new UserInputError('bad_setting', message);

/**
 * The token kept in `dataDir`: read it, or make a random one at first start.
 * The file is created with mode 0600 (only its owner can read it); a file
 * found readable by others is narrowed to 0600 with a warning.
 */
export function loadOrCreateToken(dataDir: string): { token: string; created: boolean; file: string; warnings: string[] } {
  // A new data folder is private too: it holds the annotations and the token.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, TOKEN_FILE);
  const warnings: string[] = [];
  const token = randomBytes(32).toString('base64url');
  try {
    // 'wx' fails if the file exists, so two starts never overwrite each other's token.
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, `${token}\n`);
    } finally {
      closeSync(fd);
    }
    return { token, created: true, file, warnings };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
    chmodSync(file, 0o600);
    warnings.push(`${file} was readable by other accounts; it is now readable only by yours (mode 0600).`);
  }
  const kept = readFileSync(file, 'utf8').trim();
  if (kept.length < MIN_TOKEN_LENGTH) {
    throw refuse(`${file} does not hold a token of at least ${MIN_TOKEN_LENGTH} characters; delete it and duikou makes a new one.`);
  }
  return { token: kept, created: false, file, warnings };
}

/** `DUIKOU_TRUST_PROXY` as Express takes it: off when empty, `true`/`false`, a hop count, or addresses and presets. */
export function parseTrustProxy(value: string): TrustProxy | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  if (v === 'true' || v === 'false') return v === 'true';
  if (/^\d+$/.test(v)) return Number(v);
  try {
    express().set('trust proxy', v);
  } catch {
    throw refuse(`DUIKOU_TRUST_PROXY="${v}" is not loopback, linklocal, uniquelocal, a hop count, or IP addresses/subnets.`);
  }
  return v;
}

/**
 * Read and check the access settings (DUIKOU_AUTH, DUIKOU_TOKEN,
 * DUIKOU_ALLOWED_HOSTS, DUIKOU_TRUST_PROXY, with HOST and DUIKOU_DATA),
 * creating the data folder (mode 0700) and the token file when missing.
 * Throws a UserInputError whose message says what to change.
 */
export function accessFromSettings(env: NodeJS.ProcessEnv = process.env): AccessConfig {
  const host = setting('HOST', env);
  const dataDir = setting('DUIKOU_DATA', env);
  // A new data folder is private, whatever the mode: it holds the annotations (and the token).
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const warnings: string[] = [];
  if (process.platform !== 'win32' && (statSync(dataDir).mode & 0o077) !== 0) {
    warnings.push(
      `the data folder ${dataDir} can be opened by other accounts on this machine, and with it your annotations; make it private: chmod 700 ${dataDir}`,
    );
  }
  const mode = setting('DUIKOU_AUTH', env).trim();
  const given = setting('DUIKOU_TOKEN', env);
  const allowedHosts = setting('DUIKOU_ALLOWED_HOSTS', env)
    .split(/[\s,]+/)
    .filter((h) => h !== '');
  hostRules(allowedHosts); // refuses a malformed name now rather than at the first request
  const trustProxy = parseTrustProxy(setting('DUIKOU_TRUST_PROXY', env));
  const common = { allowedHosts, bindHost: host, ...(trustProxy !== undefined && { trustProxy }) };

  if (mode === 'none') {
    if (given !== '') throw refuse('DUIKOU_AUTH=none and DUIKOU_TOKEN are both set; remove one of them.');
    if (!isLoopback(host)) {
      throw refuse(
        `DUIKOU_AUTH=none with HOST=${host} would let anyone on the network read and change your annotations; remove DUIKOU_AUTH=none.`,
      );
    }
    return {
      access: { auth: 'none', ...common },
      source: 'none',
      warnings: [
        ...warnings,
        'DUIKOU_AUTH=none: no sign-in. Every program and every account on this machine can read and change your library through the port; use this only on a machine nobody else uses.',
      ],
    };
  }
  if (mode !== 'token') throw refuse(`DUIKOU_AUTH="${mode}" is not known; use token (the default) or none.`);

  if (given !== '') {
    const token = given.trim();
    if (token === '')
      throw refuse('DUIKOU_TOKEN is only spaces; set a secret of at least 16 characters, or unset it to use the one duikou makes.');
    if (token.length < MIN_TOKEN_LENGTH) {
      throw refuse(
        `DUIKOU_TOKEN is ${token.length} characters long; use at least ${MIN_TOKEN_LENGTH} (a random one: node -e "console.log(crypto.randomBytes(24).toString('base64url'))"), or unset it to use the one duikou makes.`,
      );
    }
    return { access: { auth: { token }, ...common }, source: 'setting', warnings };
  }
  const kept = loadOrCreateToken(dataDir);
  return {
    access: { auth: { token: kept.token }, ...common },
    source: kept.created ? 'generated' : 'file',
    tokenFile: kept.file,
    warnings: [...warnings, ...kept.warnings],
  };
}

/**
 * What to open in a browser: the sign-in address carrying the token when duikou
 * keeps it (the browser trades it for a cookie and drops it from the address),
 * the login page when the user chose the token, or the app itself.
 */
export function signInUrl(base: string, config: AccessConfig): string {
  const { auth } = config.access;
  if (auth === 'none') return `${base}/`;
  if (config.source === 'setting') return `${base}/login`;
  return `${base}/login?token=${encodeURIComponent(auth.token)}`;
}
