import type { FilterConditionOf, FilterOf } from '../../server/contracts/crm-rules';
import { defaultTelephonySettings, type TelephonySettings } from '../../server/contracts/telephony-settings';
import { refKey } from '../../server/domain/crm-rules/context';
import { decideCall } from '../../server/domain/crm-rules/decide-call';
import type { CallDecision, CallFacts, CallLink, CallOperation, CrmMode, FinishParams } from '../../server/domain/crm-rules/call-types';
import type { Found } from '../../server/domain/crm-rules/types';
import { found, T0, TZ } from './crm-rules-fixtures';

/**
 * Fixtures for the call rules tests: a «Телефония» tab switched on with the defaults of
 * «Ответственные» chosen (user 1 for missed incoming calls, user 2 for outgoing ones), and one
 * incoming call to the virtual number +7 495 123-45-67 answered by UIS employee 5 (Bitrix24 user 15).
 */
export const SEED = '002';
export const VN = '+74951234567';
export const VN2 = '+74957654321';

type Over<T> = { [K in keyof T]?: NonNullable<T[K]> extends object ? Over<NonNullable<T[K]>> | T[K] : T[K] };
const merge = <T>(base: T, over: Over<T> | undefined): T => {
  if (!over) return base;
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) {
    const b = (base as Record<string, unknown>)[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? merge(b, v as Over<typeof b>) : v;
  }
  return out as T;
};

export const telephony = (over?: Over<TelephonySettings>): TelephonySettings =>
  merge(
    merge(defaultTelephonySettings(), {
      enabled: true,
      responsible: { incomingDefaultUserId: 1, outgoingDefaultUserId: 2 },
      funnels: {
        incoming: { defaults: { leadStatusId: 'NEW', dealCategoryId: 0, dealStageId: 'NEW' } },
        outgoing: { defaults: { leadStatusId: 'OUT', dealCategoryId: 3, dealStageId: 'C3:NEW' } },
      },
    }),
    over,
  );

export const anna = { employeeId: 5, userId: 15, name: 'Анна Смирнова' };
export const boris = { employeeId: 6, userId: 16, name: 'Борис Орлов' };
export const unpaired = { employeeId: 7, userId: null, name: 'Вера Новикова' };

/** Incoming, answered by Anna, seen at its end (talk 95 s). */
export const call = (over: Partial<CallFacts> = {}): CallFacts => ({
  kind: 'call',
  id: 3902714,
  communicationId: 88001,
  direction: 'in',
  phase: 'end',
  startedAt: T0,
  endedAt: T0 + 120_000,
  contactPhone: '+79161234567',
  contactName: null,
  virtualNumbers: [VN],
  scenarioId: 40,
  scenarioName: 'Основной',
  lastOperationId: 41,
  lastOperationName: 'Отдел продаж',
  groupId: 42,
  groupName: 'Продажи',
  caller: null,
  talkers: [anna],
  answered: true,
  talkSeconds: 95,
  finishReason: 'subscriber_disconnects',
  campaignId: 20,
  campaignName: 'Контекст — бренд',
  firstCampaignId: 21,
  firstCampaignName: 'SEO',
  siteId: 10,
  siteName: 'shop.example.ru',
  sourceId: 30,
  sourceName: 'Яндекс Директ',
  utm: { source: 'yandex', medium: 'cpc' },
  ...over,
});
/** Incoming, nobody answered. */
export const missed = (over: Partial<CallFacts> = {}): CallFacts => call({ talkers: [], answered: false, talkSeconds: 0, finishReason: 'no_operation', ...over });
/** Outgoing by Boris, answered by the client. */
export const outgoing = (over: Partial<CallFacts> = {}): CallFacts =>
  call({ direction: 'out', caller: boris, talkers: [], groupId: null, groupName: null, lastOperationId: null, lastOperationName: null, scenarioId: null, scenarioName: null, ...over });

export interface CallCase {
  seed: string;
  when: string;
  settings?: Over<TelephonySettings>;
  facts: CallFacts;
  found?: Partial<Found>;
  link?: CallLink;
  mode?: CrmMode;
  missedActivities?: number[];
  then: string[];
}

export function run(c: Omit<CallCase, 'seed' | 'when' | 'then'>): CallDecision {
  return decideCall({
    settings: telephony(c.settings),
    facts: c.facts,
    found: found(c.found),
    link: c.link ?? null,
    crmMode: c.mode ?? 'classic',
    openMissedCalls: c.missedActivities ?? [],
    timeZone: TZ,
  });
}

export const allOf = <P extends string>(...conditions: Array<FilterConditionOf<P>>): FilterOf<P> => ({ join: 'and', groups: [{ join: 'and', conditions }] });
export const when = <P extends string>(param: P, rule: 'allowed' | 'forbidden', ...values: string[]): FilterConditionOf<P> => ({ param, rule, values });

function op(o: CallOperation): string {
  switch (o.op) {
    case 'create': {
      const st = !o.stage ? '' : 'leadStatusId' in o.stage ? ` ${o.stage.leadStatusId}` : ` ${o.stage.dealCategoryId}/${o.stage.dealStageId}`;
      const links = Object.entries(o.links).map(([k, r]) => `${k}=${refKey(r)}`);
      return `create ${o.ref} @${o.responsibleId}${st}${links.length ? ` (${links.join(', ')})` : ''}`;
    }
    case 'update':
      return `update ${refKey(o.target)} ${Object.entries(o.fields).map(([k, v]) => `${k}=${v}`).join(',')}`;
    case 'complete':
      return `complete ${o.activityId}`;
  }
}
const fin = (f: FinishParams) => `finish @${f.userId} ${f.statusCode} ${f.durationSec}s${f.addToChat ? ' chat' : ''}`;

/** One readable line per step, so a case states its whole expected decision. */
export function summary(d: CallDecision): string[] {
  if (d.action === 'skip') return [`skip ${d.reason}${d.retry ? ' (retry)' : ''}`];
  const r = d.register;
  return [
    d.request,
    ...d.ops.map(op),
    ...(r ? [`register @${r.userId} ${r.type === 2 ? 'in' : 'out'}${r.show ? ' show' : ''}${r.bind ? ` bind=${refKey(r.bind)}` : ''}`] : []),
    ...(d.finish ? [fin(d.finish)] : []),
    ...(d.attachRecording ? ['record'] : []),
    ...(d.followUp ? [`+${Math.round((d.followUp.dueAt - (T0 + 120_000)) / 60_000)}m: ${[...d.followUp.ops.map(op), ...(d.followUp.finish ? [fin(d.followUp.finish)] : []), ...(d.followUp.attachRecording ? ['record'] : [])].join('; ')}`] : []),
  ];
}
