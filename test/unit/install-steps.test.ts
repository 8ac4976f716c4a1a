import { describe, expect, it } from 'vitest';
import { INSTALL_STEPS, OFFLINE_EVENTS, ONLINE_EVENTS } from '../../install/plan';
import type { RestCaller } from '../../install/rest-caller';
import { runInstallPlan, type StepReport } from '../../install/steps';

const APP = 'https://omni.example.com';

/** A small in-memory portal that refuses duplicates like the real one and rejects any other method loudly. */
function fakePortal() {
  const placements: Array<{ placement: string; handler: string; title: string }> = [];
  const events: Array<{ event: string; handler: string; offline: number }> = [];
  const connectors = new Map<string, unknown>();
  const calls: string[] = [];
  const fail = new Set<string>();
  const err = (error: string, description: string) => Object.assign(new Error(description), { code: error, description });
  const exec = (method: string, p: Record<string, unknown>): unknown => {
    calls.push(method);
    if (fail.has(method)) throw err('ACCESS_DENIED', 'Access denied');
    switch (method) {
      case 'imconnector.register':
        connectors.set(String(p.ID), p);
        return { result: true };
      case 'imconnector.list':
        return Object.fromEntries([['livechat', 'Онлайн-чат'], ...[...connectors.keys()].map((id) => [id, String((connectors.get(id) as { NAME?: unknown }).NAME)])]);
      case 'placement.get':
        return placements.map((b) => ({ ...b }));
      case 'placement.bind':
        if (placements.some((b) => b.placement === p.PLACEMENT && b.handler === p.HANDLER)) throw err('ERROR_CORE', 'Unable to set placement handler: Handler already binded');
        placements.push({ placement: String(p.PLACEMENT), handler: String(p.HANDLER), title: String(p.TITLE) });
        return true;
      case 'placement.unbind': {
        const before = placements.length;
        for (let i = placements.length - 1; i >= 0; i--) if (placements[i]!.placement === p.PLACEMENT && placements[i]!.handler === p.HANDLER) placements.splice(i, 1);
        return { count: before - placements.length };
      }
      case 'event.get':
        return events.map((e) => ({ ...e, auth_type: '0' }));
      case 'event.bind': {
        const offline = p.event_type === 'offline' ? 1 : 0;
        const handler = offline ? '' : String(p.handler);
        if (events.some((e) => e.event === p.event && e.handler === handler && e.offline === offline)) throw err('ERROR_CORE', 'Unable to set event handler: Handler already binded');
        events.push({ event: String(p.event), handler, offline });
        return true;
      }
      case 'event.unbind': {
        const i = events.findIndex((e) => e.event === p.event && e.handler === p.handler);
        if (i >= 0) events.splice(i, 1);
        return { count: i >= 0 ? 1 : 0 };
      }
      default:
        throw new Error(`fake portal: method ${method} is not stubbed`);
    }
  };
  const rest: RestCaller = {
    async call(method, params = {}) {
      return { result: exec(method, params) };
    },
    async batch(cmds) {
      calls.push('batch');
      const result: Record<string, unknown> = {};
      const errors: Record<string, { error: string; error_description: string }> = {};
      for (const [k, c] of Object.entries(cmds)) {
        try {
          result[k] = exec(c.method, c.params ?? {});
        } catch (e) {
          errors[k] = { error: (e as { code: string }).code, error_description: (e as Error).message };
        }
      }
      return { result, errors };
    },
  };
  return { rest, placements, events, connectors, calls, fail };
}

async function run(portal: ReturnType<typeof fakePortal>, appUrl = APP) {
  const reports: StepReport[] = [];
  const ok = await runInstallPlan(INSTALL_STEPS, portal.rest, appUrl, (r) => reports.push(r));
  return { ok, reports };
}

describe('install plan runner', () => {
  it('when run on an empty portal, then it registers the connector, four placements and every event binding', async () => {
    const portal = fakePortal();
    const { ok, reports } = await run(portal);
    expect(ok).toBe(true);
    expect([...portal.connectors.keys()]).toEqual(['uis_omni']);
    expect(portal.placements.map((b) => b.placement).sort()).toEqual(['CRM_CONTACT_DETAIL_TAB', 'CRM_DEAL_DETAIL_TAB', 'CRM_LEAD_DETAIL_TAB', 'LEFT_MENU']);
    expect(portal.placements.every((b) => b.title === 'UIS Чаты')).toBe(true);
    expect(portal.placements.find((b) => b.placement === 'LEFT_MENU')?.handler).toBe(`${APP}/b24/placements/left-menu`);
    expect(portal.events.filter((e) => !e.offline).map((e) => e.event).sort()).toEqual([...ONLINE_EVENTS].sort());
    expect(portal.events.filter((e) => e.offline).map((e) => e.event).sort()).toEqual([...OFFLINE_EVENTS].sort());
    expect(reports.filter((r) => r.status === 'done')).toHaveLength(INSTALL_STEPS.length);
  });

  it('when run twice, then exactly one binding of each exists and the second run reports them present', async () => {
    const portal = fakePortal();
    await run(portal);
    const snapshot = JSON.stringify([portal.placements, portal.events]);
    const second = await run(portal);
    expect(second.ok).toBe(true);
    expect(JSON.stringify([portal.placements, portal.events])).toBe(snapshot);
    expect(second.reports.filter((r) => r.status === 'done' && r.id !== 'connector' && r.id !== 'telephony-lines').every((r) => r.detail === 'present')).toBe(true);
    // the lines follow the linked UIS account: without one (as here) the step is skipped
    expect(second.reports.find((r) => r.id === 'telephony-lines' && r.status === 'done')?.detail).toBe('skipped');
  });

  it('when installed the first time, then every step says created — the portal’s own ONAPPINSTALL binding is not ours — and a re-run says updated or present', async () => {
    const portal = fakePortal();
    portal.events.push({ event: 'ONAPPINSTALL', handler: `${APP}/b24/events`, offline: 0 });
    const first = await run(portal);
    const detail = (r: typeof first, id: string) => r.reports.find((x) => x.id === id && x.status === 'done')?.detail;
    expect(detail(first, 'connector')).toBe('created');
    expect(detail(first, 'events')).toBe('created');
    const second = await run(portal);
    expect(detail(second, 'connector')).toBe('updated');
    expect(detail(second, 'events')).toBe('present');
  });

  it('when the app moved to a new URL, then old handlers are replaced, not duplicated', async () => {
    const portal = fakePortal();
    await run(portal, 'https://old.example.com');
    await run(portal, APP);
    expect(portal.placements).toHaveLength(4);
    expect(portal.placements.every((b) => b.handler.startsWith(APP))).toBe(true);
    const online = portal.events.filter((e) => !e.offline);
    expect(online).toHaveLength(ONLINE_EVENTS.length);
    expect(online.every((e) => e.handler === `${APP}/b24/events`)).toBe(true);
  });

  it('when a step fails, then it reports the error, stops, and a retry completes the plan', async () => {
    const portal = fakePortal();
    portal.fail.add('placement.bind');
    const first = await run(portal);
    expect(first.ok).toBe(false);
    const failed = first.reports.find((r) => r.status === 'failed');
    expect(failed).toMatchObject({ id: 'placement:LEFT_MENU', error: { code: 'ACCESS_DENIED' } });
    expect(portal.events).toHaveLength(0);
    portal.fail.clear();
    expect((await run(portal)).ok).toBe(true);
    expect(portal.placements).toHaveLength(4);
  });
});
