import { describe, expect, it } from 'vitest';
import type { CrmRulesSettings } from '../../server/contracts/crm-rules';
import { decide } from '../../server/domain/crm-rules/decide';
import type { ChatLink, Found, RequestFacts } from '../../server/domain/crm-rules/types';
import { all, baseFacts, baseSettings, cond, e, found, summary, TZ } from './crm-rules-fixtures';

/**
 * The decision table of the Chats / Offline requests CRM rules. Each case names the seed passage
 * it comes from (002 = seeds/002 «Чаты (офлайн заявки)» unless noted, 001 = seeds/001).
 */
interface Case {
  seed: string;
  when: string;
  settings?: Partial<CrmRulesSettings>;
  facts?: Partial<RequestFacts>;
  found?: Partial<Found>;
  link?: ChatLink;
  then: string[];
}

const noContact = { visitor: { name: null, phones: [], emails: [] } };
const lead = (n: 'none' | 'lead' | 'deal' | 'lead_deal', activity = false) => ({ entities: n, activity });

const cases: Case[] = [
  // ——— whether the rules act at all
  { seed: '001 «В каждом из разделов есть тоггл»', when: 'the tab is off', settings: { enabled: false }, then: ['skip tab-off'] },
  { seed: '001 «чаты и ОЛ включают специально, но все настройки … остаются отключенными»', when: 'Chats on, entity creation off', settings: { createEntities: false }, then: ['skip workspace-only'] },
  { seed: '002 «созданием лидов теперь будет управлять функционал "Открытых линий"»', when: 'an open line drives the channel', facts: { openLineDriven: true }, then: ['skip open-lines'] },
  { seed: '002 «нам не нужен канал Telegram, но нужен WhatsApp»', when: 'the channel type is not selected', settings: { channels: ['whatsapp'] }, facts: { channelType: 'telegram' }, then: ['skip channel-off'] },
  { seed: '002 «можно фильтровать передачу чатов и заявок»', when: 'the «Фильтры» forbid the site', settings: { filter: all(cond('site_id', 'forbidden', '10')) }, then: ['skip filtered-out'] },
  { seed: '002 «можно фильтровать передачу чатов и заявок»', when: 'the «Фильтры» allow the site', settings: { filter: all(cond('site_id', 'allowed', '10')) }, then: ['primary', 'create contact @1', 'create lead @1 NEW (contact=new-contact)', 'comment new-lead'] },
  { seed: '002 «Создавать сущности, если нет контактных данных»', when: 'no contact data, option off, chat still open', settings: { timing: 'start' }, facts: { ...noContact, event: 'message' }, then: ['skip no-contact (retry)'] },
  { seed: '002 «Создавать сущности, если нет контактных данных»', when: 'no contact data, option off, chat over', facts: noContact, then: ['skip no-contact'] },
  { seed: '002 «каждое обращение без контактных данных будет считаться первичным!»', when: 'no contact data, option on, even if a lookup returned a lead', settings: { createWithoutContacts: true }, facts: noContact, found: { leads: [e(7)] }, then: ['primary', 'create lead @1 NEW', 'comment new-lead'] },
  { seed: '002 «Интеграция с офлайн заявками настраивается так же, как и с чатами»; ОЛ: «оффлайн заявки с ними ОЛ тоже не работает»', when: 'an offline request (channels and open lines do not apply)', settings: { channels: [] }, facts: { kind: 'offline', event: 'received', channelType: 'offline_message', channelId: null, openLineDriven: true }, then: ['primary', 'create contact @1', 'create lead @1 NEW (contact=new-contact)', 'comment new-lead'] },

  // ——— primary requests: what to create
  { seed: '002 «для первичных обращений нужно обязательно выбрать что создавать»', when: 'primary → lead', then: ['primary', 'create contact @1', 'create lead @1 NEW (contact=new-contact)', 'comment new-lead'] },
  { seed: '002 «создание только Сделок - будут активны только поля "Воронка сделки*"…»', when: 'primary → deal', settings: { primary: lead('deal') }, then: ['primary', 'create contact @1', 'create deal @1 0/NEW (contact=new-contact)', 'comment new-deal'] },
  { seed: '001 «Лид/Сделка + Дело»', when: 'primary → lead + deal + activity', settings: { primary: lead('lead_deal', true) }, then: ['primary', 'create contact @1', 'create lead @1 NEW (contact=new-contact)', 'create deal @1 0/NEW (contact=new-contact, lead=new-lead)', 'comment new-deal', 'comment new-lead', 'activity new-deal @1'] },
  { seed: '002 «Уведомление создается исключительно на созданную сущность»', when: 'notifications on, lead + deal created', settings: { primary: lead('lead_deal'), notifyOnCreate: true }, then: ['primary', 'create contact @1', 'create lead @1 NEW (contact=new-contact)', 'create deal @1 0/NEW (contact=new-contact, lead=new-lead)', 'comment new-deal', 'comment new-lead', 'notify @1 new-deal,new-lead'] },
  { seed: '002 «Дополнительно сохранять комментарии в контакт/компанию»', when: 'primary with copy on: the new contact gets the chat too', settings: { copyToContactCompany: true }, then: ['primary', 'create contact @1', 'create lead @1 NEW (contact=new-contact)', 'comment new-lead', 'comment new-contact'] },

  // ——— repeat requests: comment priority
  { seed: '002 «выставить в настройках приоритет «В сделки». Тогда мы будем в первую очередь искать сделки»', when: 'deal, lead and contact found', found: { deals: [e(12, { responsibleId: 3 })], leads: [e(7)], contacts: [e(5)] }, then: ['repeat', 'comment deal-12'] },
  { seed: '002 «Если сделка будет не найдена – будем искать Лид → Контакт/Компанию»', when: 'no deal, an open lead', found: { leads: [e(7)], contacts: [e(5)] }, then: ['repeat', 'comment lead-7'] },
  { seed: '002 «Если сделка будет не найдена – будем искать Лид → Контакт/Компанию»', when: 'only a contact', found: { contacts: [e(5)], companies: [e(9)] }, then: ['repeat', 'comment contact-5'] },
  { seed: '002 «Если сделка будет не найдена – будем искать Лид → Контакт/Компанию»', when: 'only a company', found: { companies: [e(9)] }, then: ['repeat', 'comment company-9'] },
  { seed: '002 «Приоритет добавления комментариев»', when: 'priority «В лиды» with a deal and a lead', settings: { commentPriority: 'leads' }, found: { deals: [e(12)], leads: [e(7)] }, then: ['repeat', 'comment lead-7'] },
  { seed: '002 «Если же клиент выбрал «В оба» … добавим комментарий с чатом в обе сущности»; «самой «свежей» сделки и лида»', when: 'priority «В оба», several of each', settings: { commentPriority: 'both' }, found: { deals: [e(12), e(11, { createdAt: T(5) })], leads: [e(7), e(8, { createdAt: T(6) })] }, then: ['repeat', 'comment deal-11', 'comment lead-8'] },
  { seed: '002 «комментарий с чатом попадет в последние активные сделки»', when: 'a newer closed deal and an older open one, closed allowed', settings: { addToClosed: true }, found: { deals: [e(12), e(13, { closed: true, createdAt: T(9) })] }, then: ['repeat', 'comment deal-12'] },
  { seed: '002 «комментарий с чатом попадет в последние активные сделки»', when: 'priority «В сделки»: an open lead beats a closed deal', settings: { addToClosed: true }, found: { deals: [e(13, { closed: true })], leads: [e(7)] }, then: ['repeat', 'comment lead-7'] },
  { seed: '002 «Если все Лиды/Сделки закрыты … попадет в последний закрытый Лид/Сделку»', when: 'everything closed, closed allowed', settings: { addToClosed: true }, found: { deals: [e(13, { closed: true }), e(14, { closed: true, createdAt: T(9) })], leads: [e(7, { closed: true })] }, then: ['repeat', 'comment deal-14'] },
  { seed: '002 «Добавлять данные к закрытым лидам/сделкам»', when: 'closed deal and a contact, closed not allowed', found: { deals: [e(13, { closed: true })], contacts: [e(5)] }, then: ['repeat', 'comment contact-5'] },
  { seed: '002 «Если ничего не найдем, значит это первичное обращение»', when: 'only a closed lead, closed not allowed: primary, owner kept', found: { leads: [e(7, { closed: true, responsibleId: 4 })] }, then: ['primary', 'create contact @4', 'create lead @4 NEW (contact=new-contact)', 'comment new-lead'] },
  { seed: '002 «Активируется, если … выбрать только Дело»; «дело ставится на того, кто в старом лиде ответственный»', when: 'repeat → activity only', settings: { repeat: lead('none', true) }, found: { deals: [e(12, { responsibleId: 3 })] }, then: ['repeat', 'comment deal-12', 'activity deal-12 @3'] },
  { seed: '002 «дублировать комментарии с чатами в найденный контакт/компанию»', when: 'repeat with copy on', settings: { copyToContactCompany: true }, found: { deals: [e(12)], contacts: [e(5)], companies: [e(9)] }, then: ['repeat', 'comment deal-12', 'comment contact-5', 'comment company-9'] },
  { seed: '002 «Уведомление создается исключительно на созданную сущность»', when: 'notifications on, repeat adds a comment only', settings: { notifyOnCreate: true }, found: { deals: [e(12)] }, then: ['repeat', 'comment deal-12'] },

  // ——— repeat requests that create, and the responsible priority
  { seed: '002 «Для повторных обращений находится точно такая же форма как и для первичных»; «берем ответственного с Контакта»', when: 'repeat → deal, contact + company + closed deal found', settings: { repeat: lead('deal') }, found: { contacts: [e(5, { responsibleId: 8 })], companies: [e(9, { responsibleId: 6 })], deals: [e(12, { closed: true, responsibleId: 3 })] }, then: ['repeat', 'create deal @8 2/C2:NEW (contact=contact-5, company=company-9)', 'comment new-deal'] },
  { seed: '002 телефония «Есть Компания и Сделка = берем ответственного с Компании»', when: 'repeat → lead, company and deal found', settings: { repeat: lead('lead') }, found: { companies: [e(9, { responsibleId: 6 })], deals: [e(12, { responsibleId: 3 })] }, then: ['repeat', 'create contact @6', 'create lead @6 REPEAT (contact=new-contact, company=company-9)', 'comment new-lead'] },
  { seed: '002 телефония «Есть только Сделка = берем ответственного со сделки»', when: 'repeat → lead, only a deal found', settings: { repeat: lead('lead') }, found: { deals: [e(12, { responsibleId: 3 })] }, then: ['repeat', 'create contact @3', 'create lead @3 REPEAT (contact=new-contact)', 'comment new-lead'] },

  // ——— when: at chat start or at chat end
  { seed: '002 «Завершение чата: переписка будет подгружена в Лид/Сделку после завершения диалога»', when: 'timing end, the chat is still going', facts: { event: 'message' }, then: ['skip waits-for-end (retry)'] },
  { seed: '002 «Начало чата: сообщения чата будут подгружаться … в режиме онлайн»', when: 'timing start, chat just started', settings: { timing: 'start' }, facts: { event: 'started', messages: [] }, then: ['primary', 'create contact @1', 'create lead @1 NEW (contact=new-contact)', 'comment new-lead'] },
  { seed: '002 «Начало чата: сообщения чата будут подгружаться … в режиме онлайн»', when: 'timing start, a new message in a chat already linked', settings: { timing: 'start' }, facts: { event: 'message' }, link: { targets: [{ ref: 'lead' }, { type: 'contact', id: 5 }], cursor: 'm1' }, then: ['continuation', 'comment new-lead', 'comment contact-5'] },
  { seed: '002 «Если в чат не пробросилось несколько последних сообщений – они появятся чуть позже»', when: 'a linked chat with nothing new', settings: { timing: 'start' }, facts: { event: 'message' }, link: { targets: [{ type: 'lead', id: 7 }], cursor: 'm2' }, then: ['skip nothing-new (retry)'] },
  { seed: '002 «При закрытии чата в РМО, данные передадутся гарантированно»', when: 'the chat ends with messages not yet written', settings: { timing: 'start' }, link: { targets: [{ type: 'lead', id: 7 }], cursor: 'm1' }, then: ['continuation', 'comment lead-7'] },

  // ——— funnels
  { seed: '002 «Если канал имеет условие "Разрешен" … Стадию/Воронку/Этап, указанную в этом фильтре»', when: 'allowed channel matches', settings: { primary: lead('lead_deal'), funnels: funnels({ filter: all(cond('channel_type', 'allowed', 'whatsapp')), leadStatusId: 'WA', dealCategoryId: 3, dealStageId: 'C3:NEW' }) }, then: ['primary', 'create contact @1', 'create lead @1 WA (contact=new-contact)', 'create deal @1 3/C3:NEW (contact=new-contact, lead=new-lead)', 'comment new-deal', 'comment new-lead'] },
  { seed: '002 «Чаты из других каналов попадут в Стадию/Воронку/Этап по умолчанию»', when: 'allowed channel, another channel', settings: { funnels: funnels({ filter: all(cond('channel_type', 'allowed', 'whatsapp')), leadStatusId: 'WA', dealCategoryId: 3, dealStageId: 'C3:NEW' }) }, facts: { channelType: 'telegram' }, then: ['primary', 'create contact @1', 'create lead @1 NEW (contact=new-contact)', 'comment new-lead'] },
  { seed: '002 «Если канал имеет условие "Запрещен" … Стадию/Воронку/Этап, указанную по умолчанию»', when: 'forbidden channel matches the chat', settings: { funnels: funnels({ filter: all(cond('channel_type', 'forbidden', 'whatsapp')), leadStatusId: 'OTHER', dealCategoryId: null, dealStageId: null }) }, then: ['primary', 'create contact @1', 'create lead @1 NEW (contact=new-contact)', 'comment new-lead'] },
  { seed: '002 телефония «Все остальные звонки получат воронку/стадию выбранную в фильтре»', when: 'forbidden channel, another channel', settings: { funnels: funnels({ filter: all(cond('channel_type', 'forbidden', 'whatsapp')), leadStatusId: 'OTHER', dealCategoryId: null, dealStageId: null }) }, facts: { channelType: 'avito' }, then: ['primary', 'create contact @1', 'create lead @1 OTHER (contact=new-contact)', 'comment new-lead'] },

  // ——— responsible filters
  { seed: '002 «выбраны условия фильтрации по сайту … будут назначены на ответственного, указанного в блоке фильтра»', when: 'the site matches a rule', settings: { responsible: { defaultUserId: 1, rules: [{ userId: 2, filter: all(cond('site_id', 'allowed', '10')) }] } }, then: ['primary', 'create contact @2', 'create lead @2 NEW (contact=new-contact)', 'comment new-lead'] },
  { seed: '002 телефония «далее сотрудник которому звонят, потом смотрим фильтры, потом по умолчанию»', when: 'the chat\'s operator is a synced Bitrix24 user: he beats the filter rules', settings: { responsible: { defaultUserId: 1, rules: [{ userId: 2, filter: all(cond('site_id', 'allowed', '10')) }] } }, facts: { employeeId: 77, employeeUserId: 5 }, then: ['primary', 'create contact @5', 'create lead @5 NEW (contact=new-contact)', 'comment new-lead'] },
  { seed: '002 телефония «самое важное - старая сущность, далее сотрудник…»', when: 'a synced operator, but the client\'s contact has a responsible', settings: { repeat: lead('lead') }, facts: { employeeId: 77, employeeUserId: 5 }, found: { contacts: [e(5, { responsibleId: 8 })] }, then: ['repeat', 'create lead @8 REPEAT (contact=contact-5)', 'comment new-lead'] },
  { seed: '002 «Запросы с других сайтов будут назначены на ответственного по умолчанию»', when: 'another site', settings: { responsible: { defaultUserId: 1, rules: [{ userId: 2, filter: all(cond('site_id', 'allowed', '10')) }] } }, facts: { siteId: 99 }, then: ['primary', 'create contact @1', 'create lead @1 NEW (contact=new-contact)', 'comment new-lead'] },
];

function T(minutes: number): number {
  return Date.UTC(2026, 10, 21, 12, 0, 0) + minutes * 60_000;
}
function funnels(rule: CrmRulesSettings['funnels']['primary']['rules'][number]): CrmRulesSettings['funnels'] {
  const s = baseSettings();
  return { primary: { ...s.funnels.primary, rules: [rule] }, repeat: s.funnels.repeat };
}

describe('CRM rules: decision table from the seeds', () => {
  it.each(cases)('when $when, then … [$seed]', (c) => {
    const d = decide({ settings: baseSettings(c.settings), facts: baseFacts(c.facts), found: found(c.found), link: c.link ?? null, timeZone: TZ });
    expect(summary(d)).toEqual(c.then);
  });
});
