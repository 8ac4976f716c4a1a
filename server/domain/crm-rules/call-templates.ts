import { CALL_VARIABLES, DEFAULT_CALL_TITLES, type CallVariable, type TelephonySettings } from '../../contracts/telephony-settings';
import { matchFilter } from './match-filter';
import { renderTemplate, type TemplateVars } from './render-template';
import { formatDate } from './template-vars';
import { firstVirtualNumber, type CallEmployee, type CallFacts } from './call-types';

/** `{{app_name}}` of the manual's default titles (seed 002 lines 163, 166): the app's name in Bitrix24. */
export const APP_NAME = 'UIS OMNI';

/** The first or the last employee who talked («первый или последний разговаривающий», seed 002 line 191). */
export function talker(f: CallFacts, which: 'first' | 'last'): CallEmployee | null {
  return (which === 'first' ? f.talkers[0] : f.talkers.at(-1)) ?? null;
}

/** Every call variable (all keys present, null when unknown). */
export function callTemplateVars(f: CallFacts, timeZone: string, which: 'first' | 'last' = 'first'): Record<CallVariable, string | null> {
  const employee = f.direction === 'out' ? f.caller : talker(f, which);
  return {
    contact_phone_number: f.contactPhone,
    contact_full_name: f.contactName,
    app_name: APP_NAME,
    virtual_phone_number: firstVirtualNumber(f),
    call_session_id: String(f.id),
    // «ID первой коммуникации»: chats write chat:{chat_id} (seed 002 line 434), calls their session
    communication_id: `call:${f.id}`,
    direction: f.direction === 'in' ? 'Входящий' : 'Исходящий',
    scenario_name: f.scenarioName,
    last_operation_name: f.lastOperationName,
    group_name: f.groupName,
    employee_full_name: employee?.name ?? null,
    campaign_name: f.campaignName,
    first_campaign_name: f.firstCampaignName,
    site_domain_name: f.siteName,
    source_name: f.sourceName,
    utm_source: f.utm.source ?? null,
    utm_medium: f.utm.medium ?? null,
    utm_campaign: f.utm.campaign ?? null,
    utm_term: f.utm.term ?? null,
    utm_content: f.utm.content ?? null,
    talk_duration: f.answered ? String(f.talkSeconds) : null,
    date: formatDate(f.startedAt, timeZone),
  };
}

/**
 * The title of a lead or deal a call creates: the first «Шаблоны» rule whose filter the call
 * matches and that has a title for this entity, else the direction's template, else the manual's
 * («если не указаны шаблоны, то будет использоваться универсальный шаблон для каждой не заданной
 * комбинации параметров», seed 002 line 160).
 */
export function callTitle(s: TelephonySettings, f: CallFacts, entity: 'lead' | 'deal', vars: TemplateVars): string {
  const set = s.templates[f.direction === 'in' ? 'incoming' : 'outgoing'];
  const rule = set.rules.find((r) => r[entity].trim() !== '' && matchFilter(f, r.filter));
  const template = rule?.[entity] ?? (set.defaults[entity].trim() !== '' ? set.defaults[entity] : DEFAULT_CALL_TITLES[f.direction]);
  return renderTemplate(template, vars) || renderTemplate(DEFAULT_CALL_TITLES[f.direction], vars);
}

/** Example data behind the «eye» button (seed 002 line 158). */
export const EXAMPLE_CALL_VARS: Record<CallVariable, string> = {
  contact_phone_number: '+79161234567',
  contact_full_name: 'Иван Петров',
  app_name: APP_NAME,
  virtual_phone_number: '+74951234567',
  call_session_id: '3902714',
  communication_id: 'call:3902714',
  direction: 'Входящий',
  scenario_name: 'Основной',
  last_operation_name: 'Отдел продаж',
  group_name: 'Продажи',
  employee_full_name: 'Анна Смирнова',
  campaign_name: 'Контекст — бренд',
  first_campaign_name: 'SEO',
  site_domain_name: 'shop.example.ru',
  source_name: 'Яндекс Директ',
  utm_source: 'yandex',
  utm_medium: 'cpc',
  utm_campaign: 'brand',
  utm_term: 'купить диван',
  utm_content: 'banner-1',
  talk_duration: '95',
  date: '21.11.2026 15:00',
};

/** The preview of a call title over the example call; an empty template previews the manual's one. */
export function previewCallTemplate(template: string, direction: 'in' | 'out', vars: TemplateVars = EXAMPLE_CALL_VARS): string {
  const v = { ...vars, direction: direction === 'in' ? 'Входящий' : 'Исходящий' };
  return renderTemplate(template.trim() === '' ? DEFAULT_CALL_TITLES[direction] : template, v);
}

/** Variables offered by the «+» button (seed 002 line 154), in the order the picker lists them. */
export const CALL_TEMPLATE_VARIABLES: readonly CallVariable[] = CALL_VARIABLES;
