/**
 * Which UIS channels an open line can drive. Seed 002, «Особенности в работе с "Открытыми
 * линиями"»: every channel except SMS and Yandex (offline requests do not work with open lines
 * either; they are no chat channel). UIS names SMS `sms`; its Yandex channels are `realty_yandex`
 * (Chat API adapter channel types) and `yandex.dialogs` (Data API `chat_channel_type`), so any type
 * naming Yandex is refused, a future one too.
 */
export function openLineRefusal(type: string): string | null {
  const t = type.trim().toLowerCase();
  if (t === 'sms') return 'SMS channels do not work with Open Lines';
  if (t.includes('yandex')) return 'Yandex channels do not work with Open Lines';
  if (t === 'offline_message') return 'offline requests do not work with Open Lines';
  return null;
}
