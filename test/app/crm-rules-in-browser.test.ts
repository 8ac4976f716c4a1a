import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseOption as choose } from '../support/b24-select';
import type { Browser } from 'playwright-core';
import type { Boot } from '../../server/contracts/boot';
import type { PortalView } from '../../server/contracts/portal';
import type { UisLinkView } from '../../server/contracts/uis';
import { crmRulesSettingsSchema, type CrmRulesSettings } from '../../server/contracts/crm-rules';
import { defaultCrmRulesSettings } from '../../server/services/crm-rules/settings';
import type { CrmDirectory, CrmRulesView } from '../../server/contracts/crm-settings';
import { ru } from '../../app/i18n/ru';
import { launchChromium } from '../support/browser';
import { assertBuilt, readJson, serveDist, type DistServer } from './serve-dist';

/**
 * «Чаты» in the built app page against a scripted /api: an admin configures channels, the
 * responsible, a filter group, a primary lead at a chosen stage and a title template with its
 * preview, then saves with the page's one «Сохранить». Needs `npx vite build` first.
 */
const SESSION = 'admin-session-sentinel';
const portal: PortalView = { memberId: 'm1', domain: 'acme.bitrix24.ru', status: 'active', installedAt: '2025-01-02T03:04:05Z', scopes: [] };
const link: UisLinkView = { linked: false, project: null, login: null, accountId: null, accountName: null, linkedAt: null, webhookUrl: null, lastError: null };
const blank: CrmRulesSettings = defaultCrmRulesSettings('offline');
const directory: CrmDirectory = {
  leadStatuses: [
    { id: 'NEW', name: 'Не обработан', semantics: 'process' },
    { id: 'IN_PROCESS', name: 'В работе', semantics: 'process' },
  ],
  dealCategories: [{ id: 0, name: 'Общая', stages: [{ id: 'NEW', name: 'Новая', semantics: 'process' }] }],
  users: [
    { id: 1, name: 'Анна', lastName: 'Админова', email: 'admin@portal.example' },
    { id: 2, name: 'Иван', lastName: 'Сотрудников', email: 'ivan@portal.example' },
  ],
  fields: { lead: [{ id: 'COMMENTS', name: 'Комментарий', custom: false }], deal: [], contact: [], company: [] },
  fetchedAt: '2025-01-01T00:00:00Z',
};

let browser: Browser;
let server: DistServer;
let saved: Record<'chats' | 'offline', CrmRulesSettings | null> = { chats: null, offline: null };
const puts: unknown[] = [];
const viewOf = (kind: 'chats' | 'offline'): CrmRulesView => ({
  kind,
  settings: saved[kind] ?? blank,
  saved: !!saved[kind],
  updatedAt: null,
  openLines: kind === 'chats' ? [{ type: 'telegram', name: 'Telegram-бот', lineId: '3' }] : [],
});

beforeAll(async () => {
  assertBuilt();
  const boot = (page: Boot['page']): Boot => ({ page, lang: 'ru', session: SESSION, memberId: 'm1', placement: 'DEFAULT', placementOptions: {}, isAdmin: true, error: null });
  server = await serveDist(boot, (req, res, url) => {
    const send = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.headers.authorization !== `Bearer ${SESSION}`) return send(401, { error: 'NO_SESSION', message: 'no session' });
    const key = `${req.method} ${url.pathname}`;
    if (key === 'GET /api/portal') return send(200, portal);
    if (key === 'GET /api/uis/link') return send(200, link);
    if (key === 'GET /api/analytics') return send(200, { settings: { enabled: false, employeeId: null, trafficType: 'source', defaults: { sourceId: null, siteId: null, campaignId: null }, messengers: {}, webhookToken: null }, webhookUrl: '', script: null });
    if (key === 'GET /api/crm/directory') return send(200, directory);
    const kind = /^\/api\/crm-rules\/(chats|offline)$/.exec(url.pathname)?.[1] as 'chats' | 'offline' | undefined;
    if (req.method === 'GET' && kind) return send(200, viewOf(kind));
    if (req.method === 'PUT' && kind) {
      void readJson(req).then((body) => {
        puts.push(body);
        const parsed = crmRulesSettingsSchema.safeParse(body);
        if (!parsed.success) return send(400, { error: 'VALIDATION_FAILED', message: parsed.error.message });
        saved = { ...saved, [kind]: parsed.data };
        send(200, viewOf(kind));
      });
      return;
    }
    if (key === 'POST /api/crm-rules/preview') {
      void readJson(req).then((body) => {
        const t = (body as { templates: { lead: string; deal: string } }).templates;
        const render = (s: string) => s.replace('{{channel_type}}', 'WhatsApp').replace('{{visitor_name}}', 'Иван Петров') || 'Чат WhatsApp: Иван Петров +79161234567';
        send(200, { lead: render(t.lead), deal: render(t.deal), example: {} });
      });
      return;
    }
    return send(404, { error: 'NOT_FOUND', message: 'no such api' });
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});


describe('«Чаты» for an administrator', () => {
  it('when an admin configures channels, responsible, a filter group, a primary lead with a stage and a title template, then Save stores exactly that', async () => {
    const page = await browser.newPage();
    const errors: Error[] = [];
    page.on('pageerror', (e) => errors.push(e));
    await page.goto(`${server.url}/b24/app`);
    await page.getByTestId('uis-link-status').waitFor({ timeout: 10_000 });
    await page.getByRole('tab', { name: ru['tabs.chats'] }).click();
    await page.getByTestId('crm-chats-tab').waitFor();

    // the channel an open line drives is shown and cannot be ticked
    await expect(page.getByTestId('crm-chats-open-lines').innerText()).resolves.toContain(ru['crm.channel.telegram']);
    await expect(page.getByTestId('crm-chats-channel-telegram').isDisabled()).resolves.toBe(true);

    await page.getByTestId('crm-chats-enabled').click();
    await page.getByTestId('crm-chats-channel-whatsapp').click();
    await choose(page, 'crm-chats-responsible-default', 'Иван Сотрудников');

    // a filter group: channel type «Разрешен» whatsapp
    await page.getByTestId('crm-chats-filter-add-group').click();
    await choose(page, 'crm-chats-filter-param-0-0', ru['crm.param.channel_type']);
    const values = page.locator('[data-testid="crm-chats-filter-values-0-0"] input, input[data-testid="crm-chats-filter-values-0-0"]').first();
    await values.fill('whatsapp');
    await values.press('Enter');

    await choose(page, 'crm-chats-primary-entities', ru['crm.entities.lead']);
    await choose(page, 'crm-chats-funnel-primary-defaults-lead-status', 'В работе');

    await page.locator('[data-testid="crm-chats-template-lead"] input, input[data-testid="crm-chats-template-lead"]').first().fill('Чат {{channel_type}}: {{visitor_name}}');
    await expect.poll(() => page.getByTestId('crm-chats-template-lead-preview').innerText()).toBe('Чат WhatsApp: Иван Петров');

    // «Сопоставление полей» (the shared FieldMappingList): a row, its Bitrix24 field by name, «Обновлять всегда»
    await page.getByTestId('crm-chats-fields-add').click();
    await choose(page, 'crm-chats-fields-0-b24', 'Комментарий');
    await page.getByTestId('crm-chats-fields-0-always').click();

    await expect(page.getByTestId('page-dirty').isVisible()).resolves.toBe(true);
    await page.getByTestId('page-save').click();
    await page.getByTestId('page-saved').waitFor();

    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({
      enabled: true,
      createEntities: true,
      channels: ['whatsapp'],
      responsible: { defaultUserId: 2, rules: [] },
      filter: { join: 'and', groups: [{ join: 'and', conditions: [{ param: 'channel_type', rule: 'allowed', values: ['whatsapp'] }] }] },
      primary: { entities: 'lead', activity: false },
      funnels: { primary: { defaults: { leadStatusId: 'IN_PROCESS' } } },
      templates: { lead: 'Чат {{channel_type}}: {{visitor_name}}', deal: '' },
      fields: [{ uisField: 'utm_source', entity: 'lead', b24Field: 'COMMENTS', alwaysUpdate: true }],
    });
    await expect(page.getByTestId('page-dirty').count()).resolves.toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });
});
