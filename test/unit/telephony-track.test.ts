import { describe, expect, it } from 'vitest';
import type { CallNotification } from '../../server/domain/telephony/events';
import { cardUsers, foldCall, phaseOf } from '../../server/domain/telephony/track';
import { parseCallNotification } from '../../server/uis/call-notifications';

/** A notification as the parser gives it: the event, when we got it, and the values UIS sent. */
function note(event: CallNotification['event'], at: number, v: Partial<CallNotification> = {}): CallNotification {
  const parsed = parseCallNotification({ pathEvent: event, query: new URLSearchParams(), contentType: 'application/json', body: Buffer.from('{}'), receivedAt: at });
  if (!parsed.ok) throw new Error(parsed.message);
  return { ...parsed.notification, sessionId: 7, contactPhone: '79161112233', virtualNumber: '74950000101', ...v };
}
const parse = (s: string) => Date.parse(s.replace(' ', 'T') + '+03:00');
const users: Record<number, number> = { 11: 1, 12: 2 };
const userOf = (id: number) => users[id] ?? null;

const answered = [
  note('incoming_call', 1000, { direction: 'in', startTime: '2026-12-01 10:00:00' }),
  note('waiting_for_answer', 1100, { employeeId: 11 }),
  note('waiting_for_answer', 1101, { employeeId: 12 }),
  note('talk_started', 2000, { employeeId: 11 }),
  note('talk_finished', 9000, { employeeId: 11, talkSeconds: 70 }),
  note('call_finished', 9001, { employeeId: 11, talkSeconds: 70, direction: 'in' }),
  note('call_recorded', 12000, { employeeId: 11, fileLink: 'https://media.example/784617001/55120001' }),
];

describe('a call folded from its notifications', () => {
  it('an answered incoming call: start, talkers, talk time, recording, the first virtual number', () => {
    const t = foldCall(7, answered, null, parse, 0);
    expect(t).toMatchObject({
      direction: 'in',
      startedAt: parse('2026-12-01 10:00:00'),
      ended: true,
      answered: true,
      talkSeconds: 70,
      contactPhone: '+79161112233',
      virtualNumbers: ['74950000101'],
      talkers: [11],
      ringing: [],
      recordings: [{ id: '55120001', url: 'https://media.example/784617001/55120001' }],
    });
    expect(phaseOf(t)).toBe('end');
  });

  it('the same notifications in any order, or each twice, fold to the same call (cards and times aside: they follow when we heard it)', () => {
    const base = foldCall(7, answered, null, parse, 0);
    const reversed = [...answered].reverse().map((n, i) => ({ ...n, receivedAt: 100 + i }));
    const twice = [...answered, ...answered];
    for (const notes of [reversed, twice]) {
      const t = foldCall(7, notes, null, parse, 0);
      expect({ ...t, startedAt: 0, endedAt: 0, ringing: [], talking: null, seen: [] }).toEqual({ ...base, startedAt: 0, endedAt: 0, ringing: [], talking: null, seen: [] });
    }
  });

  it('cards: both ringing employees, then only the one who answered, then nobody', () => {
    expect(cardUsers(foldCall(7, answered.slice(0, 3), null, parse, 0), userOf)).toEqual([1, 2]);
    expect(cardUsers(foldCall(7, answered.slice(0, 4), null, parse, 0), userOf)).toEqual([1]);
    expect(cardUsers(foldCall(7, answered, null, parse, 0), userOf)).toEqual([]);
    // an employee without a Bitrix24 user gets no card
    expect(cardUsers(foldCall(7, [answered[0]!, note('waiting_for_answer', 1100, { employeeId: 99 })], null, parse, 0), userOf)).toEqual([]);
  });

  it('a missed call (lost, no talk) is not answered; the phase is the end', () => {
    const t = foldCall(7, [answered[0]!, answered[1]!, note('lost_call', 5000, {}), note('call_finished', 5001, { talkSeconds: 0 })], null, parse, 0);
    expect(t).toMatchObject({ ended: true, answered: false, talkSeconds: 0, talkers: [] });
  });

  it('only the end arrived: the end notification names who talked', () => {
    const t = foldCall(7, [answered[5]!], null, parse, 0);
    expect(t).toMatchObject({ ended: true, answered: true, talkers: [11], talkSeconds: 70 });
  });

  it('an outgoing call: the caller is on the line from the start', () => {
    const out = [note('outgoing_call', 1000, { employeeId: 12, direction: 'out' })];
    const t = foldCall(7, out, null, parse, 0);
    expect(t).toMatchObject({ direction: 'out', caller: 12, answered: false, talking: 12 });
    expect(cardUsers(t, userOf)).toEqual([2]);
  });

  it('the report, when read, is the truth about the end and brings what notifications lack', () => {
    const t = foldCall(7, answered.slice(0, 2), {
      id: 7, communicationId: 1, direction: 'in', startedAt: 500, finishedAt: 9500, finishReason: 'subscriber_disconnects', isLost: false,
      contactPhone: '79161112233', contactName: null, virtualNumber: '74950000102', scenarioId: 3, scenarioName: 'S',
      operations: [{ id: 1, name: 'Приветствие' }, { id: 2, name: 'Отдел продаж' }],
      employees: [{ id: 11, name: null, answered: true, talked: true }, { id: 12, name: null, answered: true, talked: true }],
      firstTalkedId: 11, lastTalkedId: 12, talkSeconds: 65, recordLink: 'https://media.example/1/2', recordIds: [2], externalId: null,
      campaignId: 5, campaignName: 'C', firstCampaignId: 5, firstCampaignName: 'C', siteId: 9, siteName: 'site', sourceId: null, sourceName: null, utm: { source: 'ya' },
      legs: null,
    }, parse, 0);
    expect(t).toMatchObject({ ended: true, endedAt: 9500, talkSeconds: 65, talkers: [11, 12], lastOperation: { id: 2 }, finishReason: 'subscriber_disconnects', reported: true, virtualNumbers: ['74950000102', '74950000101'] });
    expect(t.attribution).toMatchObject({ campaignId: 5, siteId: 9, utm: { source: 'ya' } });
  });
});
