import { describe, expect, it } from 'vitest';
import { e } from './crm-rules-fixtures';
import { allOf, anna, boris, call, missed, outgoing, run, summary, unpaired, VN, VN2, when, type CallCase } from './call-rules-fixtures';

/**
 * «Настройка "Ответственные"» of the telephony manual (seed 002 lines 179–207): every example it
 * lists, for primary and repeat calls and the Contact → Company → Lead/Deal priority. Defaults: user
 * 1 for missed incoming calls, user 2 for outgoing ones; Anna is user 15, Boris user 16; the calls
 * are seen at their end. `@N` on a create is the item's responsible, on finish the activity's.
 */
const byNumber = (userId: number, ...numbers: string[]) => ({ responsible: { rules: [{ userId, filter: allOf(when('virtual_phone_number', 'allowed', ...numbers)) }] } });
const oldLead = { leads: [e(7, { responsibleId: 8 })] };

const cases: CallCase[] = [
  // ——— primary calls (lines 187–192)
  { seed: '188 «Исходящий, сотрудник не найден = в лид и в дело ставим ответственного по умолчанию»', when: 'an outgoing call by an employee the sync did not pair', facts: outgoing({ caller: unpaired }), then: ['primary', 'create lead @2 OUT', 'register @2 out bind=new-lead', 'finish @2 200 95s', 'record'] },
  { seed: '189 «Исходящий, если сотрудник найден = в лиде и в деле ответственный тот кто делает исходящий звонок»', when: 'an outgoing call by Boris', facts: outgoing(), then: ['primary', 'create lead @16 OUT', 'register @16 out bind=new-lead', 'finish @16 200 95s', 'record'] },
  { seed: '189 (at the start: the card is shown to the caller)', when: 'an outgoing call by Boris, at its start', facts: outgoing({ phase: 'start', answered: false, talkSeconds: 0, endedAt: null }), then: ['primary', 'create lead @16 OUT', 'register @16 out show bind=new-lead'] },
  { seed: '190 «Входящий пропущенный (без фильтров) = за лид и дело ответственный тот, кто в поле по умолчанию»', when: 'a missed incoming call', facts: missed(), then: ['primary', 'create lead @1 NEW', 'register @1 in bind=new-lead', 'finish @1 304 0s chat'] },
  { seed: '191 «Входящий успешный = за лид и дело ответственный тот, кто принял звонок»', when: 'an incoming call Anna answered', facts: call(), then: ['primary', 'create lead @15 NEW', 'register @15 in bind=new-lead', 'finish @15 200 95s chat', 'record'] },
  { seed: '191 «в зависимости от настроек первый … разговаривающий»', when: 'Anna answered and transferred to Boris, «первый»', facts: call({ talkers: [anna, boris] }), then: ['primary', 'create lead @15 NEW', 'register @15 in bind=new-lead', 'finish @15 200 95s chat', 'record'] },
  { seed: '191 «в зависимости от настроек … или последний разговаривающий»', when: 'Anna answered and transferred to Boris, «последний»', settings: { responsible: { talker: 'last' } }, facts: call({ talkers: [anna, boris] }), then: ['primary', 'create lead @16 NEW', 'register @16 in bind=new-lead', 'finish @16 200 95s chat', 'record'] },
  { seed: '191 + 181 «в случае, если ответственный не найден в системе»', when: 'an employee the sync did not pair answered', facts: call({ talkers: [unpaired] }), then: ['primary', 'create lead @1 NEW', 'register @1 in bind=new-lead', 'finish @1 200 95s chat', 'record'] },
  { seed: '192 «пропущенный входящий на номер из фильтра = если звонок первичный, то создаем сущность и дело на того, кто указан в фильтре»', when: 'a missed primary call to the filter\'s number', settings: byNumber(3, VN), facts: missed(), then: ['primary', 'create lead @3 NEW', 'register @3 in bind=new-lead', 'finish @3 304 0s chat'] },
  { seed: '192 «самое важное - старая сущность, далее сотрудник которому звонят, потом смотрим фильтры»', when: 'an answered primary call to the filter\'s number: the employee beats the rule', settings: byNumber(3, VN), facts: call(), then: ['primary', 'create lead @15 NEW', 'register @15 in bind=new-lead', 'finish @15 200 95s chat', 'record'] },
  { seed: '192 «Если есть старая сущность, то ставим на пропущенный входящий в дело того кто ответственный в старой сущности»', when: 'a missed call to the filter\'s number, an old open lead of user 8', settings: byNumber(3, VN), facts: missed(), found: oldLead, then: ['repeat', 'register @8 in bind=lead-7', 'finish @8 304 0s chat'] },
  { seed: '192 «Но если кто-то ответил на повторный звонок, то ставим … за дело того, кто ответил»', when: 'the same call answered by Anna', settings: byNumber(3, VN), facts: call(), found: oldLead, then: ['repeat', 'register @15 in bind=lead-7', 'finish @15 200 95s chat', 'record'] },
  { seed: '192 «потом смотрим фильтры, потом по умолчанию»', when: 'a missed primary call to a number no rule lists', settings: byNumber(3, VN2), facts: missed(), then: ['primary', 'create lead @1 NEW', 'register @1 in bind=new-lead', 'finish @1 304 0s chat'] },

  // ——— repeat calls (lines 194–198): the first call made the lead, now user 8's
  { seed: '195 «Входящий с фильтром + повторный пропущенный входящий на номер из фильтра = … дело ставится на того, кто в старом лиде ответственный»', when: 'a repeat missed call to the filter\'s number', settings: byNumber(3, VN), facts: missed(), found: oldLead, then: ['repeat', 'register @8 in bind=lead-7', 'finish @8 304 0s chat'] },
  { seed: '196 «Входящий с фильтром + повторный пропущенный входящий на номер из НЕ фильтра = … ставится на того кто в старом лиде ответственный»', when: 'a repeat missed call to a number outside the filter', settings: byNumber(3, VN), facts: missed({ virtualNumbers: [VN2] }), found: oldLead, then: ['repeat', 'register @8 in bind=lead-7', 'finish @8 304 0s chat'] },
  { seed: '197 «Входящий с фильтром + пропущенный входящий на другой номер из фильтра = … ставится на того кто в старом лиде ответственный»', when: 'a repeat missed call to the filter\'s other number', settings: byNumber(3, VN, VN2), facts: missed({ virtualNumbers: [VN2] }), found: oldLead, then: ['repeat', 'register @8 in bind=lead-7', 'finish @8 304 0s chat'] },
  { seed: '198 «успешный повторный входящий на номер из фильтра = ответственный … в деле тот кто принял звонок»', when: 'a repeat call to the filter\'s number answered by Anna', settings: byNumber(3, VN), facts: call(), found: oldLead, then: ['repeat', 'register @15 in bind=lead-7', 'finish @15 200 95s chat', 'record'] },
  { seed: '198 «на том кто разговаривал последний/первый в зависимости от настроек»', when: 'the same, Anna → Boris, «последний»', settings: { ...byNumber(3, VN), responsible: { ...byNumber(3, VN).responsible, talker: 'last' } }, facts: call({ talkers: [anna, boris] }), found: oldLead, then: ['repeat', 'register @16 in bind=lead-7', 'finish @16 200 95s chat', 'record'] },

  // ——— the Contact → Company → Lead/Deal priority (lines 200–207)
  { seed: '201 «Есть Контакт, Компания и Сделка = берем ответственного с Контакта, если сделка закрыта то создаем новую сделку на того кто в контакте, не смотря на то что звонили на другого сотрудника»', when: 'simple CRM, the deal closed, Anna answered', mode: 'simple', facts: call(), found: { contacts: [e(5, { responsibleId: 8 })], companies: [e(9, { responsibleId: 6 })], deals: [e(12, { closed: true, responsibleId: 3 })] }, then: ['repeat', 'create deal @8 0/NEW (contact=contact-5, company=company-9)', 'register @15 in bind=contact-5', 'finish @15 200 95s chat', 'record'] },
  { seed: '201 «берем ответственного с Контакта»', when: 'simple CRM, the deal closed, missed', mode: 'simple', facts: missed(), found: { contacts: [e(5, { responsibleId: 8 })], companies: [e(9, { responsibleId: 6 })], deals: [e(12, { closed: true, responsibleId: 3 })] }, then: ['repeat', 'create deal @8 0/NEW (contact=contact-5, company=company-9)', 'register @8 in bind=contact-5', 'finish @8 304 0s chat'] },
  { seed: '201 in the classic CRM: the new item is a lead', when: 'classic CRM, contact + company + closed deal, missed', facts: missed(), found: { contacts: [e(5, { responsibleId: 8 })], companies: [e(9, { responsibleId: 6 })], deals: [e(12, { closed: true, responsibleId: 3 })] }, then: ['repeat', 'create lead @8 NEW (contact=contact-5, company=company-9)', 'register @8 in bind=new-lead', 'finish @8 304 0s chat'] },
  { seed: '202 «Есть Компания и Сделка = берем ответственного с Компании если звонок пропущенный»', when: 'company + open deal, missed', mode: 'simple', facts: missed(), found: { companies: [e(9, { responsibleId: 6 })], deals: [e(12, { responsibleId: 3 })] }, then: ['repeat', 'register @6 in bind=company-9', 'finish @6 304 0s chat'] },
  { seed: '202 «Если успешный то ставим того кто говорил»', when: 'company + open deal, answered', mode: 'simple', facts: call(), found: { companies: [e(9, { responsibleId: 6 })], deals: [e(12, { responsibleId: 3 })] }, then: ['repeat', 'register @15 in bind=company-9', 'finish @15 200 95s chat', 'record'] },
  { seed: '203 «Есть только Сделка = берем ответственного со сделки»', when: 'only an open deal, missed', mode: 'simple', facts: missed(), found: { deals: [e(12, { responsibleId: 3 })] }, then: ['repeat', 'register @3 in', 'finish @3 304 0s chat'] },
  { seed: '204 «Есть Сделка и Контакт = берем с контакта при пропущенном, создается дело в контакте и в сделке»', when: 'deal + contact, missed: bound to the contact (Bitrix24 adds its open deals)', mode: 'simple', facts: missed(), found: { deals: [e(12, { responsibleId: 3 })], contacts: [e(5, { responsibleId: 8 })] }, then: ['repeat', 'register @8 in bind=contact-5', 'finish @8 304 0s chat'] },
  { seed: '204 «При успешном тот кто разговаривал»', when: 'deal + contact, answered', mode: 'simple', facts: call(), found: { deals: [e(12, { responsibleId: 3 })], contacts: [e(5, { responsibleId: 8 })] }, then: ['repeat', 'register @15 in bind=contact-5', 'finish @15 200 95s chat', 'record'] },
  { seed: '205 «Есть Лид, контакт, Сделка и Компания = берем в дело ответственного из контакта и ставим на пропущенный в дело его»', when: 'all four, missed', facts: missed(), found: { leads: [e(7, { responsibleId: 4 })], contacts: [e(5, { responsibleId: 8 })], deals: [e(12, { responsibleId: 3 })], companies: [e(9, { responsibleId: 6 })] }, then: ['repeat', 'register @8 in bind=contact-5', 'finish @8 304 0s chat'] },
  { seed: '205 «При успешном ответственный тот, кто говорил»', when: 'all four, answered', facts: call(), found: { leads: [e(7, { responsibleId: 4 })], contacts: [e(5, { responsibleId: 8 })], deals: [e(12, { responsibleId: 3 })], companies: [e(9, { responsibleId: 6 })] }, then: ['repeat', 'register @15 in bind=contact-5', 'finish @15 200 95s chat', 'record'] },
  { seed: '206 «Есть Лид и Контакт = … в деле ответственный тот кто в контакте, если звонок был неудачный»', when: 'lead + contact, missed', facts: missed(), found: { leads: [e(7, { responsibleId: 4 })], contacts: [e(5, { responsibleId: 8 })] }, then: ['repeat', 'register @8 in bind=contact-5', 'finish @8 304 0s chat'] },
  { seed: '206 «Если звонок успешный, то в деле … тот, кто разговаривал в зависимости от настроек первый/последний»', when: 'lead + contact, Anna → Boris, «последний»', settings: { responsible: { talker: 'last' } }, facts: call({ talkers: [anna, boris] }), found: { leads: [e(7, { responsibleId: 4 })], contacts: [e(5, { responsibleId: 8 })] }, then: ['repeat', 'register @16 in bind=contact-5', 'finish @16 200 95s chat', 'record'] },
  { seed: '207 «Есть Лид = берем с лида ответственного и ставим его в новую сделку. В дело же ставим того кто разговаривал»', when: 'simple CRM, only a lead, answered', mode: 'simple', facts: call(), found: { leads: [e(7, { responsibleId: 4 })] }, then: ['repeat', 'create contact @4', 'create deal @4 0/NEW (contact=new-contact)', 'register @15 in bind=new-contact', 'finish @15 200 95s chat', 'record'] },
  { seed: '207 «либо если звонок неуспешный то ставим того же, кто стоит в лиде»', when: 'simple CRM, only a lead, missed', mode: 'simple', facts: missed(), found: { leads: [e(7, { responsibleId: 4 })] }, then: ['repeat', 'create contact @4', 'create deal @4 0/NEW (contact=new-contact)', 'register @4 in bind=new-contact', 'finish @4 304 0s chat'] },
];

describe('Call rules: «Ответственные» (seed 002 lines 179–207)', () => {
  it.each(cases)('when $when, then … [$seed]', (c) => {
    expect(summary(run(c))).toEqual(c.then);
  });

  it('responsible rules are for incoming calls only (line 184): an outgoing call ignores them', () => {
    const d = run({ settings: byNumber(3, VN), facts: outgoing({ caller: unpaired }) });
    expect(summary(d)).toEqual(['primary', 'create lead @2 OUT', 'register @2 out bind=new-lead', 'finish @2 200 95s', 'record']);
  });
});
