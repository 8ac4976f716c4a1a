/**
 * GET /workspace — the native operator workspace (РМО, "Рабочее место оператора", Chat API
 * §"Соглашения"), the page our app frames inside Bitrix24. The docs name the РМО but give neither
 * its URL nor deep-link parameters, so these are ours:
 *   ?account=<appId>  which UIS account (default: the first)
 *   ?phone=… | ?email=… | ?username=@… | ?chat_id=…   the client to open
 *   ?operator_id=…    who is replying (default: the first chat operator)
 * It is frameable (no X-Frame-Options, `Content-Security-Policy: frame-ancestors *`), lists the
 * account's chats (those started through POST /v1/adapter/chat included), shows the open chat and
 * lets a person reply, close, or start a chat as an operator. Those actions go through the same
 * engine as everything else and, coming from the native workspace rather than the adapter, are
 * reported to the adapter by callbacks (`/message`, `PATCH /chat`, `/chat/close`, `/chat`).
 * The client it opened on is in `[data-testid="workspace-client"]` (text + data-phone/-email/
 * -username/-chat-id).
 */
import express from 'express';
import type { AccountImpl } from '../account';
import { phoneDigits } from '../account';
import { OUTBOUND_CHANNEL_TYPES, type Chat } from '../types';
import type { World } from '../world';
import { chatJson } from './messages-json';
import { CHANNEL_LABELS, esc, formatPhone, inlineJson, page, pickAccount, sendHtml } from './views';

interface ClientQuery {
  phone: string | null;
  email: string | null;
  username: string | null;
  chatId: number | null;
}

function clientQuery(q: Record<string, unknown>): ClientQuery {
  const s = (k: string) => (typeof q[k] === 'string' && (q[k] as string).trim() ? (q[k] as string).trim() : null);
  const chatId = Number(s('chat_id'));
  return { phone: phoneDigits(s('phone')), email: s('email')?.toLowerCase() ?? null, username: s('username'), chatId: Number.isInteger(chatId) && chatId > 0 ? chatId : null };
}

function resolve(account: AccountImpl, q: ClientQuery, openId: number | null) {
  const clientChats = q.phone || q.email || q.username || q.chatId ? account.chatsForClient(q) : [];
  const anchor = clientChats[0];
  const visitor = anchor ? account.visitorOf(anchor) : null;
  // A chat_id names one chat; the client is that chat's visitor, and all their chats are theirs.
  const allClientChats = q.chatId && visitor ? account.chatList.filter((c) => c.visitorId === visitor.id) : clientChats;
  const client =
    q.phone || q.email || q.username || visitor
      ? {
          phone: q.phone ?? visitor?.phone ?? null,
          email: q.email ?? visitor?.email ?? null,
          username: q.username ? `@${q.username.replace(/^@/, '')}` : visitor?.username ? `@${visitor.username}` : null,
          name: visitor?.name ?? null,
          chatId: q.chatId,
        }
      : null;
  const label = client ? formatPhone(client.phone) || client.email || client.username || (client.chatId ? `чат №${client.chatId}` : '') : '';
  const open: Chat | undefined =
    (openId ? account.chatList.find((c) => c.id === openId) : undefined) ??
    allClientChats.find((c) => c.status === 'active') ??
    allClientChats[0];
  return { client: client ? { ...client, label } : null, clientChatIds: new Set(allClientChats.map((c) => c.id)), open };
}

function stateJson(account: AccountImpl, q: ClientQuery, openId: number | null) {
  const { client, clientChatIds, open } = resolve(account, q, openId);
  const chats = [...account.chatList]
    .sort((a, b) => (b.messages[b.messages.length - 1]?.createdAt ?? b.createdAt) - (a.messages[a.messages.length - 1]?.createdAt ?? a.createdAt))
    .map((c) => ({ ...chatJson(account, c, false), isClient: clientChatIds.has(c.id) }));
  const kinds = client ? { phone: !!client.phone, email: !!client.email, username: !!client.username } : { phone: false, email: false, username: false };
  const outbound = account.channels
    .filter((c) => !c.isRemoved && OUTBOUND_CHANNEL_TYPES.includes(c.type))
    .filter((c) => (c.type === 'email' ? kinds.email : c.type === 'telegram_private' ? kinds.phone || kinds.username : kinds.phone))
    .map((c) => ({ id: c.id, type: c.type, label: `${CHANNEL_LABELS[c.type]} — ${c.name}`, templates: (c.messageTemplates ?? []).map((t) => ({ id: t.id, name: t.name, text: t.content.text })) }));
  return {
    client,
    chats,
    open: open ? chatJson(account, open) : null,
    operators: account.employees.filter((e) => e.operator_chat_enabled).map((e) => ({ id: e.id, name: e.full_name })),
    outbound,
  };
}

const SCRIPT = `
const cfg = window.__workspace;
const $ = (id) => document.getElementById(id);
let openId = cfg.openId;
let current = null;
function esc(s) { return String(s ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'})[c]); }
function qs(extra) { const p = new URLSearchParams(cfg.query); p.set('account', cfg.account); if (openId) p.set('open', openId); for (const [k, v] of Object.entries(extra || {})) p.set(k, v); return p.toString(); }
function renderList(st) {
  $('w-chats').innerHTML = st.chats.length ? st.chats.map((c) => {
    const who = c.visitor.name || c.visitor.phoneText || c.visitor.email || c.visitor.username || ('посетитель ' + c.visitor.id);
    return '<li><a href="#" data-chat="' + c.id + '" class="' + (st.open && st.open.id === c.id ? 'is-open ' : '') + (c.isClient ? 'is-client' : '') + '">' +
      '<b>' + esc(who) + '</b> <span class="badge ' + (c.status === 'active' ? 'active' : '') + '">' + (c.status === 'active' ? 'активен' : 'завершён') + '</span><br>' +
      '<small>' + esc(c.channelLabel) + ' · №' + c.id + (c.startedVia === 'adapter' ? ' · начат через API' : '') + '</small><br>' +
      '<small>' + esc(c.last ? c.last.time + ' ' + c.last.text : '') + '</small></a></li>';
  }).join('') : '<li class="empty">Чатов пока нет</li>';
}
function renderOpen(st) {
  const c = st.open;
  $('w-title').textContent = c ? (c.channelLabel + ' · чат №' + c.id + (c.status === 'closed' ? ' · завершён' : '') + (c.operator ? ' · ' + c.operator : '')) : 'Чат не выбран';
  $('w-messages').innerHTML = c ? c.messages.map((m) => {
    const cls = m.source === 'operator' ? 'msg out' : m.source === 'system' ? 'msg system' : 'msg';
    const who = m.source === 'operator' ? (m.operator || 'Оператор') + (m.origin === 'adapter' ? ' (через адаптер)' : '') : m.source === 'system' ? '' : 'Клиент';
    const file = m.resource ? '<div>📎 <a href="' + m.resource.url + '" target="_blank">' + esc(m.resource.name) + '</a></div>' : '';
    return '<div class="' + cls + ' st-' + m.status + '" data-testid="workspace-message" data-source="' + m.source + '">' + esc(m.text) + file +
      '<span class="meta">' + esc([who, m.time, m.source === 'operator' ? m.statusLabel : ''].filter(Boolean).join(' · ')) + '</span></div>';
  }).join('') : '<div class="empty">Выберите чат слева' + (st.client ? ' или начните новый' : '') + '</div>';
  $('w-reply').hidden = !c || c.status !== 'active';
  const canStart = st.client && st.outbound.length && !(c && c.status === 'active');
  $('w-start').hidden = !canStart;
  if (canStart) {
    const prev = $('w-start-channel').value;
    $('w-start-channel').innerHTML = st.outbound.map((o) => '<option value="' + o.type + '">' + esc(o.label) + '</option>').join('');
    if (prev) $('w-start-channel').value = prev;
    const ch = st.outbound.find((o) => o.type === $('w-start-channel').value);
    $('w-template-row').hidden = !(ch && ch.templates.length);
    if (ch && ch.templates.length && !$('w-template').options.length) $('w-template').innerHTML = ch.templates.map((t) => '<option value="' + t.id + '">' + esc(t.name + ': ' + t.text) + '</option>').join('');
  }
}
async function refresh() {
  const r = await fetch('/workspace/api/state?' + qs());
  if (!r.ok) return;
  const st = await r.json();
  current = st;
  if (st.open) openId = st.open.id;
  renderList(st); renderOpen(st);
}
function fail(msg) { $('w-error').textContent = msg; $('w-error').hidden = !msg; }
async function post(path, body) {
  fail('');
  const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account: cfg.account, operator_id: Number($('w-operator').value), ...body }) });
  const out = await r.json().catch(() => ({}));
  if (!r.ok) fail(out.error || 'Ошибка');
  return r.ok ? out : null;
}
$('w-chats').addEventListener('click', (ev) => { const a = ev.target.closest('a[data-chat]'); if (!a) return; ev.preventDefault(); openId = Number(a.dataset.chat); refresh(); });
$('w-reply').addEventListener('submit', async (ev) => { ev.preventDefault(); const text = $('w-text').value.trim(); if (!text) return;
  if (!current || !current.open) return;
  if (await post('/workspace/api/reply', { chat_id: current.open.id, text })) $('w-text').value = ''; refresh(); });
$('w-close').addEventListener('click', async () => { if (current && current.open) await post('/workspace/api/close', { chat_id: current.open.id }); refresh(); });
$('w-start-channel').addEventListener('change', () => { $('w-template').innerHTML = ''; refresh(); });
$('w-start').addEventListener('submit', async (ev) => { ev.preventDefault();
  const out = await post('/workspace/api/start', { channel_type: $('w-start-channel').value, ...cfg.client, text: $('w-start-text').value.trim() || undefined,
    template_id: $('w-template-row').hidden ? undefined : Number($('w-template').value) });
  if (out) { openId = out.chat_id; $('w-start-text').value = ''; } refresh(); });
refresh();
setInterval(refresh, 1000);
`;

export function workspaceRouter(world: World): express.Router {
  const router = express.Router();

  const frameable = (res: express.Response) => {
    res.removeHeader('X-Frame-Options');
    res.setHeader('Content-Security-Policy', 'frame-ancestors *');
  };

  router.get('/workspace', (req, res) => {
    frameable(res);
    const account = pickAccount(world, req.query.account);
    if (!account) return sendHtml(res, page('Рабочее место оператора', '<div class="notice err">Нет такого аккаунта</div>'), 404);
    const q = clientQuery(req.query as Record<string, unknown>);
    const st = stateJson(account, q, null);
    const operators = st.operators;
    const chosen = Number(req.query.operator_id) || operators[0]?.id;
    const c = st.client;
    const clientHtml = c
      ? `<div class="client" data-testid="workspace-client" data-phone="${esc(c.phone ?? '')}" data-email="${esc(c.email ?? '')}" data-username="${esc(c.username ?? '')}" data-chat-id="${esc(c.chatId ?? '')}">
           <span class="who">${esc(c.label)}</span><span class="muted">${esc(c.name ?? '')}</span></div>`
      : `<div class="client" data-testid="workspace-client" data-phone="" data-email="" data-username="" data-chat-id=""><span class="muted">Клиент не выбран</span></div>`;
    const body = `
${clientHtml}
<div class="grid">
  <section class="panel"><h2>Чаты</h2><ul class="chats" id="w-chats" data-testid="workspace-chats"></ul></section>
  <section class="panel">
    <div class="row" style="align-items:center;margin-bottom:8px">
      <h2 id="w-title" style="margin:0">…</h2>
      <div style="flex:0 0 260px"><select id="w-operator" data-testid="workspace-operator" title="Оператор">${operators
        .map((o) => `<option value="${o.id}"${o.id === chosen ? ' selected' : ''}>${esc(o.name)}</option>`)
        .join('')}</select></div>
    </div>
    <div id="w-error" class="notice err" hidden></div>
    <div class="messages" id="w-messages" data-testid="workspace-messages"></div>
    <form id="w-reply" class="row" style="margin-top:10px" hidden>
      <textarea id="w-text" data-testid="workspace-text" placeholder="Ответ клиенту…"></textarea>
      <button type="submit" data-testid="workspace-send">Отправить</button>
      <button type="button" class="secondary" id="w-close" data-testid="workspace-close">Завершить</button>
    </form>
    <form id="w-start" style="margin-top:10px" hidden>
      <h2>Начать чат с клиентом</h2>
      <div class="row"><div><label for="w-start-channel">Канал</label><select id="w-start-channel" data-testid="workspace-start-channel"></select></div></div>
      <div id="w-template-row" hidden><label for="w-template">Шаблон WABA</label><select id="w-template"></select></div>
      <label for="w-start-text">Первое сообщение</label>
      <div class="row"><textarea id="w-start-text" placeholder="Необязательно"></textarea><button type="submit" data-testid="workspace-start">Начать</button></div>
    </form>
  </section>
</div>`;
    const query: Record<string, string> = {};
    for (const k of ['phone', 'email', 'username', 'chat_id']) if (typeof req.query[k] === 'string') query[k] = req.query[k] as string;
    const clientBody = c ? { phone: c.phone ?? undefined, email: c.email ?? undefined, username: c.username ?? undefined } : {};
    sendHtml(
      res,
      page('Рабочее место оператора', body, {
        account,
        script: `window.__workspace = ${inlineJson({ account: account.appId, query, openId: st.open ? (st.open.id as number) : null, client: clientBody })};${SCRIPT}`,
      }),
    );
  });

  router.get('/workspace/api/state', (req, res) => {
    const account = pickAccount(world, req.query.account);
    if (!account) return void res.status(404).json({ error: 'Нет такого аккаунта' });
    res.setHeader('Cache-Control', 'no-store');
    res.json(stateJson(account, clientQuery(req.query as Record<string, unknown>), Number(req.query.open) || null));
  });

  const act =
    (fn: (account: AccountImpl, b: Record<string, unknown>) => Promise<unknown>) =>
    async (req: express.Request, res: express.Response): Promise<void> => {
      const b = (req.body ?? {}) as Record<string, unknown>;
      const account = pickAccount(world, b.account);
      if (!account) return void res.status(404).json({ error: 'Нет такого аккаунта' });
      try {
        res.json((await fn(account, b)) ?? { ok: true });
      } catch (e) {
        res.status(400).json({ error: e instanceof Error ? e.message : String(e) });
      }
    };

  router.post(
    '/workspace/api/reply',
    express.json(),
    act(async (account, b) => {
      const m = await account.operatorMessage({ chat: account.chatOrThrow(Number(b.chat_id)), operatorId: Number(b.operator_id), text: String(b.text ?? ''), origin: 'workspace' });
      return { id: m.id };
    }),
  );

  router.post(
    '/workspace/api/close',
    express.json(),
    act(async (account, b) => {
      await account.closeByOperator(account.chatOrThrow(Number(b.chat_id)), Number(b.operator_id), 'workspace');
    }),
  );

  router.post(
    '/workspace/api/start',
    express.json(),
    act(async (account, b) => {
      const channel = account.channelOf(String(b.channel_type) as never);
      if (!OUTBOUND_CHANNEL_TYPES.includes(channel.type)) throw new Error('В этом канале нельзя написать первым');
      const str = (k: string) => (typeof b[k] === 'string' && (b[k] as string).trim() ? (b[k] as string).trim() : null);
      const { chat } = await account.startOutboundChat({
        channel,
        operatorId: Number(b.operator_id),
        phone: channel.type === 'email' ? null : str('phone'),
        email: channel.type === 'email' ? str('email') : null,
        username: channel.type === 'telegram_private' && !str('phone') ? str('username') : null,
        origin: 'workspace',
      });
      const templateId = Number(b.template_id) || undefined;
      if (str('text') || templateId) {
        await account.operatorMessage({ chat, operatorId: Number(b.operator_id), text: str('text'), template: templateId ? { id: templateId } : undefined, origin: 'workspace' });
      }
      return { chat_id: chat.id };
    }),
  );

  return router;
}
