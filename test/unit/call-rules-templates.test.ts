import { describe, expect, it } from 'vitest';
import type { FilterOf } from '../../server/contracts/crm-rules';
import { CALL_VARIABLES, type CallFieldMapping } from '../../server/contracts/telephony-settings';
import { callTemplateVars, EXAMPLE_CALL_VARS, previewCallTemplate } from '../../server/domain/crm-rules/call-templates';
import type { CallDecision, CallOperation } from '../../server/domain/crm-rules/call-types';
import type { CreateOp } from '../../server/domain/crm-rules/types';
import { e, T0, TZ } from './crm-rules-fixtures';
import { allOf, anna, boris, call, missed, outgoing, run, summary, VN, VN2, when, type CallCase } from './call-rules-fixtures';

/** «Шаблоны» (seed 002 lines 149–166), «Воронки» (167–177), «Доп. поля» (209–215). */
const ops = (d: CallDecision): CallOperation[] => (d.action === 'apply' ? d.ops : []);
const titles = (d: CallDecision) => ops(d).flatMap((o) => (o.op === 'create' && o.title ? [[o.ref, o.title]] : []));
const creates = (d: CallDecision) => ops(d).filter((o): o is CreateOp => o.op === 'create');

describe('Call rules: «Шаблоны» (seed 002 lines 149–166)', () => {
  it('«Для входящих: "Входящий звонок на номер {{contact_phone_number}} из приложения {{app_name}}"» (line 163)', () => {
    expect(titles(run({ facts: call() }))).toEqual([['lead', 'Входящий звонок на номер +79161234567 из приложения UIS OMNI']]);
    expect(titles(run({ facts: missed(), mode: 'simple' }))).toEqual([['deal', 'Входящий звонок на номер +79161234567 из приложения UIS OMNI']]);
  });
  it('«Для исходящих: "Исходящий звонок на номер {{contact_phone_number}} из приложения {{app_name}}"» (line 166)', () => {
    expect(titles(run({ facts: outgoing() }))).toEqual([['lead', 'Исходящий звонок на номер +79161234567 из приложения UIS OMNI']]);
  });
  it('«с выбором отдельного шаблона для каждой сущности» for incoming and outgoing calls (line 152)', () => {
    const settings = { templates: { incoming: { defaults: { lead: 'Лид: звонок на {{virtual_phone_number}}', deal: 'Сделка: {{contact_phone_number}}, {{scenario_name}}' } }, outgoing: { defaults: { lead: '{{employee_full_name}} звонил {{contact_phone_number}}', deal: '' } } } };
    expect(titles(run({ settings, facts: call() }))).toEqual([['lead', `Лид: звонок на ${VN}`]]);
    expect(titles(run({ settings, facts: call(), mode: 'simple' }))).toEqual([['deal', 'Сделка: +79161234567, Основной']]);
    expect(titles(run({ settings, facts: outgoing() }))).toEqual([['lead', 'Борис Орлов звонил +79161234567']]);
    expect(titles(run({ settings, facts: outgoing(), mode: 'simple' }))).toEqual([['deal', 'Исходящий звонок на номер +79161234567 из приложения UIS OMNI']]);
  });
  it('«Также можно настроить уже известный вам фильтр с логическими настройками И / ИЛИ» (line 156): the first matching rule', () => {
    const settings = { templates: { incoming: { defaults: { lead: 'Звонок {{contact_phone_number}}', deal: '' }, rules: [{ filter: allOf(when('virtual_phone_number', 'allowed', VN2)), lead: 'Реклама: {{campaign_name}}', deal: '' }, { filter: allOf(when('site_id', 'allowed', '10')), lead: 'Сайт {{site_domain_name}}', deal: '' }] } } };
    expect(titles(run({ settings, facts: call({ virtualNumbers: [VN2] }) }))).toEqual([['lead', 'Реклама: Контекст — бренд']]);
    expect(titles(run({ settings, facts: call() }))).toEqual([['lead', 'Сайт shop.example.ru']]);
    expect(titles(run({ settings, facts: call({ siteId: 11 }) }))).toEqual([['lead', 'Звонок +79161234567']]);
  });
  it('«если не указаны шаблоны, то будет использоваться универсальный шаблон для каждой не заданной комбинации» (line 160)', () => {
    const settings = { templates: { incoming: { rules: [{ filter: allOf(when('site_id', 'allowed', '10')), lead: 'Сайт {{site_domain_name}}', deal: '' }] } } };
    expect(titles(run({ settings, facts: call(), mode: 'simple' }))).toEqual([['deal', 'Входящий звонок на номер +79161234567 из приложения UIS OMNI']]);
    // a template whose variables are all empty still gives a title
    expect(titles(run({ settings: { templates: { incoming: { defaults: { lead: '{{utm_term}}', deal: '' } } } }, facts: call() }))).toEqual([['lead', 'Входящий звонок на номер +79161234567 из приложения UIS OMNI']]);
  });
  it('«При клике на кнопку + доступен выбор переменных» (line 154): every variable has a value for a full call', () => {
    const vars = callTemplateVars(call({ contactName: 'Иван', utm: { source: 'yandex', medium: 'cpc', campaign: 'brand', term: 'диван', content: 'b1' } }), TZ);
    expect(Object.keys(vars)).toEqual([...CALL_VARIABLES]);
    expect(Object.entries(vars).filter(([, v]) => v === null)).toEqual([]);
    expect(vars).toMatchObject({ contact_phone_number: '+79161234567', virtual_phone_number: VN, call_session_id: '3902714', communication_id: 'call:3902714', direction: 'Входящий', employee_full_name: 'Анна Смирнова', talk_duration: '95', date: '21.11.2026 15:00' });
    expect(callTemplateVars(call({ talkers: [anna, boris] }), TZ, 'last').employee_full_name).toBe('Борис Орлов');
    expect(callTemplateVars(outgoing(), TZ).employee_full_name).toBe('Борис Орлов');
    expect(callTemplateVars(missed(), TZ)).toMatchObject({ employee_full_name: null, talk_duration: null });
  });
  it('«При клике на кнопку с глазом можно посмотреть как будет выглядеть итоговый шаблон» (line 158)', () => {
    expect(previewCallTemplate('', 'in')).toBe('Входящий звонок на номер +79161234567 из приложения UIS OMNI');
    expect(previewCallTemplate('', 'out')).toBe('Исходящий звонок на номер +79161234567 из приложения UIS OMNI');
    expect(previewCallTemplate('{{direction}} с {{contact_phone_number}}: {{employee_full_name}}', 'out')).toBe('Исходящий с +79161234567: Анна Смирнова');
    expect(previewCallTemplate('{{nope}} {{site_domain_name}}', 'in')).toBe('{{nope}} shop.example.ru');
    expect(Object.keys(EXAMPLE_CALL_VARS)).toEqual([...CALL_VARIABLES]);
  });
});

const rule = <P extends string>(filter: FilterOf<P>, leadStatusId: string | null, deal: [number, string] | null = null) => ({ filter, leadStatusId, dealCategoryId: deal?.[0] ?? null, dealStageId: deal?.[1] ?? null });

const funnelCases: CallCase[] = [
  { seed: '168 «Поля с стадиями по умолчанию - то куда будут попадать все сущности при входящих/исходящих звонках»', when: 'incoming, classic', facts: missed(), then: ['primary', 'create lead @1 NEW', 'register @1 in bind=new-lead', 'finish @1 304 0s chat'] },
  { seed: '168', when: 'outgoing, simple', mode: 'simple', facts: outgoing(), then: ['primary', 'create contact @16', 'create deal @16 3/C3:NEW (contact=new-contact)', 'register @16 out bind=new-contact', 'finish @16 200 95s', 'record'] },
  { seed: '175 «Включить - для звонков подпадающих под условия фильтра будет выбрана воронка/стадия выбранная в этом фильтре»', when: '«Включить» the number called', settings: { funnels: { incoming: { rules: [rule(allOf(when('virtual_phone_number', 'allowed', VN)), 'HOT', [5, 'C5:NEW'])] } } }, facts: missed(), mode: 'simple', then: ['primary', 'create contact @1', 'create deal @1 5/C5:NEW (contact=new-contact)', 'register @1 in bind=new-contact', 'finish @1 304 0s chat'] },
  { seed: '175 «Все остальные звонки получат воронку/стадию по умолчанию»', when: '«Включить» another number', settings: { funnels: { incoming: { rules: [rule(allOf(when('virtual_phone_number', 'allowed', VN2)), 'HOT')] } } }, facts: missed(), then: ['primary', 'create lead @1 NEW', 'register @1 in bind=new-lead', 'finish @1 304 0s chat'] },
  { seed: '176 «Исключить - для звонков подпадающих под условия фильтра будет выбрана воронка/стадия по умолчанию»', when: '«Исключить» the number called', settings: { funnels: { incoming: { rules: [rule(allOf(when('virtual_phone_number', 'forbidden', VN)), 'OTHER')] } } }, facts: missed(), then: ['primary', 'create lead @1 NEW', 'register @1 in bind=new-lead', 'finish @1 304 0s chat'] },
  { seed: '176 «Все остальные звонки получат воронку/стадию выбранную в фильтре»', when: '«Исключить» another number', settings: { funnels: { incoming: { rules: [rule(allOf(when('virtual_phone_number', 'forbidden', VN2)), 'OTHER')] } } }, facts: missed(), then: ['primary', 'create lead @1 OTHER', 'register @1 in bind=new-lead', 'finish @1 304 0s chat'] },
  { seed: '170 «гибкой настройки воронок и стадий при … исходящих звонках»', when: 'an outgoing rule on the employee', settings: { funnels: { outgoing: { rules: [rule(allOf(when('employee_id', 'allowed', '6')), 'BORIS')] } } }, facts: outgoing(), then: ['primary', 'create lead @16 BORIS', 'register @16 out bind=new-lead', 'finish @16 200 95s', 'record'] },
  { seed: '175 (a rule without a deal funnel keeps the default one: a stage belongs to its funnel)', when: 'a lead-only rule in the simple CRM', settings: { funnels: { incoming: { rules: [rule(allOf(when('site_id', 'allowed', '10')), 'HOT')] } } }, mode: 'simple', facts: missed(), then: ['primary', 'create contact @1', 'create deal @1 0/NEW (contact=new-contact)', 'register @1 in bind=new-contact', 'finish @1 304 0s chat'] },
];

describe('Call rules: «Воронки» (seed 002 lines 167–177)', () => {
  it.each(funnelCases)('when $when, then … [$seed]', (c) => {
    expect(summary(run(c))).toEqual(c.then);
  });
});

describe('Call rules: «Доп. поля» (seed 002 lines 209–215)', () => {
  const map = (uisField: CallFieldMapping['uisField'], entity: CallFieldMapping['entity'], b24Field: string, alwaysUpdate: boolean): CallFieldMapping => ({ uisField, entity, b24Field, alwaysUpdate });
  const campaign = map('campaign_name', 'lead', 'UF_CRM_CAMPAIGN', false);
  it('«Если переключатель "Обновлять всегда" выключен, то поля будут заполняться только при автоматическом создании "Лида"» (line 213)', () => {
    const settings = { fields: [campaign, map('source_name', 'deal', 'UF_CRM_SOURCE', false), map('site_domain_name', 'contact', 'UF_CRM_SITE', false)] };
    expect(creates(run({ settings, facts: call() })).map((c) => [c.ref, c.fields])).toEqual([['lead', { SOURCE_DESCRIPTION: VN, UF_CRM_CAMPAIGN: 'Контекст — бренд' }]]);
    expect(creates(run({ settings, facts: call(), mode: 'simple' })).map((c) => [c.ref, c.fields])).toEqual([
      ['contact', { UF_CRM_SITE: 'shop.example.ru' }],
      ['deal', { SOURCE_DESCRIPTION: VN, UF_CRM_SOURCE: 'Яндекс Директ' }],
    ]);
    expect(summary(run({ settings, facts: call(), found: { leads: [e(7, { responsibleId: 4 })] } }))).toEqual(['repeat', 'register @15 in bind=lead-7', 'finish @15 200 95s chat', 'record']);
  });
  it('«Если "Обновлять всегда" включен, то данные будут обновляться в первой найденной сущности по приоритету "Контакт", "Компания", "Лид"» (line 214)', () => {
    const settings = { fields: [map('site_domain_name', 'contact', 'UF_CRM_SITE', true), map('site_domain_name', 'company', 'UF_CRM_SITE', true), map('campaign_name', 'lead', 'UF_CRM_CAMPAIGN', true)] };
    const updates = (found: Parameters<typeof run>[0]['found']) => ops(run({ settings, facts: call(), found })).filter((o) => o.op === 'update').map((o) => summary({ action: 'apply', request: 'repeat', lockKeys: [], ops: [o], register: null, finish: null, attachRecording: false, followUp: null, link: { request: 'repeat', registeredUserId: null, created: [] } })[1]);
    expect(updates({ contacts: [e(5)], companies: [e(9)], leads: [e(7)] })).toEqual(['update contact-5 UF_CRM_SITE=shop.example.ru']);
    expect(updates({ companies: [e(9)], leads: [e(7)] })).toEqual(['update company-9 UF_CRM_SITE=shop.example.ru']);
    expect(updates({ leads: [e(7)] })).toEqual(['update lead-7 UF_CRM_CAMPAIGN=Контекст — бренд']);
  });
  it('items created at the call\'s start get, at its end, the values only the end knows (campaign from the call report)', () => {
    const settings = { fields: [campaign] };
    const start = run({ settings, facts: call({ phase: 'start', answered: false, talkers: [], talkSeconds: 0, endedAt: null, campaignName: null }) });
    expect(creates(start).map((c) => c.fields)).toEqual([{ SOURCE_DESCRIPTION: VN }]);
    const end = run({ settings, facts: call(), link: { request: 'primary', registeredUserId: 1, created: [{ entity: { type: 'lead', id: 55 }, responsibleId: 1 }] }, found: { leads: [e(55, { responsibleId: 1, createdAt: T0 })] } });
    expect(summary(end)).toEqual(['primary', 'update lead-55 UF_CRM_CAMPAIGN=Контекст — бренд', 'update lead-55 ASSIGNED_BY_ID=15', 'finish @15 200 95s chat', 'record']);
  });
});
