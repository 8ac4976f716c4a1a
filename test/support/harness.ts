import { startServer, type RunningServer } from '../../server/compose';
import { loadConfig } from '../../server/config';
import { bootSchema, type Boot } from '../../server/contracts/boot';
import { installProgressSchema, type InstallProgress } from '../../server/contracts/install';
import type { Clock } from '../../server/domain/clock';
import { bootScript, type PageRenderer } from '../../server/http/page-renderer';
import { startBitrixEmulator, type BitrixEmulator, type EmulatedPortal, type EventQueueOptions } from '../emulator/bitrix/index';
import { startUisEmulator, type UisEmulator } from '../emulator/uis/index';
import { captureLogs } from './log-capture';
import { storeSql, type StoreSql } from './store-sql';
import { harnessDatabaseEnv } from './test-store';
import type { AnalyticsWorkerOptions } from '../../server/services/analytics/worker';
import type { CrmRulesWorkerOptions } from '../../server/services/crm-rules/worker';
import type { ChatSourcesWorkerOptions } from '../../server/services/chat-sources/worker';
import type { AmoEmulator } from '../emulator/amocrm/index';
import type { TelephonyWorkerOptions } from '../../server/services/telephony/worker';

export const CLIENT_ID = 'local.6f1c0e2a9b3d';
export const CLIENT_SECRET = 'SENTINEL_CLIENT_SECRET_8c1f4a7e9d2b';

/** Renders just the boot block: HTTP tests check what the server decided, not the built UI. */
export const bootOnlyRenderer: PageRenderer = {
  async render(_page, boot) {
    return `<!doctype html><html><head>${bootScript(boot)}</head><body></body></html>`;
  },
};

export interface Harness {
  app: RunningServer;
  emu: BitrixEmulator;
  uis: UisEmulator;
  portal: EmulatedPortal;
  logs: ReturnType<typeof captureLogs>;
  /** SQL straight on the server's store, SQLite or PostgreSQL (what no port offers) */
  sql: StoreSql;
  close(): Promise<void>;
}

/** The real server over real HTTP on loopback, against the emulated portal and OAuth server. */
export async function startHarness(o: {
  clock?: Clock;
  rateLimit?: { drainPerSec: number; burst: number };
  portals?: number;
  renderer?: PageRenderer;
  env?: Record<string, string>;
  analytics?: AnalyticsWorkerOptions;
  crmRules?: CrmRulesWorkerOptions;
  telephony?: TelephonyWorkerOptions;
  chatSources?: ChatSourcesWorkerOptions;
  /** An emulated amoCRM the app uses as its amoCRM integration (its Redirect URI is set to the app's callback). */
  amocrm?: AmoEmulator;
  /** The app's outbound fetch (benchmarks count calls through it). */
  fetch?: typeof fetch;
  /** The emulated portal's event queue (default: the realistic 0.5–2.5 s delay, in order, nothing lost). */
  events?: EventQueueOptions;
} = {}): Promise<Harness> {
  const logs = captureLogs();
  let emu: BitrixEmulator | undefined;
  const uis = await startUisEmulator({ clock: o.clock });
  const store = harnessDatabaseEnv();
  const app = await startServer({
    config: loadConfig({ PORT: '0', ...store.env, LOG_LEVEL: 'debug', ...o.env }),
    log: logs.log,
    clock: o.clock,
    renderer: o.renderer ?? bootOnlyRenderer,
    analytics: o.analytics,
    crmRules: o.crmRules,
    chatSources: o.chatSources,
    telephony: o.telephony,
    fetch: o.fetch,
    credentials: async (appUrl) => {
      emu = await startBitrixEmulator({
        app: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, appUrl },
        clock: o.clock,
        rateLimit: o.rateLimit,
        portals: o.portals,
        events: o.events,
      });
      if (o.amocrm) o.amocrm.integration.redirectUri = `${appUrl}/oauth/amocrm/callback`;
      return {
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        oauthServers: [emu.oauthOrigin],
        amocrm: o.amocrm ? { clientId: o.amocrm.integration.clientId, clientSecret: o.amocrm.integration.clientSecret, trustedHosts: [o.amocrm.origin] } : undefined,
        uis: { authUrl: uis.authUrl, managementUrl: uis.managementUrl, runtimeUrl: uis.runtimeUrl, dataApiUrl: uis.dataApiUrl, callApiUrl: uis.callApiUrl, workspaceUrl: o.env?.UIS_WORKSPACE_URL ?? uis.workspaceUrl },
      };
    },
  });
  // on PostgreSQL a callback is handled after its 204: settle() waits for that too
  if (app.storeKind === 'postgres') uis.afterSettle(() => app.callbacksHandled());
  const sql = storeSql(app, store.env.DATABASE_SCHEMA);
  return {
    app,
    emu: emu!,
    uis,
    portal: emu!.portals[0]!,
    logs,
    sql,
    async close() {
      await sql.close();
      await app.close();
      await emu!.close();
      await uis.close();
      await store.drop();
    },
  };
}

/** POST a page the way the portal does (form body + query) and read the boot block back. */
export async function openPage(
  portal: EmulatedPortal,
  opts: Parameters<EmulatedPortal['openApp']>[0] = {},
): Promise<{ status: number; boot: Boot; headers: Headers; form: Record<string, string> }> {
  const { url, form } = portal.openApp(opts);
  const res = await fetch(url, { method: 'POST', body: new URLSearchParams(form) });
  return { status: res.status, boot: readBoot(await res.text()), headers: res.headers, form };
}

export function readBoot(html: string): Boot {
  const m = html.match(/<script id="omni-boot" type="application\/json">([\s\S]*?)<\/script>/);
  if (!m) throw new Error(`no boot block in page: ${html.slice(0, 200)}`);
  return bootSchema.parse(JSON.parse(m[1]!));
}

/** POST /api/install/run and collect the NDJSON progress lines. */
export async function runInstallApi(appUrl: string, session: string): Promise<{ status: number; lines: InstallProgress[] }> {
  const res = await fetch(`${appUrl}/api/install/run`, { method: 'POST', headers: { authorization: `Bearer ${session}` } });
  const text = await res.text();
  if (res.status !== 200) return { status: res.status, lines: [] };
  return { status: res.status, lines: text.split('\n').filter(Boolean).map((l) => installProgressSchema.parse(JSON.parse(l))) };
}

/** The whole admin path: begin install, open the install page, run the plan, installFinish. */
export async function installApp(h: Harness, portal: EmulatedPortal = h.portal): Promise<{ boot: Boot; lines: InstallProgress[] }> {
  portal.beginInstall();
  const page = await openPage(portal, { userId: portal.adminUserId });
  if (page.status !== 200 || !page.boot.session) throw new Error(`install page refused: ${JSON.stringify(page.boot.error)}`);
  const run = await runInstallApi(h.app.url, page.boot.session);
  const done = run.lines.at(-1);
  if (!done || done.type !== 'done' || !done.ok) throw new Error(`install plan failed: ${JSON.stringify(run.lines)}`);
  await portal.finishInstall();
  await h.app.deps.background.idle();
  return { boot: page.boot, lines: run.lines };
}

/** Post an event body (form-encoded, as Bitrix24 does) straight to our handler. */
export async function postEvent(appUrl: string, body: string | URLSearchParams): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${appUrl}/b24/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: typeof body === 'string' ? body : body.toString(),
  });
  return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}

/** Call our JSON API as a page would (bearer page session). */
export async function api(appUrl: string, session: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${appUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${session}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, unknown> };
}
