import { describe, expect, it } from 'vitest';
import { crmRulesSettingsSchema, type FieldMapping } from '../../server/contracts/crm-rules';
import { lockKeys } from '../../server/domain/crm-rules/context';
import { decide } from '../../server/domain/crm-rules/decide';
import { matchFilter } from '../../server/domain/crm-rules/match-filter';
import { chatsMode, openLinesConflicts, withoutOpenLineChannels } from '../../server/domain/crm-rules/open-lines';
import { renderTemplate } from '../../server/domain/crm-rules/render-template';
import { EXAMPLE_VARS, previewTemplate, templateVars } from '../../server/domain/crm-rules/template-vars';
import type { CreateOp, Decision, Operation } from '../../server/domain/crm-rules/types';
import { all, baseFacts, baseSettings, cond, e, found, TZ } from './crm-rules-fixtures';

const ops = (d: Decision): Operation[] => (d.action === 'apply' ? d.ops : []);
const creates = (d: Decision) => ops(d).filter((o): o is CreateOp => o.op === 'create');

describe('CRM rules: filters with «И»/«ИЛИ» groups (001 «можно группировать фильтры при помощи операторов И/ИЛИ»)', () => {
  const f = baseFacts();
  it('joins conditions inside a group and groups with each other', () => {
    const site = cond('site_id', 'allowed', '10');
    const tg = cond('channel_type', 'allowed', 'telegram');
    expect(matchFilter(f, { join: 'and', groups: [{ join: 'and', conditions: [site, tg] }] })).toBe(false);
    expect(matchFilter(f, { join: 'and', groups: [{ join: 'or', conditions: [site, tg] }] })).toBe(true);
    expect(matchFilter(f, { join: 'or', groups: [{ join: 'and', conditions: [tg] }, { join: 'and', conditions: [site] }] })).toBe(true);
    expect(matchFilter(f, { join: 'and', groups: [{ join: 'and', conditions: [tg] }, { join: 'and', conditions: [site] }] })).toBe(false);
  });
  it('an empty filter lets all through (002 телефония «По умолчанию все звонки пропускаются без фильтрации»)', () => {
    expect(matchFilter(f, { join: 'and', groups: [] })).toBe(true);
    expect(matchFilter(f, { join: 'and', groups: [{ join: 'or', conditions: [] }] })).toBe(true);
  });
  it('UTM values compare case-insensitively; an unreported value is never «Разрешен», always «Запрещен»', () => {
    expect(matchFilter(f, all(cond('utm_source', 'allowed', 'Yandex')))).toBe(true);
    expect(matchFilter(f, all(cond('utm_campaign', 'allowed', 'brand')))).toBe(false);
    expect(matchFilter(f, all(cond('utm_campaign', 'forbidden', 'brand')))).toBe(true);
  });
  it('first matching responsible rule wins, by employee (002 «настройте фильтр ответственных по условиям»)', () => {
    const s = baseSettings({ responsible: { defaultUserId: 1, rules: [{ userId: 2, filter: all(cond('employee_id', 'allowed', '5')) }, { userId: 3, filter: all(cond('site_id', 'allowed', '10')) }] } });
    expect(creates(decide({ settings: s, facts: baseFacts(), found: found(), link: null, timeZone: TZ }))[1]?.responsibleId).toBe(2);
  });
});

describe('CRM rules: entity name templates (002 «Шаблоны названий сущностей»)', () => {
  it('«добавили текст и параметры «Тип канала чата»» → the lead title', () => {
    const s = baseSettings({ templates: { lead: 'Чат из {{channel_type}} — {{visitor_name}}', deal: '' } });
    const d = decide({ settings: s, facts: baseFacts(), found: found(), link: null, timeZone: TZ });
    expect(creates(d).find((c) => c.ref === 'lead')?.title).toBe('Чат из WhatsApp — Иван');
  });
  it('renders known variables, tidies empty ones, keeps unknown names visible', () => {
    expect(renderTemplate('Заявка {{ site }} ({{utm_campaign}}) от {{visitor_phone}}', { site: 'a.ru', utm_campaign: null, visitor_phone: '+7916' })).toBe('Заявка a.ru от +7916');
    expect(renderTemplate('{{nope}} {{visitor_name}}', { visitor_name: 'Иван' })).toBe('{{nope}} Иван');
    expect(renderTemplate('x'.repeat(300), {})).toHaveLength(255);
  });
  it('«Кнопка с глазом покажет как это будет выглядеть в конечном результате» — preview over example data', () => {
    expect(previewTemplate('Чат {{channel_type}}: {{visitor_name}}', 'chat')).toBe('Чат WhatsApp: Иван Петров');
    expect(previewTemplate('', 'chat')).toBe(`Чат WhatsApp: Иван Петров ${EXAMPLE_VARS.visitor_phone}`);
    expect(previewTemplate('', 'offline')).toBe('Офлайн заявка Обратная связь: Иван Петров +79161234567');
  });
  it('the default template when none is set (002 телефония «будет использоваться универсальный шаблон»)', () => {
    const d = decide({ settings: baseSettings(), facts: baseFacts(), found: found(), link: null, timeZone: TZ });
    expect(creates(d)[1]?.title).toBe('Чат WhatsApp: Иван +7 (916) 123-45-67');
    expect(templateVars(baseFacts(), TZ)).toMatchObject({ communication_id: 'chat:1763', date: '21.11.2026 15:00', request_text: 'Здравствуйте, диван есть?' });
  });
});

describe('CRM rules: field mapping with «Обновлять всегда» (002 ОЛ «Настройка "Доп поля"»)', () => {
  const fields: FieldMapping[] = [
    { uisField: 'utm_source', entity: 'lead', b24Field: 'UF_CRM_UTM', alwaysUpdate: false },
    { uisField: 'campaign', entity: 'deal', b24Field: 'UF_CRM_CAMPAIGN', alwaysUpdate: true },
    { uisField: 'communication_id', entity: 'deal', b24Field: 'UF_CRM_FIRST', alwaysUpdate: true },
    { uisField: 'site', entity: 'contact', b24Field: 'UF_CRM_SITE', alwaysUpdate: true },
    { uisField: 'utm_term', entity: 'contact', b24Field: 'UF_CRM_TERM', alwaysUpdate: true },
  ];
  it('«только при создании новой сущности»: a new entity gets every mapping with a value', () => {
    const d = decide({ settings: baseSettings({ primary: { entities: 'lead_deal', activity: false }, fields }), facts: baseFacts(), found: found(), link: null, timeZone: TZ });
    expect(creates(d).map((c) => [c.ref, c.fields])).toEqual([
      ['contact', { UF_CRM_SITE: 'shop.example.ru' }],
      ['lead', { UF_CRM_UTM: 'yandex' }],
      ['deal', { UF_CRM_CAMPAIGN: 'Контекст — бренд', UF_CRM_FIRST: 'chat:1763' }],
    ]);
  });
  it('«обновляться … всегда»: existing entities get only those; «ID первой коммуникации … Не меняется»', () => {
    const d = decide({ settings: baseSettings({ fields }), facts: baseFacts(), found: found({ deals: [e(12)], contacts: [e(5)] }), link: null, timeZone: TZ });
    expect(ops(d).filter((o) => o.op === 'update')).toEqual([
      { op: 'update', key: 'chat:1763:update:deal:m2', target: { type: 'deal', id: 12 }, fields: { UF_CRM_CAMPAIGN: 'Контекст — бренд' } },
      { op: 'update', key: 'chat:1763:update:contact:m2', target: { type: 'contact', id: 5 }, fields: { UF_CRM_SITE: 'shop.example.ru' } },
    ]);
  });
});

describe('CRM rules: comments, idempotency keys, locks', () => {
  it('«Завершение чата»: the whole transcript once, in the portal time zone', () => {
    const d = decide({ settings: baseSettings(), facts: baseFacts(), found: found({ leads: [e(7)] }), link: null, timeZone: TZ });
    expect(ops(d)).toEqual([
      { op: 'comment', key: 'chat:1763:comment:lead-7:m2', target: { type: 'lead', id: 7 }, text: 'Чат WhatsApp (WhatsApp продаж) #1763, начат 21.11.2026 15:00\n[21.11.2026 15:00] Клиент Иван: Здравствуйте, диван есть?\n[21.11.2026 15:01] Оператор Анна: Да, есть' },
    ]);
    expect(d).toMatchObject({ link: { targets: [{ type: 'lead', id: 7 }], cursor: 'm2' } });
  });
  it('«Начало чата»: a later event writes only the new messages, never a second lead', () => {
    const d = decide({ settings: baseSettings({ timing: 'start' }), facts: baseFacts({ event: 'message' }), found: found(), link: { targets: [{ type: 'lead', id: 7 }], cursor: 'm1' }, timeZone: TZ });
    expect(ops(d)).toEqual([{ op: 'comment', key: 'chat:1763:comment:lead-7:m2', target: { type: 'lead', id: 7 }, text: 'Чат WhatsApp (WhatsApp продаж) #1763, продолжение\n[21.11.2026 15:01] Оператор Анна: Да, есть' }]);
  });
  it('create keys are per chat, the same on a replay; locks cover the chat and the client identity', () => {
    const run = () => decide({ settings: baseSettings({ primary: { entities: 'lead_deal', activity: true }, notifyOnCreate: true }), facts: baseFacts(), found: found(), link: null, timeZone: TZ });
    expect(run()).toEqual(run());
    expect(ops(run()).map((o) => o.key)).toEqual(['chat:1763:create:contact', 'chat:1763:create:lead', 'chat:1763:create:deal', 'chat:1763:comment:new-deal:m2', 'chat:1763:comment:new-lead:m2', 'chat:1763:activity', 'chat:1763:notify:1']);
    expect(lockKeys(baseFacts({ visitor: { name: null, phones: ['8 916 123-45-67'], emails: ['Ivan@Example.ru'] } }))).toEqual(['chat:1763', 'phone:79161234567', 'email:ivan@example.ru']);
    expect(lockKeys(baseFacts({ id: 1800 }))).toContain('phone:79161234567');
  });
  it('two chats without contact data are two primaries (002 «каждое новое обращение в новый чат - будет создавать сущность лида»)', () => {
    const s = baseSettings({ createWithoutContacts: true });
    const keys = [1, 2].map((id) => ops(decide({ settings: s, facts: baseFacts({ id, visitor: { name: null, phones: [], emails: [] } }), found: null, link: null, timeZone: TZ }))[0]?.key);
    expect(keys).toEqual(['chat:1:create:lead', 'chat:2:create:lead']);
  });
});

describe('CRM rules: Open Lines (001 «ОЛ не могут работать одновременно с активированными и настроенными чатами»)', () => {
  it('modes: off, workspace + Open Lines (Chats on, creation off), rules', () => {
    expect(chatsMode({ enabled: false, createEntities: true })).toBe('off');
    expect(chatsMode({ enabled: true, createEntities: false })).toBe('workspace-only');
    expect(chatsMode({ enabled: true, createEntities: true })).toBe('rules');
  });
  it('channels an open line drives are flagged and dropped (002 «Автоматически выключилось в настройках чатов»)', () => {
    const s = { enabled: true, createEntities: true, channels: ['whatsapp', 'telegram'] as const };
    expect(openLinesConflicts({ ...s, channels: [...s.channels] }, ['telegram'])).toEqual(['telegram']);
    expect(openLinesConflicts({ ...s, channels: [...s.channels], createEntities: false }, ['telegram'])).toEqual([]);
    expect(withoutOpenLineChannels(['whatsapp', 'telegram'], ['telegram'])).toEqual(['whatsapp']);
  });
});

describe('CRM rules: settings validation', () => {
  const parse = (over: Parameters<typeof baseSettings>[0]) => crmRulesSettingsSchema.safeParse(baseSettings(over));
  const paths = (r: ReturnType<typeof parse>) => (r.success ? [] : r.error.issues.map((i) => i.path.join('.')));
  it('accepts the full configuration', () => expect(parse({}).success).toBe(true));
  it('«нужно обязательно выбрать что создавать при первичном обращении»; default responsible required', () => {
    expect(paths(parse({ primary: { entities: 'none', activity: true }, responsible: { defaultUserId: null, rules: [] } }))).toEqual(['responsible.defaultUserId', 'primary.entities']);
  });
  it('«Воронка сделки*» and «Стадия сделки по-умолчанию*» are required only when a deal is created', () => {
    const f = baseSettings().funnels;
    const noDeal = { ...f, primary: { defaults: { leadStatusId: 'NEW', dealCategoryId: null, dealStageId: null }, rules: [] } };
    expect(parse({ funnels: noDeal }).success).toBe(true);
    expect(paths(parse({ funnels: noDeal, primary: { entities: 'deal', activity: false } }))).toEqual(['funnels.primary.defaults.dealCategoryId', 'funnels.primary.defaults.dealStageId']);
  });
  it('templates may use only the offered variables', () => {
    expect(paths(parse({ templates: { lead: 'Чат {{chanel_type}}', deal: '' } }))).toEqual(['templates.lead']);
  });
  it('the workspace + Open Lines mode saves without rules configured', () => {
    expect(parse({ createEntities: false, primary: { entities: 'none', activity: false }, responsible: { defaultUserId: null, rules: [] } }).success).toBe(true);
  });
});
