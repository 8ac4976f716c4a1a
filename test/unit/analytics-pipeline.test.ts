import { describe, expect, it } from 'vitest';
import { prepareUpload, refusedForSession, sessionIdOf, type Conversation, type PipelineSettings } from '../../server/domain/analytics-pipeline';
import { amoConversation, leadIdOf, type AmoTalk } from '../../server/domain/chat-sources/amocrm';
import { decideAmoTalk, decideJivoItem } from '../../server/domain/chat-sources/items';
import { jivoChatConversation, jivoChatVersion, jivoOfflineConversation, type JivoChatFinished } from '../../server/domain/chat-sources/jivo';
import { amoSiteScript, jivoSiteScript } from '../../server/domain/chat-sources/site-scripts';

const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);
const source: PipelineSettings = {
  employeeId: 5,
  trafficType: 'source',
  defaults: { siteId: 10, sourceId: 20, campaignId: null },
  messengers: { '3949': { siteId: 10, sourceId: 21, campaignId: null }, telegram: { siteId: 11, sourceId: null, campaignId: null } },
};
const campaign: PipelineSettings = { ...source, trafficType: 'campaign', defaults: { siteId: null, sourceId: null, campaignId: 33 }, messengers: { waba: { siteId: null, sourceId: null, campaignId: 34 } } };

const request = (over: Partial<Conversation> = {}): Conversation => ({
  extId: 'amocrm:1:10',
  kind: 'request',
  channel: 'telegram',
  startedAt: NOW - 60_000,
  client: { name: 'Олег', phone: '8 916 111-22-33', email: null },
  sessionId: null,
  text: 'Чат amoCRM (telegram), беседа 10',
  formName: 'amoCRM: telegram',
  ...over,
});

describe('the analytics pipeline', () => {
  it('when a request has a valid session, then the session is its only anchor; else the channel mapping, else the default', () => {
    expect(prepareUpload(request({ sessionId: '255544855' }), source, NOW, 'UTC')).toEqual({
      kind: 'request',
      item: { ext_id: 'amocrm:1:10', date_time: '2026-11-21 11:59:00', name: 'Олег', phone: '+79161112233', message: 'Чат amoCRM (telegram), беседа 10', form_name: 'amoCRM: telegram', visitor_session_id: 255544855 },
      attribution: 'session 255544855',
      fallback: false,
    });
    expect(prepareUpload(request(), source, NOW, 'UTC')).toMatchObject({ item: { site_id: 11 }, attribution: 'site 11', fallback: true });
    expect(prepareUpload(request({ channel: 'viber' }), source, NOW, 'UTC')).toMatchObject({ item: { site_id: 10, source_id: 20 }, attribution: 'site 10, source 20' });
    expect(prepareUpload(request({ channel: 'waba' }), campaign, NOW, 'UTC')).toMatchObject({ item: { campaign_id: 34 } });
    expect(prepareUpload(request({ channel: 'telegram' }), campaign, NOW, 'UTC')).toMatchObject({ item: { campaign_id: 33 } });
    // a mapping key that is an Object.prototype name is no mapping
    expect(prepareUpload(request({ channel: 'constructor' }), source, NOW, 'UTC')).toMatchObject({ item: { site_id: 10, source_id: 20 } });
  });

  it('when the session is not a UIS session id, then the fallback is used; useSession=false (UIS refused it) too', () => {
    expect(sessionIdOf('uis:4242')).toBe(4242);
    expect(sessionIdOf(' 4242 ')).toBe(4242);
    for (const bad of ['abc', '12a', '0', '-5', '', '1'.repeat(20), null]) expect(sessionIdOf(bad)).toBeNull();
    expect(prepareUpload(request({ sessionId: 'roistat_123' }), source, NOW, 'UTC')).toMatchObject({ item: { site_id: 11 }, fallback: true });
    const r = prepareUpload(request({ sessionId: 4242 }), source, NOW, 'UTC', false);
    expect(r).toMatchObject({ item: { site_id: 11 }, fallback: true });
    expect('item' in r && r.item).not.toHaveProperty('visitor_session_id');
  });

  it('when neither a phone nor an e-mail is usable, then it is skipped with NO_CONTACT; future dates are clamped to now', () => {
    expect(prepareUpload(request({ client: { name: 'X', phone: '12', email: 'nope' } }), source, NOW, 'UTC')).toEqual({ skip: expect.stringMatching(/^NO_CONTACT/) });
    expect(prepareUpload(request({ client: { name: null, phone: null, email: ' a@b.ru ' } }), source, NOW, 'UTC')).toMatchObject({ item: { email: 'a@b.ru' } });
    expect(prepareUpload(request({ startedAt: NOW + 3_600_000 }), source, NOW, 'UTC')).toMatchObject({ item: { date_time: '2026-11-21 12:00:00' } });
  });

  it('tells a refusal of the session from other refusals', () => {
    expect(refusedForSession('chats.3.visitor_session_id', 'entity_not_found', { visitor_session_id: 1 })).toBe(true);
    expect(refusedForSession('offline_messages.0.date_time', 'invalid_date_time', { visitor_session_id: 1 })).toBe(true);
    expect(refusedForSession('offline_messages.0.date_time', 'invalid_date_time', {})).toBe(false);
    expect(refusedForSession('chats.0.messages.1.date_time', 'invalid_date_time', { visitor_session_id: 1 })).toBe(false);
    expect(refusedForSession('chats.0.source_id', 'entity_not_found', { visitor_session_id: 1 })).toBe(false);
  });
});

const finished = (over: Partial<JivoChatFinished> = {}): JivoChatFinished => ({
  widgetId: '3948',
  chatId: 7607,
  userToken: '255544855',
  visitor: { name: 'Анна', phone: '+79161234567', email: null },
  messages: [
    { text: 'Здравствуйте', timestamp: NOW / 1000 - 120, type: 'visitor' },
    { text: 'Добрый день', timestamp: NOW / 1000 - 60, type: 'agent' },
    { text: 'Бот: оцените чат', timestamp: NOW / 1000 - 30, type: 'bot' },
  ],
  blacklisted: false,
  invitation: null,
  ...over,
});

describe('Jivo as a source', () => {
  it('chat_finished → a chat with its transcript (agent → operator with the employee, other types → system), keyed by widget and chat', () => {
    const r = prepareUpload(jivoChatConversation(finished()), source, NOW, 'UTC');
    expect(r).toMatchObject({
      kind: 'chat',
      attribution: 'session 255544855',
      item: {
        ext_id: 'jivo:3948:7607',
        start_date_time: '2026-11-21 11:58:00',
        status: 'succeed',
        initiator: 'visitor',
        messages: [{ source: 'visitor' }, { source: 'operator', employee_id: 5 }, { source: 'system', message: 'Бот: оцените чат' }],
      },
    });
    expect(prepareUpload(jivoChatConversation(finished({ blacklisted: true, invitation: 'Чем помочь?' })), source, NOW, 'UTC')).toMatchObject({ item: { status: 'refused', initiator: 'autoinvite' } });
    expect(prepareUpload(jivoChatConversation(finished({ widgetId: '3949', userToken: null })), source, NOW, 'UTC')).toMatchObject({ item: { site_id: 10, source_id: 21 } });
    expect(prepareUpload(jivoChatConversation(finished({ messages: [] })), source, NOW, 'UTC')).toMatchObject({ item: { start_date_time: '2026-11-21 12:00:00', status: 'lost', messages: [] } });
  });

  it('a longer, later copy of the chat has a higher version; offline_message → a request dated on receipt', () => {
    const short = finished({ messages: finished().messages.slice(0, 2) });
    expect(jivoChatVersion(finished())).toBeGreaterThan(jivoChatVersion(short));
    expect(prepareUpload(jivoOfflineConversation({ widgetId: '3948', offlineMessageId: '1665399500726', userToken: null, visitor: { name: null, phone: null, email: 'a@b.ru' }, message: 'Перезвоните' }, NOW - 1000), source, NOW, 'UTC')).toMatchObject({
      kind: 'request',
      item: { ext_id: 'jivo-offline:3948:1665399500726', message: 'Перезвоните', email: 'a@b.ru', date_time: '2026-11-21 11:59:59', site_id: 10 },
    });
  });
});

const talk = (over: Partial<AmoTalk> = {}): AmoTalk => ({ talkId: 106564, createdAt: NOW / 1000 - 600, updatedAt: NOW / 1000, contactId: 28771643, entityId: 23711835, entityType: 'lead', isInWork: false, origin: 'telegram', ...over });

describe('amoCRM as a source', () => {
  it('a closed talk → a request with the contact, the session from the chosen lead (or contact) field, keyed by account and talk', () => {
    const lead = { id: 23711835, custom_fields_values: [{ field_id: 1049157, values: [{ value: '255544855' }] }] };
    const contact = { id: 28771643, name: ' Олег Петров ', custom_fields_values: [{ field_code: 'PHONE', values: [{ value: '8 916 111 22 33' }, { value: '+7 495 000 00 00' }] }, { field_code: 'EMAIL', values: [{ value: 'oleg@example.com' }] }] };
    const conv = amoConversation(29013640, talk(), lead, contact, { entity: 'leads', fieldId: 1049157 });
    expect(conv).toMatchObject({ extId: 'amocrm:29013640:106564', kind: 'request', channel: 'telegram', sessionId: '255544855', client: { name: 'Олег Петров', phone: '8 916 111 22 33', email: 'oleg@example.com' } });
    expect(amoConversation(1, talk(), lead, contact, null).sessionId).toBeNull();
    expect(amoConversation(1, talk(), lead, { ...contact, custom_fields_values: [...contact.custom_fields_values, { field_id: 77, values: [{ value: '999' }] }] }, { entity: 'contacts', fieldId: 77 }).sessionId).toBe('999');
    expect(leadIdOf(talk({ entityType: 'customer' }))).toBeNull();
    expect(leadIdOf(talk({ entityId: null, entityType: null }))).toBeNull();
  });

  it('is processed once when it closes: duplicates, stale copies and changes after the close do nothing; a reopen then a close goes again', () => {
    expect(decideAmoTalk(null, { updatedAt: 100, inWork: true })).toBeNull();
    const closed = decideAmoTalk(null, { updatedAt: 200, inWork: false })!;
    expect(closed).toMatchObject({ status: 'pending', version: 200 });
    expect(decideAmoTalk({ status: 'pending', version: 200, reopened: false }, { updatedAt: 200, inWork: false })).toBeNull();
    expect(decideAmoTalk({ status: 'pending', version: 200, reopened: false }, { updatedAt: 100, inWork: true })).toBeNull();
    const rated = decideAmoTalk({ status: 'uploaded', version: 200, reopened: false }, { updatedAt: 300, inWork: false })!;
    expect(rated).toMatchObject({ status: 'uploaded', replacePayload: false });
    const reopened = decideAmoTalk({ status: 'uploaded', version: 300, reopened: false }, { updatedAt: 400, inWork: true })!;
    expect(reopened).toMatchObject({ status: 'uploaded', reopened: true });
    expect(decideAmoTalk({ status: 'uploaded', version: 400, reopened: true }, { updatedAt: 500, inWork: false })).toMatchObject({ status: 'pending', reopened: false });
    // the worker found the talk in work: a later close makes it due
    expect(decideAmoTalk({ status: 'open', version: 500, reopened: false }, { updatedAt: 600, inWork: false })).toMatchObject({ status: 'pending' });
    expect(decideJivoItem(null, 5)).toMatchObject({ status: 'pending' });
    expect(decideJivoItem({ status: 'uploaded', version: 5, reopened: false }, 5)).toBeNull();
    expect(decideJivoItem({ status: 'uploaded', version: 5, reopened: false }, 3)).toBeNull();
    expect(decideJivoItem({ status: 'uploaded', version: 5, reopened: false }, 7)).toMatchObject({ status: 'pending', replacePayload: true });
  });

  it('the site scripts carry only the numbers of the settings', () => {
    expect(amoSiteScript({ entity: 'leads', fieldId: 1049157 })).toContain("FIELD_ID = 1049157");
    expect(amoSiteScript({ entity: 'contacts', fieldId: '7;alert(1)' as unknown as number })).toContain('FIELD_ID = NaN');
    expect(amoSiteScript({ entity: 'contacts', fieldId: 5 })).toContain("meta['contact']");
    expect(jivoSiteScript()).toContain('jivo_onLoadCallback');
  });
});
