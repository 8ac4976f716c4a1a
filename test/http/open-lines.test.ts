/**
 * «Открытые линии» tab (issue #16, seed 002 «Настройка "Доп поля" в "Открытых линиях"») over real
 * HTTP against the emulated portal and UIS: when Open Lines create a lead from a UIS chat, the
 * chat's fields from get.chats_report are written into the chosen text fields.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { OpenLinesSettings, OpenLinesView } from '../../server/contracts/open-lines';
import { linkAndBind } from '../support/bridge-fixture';
import { api, openPage, startHarness, type Harness } from '../support/harness';

let h: Harness;
afterEach(async () => {
  await h?.portal.drainEvents();
  await h?.close();
});

const FIELDS: OpenLinesSettings['fields'] = [
  { uisField: 'communication_id', entity: 'lead', b24Field: 'UF_CRM_UIS_CHAT_ID', alwaysUpdate: false },
  { uisField: 'utm_source', entity: 'lead', b24Field: 'UTM_SOURCE', alwaysUpdate: false },
  { uisField: 'campaign', entity: 'lead', b24Field: 'SOURCE_DESCRIPTION', alwaysUpdate: false },
  { uisField: 'site', entity: 'lead', b24Field: 'ADDRESS_CITY', alwaysUpdate: false },
  { uisField: 'communication_id', entity: 'contact', b24Field: 'SOURCE_DESCRIPTION', alwaysUpdate: true },
  { uisField: 'utm_campaign', entity: 'contact', b24Field: 'UTM_CAMPAIGN', alwaysUpdate: true },
  { uisField: 'utm_medium', entity: 'contact', b24Field: 'UTM_MEDIUM', alwaysUpdate: false },
];

async function settle(): Promise<void> {
  for (let i = 0; i < 6; i++) {
    await h.uis.accounts[0]!.settle();
    await h.portal.drainEvents();
    await h.app.deps.bridgeWorker.drain();
    await h.app.deps.openLinesWorker.drain();
  }
}

const leadOf = async (uisChatId: number) => {
  const chat = await h.app.deps.bridge.chat(h.portal.memberId, String(uisChatId));
  const ol = chat?.b24ChatId ? h.portal.openLines.chat(Number(chat.b24ChatId)) : undefined;
  const id = ol?.sessions.at(-1)?.crm.LEAD;
  return id ? h.portal.crm.leads().find((l) => Number(l.ID) === Number(id)) : undefined;
};

describe('«Открытые линии» → «Доп. поля»', () => {
  it('a lead Open Lines create from a UIS chat gets the chat’s fields; the found contact keeps its first chat and its own values', async () => {
    h = await startHarness();
    // the site's web chat: its visitors have a UIS session (campaign, UTM, site); messengers have none
    const { session, acc } = await linkAndBind(h, 'comagic');
    const site = acc.sites[0]!;
    const campaign = acc.campaigns[0]!;
    const s = acc.addSession({ siteId: site.id, campaignId: campaign.id, utm: { source: 'yandex', medium: 'cpc', campaign: 'brand' } });
    // a client the CRM knows: a contact with this phone, an earlier chat and a medium of its own
    const rest = h.app.deps.gateway.client(h.portal.memberId);
    const contactId = Number(
      (await rest.call('crm.contact.add', { fields: { NAME: 'Пётр', LAST_NAME: 'Клиентов', PHONE: [{ VALUE: '+79035550101', VALUE_TYPE: 'WORK' }], SOURCE_DESCRIPTION: 'chat:1', UTM_MEDIUM: 'email', UTM_CAMPAIGN: 'old' } })).result,
    );

    const saved = await api(h.app.url, session, 'PUT', '/api/open-lines/settings', { enabled: true, fields: FIELDS });
    expect(saved.status, JSON.stringify(saved.json)).toBe(200);

    const w = await acc.visitorWrite({ channelType: 'comagic', visitor: { phone: '+79035550101', sessionId: s.id }, text: 'Здравствуйте, хочу диван' });
    await settle();

    const lead = await leadOf(w.chatId);
    expect(lead, 'Open Lines created a lead for the chat').toBeDefined();
    expect(lead).toMatchObject({ UF_CRM_UIS_CHAT_ID: `chat:${w.chatId}`, UTM_SOURCE: 'yandex', SOURCE_DESCRIPTION: campaign.name, ADDRESS_CITY: site.domain_name });
    const contact = h.portal.crm.contacts().find((c) => Number(c.ID) === contactId)!;
    // «ID первой коммуникации» stays the first chat's even with «Обновлять всегда»; that one overwrites the campaign, the medium without it is kept
    expect(contact).toMatchObject({ SOURCE_DESCRIPTION: 'chat:1', UTM_CAMPAIGN: 'brand', UTM_MEDIUM: 'email' });

    const view = (await api(h.app.url, session, 'GET', '/api/open-lines')).json as unknown as OpenLinesView;
    expect(view.recent[0]).toMatchObject({ entityType: 'lead', entityId: Number(lead!.ID), status: 'done', uisChatId: String(w.chatId) });
    expect(view.recent[0]!.written).toEqual(expect.arrayContaining(['UF_CRM_UIS_CHAT_ID', 'UTM_SOURCE', 'SOURCE_DESCRIPTION', 'ADDRESS_CITY', 'contact.UTM_CAMPAIGN']));
    // the lines list: the bound line, both sides, a link to its connector page
    expect(view.lines).toEqual([
      expect.objectContaining({ lineId: '1', channelType: 'comagic', binding: 'active', uisStatus: 'active', portal: { active: true, configured: true, error: false } }),
    ]);
    expect(view.lines[0]!.lineName).toBe('Открытая линия 1');
    expect(view.lines[0]!.connectorUrl).toBe(`${h.portal.origin}/contact_center/connector/?ID=uis_omni&LINE=1`);
  });

  it('a lead made elsewhere is left alone with the reason; with the tab off nothing is queued; a lost event comes from the offline queue', async () => {
    h = await startHarness();
    const { session, acc } = await linkAndBind(h);
    expect((await api(h.app.url, session, 'PUT', '/api/open-lines/settings', { enabled: true, fields: FIELDS.slice(0, 2) })).status).toBe(200);
    const rest = h.app.deps.gateway.client(h.portal.memberId);
    const manual = Number((await rest.call('crm.lead.add', { fields: { TITLE: 'Заявка с сайта' } })).result);
    await settle();
    let view = (await api(h.app.url, session, 'GET', '/api/open-lines')).json as unknown as OpenLinesView;
    expect(view.recent.find((r) => r.entityId === manual)).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^NOT_FROM_OPEN_LINE/) });
    expect(h.portal.crm.leads().find((l) => Number(l.ID) === manual)?.UF_CRM_UIS_CHAT_ID).toBeFalsy();

    // the online event is lost: the lead is taken from the offline queue (polled by the same poll as analytics)
    h.portal.eventQueue.drop(10, ['ONCRMLEADADD']);
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79035550202' }, text: 'Добрый день' });
    await settle();
    expect((await leadOf(w.chatId))?.UF_CRM_UIS_CHAT_ID).toBeFalsy();
    await h.app.deps.analyticsWorker.pollOffline(h.portal.memberId);
    await settle();
    expect(await leadOf(w.chatId)).toMatchObject({ UF_CRM_UIS_CHAT_ID: `chat:${w.chatId}` });

    // switched off: a new lead is not touched
    expect((await api(h.app.url, session, 'PUT', '/api/open-lines/settings', { enabled: false, fields: FIELDS.slice(0, 2) })).status).toBe(200);
    const w2 = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79035550303' }, text: 'Ещё вопрос' });
    await settle();
    expect(await leadOf(w2.chatId)).toBeDefined();
    expect((await leadOf(w2.chatId))?.UF_CRM_UIS_CHAT_ID).toBeFalsy();
    view = (await api(h.app.url, session, 'GET', '/api/open-lines')).json as unknown as OpenLinesView;
    const second = (await leadOf(w2.chatId))!;
    expect(view.recent.some((r) => r.entityId === Number(second.ID))).toBe(false);
  });

  it('settings: admins only, text fields of the portal only, bad input 400 with nothing saved', async () => {
    h = await startHarness();
    const { session } = await linkAndBind(h);
    const employee = (await openPage(h.portal, { handlerUrl: `${h.app.url}/b24/app`, userId: 2 })).boot.session!;
    expect((await api(h.app.url, employee, 'PUT', '/api/open-lines/settings', { enabled: true, fields: [] })).json.error).toBe('NOT_ADMIN');
    expect((await api(h.app.url, employee, 'GET', '/api/open-lines')).status).toBe(200);
    const notText = await api(h.app.url, session, 'PUT', '/api/open-lines/settings', { enabled: true, fields: [{ uisField: 'utm_source', entity: 'lead', b24Field: 'OPPORTUNITY', alwaysUpdate: false }] });
    expect(notText.status).toBe(400);
    expect(notText.json.message).toContain('fields.0.b24Field');
    for (const bad of [{ enabled: 'yes', fields: [] }, { enabled: true, fields: [{ uisField: 'form_name', entity: 'lead', b24Field: 'UTM_SOURCE', alwaysUpdate: false }] }, { enabled: true, fields: [], extra: 1 }]) {
      expect((await api(h.app.url, session, 'PUT', '/api/open-lines/settings', bad)).status).toBe(400);
    }
    const view = (await api(h.app.url, session, 'GET', '/api/open-lines')).json as unknown as OpenLinesView;
    expect(view).toMatchObject({ saved: false, settings: { enabled: false, fields: [] } });
  });
});
