import { describe, expect, it } from 'vitest';
import { finishStatus, recordingFileName } from '../../server/domain/crm-rules/call-status';
import { e, T0 } from './crm-rules-fixtures';
import { call, missed, outgoing, run, summary } from './call-rules-fixtures';

/**
 * What `register` and `finish` get (docs/facts/telephony.md#register, docs/facts/telephony.md#finish, docs/facts/telephony.md#call-sequence): STATUS_CODE from the call's
 * outcome (seed 002 line 63: missed → «Не выполненное», answered → «Выполнено»), DURATION, and
 * ADD_TO_CHAT from «Добавлять сообщение о совершенном звонке сотруднику в чат» (line 145).
 */
describe('Call rules: STATUS_CODE', () => {
  it('answered → 200 with the talk time; incoming not answered → 304 whatever UIS says, so the activity stays open', () => {
    expect(finishStatus(call())).toEqual({ statusCode: '200', failedReason: null });
    expect(finishStatus(outgoing())).toEqual({ statusCode: '200', failedReason: null });
    for (const reason of ['subscriber_disconnects', 'timeout', 'no_operation', 'subscriber_busy', null]) {
      expect(finishStatus(missed({ finishReason: reason })).statusCode).toBe('304');
    }
  });
  const outgoingCases: Array<[string | null, string]> = [
    ['subscriber_busy', '486'],
    ['subscriber_not_responsible', '480'],
    ['timeout', '480'],
    ['no_success_subscriber_call', '480'],
    ['subscriber_disconnects', '603'],
    ['operator_disconnects', '603-S'],
    ['subscriber_number_problems', '404'],
    ['communication_unavailable', '484'],
    ['not_enough_money', '402'],
    ['locked_numb', '423'],
    ['out_call_not_allowed', '403'],
    ['max_out_call_reached', '503'],
    ['sip_offline', 'OTHER'],
    [null, 'OTHER'],
  ];
  it.each(outgoingCases)('outgoing not answered, finish_reason %s → %s, with a reason in words', (reason, code) => {
    const s = finishStatus(outgoing({ answered: false, talkSeconds: 0, finishReason: reason }));
    expect(s.statusCode).toBe(code);
    expect(s.failedReason).toMatch(/\S/);
  });
  it('an unknown reason is named in FAILED_REASON', () => {
    expect(finishStatus(outgoing({ answered: false, talkSeconds: 0, finishReason: 'sip_offline' })).failedReason).toBe('Звонок не состоялся (sip_offline)');
  });
  it('finish: USER_ID, STATUS_CODE, DURATION (whole seconds, 0 when nobody talked)', () => {
    const d = run({ facts: outgoing({ answered: false, talkSeconds: 0, finishReason: 'subscriber_busy' }) });
    expect(d.action === 'apply' && d.finish).toEqual({ userId: 16, statusCode: '486', durationSec: 0, addToChat: false, failedReason: 'Абонент занят' });
    const a = run({ facts: call({ talkSeconds: 94.6 }) });
    expect(a.action === 'apply' && a.finish).toEqual({ userId: 15, statusCode: '200', durationSec: 95, addToChat: true, failedReason: null });
  });
});

describe('Call rules: register', () => {
  it('the user, TYPE (2 incoming, 1 outgoing), the number, the line as digits, the start with its offset, the item it binds to', () => {
    const d = run({ facts: call({ phase: 'start', answered: false, talkers: [], talkSeconds: 0, endedAt: null }), found: { contacts: [e(5, { responsibleId: 8 })], leads: [e(7)] } });
    expect(d.action === 'apply' && d.register).toEqual({ userId: 8, type: 2, phone: '+79161234567', lineNumber: '74951234567', startedAt: new Date(T0).toISOString(), show: false, addToChat: true, bind: { type: 'contact', id: 5 } });
    const o = run({ facts: outgoing({ phase: 'start', answered: false, talkSeconds: 0, endedAt: null }) });
    expect(o.action === 'apply' && o.register).toMatchObject({ userId: 16, type: 1, show: true, addToChat: false, bind: { ref: 'lead' } });
  });
  it('a call registered at its start is not registered again at its end', () => {
    const d = run({ facts: missed(), link: { request: 'primary', registeredUserId: 1, created: [] } });
    expect(d.action === 'apply' && d.register).toBeNull();
    expect(summary(d)).toEqual(['primary', 'finish @1 304 0s chat']);
  });
});

describe('Call rules: «Добавлять сообщение о совершенном звонке сотруднику в чат» (seed 002 line 145)', () => {
  it('«при успешном/неуспешном входящем звонке»: on → ADD_TO_CHAT on register and finish of incoming calls', () => {
    expect(summary(run({ facts: call() })).filter((l) => l.startsWith('finish'))).toEqual(['finish @15 200 95s chat']);
    expect(summary(run({ facts: missed() })).filter((l) => l.startsWith('finish'))).toEqual(['finish @1 304 0s chat']);
  });
  it('off → 0 (Bitrix24 posts the message by default)', () => {
    const d = run({ facts: call(), settings: { chatMessage: false } });
    expect(d.action === 'apply' && [d.register?.addToChat, d.finish?.addToChat]).toEqual([false, false]);
  });
  it('outgoing calls post nothing (the manual names incoming calls)', () => {
    const d = run({ facts: outgoing() });
    expect(d.action === 'apply' && [d.register?.addToChat, d.finish?.addToChat]).toEqual([false, false]);
  });
});

describe('Call rules: the recording file', () => {
  it('ends in .mp3 (UIS links have none; attachRecord takes only mp3/wav) and names the session', () => {
    expect(recordingFileName(3902714, 'a1/b2')).toBe('uis-3902714-a1_b2.mp3');
  });
});
