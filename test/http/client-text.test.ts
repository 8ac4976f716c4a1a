/**
 * Text from clients is never markup in Bitrix24 (issue #11 item 9). Bitrix24 renders BBCode in
 * open-line chats, timeline comments, to-do descriptions and COMMENTS fields; the emulated portal
 * renders it the same way (test/emulator/bitrix/bbcode.ts), so what an operator would see is
 * checked: a visitor's `[URL=…]`, `[USER=1]`, `[B]`, `[SEND=…]`, file names, close reasons and edits
 * show as the text they wrote, with no link, mention, button or bold made of them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CrmRulesSettings } from '../../server/contracts/crm-rules';
import { defaultCrmRulesSettings } from '../../server/services/crm-rules/settings';
import { markupIn, renderBbcode, visibleText } from '../emulator/bitrix/bbcode';
import { installAndLink, linkAndBind, until } from '../support/bridge-fixture';
import { api, startHarness, type Harness } from '../support/harness';

let h: Harness;
afterEach(async () => {
  await h?.portal.drainEvents();
  await h?.close();
});

const HOSTILE = '[URL=https://evil.example/pay]Оплатить заказ[/URL] [USER=1]Админ[/USER] [B]срочно[/B] [SEND=/close]закрыть[/SEND] [COLOR=#ff0000]красный[/COLOR] <b>html</b>';
/** What a person should read: the same text (brackets in their fullwidth look-alikes). */
const readable = (s: string) => s.replaceAll('［', '[').replaceAll('］', ']');

async function settle() {
  for (let i = 0; i < 5; i++) {
    await h.uis.accounts[0]!.settle();
    await h.portal.drainEvents();
    await h.app.deps.bridgeWorker.drain();
  }
}

describe('open lines: what the operator sees', () => {
  it('visitor text, a file name, an edit and a close reason show as written, never as BBCode', async () => {
    h = await startHarness();
    const { acc, channelId } = await linkAndBind(h);
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161234567', name: 'Мария' }, text: HOSTILE });
    await acc.visitorWrite({
      channelType: 'whatsapp',
      visitor: { phone: '+79161234567' },
      // (a name is cut at its last slash, so only tags without one can survive in it)
      file: { name: '[DISK=12][TIMESTAMP=1700000000]счёт[br].pdf', mime: 'application/pdf', content: Buffer.from('%PDF-1.4') },
    });
    await settle();
    const c = (await h.app.deps.bridge.chat(h.portal.memberId, String(w.chatId)))!;
    const chatId = Number(c.b24ChatId);
    expect(chatId).toBeGreaterThan(0);

    // UIS reports an edit of the first message, then closes the chat with a reason
    const link = (await h.app.deps.links.get(h.portal.memberId))!;
    const callback = (path: string, body: unknown, method = 'POST') =>
      fetch(`${h.app.url}/uis/callbacks/${link.hookId}${path}`, { method, headers: { authorization: `Bearer ${link.webhookSecret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await callback('/message', { id: w.messageId, chat_id: w.chatId, channel_id: Number(channelId), text: `${HOSTILE} (исправлено)` }, 'PATCH')).status).toBe(204);
    await settle();
    expect((await callback('/chat/close', { chat_id: w.chatId, channel_id: Number(channelId), reason: '[B]closed[/B][USER=1]x[/USER]' })).status).toBe(204);
    await settle();

    const chat = h.portal.openLines.chat(chatId)!;
    // what came through the connector (Bitrix24's own system messages have their markup)
    const shown = chat.messages.filter((m) => !m.hidden && m.direction === 'in');
    const texts = shown.map((m) => readable(visibleText(m.html)));
    expect(shown.length).toBeGreaterThanOrEqual(3);
    // every message the operator sees is text: no link, mention, button, colour or bold from a client
    for (const m of shown) expect(markupIn(m.html), m.text).toEqual([]);
    expect(texts).toContain(`${HOSTILE} (исправлено)`);
    expect(texts.some((t) => t.includes('Чат завершён в UIS ([B]closed[/B][USER=1]x[/USER])'))).toBe(true);
    const file = shown.flatMap((m) => m.files)[0]!;
    expect(readable(file.name)).toBe('[DISK=12][TIMESTAMP=1700000000]счёт[br].pdf');
    expect(markupIn(renderBbcode(file.name))).toEqual([]);
  });
});

describe('CRM: comments, to-dos and COMMENTS written by the Chats rules', () => {
  it("a client's text and name are text in the timeline comment, the to-do and a mapped COMMENTS field", async () => {
    h = await startHarness({ env: { LOG_LEVEL: 'warn' }, crmRules: { gatherMs: 30, reportRetries: 1 } });
    const { acc, session } = await installAndLink(h);
    const d = defaultCrmRulesSettings('chats');
    const settings: CrmRulesSettings = {
      ...d,
      enabled: true,
      channels: ['whatsapp'],
      responsible: { defaultUserId: 2, rules: [] },
      primary: { entities: 'lead', activity: true },
      fields: [{ uisField: 'request_text', entity: 'lead', b24Field: 'COMMENTS', alwaysUpdate: false }],
      templates: { lead: 'Чат {{channel_type}}: {{visitor_name}}', deal: '' },
    };
    const r = await api(h.app.url, session, 'PUT', '/api/crm-rules/chats', settings);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const name = '[USER=1]Ольга[/USER]';
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79260000001', name }, text: HOSTILE });
    const request = () => h.app.deps.crmRequests.get(h.portal.memberId, 'chat', String(w.chatId));
    // acted: the lead is made. A callback handled after that pass (PostgreSQL handles them after
    // the 204) makes another pass with nothing new, which leaves the open chat 'waiting', not 'done'
    const acted = (r: Awaited<ReturnType<typeof request>>) => r?.outcome === 'primary' && (r.status === 'done' || r.status === 'waiting');
    let last: Awaited<ReturnType<typeof request>> = null;
    await until(
      () => acted(last),
      async () => {
        await h.uis.accounts[0]!.settle();
        await h.app.deps.crmWorker.drain();
        last = await request();
      },
      100,
      30,
    );
    expect(await request()).toMatchObject({ outcome: 'primary', status: expect.stringMatching(/^(done|waiting)$/) });
    const lead = h.portal.crm.leads().find((l) => l.ORIGINATOR_ID === 'uis_omni')!;
    const comments = h.portal.crm.comments().filter((c) => c.entityType === 'LEAD' && c.entityId === Number(lead.ID));
    const todos = h.portal.crm.activities().filter((a) => a.providerId === 'CRM_TODO' && a.ownerType === 'LEAD' && a.ownerId === Number(lead.ID));
    expect(comments).toHaveLength(1);
    expect(todos).toHaveLength(1);
    for (const [what, bb] of [['comment', comments[0]!.comment], ['to-do', todos[0]!.description], ['COMMENTS', String(lead.COMMENTS)]] as const) {
      const html = renderBbcode(bb);
      expect(markupIn(html), what).toEqual([]);
      expect(readable(visibleText(html)), what).toContain(HOSTILE);
    }
    expect(readable(visibleText(renderBbcode(comments[0]!.comment)))).toContain(`Клиент ${name}`);
    // titles are plain text in Bitrix24: the name is written as is
    expect(lead.TITLE).toBe(`Чат WhatsApp: ${name}`);
  });
});
