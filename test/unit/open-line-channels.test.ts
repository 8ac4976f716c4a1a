/** Seed 002 «Особенности в работе с "Открытыми линиями"»: every channel except SMS and Yandex. */
import { describe, expect, it } from 'vitest';
import { openLineRefusal } from '../../server/domain/open-line-channels';

describe('which UIS channels an open line can drive', () => {
  it.each(['whatsapp', 'waba', 'telegram', 'telegram_private', 'avito', 'email', 'comagic', 'viber', 'auto_ru'])('%s can', (type) => {
    expect(openLineRefusal(type)).toBeNull();
  });
  it.each(['sms', 'SMS', 'realty_yandex', 'yandex.dialogs', 'offline_message'])('%s cannot, with a reason', (type) => {
    expect(openLineRefusal(type)).toMatch(/do not work with Open Lines/);
  });
});
