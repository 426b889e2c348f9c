/** Run the real app on an ephemeral loopback port for a test. */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../../src/backends/embedded/engine.js';
import { AnnotationStore } from '../../src/store/annotations.js';
import { openDatabase } from '../../src/store/db.js';
import { createApp } from '../../src/http/app.js';
import type { AppDeps } from '../../src/http/deps.js';

export interface TestServer {
  url: string;
  close(): Promise<void>;
}

/** What {@link startServer} takes: the app's deps, with `access` optional. */
export type TestDeps = Omit<AppDeps, 'access'> & Partial<Pick<AppDeps, 'access'>>;

/**
 * Start `createApp(deps)` on 127.0.0.1 with a port the OS picks. Without
 * `access`, no sign-in (tests about something else); tests of sign-in pass their own.
 */
export async function startServer(deps: TestDeps): Promise<TestServer> {
  const app = createApp({ access: { auth: 'none' }, ...deps });
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // A test that stopped reading a response must not keep the server open.
        server.closeAllConnections();
      }),
  };
}

/** A running app with a real annotation database in a fresh temp folder. */
export interface TestServerWithStore extends TestServer {
  store: AnnotationStore;
  /** The temp folder; `close` removes it. */
  dir: string;
}

/** Start the app over `engine` with an annotation store on a database file in a temp folder. */
export async function startServerWithStore(engine: Engine): Promise<TestServerWithStore> {
  const dir = mkdtempSync(join(tmpdir(), 'duikou-test-'));
  const store = new AnnotationStore(openDatabase(join(dir, 'duikou.db')));
  const server = await startServer({ engine, store });
  return {
    ...server,
    store,
    dir,
    close: async () => {
      await server.close();
      store.db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
