import { Agent, request } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { defaultTelephonySettings } from '../../server/contracts/telephony-settings';
import type { TelephonyView } from '../../server/contracts/telephony';
import { installAndLink } from '../support/bridge-fixture';
import { api, openPage, runInstallApi, startHarness, type Harness } from '../support/harness';
import { startChildWorld } from '../support/child-world';

/**
 * «Переадресация на персонального менеджера из CRM» (issue #14): the latency of the answer UIS
 * interactive call processing waits for, under 200 requests/s, on loopback in real time. The
 * portal's CRM holds `clients` contacts (each its own number, responsible admin 1 or Иван 2, both
 * paired with UIS employees); the ONCRMCONTACTADD events fill the map before the run. Requests
 * leave on schedule (open loop: one every 5 ms whether or not the earlier ones were answered), as
 * the UIS form body, and each is timed from its scheduled start to the last byte of the answer.
 * Second pass: the same load while Bitrix24 is slow — every `batch` answer held — and 5 clients a
 * second change responsible (their events queue reads that cannot finish): the answers still come
 * from the map.
 */
const realSleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN;
};

export interface ManagerPass {
  /** the lookup service alone (answer from the map), inside the app: p50 / p99 ms */
  service: { p50: number; p99: number };
  requests: number;
  answered: number;
  withManager: number;
  other: number;
  firstError?: string;
  p50: number;
  p99: number;
  max: number;
  seconds: number;
}
export interface ManagerBenchResult {
  clients: number;
  mapFilledSeconds: number;
  idle: ManagerPass;
  slowPortal: ManagerPass & { heldBatches: number; changes: number };
}

/** A POST on a keep-alive connection (lighter than fetch: the generator shares the app's event loop). */
function post(agent: Agent, url: URL, body: string): Promise<{ status: number; text: string }> {
  return new Promise((ok, fail) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end(body);
  });
}

const phoneOf = (i: number) => `7916${String(7_000_000 + i).padStart(7, '0')}`;

async function load(h: Harness | null, url: string, o: { rate: number; seconds: number; clients: number; during?: (elapsedMs: number) => void }): Promise<ManagerPass> {
  const n = Math.round(o.rate * o.seconds);
  const gap = 1000 / o.rate;
  const times: number[] = [];
  const service: number[] = [];
  // in-process: the lookup service's own time too
  const pm = h?.app.deps.personalManager;
  const find = pm?.find;
  if (pm && find) {
    pm.find = async (...a) => {
      const t = performance.now();
      try {
        return await find(...a);
      } finally {
        service.push(performance.now() - t);
      }
    };
  }
  let withManager = 0;
  let other = 0;
  let firstError: string | undefined;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const target = new URL(url);
  const start = performance.now();
  const inflight: Array<Promise<void>> = [];
  for (let i = 0; i < n; i++) {
    const due = start + i * gap;
    const wait = due - performance.now();
    if (wait > 1) await realSleep(wait);
    o.during?.(performance.now() - start);
    const numa = phoneOf((i * 7919) % o.clients);
    inflight.push(
      (async () => {
        try {
          const r = await post(agent, target, `numa=${numa}&numb=74950000102&call_session_id=${900_000_000 + i}&cdr_id=${i}`);
          const body = JSON.parse(r.text) as { phones?: string[] };
          times.push(performance.now() - due);
          if (r.status === 200 && body.phones?.length) withManager++;
          else if (r.status !== 200) {
            other++;
            firstError ??= `HTTP ${r.status} ${r.text.slice(0, 100)}`;
          }
        } catch (e) {
          other++;
          firstError ??= (e as Error).message;
        }
      })(),
    );
  }
  await Promise.all(inflight);
  agent.destroy();
  if (pm && find) pm.find = find;
  return { service: { p50: quantile(service, 0.5), p99: quantile(service, 0.99) }, requests: n, answered: times.length, withManager, other, firstError, p50: quantile(times, 0.5), p99: quantile(times, 0.99), max: Math.max(...times), seconds: (performance.now() - start) / 1000 };
}

export async function benchManager(o: { clients: number; rate: number; seconds: number; hold?: boolean; changesPerSecond?: number }): Promise<ManagerBenchResult> {
  const h = await startHarness({ env: { LOG_LEVEL: 'warn' } });
  try {
    const { acc, session } = await installAndLink(h);
    const [anna, marina] = acc.employees.map((e) => e.id) as [number, number];
    await h.app.deps.employeeSync.replaceMappings(h.portal.memberId, [
      { b24UserId: 1, uisEmployeeId: anna, matchedBy: 'email' },
      { b24UserId: 2, uisEmployeeId: marina, matchedBy: 'email' },
    ]);
    const d = defaultTelephonySettings();
    const r = await api(h.app.url, session, 'PUT', '/api/telephony', { ...d, enabled: true, personalManager: { use: true }, responsible: { ...d.responsible, incomingDefaultUserId: 2, outgoingDefaultUserId: 1 } });
    if (r.status !== 200) throw new Error(`settings refused: ${JSON.stringify(r.json)}`);
    const url = (r.json as unknown as TelephonyView).personalManager!.url;
    const pm = h.app.deps.personalManager!;

    const t0 = performance.now();
    const ids: number[] = [];
    for (let i = 0; i < o.clients; i++) {
      ids.push(h.portal.crm.add('CONTACT', { NAME: `Клиент ${i}`, PHONE: [{ VALUE: `+${phoneOf(i)}`, VALUE_TYPE: 'WORK' }], ASSIGNED_BY_ID: 1 + (i % 2) }, null, 0).id);
    }
    const count = () => Number(h.app.db.prepare("SELECT COUNT(*) FROM pm_entities WHERE entity_type = 'contact' AND deleted = 0").pluck().get());
    for (let i = 0; i < 600 && count() < o.clients; i++) {
      await pm.worker.drain();
      await realSleep(100);
    }
    const mapFilledSeconds = (performance.now() - t0) / 1000;
    if (count() < o.clients) throw new Error(`the map holds ${count()} of ${o.clients} clients`);
    await pm.worker.upkeep(h.portal.memberId); // the employees' numbers
    await realSleep(500);

    const idle = await load(h, url, o);

    const batchesBefore = h.portal.stats.byMethod.batch ?? 0;
    const held = h.portal.holdAnswers(o.hold === false ? [] : ['batch'], 1_000_000);
    const perChange = 1000 / (o.changesPerSecond ?? 5);
    let changes = 0;
    const slow = await load(h, url, {
      ...o,
      during: (ms) => {
        // 5 responsible changes a second
        while (changes < Math.floor(ms / perChange)) {
          const id = ids[(changes * 31) % ids.length]!;
          h.portal.crm.update('CONTACT', id, { ASSIGNED_BY_ID: 1 + (changes % 2) }, null, 0);
          changes++;
        }
      },
    });
    const heldBatches = (h.portal.stats.byMethod.batch ?? 0) - batchesBefore;
    held.release();
    return { clients: o.clients, mapFilledSeconds, idle, slowPortal: { ...slow, heldBatches, changes } };
  } finally {
    await h.portal.drainEvents();
    await h.close();
  }
}

export interface ManagerChildResult {
  clients: number;
  pass: ManagerPass;
}

/**
 * The same load on the app alone in its own process (test/support/child-world.ts: SQLite file,
 * the emulators and the generator in this process), set up over HTTP only: install, link, the
 * employee sync (admin ↔ Анна and Иван ↔ Марина by their extensions), the tab.
 */
export async function benchManagerChild(o: { clients: number; rate: number; seconds: number }): Promise<ManagerChildResult> {
  const x = await startChildWorld({ logLevel: 'warn' });
  try {
    const url = x.proc!.url;
    x.portal.beginInstall();
    const page = await openPage(x.portal, { userId: x.portal.adminUserId });
    const run = await runInstallApi(url, page.boot.session!);
    if (run.lines.at(-1)?.type !== 'done') throw new Error(`install failed: ${JSON.stringify(run.lines.at(-1))}`);
    await x.portal.finishInstall();
    await x.portal.drainEvents();
    const session = (await openPage(x.portal, { handlerUrl: `${url}/b24/app` })).boot.session!;
    const linked = await api(url, session, 'POST', '/api/uis/link', { project: 'uis', login: x.acc.login, password: x.acc.password, dataApiToken: x.acc.dataApiToken });
    if (linked.status !== 200) throw new Error(`link failed: ${JSON.stringify(linked.json)}`);
    await api(url, session, 'POST', '/api/employee-sync/run');
    for (let i = 0; i < 200; i++) {
      const v = (await api(url, session, 'GET', '/api/employee-sync')).json as { run?: { status?: string } };
      if (v.run?.status && v.run.status !== 'running') break;
      await realSleep(100);
    }
    const d = defaultTelephonySettings();
    const r = await api(url, session, 'PUT', '/api/telephony', { ...d, enabled: true, personalManager: { use: true }, responsible: { ...d.responsible, incomingDefaultUserId: 2, outgoingDefaultUserId: 1 } });
    if (r.status !== 200) throw new Error(`settings refused: ${JSON.stringify(r.json)}`);
    const target = (r.json as unknown as TelephonyView).personalManager!.url;
    for (let i = 0; i < o.clients; i++) {
      x.portal.crm.add('CONTACT', { NAME: `Клиент ${i}`, PHONE: [{ VALUE: `+${phoneOf(i)}`, VALUE_TYPE: 'WORK' }], ASSIGNED_BY_ID: 1 + (i % 2) }, null, 0);
    }
    await x.portal.drainEvents();
    // the map holds them all (read from the child's database file, read-only)
    const db = new Database(join(x.dir, 'omni.db'), { readonly: true, fileMustExist: true });
    const count = () => Number(db.prepare("SELECT COUNT(*) FROM pm_entities WHERE entity_type = 'contact' AND deleted = 0").pluck().get());
    for (let i = 0; i < 600 && count() < o.clients; i++) await realSleep(100);
    const filled = count();
    db.close();
    if (filled < o.clients) throw new Error(`the child's map holds ${filled} of ${o.clients} clients`);
    await realSleep(500);
    return { clients: o.clients, pass: await load(null, target, o) };
  } finally {
    await x.close();
  }
}
