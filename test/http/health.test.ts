/**
 * «Состояние» (issue #16, «nothing fails silently») over real HTTP against the emulated portal and
 * UIS: GET /api/health says whether the integration works for the caller's portal — and only
 * his — and what to do when it does not; /metrics has the same figures by area, never by portal.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { healthViewSchema, type HealthView } from '../../server/contracts/health';
import { linkAndBind } from '../support/bridge-fixture';
import { api, installApp, openPage, startHarness, type Harness } from '../support/harness';

let h: Harness;
afterEach(async () => {
  await h?.portal.drainEvents();
  await h?.close();
});

const health = async (session: string): Promise<HealthView> => {
  const r = await api(h.app.url, session, 'GET', '/api/health');
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return healthViewSchema.parse(r.json);
};
const codes = (v: HealthView) => v.issues.map((i) => `${i.level}:${i.code}${i.subject ? `:${i.subject}` : ''}`);

/** Work the workers cannot take: inbound relays held, a stuck job; failures recorded 10 minutes ago. */
async function seedTrouble(memberId: string, now: number): Promise<void> {
  const job = `INSERT INTO bridge_jobs (member_id, kind, chat_key, idem_key, payload, status, attempts, due_at, enqueued_at) VALUES (?, 'in', ?, ?, '{}', 'pending', 0, ?, ?)`;
  await h.sql.run(job, memberId, 'c1', `in:seed-1`, now - 40 * 60_000, now - 40 * 60_000);
  await h.sql.run(job, memberId, 'c1', `in:seed-2`, now - 60_000, now - 60_000);
  await h.sql.run(
    `INSERT INTO crm_requests (member_id, kind, request_id, event, status, due_at, reason, updated_at) VALUES (?, 'chat', 'r1', 'finished', 'failed', ?, ?, ?)`,
    memberId,
    now - 10 * 60_000,
    'REAUTH_REQUIRED: an administrator must open the app again',
    new Date(now - 10 * 60_000).toISOString(),
  );
}

describe('GET /api/health', () => {
  it('when everything works, then it says ok; a channel UIS disabled, a stuck queue and a failed chat are errors and warnings with their codes — in that portal only', async () => {
    h = await startHarness({ portals: 2 });
    const { session, acc } = await linkAndBind(h);
    h.app.deps.bridgeWorker.hold();

    // all is well: token, link, the line on both sides, empty queues, nothing failed
    const ok = await health(session);
    expect(ok.issues).toEqual([]);
    expect(ok).toMatchObject({ level: 'ok', token: { status: 'active', level: 'ok' }, uis: { linked: true, connection: 'active' }, linesError: null });
    expect(ok.lines).toEqual([expect.objectContaining({ lineId: '1', binding: 'active', uis: 'active', portal: { active: true, configured: true, error: false } })]);
    expect(ok.queues.map((q) => q.area)).toEqual(['bridge-in', 'bridge-out', 'analytics', 'crm-rules', 'employee-sync', 'telephony', 'chat-sources', 'open-lines']);
    expect(ok.queues.every((q) => q.depth === 0 && q.oldestSeconds === null && q.level === 'ok')).toBe(true);
    expect(ok.rest.used).toBeGreaterThanOrEqual(0);
    expect(ok.rest.used).toBeLessThan(0.8);
    expect(ok.repairs).toMatchObject({ recovered: expect.any(Number), repaired: 0 });
    expect(ok.sources.map((s) => [s.source, s.enabled, s.level])).toEqual([
      ['jivo', false, 'ok'],
      ['amocrm', false, 'ok'],
    ]);

    // another portal with the app: its trouble stays its own
    const other = h.emu.portals[1]!;
    await installApp(h, other);
    const otherSession = (await openPage(other, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
    await seedTrouble(other.memberId, h.app.deps.clock.now());
    const theirs = await health(otherSession);
    expect(theirs.level).toBe('error');
    expect(codes(theirs)).toEqual(['error:QUEUE_STUCK', 'warning:UIS_NOT_LINKED', 'warning:AREA_FAILED']);
    expect(theirs.queues.find((q) => q.area === 'bridge-in')).toMatchObject({ depth: 2, level: 'error' });
    expect(theirs.queues.find((q) => q.area === 'bridge-in')!.oldestSeconds).toBeGreaterThanOrEqual(40 * 60);
    expect(theirs.queues.find((q) => q.area === 'crm-rules')).toMatchObject({ depth: 0, failed24h: 1, level: 'warning' });
    expect(theirs.issues.find((i) => i.code === 'AREA_FAILED')).toMatchObject({ area: 'crm-rules', cause: 'REAUTH_REQUIRED' });
    expect(await health(session)).toMatchObject({ level: 'ok', issues: [] });

    // UIS disables a channel no line depends on (the workspace's): a warning naming it
    expect(ok.uis.channels.filter((c) => c.lineId === null).length).toBeGreaterThan(3);
    await acc.updateChannel('telegram_private', { status: 'disabled', statusReason: 'Сессия Telegram завершена' });
    await acc.settle();
    const some = await health(session);
    const tg = some.uis.channels.find((c) => c.type === 'telegram_private')!;
    expect(tg).toMatchObject({ status: 'disabled', lineId: null });
    expect(some.level).toBe('warning');
    expect(codes(some)).toEqual([`warning:CHANNEL_DISABLED:${tg.name}`]);

    // UIS disables the bound WhatsApp channel: an error naming it (first), the line's UIS side disabled
    await acc.updateChannel('whatsapp', { status: 'disabled', statusReason: 'Номер заблокирован' });
    await acc.settle();
    const off = await health(session);
    expect(off.level).toBe('error');
    const channel = off.uis.channels.find((c) => c.lineId === '1')!;
    expect(codes(off)).toEqual([`error:CHANNEL_DISABLED:${channel.name}`, `warning:CHANNEL_DISABLED:${tg.name}`]);
    expect(off.lines[0]).toMatchObject({ uis: 'disabled' });
  });

  it('when an employee or nobody asks, then it is refused', async () => {
    h = await startHarness();
    await linkAndBind(h);
    const employee = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app`, userId: 2 })).boot.session!;
    expect((await api(h.app.url, employee, 'GET', '/api/health')).status).toBe(403);
    expect((await fetch(`${h.app.url}/api/health`)).status).toBe(401);
  });
});

describe('/metrics', () => {
  it('has the health view’s figures summed over portals, labelled by area or state and never by portal', async () => {
    h = await startHarness({ portals: 2 });
    await linkAndBind(h);
    h.app.deps.bridgeWorker.hold();
    const other = h.emu.portals[1]!;
    await installApp(h, other);
    await seedTrouble(other.memberId, h.app.deps.clock.now());

    const text = await (await fetch(`${h.app.url}/metrics`)).text();
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('omni_queue_depth{area="bridge-in"}')).toBe(2);
    expect(value('omni_queue_depth{area="analytics"}')).toBe(0);
    expect(value('omni_queue_oldest_seconds{area="bridge-in"}')).toBeGreaterThanOrEqual(40 * 60);
    expect(value('omni_failed_items_24h{area="crm-rules"}')).toBe(1);
    expect(value('omni_open_lines{state="active"}')).toBe(1);
    expect(value('omni_uis_bound_channels{status="active"}')).toBe(1);
    expect(value('omni_uis_connections{status="active"}')).toBe(1);
    expect(value('omni_b24_rest_budget_used_max_ratio')).toBeGreaterThanOrEqual(0);
    expect(value('omni_portals{status="active"}')).toBe(2);
    for (const p of h.emu.portals) {
      expect(text).not.toContain(p.memberId);
      expect(text).not.toContain(p.domain);
    }
  });
});
