import type { CrmRulesSettings, Filter, FilterCondition } from '../../server/contracts/crm-rules';
import { refKey } from '../../server/domain/crm-rules/context';
import type { Decision, Found, FoundEntity, RequestFacts } from '../../server/domain/crm-rules/types';

/** Fixtures for the CRM rules tests: a fully configured Chats tab and one WhatsApp chat. */
export const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);
export const TZ = 'Europe/Moscow';

export const baseSettings = (over: Partial<CrmRulesSettings> = {}): CrmRulesSettings => ({
  enabled: true,
  createEntities: true,
  channels: ['whatsapp', 'telegram', 'telegram_private', 'waba', 'avito', 'vkontakte_groups', 'email', 'comagic', 'sms'],
  filter: { join: 'and', groups: [] },
  responsible: { defaultUserId: 1, rules: [] },
  primary: { entities: 'lead', activity: false },
  repeat: { entities: 'none', activity: false },
  commentPriority: 'deals',
  addToClosed: false,
  timing: 'end',
  createWithoutContacts: false,
  copyToContactCompany: false,
  notifyOnCreate: false,
  funnels: {
    primary: { defaults: { leadStatusId: 'NEW', dealCategoryId: 0, dealStageId: 'NEW' }, rules: [] },
    repeat: { defaults: { leadStatusId: 'REPEAT', dealCategoryId: 2, dealStageId: 'C2:NEW' }, rules: [] },
  },
  templates: { lead: '', deal: '' },
  fields: [],
  ...over,
});

export const baseFacts = (over: Partial<RequestFacts> = {}): RequestFacts => ({
  kind: 'chat',
  id: 1763,
  event: 'finished',
  channelType: 'whatsapp',
  channelId: '11',
  channelName: 'WhatsApp продаж',
  openLineDriven: false,
  visitor: { name: 'Иван', phones: ['+7 (916) 123-45-67'], emails: [] },
  siteId: 10,
  siteName: 'shop.example.ru',
  campaignId: 20,
  campaignName: 'Контекст — бренд',
  firstCampaignId: 20,
  sourceId: null,
  sourceName: null,
  utm: { source: 'yandex', medium: 'cpc' },
  employeeId: 5,
  employeeName: 'Анна Смирнова',
  formName: null,
  startedAt: T0,
  messages: [
    { id: 'm1', at: T0, source: 'visitor', text: 'Здравствуйте, диван есть?' },
    { id: 'm2', at: T0 + 60_000, source: 'operator', text: 'Да, есть', author: 'Анна' },
  ],
  ...over,
});

export const e = (id: number, over: Partial<FoundEntity> = {}): FoundEntity => ({ id, closed: false, createdAt: T0 - id * 1000, responsibleId: null, ...over });
export const found = (over: Partial<Found> = {}): Found => ({ leads: [], deals: [], contacts: [], companies: [], ...over });

export const cond = (param: FilterCondition['param'], rule: FilterCondition['rule'], ...values: string[]): FilterCondition => ({ param, rule, values });
export const all = (...conditions: FilterCondition[]): Filter => ({ join: 'and', groups: [{ join: 'and', conditions }] });

/** One readable line per operation, so a case states its whole expected decision. */
export function summary(d: Decision): string[] {
  if (d.action === 'skip') return [`skip ${d.reason}${d.retry ? ' (retry)' : ''}`];
  return [
    d.request,
    ...d.ops.map((op) => {
      switch (op.op) {
        case 'create': {
          const st = !op.stage ? '' : 'leadStatusId' in op.stage ? ` ${op.stage.leadStatusId}` : ` ${op.stage.dealCategoryId}/${op.stage.dealStageId}`;
          const links = Object.entries(op.links).map(([k, r]) => `${k}=${refKey(r)}`);
          return `create ${op.ref} @${op.responsibleId}${st}${links.length ? ` (${links.join(', ')})` : ''}`;
        }
        case 'update': return `update ${refKey(op.target)} ${Object.keys(op.fields).join(',')}`;
        case 'comment': return `comment ${refKey(op.target)}`;
        case 'activity': return `activity ${refKey(op.target)} @${op.responsibleId}`;
        case 'notify': return `notify @${op.userId} ${op.entities.map(refKey).join(',')}`;
      }
    }),
  ];
}
