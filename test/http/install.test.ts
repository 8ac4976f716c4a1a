import { afterEach, describe, expect, it } from 'vitest';
import { OFFLINE_EVENTS, ONLINE_EVENTS } from '../../install/plan';
import { installApp, openPage, runInstallApi, startHarness, type Harness } from '../support/harness';

let h: Harness;
afterEach(async () => h?.close());

const APP_EVENTS = new Set<string>([...ONLINE_EVENTS, ...OFFLINE_EVENTS]);

/** Our bindings on the emulated portal, counted per kind. */
function bindingCounts(h: Harness) {
  const s = h.portal.state();
  const count = (keys: string[]) => keys.reduce<Record<string, number>>((acc, k) => ((acc[k] = (acc[k] ?? 0) + 1), acc), {});
  return {
    connectors: count(s.connectors.map((c) => c.id)),
    placements: count(s.placements.map((p) => `${p.placement} ${p.handler}`)),
    events: count(s.events.filter((e) => APP_EVENTS.has(e.event)).map((e) => `${e.event} ${e.offline ? 'offline' : e.handler}`)),
  };
}

function expectExactlyOneOfEach(h: Harness) {
  const c = bindingCounts(h);
  const url = h.app.url;
  expect(c.connectors).toEqual({ uis_omni: 1 });
  expect(c.placements).toEqual({
    [`LEFT_MENU ${url}/b24/placements/left-menu`]: 1,
    [`CRM_LEAD_DETAIL_TAB ${url}/b24/placements/crm-tab`]: 1,
    [`CRM_DEAL_DETAIL_TAB ${url}/b24/placements/crm-tab`]: 1,
    [`CRM_CONTACT_DETAIL_TAB ${url}/b24/placements/crm-tab`]: 1,
  });
  const expected: Record<string, number> = {};
  for (const e of ONLINE_EVENTS) expected[`${e} ${url}/b24/events`] = 1;
  for (const e of OFFLINE_EVENTS) expected[`${e} offline`] = 1;
  expect(c.events).toEqual(expected);
}

describe('install', () => {
  it('when an admin installs the app, then credentials are verified and stored encrypted, every registration exists once and the portal is active', async () => {
    h = await startHarness();
    const { boot, lines } = await installApp(h);
    expect(boot.isAdmin).toBe(true);
    expect(lines[0]).toMatchObject({ type: 'plan' });
    expect(lines.at(-1)).toEqual({ type: 'done', ok: true });
    expectExactlyOneOfEach(h);
    expect(h.portal.state().installed).toBe(true);

    const stored = (await h.app.deps.portals.get(h.portal.memberId))!;
    expect(stored).toMatchObject({ status: 'active', domain: h.portal.domain, clientEndpoint: h.portal.clientEndpoint, installedBy: h.portal.adminUserId });
    expect(stored.applicationToken).toBe(h.portal.state().applicationToken);
    const raw = JSON.stringify(await h.sql.all('SELECT * FROM portals'));
    expect(raw).not.toContain(stored.tokens!.accessToken);
    expect(raw).not.toContain(stored.tokens!.refreshToken);
    expect(raw).not.toContain(stored.applicationToken!);
  });

  it('when the install page runs the plan again, or the app is reinstalled, then exactly one of each binding remains', async () => {
    h = await startHarness();
    await installApp(h);
    const again = await openPage(h.portal, { placement: 'DEFAULT', handlerUrl: `${h.app.url}/b24/install` });
    expect(again.status).toBe(200);
    const rerun = await runInstallApi(h.app.url, again.boot.session!);
    expect(rerun.lines.at(-1)).toEqual({ type: 'done', ok: true });
    expect(rerun.lines.filter((l) => l.type === 'step' && l.step.status === 'done' && l.step.id.startsWith('placement')).every((l) => l.type === 'step' && l.step.detail === 'present')).toBe(true);
    expectExactlyOneOfEach(h);

    await h.portal.uninstall();
    await h.app.deps.background.idle();
    expect((await h.app.deps.portals.get(h.portal.memberId))?.status).toBe('deleted');
    await installApp(h);
    expectExactlyOneOfEach(h);
    expect(await h.app.deps.portals.get(h.portal.memberId)).toMatchObject({ status: 'active', applicationToken: h.portal.state().applicationToken });
  });

  it('when the app is updated (bindings removed, ONAPPUPDATE sent), then the backend re-runs the plan and each binding exists once', async () => {
    h = await startHarness();
    await installApp(h);
    await h.portal.updateApp();
    expect(h.portal.state().placements).toHaveLength(0);
    await h.app.deps.background.idle();
    expectExactlyOneOfEach(h);
    const delivery = h.portal.deliveries.find((d) => d.event === 'ONAPPUPDATE');
    expect(delivery?.status).toBe(200);
  });

  it('when a non-admin opens the install page, then it is refused with 403 and nothing is stored', async () => {
    h = await startHarness();
    h.portal.beginInstall();
    const page = await openPage(h.portal, { userId: h.portal.userId, handlerUrl: `${h.app.url}/b24/install` });
    expect(page.status).toBe(403);
    expect(page.boot.error?.code).toBe('NOT_ADMIN');
    expect(page.boot.session).toBeNull();
    expect(await h.app.deps.portals.get(h.portal.memberId)).toBeNull();
  });

  it('when a plain employee calls the install API, then it is refused', async () => {
    h = await startHarness();
    await installApp(h);
    const page = await openPage(h.portal, { userId: h.portal.userId, placement: 'LEFT_MENU', placementOptions: {} });
    expect(page.status).toBe(200);
    expect(page.boot.isAdmin).toBe(false);
    const run = await runInstallApi(h.app.url, page.boot.session!);
    expect(run.status).toBe(403);
  });
});
