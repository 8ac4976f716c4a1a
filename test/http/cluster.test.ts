/**
 * Several instances, one truth (issue #12): three app processes on one SQLite file (WAL), behind a
 * round-robin proxy standing for the load balancer (it tries the next instance when one refuses
 * the connection or dies before answering, as nginx's `proxy_next_upstream` does). The emulated portal and UIS
 * platform stay in the test process and know only the proxy's URL, so UIS callbacks, Bitrix24
 * events and page/API requests are sprayed across the instances. Mid-burst the instance holding
 * the portal's work lease is SIGKILLed and later restarted; the access token expires twice.
 *
 * What must hold: every visitor message in the open line exactly once and in order, every operator
 * reply in UIS exactly once and in order, one lead per new client, one token refresh per expiry
 * (no invalid_grant), no 503 provoked at the portal. No wall-clock assertions: waits are bounded
 * by rounds, the counts decide.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CrmRulesSettings } from '../../server/contracts/crm-rules';
import { defaultCrmRulesSettings } from '../../server/services/crm-rules/settings';
import { startBitrixEmulator } from '../emulator/bitrix/index';
import { startUisEmulator } from '../emulator/uis/index';
import { holdings, mirrored, summary, until } from '../support/bridge-fixture';
import { installLinkBind, type ChildWorld } from '../support/child-world';
import { api, CLIENT_ID, CLIENT_SECRET, openPage } from '../support/harness';
import { freePort, startServerProcess, type ServerProcess } from '../support/server-process';
import { pgQuery, TEST_STORE } from '../support/test-store';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const APP_SECRET_KEY = 'cluster-suite-secret-0123456789abcdef0123456789abcdef';
const LEASE_TTL_MS = 1500;

/**
 * Round-robin over the instances; a request whose instance refused the connection or died before
 * answering goes to the next one (nginx: `proxy_next_upstream error timeout non_idempotent` — safe
 * here, as UIS callbacks and Bitrix24 events are deduplicated; README «Deploying»).
 */
function startProxy(port: number, targets: () => number[]) {
  let next = 0;
  const hits = new Map<number, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const ports = targets();
      const first = next++;
      const attempt = (i: number): void => {
        if (i >= ports.length) {
          res.writeHead(502).end();
          return;
        }
        const to = ports[(first + i) % ports.length]!;
        const up = request({ host: '127.0.0.1', port: to, method: req.method, path: req.url, headers: req.headers }, (r) => {
          hits.set(to, (hits.get(to) ?? 0) + 1);
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
          r.on('error', () => res.destroy());
        });
        up.on('error', () => {
          if (!res.headersSent) attempt(i + 1);
          else res.destroy();
        });
        up.end(body);
      };
      attempt(0);
    });
  });
  return {
    hits,
    listen: () => new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok)),
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

interface Cluster {
  world: ChildWorld;
  url: string;
  ports: number[];
  procs: Array<ServerProcess | undefined>;
  start(i: number): Promise<ServerProcess>;
  logs(): string;
  /** rows of a read-only query on the shared database (diagnostics) */
  query(sql: string): Promise<unknown[]>;
  /** the port in the owner id (`<host>:<port>/<random>`) of the portal's work lease, if held */
  workLeaseHolder(memberId: string): Promise<number | null>;
  proxy: ReturnType<typeof startProxy>;
  close(): Promise<void>;
}

let cluster: Cluster | undefined;
afterEach(async () => {
  const c = cluster;
  cluster = undefined;
  await c?.close();
});

async function startCluster(size: number): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'omni-cluster-'));
  const proxyPort = await freePort();
  const url = `http://127.0.0.1:${proxyPort}`;
  const ports: number[] = [];
  for (let i = 0; i < size; i++) ports.push(await freePort());
  const emu = await startBitrixEmulator({ app: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, appUrl: url } });
  const uis = await startUisEmulator({ callbackRetries: 0, callbackBackoffMs: 200 });
  const credentials = {
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    oauthServers: [emu.oauthOrigin],
    uis: { authUrl: uis.authUrl, managementUrl: uis.managementUrl, runtimeUrl: uis.runtimeUrl, dataApiUrl: uis.dataApiUrl, callApiUrl: uis.callApiUrl, workspaceUrl: uis.workspaceUrl },
  };
  const procs: Array<ServerProcess | undefined> = ports.map(() => undefined);
  const proxy = startProxy(proxyPort, () => ports);
  await proxy.listen();
  const dbPath = join(dir, 'omni.db');
  const logFile = (i: number) => join(dir, `server-${i}.log`);
  const world = { dir, emu, uis, portal: emu.portals[0]!, acc: uis.accounts[0]!, logFile: logFile(0), proc: { url } } as unknown as ChildWorld;
  const c: Cluster = {
    world,
    url,
    ports,
    procs,
    proxy,
    async start(i) {
      const p = await startServerProcess({
        port: ports[i]!,
        databasePath: dbPath,
        appSecretKey: APP_SECRET_KEY,
        credentials,
        logFile: logFile(i),
        offlinePollMs: 500,
        env: { APP_URL: url, LEASE_TTL_MS: String(LEASE_TTL_MS) },
      });
      procs[i] = p;
      return p;
    },
    logs: () =>
      ports
        .map((_, i) => {
          try {
            return `--- instance ${i}\n${readFileSync(logFile(i), 'utf8').slice(-3000)}`;
          } catch {
            return '';
          }
        })
        .join('\n'),
    async query(sql) {
      if (TEST_STORE === 'postgres') return pgQuery(dbPath, sql);
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sql).all();
      } finally {
        db.close();
      }
    },
    async workLeaseHolder(memberId) {
      const [row] = (await c.query(`SELECT owner, expires_at FROM leases WHERE member_id = '${memberId.replace(/'/g, "''")}' AND area = 'work'`)) as Array<{ owner: string }>;
      return row ? Number(row.owner.split('/')[0]!.split(':').at(-1)) : null;
    },
    async close() {
      await Promise.all(procs.map((p) => p?.kill('SIGKILL')));
      await world.portal.drainEvents();
      await proxy.close();
      await emu.close();
      await uis.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  cluster = c;
  return c;
}

/** What both sides hold of the chats bridged to the open line (WhatsApp; Telegram goes to the CRM only). */
function bridged(x: ChildWorld, replies: Map<number, string[]> = new Map()) {
  const whatsapp = new Set(x.acc.chats().filter((ch) => ch.channelType === 'whatsapp').map((ch) => ch.id));
  const all = holdings(x.portal, x.acc, replies);
  const inbound = all.inbound.filter((ch) => whatsapp.has(ch.uisChatId));
  const outbound = all.outbound.filter((ch) => whatsapp.has(ch.uisChatId));
  const h = {
    ...all,
    uisChats: whatsapp.size,
    inbound,
    outbound,
    visitorMessages: inbound.reduce((n, ch) => n + ch.uis.length, 0),
    b24Inbound: inbound.reduce((n, ch) => n + ch.b24.length, 0),
  };
  return { ...h, mirrored: mirrored(h), summary: summary(h) };
}

/**
 * «Чаты» switched on for Telegram (crm-chats.test.ts's rules): a new client's chat creates a lead.
 * WhatsApp is bound to the open line, which makes the CRM entity itself (the rules skip it).
 */
function chatRules(): CrmRulesSettings {
  const d = defaultCrmRulesSettings('chats');
  const noStage = { leadStatusId: null, dealCategoryId: null, dealStageId: null };
  return {
    ...d,
    enabled: true,
    channels: ['telegram'],
    responsible: { defaultUserId: 1, rules: [] },
    funnels: { ...d.funnels, primary: { defaults: { ...noStage, leadStatusId: 'IN_PROCESS' }, rules: [] } },
    templates: { lead: 'Чат {{channel_type}}: {{visitor_name}}', deal: '' },
  };
}

describe('three instances on one database, one SIGKILLed mid-burst and restarted', () => {
  it('every message exactly once in order both ways, one lead per new client, one refresh per expiry, no 503', async () => {
    const c = await startCluster(3);
    const x = c.world;
    await c.start(0); // the first start migrates the database; then the others join it
    await installLinkBind(x);
    const session = (await openPage(x.portal, { handlerUrl: `${c.url}/b24/app` })).boot.session!;
    const r = await api(c.url, session, 'PUT', '/api/crm-rules/chats', chatRules());
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    await Promise.all([c.start(1), c.start(2)]);
    const grants0 = x.emu.stats.refreshGrants;
    const failures0 = x.emu.stats.refreshFailures;

    const CHATS = 6;
    const PER = 10;
    const CLIENTS = 4; // new clients on Telegram: one lead each
    const phone = (v: number) => `+7916888${String(1000 + v)}`;
    let expiries = 0;
    const burst = Promise.all([
      ...Array.from({ length: CHATS }, async (_, v) => {
        for (let i = 0; i < PER; i++) {
          await x.acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: phone(v), name: `Клиент ${v}` }, text: `c v${v} m${i}` });
          await sleep(30);
        }
      }),
      ...Array.from({ length: CLIENTS }, async (_, v) => {
        for (let i = 0; i < 4; i++) {
          await x.acc.visitorWrite({ channelType: 'telegram', visitor: { phone: `+7916999${String(1000 + v)}`, name: `Новый ${v}` }, text: `t v${v} m${i}` });
          await sleep(70);
        }
      }),
    ]);
    // the token expires while the burst is relayed: every instance calling the portal meets expired_token
    expect(await until(() => bridged(x).b24Inbound >= 6, () => sleep(10), 1000, 0), c.logs()).toBe(true);
    x.portal.expireAccessTokens();
    expiries++;
    // (a kill between the grant and its storing would lose the new pair: that window is not this test's)
    expect(await until(() => x.emu.stats.refreshGrants > grants0, () => sleep(10), 1000, 0), c.logs()).toBe(true);
    // SIGKILL the instance holding the portal's work lease, mid-burst
    const member = x.portal.memberId;
    let victim = -1;
    const heldLease = await until(
      () => victim >= 0,
      async () => {
        victim = c.ports.indexOf((await c.workLeaseHolder(member)) ?? -1);
        if (victim < 0) await sleep(5);
      },
      2000,
      0,
    );
    if (!heldLease) victim = 1; // (no lease seen: kill one anyway; asserted at the end)
    await c.procs[victim]!.kill('SIGKILL');
    const atKill = bridged(x);
    console.log(`  cluster: SIGKILLed instance ${victim} (${heldLease ? 'the work lease holder' : 'no lease seen'}) with ${atKill.b24Inbound} messages in the open lines`);
    await burst;
    // the others take the portal over once the dead one's lease expires (callbacks the dead one had
    // taken but not answered went to another instance: the proxy retries them)
    const lost = () => x.acc.callbacks.filter((cb) => cb.path === '/message' && (cb.status === 'network-error' || cb.status >= 300)).length;
    expect(await until(() => bridged(x).b24Inbound >= CHATS * PER - lost(), () => sleep(100), 600, 0), c.logs()).toBe(true);
    console.log(`  cluster: taken over by the others; ${lost()} callbacks failed`);
    await c.start(victim);

    // operators answer each chat (Bitrix24 events sprayed across the instances), the token expires again
    const olChat = (uisChatId: number) => x.portal.openLines.chats().find((ch) => ch.externalChatId === `uis_c${uisChatId}`);
    const uisChats = x.acc.chats().filter((ch) => ch.channelType === 'whatsapp').map((ch) => ch.id);
    expect(uisChats).toHaveLength(CHATS);
    expect(await until(() => uisChats.every((id) => olChat(id)), () => sleep(100), 600, 0), c.logs()).toBe(true);
    x.portal.expireAccessTokens();
    expiries++;
    const replies = new Map<number, string[]>();
    for (const id of uisChats) x.portal.operatorAccept(olChat(id)!.id, 1);
    for (let i = 0; i < 3; i++) {
      for (const id of uisChats) {
        const text = `ответ ${id} #${i}`;
        x.portal.operatorReply({ chatId: olChat(id)!.id, userId: 1, text });
        replies.set(id, [...(replies.get(id) ?? []), text]);
      }
      await x.acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: phone(i), name: `Клиент ${i}` }, text: `c v${i} после #${i}` });
    }

    const settle = async () => {
      await x.acc.settle();
      await x.portal.drainEvents();
      await sleep(100);
    };
    const leads = () => x.portal.crm.leads().filter((l) => l.ORIGINATOR_ID === 'uis_omni');
    const done = () => bridged(x, replies).mirrored && leads().length >= CLIENTS;
    const differ = () => {
      const b = bridged(x, replies);
      return JSON.stringify([...b.inbound.filter((ch) => ch.uis.join() !== ch.b24.join()), ...b.outbound.filter((ch) => ch.uis.join() !== ch.b24.join())]);
    };
    const state = async () => `${bridged(x, replies).summary}; differ ${differ()}; leads ${leads().length}; CRM requests ${JSON.stringify(await c.query('SELECT request_id, status, attempts, outcome FROM crm_requests'))}\n${c.logs()}`;
    const settled = await until(done, settle, 400);
    expect(settled, settled ? '' : await state()).toBe(true);
    for (let i = 0; i < 5; i++) await settle(); // stragglers must not double anything

    const h = bridged(x, replies);
    console.log(`  cluster: ${h.summary}; requests per instance ${JSON.stringify(Object.fromEntries(c.proxy.hits))}`);
    for (const ch of h.inbound) expect(ch.b24, `UIS chat ${ch.uisChatId} in the open line`).toEqual(ch.uis);
    for (const ch of h.outbound) expect(ch.uis, `operator replies of UIS chat ${ch.uisChatId} in UIS`).toEqual(ch.b24);
    expect(h.visitorMessages).toBe(CHATS * PER + 3);
    expect(h.b24Chats).toBe(CHATS);
    expect(h.operatorReplies).toBe(CHATS * 3);
    // one lead per new client
    expect(leads()).toHaveLength(CLIENTS);
    expect(new Set(leads().map((l) => String(l.CONTACT_ID))).size).toBe(CLIENTS);
    // one refresh per expiry, never a refused (reused) refresh token
    expect(x.emu.stats.refreshFailures - failures0).toBe(0);
    expect(x.emu.stats.refreshGrants - grants0).toBe(expiries);
    expect(x.portal.stats.limited503).toBe(0);
    const view = await fetch(`${c.url}/api/portal`, { headers: { authorization: `Bearer ${session}` } });
    expect(((await view.json()) as { status: string }).status).toBe('active');
    expect(heldLease, 'the portal\'s work lease was held by one of the instances').toBe(true);
    // every instance took part
    for (const p of c.ports) expect(c.proxy.hits.get(p) ?? 0).toBeGreaterThan(0);
  }, 240_000);
});
