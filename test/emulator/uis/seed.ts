/**
 * What a freshly emulated UIS account holds: three employees (two chat operators), two sites, a
 * few sources and campaigns (with each site's system campaign "Посетители без рекламной кампании",
 * Data API get.campaigns `type: system`), one chat channel of every type the brief lists, and two
 * WABA templates (Chat API §"Работа с каналом типа waba").
 */
import type { Ids } from './ids';
import { randomKey } from './ids';
import type { Campaign, ChannelType, ChatChannel, Employee, MessageTemplate, Site, Source } from './types';

export interface Seed {
  employees: Employee[];
  sites: Site[];
  sources: Source[];
  campaigns: Campaign[];
  channels: ChatChannel[];
}

const PEOPLE: Array<Omit<Employee, 'id'>> = [
  { first_name: 'Анна', last_name: 'Смирнова', full_name: 'Смирнова Анна', email: 'anna@example.com', login: 'anna', operator_chat_enabled: true, status: 'available' },
  { first_name: 'Марина', last_name: 'Иванова', full_name: 'Иванова Марина', email: 'marina@example.com', login: 'marina', operator_chat_enabled: true, status: 'available' },
  { first_name: 'Олег', last_name: 'Петров', full_name: 'Петров Олег', email: 'oleg@example.com', login: 'oleg', operator_chat_enabled: false, status: 'not_at_work' },
];

const CHANNELS: Array<{ type: ChannelType; name: string }> = [
  { type: 'comagic', name: 'Чат на сайте' },
  { type: 'whatsapp', name: 'WhatsApp +7 495 000-00-01' },
  { type: 'waba', name: 'WhatsApp Business API +7 495 000-00-02' },
  { type: 'telegram', name: 'Telegram-бот @romashka_bot' },
  { type: 'telegram_private', name: 'Telegram +7 495 000-00-03' },
  { type: 'vkontakte_groups', name: 'Сообщество ВКонтакте' },
  { type: 'avito', name: 'Авито' },
  { type: 'email', name: 'Почта info@romashka.example' },
  { type: 'sms', name: 'SMS +7 495 000-00-04' },
];

export function wabaTemplates(ids: Ids, createdAt: string): MessageTemplate[] {
  return [
    {
      id: ids.take('template'),
      name: 'greeting',
      content: {
        text: 'Здравствуйте! Это компания «Ромашка». Ответьте на это сообщение, чтобы продолжить диалог.',
        header: { text: 'Ромашка', headerType: 'TEXT', headerExampleMediaUrl: null },
        footer: { text: 'Не отвечайте, если не ждали сообщения' },
        keyboard: { rows: [{ buttons: [{ text: 'Ответить', buttonType: 'QUICK_REPLY', payload: 'reply' }] }] },
      },
      createdAt,
    },
    {
      id: ids.take('template'),
      name: 'order_ready',
      content: { text: 'Ваш заказ готов к выдаче.', footer: { text: 'Ромашка' } },
      createdAt,
    },
  ];
}

export function seedAccount(ids: Ids, now: number, companyName: string): Seed {
  const employees = PEOPLE.map((p) => ({ id: ids.take('employee'), ...p }));
  const yearAgo = now - 365 * 86_400_000;
  const sites: Site[] = [
    { id: ids.take('site'), domain_name: 'romashka.example', name: companyName, site_key: randomKey(32), creation_date: yearAgo },
    { id: ids.take('site'), domain_name: 'shop.romashka.example', name: `${companyName} — магазин`, site_key: randomKey(32), creation_date: yearAgo },
  ];
  const sources: Source[] = [
    { id: ids.take('source'), name: 'Яндекс Директ', channel_name: 'Контекстная реклама', channel_mnemonic: 'paid', state: 'active' },
    { id: ids.take('source'), name: 'Прямые заходы', channel_name: 'Прямые заходы', channel_mnemonic: 'direct', state: 'active' },
    { id: ids.take('source'), name: 'Мессенджеры', channel_name: 'Мессенджеры', channel_mnemonic: 'messenger', state: 'active' },
    { id: ids.take('source'), name: 'Старый источник', channel_name: 'Прочее', channel_mnemonic: 'referral', state: 'removed' },
  ];
  const campaigns: Campaign[] = [];
  for (const site of sites) {
    campaigns.push({ id: ids.take('campaign'), name: 'Посетители без рекламной кампании', site_id: site.id, type: 'system', status: 'active', creation_time: yearAgo });
  }
  campaigns.push(
    { id: ids.take('campaign'), name: 'Контекст — бренд', site_id: sites[0]!.id, type: 'basic', status: 'active', creation_time: yearAgo },
    { id: ids.take('campaign'), name: 'Мессенджеры', site_id: sites[0]!.id, type: 'basic', status: 'active', creation_time: yearAgo },
    { id: ids.take('campaign'), name: 'Магазин — распродажа', site_id: sites[1]!.id, type: 'basic', status: 'inactive', creation_time: yearAgo },
  );
  const channels: ChatChannel[] = CHANNELS.map((c) => ({
    id: ids.take('chatChannel'),
    channelId: ids.take('internalChannel'),
    type: c.type,
    name: c.type === 'comagic' ? `${c.name} ${sites[0]!.domain_name}` : c.name,
    isRemoved: false,
  }));
  return { employees, sites, sources, campaigns, channels };
}
