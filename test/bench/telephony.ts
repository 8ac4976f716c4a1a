/**
 * «Телефония» benchmark (issue #13, `npm run bench -- --only telephony`): the real server over real
 * HTTP between the emulated UIS PBX and the emulated portal.
 *  1. 500 incoming calls from new clients ending within one minute → one portal (2 req/s, burst 50):
 *     every call in Bitrix24 exactly once (registered, finished, a lead, the recording), REST
 *     requests per call, 503s — beside a naive search + add + register + finish + attachRecord per
 *     call through the same client (scaled clock);
 *  2. with every notification dropped, the same burst reconciled from the calls report alone;
 *  3. on an idle portal, the added latency from the ringing notification to register/show (real time).
 */
import type { Clock } from '../../server/domain/clock';
import type { TelephonyView } from '../../server/contracts/telephony';
import { defaultTelephonySettings } from '../../server/contracts/telephony-settings';
import { installAndLink } from '../support/bridge-fixture';
import { api, startHarness, type Harness } from '../support/harness';
import type { Pbx } from '../emulator/uis/pbx/pbx';

const realSleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : NaN;
};

interface World {
  h: Harness;
  pbx: Pbx;
  anna: number;
  view: TelephonyView;
}

async function world(o: { clock?: Clock; rateLimit?: { drainPerSec: number; burst: number }; notify: boolean; fetch?: typeof fetch }): Promise<World> {
  const h = await startHarness({
    clock: o.clock,
    rateLimit: o.rateLimit,
    fetch: o.fetch,
    env: { LOG_LEVEL: 'warn', ...(o.rateLimit ? { B24_RATE_LIMIT: `${o.rateLimit.drainPerSec}/${o.rateLimit.burst}` } : {}) },
  });
  const { acc, session } = await installAndLink(h);
  const [anna, marina] = acc.employees.map((e) => e.id) as [number, number];
  await h.app.deps.employeeSync.replaceMappings(h.portal.memberId, [
    { b24UserId: 1, uisEmployeeId: anna, matchedBy: 'email' },
    { b24UserId: 2, uisEmployeeId: marina, matchedBy: 'email' },
  ]);
  const d = defaultTelephonySettings();
  const r = await api(h.app.url, session, 'PUT', '/api/telephony', { ...d, enabled: true, responsible: { ...d.responsible, incomingDefaultUserId: 2, outgoingDefaultUserId: 1 } });
  if (r.status !== 200) throw new Error(`settings refused: ${JSON.stringify(r.json)}`);
  const view = r.json as unknown as TelephonyView;
  if (o.notify) for (const n of view.notifications) acc.pbx.addNotification({ eventType: n.type, method: n.method, url: n.url, body: n.body, contentType: n.contentType });
  return { h, pbx: acc.pbx, anna, view };
}

export interface TelephonyBurstResult {
  calls: number;
  inBitrix: number;
  exactlyOnce: boolean;
  leads: number;
  records: number;
  restCalls: number;
  limited503: number;
  /** from the first call's start to the last call in Bitrix24, and after the last call ended */
  seconds: number;
  afterLastEnd: number;
  endedWithinSeconds: number;
  settled: boolean;
  /** notifications UIS sent that did not reach the app (connection errors under the burst) */
  notificationsLost: number;
  notificationsSent: number;
  naive: { calls: number; restCalls: number; seconds: number; failed: number; limited503: number };
}

/** What Bitrix24 holds for these sessions: each registered+finished once, its activity with a record. */
function holdings(h: Harness, sessions: number[]) {
  const stats = h.portal.telephony.statistics;
  const bySession = new Map<string, number>();
  for (const s of stats) bySession.set(String(s.record.EXTERNAL_CALL_ID), (bySession.get(String(s.record.EXTERNAL_CALL_ID)) ?? 0) + 1);
  const counts = sessions.map((s) => bySession.get(String(s)) ?? 0);
  const callIds = new Set(stats.filter((s) => sessions.includes(Number(s.record.EXTERNAL_CALL_ID))).map((s) => s.callId));
  const acts = h.portal.crm.activities().filter((a) => a.providerId === 'VOXIMPLANT_CALL' && callIds.has(a.call!.callId));
  return {
    inBitrix: counts.filter((c) => c >= 1).length,
    exactlyOnce: counts.every((c) => c === 1) && acts.length === sessions.length,
    records: acts.filter((a) => a.call!.fileIds.length === 1).length,
    leads: h.portal.crm.leads().filter((l) => l.ORIGINATOR_ID === 'uis_omni').length,
  };
}

/**
 * `calls` new clients call «Основной» spread over `spreadMs` of the clock; Анна answers each after
 * 2 s and talks `talkMs`; so the calls end within about a minute. Measured until every call is in
 * Bitrix24 with its recording. With `notify: false` UIS sends nothing and the reconciliation (every
 * minute, as in production) alone brings them; with notifications it runs too, as in production.
 */
export async function benchTelephonyBurst(o: { clock: Clock; calls: number; notify: boolean; rateLimit: { drainPerSec: number; burst: number }; naiveCalls?: number; limitSeconds?: number }): Promise<TelephonyBurstResult> {
  const w = await world({ clock: o.clock, rateLimit: o.rateLimit, notify: o.notify });
  const { h, pbx } = w;
  const emptyBucket = () => o.clock.sleep((o.rateLimit.burst / o.rateLimit.drainPerSec) * 1000 + 1000);
  try {
    pbx.settings.recordingDelayMs = 3000;
    pbx.behave(w.anna, { action: 'answer', afterMs: 2000, talkMs: 20_000 });
    // as in production: the calls report every minute besides the notifications
    h.app.deps.telephonyReconcile.start(60_000);
    await emptyBucket();
    const rest0 = h.portal.stats.requests;
    const lim0 = h.portal.stats.limited503;
    const start = o.clock.now();
    const spreadMs = 40_000;
    const sessions: number[] = [];
    await Promise.all(
      Array.from({ length: o.calls }, async (_, i) => {
        await o.clock.sleep((spreadMs * i) / o.calls);
        const call = await pbx.incoming({ from: `7916${String(2_000_000 + i).padStart(7, '0')}`, to: pbx.virtualNumbers[0]!.number });
        sessions.push(call.id);
      }),
    );
    const limit = start + (o.limitSeconds ?? 1800) * 1000;
    let settled = false;
    let lastEnd = NaN;
    while (o.clock.now() < limit) {
      await o.clock.sleep(2000);
      const ended = pbx.sessions.filter((s) => sessions.includes(s.id) && s.endedAt !== null);
      if (ended.length === sessions.length) lastEnd = Math.max(...ended.map((s) => s.endedAt!));
      const x = holdings(h, sessions);
      if (x.inBitrix === sessions.length && x.records === sessions.length) {
        settled = true;
        break;
      }
    }
    const end = o.clock.now();
    await h.app.deps.telephonyWorker.drain();
    const x = holdings(h, sessions);
    const firstEnd = Math.min(...pbx.sessions.filter((s) => sessions.includes(s.id)).map((s) => s.endedAt ?? Infinity));
    const result = {
      calls: sessions.length,
      ...x,
      restCalls: h.portal.stats.requests - rest0,
      limited503: h.portal.stats.limited503 - lim0,
      seconds: (end - start) / 1000,
      afterLastEnd: (end - lastEnd) / 1000,
      endedWithinSeconds: (lastEnd - firstEnd) / 1000,
      settled,
      notificationsLost: pbx.notifications.sent.filter((n) => !n.ok).length,
      notificationsSent: pbx.notifications.sent.length,
      naive: { calls: 0, restCalls: 0, seconds: 0, failed: 0, limited503: 0 },
    };
    if (o.naiveCalls) result.naive = await naive(h, o.clock, o.naiveCalls, emptyBucket);
    return result;
  } finally {
    await h.close();
  }
}

/**
 * The naive integration, through the app's own client (same pacing), `n` calls from new clients:
 * per call searchCrmEntities, crm.lead.add, register, finish, attachRecord — five requests.
 */
async function naive(h: Harness, clock: Clock, n: number, emptyBucket: () => Promise<void>): Promise<TelephonyBurstResult['naive']> {
  await emptyBucket();
  const rest = h.app.deps.gateway.client(h.portal.memberId);
  const rest0 = h.portal.stats.requests;
  const lim0 = h.portal.stats.limited503;
  const start = clock.now();
  const mp3 = Buffer.concat([Buffer.from([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 0]), Buffer.alloc(417, 0xff)]).toString('base64');
  let failed = 0;
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const phone = `+7917${String(3_000_000 + i).padStart(7, '0')}`;
      try {
        await rest.call('telephony.externalCall.searchCrmEntities', { PHONE_NUMBER: phone });
        const lead = await rest.call<number>('crm.lead.add', { fields: { TITLE: `Звонок ${phone}`, PHONE: [{ VALUE: phone, VALUE_TYPE: 'WORK' }], ASSIGNED_BY_ID: 1 } });
        const reg = await rest.call<{ CALL_ID: string }>('telephony.externalCall.register', { USER_ID: 1, PHONE_NUMBER: phone, TYPE: 2, CRM_CREATE: 0, CRM_ENTITY_TYPE: 'LEAD', CRM_ENTITY_ID: lead.result, EXTERNAL_CALL_ID: `naive-${i}`, SHOW: 0 });
        await rest.call('telephony.externalCall.finish', { CALL_ID: reg.result.CALL_ID, USER_ID: 1, DURATION: 20, STATUS_CODE: '200', ADD_TO_CHAT: 0 });
        await rest.call('telephony.externalCall.attachRecord', { CALL_ID: reg.result.CALL_ID, FILENAME: `naive-${i}.mp3`, FILE_CONTENT: mp3 });
      } catch {
        failed++;
      }
    }),
  );
  return { calls: n, restCalls: h.portal.stats.requests - rest0, seconds: (clock.now() - start) / 1000, failed, limited503: h.portal.stats.limited503 - lim0 };
}

export interface TelephonyLatencyResult {
  samples: number;
  missed: number;
  /** ringing → show of a registered call (the realistic case: the start notification came first) */
  show: { p50: number; p99: number; max: number };
  /** ringing as the call's first notification (its start lost) → register and show: a new client's search, then the lead, register and show in one batch */
  cold: { p50: number; p99: number; max: number };
}

/**
 * Idle portal, real clock, default bucket (drained before each measurement): notifications posted one at a time. t0 is just
 * before the POST of «Ожидание ответа»; t1 when the app's outbound fetch sends the request that
 * shows the card (a `batch` with `telephony.externalCall.show`, or a register with SHOW).
 */
export async function benchTelephonyLatency(o: { samples: number; pauseMs: number }): Promise<TelephonyLatencyResult> {
  const marks = new Map<string, number>();
  const stamping: typeof fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (/\/rest\/batch$/.test(url) && typeof init?.body === 'string' && init.body.includes('externalCall.show')) {
      const t = performance.now();
      for (const m of init.body.matchAll(/EXTERNAL_CALL_ID=(\d+)|[?&]CALL_ID=(externalCall\.[0-9a-f]+\.\d+)/g)) {
        const k = m[1] ?? m[2]!;
        if (!marks.has(k)) marks.set(k, t);
      }
    }
    return fetch(input, init);
  };
  const w = await world({ notify: false, fetch: stamping });
  const { h, view } = w;
  const url = (type: string) => view.notifications.find((n) => n.type === type)!.url;
  const post = (type: string, body: Record<string, unknown>) => fetch(url(type), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const vn = w.pbx.virtualNumbers[0]!.number;
  const show: number[] = [];
  const cold: number[] = [];
  let missed = 0;
  /** An idle portal: its REST bucket drained before each measured notification. */
  const idle = async () => {
    for (let i = 0; i < 100 && h.app.deps.gateway.limiter(h.portal.memberId).level() > 1; i++) await realSleep(100);
    await realSleep(o.pauseMs);
  };
  const wait = async (key: string) => {
    for (let i = 0; i < 2000 && !marks.has(key); i++) await realSleep(1);
    return marks.get(key);
  };
  try {
    await realSleep(1000);
    for (let i = 0; i < o.samples; i++) {
      // realistic: the start, then (the call registered) the ringing
      const a = 880_000_000 + i;
      const phoneA = `7916${String(4_000_000 + i).padStart(7, '0')}`;
      await (await post('incoming_call', { call_session_id: a, contact_phone_number: phoneA, virtual_phone_number: vn, direction: 'in' })).arrayBuffer();
      for (let k = 0; k < 2000; k++) {
        if ((await h.app.deps.telephony.get(h.portal.memberId, a))?.state?.callId) break;
        await realSleep(1);
      }
      await h.app.deps.telephonyWorker.drain();
      const callId = (await h.app.deps.telephony.get(h.portal.memberId, a))?.state?.callId;
      await idle();
      let t0 = performance.now();
      await (await post('waiting_for_answer', { call_session_id: a, contact_phone_number: phoneA, virtual_phone_number: vn, employee_id: w.anna, leg_id: 1 })).arrayBuffer();
      const t1 = callId ? await wait(callId) : undefined;
      if (t1 === undefined) missed++;
      else show.push(t1 - t0);
      await h.app.deps.telephonyWorker.drain();
      await idle();
      // cold: the ringing is the call's first notification
      const b = 890_000_000 + i;
      t0 = performance.now();
      await (await post('waiting_for_answer', { call_session_id: b, contact_phone_number: `7916${String(5_000_000 + i).padStart(7, '0')}`, virtual_phone_number: vn, direction: 'in', employee_id: w.anna, leg_id: 2 })).arrayBuffer();
      const t2 = await wait(String(b));
      if (t2 === undefined) missed++;
      else cold.push(t2 - t0);
      await h.app.deps.telephonyWorker.drain();
      await realSleep(o.pauseMs);
    }
    const fig = (xs: number[]) => ({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: Math.max(...xs) });
    return { samples: show.length + cold.length, missed, show: fig(show), cold: fig(cold) };
  } finally {
    await h.close();
  }
}
