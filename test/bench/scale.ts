/**
 * Scale benchmark (issue #12, `npm run bench -- --only scale`): several app instances as child
 * processes sharing one SQLite file (WAL), the emulated portal and UIS platform in this process.
 *  1. a bare Node HTTP server (empty 204 handler, its own process) hammered by the same client as
 *     the product: the reference the product's rates are shown against;
 *  2. signed UIS `/message` callbacks acknowledged per second (204 after the commit) by 1, 2 and 3
 *     instances on one SQLite file, the client spreading its connections round-robin;
 *  3. the bridge's queued burst (bridge.ts) relayed by 1 and by 3 instances to the emulated portal
 *     (2 req/s, burst 50): time, REST calls, 503s;
 *  4. resident size of one instance alone in its process serving 1,000 installed portals with
 *     100,000 bridged chats and their messages (seeded into the SQLite file, or the PostgreSQL
 *     schema), idle and under a burst.
 * Every instance runs with the node flags of `npm run serve` (SERVE_FLAGS) before `--node-flags`.
 * The portal's relay is held, where a figure must not include it, by the bench holding the portal's
 * 'work' lease in the database (migration 026) — exactly how another instance would hold it.
 */
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteLeaseStore } from '../../server/storage/lease-repository';
import { openPg } from '../../server/storage/pg/connection';
import { createPgLeaseStore } from '../../server/storage/pg/lease-store';
import { dropSchemas, worldSchema } from '../support/test-store';
import { TEST_PG_URL } from '../support/stores';
import { createSecretBox } from '../../server/storage/secret-box';
import { startBitrixEmulator, type BitrixEmulator, type EmulatedPortal } from '../emulator/bitrix/index';
import { startUisEmulator, type UisAccount, type UisEmulator } from '../emulator/uis/index';
import { holdings, mirrored } from '../support/bridge-fixture';
import { installLinkBind, type ChildWorld } from '../support/child-world';
import { CLIENT_ID, CLIENT_SECRET } from '../support/harness';
import { PROJECT_ROOT } from '../../server/compose';
import { freePort, startServerProcess, type ServerProcess } from '../support/server-process';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const APP_SECRET_KEY = 'scale-bench-secret-0123456789abcdef0123456789abcdef';
/** the lease area every job loop of a portal holds (services/job-loop.ts) */
const WORK = 'work';
const HOLDER = 'scale-bench:0/hold';
/**
 * The node flags production starts with (`npm run serve`: the heap flags, docs/deploying.md, «Memory»):
 * every instance runs with them, then the bench's own (`--node-flags`; V8 takes the last of a flag,
 * so `--max-semi-space-size=0 --heap-growing-percent=0` measures V8's defaults).
 */
export const SERVE_FLAGS: string[] = (JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: { serve: string } }).scripts.serve
  .split(' ')
  .filter((a) => a.startsWith('--') && a !== '--enable-source-maps');

export interface RateResult {
  sent: number;
  ok: number;
  other: number;
  seconds: number;
  perSecond: number;
  /** CPU used during the run, in cores (CPU seconds / wall seconds): each server process, and this process (the client) */
  cpu: { servers: number[]; client: number };
}

/** CPU seconds (user + system) a process has used so far (Linux /proc; clock ticks of 1/100 s). */
function cpuSecondsOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/**
 * POSTs `count` bodies with `concurrency` keep-alive connections, connection i always to target
 * i mod n (round-robin spread, no proxy); counts 2xx answers per second after a warm-up round.
 */
export async function hammerSpread(o: { targets: URL[]; pids: number[]; headers: Record<string, string>; count: number; concurrency: number; body: (n: number) => string }): Promise<RateResult> {
  const agents = o.targets.map(() => new Agent({ keepAlive: true, maxSockets: o.concurrency }));
  const post = (to: number, payload: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(o.targets[to]!, { method: 'POST', agent: agents[to], headers: { ...o.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(payload);
    });
  try {
    await Promise.all(Array.from({ length: o.concurrency }, (_, i) => post(i % o.targets.length, o.body(-1 - i))));
    let next = 0;
    let ok = 0;
    let other = 0;
    const cpu0 = o.pids.map(cpuSecondsOf);
    const client0 = process.cpuUsage();
    const start = performance.now();
    await Promise.all(
      Array.from({ length: o.concurrency }, async (_, c) => {
        for (let n = next++; n < o.count; n = next++) {
          const status = await post(c % o.targets.length, o.body(n)).catch(() => 0);
          if (status >= 200 && status < 300) ok++;
          else other++;
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    const client = process.cpuUsage(client0);
    const cpu = { servers: o.pids.map((p, i) => (cpuSecondsOf(p) - cpu0[i]!) / seconds), client: (client.user + client.system) / 1e6 / seconds };
    return { sent: o.count, ok, other, seconds, perSecond: ok / seconds, cpu };
  } finally {
    for (const a of agents) a.destroy();
  }
}

/** An empty 204 handler (the body is read, nothing else) in its own Node process. */
async function startBareNode(): Promise<{ url: URL; pid: number; close(): Promise<void> }> {
  const code = `const s=require('node:http').createServer((q,r)=>{q.resume();q.on('end',()=>{r.statusCode=204;r.end()})});s.keepAliveTimeout=60000;s.listen(0,'127.0.0.1',()=>console.log('PORT '+s.address().port))`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((ok, fail) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) ok(Number(m[1]));
    });
    child.once('exit', (code) => fail(new Error(`bare node server exited (${code})`)));
  });
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  return {
    url: new URL(`http://127.0.0.1:${port}/uis/callbacks/bare/message`),
    pid: child.pid!,
    async close() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * The instances run as production does: test/support/server-entry.ts bundled by esbuild like
 * `npm run build` bundles server/serve.ts (packages external, migrations beside it), started by
 * plain node — no tsx, whose loader thread would add its own heap to every instance's RSS. The
 * bundle goes under node_modules/.cache so its package imports resolve; removed by the caller.
 */
export async function compileEntry(): Promise<{ file: string; remove(): void }> {
  const out = join(PROJECT_ROOT, 'node_modules', '.cache', `omni-scale-${process.pid}`);
  const file = join(out, 'server-entry.js');
  await build({ absWorkingDir: PROJECT_ROOT, entryPoints: ['test/support/server-entry.ts'], outfile: file, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'warning' });
  for (const dir of ['migrations', 'migrations-pg']) {
    mkdirSync(join(out, dir), { recursive: true });
    const from = join(PROJECT_ROOT, 'server', 'storage', dir);
    for (const f of readdirSync(from).filter((f) => f.endsWith('.sql'))) cpSync(join(from, f), join(out, dir, f));
  }
  return { file, remove: () => rmSync(out, { recursive: true, force: true }) };
}

/** Round-robin to the live instances (the load balancer of the setup traffic and the emulators). */
function startProxy(port: number, targets: () => number[]) {
  let next = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const ports = targets();
      const to = ports[next++ % ports.length]!;
      const up = request({ host: '127.0.0.1', port: to, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
        r.on('error', () => res.destroy());
      });
      up.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
      up.end(Buffer.concat(chunks));
    });
  });
  return {
    listen: () => new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok)),
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

interface ScaleWorld {
  dir: string;
  dbPath: string;
  emu: BitrixEmulator;
  uis: UisEmulator;
  portal: EmulatedPortal;
  acc: UisAccount;
  procs: ServerProcess[];
  /** started instances' ports (the proxy spreads over them) */
  live: number[];
  channelId: string;
  /** start one more instance on the shared database */
  add(): Promise<ServerProcess>;
  /** stop every instance (SIGTERM, as a deployment would) */
  stopAll(): Promise<void>;
  /** hold / give back the portal's work lease as if another instance had it: its relay waits */
  holdWork(): Promise<void>;
  releaseWork(): Promise<void>;
  close(): Promise<void>;
}

/** Emulators here; the first instance started, installed, linked and bound through the proxy. */
async function startScaleWorld(o: { entry: string; offlinePollMs?: number; logLevel?: string; execArgv?: string[]; store?: 'sqlite' | 'postgres' }): Promise<ScaleWorld> {
  const store = o.store ?? 'sqlite';
  const dir = mkdtempSync(join(tmpdir(), 'omni-scale-'));
  const dbPath = join(dir, 'omni.db');
  const proxyPort = await freePort();
  const url = `http://127.0.0.1:${proxyPort}`;
  const emu = await startBitrixEmulator({ app: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, appUrl: url }, rateLimit: { drainPerSec: 2, burst: 50 } });
  const uis = await startUisEmulator({ callbackRetries: 0, callbackBackoffMs: 200 });
  const credentials = {
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    oauthServers: [emu.oauthOrigin],
    uis: { authUrl: uis.authUrl, managementUrl: uis.managementUrl, runtimeUrl: uis.runtimeUrl, dataApiUrl: uis.dataApiUrl, callApiUrl: uis.callApiUrl, workspaceUrl: uis.workspaceUrl },
  };
  const live: number[] = [];
  const procs: ServerProcess[] = [];
  const proxy = startProxy(proxyPort, () => live);
  await proxy.listen();
  const db = () => new Database(dbPath, { fileMustExist: true });
  const w: ScaleWorld = {
    dir,
    dbPath,
    emu,
    uis,
    portal: emu.portals[0]!,
    acc: uis.accounts[0]!,
    procs,
    live,
    channelId: '',
    async add() {
      const port = await freePort();
      const p = await startServerProcess({
        port,
        databasePath: dbPath,
        appSecretKey: APP_SECRET_KEY,
        credentials,
        logFile: join(dir, `server-${procs.length}.log`),
        offlinePollMs: o.offlinePollMs ?? 60_000,
        logLevel: o.logLevel ?? 'warn',
        env: { APP_URL: url },
        compiledEntry: o.entry,
        execArgv: [...SERVE_FLAGS, ...(o.execArgv ?? [])],
        store,
      });
      procs.push(p);
      live.push(port);
      return p;
    },
    async stopAll() {
      await Promise.all(procs.map((p) => p.kill('SIGTERM')));
      procs.length = 0;
      live.length = 0;
    },
    async holdWork() {
      // taken as an instance takes it (free or expired only), so an instance that is working for
      // the portal finishes and lets go first: nothing is relayed behind the bench's back
      await withLeases(async (leases) => {
        for (let i = 0; !(await leases.acquire(w.portal.memberId, WORK, HOLDER, 3600_000)); i++) {
          if (i > 600) throw new Error('the portal\'s work lease stayed held for a minute');
          await sleep(100);
        }
      });
    },
    async releaseWork() {
      await withLeases((leases) => leases.release(w.portal.memberId, WORK, HOLDER));
    },
    async close() {
      await Promise.all(procs.map((p) => p.kill('SIGKILL')));
      await w.portal.drainEvents();
      await proxy.close();
      await emu.close();
      await uis.close();
      if (store === 'postgres') await dropSchemas([worldSchema(dbPath)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  /** the world's lease store, as an instance sees it */
  async function withLeases<T>(fn: (leases: ReturnType<typeof createSqliteLeaseStore>) => Promise<T>): Promise<T> {
    if (store === 'postgres') {
      const pg = await openPg(TEST_PG_URL, { schema: worldSchema(dbPath), max: 1, migrate: false });
      try {
        return await fn(createPgLeaseStore(pg.db));
      } finally {
        await pg.close();
      }
    }
    const d = db();
    try {
      return await fn(createSqliteLeaseStore(d));
    } finally {
      d.close();
    }
  }
  await w.add();
  const { channelId } = await installLinkBind({ portal: w.portal, acc: w.acc, proc: { url } } as unknown as ChildWorld);
  w.channelId = channelId;
  return w;
}

/** `chats` UIS chats the bridge knows (mapped in Bitrix24) and a signed callback body for them. */
async function knownChats(w: ScaleWorld, chats: number, phonePrefix = '+7918') {
  const ids: number[] = [];
  for (let v = 0; v < chats; v++) ids.push((await w.acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: `${phonePrefix}${String(1_000_000 + v).slice(1)}0` }, text: `hello ${v}` })).chatId);
  for (let i = 0; i < 800 && !mirrored(holdings(w.portal, w.acc)); i++) {
    await w.acc.settle();
    await sleep(25);
  }
  if (!mirrored(holdings(w.portal, w.acc))) throw new Error('the known chats did not reach the open line');
  const adapter = w.acc.adapter()!;
  const token = (adapter.webhookAuth as { token?: string }).token ?? '';
  const path = `${new URL(adapter.webhookUrl).pathname.replace(/\/$/, '')}/message`;
  const accountId = w.acc.connection()!.id;
  let nextId = Math.max(...w.acc.chats().flatMap((c) => c.messages.map((m) => m.id))) + 1_000_000;
  /** bodies for one run: ids never repeated across runs */
  const bodies = (count: number, concurrency: number) => {
    const base = nextId + concurrency;
    nextId += count + 2 * concurrency + 10;
    return (n: number) =>
      JSON.stringify({ account_id: accountId, channel_id: Number(w.channelId), chat_id: ids[Math.abs(n) % ids.length], id: base + n, source: 'visitor', text: n < 0 ? `warm ${-n}` : `rate ${n}`, created_at: '2026-08-21 09:00:00.123456', status: 'sent', resource: null });
  };
  const targets = () => w.live.map((p) => new URL(`http://127.0.0.1:${p}${path}`));
  return { ids, headers: { authorization: `Bearer ${token}` }, bodies, targets };
}

export interface ScaleRates {
  /** bare Node interleaved with the 1-instance rounds */
  bare: RateResult;
  /** each with the bare-Node figure of the rounds interleaved with it */
  instances: Array<RateResult & { n: number; bare: RateResult }>;
}

/** Several runs as one: their answers and seconds summed, CPU weighted by each run's seconds. */
export function combineRates(rs: RateResult[]): RateResult {
  const seconds = rs.reduce((a, r) => a + r.seconds, 0);
  const ok = rs.reduce((a, r) => a + r.ok, 0);
  const weigh = (f: (r: RateResult) => number) => rs.reduce((a, r) => a + f(r) * r.seconds, 0) / seconds;
  return {
    sent: rs.reduce((a, r) => a + r.sent, 0),
    ok,
    other: rs.reduce((a, r) => a + r.other, 0),
    seconds,
    perSecond: ok / seconds,
    cpu: { servers: rs[0]!.cpu.servers.map((_, i) => weigh((r) => r.cpu.servers[i]!)), client: weigh((r) => r.cpu.client) },
  };
}

/**
 * Parts 1 and 2: 1, 2, 3 instances on one store (relay held: intake alone), each beside bare Node
 * measured in rounds interleaved with its own (bare, instances, bare, instances, …: `rounds` of
 * count / rounds callbacks each), so a machine whose speed drifts during the run — this one's
 * reference moved 5–10 k/s between runs minutes apart — moves both sides of each share alike.
 */
export async function benchScaleRates(o: { entry: string; count: number; concurrency: number; chats: number; maxInstances: number; execArgv?: string[]; store?: 'sqlite' | 'postgres'; rounds?: number }): Promise<ScaleRates> {
  const w = await startScaleWorld({ entry: o.entry, execArgv: o.execArgv, store: o.store });
  const rounds = Math.max(1, o.rounds ?? 5);
  const slice = Math.ceil(o.count / rounds);
  try {
    const k = await knownChats(w, o.chats);
    await w.holdWork();
    const bareServer = await startBareNode();
    const instances: ScaleRates['instances'] = [];
    try {
      for (let n = 1; n <= o.maxInstances; n++) {
        if (w.procs.length < n) await w.add();
        const bare: RateResult[] = [];
        const product: RateResult[] = [];
        for (let r = 0; r < rounds; r++) {
          bare.push(await hammerSpread({ targets: [bareServer.url], pids: [bareServer.pid], headers: k.headers, count: slice, concurrency: o.concurrency, body: k.bodies(slice, o.concurrency) }));
          product.push(await hammerSpread({ targets: k.targets(), pids: w.procs.map((p) => p.child.pid!), headers: k.headers, count: slice, concurrency: o.concurrency, body: k.bodies(slice, o.concurrency) }));
        }
        instances.push({ n, ...combineRates(product), bare: combineRates(bare) });
      }
    } finally {
      await bareServer.close();
    }
    return { bare: instances[0]!.bare, instances };
  } finally {
    // SIGTERM first: a child started with --cpu-prof writes its profile on a clean exit only
    if (o.execArgv?.includes('--cpu-prof')) await w.stopAll();
    await w.close();
  }
}

export interface ScaleBurst {
  instances: number;
  messages: number;
  delivered: number;
  exactlyOnce: boolean;
  duplicates: number;
  restCalls: number;
  sendCalls: number;
  limited503: number;
  seconds: number;
  settled: boolean;
}

/**
 * Part 3: `chats` new visitors write `perChat` messages each (through the emulated UIS, callbacks
 * sprayed across the instances by the proxy) while the portal's relay is held; on an emptied bucket
 * the hold is given back and the time until every message is in the open line is measured.
 */
export async function benchScaleBurst(o: { entry: string; instances: number; chats: number; perChat: number; limitSeconds?: number; store?: 'sqlite' | 'postgres' }): Promise<ScaleBurst> {
  const w = await startScaleWorld({ entry: o.entry, store: o.store });
  try {
    while (w.procs.length < o.instances) await w.add();
    const total = o.chats * o.perChat;
    await w.holdWork();
    await Promise.all(
      Array.from({ length: o.chats }, async (_, v) => {
        for (let i = 0; i < o.perChat; i++) await w.acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: `+7916${String(1_000_000 + v).slice(1)}0` }, text: `burst v${v} m${i}` });
      }),
    );
    await w.acc.settle();
    // an empty bucket (the install's calls drained), as bridge.ts's queued pass starts
    await sleep((50 / 2) * 1000 + 1000);
    const rest0 = w.portal.stats.requests;
    const send0 = (w.portal.stats.byMethod['imconnector.send.messages'] ?? 0) + (w.portal.stats.byMethod['batch'] ?? 0);
    const lim0 = w.portal.stats.limited503;
    const start = performance.now();
    await w.releaseWork();
    const limitMs = (o.limitSeconds ?? 600) * 1000;
    let x = holdings(w.portal, w.acc);
    while (performance.now() - start < limitMs) {
      x = holdings(w.portal, w.acc);
      if (x.visitorMessages === total && x.b24Inbound >= total) break;
      await sleep(20);
    }
    const seconds = (performance.now() - start) / 1000;
    const settled = x.b24Inbound >= total;
    await sleep(2000); // stragglers would show as duplicates
    x = holdings(w.portal, w.acc);
    const unique = new Set(x.inbound.flatMap((c) => c.b24)).size;
    return {
      instances: o.instances,
      messages: total,
      delivered: unique,
      exactlyOnce: x.visitorMessages === total && x.inbound.every((c) => c.uis.length === c.b24.length && c.uis.every((id, i) => id === c.b24[i])),
      duplicates: x.b24Inbound - unique,
      restCalls: w.portal.stats.requests - rest0,
      sendCalls: (w.portal.stats.byMethod['imconnector.send.messages'] ?? 0) + (w.portal.stats.byMethod['batch'] ?? 0) - send0,
      limited503: w.portal.stats.limited503 - lim0,
      seconds,
      settled,
    };
  } finally {
    await w.close();
  }
}

/**
 * Seeds `portals - 1` more installed, linked, bound portals with `chatsPerPortal` bridged chats each
 * (every chat with its visitor and `messagesPerChat` relayed messages), and as many chats on the
 * real portal, in one transaction of plain SQL on the migrated file. The seeded portals' Bitrix24
 * endpoints refuse connections (127.0.0.1:9) and their UIS credentials are unknown to the emulator:
 * whatever background work touches them fails at once, as for portals whose calls fail.
 */
export function seedPortals(dbPath: string, o: { realMemberId: string; portals: number; chatsPerPortal: number; messagesPerChat: number; appSecretKey: string }): { rows: number; seconds: number } {
  const t0 = performance.now();
  const box = createSecretBox(o.appSecretKey);
  const db = new Database(dbPath, { fileMustExist: true });
  let rows = 0;
  try {
    db.pragma('journal_mode = WAL');
    const copy = (table: string, member: string, override: (row: Record<string, unknown>) => Record<string, unknown>) => {
      const src = db.prepare(`SELECT * FROM ${table} WHERE member_id = ?`).all(o.realMemberId) as Array<Record<string, unknown>>;
      for (const row of src) {
        const r: Record<string, unknown> = { ...row, member_id: member };
        for (const [c, v] of Object.entries(r)) if (c.endsWith('_enc') && typeof v === 'string') r[c] = box.seal(`seed-${c}-${member}`, member);
        const out = { ...r, ...override(r) };
        const cols = Object.keys(out);
        db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`).run(...cols.map((c) => out[c] as string | number | null));
        rows++;
      }
    };
    const now = new Date().toISOString();
    const line = db.prepare('SELECT line_id, channel_id FROM bridge_lines WHERE member_id = ?').get(o.realMemberId) as { line_id: string; channel_id: string };
    const visitor = db.prepare('INSERT OR IGNORE INTO bridge_visitors (member_id, visitor_id, phone, email, name, b24_user_id, updated_at) VALUES (?, ?, ?, NULL, ?, ?, ?)');
    const chat = db.prepare(`INSERT OR IGNORE INTO bridge_chats (member_id, uis_chat_id, channel_id, visitor_id, initiator, operator_id, line_id, b24_chat_id, b24_session_id, status, updated_at)
      VALUES (?, ?, ?, ?, 'visitor', NULL, ?, ?, ?, 'open', ?)`);
    const message = db.prepare(`INSERT OR IGNORE INTO bridge_messages (member_id, origin, key, uis_chat_id, uis_message_id, b24_chat_id, b24_message_id, b24_user_id, state, error, updated_at)
      VALUES (?, 'uis', ?, ?, ?, ?, ?, NULL, 'delivered', NULL, ?)`);
    db.transaction(() => {
      for (let p = 0; p < o.portals; p++) {
        const member = p === 0 ? o.realMemberId : `seed${String(p).padStart(4, '0')}member0000000000000000`;
        if (p > 0) {
          const endpoint = 'http://127.0.0.1:9/rest/';
          copy('portals', member, () => ({ domain: `seed${p}.bitrix24.example`, client_endpoint: endpoint, server_endpoint: endpoint, expires_at: Math.floor(Date.now() / 1000) + 30 * 86400 }));
          copy('uis_links', member, () => ({ hook_id: `seedhook${p}x${Math.random().toString(36).slice(2)}`, login: `seed${p}`, adapter_login: `seed${p}` }));
          copy('uis_channels', member, () => ({}));
          copy('bridge_lines', member, () => ({}));
          copy('bridge_settings', member, () => ({}));
        }
        for (let c = 0; c < o.chatsPerPortal; c++) {
          const uisChat = String(50_000_000 + p * o.chatsPerPortal + c);
          const vid = String(70_000_000 + p * o.chatsPerPortal + c);
          const phone = `+7920${String(1_000_000 + p * o.chatsPerPortal + c).slice(-7)}`;
          visitor.run(member, vid, phone, phone, `b24user${vid}`, now);
          chat.run(member, uisChat, line.channel_id, vid, line.line_id, String(900_000 + c), String(800_000 + c), now);
          rows += 2;
          for (let m = 0; m < o.messagesPerChat; m++) {
            const mid = String(3_000_000_000 + (p * o.chatsPerPortal + c) * o.messagesPerChat + m);
            message.run(member, mid, uisChat, mid, String(900_000 + c), String(600_000_000 + m), now);
            rows++;
          }
        }
      }
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return { rows, seconds: (performance.now() - t0) / 1000 };
}

/**
 * seedPortals on the world's PostgreSQL schema: the same rows (the real portal's own copied for each
 * seeded portal, its secrets sealed for that portal), the chats, visitors and message links inserted
 * set-wise; the tables analyzed afterwards, as autovacuum would soon. The size is the schema's tables
 * with their indexes.
 */
export async function seedPortalsPg(schema: string, o: { realMemberId: string; portals: number; chatsPerPortal: number; messagesPerChat: number; appSecretKey: string }): Promise<{ rows: number; seconds: number; dbMiB: number }> {
  const t0 = performance.now();
  const box = createSecretBox(o.appSecretKey);
  const pg = await openPg(TEST_PG_URL, { schema, max: 1, migrate: false });
  const client = await pg.pool.connect();
  const q = async (text: string, values: unknown[] = []) => client.query(text, values);
  let rows = 0;
  try {
    await q('BEGIN');
    const members = Array.from({ length: o.portals }, (_, p) => (p === 0 ? o.realMemberId : `seed${String(p).padStart(4, '0')}member0000000000000000`));
    const copy = async (table: string, member: string, override: (row: Record<string, unknown>) => Record<string, unknown>) => {
      const src = (await q(`SELECT * FROM ${table} WHERE member_id = $1`, [o.realMemberId])).rows as Array<Record<string, unknown>>;
      for (const row of src) {
        const r: Record<string, unknown> = { ...row, member_id: member };
        for (const [c, v] of Object.entries(r)) if (c.endsWith('_enc') && typeof v === 'string') r[c] = box.seal(`seed-${c}-${member}`, member);
        const out = { ...r, ...override(r) };
        const cols = Object.keys(out);
        await q(`INSERT INTO ${table} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`, cols.map((c) => out[c]));
        rows++;
      }
    };
    for (let p = 1; p < o.portals; p++) {
      const member = members[p]!;
      const endpoint = 'http://127.0.0.1:9/rest/';
      await copy('portals', member, () => ({ domain: `seed${p}.bitrix24.example`, client_endpoint: endpoint, server_endpoint: endpoint, expires_at: Math.floor(Date.now() / 1000) + 30 * 86400 }));
      await copy('uis_links', member, () => ({ hook_id: `seedhook${p}x${Math.random().toString(36).slice(2)}`, login: `seed${p}`, adapter_login: `seed${p}` }));
      await copy('uis_channels', member, () => ({}));
      await copy('bridge_lines', member, () => ({}));
      await copy('bridge_settings', member, () => ({}));
    }
    const line = (await q('SELECT line_id, channel_id FROM bridge_lines WHERE member_id = $1', [o.realMemberId])).rows[0] as { line_id: string; channel_id: string };
    // k: one row per (portal, chat), i its number across portals — the ids and phones seedPortals gives
    const k = `WITH m AS (SELECT member, (n - 1)::bigint AS p FROM unnest($1::text[]) WITH ORDINALITY AS u(member, n)),
      k AS (SELECT m.member, c, m.p * $2::bigint + c AS i FROM m CROSS JOIN generate_series(0, $2::bigint - 1) AS c)`;
    const phone = `'+7920' || right((1000000 + k.i)::text, 7)`;
    const now = new Date().toISOString();
    rows += (await q(`${k} INSERT INTO bridge_visitors (member_id, visitor_id, phone, email, name, b24_user_id, updated_at)
      SELECT k.member, (70000000 + k.i)::text, ${phone}, NULL, ${phone}, 'b24user' || (70000000 + k.i)::text, $3 FROM k ON CONFLICT DO NOTHING`, [members, o.chatsPerPortal, now])).rowCount ?? 0;
    rows += (await q(`${k} INSERT INTO bridge_chats (member_id, uis_chat_id, channel_id, visitor_id, initiator, operator_id, line_id, b24_chat_id, b24_session_id, status, updated_at)
      SELECT k.member, (50000000 + k.i)::text, $4, (70000000 + k.i)::text, 'visitor', NULL, $5, (900000 + k.c)::text, (800000 + k.c)::text, 'open', $3 FROM k ON CONFLICT DO NOTHING`, [members, o.chatsPerPortal, now, line.channel_id, line.line_id])).rowCount ?? 0;
    rows += (await q(`${k} INSERT INTO bridge_messages (member_id, origin, key, uis_chat_id, uis_message_id, b24_chat_id, b24_message_id, b24_user_id, state, error, updated_at)
      SELECT k.member, 'uis', (3000000000 + k.i * $4::bigint + x)::text, (50000000 + k.i)::text, (3000000000 + k.i * $4::bigint + x)::text, (900000 + k.c)::text, (600000000 + x)::text, NULL, 'delivered', NULL, $3
      FROM k CROSS JOIN generate_series(0, $4::bigint - 1) AS x ON CONFLICT DO NOTHING`, [members, o.chatsPerPortal, now, o.messagesPerChat])).rowCount ?? 0;
    await q('COMMIT');
    await q('ANALYZE');
    const size = (await q(`SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS b FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`, [schema])).rows[0] as { b: string };
    return { rows, seconds: (performance.now() - t0) / 1000, dbMiB: Number(size.b) / 2 ** 20 };
  } catch (err) {
    await q('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
    await pg.close();
  }
}

/** Resident size now and its peak so far (kB from /proc, Linux), in MiB. */
function rssOf(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** What the instance's own /metrics says of its memory (prom-client default metrics), in MiB. */
export interface HeapView {
  heapUsed: number;
  heapTotal: number;
  external: number;
}

async function heapOf(url: string): Promise<HeapView> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const v = (name: string) => Number(new RegExp(`^omni_${name} ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  return { heapUsed: v('nodejs_heap_size_used_bytes'), heapTotal: v('nodejs_heap_size_total_bytes'), external: v('nodejs_external_memory_bytes') };
}

export interface ScaleMemory {
  store: 'sqlite' | 'postgres';
  portals: number;
  chats: number;
  messages: number;
  seeded: { rows: number; seconds: number; dbMiB: number };
  idle: number;
  idleHeap: HeapView;
  afterHeap: HeapView;
  idleAfterSeconds: number;
  burst: RateResult & { peak: number; after: number };
  /** peak of the process's life (VmHWM), start-up included */
  hwm: number;
}

/**
 * Part 4: one instance alone in its process on a file seeded with `portals` portals and their chats;
 * its RSS idle (after `idleSeconds`), then sampled every 100 ms under `burst` callbacks (32 in flight;
 * the relay runs: the portal's bucket paces it) and a few seconds after.
 */
export async function benchScaleMemory(o: { entry: string; portals: number; chatsPerPortal: number; messagesPerChat: number; idleSeconds: number; burst: number; concurrency: number; execArgv?: string[]; store?: 'sqlite' | 'postgres' }): Promise<ScaleMemory> {
  const store = o.store ?? 'sqlite';
  const w = await startScaleWorld({ entry: o.entry, execArgv: o.execArgv, store });
  try {
    const k = await knownChats(w, 50);
    await w.stopAll();
    const seed = { realMemberId: w.portal.memberId, portals: o.portals, chatsPerPortal: o.chatsPerPortal, messagesPerChat: o.messagesPerChat, appSecretKey: APP_SECRET_KEY };
    const seeded = store === 'postgres' ? await seedPortalsPg(worldSchema(w.dbPath), seed) : { ...seedPortals(w.dbPath, seed), dbMiB: statSync(w.dbPath).size / 2 ** 20 };
    const p = await w.add();
    const pid = p.child.pid!;
    await sleep(o.idleSeconds * 1000);
    const idle = rssOf(pid).rss;
    const idleHeap = await heapOf(p.url);
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid).rss)), 100);
    let r: RateResult;
    try {
      r = await hammerSpread({ targets: k.targets(), pids: w.procs.map((p) => p.child.pid!), headers: k.headers, count: o.burst, concurrency: o.concurrency, body: k.bodies(o.burst, o.concurrency) });
      await sleep(3000);
    } finally {
      clearInterval(sampler);
    }
    const after = rssOf(pid);
    const afterHeap = await heapOf(p.url);
    return {
      portals: o.portals,
      chats: o.portals * o.chatsPerPortal,
      messages: o.portals * o.chatsPerPortal * o.messagesPerChat,
      store,
      seeded,
      idle,
      idleHeap,
      afterHeap,
      idleAfterSeconds: o.idleSeconds,
      burst: { ...r, peak: Math.max(peak, after.rss), after: after.rss },
      hwm: after.hwm,
    };
  } finally {
    await w.close();
  }
}
