import { afterEach, describe, expect, it } from 'vitest';
import type { CrmRulesSettings } from '../../server/contracts/crm-rules';
import type { CrmDirectory, CrmRulesView } from '../../server/contracts/crm-settings';
import { installAndLink } from '../support/bridge-fixture';
import { api, installApp, openPage, startHarness, type Harness } from '../support/harness';

/** «Чаты» / «Оффлайн заявки» settings over real HTTP against the emulated portal and UIS. */
let h: Harness;
afterEach(async () => h?.close());

/** REST methods the app called on the portal (every outbound fetch to `/rest/`). */
function recordingFetch(): { fetch: typeof fetch; methods: string[] } {
  const methods: string[] = [];
  return {
    methods,
    fetch: (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const m = /\/rest\/([a-z0-9_.]+?)(?:\.json)?(?:\?|$)/i.exec(url);
      if (m) methods.push(m[1]!);
      return fetch(input, init);
    }) as typeof fetch,
  };
}

async function sessions(): Promise<{ admin: string; employee: string }> {
  const admin = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app` })).boot.session!;
  const employee = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app`, userId: 2 })).boot.session!;
  return { admin, employee };
}

/** Chats on: WhatsApp + Telegram, responsible user 2 (user 1 for site 7), primary = lead at IN_PROCESS, repeat = deal in funnel 1. */
function configured(over: Partial<CrmRulesSettings> = {}): CrmRulesSettings {
  const noStage = { leadStatusId: null, dealCategoryId: null, dealStageId: null };
  return {
    enabled: true,
    createEntities: true,
    channels: ['whatsapp', 'telegram'],
    filter: { join: 'and', groups: [] },
    responsible: {
      defaultUserId: 2,
      rules: [{ userId: 1, filter: { join: 'and', groups: [{ join: 'and', conditions: [{ param: 'site_id', rule: 'allowed', values: ['7'] }] }] } }],
    },
    primary: { entities: 'lead', activity: false },
    repeat: { entities: 'deal', activity: true },
    commentPriority: 'deals',
    addToClosed: false,
    timing: 'end',
    createWithoutContacts: false,
    copyToContactCompany: true,
    notifyOnCreate: true,
    funnels: {
      primary: { defaults: { ...noStage, leadStatusId: 'IN_PROCESS' }, rules: [] },
      repeat: {
        defaults: { leadStatusId: null, dealCategoryId: 1, dealStageId: 'C1:NEW' },
        rules: [{ leadStatusId: null, dealCategoryId: 0, dealStageId: 'PREPARATION', filter: { join: 'or', groups: [{ join: 'and', conditions: [{ param: 'channel_type', rule: 'forbidden', values: ['whatsapp'] }] }] } }],
      },
    },
    templates: { lead: 'Чат {{channel_type}}: {{visitor_name}}', deal: '' },
    fields: [{ uisField: 'utm_source', entity: 'lead', b24Field: 'UF_CRM_YA_CID', alwaysUpdate: true }],
    ...over,
  };
}

describe('«Чаты» and «Оффлайн заявки» settings', () => {
  it('when nothing was saved, then each tab answers its defaults; an admin saves each kind and reads it back', async () => {
    h = await startHarness();
    await installApp(h);
    const { admin, employee } = await sessions();
    const first = (await api(h.app.url, employee, 'GET', '/api/crm-rules/chats')).json as unknown as CrmRulesView;
    expect(first).toMatchObject({ kind: 'chats', saved: false, openLines: [], settings: { enabled: false, primary: { entities: 'lead' } } });
    expect(first.settings.channels).toHaveLength(9);
    expect(((await api(h.app.url, admin, 'GET', '/api/crm-rules/offline')).json as unknown as CrmRulesView).settings.channels).toEqual([]);

    const chats = await api(h.app.url, admin, 'PUT', '/api/crm-rules/chats', configured());
    expect(chats.status, JSON.stringify(chats.json)).toBe(200);
    // offline requests have no channels: whatever is sent is dropped
    const offline = await api(h.app.url, admin, 'PUT', '/api/crm-rules/offline', configured({ primary: { entities: 'lead_deal', activity: true }, funnels: { primary: { defaults: { leadStatusId: 'NEW', dealCategoryId: 0, dealStageId: 'NEW' }, rules: [] }, repeat: { defaults: { leadStatusId: null, dealCategoryId: 0, dealStageId: 'NEW' }, rules: [] } } }));
    expect(offline.status, JSON.stringify(offline.json)).toBe(200);

    const readChats = (await api(h.app.url, employee, 'GET', '/api/crm-rules/chats')).json as unknown as CrmRulesView;
    expect(readChats.saved).toBe(true);
    expect(readChats.settings).toEqual(configured());
    const readOffline = (await api(h.app.url, employee, 'GET', '/api/crm-rules/offline')).json as unknown as CrmRulesView;
    expect(readOffline.settings.channels).toEqual([]);
    expect(readOffline.settings.primary).toEqual({ entities: 'lead_deal', activity: true });
    expect((await api(h.app.url, admin, 'GET', '/api/crm-rules/calls')).status).toBe(404);
  });

  it('when an employee who is not an admin writes, then 403 and nothing changes', async () => {
    h = await startHarness();
    await installApp(h);
    const { employee } = await sessions();
    const put = await api(h.app.url, employee, 'PUT', '/api/crm-rules/chats', configured());
    expect(put).toMatchObject({ status: 403, json: { error: 'NOT_ADMIN' } });
    expect((await api(h.app.url, employee, 'POST', '/api/crm/directory/refresh')).status).toBe(403);
    expect(((await api(h.app.url, employee, 'GET', '/api/crm-rules/chats')).json as unknown as CrmRulesView).saved).toBe(false);
  });

  it('when the settings are invalid, then 400 names the fields', async () => {
    h = await startHarness();
    await installApp(h);
    const { admin } = await sessions();
    const noResponsible = await api(h.app.url, admin, 'PUT', '/api/crm-rules/chats', configured({ responsible: { defaultUserId: null, rules: [] }, primary: { entities: 'none', activity: false } }));
    expect(noResponsible.status).toBe(400);
    expect(noResponsible.json.error).toBe('VALIDATION_FAILED');
    expect(noResponsible.json.message).toContain('responsible.defaultUserId');
    expect(noResponsible.json.message).toContain('primary.entities');

    const deal = configured({ primary: { entities: 'deal', activity: false } });
    const noFunnel = await api(h.app.url, admin, 'PUT', '/api/crm-rules/chats', deal);
    expect(noFunnel.json.message).toContain('funnels.primary.defaults.dealCategoryId');
    expect(noFunnel.json.message).toContain('funnels.primary.defaults.dealStageId');

    const badTemplate = await api(h.app.url, admin, 'PUT', '/api/crm-rules/chats', configured({ templates: { lead: '{{nope}}', deal: '' } }));
    expect(badTemplate.json.message).toContain('templates.lead');
    expect(badTemplate.json.message).toContain('{{nope}}');

    // ids the portal does not have: checked against the CRM directory
    const stale = configured({
      responsible: { defaultUserId: 4, rules: [] },
      funnels: { primary: { defaults: { leadStatusId: 'GONE', dealCategoryId: null, dealStageId: null }, rules: [] }, repeat: { defaults: { leadStatusId: null, dealCategoryId: 1, dealStageId: 'PREPARATION' }, rules: [] } },
      fields: [{ uisField: 'utm_source', entity: 'deal', b24Field: 'UF_CRM_NOPE', alwaysUpdate: false }],
    });
    const staleIds = await api(h.app.url, admin, 'PUT', '/api/crm-rules/chats', stale);
    expect(staleIds.status).toBe(400);
    const msg = String(staleIds.json.message);
    expect(msg).toContain('responsible.defaultUserId: user 4');
    expect(msg).toContain('funnels.primary.defaults.leadStatusId');
    expect(msg).toContain('funnels.repeat.defaults.dealStageId');
    expect(msg).toContain('fields.0.b24Field');
    // the same rules switched off save as they are (nothing is created from them)
    expect((await api(h.app.url, admin, 'PUT', '/api/crm-rules/chats', { ...stale, enabled: false })).status).toBe(200);
  });

  it('when the portal has thousands of employees, then the directory lists every one of them (pages read 50 to a batch)', async () => {
    const rec = recordingFetch();
    h = await startHarness({ fetch: rec.fetch });
    await installApp(h);
    const { admin } = await sessions();
    for (let i = 0; i < 1300; i++) h.portal.crm.directory.users.push({ id: 1000 + i, name: `Сотрудник${i}`, lastName: 'Массовый', email: `e${i}@portal.example`, active: true, department: [1], workPosition: '', externalAuthId: '' });
    rec.methods.length = 0;
    const res = await api(h.app.url, admin, 'GET', '/api/crm/directory');
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect((res.json as unknown as CrmDirectory).users).toHaveLength(1303);
    expect(rec.methods).toEqual(['batch', 'batch']); // the first page with everything else, then the other 26 pages
  });

  it('when the directory is asked for, then it is read with one batch, cached, and refreshed on demand', async () => {
    const rec = recordingFetch();
    h = await startHarness({ fetch: rec.fetch });
    await installApp(h);
    const { admin, employee } = await sessions();
    // an active user outside every department (an invited guest): not an employee the rules or the sync may pick
    h.portal.crm.directory.users.push({ id: 9, name: 'Гость', lastName: 'Приглашённый', email: 'guest@portal.example', active: true, department: [], workPosition: '', externalAuthId: '' });
    rec.methods.length = 0;
    const res = await api(h.app.url, admin, 'GET', '/api/crm/directory');
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(rec.methods).toEqual(['batch']);
    const d = res.json as unknown as CrmDirectory;
    expect(d.leadStatuses.map((s) => s.id)).toEqual(['NEW', 'IN_PROCESS', 'PROCESSED', 'CONVERTED', 'JUNK']);
    expect(d.leadStatuses.find((s) => s.id === 'JUNK')?.semantics).toBe('failure');
    expect(d.dealCategories.map((c) => c.id)).toEqual([0, 1]);
    expect(d.dealCategories[1]!.stages.map((s) => s.id)).toContain('C1:NEW');
    expect(d.dealCategories[0]!.stages.map((s) => s.id)).toContain('PREPARATION');
    // active employees only (user 4 is fired, 9 is in no department), with e-mail for the admin; «Мария» has no last name
    expect(d.users.map((u) => u.id).sort()).toEqual([1, 2, 3]);
    expect(d.users.find((u) => u.id === 3)).toMatchObject({ name: 'Мария', lastName: '', email: 'maria@portal.example' });
    expect(d.fields.lead.map((f) => f.id)).toEqual(expect.arrayContaining(['COMMENTS', 'UF_CRM_YA_CID']));
    expect(d.fields.lead.map((f) => f.id)).not.toContain('TITLE');
    expect(d.fields.deal.length).toBeGreaterThan(0);

    // cached: no REST call; employees get no e-mails
    const again = await api(h.app.url, employee, 'GET', '/api/crm/directory');
    expect(rec.methods).toEqual(['batch']);
    expect((again.json as unknown as CrmDirectory).users.every((u) => u.email === null)).toBe(true);

    const refreshed = await api(h.app.url, admin, 'POST', '/api/crm/directory/refresh');
    expect(refreshed.status).toBe(200);
    expect(rec.methods).toEqual(['batch', 'batch']);
  });

  it('when an open line drives a channel, then Chats switch it off: connecting unticks it, a save naming it is accepted without it, disconnecting does not tick it back', async () => {
    h = await startHarness();
    const { session, acc } = await installAndLink(h);
    // the admin configured Chats with WhatsApp before any open line
    expect((await api(h.app.url, session, 'PUT', '/api/crm-rules/chats', configured())).status).toBe(200);
    const wa = String(acc.adapterChannels().find((c) => c.type === 'whatsapp')!.id);
    const bound = await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: wa });
    expect(bound.status).toBe(200);
    expect(bound.json.chatsUnticked).toBe(true);

    const view = (await api(h.app.url, session, 'GET', '/api/crm-rules/chats')).json as unknown as CrmRulesView;
    expect(view.openLines).toEqual([expect.objectContaining({ type: 'whatsapp', lineId: '1' })]);
    expect(view.settings.channels).toEqual(['telegram']);

    // a page opened before the line was connected still sends WhatsApp: its other changes are saved, WhatsApp is not
    const stale = await api(h.app.url, session, 'PUT', '/api/crm-rules/chats', configured({ addToClosed: true }));
    expect(stale.status, JSON.stringify(stale.json)).toBe(200);
    expect((stale.json as unknown as CrmRulesView).settings).toMatchObject({ addToClosed: true, channels: ['telegram'] });
    // «workspace + Open Lines»: the tab on, every rule off
    const workspaceOnly = await api(h.app.url, session, 'PUT', '/api/crm-rules/chats', configured({ createEntities: false, channels: ['whatsapp', 'telegram'] }));
    expect(workspaceOnly.status, JSON.stringify(workspaceOnly.json)).toBe(200);
    expect((workspaceOnly.json as unknown as CrmRulesView).settings).toMatchObject({ enabled: true, createEntities: false, channels: ['telegram'] });
    // offline requests are not bound to channels
    expect((await api(h.app.url, session, 'PUT', '/api/crm-rules/offline', configured())).status).toBe(200);

    // seed 002: switching the line off does not switch the channel back on in Chats
    expect((await api(h.app.url, session, 'DELETE', '/api/connector?line=1')).status).toBe(200);
    const after = (await api(h.app.url, session, 'GET', '/api/crm-rules/chats')).json as unknown as CrmRulesView;
    expect(after.openLines).toEqual([]);
    expect(after.settings.channels).toEqual(['telegram']);
  });

  it('when a template preview is asked, then it renders the example chat and an empty template the built-in one', async () => {
    h = await startHarness();
    await installApp(h);
    const { employee } = await sessions();
    const r = await api(h.app.url, employee, 'POST', '/api/crm-rules/preview', { kind: 'chats', templates: { lead: 'Чат {{channel_type}}: {{visitor_name}} ({{utm_term}})', deal: '' } });
    expect(r.status).toBe(200);
    expect(r.json.lead).toBe('Чат WhatsApp: Иван Петров (купить диван)');
    expect(r.json.deal).toBe('Чат WhatsApp: Иван Петров +79161234567');
    const offline = await api(h.app.url, employee, 'POST', '/api/crm-rules/preview', { kind: 'offline', templates: { lead: '', deal: '' } });
    expect(offline.json.lead).toBe('Офлайн заявка Обратная связь: Иван Петров +79161234567');
  });
});
