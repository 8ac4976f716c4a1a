import { UIS_VARIABLES, type UisVariable } from '../../contracts/crm-rules';
import { renderTemplate, type TemplateVars } from './render-template';
import type { RequestFacts } from './types';

/** Channel names as the seed lists them («Каналы чатов»). */
const CHANNEL_LABELS: Record<string, string> = {
  whatsapp: 'WhatsApp',
  telegram: 'Telegram bot',
  telegram_private: 'Telegram private',
  waba: 'WABA',
  avito: 'Avito',
  vkontakte_groups: 'VK',
  email: 'E-mail',
  comagic: 'Веб-чат',
  sms: 'SMS',
  offline_message: 'Офлайн заявка',
};

export function channelLabel(type: string): string {
  return CHANNEL_LABELS[type] ?? type;
}

/**
 * Used when the admin leaves a template empty, as the seed's telephony does («если не указаны
 * шаблоны, то будет использоваться универсальный шаблон»).
 */
export const DEFAULT_TEMPLATES = {
  chat: 'Чат {{channel_type}}: {{visitor_name}} {{visitor_phone}}',
  offline: 'Офлайн заявка {{form_name}}: {{visitor_name}} {{visitor_phone}}',
} as const;

/** `DD.MM.YYYY HH:mm` in the portal's time zone. */
export function formatDate(ms: number, timeZone: string): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('ru-RU', { timeZone, day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false })
      .formatToParts(new Date(ms))
      .map((x) => [x.type, x.value]),
  );
  return `${p.day}.${p.month}.${p.year} ${p.hour}:${p.minute}`;
}

/** Every template variable for this chat/request (all keys present, null when unknown). */
export function templateVars(f: RequestFacts, timeZone: string): Record<UisVariable, string | null> {
  const first = f.messages.find((m) => m.source === 'visitor');
  return {
    chat_id: String(f.id),
    communication_id: `${f.kind === 'chat' ? 'chat' : 'offline_message'}:${f.id}`,
    channel_type: channelLabel(f.channelType),
    channel_name: f.channelName,
    visitor_name: f.visitor.name,
    visitor_phone: f.visitor.phones[0] ?? null,
    visitor_email: f.visitor.emails[0] ?? null,
    site: f.siteName,
    campaign: f.campaignName,
    source: f.sourceName,
    utm_source: f.utm.source ?? null,
    utm_medium: f.utm.medium ?? null,
    utm_campaign: f.utm.campaign ?? null,
    utm_term: f.utm.term ?? null,
    utm_content: f.utm.content ?? null,
    employee: f.employeeName,
    form_name: f.formName,
    request_text: first ? first.text.slice(0, 500) : null,
    date: formatDate(f.startedAt, timeZone),
  };
}

/** Example data behind the «eye» button (seed 002 «Кнопка с глазом покажет как это будет выглядеть»). */
export const EXAMPLE_VARS: Record<UisVariable, string> = {
  chat_id: '1763',
  communication_id: 'chat:1763',
  channel_type: 'WhatsApp',
  channel_name: 'WhatsApp отдела продаж',
  visitor_name: 'Иван Петров',
  visitor_phone: '+79161234567',
  visitor_email: 'ivan@example.ru',
  site: 'shop.example.ru',
  campaign: 'Контекст — бренд',
  source: 'Яндекс Директ',
  utm_source: 'yandex',
  utm_medium: 'cpc',
  utm_campaign: 'brand',
  utm_term: 'купить диван',
  utm_content: 'banner-1',
  employee: 'Анна Смирнова',
  form_name: 'Обратная связь',
  request_text: 'Здравствуйте, есть ли диван в наличии?',
  date: '21.11.2026 15:00',
};

/** The preview of a template over the example data; an empty template previews the default one. */
export function previewTemplate(template: string, kind: RequestFacts['kind'], vars: TemplateVars = EXAMPLE_VARS): string {
  return renderTemplate(template.trim() === '' ? DEFAULT_TEMPLATES[kind] : template, vars);
}

/** Variables offered by the «+» button, in the order the picker lists them. */
export const TEMPLATE_VARIABLES: readonly UisVariable[] = UIS_VARIABLES;
