/**
 * The app as a child process (test/support/server-process.ts) on a fixed port and an SQLite file,
 * the emulated portal and UIS platform in this process: for the restart suite (SIGKILL and start
 * again on the same database and event URL) and for benchmarks that must measure the instance
 * alone, not the emulators sharing its event loop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBitrixEmulator, type BitrixEmulator, type EmulatedPortal } from '../emulator/bitrix/index';
import { startUisEmulator, type UisAccount, type UisEmulator } from '../emulator/uis/index';
import { api, CLIENT_ID, CLIENT_SECRET, openPage, runInstallApi } from './harness';
import { freePort, startServerProcess, type ServerProcess } from './server-process';

const APP_SECRET_KEY = 'restart-suite-secret-0123456789abcdef0123456789abcdef';

export interface ChildWorld {
  dir: string;
  emu: BitrixEmulator;
  uis: UisEmulator;
  portal: EmulatedPortal;
  acc: UisAccount;
  logFile: string;
  /** the current child (replaced on restart) */
  proc: ServerProcess | undefined;
  /** start (again) on the same port, database and APP_SECRET_KEY */
  start(): Promise<ServerProcess>;
  /** SIGKILL the child, close the emulators, remove the directory */
  close(): Promise<void>;
}

/** Emulators in-process, the app as a child on a port picked first (restarts keep the event URL). */
export async function startChildWorld(o: { callbackRetries?: number; offlinePollMs?: number; logLevel?: string; env?: Record<string, string>; execArgv?: string[] } = {}): Promise<ChildWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'omni-child-'));
  const port = await freePort();
  const appUrl = `http://127.0.0.1:${port}`;
  const emu = await startBitrixEmulator({ app: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, appUrl } });
  // the docs promise no callback retries: one attempt unless a test asks for more
  const uis = await startUisEmulator({ callbackRetries: o.callbackRetries ?? 0, callbackBackoffMs: 200 });
  const credentials = {
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    oauthServers: [emu.oauthOrigin],
    uis: { authUrl: uis.authUrl, managementUrl: uis.managementUrl, runtimeUrl: uis.runtimeUrl, dataApiUrl: uis.dataApiUrl, callApiUrl: uis.callApiUrl, workspaceUrl: uis.workspaceUrl },
  };
  const logFile = join(dir, 'server.log');
  const world: ChildWorld = {
    dir,
    emu,
    uis,
    portal: emu.portals[0]!,
    acc: uis.accounts[0]!,
    logFile,
    proc: undefined,
    async start() {
      world.proc = await startServerProcess({ port, databasePath: join(dir, 'omni.db'), appSecretKey: APP_SECRET_KEY, credentials, logFile, offlinePollMs: o.offlinePollMs ?? 500, logLevel: o.logLevel, env: o.env, execArgv: o.execArgv });
      if (world.proc.url !== appUrl) throw new Error(`the child listens on ${world.proc.url}, not ${appUrl}`);
      return world.proc;
    },
    async close() {
      await world.proc?.kill('SIGKILL');
      await world.portal.drainEvents();
      await emu.close();
      await uis.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await world.start();
  return world;
}

/** Install over HTTP, link the UIS account (the admin is a UIS employee by e-mail), bind whatsapp to line 1. */
export async function installLinkBind(x: ChildWorld): Promise<{ channelId: string }> {
  const url = x.proc!.url;
  x.portal.beginInstall();
  const page = await openPage(x.portal, { userId: x.portal.adminUserId });
  if (page.status !== 200 || !page.boot.session) throw new Error(`install page refused: ${JSON.stringify(page.boot.error)}`);
  const run = await runInstallApi(url, page.boot.session);
  const done = run.lines.at(-1);
  if (!done || done.type !== 'done' || !done.ok) throw new Error(`install plan failed: ${JSON.stringify(run.lines)}`);
  await x.portal.finishInstall();
  await x.portal.drainEvents();
  const session = (await openPage(x.portal, { handlerUrl: `${url}/b24/app` })).boot.session!;
  x.acc.employees.push({ id: 900_001, first_name: 'Анна', last_name: 'Админова', full_name: 'Админова Анна', email: 'admin@portal.example', login: 'aadmin', operator_chat_enabled: true, status: 'available' });
  const r = await api(url, session, 'POST', '/api/uis/link', { project: 'uis', login: x.acc.login, password: x.acc.password, dataApiToken: x.acc.dataApiToken });
  if (r.status !== 200) throw new Error(`link failed: ${r.status} ${JSON.stringify(r.json)}`);
  await x.acc.settle();
  const channelId = String(x.acc.adapterChannels().find((c) => c.type === 'whatsapp')!.id);
  const b = await api(url, session, 'PUT', '/api/connector', { line: '1', channelId });
  if (b.status !== 200) throw new Error(`bind failed: ${b.status} ${JSON.stringify(b.json)}`);
  return { channelId };
}
