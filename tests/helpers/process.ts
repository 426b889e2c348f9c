/** Run duikou's own entry points (server, CLI) as child processes: from source, or the server from its build. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A server process started by {@link startServerProcess}. */
export interface ServerProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  url: string;
  /** The sign-in address the server printed (with its generated token), unless auth is off or the token was given. */
  signInUrl?: string;
  /** The token in {@link signInUrl}. */
  token?: string;
}

/**
 * Start `src/server.ts` with the given settings; resolves with its URL (and
 * printed sign-in address) once it listens. Sign-in is off (DUIKOU_AUTH=none)
 * unless `env` says otherwise: tests of other things talk to it without a token.
 * @param opts.built - start it as `npm start` does (`scripts/build.js --start`:
 *   `dist/server.js`, built first if the sources changed) instead of the
 *   sources through tsx: for figures a researcher's server would give (the load test)
 */
export function startServerProcess(env: Record<string, string>, opts: { built?: boolean } = {}): Promise<ServerProcess> {
  const settings = { ...process.env, PORT: '0', HOST: '127.0.0.1', DUIKOU_TOKEN: '', DUIKOU_AUTH: 'none', ...env };
  // `npm start` itself: scripts/build.js builds if the sources changed, then runs dist/server.js in its own process.
  const child = spawn(process.execPath, opts.built ? ['scripts/build.js', '--start'] : ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: settings,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // With a generated token, wait for the sign-in line printed after the address.
  const awaitSignIn = settings.DUIKOU_AUTH !== 'none' && !settings.DUIKOU_TOKEN;
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = out.match(/running at (http:\/\/[^/\s]+)\//);
      const signIn = out.match(/to sign in[^:]*: (http:\/\/\S+)/);
      if (m && (signIn || !awaitSignIn)) {
        clearTimeout(timer);
        const token = signIn ? (new URL(signIn[1]!).searchParams.get('token') ?? undefined) : undefined;
        resolve({ child, url: m[1]!, ...(signIn && { signInUrl: signIn[1]! }), ...(token && { token }) });
      }
    });
    child.stderr!.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

/** Stop a server process and wait for it to exit. */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

/** Run the CLI (`duikou …`) from source and return its output. */
export function runCli(args: string[], env: Record<string, string> = {}, input?: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, FORCE_COLOR: '0' },
    encoding: 'utf8',
    input,
    timeout: 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}
