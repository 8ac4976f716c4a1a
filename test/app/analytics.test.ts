import { describe, expect, it } from 'vitest';
import { json, SESSION, stubFetch } from '../support/scripted-fetch';
import { createApp } from 'vue';
import { createPinia } from 'pinia';
import {
  ANALYTICS_CONNECTORS,
  type AnalyticsJobView,
  type AnalyticsLists,
  type AnalyticsSettings,
  type AnalyticsView,
} from '../../server/contracts/analytics';
import {
  analyticsIssues,
  createAnalyticsApi,
  getAnalytics,
  getAnalyticsJobs,
  getAnalyticsLists,
  normalizeAnalyticsSettings,
  saveAnalytics,
} from '../../app/api/analytics';
import { ApiRequestError } from '../../app/api/api-request';
import { useAnalyticsStore } from '../../app/stores/analytics-store';

/** app/api/analytics.ts and useAnalyticsStore against a stubbed fetch that fails loudly on unscripted calls. */
const HOOK_URL = 'https://omni.example/b24/analytics/HOOK';

const blank: AnalyticsSettings = {
  enabled: false,
  employeeId: null,
  trafficType: 'source',
  defaults: { sourceId: null, siteId: null, campaignId: null },
  messengers: {},
  webhookToken: null,
};
const settings: AnalyticsSettings = {
  enabled: true,
  employeeId: 1,
  trafficType: 'source',
  defaults: { sourceId: 20, siteId: 10, campaignId: null },
  messengers: { telegrambot: { sourceId: 21, siteId: 11, campaignId: null } },
  webhookToken: 'APP_TOKEN',
};
const savedView: AnalyticsView = { settings, webhookUrl: HOOK_URL, script: { version: '1.0.0', code: '/* script */' } };
const blankView: AnalyticsView = { settings: blank, webhookUrl: '', script: null };
const lists: AnalyticsLists = {
  employees: [{ id: 1, name: 'Анна' }],
  sites: [{ id: 10, name: 'acme.ru' }],
  sources: [{ id: 20, name: 'Директ' }],
  campaigns: [{ id: 30, name: 'Весна', siteId: null }],
};
const jobs: AnalyticsJobView[] = [
  { entityType: 'lead', entityId: 1, status: 'failed', reason: 'UIS: invalid phone', chatId: 3, attribution: null, updatedAt: '2025-05-01T10:00:00Z' },
];




describe('app/api/analytics', () => {
  it('when the settings are read, then it calls GET /api/analytics with the Bearer session and parses the view', async () => {
    const { ctx, seen } = stubFetch(() => json(200, savedView));
    await expect(getAnalytics(ctx)).resolves.toEqual(savedView);
    expect(seen).toEqual([{ method: 'GET', path: '/api/analytics', auth: `Bearer ${SESSION}`, body: null }]);
  });

  it('when saving, then it PUTs the normalized settings and returns the saved view', async () => {
    const { ctx, seen } = stubFetch(() => json(200, savedView));
    const draft: AnalyticsSettings = {
      ...settings,
      defaults: { sourceId: 20, siteId: 10, campaignId: 30 }, // a campaign is not used with «source and site»
      messengers: {
        livechat: { sourceId: null, siteId: null, campaignId: null }, // empty row = by default
        telegrambot: { sourceId: 21, siteId: 11, campaignId: null },
      },
      webhookToken: '  APP_TOKEN ',
    };
    await expect(saveAnalytics(ctx, draft)).resolves.toEqual(savedView);
    expect(seen).toEqual([{ method: 'PUT', path: '/api/analytics', auth: `Bearer ${SESSION}`, body: settings }]);
  });

  it('when the settings are invalid, then it fails with VALIDATION_FAILED naming the fields and never calls the server', async () => {
    const { ctx, seen } = stubFetch();
    const error = await saveAnalytics(ctx, { ...blank, enabled: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiRequestError);
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((error as Error).message).toContain('employeeId');
    expect((error as Error).message).toContain('defaults.siteId');
    expect(seen).toEqual([]);
  });

  it.each([
    [400, 'UIS_NOT_LINKED', 'Link a UIS account on the «Главная» tab first'],
    [403, 'NOT_ADMIN', 'Only a portal administrator can change analytics settings'],
    [400, 'VALIDATION_FAILED', 'employeeId 9 is not an employee of the UIS account'],
    [503, 'UIS_UNAVAILABLE', 'UIS is not reachable right now; try again in a minute'],
  ])('when the server answers %i %s, then the error carries its code, message and status', async (status, code, message) => {
    const { ctx } = stubFetch(() => json(status, { error: code, message }));
    await expect(saveAnalytics(ctx, settings)).rejects.toMatchObject({ code, message, status });
  });

  it('when the lists are read, then it calls GET /api/analytics/lists; without a UIS account the code says so', async () => {
    const { ctx, seen } = stubFetch(
      () => json(200, lists),
      () => json(400, { error: 'UIS_NOT_LINKED', message: 'Link a UIS account first' }),
    );
    await expect(getAnalyticsLists(ctx)).resolves.toEqual(lists);
    await expect(getAnalyticsLists(ctx)).rejects.toMatchObject({ code: 'UIS_NOT_LINKED', status: 400 });
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual(['GET /api/analytics/lists', 'GET /api/analytics/lists']);
  });

  it('when the jobs are read, then they are parsed; an unexpected answer fails with BAD_RESPONSE', async () => {
    const { ctx, seen } = stubFetch(
      () => json(200, jobs),
      () => json(200, [{ entityType: 'contact' }]),
    );
    await expect(getAnalyticsJobs(ctx)).resolves.toEqual(jobs);
    await expect(getAnalyticsJobs(ctx)).rejects.toMatchObject({ code: 'BAD_RESPONSE', status: 200 });
    expect(seen[0]).toMatchObject({ method: 'GET', path: '/api/analytics/jobs' });
  });

  it('when there is no session, then nothing is sent (NO_SESSION)', async () => {
    const { fetch, seen } = stubFetch();
    await expect(createAnalyticsApi({ session: null, fetch }).getAnalytics()).rejects.toMatchObject({ code: 'NO_SESSION' });
    expect(seen).toEqual([]);
  });
});

describe('analyticsIssues / normalizeAnalyticsSettings', () => {
  it('when disabled, then nothing is required', () => {
    expect(analyticsIssues(blank)).toEqual([]);
  });

  it('when enabled with «source and site», then the employee and the default site are required (the source is not)', () => {
    expect(analyticsIssues({ ...blank, enabled: true })).toEqual([
      { field: 'employeeId', code: 'required' },
      { field: 'defaults.siteId', code: 'required' },
    ]);
    expect(analyticsIssues(settings)).toEqual([]);
  });

  it('when enabled with «campaign», then the default campaign is required and a leftover site does not count', () => {
    const campaign: AnalyticsSettings = { ...settings, trafficType: 'campaign' };
    expect(analyticsIssues(campaign)).toEqual([{ field: 'defaults.campaignId', code: 'required' }]);
    expect(analyticsIssues({ ...campaign, defaults: { sourceId: null, siteId: null, campaignId: 30 } })).toEqual([]);
  });

  it('when a messenger row has a source but no site, then that row is reported (it would silently use the default)', () => {
    const row = { ...settings, enabled: false, messengers: { vkgroup: { sourceId: 20, siteId: null, campaignId: null } } };
    expect(analyticsIssues(row)).toEqual([{ field: 'messengers.vkgroup', code: 'siteMissing' }]);
  });

  it('when the token is too long, then the limit is named', () => {
    expect(analyticsIssues({ ...blank, webhookToken: 'x'.repeat(129) })).toEqual([{ field: 'webhookToken', code: 'tooLong', max: 128 }]);
  });

  it('when normalized, then blank tokens become null, empty rows go and rows follow the connector order', () => {
    const s = normalizeAnalyticsSettings({
      ...blank,
      trafficType: 'campaign',
      messengers: {
        email: { sourceId: 20, siteId: 10, campaignId: 31 },
        livechat: { sourceId: null, siteId: null, campaignId: 30 },
        viber: { sourceId: 20, siteId: 10, campaignId: null },
      },
      webhookToken: '   ',
    });
    expect(s.webhookToken).toBeNull();
    expect(s.messengers).toEqual({
      livechat: { sourceId: null, siteId: null, campaignId: 30 },
      email: { sourceId: null, siteId: null, campaignId: 31 },
    });
    expect(Object.keys(s.messengers)).toEqual(['livechat', 'email']);
  });
});

/** The store inside an app with Pinia, connected to the stubbed fetch (as SettingsView does with its session). */
function newStore() {
  const pinia = createPinia();
  createApp({}).use(pinia);
  return useAnalyticsStore(pinia);
}

function storeWith(...responses: (() => Response)[]) {
  const stub = stubFetch(...responses);
  const store = newStore();
  store.connect(stub.ctx);
  return { store, seen: stub.seen };
}

describe('useAnalyticsStore', () => {
  it('when loaded, then the draft has a row for every connector and nothing is dirty', async () => {
    const { store } = storeWith(() => json(200, savedView));
    const pending = store.load();
    expect(store.loading).toBe(true);
    await expect(pending).resolves.toBe(true);
    expect(store).toMatchObject({ loading: false, view: savedView, error: null, dirty: false, issues: [] });
    expect(Object.keys(store.draft!.messengers)).toEqual([...ANALYTICS_CONNECTORS]);
    expect(store.draft!.messengers.telegrambot).toEqual(settings.messengers.telegrambot);
  });

  it('when the draft changes, then it is dirty; blank spaces or a value the traffic type ignores are not changes', async () => {
    const { store } = storeWith(() => json(200, savedView));
    await store.load();
    store.draft = { ...store.draft!, webhookToken: ' APP_TOKEN  ' };
    expect(store.dirty).toBe(false);
    store.draft = { ...store.draft, defaults: { ...store.draft.defaults, campaignId: 30 } };
    expect(store.dirty).toBe(false);
    store.draft = { ...store.draft, employeeId: 2 };
    expect(store.dirty).toBe(true);
  });

  it('when the draft is invalid, then save() sends nothing and the issues follow the draft until fixed', async () => {
    const { store, seen } = storeWith(() => json(200, blankView));
    await store.load();
    expect(store.issues).toEqual([]);
    store.draft = { ...store.draft!, enabled: true, defaults: { sourceId: null, siteId: 10, campaignId: null } };
    expect(store.issues).toEqual([]); // nothing is shown before a save is attempted
    await expect(store.save()).resolves.toBe(false);
    expect(store.issues).toEqual([{ field: 'employeeId', code: 'required' }]);
    store.draft = { ...store.draft, employeeId: 1 };
    expect(store.issues).toEqual([]);
    expect(seen.map((s) => s.method)).toEqual(['GET']);
  });

  it('when saved, then the server view replaces the draft and nothing is dirty', async () => {
    const { store, seen } = storeWith(() => json(200, blankView), () => json(200, savedView));
    await store.load();
    store.draft = { ...store.draft!, ...settings, messengers: { ...store.draft!.messengers, ...settings.messengers } };
    expect(store.dirty).toBe(true);
    const pending = store.save();
    expect(store.saving).toBe(true);
    await expect(store.save()).resolves.toBe(false); // a second click while saving is ignored
    await expect(pending).resolves.toBe(true);
    expect(store).toMatchObject({ saving: false, view: savedView, dirty: false, error: null, issues: [] });
    expect(seen.map((s) => s.method)).toEqual(['GET', 'PUT']);
    expect(seen[1]!.body).toEqual(settings);
  });

  it('when the server refuses, then the error says save and the draft keeps the changes; revert() drops both', async () => {
    const { store } = storeWith(
      () => json(200, savedView),
      () => json(400, { error: 'VALIDATION_FAILED', message: 'employeeId 2 is not an employee of the UIS account' }),
    );
    await store.load();
    store.draft = { ...store.draft!, employeeId: 2 };
    await expect(store.save()).resolves.toBe(false);
    expect(store.error).toEqual({ code: 'VALIDATION_FAILED', message: 'employeeId 2 is not an employee of the UIS account', action: 'save' });
    expect(store).toMatchObject({ dirty: true, saving: false, view: savedView });
    expect(store.draft!.employeeId).toBe(2);

    store.revert();
    expect(store).toMatchObject({ dirty: false, error: null });
    expect(store.draft!.employeeId).toBe(1);
  });

  it('when the lists cannot be loaded, then listsError keeps the code; forgetLists() clears it for another try', async () => {
    const { store } = storeWith(
      () => json(400, { error: 'UIS_NOT_LINKED', message: 'Link a UIS account first' }),
      () => json(200, lists),
    );
    await expect(store.loadLists()).resolves.toBe(false);
    expect(store.listsError).toEqual({ code: 'UIS_NOT_LINKED', message: 'Link a UIS account first', action: 'lists' });
    store.forgetLists();
    expect(store.listsError).toBeNull();
    await expect(store.loadLists()).resolves.toBe(true);
    expect(store.lists).toEqual(lists);
  });

  it('when the jobs are loaded, then they are kept; a failure is kept apart from the settings error', async () => {
    const { store } = storeWith(() => json(200, jobs), () => json(502, { error: 'UPSTREAM', message: 'bad gateway' }));
    await store.loadJobs();
    expect(store.jobs).toEqual(jobs);
    await store.loadJobs();
    expect(store.jobsError).toMatchObject({ code: 'UPSTREAM', action: 'jobs' });
    expect(store.error).toBeNull();
    expect(store.jobs).toEqual(jobs);
  });

  it('when not connected, then every call fails with NO_SESSION', async () => {
    const store = newStore();
    await expect(store.load()).resolves.toBe(false);
    expect(store.error).toMatchObject({ code: 'NO_SESSION', action: 'load' });
  });
});
