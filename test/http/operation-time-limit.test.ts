/**
 * The per-method resource limit (docs/facts/bitrix24.md#rest-limits; REST docs limits.md): the REST client
 * against the emulated portal, on a clock the test moves only while no request is in flight.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createOAuthClient } from '../../server/bitrix/oauth';
import { createBitrixGateway } from '../../server/bitrix/rest-client';
import { asyncPort } from '../../server/services/async-port';
import { openDb } from '../../server/storage/db';
import { createSqlitePortalRepository } from '../../server/storage/portal-repository';
import { createSecretBox } from '../../server/storage/secret-box';
import { startBitrixEmulator, type BitrixEmulator } from '../emulator/bitrix/index';
import { FakeClock } from '../support/fake-clock';
import { captureLogs } from '../support/log-capture';

let emu: BitrixEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

/** A portal whose `crm.lead.list` runs 100 s a call under a 480 s limit; the app's client for it. */
async function setup() {
  const clock = new FakeClock(Date.UTC(2026, 4, 14, 10, 5, 20));
  emu = await startBitrixEmulator({
    app: { clientId: 'local.otl', clientSecret: 'otl-secret', appUrl: 'http://127.0.0.1:9' },
    clock,
    operating: { limitSec: 480, methodTimes: { 'crm.lead.list': 100 } },
  });
  const portal = emu.portals[0]!;
  portal.beginInstall();
  const { form } = portal.openApp();
  const portals = createSqlitePortalRepository(openDb(':memory:'), createSecretBox('k'.repeat(40)), () => clock.now());
  portals.save({
    memberId: portal.memberId, domain: portal.domain, clientEndpoint: portal.clientEndpoint, serverEndpoint: emu.serverEndpoint,
    tokens: { accessToken: form.AUTH_ID!, refreshToken: form.REFRESH_ID!, expiresAt: clock.now() + 3600_000 },
    applicationToken: form.APPLICATION_TOKEN!, scopes: [], installedBy: 1, status: 'active', statusReason: null, createdAt: '', updatedAt: '', installedAt: null,
  });
  /** every REST answer: method, status, and the clock when it came */
  const answers: Array<{ method: string; status: number; at: number }> = [];
  let inFlight = 0;
  const counting = (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    inFlight++;
    try {
      const res = await fetch(input, init);
      answers.push({ method: String(input).split('/rest/')[1] ?? '', status: res.status, at: clock.now() });
      return res;
    } finally {
      inFlight--;
    }
  }) as typeof fetch;
  const oauth = createOAuthClient({ clientId: 'local.otl', clientSecret: 'otl-secret', trustedOrigins: [emu.oauthOrigin] });
  const gateway = createBitrixGateway({ portals: asyncPort(portals), oauth, clock, rateLimit: { drainPerSec: 2, burst: 50 }, log: captureLogs().log, fetch: counting });
  /** Runs `work` while moving the clock a second at a time, only when no request is in flight. */
  const drive = async <T>(work: Promise<T>, maxSec = 1200): Promise<T> => {
    let done = false;
    const p = work.finally(() => (done = true));
    p.catch(() => {});
    for (let i = 0; i < maxSec && !done; ) {
      await new Promise((r) => setTimeout(r, inFlight > 0 ? 2 : 0));
      if (inFlight > 0 || done) continue;
      await clock.advance(1000);
      i++;
    }
    return p;
  };
  return { clock, portal, rest: gateway.client(portal.memberId), answers, drive };
}

describe('OPERATION_TIME_LIMIT (per method, 10 one-minute buckets, 429)', () => {
  it('when a method is over its limit, then only that method waits — until operating_reset_at of its last good answer, with one 429 — and the others go on', async () => {
    const s = await setup();
    const t0 = s.clock.now();
    let lastReset = 0;
    for (let i = 0; i < 5; i++) lastReset = (await s.drive(s.rest.call('crm.lead.list'))).time!.operating_reset_at!; // 500 s > 480
    expect(lastReset).toBe(Math.floor(t0 / 1000) + 600);

    const done: string[] = [];
    const list = s.rest.call<unknown[]>('crm.lead.list').then((r) => (done.push('crm.lead.list'), r));
    const others = Promise.all([s.rest.call('profile'), s.rest.call('crm.lead.get', { id: 2 }), s.rest.call('app.info')]).then(() => done.push('others'));
    await s.drive(Promise.all([list, others]));

    expect(done).toEqual(['others', 'crm.lead.list']);
    const listAnswers = s.answers.filter((a) => a.method === 'crm.lead.list');
    expect(listAnswers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429, 200]);
    // no busy retry: the one retry went when the portal said the oldest bucket resets
    expect(listAnswers.at(-1)!.at).toBeGreaterThanOrEqual(lastReset * 1000);
    expect(s.answers.filter((a) => a.method !== 'crm.lead.list').every((a) => a.status === 200 && a.at < lastReset * 1000)).toBe(true);
  });

  it('when batch commands take a method over its limit, then their result_time sets its reset, later calls and batches of it wait, and nothing else does', async () => {
    const s = await setup();
    const five = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`l${i}`, { method: 'crm.lead.list', params: { start: -1 } }]));
    const first = await s.drive(s.rest.batch(five));
    expect(Object.keys(first.result)).toHaveLength(5);
    const reset = Math.floor(s.clock.now() / 1000) + 600;

    // the portal refuses the sixth command inside a batch: the client learns the block from result_error
    const mixed = await s.drive(s.rest.batch({ a: { method: 'crm.lead.list' }, b: { method: 'profile' } }));
    expect(mixed.errors.a).toMatchObject({ error: 'OPERATION_TIME_LIMIT' });
    expect(mixed.result.b).toMatchObject({ ID: '1' });

    const mark = s.answers.length;
    const doneAt: Record<string, number> = {};
    const at = <T>(name: string, p: Promise<T>) => p.then((r) => ((doneAt[name] = s.clock.now()), r));
    const [b, , o] = await s.drive(Promise.all([
      at('batch with crm.lead.list', s.rest.batch({ a: { method: 'crm.lead.list' }, b: { method: 'profile' } })),
      at('crm.lead.list', s.rest.call('crm.lead.list')),
      at('other batch', s.rest.batch({ p: { method: 'profile' }, g: { method: 'crm.lead.get', params: { id: 2 } } })),
    ]));
    expect(b.errors).toEqual({});
    expect(o.errors).toEqual({});
    expect(doneAt['other batch']).toBeLessThan(reset * 1000);
    expect(doneAt['batch with crm.lead.list']).toBeGreaterThanOrEqual(reset * 1000);
    expect(doneAt['crm.lead.list']).toBeGreaterThanOrEqual(reset * 1000);
    // nothing was sent to be refused again: three requests, all answered 200
    expect(s.answers.slice(mark).map((a) => a.status)).toEqual([200, 200, 200]);
  });
});
