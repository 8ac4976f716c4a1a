import { describe, expect, it } from 'vitest';
import { json, SESSION, stubFetch } from '../support/scripted-fetch';
import { createPinia, setActivePinia } from 'pinia';
import type { CrmRulesSettings } from '../../server/contracts/crm-rules';
import { defaultCrmRulesSettings } from '../../server/services/crm-rules/settings';
import type { CrmDirectory, CrmRulesView } from '../../server/contracts/crm-settings';
import { crmRulesIssues } from '../../app/api/crm-rules';
import { useCrmRulesStore } from '../../app/stores/crm-rules-store';

/** app/api/crm-rules.ts and useCrmRulesStore against a stubbed fetch that fails loudly on unscripted calls. */
const blank: CrmRulesSettings = { ...defaultCrmRulesSettings('chats'), channels: ['whatsapp', 'telegram'] };
const view = (kind: 'chats' | 'offline', settings = blank, openLines: CrmRulesView['openLines'] = []): CrmRulesView => ({ kind, settings, saved: false, updatedAt: null, openLines });
const directory: CrmDirectory = {
  leadStatuses: [{ id: 'NEW', name: 'Не обработан', semantics: 'process' }],
  dealCategories: [{ id: 0, name: 'Общая', stages: [{ id: 'NEW', name: 'Новая', semantics: 'process' }] }],
  users: [{ id: 2, name: 'Иван', lastName: 'Сотрудников', email: null }],
  fields: { lead: [], deal: [], contact: [], company: [] },
  fetchedAt: '2025-01-01T00:00:00Z',
};



function store(...responses: (() => Response)[]) {
  setActivePinia(createPinia());
  const s = useCrmRulesStore();
  const stub = stubFetch(...responses);
  s.connect(stub.ctx);
  return { s, seen: stub.seen };
}

describe('crmRulesIssues', () => {
  it('when the rules are on without a responsible, then that field is named (a channel an open line drives is none: the server drops it)', () => {
    const issues = crmRulesIssues({ ...blank, enabled: true, channels: ['whatsapp'] });
    expect(issues.map((i) => i.field)).toEqual(['responsible.defaultUserId']);
  });
  it('when the rules are off (workspace + Open Lines), then nothing is missing', () => {
    expect(crmRulesIssues({ ...blank, enabled: true, createEntities: false })).toEqual([]);
    expect(crmRulesIssues({ ...blank, enabled: true, responsible: { defaultUserId: 2, rules: [] } })).toEqual([]);
  });
  it('when a filter condition has no values or a template an unknown variable, then those fields are named', () => {
    const s: CrmRulesSettings = {
      ...blank,
      filter: { join: 'and', groups: [{ join: 'and', conditions: [{ param: 'site_id', rule: 'allowed', values: [] }] }] },
      templates: { lead: '{{oops}}', deal: '' },
    };
    const issues = crmRulesIssues(s);
    expect(issues).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'filter.groups.0.conditions.0.values', code: 'values' })]));
  });
});

describe('useCrmRulesStore', () => {
  it('when loaded, then both tabs are read; editing makes the tab dirty and revert drops the change', async () => {
    const { s, seen } = store(() => json(200, view('chats')), () => json(200, view('offline', { ...blank, channels: [] })));
    await expect(s.load()).resolves.toBe(true);
    expect(seen.map((x) => `${x.method} ${x.path} ${x.auth}`)).toEqual([`GET /api/crm-rules/chats Bearer ${SESSION}`, `GET /api/crm-rules/offline Bearer ${SESSION}`]);
    expect(s.dirty('chats')).toBe(false);
    s.setDraft('chats', { ...s.drafts.chats!, timing: 'end' });
    expect(s.dirty('chats')).toBe(true);
    expect(s.dirty('offline')).toBe(false);
    expect(s.anyDirty).toBe(true);
    s.revert('chats');
    expect(s.dirty('chats')).toBe(false);
  });

  it('when an invalid draft is saved, then nothing is sent and issues appear; once fixed it PUTs and adopts the answer', async () => {
    const fixed = { ...blank, enabled: true, responsible: { defaultUserId: 2, rules: [] } };
    const { s, seen } = store(() => json(200, view('chats')), () => json(200, view('offline')), () => json(200, { ...view('chats', fixed), saved: true, updatedAt: '2025-01-01T00:00:00Z' }));
    await s.load();
    s.setDraft('chats', { ...blank, enabled: true });
    await expect(s.save('chats')).resolves.toBe(false);
    expect(s.issues('chats').map((i) => i.field)).toEqual(['responsible.defaultUserId']);
    expect(seen).toHaveLength(2);
    s.setDraft('chats', fixed);
    expect(s.issues('chats')).toEqual([]);
    await expect(s.save('chats')).resolves.toBe(true);
    expect(seen[2]).toMatchObject({ method: 'PUT', path: '/api/crm-rules/chats', body: fixed });
    expect(s.views.chats?.saved).toBe(true);
    expect(s.dirty('chats')).toBe(false);
  });

  it('when the server refuses a save, then the failure is kept for the Save bar and the draft stays', async () => {
    const { s } = store(
      () => json(200, view('chats')),
      () => json(200, view('offline')),
      () => json(400, { error: 'VALIDATION_FAILED', message: 'responsible.defaultUserId: user 9 is not an active employee of the portal' }),
    );
    await s.load();
    const draft = { ...blank, enabled: true, responsible: { defaultUserId: 2, rules: [] } };
    s.setDraft('chats', draft);
    await expect(s.save('chats')).resolves.toBe(false);
    expect(s.errors.chats).toMatchObject({ action: 'save', code: 'VALIDATION_FAILED' });
    expect(s.drafts.chats).toEqual(draft);
  });

  it('when a template is reverted, then only that template goes back; the directory and preview are fetched', async () => {
    const saved = { ...blank, templates: { lead: 'Чат {{channel_type}}', deal: 'D' } };
    const { s, seen } = store(
      () => json(200, view('chats', saved)),
      () => json(200, view('offline')),
      () => json(200, directory),
      () => json(200, { lead: 'Чат WhatsApp', deal: 'D', example: {} }),
      () => json(200, directory),
    );
    await s.load();
    s.setDraft('chats', { ...s.drafts.chats!, templates: { lead: 'X', deal: 'Y' } });
    s.revertTemplate('chats', 'lead');
    expect(s.drafts.chats!.templates).toEqual({ lead: 'Чат {{channel_type}}', deal: 'Y' });
    await expect(s.loadDirectory()).resolves.toBe(true);
    expect(s.directory?.users[0]?.id).toBe(2);
    await expect(s.preview('chats')).resolves.toBe(true);
    expect(s.previews.chats?.lead).toBe('Чат WhatsApp');
    expect(seen[3]).toMatchObject({ method: 'POST', path: '/api/crm-rules/preview', body: { kind: 'chats', templates: { lead: 'Чат {{channel_type}}', deal: 'Y' } } });
    await s.loadDirectory(true);
    expect(seen[4]).toMatchObject({ method: 'POST', path: '/api/crm/directory/refresh' });
  });

  it('when the two tabs ask for previews at once, then each tab keeps its own answer (the last answer wins per tab)', async () => {
    setActivePinia(createPinia());
    const s = useCrmRulesStore();
    const gates: Array<() => void> = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const req = new Request(new URL(String(input), 'http://app.test'), init);
      const path = new URL(req.url).pathname;
      if (path === '/api/crm-rules/chats') return json(200, view('chats'));
      if (path === '/api/crm-rules/offline') return json(200, view('offline'));
      const body = JSON.parse(await req.text()) as { kind: string };
      // the chats answer comes back last
      await new Promise<void>((ok) => gates.push(ok));
      return json(200, { lead: `lead of ${body.kind}`, deal: '', example: {} });
    };
    s.connect({ session: SESSION, fetch });
    await s.load();
    const chats = s.preview('chats');
    const offline = s.preview('offline');
    await new Promise((r) => setTimeout(r, 20));
    expect(gates).toHaveLength(2);
    gates[1]!();
    await expect(offline).resolves.toBe(true);
    gates[0]!();
    await expect(chats).resolves.toBe(true);
    expect(s.previews.chats?.lead).toBe('lead of chats');
    expect(s.previews.offline?.lead).toBe('lead of offline');
  });
});
