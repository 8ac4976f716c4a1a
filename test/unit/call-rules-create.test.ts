import { describe, expect, it } from 'vitest';
import { lockKeys } from '../../server/domain/crm-rules/context';
import type { CallLink } from '../../server/domain/crm-rules/call-types';
import { e, T0 } from './crm-rules-fixtures';
import { allOf, call, missed, outgoing, run, summary, VN, VN2, when, type CallCase } from './call-rules-fixtures';

/**
 * «Обработка звонков» of the telephony manual (seed 002 lines 36–78): what a call creates, the
 * activity states, «Обработано», the delayed responsible, the virtual number as the source,
 * «ID первой коммуникации» and «Использовать другую телефонию». Calls are seen at their end unless
 * a case says otherwise; the search found nothing unless it says what.
 */
const atStart = { phase: 'start' as const, answered: false, talkers: [], talkSeconds: 0, endedAt: null };
const createdAtStart = (responsibleId: number): CallLink => ({ request: 'primary', registeredUserId: responsibleId, created: [{ entity: { type: 'lead', id: 55 }, responsibleId }] });
const delay = { processing: { responsibleDelay: { use: true, minutes: 5 } } };
const closedLeadOf8 = { contacts: [e(5, { responsibleId: 8 })], leads: [e(7, { closed: true, responsibleId: 4 })] };
const first = { uisField: 'communication_id' as const, b24Field: 'UF_CRM_FIRST', alwaysUpdate: false };
const other = { processing: { otherTelephony: true } };

const cases: CallCase[] = [
  // ——— «Создавать лид/сделку для всех входящих/исходящих звонков» (lines 58–67)
  { seed: '59, 61 «При первичном входящем звонке - будет создаваться лид»', when: 'a primary call, classic CRM', facts: call(), then: ['primary', 'create lead @15 NEW', 'register @15 in bind=new-lead', 'finish @15 200 95s chat', 'record'] },
  { seed: '59 «либо сделка/контакт/компания, в зависимости от режима CRM»', when: 'a primary call, simple CRM: a deal with its contact', mode: 'simple', facts: call(), then: ['primary', 'create contact @15', 'create deal @15 0/NEW (contact=new-contact)', 'register @15 in bind=new-contact', 'finish @15 200 95s chat', 'record'] },
  { seed: '62 «При повторном звонке будет создаваться лид … в случае если старые сущности в завершенном статусе»', when: 'a repeat call, the old lead open: nothing new', facts: call(), found: { leads: [e(7, { responsibleId: 4 })] }, then: ['repeat', 'register @15 in bind=lead-7', 'finish @15 200 95s chat', 'record'] },
  { seed: '62 «в случае если старые сущности в завершенном статусе»', when: 'a repeat call, the old lead closed: a new lead for the contact\'s responsible', facts: missed(), found: closedLeadOf8, then: ['repeat', 'create lead @8 NEW (contact=contact-5)', 'register @8 in bind=new-lead', 'finish @8 304 0s chat'] },
  { seed: '62 (classic CRM: an open deal is an old item too)', when: 'a repeat call, a contact with an open deal', facts: missed(), found: { contacts: [e(5, { responsibleId: 8 })], deals: [e(12, { responsibleId: 3 })] }, then: ['repeat', 'register @8 in bind=contact-5', 'finish @8 304 0s chat'] },
  { seed: '62 «сделка/контакт/компания … если старые сущности в завершенном статусе»', when: 'simple CRM, the old deal closed', mode: 'simple', facts: call(), found: { contacts: [e(5, { responsibleId: 8 })], deals: [e(12, { closed: true })] }, then: ['repeat', 'create deal @8 0/NEW (contact=contact-5)', 'register @15 in bind=contact-5', 'finish @15 200 95s chat', 'record'] },
  { seed: '66 «Создавать лид/сделку для всех исходящих звонков» «работает аналогично»', when: 'an outgoing primary call', facts: outgoing(), then: ['primary', 'create lead @16 OUT', 'register @16 out bind=new-lead', 'finish @16 200 95s', 'record'] },
  { seed: '65 (off: the call is registered, nothing created)', when: 'creation for outgoing calls off', settings: { processing: { createForOutgoing: false } }, facts: outgoing(), then: ['primary', 'register @16 out', 'finish @16 200 95s', 'record'] },
  { seed: '58 (off: the call is registered, nothing created)', when: 'creation for incoming calls off, a known client', settings: { processing: { createForIncoming: false } }, facts: missed(), found: closedLeadOf8, then: ['repeat', 'register @8 in bind=contact-5', 'finish @8 304 0s chat'] },

  // ——— activity states and «Обработано» (lines 63–64)
  { seed: '63 «Дело … для пропущенных звонков всегда со статусом "Не выполненное"»', when: 'a missed call: finished with 304 (the activity stays open)', facts: missed(), found: { leads: [e(7, { responsibleId: 4 })] }, then: ['repeat', 'register @4 in bind=lead-7', 'finish @4 304 0s chat'] },
  { seed: '63 «а для успешных звонков со статусом "Выполнено"»', when: 'an answered call: 200 with the talk time', facts: call({ talkSeconds: 61 }), found: { leads: [e(7, { responsibleId: 4 })] }, then: ['repeat', 'register @15 in bind=lead-7', 'finish @15 200 61s chat', 'record'] },
  { seed: '64 «"не выполненное" предыдущее дело получит статус "Обработано"»', when: 'an answered call, two open missed-call activities', facts: call(), found: { leads: [e(7, { responsibleId: 4 })] }, missedActivities: [501, 502], then: ['repeat', 'complete 501', 'complete 502', 'register @15 in bind=lead-7', 'finish @15 200 95s chat', 'record'] },
  { seed: '64 «далее происходит успешный входящий звонок»', when: 'another missed call: the open ones stay open', facts: missed(), found: { leads: [e(7, { responsibleId: 4 })] }, missedActivities: [501], then: ['repeat', 'register @4 in bind=lead-7', 'finish @4 304 0s chat'] },
  { seed: '64 «успешный входящий звонок»', when: 'an answered outgoing call', facts: outgoing(), found: { leads: [e(7, { responsibleId: 4 })] }, missedActivities: [501], then: ['repeat', 'register @16 out bind=lead-7', 'finish @16 200 95s', 'record'] },

  // ——— the call's points: created before it is registered, the responsible set at its end (line 69)
  { seed: '69 «сначала создается сущность с ответственным по умолчанию»', when: 'a primary incoming call at its start', facts: call(atStart), then: ['primary', 'create lead @1 NEW', 'register @1 in bind=new-lead'] },
  { seed: '191 + 69', when: 'its end, Anna answered: the lead becomes hers and the activity is added', facts: call(), found: { leads: [e(55, { responsibleId: 1 })] }, link: createdAtStart(1), then: ['primary', 'update lead-55 ASSIGNED_BY_ID=15', 'finish @15 200 95s chat', 'record'] },
  { seed: '190 + 69', when: 'its end, missed: nothing to change', facts: missed(), found: { leads: [e(55, { responsibleId: 1 })] }, link: createdAtStart(1), then: ['primary', 'finish @1 304 0s chat'] },

  // ——— «Обновлять ответственного через» (lines 68–70)
  { seed: '69 «сначала создается сущность с ответственным по умолчанию»', when: 'delay on, a repeat call at its start: created for the default, not the contact\'s responsible', settings: delay, facts: call(atStart), found: closedLeadOf8, then: ['repeat', 'create lead @1 NEW (contact=contact-5)', 'register @1 in bind=new-lead'] },
  { seed: '69 «спустя выбранное время уже обновляем ответственного и добавляем дело»', when: 'delay on, its end', settings: delay, facts: call(), found: { ...closedLeadOf8, leads: [...closedLeadOf8.leads, e(55, { responsibleId: 1 })] }, link: { ...createdAtStart(1), request: 'repeat' }, then: ['repeat', '+5m: update lead-55 ASSIGNED_BY_ID=8; finish @15 200 95s chat; record'] },
  { seed: '69 «После того как мы меняем ответственного, сразу же добавляем дело уже с этим ответственным»', when: 'delay on, a primary call seen only at its end', settings: delay, facts: call(), then: ['primary', 'create lead @1 NEW', 'register @1 in bind=new-lead', '+5m: update new-lead ASSIGNED_BY_ID=15; finish @15 200 95s chat; record'] },
  { seed: '69', when: 'delay on, missed: the activity after the delay, the responsible unchanged', settings: delay, facts: missed(), then: ['primary', 'create lead @1 NEW', 'register @1 in bind=new-lead', '+5m: finish @1 304 0s chat'] },
  { seed: '69 (nothing created: no responsible to change)', when: 'delay on, the old lead open', settings: delay, facts: call(), found: { leads: [e(7, { responsibleId: 4 })] }, then: ['repeat', 'register @15 in bind=lead-7', 'finish @15 200 95s chat', 'record'] },

  // ——— «ID первой коммуникации» (line 48)
  { seed: '48 «Если это поле пустое … заполняем его»', when: 'the found contact\'s field is empty', settings: { fields: [{ ...first, entity: 'contact' }] }, facts: call(), found: { contacts: [e(5, { responsibleId: 8, fields: { UF_CRM_FIRST: '' } })], leads: [e(7)] }, then: ['repeat', 'update contact-5 UF_CRM_FIRST=call:3902714', 'register @15 in bind=contact-5', 'finish @15 200 95s chat', 'record'] },
  { seed: '48 (a filled field is never overwritten)', when: 'the found contact\'s field has a value', settings: { fields: [{ ...first, entity: 'contact' }] }, facts: call(), found: { contacts: [e(5, { responsibleId: 8, fields: { UF_CRM_FIRST: 'chat:1763' } })], leads: [e(7)] }, then: ['repeat', 'register @15 in bind=contact-5', 'finish @15 200 95s chat', 'record'] },
  { seed: '48 (unknown is not empty)', when: 'the service did not read the field', settings: { fields: [{ ...first, entity: 'contact' }] }, facts: call(), found: { contacts: [e(5, { responsibleId: 8 })], leads: [e(7)] }, then: ['repeat', 'register @15 in bind=contact-5', 'finish @15 200 95s chat', 'record'] },

  // ——— «Использовать другую телефонию» (lines 39–51)
  { seed: '47 «Если у клиента сущностей нет вообще, то мы ничего не создаем, но события регистрируем»', when: 'a primary call', settings: other, facts: call(), then: ['other-telephony', 'register @15 in', 'finish @15 200 95s chat', 'record'] },
  { seed: '47 «события регистрируем»', when: 'a missed primary call', settings: other, facts: missed(), then: ['other-telephony', 'register @1 in', 'finish @1 304 0s chat'] },
  { seed: '44 «обновляем доп. поля, но обновляем только в тех сущностях, в которых были произведены изменения во время звонка»', when: 'the deal changed during the call, the contact did not', settings: { ...other, fields: [{ uisField: 'campaign_name', entity: 'deal', b24Field: 'UF_CRM_CAMPAIGN', alwaysUpdate: false }, { uisField: 'site_domain_name', entity: 'contact', b24Field: 'UF_CRM_SITE', alwaysUpdate: true }] }, facts: call(), found: { deals: [e(12, { responsibleId: 3, modifiedAt: T0 + 60_000 })], contacts: [e(5, { responsibleId: 8, modifiedAt: T0 - 3_600_000 })] }, then: ['other-telephony', 'update deal-12 UF_CRM_CAMPAIGN=Контекст — бренд', 'register @15 in', 'finish @15 200 95s chat', 'record'] },
  { seed: '45 «если изменений не было никаких в сущностях - то ничего не обновляем»', when: 'nothing changed during the call', settings: { ...other, fields: [{ uisField: 'campaign_name', entity: 'deal', b24Field: 'UF_CRM_CAMPAIGN', alwaysUpdate: true }] }, facts: call(), found: { deals: [e(12, { responsibleId: 3, modifiedAt: T0 + 180_000 })] }, then: ['other-telephony', 'register @15 in', 'finish @15 200 95s chat', 'record'] },
  { seed: '46 «Дело обновить не возможно и мы ничего с ним не делаем»', when: 'an answered call, an open missed-call activity', settings: other, facts: call(), found: { leads: [e(7, { responsibleId: 4 })] }, missedActivities: [501], then: ['other-telephony', 'register @15 in', 'finish @15 200 95s chat', 'record'] },
  { seed: '48 «Если это поле пустое в измененных сущностях, то мы его пробрасываем в сущность»', when: 'the changed lead\'s first-communication field is empty', settings: { ...other, fields: [{ ...first, entity: 'lead' }] }, facts: call(), found: { leads: [e(7, { modifiedAt: T0 + 1000, fields: { UF_CRM_FIRST: null } }), e(8, { modifiedAt: T0 + 1000, fields: { UF_CRM_FIRST: 'call:1' } })] }, then: ['other-telephony', 'update lead-7 UF_CRM_FIRST=call:3902714', 'register @15 in', 'finish @15 200 95s chat', 'record'] },
  { seed: '50 «вся основная функциональность телефонии будет деактивирована»', when: 'creation, delay and a filter excluding the number are set', settings: { processing: { otherTelephony: true, responsibleDelay: { use: true, minutes: 5 }, filter: { use: true, incoming: allOf(when('virtual_phone_number', 'forbidden', VN)) } } }, facts: call(), then: ['other-telephony', 'register @15 in', 'finish @15 200 95s chat', 'record'] },
];

describe('Call rules: «Обработка звонков» (seed 002 lines 36–78)', () => {
  it.each(cases)('when $when, then … [$seed]', (c) => {
    expect(summary(run(c))).toEqual(c.then);
  });
});

describe('Call rules: «Передавать виртуальные номера как источник обращения» (lines 71–78)', () => {
  const source = (d: ReturnType<typeof run>) => (d.action === 'apply' ? d.ops.flatMap((o) => (o.op === 'create' ? [[o.ref, o.fields.SOURCE_DESCRIPTION]] : [])) : []);
  it('«Входящий/исходящий потерянный/успешный звонок → … укажем номер виртуального номера на который звонили, либо с которого был исход»', () => {
    expect(source(run({ facts: call() }))).toEqual([['lead', VN]]);
    expect(source(run({ facts: missed() }))).toEqual([['lead', VN]]);
    expect(source(run({ facts: outgoing({ answered: false, talkSeconds: 0 }) }))).toEqual([['lead', VN]]);
    expect(source(run({ facts: call(), mode: 'simple' }))).toEqual([['contact', undefined], ['deal', VN]]);
  });
  it('«С трансфером … записываем … первый виртуальный номер, который принял звонок»; the line and the filter use it too', () => {
    const d = run({ facts: call({ virtualNumbers: [VN2, VN] }), settings: { processing: { filter: { use: true, incoming: allOf(when('virtual_phone_number', 'allowed', VN2)) } } } });
    expect(source(d)).toEqual([['lead', VN2]]);
    expect(d.action === 'apply' && d.register?.lineNumber).toBe('74957654321');
  });
  it('off: «Дополнительно об источнике» is left alone', () => {
    expect(source(run({ facts: call(), settings: { processing: { virtualNumberAsSource: false } } }))).toEqual([['lead', undefined]]);
  });
});

describe('Call rules: idempotency and single flight', () => {
  it('a replay gives the same decision; a call seen at its start then its end and one seen only at its end share the keys', () => {
    const once = run({ facts: call(), mode: 'simple', missedActivities: [501] });
    expect(run({ facts: call(), mode: 'simple', missedActivities: [501] })).toEqual(once);
    expect(once.action === 'apply' && once.ops.map((o) => o.key)).toEqual(['call:3902714:create:contact', 'call:3902714:create:deal', 'call:3902714:complete:501']);
    const start = run({ facts: call(atStart), mode: 'simple' });
    expect(start.action === 'apply' && start.ops.map((o) => o.key)).toEqual(['call:3902714:create:contact', 'call:3902714:create:deal']);
  });
  it('locks: the call and the client\'s number, so two calls of a new client make one lead', () => {
    expect(lockKeys(call({ contactPhone: '+79161234567' }))).toEqual(['call:3902714', 'phone:79161234567']);
  });
  it('the link to store: what the call created and for whom it is registered', () => {
    const d = run({ facts: call(atStart), mode: 'simple' });
    expect(d.action === 'apply' && d.link).toEqual({ request: 'primary', registeredUserId: 1, created: [{ entity: { ref: 'contact' }, responsibleId: 1 }, { entity: { ref: 'deal' }, responsibleId: 1 }] });
  });
  it('a later point of a call already handled does nothing until its end', () => {
    expect(summary(run({ facts: call({ phase: 'answer' }), link: createdAtStart(1) }))).toEqual(['skip nothing-new (retry)']);
  });
  it('the tab off, a hidden number: nothing', () => {
    expect(summary(run({ facts: call(), settings: { enabled: false } }))).toEqual(['skip tab-off']);
    expect(summary(run({ facts: call({ contactPhone: null }) }))).toEqual(['skip no-number']);
  });
  it('every call registered is finished: the tab switched off or a filter changed during the call (docs/facts/telephony.md#gotcha-1)', () => {
    const link = createdAtStart(1);
    expect(summary(run({ facts: call(), settings: { enabled: false }, link }))).toEqual(['primary', 'finish @1 200 95s chat']);
    expect(summary(run({ facts: missed(), settings: { processing: { filter: { use: true, incoming: allOf(when('virtual_phone_number', 'forbidden', VN)) } } }, link }))).toEqual(['primary', 'finish @1 304 0s chat']);
    expect(summary(run({ facts: call(), settings: { recording: { withFilters: false }, processing: { filter: { use: true, incoming: allOf(when('employee_id', 'allowed', '5')) } } }, link }))).toEqual(['primary', 'update lead-55 ASSIGNED_BY_ID=15', 'finish @15 200 95s chat']);
  });
  it('no default responsible to register a missed call for: a reason, not a call for nobody', () => {
    expect(summary(run({ facts: missed(), settings: { responsible: { incomingDefaultUserId: null } } }))).toEqual(['skip no-user']);
  });
});
