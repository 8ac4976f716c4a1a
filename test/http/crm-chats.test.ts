import { afterEach, describe, expect, it } from 'vitest';
import type { CrmRulesSettings, Filter, FilterParam } from '../../server/contracts/crm-rules';
import { faultyFetch, installAndLink } from '../support/bridge-fixture';
import { api, startHarness, type Harness } from '../support/harness';
import { defaultCrmRulesSettings } from '../../server/services/crm-rules/settings';
import type { UisAccount } from '../emulator/uis/index';
import type { Clock } from '../../server/domain/clock';

/**
 * «Чаты» applied (issue #6): UIS chats create and update the emulated portal's CRM by the rules,
 * over real HTTP — UIS callbacks in, Data API report, Bitrix24 REST out.
 */
let h: Harness;
afterEach(async () => h?.close());

const noStage = { leadStatusId: null, dealCategoryId: null, dealStageId: null };
const cond = (param: FilterParam, rule: 'allowed' | 'forbidden', values: string[]): Filter => ({ join: 'and' as const, groups: [{ join: 'and' as const, conditions: [{ param, rule, values }] }] });

/** The tab's defaults, switched on: five channels, user 2 responsible, primary leads at IN_PROCESS, a title template. */
function rules(over: Partial<CrmRulesSettings> = {}): CrmRulesSettings {
  const d = defaultCrmRulesSettings('chats');
  return {
    ...d,
    enabled: true,
    channels: ['whatsapp', 'telegram', 'telegram_private', 'comagic', 'email'],
    responsible: { defaultUserId: 2, rules: [] },
    funnels: { ...d.funnels, primary: { defaults: { ...noStage, leadStatusId: 'IN_PROCESS' }, rules: [] } },
    templates: { lead: 'Чат {{channel_type}}: {{visitor_name}}', deal: '' },
    ...over,
  };
}

async function setup(settings: CrmRulesSettings, o: { fetch?: typeof fetch; tab?: 'chats' | 'offline'; clock?: Clock; retentionMs?: number } = {}): Promise<{ acc: UisAccount; session: string }> {
  h = await startHarness({ env: { LOG_LEVEL: 'warn' }, crmRules: { gatherMs: 30, reportRetries: 1, retentionMs: o.retentionMs }, fetch: o.fetch, clock: o.clock });
  const { acc, session } = await installAndLink(h);
  const r = await api(h.app.url, session, 'PUT', `/api/crm-rules/${o.tab ?? 'chats'}`, settings);
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return { acc, session };
}

const settle = async () => {
  await h.uis.accounts[0]!.settle();
  await h.app.deps.crmWorker.drain();
};
/** Wait for the worker (no wall-clock assertion: the state decides). */
async function waitFor(done: () => boolean | Promise<boolean>, rounds = 100): Promise<void> {
  // bridge-fixture's `until`, with a predicate that may read the (asynchronous) repositories
  const start = Date.now();
  for (let i = 0; (i < rounds || Date.now() - start < 30_000) && !(await done()); i++) {
    await settle();
    if (await done()) break;
    await new Promise((r) => setTimeout(r, 30));
  }
  expect(await done()).toBe(true);
}
const request = (chatId: number) => h.app.deps.crmRequests.get(h.portal.memberId, 'chat', String(chatId));
const ours = (rows: Array<Record<string, unknown>>) => rows.filter((r) => r.ORIGINATOR_ID === 'uis_omni');
const commentsOn = (type: string, id: number) => h.portal.crm.comments().filter((c) => c.entityType === type && c.entityId === id);
/** The app's outbound fetch, counting the REST requests that search the CRM (crm.duplicate.findbycomm, in a batch or alone). */
function searchCounter() {
  const c = {
    calls: 0,
    fetch: (async (input, init) => {
      if (typeof init?.body === 'string' && init.body.includes('crm.duplicate.findbycomm')) c.calls++;
      else if (String(input instanceof Request ? input.url : input).includes('crm.duplicate.findbycomm')) c.calls++;
      return fetch(input, init);
    }) as typeof fetch,
  };
  return c;
}
const settled = (chatId: number) => async () => ['done', 'waiting', 'failed'].includes((await request(chatId))?.status ?? '');
const allSettled = async (chatIds: number[]) => (await Promise.all(chatIds.map((id) => settled(id)()))).every(Boolean);

describe('«Чаты»: primary and repeat requests', () => {
  it('a new client on WhatsApp: one contact and one lead with the template title, stage and responsible, the chat in its timeline, the responsible notified; later messages are appended, never a second lead', async () => {
    const { acc } = await setup(rules());
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79260000001', name: 'Ольга' }, text: 'Здравствуйте, нужен диван' });
    await waitFor(async () => ours(h.portal.crm.leads()).length === 1 && (await settled(w.chatId)()));
    const [lead] = ours(h.portal.crm.leads());
    expect(lead).toMatchObject({ TITLE: 'Чат WhatsApp: Ольга', STATUS_ID: 'IN_PROCESS', ASSIGNED_BY_ID: '2', ORIGIN_ID: `chat:${w.chatId}:create:lead` });
    const [contact] = ours(h.portal.crm.contacts());
    expect(contact).toMatchObject({ NAME: 'Ольга', ASSIGNED_BY_ID: '2' });
    expect(String(lead!.CONTACT_ID)).toBe(String(contact!.ID));
    expect(JSON.stringify(contact!.PHONE)).toContain('+79260000001');
    const first = commentsOn('LEAD', Number(lead!.ID));
    expect(first).toHaveLength(1);
    expect(first[0]!.comment).toContain('Здравствуйте, нужен диван');
    expect(h.portal.crm.notifications().filter((n) => n.userId === 2 && n.message.includes('Чат WhatsApp: Ольга'))).toHaveLength(1);
    // another callback of the chat may have brought a pass with nothing new ('waiting' for more): the record keeps «primary»
    expect(await request(w.chatId)).toMatchObject({ outcome: 'primary' });
    expect(['done', 'waiting']).toContain((await request(w.chatId))!.status);

    // such a pass made on purpose: the chat touched again, nothing new in it
    await h.app.deps.crmRequests.touch({ memberId: h.portal.memberId, kind: 'chat', requestId: String(w.chatId), event: 'message', dueAt: 0 });
    await waitFor(async () => (await request(w.chatId))?.status !== 'pending');
    expect(await request(w.chatId)).toMatchObject({ status: 'waiting', outcome: 'primary' });
    expect(ours(h.portal.crm.leads())).toHaveLength(1);

    await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79260000001' }, text: 'И ещё кресло' });
    await waitFor(() => commentsOn('LEAD', Number(lead!.ID)).length === 2);
    expect(commentsOn('LEAD', Number(lead!.ID))[1]!.comment).toContain('И ещё кресло');
    expect(commentsOn('LEAD', Number(lead!.ID))[1]!.comment).not.toContain('нужен диван');
    expect(ours(h.portal.crm.leads())).toHaveLength(1);
    expect(h.portal.crm.notifications().filter((n) => n.userId === 2)).toHaveLength(1);
  });

  it('a finished chat past the retention loses its stored messages; a later message of it is appended alone, nothing old repeated, never a second lead', async () => {
    const clock = { offset: 0, now: () => Date.now() + clock.offset, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms))) };
    const { acc } = await setup(rules(), { clock, retentionMs: 3600_000 });
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79260000009', name: 'Вера' }, text: 'Нужен стол' });
    await waitFor(async () => ours(h.portal.crm.leads()).length === 1 && (await settled(w.chatId)()));
    await acc.closeChatByVisitor(w.chatId);
    await acc.settle(); // handled (PostgreSQL: after the 204), else the chat's earlier «done» would do below
    await waitFor(async () => (await request(w.chatId))?.status === 'done');
    const lead = Number(ours(h.portal.crm.leads())[0]!.ID);
    const before = commentsOn('LEAD', lead).length;
    const stored = () => h.app.deps.crmRequests.messages(h.portal.memberId, String(w.chatId));
    expect((await stored()).length).toBeGreaterThan(0);
    // two hours later (retention 1 h here; 30 days by default) the worker's hourly run deletes the transcript, keeps the request and its cursor
    clock.offset += 2 * 3600_000;
    await waitFor(async () => {
      h.app.deps.crmWorker.wake(0);
      return (await stored()).length === 0;
    });
    expect(await request(w.chatId)).toMatchObject({ status: 'done', link: { cursor: expect.any(String) } });
    // a later message of the chat (as its callback records it) re-opens the request
    await h.app.deps.crmRequests.addMessage(h.portal.memberId, String(w.chatId), { id: '990000001', at: clock.now(), source: 'visitor', text: 'И ещё стул', author: null });
    await h.app.deps.crmRequests.touch({ memberId: h.portal.memberId, kind: 'chat', requestId: String(w.chatId), event: 'message', dueAt: 0 });
    await waitFor(async () => commentsOn('LEAD', lead).length === before + 1 && (await request(w.chatId))?.status !== 'pending');
    const added = commentsOn('LEAD', lead).at(-1)!.comment;
    expect(added).toContain('И ещё стул');
    expect(added).not.toContain('Нужен стол');
    await settle();
    expect(commentsOn('LEAD', lead)).toHaveLength(before + 1);
    expect(ours(h.portal.crm.leads())).toHaveLength(1);
  });

  it('a known client (contact with an open deal) writes again: with «nothing» for repeat requests the chat goes to the open deal, nothing is created', async () => {
    const { acc } = await setup(rules());
    const leads = h.portal.crm.leads().length;
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79031234567' }, text: 'Когда поставка?' });
    await waitFor(settled(w.chatId));
    expect(await request(w.chatId)).toMatchObject({ status: 'done', outcome: 'repeat' });
    expect(h.portal.crm.leads()).toHaveLength(leads);
    expect(commentsOn('DEAL', 1).map((c) => c.comment).join('\n')).toContain('Когда поставка?');
  });

  it('repeat requests set to «Сделка» + «Дело»: a deal in the repeat funnel for the found contact and a to-do for the responsible', async () => {
    const { acc } = await setup(
      rules({
        repeat: { entities: 'deal', activity: true },
        funnels: { primary: { defaults: { ...noStage, leadStatusId: 'NEW' }, rules: [] }, repeat: { defaults: { leadStatusId: null, dealCategoryId: 1, dealStageId: 'C1:NEW' }, rules: [] } },
      }),
    );
    const w = await acc.visitorWrite({ channelType: 'telegram', visitor: { name: 'Пётр', phone: '+79031234567' }, text: 'Хочу ещё партию' });
    await waitFor(settled(w.chatId));
    const [deal] = ours(h.portal.crm.deals());
    // the found contact's responsible (the admin) keeps the client (seed: priority of existing entities)
    expect(deal).toMatchObject({ CATEGORY_ID: '1', STAGE_ID: 'C1:NEW', ASSIGNED_BY_ID: '1', CONTACT_ID: '1' });
    const todo = h.portal.crm.activities().filter((a) => a.providerId === 'CRM_TODO' && a.ownerType === 'DEAL' && a.ownerId === Number(deal!.ID));
    expect(todo).toHaveLength(1);
    expect(todo[0]!.responsibleId).toBe(1);
    expect(ours(h.portal.crm.contacts())).toHaveLength(0);
  });

  it('a burst of chats from the same new client on four channels at once creates exactly one lead and one contact; every chat is written to that lead', async () => {
    const { acc } = await setup(rules({ channels: ['whatsapp', 'waba', 'telegram_private', 'sms'] }));
    const types = ['whatsapp', 'waba', 'telegram_private', 'sms'] as const;
    const chats = await Promise.all(types.map((channelType) => acc.visitorWrite({ channelType, visitor: { phone: '+79260000002' }, text: `Пишу в ${channelType}` })));
    await waitFor(() => allSettled(chats.map((c) => c.chatId)));
    const leads = ours(h.portal.crm.leads());
    expect(leads).toHaveLength(1);
    expect(ours(h.portal.crm.contacts())).toHaveLength(1);
    const text = commentsOn('LEAD', Number(leads[0]!.ID)).map((c) => c.comment).join('\n');
    for (const t of types) expect(text).toContain(`Пишу в ${t}`);
    expect((await Promise.all(chats.map((c) => request(c.chatId)))).map((r) => r!.outcome).sort()).toEqual(['primary', 'repeat', 'repeat', 'repeat']);
  });
});

describe('«Чаты»: filters, responsibles, funnels, fields', () => {
  it('filters, responsible rules, funnel rules and field mapping follow the web chat session (site, UTM)', async () => {
    const { acc } = await setup(
      rules({
        filter: cond('utm_source', 'forbidden', ['spam']),
        responsible: { defaultUserId: 2, rules: [{ userId: 1, filter: cond('utm_source', 'allowed', ['yandex']) }] },
        primary: { entities: 'lead_deal', activity: false },
        funnels: {
          primary: { defaults: { leadStatusId: 'NEW', dealCategoryId: 0, dealStageId: 'NEW' }, rules: [{ leadStatusId: 'IN_PROCESS', dealCategoryId: 1, dealStageId: 'C1:NEW', filter: cond('utm_campaign', 'allowed', ['sofa']) }] },
          repeat: { defaults: noStage, rules: [] },
        },
        templates: { lead: 'Лид {{utm_source}} {{visitor_phone}}', deal: 'Сделка {{channel_name}}' },
        fields: [{ uisField: 'utm_source', entity: 'lead', b24Field: 'UF_CRM_YA_CID', alwaysUpdate: false }],
      }),
    );
    const yandex = acc.addSession({ utm: { source: 'yandex', campaign: 'sofa' } });
    const spam = acc.addSession({ utm: { source: 'spam' } });
    const google = acc.addSession({ utm: { source: 'google' } });
    const y = await acc.visitorWrite({ channelType: 'comagic', visitor: { sessionId: yandex.id, phone: '+79260000010' }, text: 'Диван из рекламы' });
    const s = await acc.visitorWrite({ channelType: 'comagic', visitor: { sessionId: spam.id, phone: '+79260000011' }, text: 'спам' });
    const g = await acc.visitorWrite({ channelType: 'comagic', visitor: { sessionId: google.id, phone: '+79260000012' }, text: 'Из поиска' });
    await waitFor(() => allSettled([y, s, g].map((x) => x.chatId)));

    expect(await request(s.chatId)).toMatchObject({ status: 'done', outcome: 'skip:filtered-out' });
    const leads = ours(h.portal.crm.leads());
    const deals = ours(h.portal.crm.deals());
    expect(leads).toHaveLength(2);
    expect(deals).toHaveLength(2);
    const ly = leads.find((l) => String(l.ORIGIN_ID).startsWith(`chat:${y.chatId}:`))!;
    const lg = leads.find((l) => String(l.ORIGIN_ID).startsWith(`chat:${g.chatId}:`))!;
    expect(ly).toMatchObject({ TITLE: 'Лид yandex +79260000010', ASSIGNED_BY_ID: '1', STATUS_ID: 'IN_PROCESS', UF_CRM_YA_CID: 'yandex' });
    expect(lg).toMatchObject({ TITLE: 'Лид google +79260000012', ASSIGNED_BY_ID: '2', STATUS_ID: 'NEW', UF_CRM_YA_CID: 'google' });
    const dy = deals.find((d) => String(d.ORIGIN_ID).startsWith(`chat:${y.chatId}:`))!;
    expect(dy).toMatchObject({ CATEGORY_ID: '1', STAGE_ID: 'C1:NEW', ASSIGNED_BY_ID: '1' });
    expect(String(dy.TITLE)).toContain('Сделка Чат на сайте');
  });

  it('a channel not ticked in «Каналы чатов» and a channel an open line drives are not processed', async () => {
    const search = searchCounter();
    const { acc, session } = await setup(rules({ channels: ['whatsapp', 'telegram'] }), { fetch: search.fetch });
    const whatsapp = String(acc.adapterChannels().find((c) => c.type === 'whatsapp')!.id);
    expect((await api(h.app.url, session, 'PUT', '/api/connector', { line: '1', channelId: whatsapp })).status).toBe(200);
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79260000020' }, text: 'через открытую линию' });
    const v = await acc.visitorWrite({ channelType: 'sms', visitor: { phone: '+79260000021' }, text: 'из SMS' });
    await waitFor(() => allSettled([w.chatId, v.chatId]));
    expect(await request(w.chatId)).toMatchObject({ outcome: 'skip:open-lines' });
    expect(await request(v.chatId)).toMatchObject({ outcome: 'skip:channel-off' });
    expect(ours(h.portal.crm.leads())).toHaveLength(0);
    expect(search.calls, 'no CRM search for a chat the rules skip').toBe(0);
  });
});

describe('«Чаты»: closed entities and «Обновлять всегда»', () => {
  it('the client\'s only lead is closed: a new primary lead (owner kept) unless «add to closed» is on, then the chat goes to the closed lead', async () => {
    const { acc, session } = await setup(rules({ commentPriority: 'leads' }));
    const rest = h.app.deps.gateway.client(h.portal.memberId);
    await rest.call('crm.lead.update', { id: 1, fields: { STATUS_ID: 'JUNK' } });
    const a = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79161234567' }, text: 'Снова я' });
    await waitFor(settled(a.chatId));
    expect(await request(a.chatId)).toMatchObject({ outcome: 'primary' });
    const [lead] = ours(h.portal.crm.leads());
    expect(lead).toMatchObject({ ASSIGNED_BY_ID: '2' });
    await acc.closeChatByVisitor(a.chatId);
    await settle();

    expect((await api(h.app.url, session, 'PUT', '/api/crm-rules/chats', rules({ commentPriority: 'leads', addToClosed: true }))).status).toBe(200);
    await rest.call('crm.lead.update', { id: Number(lead!.ID), fields: { STATUS_ID: 'JUNK' } });
    const b = await acc.visitorWrite({ channelType: 'telegram_private', visitor: { phone: '+79161234567' }, text: 'И ещё раз' });
    await waitFor(settled(b.chatId));
    expect(await request(b.chatId)).toMatchObject({ outcome: 'repeat' });
    expect(ours(h.portal.crm.leads())).toHaveLength(1);
    // the newest closed lead gets it
    expect(commentsOn('LEAD', Number(lead!.ID)).map((c) => c.comment).join('\n')).toContain('И ещё раз');
  });

  it('a mapping with «Обновлять всегда» rewrites the field of the found entity on a repeat request; without it the field is written only on creation', async () => {
    const { acc } = await setup(
      rules({
        commentPriority: 'leads',
        fields: [
          { uisField: 'utm_source', entity: 'lead', b24Field: 'UF_CRM_YA_CID', alwaysUpdate: true },
          { uisField: 'utm_campaign', entity: 'lead', b24Field: 'UF_CRM_UIS_CHAT_ID', alwaysUpdate: false },
        ],
      }),
    );
    const first = acc.addSession({ utm: { source: 'google', campaign: 'first' } });
    const a = await acc.visitorWrite({ channelType: 'comagic', visitor: { sessionId: first.id, phone: '+79260000080' }, text: 'первый визит' });
    await waitFor(settled(a.chatId));
    const [lead] = ours(h.portal.crm.leads());
    expect(lead).toMatchObject({ UF_CRM_YA_CID: 'google', UF_CRM_UIS_CHAT_ID: 'first' });
    await acc.closeChatByVisitor(a.chatId);
    const second = acc.addSession({ utm: { source: 'yandex', campaign: 'second' } });
    const b = await acc.visitorWrite({ channelType: 'comagic', visitor: { sessionId: second.id, phone: '+79260000080' }, text: 'второй визит' });
    await waitFor(settled(b.chatId));
    expect(await request(b.chatId)).toMatchObject({ outcome: 'repeat' });
    expect(h.portal.crm.leads().find((l) => l.ID === lead!.ID)).toMatchObject({ UF_CRM_YA_CID: 'yandex', UF_CRM_UIS_CHAT_ID: 'first' });
  });
});

describe('«Чаты»: the operator as responsible (employee sync)', () => {
  it('a chat answered by a UIS employee synced to a Bitrix24 user: the new lead is his, not the default responsible\'s', async () => {
    const { acc, session } = await setup(rules({ timing: 'end' }));
    const sync = await api(h.app.url, session, 'POST', '/api/employee-sync/run');
    expect(sync.status, JSON.stringify(sync.json)).toBe(202);
    await h.app.deps.employeeSyncWorker.idle();
    const operator = acc.employees.find((e) => e.email === 'admin@portal.example')!;
    expect(await h.app.deps.employeeDirectory.b24UserFor(h.portal.memberId, operator.id)).toBe(1);
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79260000070' }, text: 'Вопрос' });
    await acc.workspaceReply(w.chatId, operator.id, 'Отвечаю');
    await acc.closeChat(w.chatId, 'closed_by_operator', operator.id);
    await waitFor(async () => (await request(w.chatId))?.status === 'done');
    const [lead] = ours(h.portal.crm.leads());
    expect(lead).toMatchObject({ ASSIGNED_BY_ID: '1' });
    const text = commentsOn('LEAD', Number(lead!.ID))[0]!.comment;
    expect(text).toContain('Вопрос');
    expect(text).toContain(`Оператор ${operator.full_name}: Отвечаю`);
  });
});

describe('«Чаты»: when and without contacts', () => {
  it('«Завершение чата»: nothing while the chat runs; at its end one lead with the whole transcript in one comment', async () => {
    const search = searchCounter();
    const { acc } = await setup(rules({ timing: 'end' }), { fetch: search.fetch });
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79260000030', name: 'Нина' }, text: 'Первое' });
    await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79260000030' }, text: 'Второе' });
    await waitFor(settled(w.chatId));
    expect(await request(w.chatId)).toMatchObject({ status: 'waiting', outcome: 'skip:waits-for-end' });
    expect(ours(h.portal.crm.leads())).toHaveLength(0);
    expect(search.calls, 'no CRM search while the chat runs').toBe(0);
    await acc.closeChatByVisitor(w.chatId);
    await waitFor(async () => ours(h.portal.crm.leads()).length === 1 && (await request(w.chatId))?.status === 'done');
    const lead = ours(h.portal.crm.leads())[0]!;
    const comments = commentsOn('LEAD', Number(lead.ID));
    expect(comments).toHaveLength(1);
    expect(comments[0]!.comment).toMatch(/Первое[\s\S]*Второе/);
  });

  it('a message the visitor edits (v2: POST /message, same id, no source) is in the transcript with its new text', async () => {
    const { acc } = await setup(rules({ timing: 'end' }));
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79260000031', name: 'Олег' }, text: 'Хочу заказть' });
    await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79260000031' }, text: 'Два' });
    await acc.visitorEdit(w.messageId, 'Хочу заказать');
    await waitFor(settled(w.chatId));
    await acc.closeChatByVisitor(w.chatId);
    await waitFor(async () => ours(h.portal.crm.leads()).length === 1 && (await request(w.chatId))?.status === 'done');
    const comments = commentsOn('LEAD', Number(ours(h.portal.crm.leads())[0]!.ID));
    expect(comments).toHaveLength(1);
    expect(comments[0]!.comment).toMatch(/Хочу заказать[\s\S]*Два/);
    expect(comments[0]!.comment).not.toMatch(/заказть/);
  });

  it('no phone or e-mail: the chat waits; when the visitor card brings a phone the lead is created. With «create without contacts» a lead without contact is created at once', async () => {
    const { acc } = await setup(rules());
    const w = await acc.visitorWrite({ channelType: 'telegram', visitor: { name: 'Аноним' }, text: 'без контактов' });
    await waitFor(settled(w.chatId));
    expect(await request(w.chatId)).toMatchObject({ status: 'waiting', outcome: 'skip:no-contact' });
    await acc.visitorCard(w.chatId, { phones: ['+79260000040'] });
    await waitFor(() => ours(h.portal.crm.leads()).length === 1);
    expect(ours(h.portal.crm.contacts())[0]!.NAME).toBe('Аноним');

    await h.close();
    const second = await setup(rules({ createWithoutContacts: true }));
    const x = await second.acc.visitorWrite({ channelType: 'telegram', visitor: { name: 'Гость' }, text: 'без контактов' });
    await waitFor(async () => ours(h.portal.crm.leads()).length === 1 && (await settled(x.chatId)()));
    expect(ours(h.portal.crm.leads())[0]!.CONTACT_ID ?? null).toBeNull();
    expect(ours(h.portal.crm.contacts())).toHaveLength(0);
  });
});

describe('«Чаты»: faults', () => {
  it('the batch creating the lead is executed but its answer is lost (502 after execution): the retry finds the lead by ORIGIN_ID, nothing is doubled', async () => {
    const f = faultyFetch();
    const { acc } = await setup(rules({ primary: { entities: 'lead_deal', activity: true }, funnels: { primary: { defaults: { leadStatusId: 'NEW', dealCategoryId: 0, dealStageId: 'NEW' }, rules: [] }, repeat: { defaults: noStage, rules: [] } } }), { fetch: f.fetch });
    let applies = 0;
    f.inject((url) => /\/rest\/batch$/.test(url) && ++applies === 2, 'after', 1, 502);
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79260000050' }, text: 'потерянный ответ' });
    await waitFor(async () => (await request(w.chatId))?.status === 'pending' && ((await request(w.chatId))?.attempts ?? 0) > 0);
    // the lost answer was the apply batch's: the portal holds the lead while the app does not know it
    expect(f.injected).toBe(1);
    expect(ours(h.portal.crm.leads())).toHaveLength(1);
    expect((await h.app.deps.crmRequests.op(h.portal.memberId, `chat:${w.chatId}:create:lead`))?.state).toBe('sent');
    // the worker backs off for seconds: make the retry due now
    await h.sql.run('UPDATE crm_requests SET due_at = 0');
    h.app.deps.crmWorker.wake(0);
    await waitFor(async () => (await request(w.chatId))?.status === 'done');
    expect(ours(h.portal.crm.leads())).toHaveLength(1);
    expect(ours(h.portal.crm.deals())).toHaveLength(1);
    expect(ours(h.portal.crm.contacts())).toHaveLength(1);
    expect(h.portal.crm.activities().filter((a) => a.providerId === 'CRM_TODO' && a.subject.includes(String(w.chatId)))).toHaveLength(1);
  });
});

describe('«Чаты»: what the callbacks missed, from the Data API reports', () => {
  it('a VK chat (VK cannot be connected to an adapter, so no callback comes): found by the reconcile, its transcript read from get.chat_messages_report, written at its end', async () => {
    const { acc } = await setup(rules({ channels: ['whatsapp', 'vkontakte_groups'], timing: 'end', templates: { lead: '', deal: '' } }));
    const w = await acc.visitorWrite({ channelType: 'whatsapp', visitor: { phone: '+79260000090' }, text: 'по колбэкам' });
    const v = await acc.visitorWrite({ channelType: 'vkontakte_groups', visitor: { name: 'Вадим', phone: '+79260000091' }, text: 'Привет из ВК' });
    await acc.visitorWrite({ channelType: 'vkontakte_groups', visitor: { name: 'Вадим' }, text: 'Есть диваны?' });
    await settle();
    expect(await request(v.chatId)).toBeNull();
    // the callbacks' chat is known and live: nothing to do for it
    expect(await h.app.deps.crmWorker.reconcileChats(h.portal.memberId)).toBe(1);
    await waitFor(settled(v.chatId));
    expect(await request(v.chatId)).toMatchObject({ status: 'waiting', outcome: 'skip:waits-for-end' });
    expect(await h.app.deps.crmWorker.reconcileChats(h.portal.memberId)).toBe(0);

    await acc.closeChat(v.chatId, 'closed_by_timeout');
    expect(await h.app.deps.crmWorker.reconcileChats(h.portal.memberId)).toBe(1);
    await waitFor(async () => (await request(v.chatId))?.status === 'done');
    const lead = ours(h.portal.crm.leads()).find((l) => String(l.ORIGIN_ID).startsWith(`chat:${v.chatId}:`))!;
    // the default template; the report carries the phone, not the name
    expect(lead.TITLE).toBe('Чат VK: +79260000091');
    const comment = commentsOn('LEAD', Number(lead.ID))[0]!.comment;
    expect(comment).toMatch(/Привет из ВК[\s\S]*Есть диваны\?/);
    await waitFor(async () => (await request(w.chatId))?.status === 'waiting');
  });
});

describe('«Оффлайн заявки»: the same engine on UIS offline requests', () => {
  const offline = (over: Partial<CrmRulesSettings> = {}) =>
    rules({
      channels: [],
      primary: { entities: 'lead', activity: true },
      templates: { lead: '', deal: '' },
      filter: cond('form_name', 'forbidden', ['Спам-форма']),
      ...over,
    });
  const offlineRequest = (id: number) => h.app.deps.crmRequests.get(h.portal.memberId, 'offline', String(id));

  it('a new request from a site form: polled from get.offline_messages_report, one contact + lead + to-do with the request text; polling again adds nothing', async () => {
    const { acc } = await setup(offline(), { tab: 'offline' });
    const session = acc.addSession({ utm: { source: 'yandex' } });
    const req = acc.offlineRequest({ name: 'Светлана', phone: '+7 926 000-00-60', email: 'Sveta@Example.com', text: 'Перезвоните мне после шести', formName: 'Обратный звонок', sessionId: session.id });
    const spam = acc.offlineRequest({ phone: '+79260000061', text: 'купите', formName: 'Спам-форма' });
    expect(await h.app.deps.crmWorker.pollOffline(h.portal.memberId)).toBe(2);
    await waitFor(async () => (await offlineRequest(req.id))?.status === 'done' && (await offlineRequest(spam.id))?.status === 'done');
    expect(await offlineRequest(spam.id)).toMatchObject({ outcome: 'skip:filtered-out' });
    const [lead] = ours(h.portal.crm.leads());
    expect(lead).toMatchObject({ ASSIGNED_BY_ID: '2', STATUS_ID: 'IN_PROCESS', ORIGIN_ID: `offline:${req.id}:create:lead` });
    expect(String(lead!.TITLE)).toContain('Светлана');
    const [contact] = ours(h.portal.crm.contacts());
    expect(JSON.stringify(contact!.PHONE)).toContain('+79260000060');
    expect(JSON.stringify(contact!.EMAIL)).toContain('sveta@example.com');
    const comment = commentsOn('LEAD', Number(lead!.ID))[0]!.comment;
    expect(comment).toContain(`Офлайн заявка #${req.id} (Обратный звонок)`);
    expect(comment).toContain('Перезвоните мне после шести');
    expect(h.portal.crm.activities().filter((a) => a.providerId === 'CRM_TODO' && a.ownerType === 'LEAD' && a.ownerId === Number(lead!.ID))).toHaveLength(1);

    expect(await h.app.deps.crmWorker.pollOffline(h.portal.memberId)).toBe(0);
    await settle();
    expect(ours(h.portal.crm.leads())).toHaveLength(1);
  });

  it('an account outside Moscow (Yekaterinburg, UTC+5): the Data API windows and times are in its zone, so a request made just now is polled at once with its real time', async () => {
    const { acc } = await setup(offline(), { tab: 'offline' });
    acc.setTimeZone('Asia/Yekaterinburg', 300);
    const req = acc.offlineRequest({ name: 'Урал', phone: '+79120000070', text: 'Заявка из Екатеринбурга' });
    // a window written in Moscow time would end two hours before this request
    expect(await h.app.deps.crmWorker.pollOffline(h.portal.memberId)).toBe(1);
    const startedAt = (await offlineRequest(req.id))!.startedAt!;
    expect(Math.abs(startedAt - req.createdAt)).toBeLessThan(1000); // the report's «date_time» is read in the account's zone
    await waitFor(async () => (await offlineRequest(req.id))?.status === 'done');
    expect(ours(h.portal.crm.leads())).toHaveLength(1);
  });

  it('a request from a known client goes to the client\'s open deal; with the tab off nothing is polled', async () => {
    const { acc, session } = await setup(offline(), { tab: 'offline' });
    const req = acc.offlineRequest({ name: 'Пётр', phone: '+79031234567', text: 'Нужен счёт' });
    expect(await h.app.deps.crmWorker.pollOffline(h.portal.memberId)).toBe(1);
    await waitFor(async () => (await offlineRequest(req.id))?.status === 'done');
    expect(await offlineRequest(req.id)).toMatchObject({ outcome: 'repeat' });
    expect(commentsOn('DEAL', 1).map((c) => c.comment).join('\n')).toContain('Нужен счёт');
    expect(ours(h.portal.crm.leads())).toHaveLength(0);

    expect((await api(h.app.url, session, 'PUT', '/api/crm-rules/offline', offline({ enabled: false }))).status).toBe(200);
    acc.offlineRequest({ phone: '+79260000062', text: 'после выключения' });
    expect(await h.app.deps.crmWorker.pollOffline(h.portal.memberId)).toBe(0);
  });
});
