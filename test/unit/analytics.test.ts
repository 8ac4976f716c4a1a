import { describe, expect, it } from 'vitest';
import type { AnalyticsSettings } from '../../server/contracts/analytics';
import { buildUploadItem, extractUisSessionId, type OpenLineChat } from '../../server/domain/analytics';
import { dataApiDateTime } from '../../server/domain/uis-time';

const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);
const settings: AnalyticsSettings = {
  enabled: true,
  employeeId: 5,
  trafficType: 'source',
  defaults: { siteId: 10, sourceId: 20, campaignId: null },
  messengers: { telegrambot: { siteId: 10, sourceId: 21, campaignId: null } },
  webhookToken: null,
};
const chat = (over: Partial<OpenLineChat> = {}): OpenLineChat => ({
  chatId: 1763,
  connector: 'livechat',
  createdAt: NOW - 60_000,
  client: { name: 'Иван', phone: '+7 (916) 123-45-67', email: null },
  messages: [
    { at: NOW - 60_000, role: 'visitor', text: 'Здравствуйте' },
    { at: NOW - 30_000, role: 'operator', text: 'Добрый день' },
  ],
  sessionId: null,
  ...over,
});

describe('analytics upload item', () => {
  it('when the chat carries a UIS session, then it is the only anchor', () => {
    const r = buildUploadItem('m1', chat({ sessionId: 777 }), settings, NOW, 'Europe/Moscow');
    expect(r).toMatchObject({ item: { visitor_session_id: 777, ext_id: 'b24:m1:1763', phone: '+79161234567', status: 'succeed', initiator: 'visitor' } });
    if ('item' in r) {
      expect(r.item.site_id).toBeUndefined();
      expect(r.item.campaign_id).toBeUndefined();
      expect(r.item.messages[1]).toEqual({ date_time: '2026-11-21 14:59:30', source: 'operator', message: 'Добрый день', employee_id: 5 });
    }
  });

  it('when there is no session, then the messenger mapping applies, else the default; campaign traffic uses campaigns', () => {
    expect(buildUploadItem('m1', chat({ connector: 'telegrambot' }), settings, NOW, 'UTC')).toMatchObject({ item: { site_id: 10, source_id: 21 }, attribution: 'site 10, source 21' });
    expect(buildUploadItem('m1', chat({ connector: 'viber' }), settings, NOW, 'UTC')).toMatchObject({ item: { site_id: 10, source_id: 20 } });
    const campaign: AnalyticsSettings = { ...settings, trafficType: 'campaign', defaults: { siteId: null, sourceId: null, campaignId: 33 }, messengers: { viber: { campaignId: 34, siteId: null, sourceId: null } } };
    expect(buildUploadItem('m1', chat({ connector: 'viber' }), campaign, NOW, 'UTC')).toMatchObject({ item: { campaign_id: 34 } });
    expect(buildUploadItem('m1', chat({ connector: 'avito' }), campaign, NOW, 'UTC')).toMatchObject({ item: { campaign_id: 33 } });
  });

  it('when the chat has neither a usable phone nor an e-mail, then it is skipped with a reason', () => {
    const r = buildUploadItem('m1', chat({ client: { name: 'X', phone: '12', email: 'not-an-email' } }), settings, NOW, 'UTC');
    expect(r).toEqual({ skip: expect.stringMatching(/^NO_CONTACT/) });
    expect(buildUploadItem('m1', chat({ client: { name: null, phone: null, email: 'a@b.ru' } }), settings, NOW, 'UTC')).toMatchObject({ item: { email: 'a@b.ru' } });
  });

  it('when timestamps are in the future, then they are clamped to now; only a visitor → lost', () => {
    const r = buildUploadItem('m1', chat({ createdAt: NOW + 5000, messages: [{ at: NOW + 9000, role: 'visitor', text: 'hi' }] }), settings, NOW, 'UTC');
    expect(r).toMatchObject({ item: { start_date_time: '2026-11-21 12:00:00', status: 'lost', messages: [{ date_time: '2026-11-21 12:00:00' }] } });
  });

  it('uploads the phone by the one phone rule (domain/phone) and formats Data API dates in the account zone', () => {
    const phone = (p: string) => buildUploadItem('m1', chat({ client: { name: null, phone: p, email: null } }), settings, NOW, 'UTC');
    expect(phone('8 916 123-45-67 доб. 5')).toMatchObject({ item: { phone: '+79161234567' } });
    expect(phone('4959268686')).toMatchObject({ item: { phone: '+74959268686' } });
    expect(phone('+44 20 7946 0958')).toMatchObject({ item: { phone: '+442079460958' } });
    expect(phone('abc')).toEqual({ skip: expect.stringMatching(/^NO_CONTACT/) });
    expect(dataApiDateTime(NOW, 'Europe/Moscow')).toBe('2026-11-21 15:00:00');
  });

  it('finds the UIS session id in the markers the site script leaves, whatever their wording', () => {
    expect(extractUisSessionId(['hello', 'uis_session_id=123456'])).toBe(123456);
    expect(extractUisSessionId(['[B]UIS session[/B]: 987654'])).toBe(987654);
    expect(extractUisSessionId(['{"NAME":"uis_session_id","VALUE":"4242"}'])).toBe(4242);
    expect(extractUisSessionId(['[b]UIS session id:[/b] 31337'])).toBe(31337);
    expect(extractUisSessionId([null, 'nothing here'])).toBeNull();
  });
});
