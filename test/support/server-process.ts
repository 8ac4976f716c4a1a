/**
 * The real server as a child process (test/support/server-entry.ts) on a fixed port and an SQLite
 * file, so a test can SIGKILL it and start it again on the same database and URL. The emulators
 * stay in the test process; the child gets their URLs through OMNI_TEST_CREDENTIALS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Credentials } from '../../server/compose';
import { PROJECT_ROOT } from '../../server/compose';
import { childDatabaseEnv } from './test-store';

/** A loopback port that was free a moment ago (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((ok, fail) => srv.once('error', fail).listen(0, '127.0.0.1', ok));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((ok) => srv.close(() => ok()));
  return port;
}

export interface ServerProcessOptions {
  port: number;
  /** SQLite file; kept across restarts (TEST_STORE=postgres: names the world's schema instead, test-store.ts) */
  databasePath: string;
  /** fixed, ≥ 32 characters: the same key must decrypt the tokens after a restart */
  appSecretKey: string;
  credentials: Credentials;
  /** the child's stdout/stderr are appended here (read it when a test fails) */
  logFile: string;
  offlinePollMs?: number;
  logLevel?: string;
  env?: Record<string, string>;
  /** extra node flags before the entry (e.g. `--cpu-prof`, which NODE_OPTIONS refuses) */
  execArgv?: string[];
  /** give up waiting for `OMNI READY` after this long (default 30 s) */
  startTimeoutMs?: number;
  /** server-entry.ts compiled to JavaScript (test/bench/scale.ts), run by plain node without tsx */
  compiledEntry?: string;
  /** the store (default: TEST_STORE, test-store.ts) */
  store?: 'sqlite' | 'postgres';
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** resolves with the exit code or signal once the child is gone */
  exited: Promise<number | NodeJS.Signals | null>;
  alive(): boolean;
  /** SIGKILL (default) or SIGTERM, then wait for the exit */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns the app and waits until it prints `OMNI READY` and answers /healthz. */
export async function startServerProcess(o: ServerProcessOptions): Promise<ServerProcess> {
  const url = `http://127.0.0.1:${o.port}`;
  const log = createWriteStream(o.logFile, { flags: 'a' });
  const entry = o.compiledEntry ? [o.compiledEntry] : ['--import', 'tsx', join(PROJECT_ROOT, 'test/support/server-entry.ts')];
  const child = spawn(process.execPath, [...(o.execArgv ?? []), ...entry], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'test',
      PORT: String(o.port),
      HOST: '127.0.0.1',
      ...childDatabaseEnv(o.databasePath, o.store),
      APP_SECRET_KEY: o.appSecretKey,
      LOG_LEVEL: o.logLevel ?? 'warn',
      OMNI_TEST_CREDENTIALS: JSON.stringify(o.credentials),
      OMNI_TEST_OFFLINE_POLL_MS: String(o.offlinePollMs ?? 500),
      ...o.env,
    },
  });
  let gone = false;
  const exited = new Promise<number | NodeJS.Signals | null>((ok) => {
    child.once('exit', (code, signal) => {
      gone = true;
      ok(signal ?? code);
    });
  });
  child.stderr!.pipe(log, { end: false });
  let out = '';
  const ready = new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start within ${o.startTimeoutMs ?? 30_000} ms (log: ${o.logFile})`)), o.startTimeoutMs ?? 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      out += chunk.toString('utf8');
      if (out.includes('OMNI READY')) {
        clearTimeout(timer);
        ok();
      }
    });
    void exited.then((why) => {
      clearTimeout(timer);
      fail(new Error(`server exited before it was ready (${String(why)}; log: ${o.logFile})`));
    });
  });
  const proc: ServerProcess = {
    url,
    child,
    exited,
    alive: () => !gone,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!gone) child.kill(signal);
      const t = setTimeout(() => !gone && child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
  try {
    await ready;
    const res = await fetch(`${url}/healthz`);
    if (res.status !== 200) throw new Error(`/healthz answered ${res.status}`);
  } catch (e) {
    await proc.kill();
    throw e;
  }
  return proc;
}
