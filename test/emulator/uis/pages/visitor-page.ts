/**
 * GET /visitor?account=<appId> — a person writes as a client: picks a channel and who they are
 * (name, phone, e-mail, @username), sends messages (exactly like `account.visitorWrite`) and sees
 * the chat, operator replies included (polls /visitor/api/chat, which also marks operator
 * messages read → `/message/status` read). For the web chat the page keeps a site session id,
 * like the JS API's Comagic.getSessionId().
 */
import express from 'express';
import type { World } from '../world';
import { chatJson } from './messages-json';
import { CHANNEL_LABELS, esc, inlineJson, page, pickAccount, sendHtml } from './views';

const SCRIPT = `
const cfg = window.__visitor;
const $ = (id) => document.getElementById(id);
const state = { chatId: null, timer: null };
function identity() {
  return { name: $('v-name').value.trim() || undefined, phone: $('v-phone').value.trim() || undefined,
           email: $('v-email').value.trim() || undefined, username: $('v-username').value.trim() || undefined,
           sessionId: $('v-channel').value === 'comagic' ? Number(localStorage.getItem('uisSession:' + cfg.account)) || undefined : undefined };
}
function key() { const i = identity(); return 'uisChat:' + cfg.account + ':' + $('v-channel').value + ':' + [i.phone, i.email, i.username, i.name].join('|'); }
function restore() { state.chatId = Number(sessionStorage.getItem(key())) || null; render(null); poll(); }
function esc(s) { return String(s ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'})[c]); }
function render(chat) {
  const box = $('v-messages');
  if (!chat) { box.innerHTML = '<div class="empty">Напишите первое сообщение — оно создаст чат.</div>'; $('v-status').textContent = ''; return; }
  $('v-status').textContent = 'Чат №' + chat.id + (chat.status === 'closed' ? ' — завершён' : '') + (chat.operator ? ' · оператор ' + chat.operator : '');
  box.innerHTML = chat.messages.map((m) => {
    const cls = m.source === 'visitor' ? 'msg out' : m.source === 'system' ? 'msg system' : 'msg';
    const who = m.source === 'operator' ? (m.operator || 'Оператор') : m.source === 'system' ? '' : 'Вы';
    const file = m.resource ? '<div>📎 <a href="' + m.resource.url + '" target="_blank">' + esc(m.resource.name) + '</a></div>' : '';
    return '<div class="' + cls + '" data-testid="visitor-message" data-source="' + m.source + '">' + esc(m.text) + file +
      '<span class="meta">' + esc([who, m.time].filter(Boolean).join(' · ')) + '</span></div>';
  }).join('');
  box.scrollTop = box.scrollHeight;
}
async function poll() {
  if (!state.chatId) return;
  const r = await fetch('/visitor/api/chat?account=' + cfg.account + '&chat_id=' + state.chatId);
  if (r.ok) render(await r.json());
}
async function send(ev) {
  ev.preventDefault();
  const text = $('v-text').value.trim();
  if (!text) return;
  $('v-error').hidden = true;
  const r = await fetch('/visitor/api/write', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ account: cfg.account, channelType: $('v-channel').value, visitor: identity(), text }) });
  const out = await r.json();
  if (!r.ok) { $('v-error').textContent = out.error || 'Ошибка'; $('v-error').hidden = false; return; }
  if (out.sessionId) localStorage.setItem('uisSession:' + cfg.account, String(out.sessionId));
  state.chatId = out.chatId; sessionStorage.setItem(key(), String(out.chatId));
  $('v-text').value = '';
  poll();
}
async function closeChat() {
  if (!state.chatId) return;
  await fetch('/visitor/api/close', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ account: cfg.account, chat_id: state.chatId }) });
  poll();
}
$('v-form').addEventListener('submit', send);
$('v-close').addEventListener('click', closeChat);
for (const id of ['v-channel', 'v-name', 'v-phone', 'v-email', 'v-username']) $(id).addEventListener('change', restore);
restore();
state.timer = setInterval(poll, 1000);
`;

export function visitorRouter(world: World): express.Router {
  const router = express.Router();

  router.get('/visitor', (req, res) => {
    const account = pickAccount(world, req.query.account);
    if (!account) return sendHtml(res, page('Клиент', '<div class="notice err">Нет такого аккаунта</div>'), 404);
    const options = account.channels
      .filter((c) => !c.isRemoved)
      .map((c) => `<option value="${esc(c.type)}">${esc(CHANNEL_LABELS[c.type])} — ${esc(c.name)}</option>`)
      .join('');
    const body = `
<div class="grid">
  <section class="panel">
    <h2>Кто пишет</h2>
    <label for="v-channel">Канал</label><select id="v-channel" data-testid="visitor-channel">${options}</select>
    <label for="v-name">Имя</label><input id="v-name" data-testid="visitor-name" placeholder="Иван">
    <label for="v-phone">Телефон</label><input id="v-phone" data-testid="visitor-phone" placeholder="+7 916 123-45-67">
    <label for="v-email">E-mail</label><input id="v-email" data-testid="visitor-email" placeholder="ivan@example.com">
    <label for="v-username">Telegram @username</label><input id="v-username" data-testid="visitor-username" placeholder="@ivan_petrov">
    <p class="muted">WhatsApp, WABA и SMS узнают клиента по телефону, почта — по адресу, Telegram — по @username.</p>
  </section>
  <section class="panel">
    <div class="client"><span class="who">Переписка</span><span class="muted" id="v-status" data-testid="visitor-status"></span></div>
    <div id="v-error" class="notice err" hidden></div>
    <div class="messages" id="v-messages" data-testid="visitor-messages"></div>
    <form id="v-form" class="row" style="margin-top:10px">
      <textarea id="v-text" data-testid="visitor-text" placeholder="Сообщение…"></textarea>
      <button type="submit" data-testid="visitor-send">Отправить</button>
      <button type="button" class="secondary" id="v-close">Завершить чат</button>
    </form>
  </section>
</div>`;
    sendHtml(res, page('Клиент пишет в канал', body, { account, script: `window.__visitor = ${inlineJson({ account: account.appId })};${SCRIPT}` }));
  });

  router.post('/visitor/api/write', express.json({ limit: '1mb' }), async (req, res) => {
    const b = (req.body ?? {}) as { account?: number; channelType?: string; visitor?: Record<string, unknown>; text?: string };
    const account = pickAccount(world, b.account);
    if (!account) return void res.status(404).json({ error: 'Нет такого аккаунта' });
    try {
      const v = b.visitor ?? {};
      const str = (x: unknown) => (typeof x === 'string' && x.trim() ? x.trim() : undefined);
      const out = await account.visitorWrite({
        channelType: b.channelType as never,
        visitor: { name: str(v.name), phone: str(v.phone), email: str(v.email), username: str(v.username), sessionId: typeof v.sessionId === 'number' ? v.sessionId : undefined },
        text: String(b.text ?? ''),
      });
      res.json(out);
    } catch (e) {
      res.status(400).json({ error: e instanceof Error ? e.message : String(e) });
    }
  });

  router.get('/visitor/api/chat', async (req, res) => {
    const account = pickAccount(world, req.query.account);
    const chat = account?.chatList.find((c) => c.id === Number(req.query.chat_id));
    if (!account || !chat) return void res.status(404).json({ error: 'Чат не найден' });
    // The visitor's screen shows the operator's messages: they are read now.
    await account.visitorRead(chat.id);
    res.setHeader('Cache-Control', 'no-store');
    res.json(chatJson(account, chat));
  });

  router.post('/visitor/api/close', express.json(), async (req, res) => {
    const b = (req.body ?? {}) as { account?: number; chat_id?: number };
    const account = pickAccount(world, b.account);
    const chat = account?.chatList.find((c) => c.id === Number(b.chat_id));
    if (!account || !chat) return void res.status(404).json({ error: 'Чат не найден' });
    await account.closeChatByVisitor(chat.id);
    res.json({ ok: true });
  });

  router.get('/pages/resource/:app/:id/:token', (req, res) => {
    const r = world.resources.get(Number(req.params.id));
    if (!r || r.appId !== Number(req.params.app) || r.token !== req.params.token) return void res.status(404).send('Not found');
    res.setHeader('Content-Type', r.mime);
    res.setHeader('Content-Disposition', `inline; filename*=UTF-8''${encodeURIComponent(r.name)}`);
    res.end(r.content);
  });

  return router;
}
