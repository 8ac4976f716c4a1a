import { describe, expect, it } from 'vitest';
import type { CrmDirectory } from '../../server/contracts/crm-settings';
import { DEFAULT_CALL_TITLES, defaultTelephonySettings, telephonySettingsSchema, usesAnswerTimeParams, type TelephonySettings } from '../../server/contracts/telephony-settings';
import { telephonyDirectoryProblems } from '../../server/domain/crm-rules/call-settings-check';
import { allOf, telephony, VN, when } from './call-rules-fixtures';

/** The «Телефония» tab's settings (seed 002 lines 22–229): defaults, validation with reasons. */
const parse = (s: unknown) => telephonySettingsSchema.safeParse(s);
const issues = (s: unknown) => {
  const r = parse(s);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};
const paths = (s: unknown) => issues(s).map((i) => i.split(':')[0]);

describe('«Телефония» settings: defaults', () => {
  it('a tab nobody saved parses; it is off, every call passes unfiltered (line 81), titles empty', () => {
    const d = defaultTelephonySettings();
    expect(parse(d).success).toBe(true);
    expect(d).toMatchObject({ enabled: false, processing: { otherTelephony: false, filter: { use: false } }, templates: { incoming: { defaults: { lead: '', deal: '' } } } });
  });
  it('the manual\'s default titles (lines 163, 166)', () => {
    expect(DEFAULT_CALL_TITLES).toEqual({
      in: 'Входящий звонок на номер {{contact_phone_number}} из приложения {{app_name}}',
      out: 'Исходящий звонок на номер {{contact_phone_number}} из приложения {{app_name}}',
    });
  });
  it('a fully configured tab parses, with or without the settings of issue #14', () => {
    expect(parse(telephony()).success).toBe(true);
    const { clickToCall: _c, callback: _b, personalManager: _p, ...without } = telephony();
    expect(parse(without).success).toBe(true);
  });
});

describe('«Телефония» settings: validation with reasons', () => {
  it('«Для данного раздела поля с ответственными по умолчанию - обязательные» (line 180), once the tab is on', () => {
    const s = telephony({ responsible: { incomingDefaultUserId: null, outgoingDefaultUserId: null } });
    expect(issues(s)).toEqual([
      'responsible.incomingDefaultUserId: Choose the responsible for missed incoming calls',
      'responsible.outgoingDefaultUserId: Choose the default responsible for outgoing calls',
    ]);
    expect(parse({ ...s, enabled: false }).success).toBe(true);
    expect(paths(telephony({ processing: { otherTelephony: true }, responsible: { incomingDefaultUserId: null } }))).toEqual(['responsible.incomingDefaultUserId']);
  });
  it('«Поле "Номер для исходящего звонка по клику" является обязательным при включении функции» (line 123)', () => {
    expect(issues(telephony({ clickToCall: { use: true, number: null } }))).toEqual(['clickToCall.number: Choose the number for click-to-call: it is required when «Звонки по клику из CRM» is on']);
    expect(parse(telephony({ clickToCall: { use: true, number: '74951234567', overrideCallerId: true } })).success).toBe(true);
    expect(parse(telephony({ clickToCall: { use: false, number: null } })).success).toBe(true);
    expect(paths(telephony({ clickToCall: { use: true, number: '12-34' } }))).toEqual(['clickToCall.number']);
  });
  it('«Поле "Номер для исходящего звонка" обязательное» for «Обратный звонок» (line 129)', () => {
    expect(paths(telephony({ callback: { use: true, number: null } }))).toEqual(['callback.number']);
    expect(parse(telephony({ callback: { use: true, number: '+74951234567' } })).success).toBe(true);
  });
  it('«При их добавлении, данные поля являются обязательными» — a funnel rule names where calls go (line 171)', () => {
    const rule = (leadStatusId: string | null, dealCategoryId: number | null, dealStageId: string | null) => ({ funnels: { incoming: { rules: [{ leadStatusId, dealCategoryId, dealStageId, filter: allOf(when('virtual_phone_number', 'allowed', VN)) }] } } });
    expect(issues(telephony(rule(null, null, null)))).toEqual(['funnels.incoming.rules.0.leadStatusId: Choose the lead stage or the deal funnel and stage of this rule']);
    expect(paths(telephony(rule(null, 2, null)))).toEqual(['funnels.incoming.rules.0.dealStageId']);
    expect(paths(telephony(rule(null, null, 'C2:NEW')))).toEqual(['funnels.incoming.rules.0.dealCategoryId']);
    expect(parse(telephony(rule('HOT', null, null))).success).toBe(true);
    expect(parse(telephony(rule(null, 2, 'C2:NEW'))).success).toBe(true);
  });
  it('templates use only the offered variables; a filtered template has a title', () => {
    expect(issues(telephony({ templates: { outgoing: { defaults: { lead: 'Звонок {{visitor_phone}}', deal: '' } } } }))).toEqual(['templates.outgoing.defaults.lead: Unknown variable {{visitor_phone}}']);
    expect(paths(telephony({ templates: { incoming: { rules: [{ filter: allOf(when('site_id', 'allowed', '10')), lead: ' ', deal: '' }] } } }))).toEqual(['templates.incoming.rules.0.lead']);
  });
  it('outgoing filters offer only «Виртуальный номер» and «Сотрудник» (lines 110–112)', () => {
    const s = telephony();
    const bad = { ...s, processing: { ...s.processing, filter: { use: true, incoming: s.processing.filter.incoming, outgoing: allOf(when('group_id', 'allowed', '42')) } } };
    expect(paths(bad)).toEqual(['processing.filter.outgoing.groups.0.conditions.0.param']);
  });
  it('responsible rules are filters on incoming calls; the delay is whole minutes; «Доп. поля» take call variables', () => {
    expect(paths(telephony({ processing: { responsibleDelay: { use: true, minutes: 0 } } }))).toEqual(['processing.responsibleDelay.minutes']);
    const s = telephony();
    expect(paths({ ...s, fields: [{ uisField: 'visitor_phone', entity: 'lead', b24Field: 'UF_CRM_X', alwaysUpdate: false }] })).toEqual(['fields.0.uisField']);
    expect(paths({ ...s, fields: [{ uisField: 'campaign_name', entity: 'lead', b24Field: 'uf_crm_x', alwaysUpdate: false }] })).toEqual(['fields.0.b24Field']);
  });
});

describe('«Телефония» settings: the warning of line 89', () => {
  it('«один или несколько фильтров на входящие звонки из списка: "Сотрудник", "Выбранная посетителем группа" или "Последняя операция сценария"»', () => {
    expect(usesAnswerTimeParams(allOf(when('virtual_phone_number', 'allowed', VN), when('site_id', 'allowed', '10')))).toBe(false);
    for (const p of ['employee_id', 'group_id', 'last_operation_id']) {
      expect(usesAnswerTimeParams({ join: 'or', groups: [{ join: 'and', conditions: [when('site_id', 'allowed', '10')] }, { join: 'and', conditions: [when(p, 'forbidden', '1')] }] })).toBe(true);
    }
  });
});

describe('«Телефония» settings against the portal\'s CRM', () => {
  const directory: CrmDirectory = {
    leadStatuses: [{ id: 'NEW', name: 'Новый', semantics: 'process' }, { id: 'OUT', name: 'Исходящий', semantics: 'process' }],
    dealCategories: [
      { id: 0, name: 'Общая', stages: [{ id: 'NEW', name: 'Новая', semantics: 'process' }] },
      { id: 3, name: 'Обзвон', stages: [{ id: 'C3:NEW', name: 'Новая', semantics: 'process' }] },
    ],
    users: [{ id: 1, name: 'Анна', lastName: 'С', email: null }, { id: 2, name: 'Борис', lastName: 'О', email: null }],
    fields: { lead: [{ id: 'UF_CRM_TEXT', name: 'Текст', custom: true }], deal: [], contact: [], company: [] },
    fetchedAt: '2026-11-21T12:00:00Z',
  };
  const s = (over: Parameters<typeof telephony>[0] = {}): TelephonySettings => telephony(over);
  it('a configuration the portal has passes', () => {
    expect(telephonyDirectoryProblems(s({ fields: [{ uisField: 'campaign_name', entity: 'lead', b24Field: 'UF_CRM_TEXT', alwaysUpdate: true }] }), directory)).toEqual([]);
  });
  it('«В списке доступных полей отображаются только поля с типом «Текст»» (line 212); users and funnels the portal no longer has', () => {
    expect(
      telephonyDirectoryProblems(
        s({
          responsible: { rules: [{ userId: 9, filter: allOf(when('site_id', 'allowed', '10')) }] },
          funnels: { incoming: { defaults: { leadStatusId: 'GONE', dealCategoryId: 4, dealStageId: 'C4:NEW' } } },
          fields: [{ uisField: 'campaign_name', entity: 'lead', b24Field: 'UF_CRM_NUMBER', alwaysUpdate: false }],
        }),
        directory,
      ),
    ).toEqual([
      'responsible.rules.0.userId: user 9 is not an active employee of the portal',
      'funnels.incoming.defaults.leadStatusId: «GONE» is not a lead status of the portal',
      'funnels.incoming.defaults.dealCategoryId: funnel 4 does not exist',
      'fields.0.b24Field: UF_CRM_NUMBER is not a text field of the lead',
    ]);
  });
});
