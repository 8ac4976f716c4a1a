import { describe, expect, it } from 'vitest';
import type { CallInFilter, CallInFilterParam, CallOutFilter, CallOutFilterParam } from '../../server/contracts/telephony-settings';
import { callParamsUsed } from '../../server/domain/crm-rules/call-params';
import { registrationTiming } from '../../server/domain/crm-rules/call-gate';
import { allOf, anna, boris, call, missed, outgoing, run, summary, telephony, unpaired, VN, VN2, when, type CallCase } from './call-rules-fixtures';

/**
 * «Фильтровать звонки» (seed 002 lines 79–117) and «Запись разговора» (lines 134–142). Anna is UIS
 * employee 5; the call came to scenario 40, last operation 41, group 42, campaign 20 (first 21),
 * site 10, source 30.
 */
const incoming = (filter: CallInFilter, extra: object = {}) => ({ processing: { filter: { use: true, incoming: filter } }, ...extra });
const outFilter = (filter: CallOutFilter) => ({ processing: { filter: { use: true, outgoing: filter } } });
const registered = ['primary', 'create lead @15 NEW', 'register @15 in bind=new-lead', 'finish @15 200 95s chat', 'record'];
const byEmployee = allOf(when('employee_id', 'allowed', '5'));
const noActivity = { recording: { transfer: true, withFilters: false } };

const cases: CallCase[] = [
  { seed: '81 «По умолчанию все звонки пропускаются без фильтрации»', when: 'the filter is on without conditions', settings: incoming({ join: 'and', groups: [] }), facts: call(), then: registered },
  { seed: '85 «Активируйте чек-бокс»', when: 'conditions are set but the check-box is off', settings: { processing: { filter: { use: false, incoming: allOf(when('virtual_phone_number', 'allowed', VN2)) } } }, facts: call(), then: registered },
  { seed: '82 «система будет обрабатывать только те звонки, которые ему соответствуют»', when: '«Включить» the number called', settings: incoming(allOf(when('virtual_phone_number', 'allowed', VN))), facts: call(), then: registered },
  { seed: '106 «Включить - … обрабатываете все входящие звонки подпадающие под выбранные условия»', when: '«Включить» another number', settings: incoming(allOf(when('virtual_phone_number', 'allowed', VN2))), facts: call(), then: ['skip filtered-out'] },
  { seed: '107 «Исключить - … исключаете все входящие звонки подпадающие под выбранные условия»', when: '«Исключить» the number called', settings: incoming(allOf(when('virtual_phone_number', 'forbidden', VN))), facts: call(), then: ['skip filtered-out'] },
  { seed: '107', when: '«Исключить» another number', settings: incoming(allOf(when('virtual_phone_number', 'forbidden', VN2))), facts: call(), then: registered },
  { seed: '82 (before its end a call may still lack the report\'s attribution: the end decides)', when: 'a filter on another site, at the call\'s start', settings: incoming(allOf(when('site_id', 'allowed', '11'))), facts: call({ phase: 'start', answered: false, talkers: [], talkSeconds: 0, endedAt: null, siteId: null }), then: ['skip filtered-out (retry)'] },
  { seed: '91 «формировать по группам через логическое И / ИЛИ»', when: 'number И a site it did not come from', settings: incoming(allOf(when('virtual_phone_number', 'allowed', VN), when('site_id', 'allowed', '11'))), facts: call(), then: ['skip filtered-out'] },
  { seed: '91', when: 'number ИЛИ a site it did not come from', settings: incoming({ join: 'and', groups: [{ join: 'or', conditions: [when('virtual_phone_number', 'allowed', VN), when('site_id', 'allowed', '11')] }] }), facts: call(), then: registered },
  { seed: '91', when: 'two groups joined by ИЛИ, the second holds', settings: incoming({ join: 'or', groups: [{ join: 'and', conditions: [when('site_id', 'allowed', '11')] }, { join: 'and', conditions: [when('campaign_id', 'allowed', '20')] }] }), facts: call(), then: registered },
  { seed: '91', when: 'two groups joined by И, the first fails', settings: incoming({ join: 'and', groups: [{ join: 'and', conditions: [when('site_id', 'allowed', '11')] }, { join: 'and', conditions: [when('campaign_id', 'allowed', '20')] }] }), facts: call(), then: ['skip filtered-out'] },
  { seed: '94 «Виртуальный номер» (written as people write it)', when: 'the number listed as +7 (495) 123-45-67', settings: incoming(allOf(when('virtual_phone_number', 'allowed', '+7 (495) 123-45-67'))), facts: call(), then: registered },
  { seed: '98 «Сотрудник» (a transfer: any employee who talked)', when: 'Anna transferred to Boris, the filter lists Boris', settings: incoming(allOf(when('employee_id', 'allowed', '6'))), facts: call({ talkers: [anna, boris] }), then: registered },

  // ——— line 89: «вызов может быть зарегистрирован в Bitrix24 только после принятия звонка сотрудником»
  { seed: '89 «только после принятия звонка сотрудником»', when: 'a filter on the employee, at the call\'s start', settings: incoming(byEmployee), facts: call({ phase: 'start', answered: false, talkers: [], talkSeconds: 0, endedAt: null }), then: ['skip waits-for-answer (retry)'] },
  { seed: '89', when: 'Anna answers: registered now, her card shown', settings: incoming(byEmployee), facts: call({ phase: 'answer', endedAt: null, talkSeconds: 0 }), then: ['primary', 'create lead @15 NEW', 'register @15 in show bind=new-lead'] },
  { seed: '89 «а значит пропущенные звонки не будут зарегистрированы в Bitrix24»', when: 'a filter on the employee, the call missed', settings: incoming(byEmployee), facts: missed(), then: ['skip missed-answer-filter'] },
  { seed: '89', when: '«Исключить» an employee, the call missed: still not registered', settings: incoming(allOf(when('employee_id', 'forbidden', '7'))), facts: missed(), then: ['skip missed-answer-filter'] },
  { seed: '89 «Выбранная посетителем группа»', when: 'a filter on the group, the call missed', settings: incoming(allOf(when('group_id', 'allowed', '42'))), facts: missed(), then: ['skip missed-answer-filter'] },
  { seed: '89 «Последняя операция сценария»', when: 'a filter on the last operation, the call missed', settings: incoming(allOf(when('last_operation_id', 'forbidden', '99'))), facts: missed(), then: ['skip missed-answer-filter'] },
  { seed: '89 (the other parameters are known at the start)', when: 'a filter on the site, the call missed', settings: incoming(allOf(when('site_id', 'allowed', '10'))), facts: missed(), then: ['primary', 'create lead @1 NEW', 'register @1 in bind=new-lead', 'finish @1 304 0s chat'] },

  // ——— outgoing calls (lines 110–117)
  { seed: '111 «Виртуальный номер»', when: 'an outgoing call from an excluded number', settings: outFilter(allOf(when('virtual_phone_number', 'forbidden', VN))), facts: outgoing(), then: ['skip filtered-out'] },
  { seed: '112 «Сотрудник» (the caller; known at the start)', when: 'an outgoing call by Boris, the filter lists Boris, at its start', settings: outFilter(allOf(when('employee_id', 'allowed', '6'))), facts: outgoing({ phase: 'start', answered: false, talkSeconds: 0, endedAt: null }), then: ['primary', 'create lead @16 OUT', 'register @16 out show bind=new-lead'] },
  { seed: '116 «Исключить»', when: 'an outgoing call by an excluded employee', settings: outFilter(allOf(when('employee_id', 'forbidden', '7'))), facts: outgoing({ caller: unpaired }), then: ['skip filtered-out'] },
  { seed: '80 (the incoming filter is for incoming calls)', when: 'an incoming-only filter and an outgoing call', settings: incoming(allOf(when('virtual_phone_number', 'allowed', VN2))), facts: outgoing(), then: ['primary', 'create lead @16 OUT', 'register @16 out bind=new-lead', 'finish @16 200 95s', 'record'] },

  // ——— «Запись разговора» (lines 134–142)
  { seed: '136 «При активации "Передавать записи разговора" записи будут передаваться в Bitrix24»', when: 'an answered call', facts: call(), then: registered },
  { seed: '136 (a missed call has no recording)', when: 'a missed call', facts: missed(), then: ['primary', 'create lead @1 NEW', 'register @1 in bind=new-lead', 'finish @1 304 0s chat'] },
  { seed: '136 (off)', when: '«Передавать записи разговора» off', settings: { recording: { transfer: false } }, facts: call(), then: ['primary', 'create lead @15 NEW', 'register @15 in bind=new-lead', 'finish @15 200 95s chat'] },
  { seed: '140 «если есть фильтр по сотруднику(Включен) и включена данная функция, то запись и дело в сущности создается»', when: '«Создавать дело и передавать записи…» on, Anna included', settings: incoming(byEmployee), facts: call(), then: registered },
  { seed: '140 «Если тоже самое только фильтр по сотруднику (Исключен), то не создадим»', when: 'on, Anna excluded', settings: incoming(allOf(when('employee_id', 'forbidden', '5'))), facts: call(), then: ['skip filtered-out'] },
  { seed: '141 «есть фильтр по сотруднику(Включен), то даже если включена «Передавать записи разговора» - то записи разговора и дела в сущности не будет»', when: 'off, Anna included: the lead, no call activity, no recording', settings: incoming(byEmployee, noActivity), facts: call(), then: ['primary', 'create lead @15 NEW'] },
  { seed: '141', when: 'off, Anna included, at her answer: the lead waits for the end', settings: incoming(byEmployee, noActivity), facts: call({ phase: 'answer', endedAt: null }), then: ['skip waits-for-end (retry)'] },
  { seed: '137 «по операции сценария»', when: 'off, a filter on the scenario operation', settings: incoming(allOf(when('last_operation_id', 'allowed', '41')), noActivity), facts: call(), then: ['primary', 'create lead @15 NEW'] },
  { seed: '141 «Если все тоже самое, но нет фильтра по сотруднику, то запись разговора передадим»', when: 'off, a filter on the number only', settings: incoming(allOf(when('virtual_phone_number', 'allowed', VN)), noActivity), facts: call(), then: registered },
  { seed: '136 «При выключении - деактивируется чек-бокс ниже»', when: 'recordings off, the check-box below off, Anna included: the activity stays', settings: incoming(byEmployee, { recording: { transfer: false, withFilters: false } }), facts: call(), then: ['primary', 'create lead @15 NEW', 'register @15 in bind=new-lead', 'finish @15 200 95s chat'] },
];

describe('Call rules: «Фильтровать звонки» and «Запись разговора» (seed 002 lines 79–142)', () => {
  it.each(cases)('when $when, then … [$seed]', (c) => {
    expect(summary(run(c))).toEqual(c.then);
  });
});

describe('Call rules: every parameter of the manual (lines 93–102, 110–112)', () => {
  const params: Array<[CallInFilterParam, string, string]> = [
    ['virtual_phone_number', VN, VN2],
    ['last_operation_id', '41', '99'],
    ['scenario_id', '40', '99'],
    ['group_id', '42', '99'],
    ['employee_id', '5', '6'],
    ['campaign_id', '20', '99'],
    ['first_campaign_id', '21', '20'],
    ['site_id', '10', '11'],
    ['source_id', '30', '31'],
  ];
  it.each(params)('incoming «%s»: the call\'s value passes, another does not', (param, yes, no) => {
    const pass = (v: string) => run({ settings: incoming(allOf(when(param, 'allowed', v))), facts: call() }).action;
    expect([pass(yes), pass(no)]).toEqual(['apply', 'skip']);
  });
  it.each<[CallOutFilterParam, string, string]>([['virtual_phone_number', VN, VN2], ['employee_id', '6', '5']])('outgoing «%s»: the call\'s value passes, another does not', (param, yes, no) => {
    const pass = (v: string) => run({ settings: outFilter(allOf(when(param, 'allowed', v))), facts: outgoing() }).action;
    expect([pass(yes), pass(no)]).toEqual(['apply', 'skip']);
  });
});

describe('Call rules: when a call can be registered (line 89)', () => {
  it('at its start, unless an incoming filter tests the employee, the group or the last operation', () => {
    const t = (over: Parameters<typeof telephony>[0], dir: 'in' | 'out') => registrationTiming(telephony(over), dir);
    expect(t({}, 'in')).toBe('start');
    expect(t(incoming(allOf(when('site_id', 'allowed', '10'))), 'in')).toBe('start');
    for (const p of ['employee_id', 'group_id', 'last_operation_id'] as const) expect(t(incoming(allOf(when(p, 'allowed', '1'))), 'in')).toBe('answer');
    expect(t(outFilter(allOf(when('employee_id', 'allowed', '6'))), 'out')).toBe('start');
    expect(t({ processing: { filter: { use: false, incoming: byEmployee } } }, 'in')).toBe('start');
    expect(t({ processing: { otherTelephony: true, filter: { use: true, incoming: byEmployee } } }, 'in')).toBe('start');
  });
  it('the parameters the settings test, so the service reads the call report at the start only when needed', () => {
    const s = telephony({
      ...incoming(allOf(when('site_id', 'allowed', '10'))),
      responsible: { rules: [{ userId: 3, filter: allOf(when('campaign_id', 'allowed', '20')) }] },
      funnels: { outgoing: { rules: [{ leadStatusId: 'X', dealCategoryId: null, dealStageId: null, filter: allOf(when('employee_id', 'allowed', '6')) }] } },
    });
    expect([...callParamsUsed(s, 'in')].sort()).toEqual(['campaign_id', 'site_id']);
    expect([...callParamsUsed(s, 'out')]).toEqual(['employee_id']);
  });
});
